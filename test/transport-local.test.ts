import assert from 'node:assert/strict';
import { LocalTransport } from '../src/transport/local.js';
import type { HostModule, ModuleContext } from '../src/modules/types.js';

describe('persistent shell protocol (local connection)', () => {
  let t: LocalTransport;
  beforeEach(() => (t = new LocalTransport('local')));
  afterEach(() => t.close());

  it('returns exit code, stdout and stderr per request', async () => {
    const r = await t.exec({ script: 'echo out; echo err >&2; exit 7' });
    assert.deepEqual([r.rc, r.stdout.toString(), r.stderr.toString()], [7, 'out\n', 'err\n']);
  });

  it('passes binary stdin and output through unchanged', async () => {
    const data = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 256));
    const r = await t.exec({ script: 'cat', stdin: data });
    assert.ok(r.stdout.equals(data));
  });

  it('never lets output be mistaken for the protocol (a fresh random nonce per request)', async () => {
    const r = await t.exec({ script: "printf '\\n__SENEX_0__ 0\\n'; printf 'no newline at the end'" });
    assert.equal(r.stdout.toString(), '\n__SENEX_0__ 0\nno newline at the end');
    assert.equal((await t.exec({ script: 'echo next' })).stdout.toString(), 'next\n');
  });

  it('keeps stdout and stderr apart, with or without final newlines', async () => {
    const r = await t.exec({ script: "printf out; printf err >&2; printf '' " });
    assert.deepEqual([r.stdout.toString(), r.stderr.toString()], ['out', 'err']);
  });

  it('keeps one shell for many commands (no process per command)', async () => {
    const pids = new Set<string>();
    for (let i = 0; i < 50; i++) pids.add((await t.exec({ script: 'echo $$' })).stdout.toString());
    assert.equal(pids.size, 1);
    assert.equal(t.stats.channelsOpened, 1);
    // 50 commands and the shell's start, which the first command follows without waiting.
    assert.deepEqual([t.stats.requests, t.stats.roundTrips], [51, 50]);
  });

  it('counts requests sent together as one round trip, each as a request', async () => {
    await t.exec({ script: 'true' });
    const before = { ...t.stats };
    const answers = await Promise.all([1, 2, 3, 4, 5].map((i) => t.exec({ script: `echo ${i}` })));
    assert.deepEqual(answers.map((r) => r.stdout.toString()), ['1\n', '2\n', '3\n', '4\n', '5\n']);
    assert.deepEqual([t.stats.roundTrips - before.roundTrips, t.stats.requests - before.requests], [1, 5]);
  });

  it('isolates each command: exit, cd and set -e stay inside', async () => {
    await t.exec({ script: 'cd /tmp; set -e; exit 3' });
    assert.equal((await t.exec({ script: 'pwd' })).stdout.toString().trim(), process.cwd());
  });

  it('runs commands concurrently queued in order', async () => {
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => t.exec({ script: `echo ${i}` })));
    assert.deepEqual(rs.map((r) => r.stdout.toString().trim()), Array.from({ length: 20 }, (_, i) => String(i)));
  });

  it('becomes another user through sudo, in its own persistent shell', async function () {
    if (process.getuid?.() !== 0) this.skip(); // needs root to sudo without a password
    const r = await t.exec({ script: 'id -un; echo $HOME', become: { user: 'nobody', method: 'sudo' } });
    assert.equal(r.stdout.toString().split('\n')[0], 'nobody');
    assert.equal(t.stats.channelsOpened, 1);
  });

  it('reports a lost shell as unreachable', async () => {
    await assert.rejects(t.exec({ script: 'kill -9 $$; sleep 1' }), /connection lost/);
  });
});

describe('probe batches', function () {
  this.timeout(20_000);
  it('bring back each probe\'s output and exit code in one round trip, whatever the output holds', async () => {
    const { batchProbes } = await import('../src/engine/probe-batch.js');
    const t = new LocalTransport('local');
    const probe = (script: string) => ({ script, parse: (out: string, rc: number) => ({ out, rc }) });
    const batch = batchProbes([
      ['empty', probe('true')],
      ['text', probe("printf 'a\\nb\\n\\n'")],
      ['fails', probe('echo partial; exit 3')],
      ['marker', probe("printf '\\n__SENEXP_0000 1 0\\n'")],
      ['stderr', probe('echo visible; echo hidden >&2')],
    ]);
    const r = await t.exec({ script: batch.script });
    assert.deepEqual(batch.parse(r.stdout.toString('utf8')), {
      empty: { out: '', rc: 0 },
      text: { out: 'a\nb', rc: 0 },
      fails: { out: 'partial', rc: 3 },
      marker: { out: '\n__SENEXP_0000 1 0', rc: 0 },
      stderr: { out: 'visible', rc: 0 },
    });
    await t.close();
  });
});

describe('gathered facts', function () {
  this.timeout(20_000);
  it('say what the host says, read without a program where a file holds the answer', async () => {
    const { systemFactsProbe } = await import('../src/modules/facts/system.js');
    const os = await import('node:os');
    const { readFileSync } = await import('node:fs');
    const { execFileSync } = await import('node:child_process');
    const probe = systemFactsProbe();
    const t = new LocalTransport('local');
    const r = await t.exec({ script: probe.script });
    await t.close();
    const facts = probe.parse(r.stdout.toString('utf8'), r.rc);
    const osRelease = Object.fromEntries(readFileSync('/etc/os-release', 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^"(.*)"$/, '$1')]));
    const run = (cmd: string, ...args: string[]) => execFileSync(cmd, args).toString().trim();
    assert.equal(facts.nodename, os.hostname());
    assert.equal(facts.kernel, os.release());
    assert.equal(facts.architecture, run('uname', '-m'));
    assert.equal(facts.user_id, os.userInfo().username);
    assert.equal(facts.user_uid, os.userInfo().uid);
    assert.equal(facts.processor_vcpus, Number(run('nproc')));
    assert.equal(facts.memtotal_mb, Math.floor(Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) / 1024));
    assert.equal(facts.distribution_release, osRelease.VERSION_CODENAME);
    assert.equal(facts.distribution_version, readFileSync('/etc/debian_version', 'utf8').trim());
    assert.equal(facts.os_family, 'Debian');
    assert.equal(facts.pkg_mgr, 'apt');
    assert.equal(facts.systemd_version, /^systemd (\d+)/.exec(run('systemctl', '--version'))![1]);
  });
});

describe('package probes in a batch', function () {
  this.timeout(30_000);
  it('the apt tasks of a batch share one dpkg-query; each sees its own packages', async () => {
    const { batchProbes } = await import('../src/engine/probe-batch.js');
    const { findModule } = await import('../src/modules/index.js');
    const { execFileSync } = await import('node:child_process');
    const apt = findModule('apt') as HostModule<unknown>;
    const probeOf = (args: Record<string, unknown>) => apt.probe(args as never, {} as ModuleContext).packages!;
    const batch = batchProbes([
      ['a', probeOf({ name: ['dpkg', 'coreutils'] })],
      ['b', probeOf({ name: ['dpkg', 'no-such-package-senex'] })],
      ['c', probeOf({ name: ['bash'], state: 'latest' })],
    ]);
    assert.equal(batch.script.match(/dpkg-query/g)?.length, 1);
    assert.equal(batch.script.match(/apt-cache policy/g)?.length, 1);
    const version = (p: string) => execFileSync('dpkg-query', ['-W', '-f=${Version}', p]).toString();
    const t = new LocalTransport('local');
    const facts = batch.parse((await t.exec({ script: batch.script })).stdout.toString('utf8'));
    await t.close();
    assert.deepEqual(facts.a, { dpkg: { installed: version('dpkg') }, coreutils: { installed: version('coreutils') } });
    assert.deepEqual(facts.b, { dpkg: { installed: version('dpkg') } });
    assert.equal((facts.c as Record<string, { installed: string }>).bash!.installed, version('bash'));
  });
});

describe('file probes in a batch', function () {
  this.timeout(30_000);
  it('answer many paths with a few processes, byte-exact, whatever the names hold', async () => {
    const { mkdtempSync, writeFileSync, symlinkSync, mkdirSync, lstatSync, statSync, readFileSync, chmodSync, realpathSync } = await import('node:fs');
    const { createHash } = await import('node:crypto');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { fileProbe, CONTENT_CAP } = await import('../src/modules/facts/file.js');
    const { batchProbes } = await import('../src/engine/probe-batch.js');
    const dir = mkdtempSync(join(tmpdir(), 'senex-fp-'));
    const binary = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));
    const files: Record<string, Buffer> = {
      plain: Buffer.from('a\nb\n'),
      empty: Buffer.alloc(0),
      'with space': Buffer.from('x'),
      'new\nline': Buffer.from('nl'),
      '-dash': Buffer.from('dash'),
      '|pipe|': Buffer.from('p'),
      'ünï': binary,
      big: Buffer.alloc(CONTENT_CAP + 1, 97),
    };
    for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
    chmodSync(join(dir, 'plain'), 0o640);
    mkdirSync(join(dir, 'sub'));
    symlinkSync('plain', join(dir, 'link'));
    symlinkSync('missing', join(dir, 'dangling'));
    const names = [...Object.keys(files), 'sub', 'link', 'dangling', 'absent'];
    const probes = names.flatMap((n) => [
      [`c:${n}`, fileProbe(join(dir, n), { content: true })],
      [`s:${n}`, fileProbe(join(dir, n), { checksum: true })],
      [`i:${n}`, fileProbe(join(dir, n))],
    ] as Array<[string, ReturnType<typeof fileProbe>]>);
    const t = new LocalTransport('local');
    const batch = batchProbes(probes);
    // One stat, one sha256sum, one sha1sum, two finds, cat, base64 and a readlink + stat -L per link.
    assert.ok((batch.script.match(/\bstat --printf/g) ?? []).length <= 2, 'stat is called once per batch (+ once per link)');
    const r = await t.exec({ script: `cd ${JSON.stringify(dir)} && ${batch.script}` });
    const facts = batch.parse(r.stdout.toString('utf8')) as Record<string, import('../src/modules/facts/file.js').FileFacts>;
    await t.close();
    const sum = (algo: string, b: Buffer) => createHash(algo).update(b).digest('hex');
    for (const n of names) {
      const path = join(dir, n);
      const c = facts[`c:${n}`]!;
      // The names a change elsewhere could reach this path by: through the directory, and followed.
      const real = join(realpathSync(dir), n);
      const followed = n === 'link' ? join(realpathSync(dir), 'plain') : n === 'dangling' ? join(realpathSync(dir), 'missing') : real;
      assert.deepEqual(c.aliases, [...new Set([real, followed])], n);
      if (n === 'absent') {
        assert.deepEqual(c, { path, exists: false, aliases: [real] });
        continue;
      }
      const l = lstatSync(path);
      assert.equal(c.inode?.mode, (l.mode & 0o7777).toString(8).padStart(4, '0'), n);
      assert.equal(c.inode?.size, l.size, n);
      assert.equal(c.inode?.type, l.isSymbolicLink() ? 'link' : l.isDirectory() ? 'directory' : 'file', n);
      if (n === 'link') assert.deepEqual([c.linkTarget, c.target?.size, c.content?.toString()], ['plain', statSync(path).size, 'a\nb\n']);
      if (n === 'dangling') assert.deepEqual([c.linkTarget, c.target, c.content, c.sha256], ['missing', undefined, undefined, undefined]);
      if (n === 'sub') assert.deepEqual([c.content, c.sha256], [undefined, undefined]);
      if (l.isFile()) {
        const data = readFileSync(path);
        assert.equal(c.sha256, sum('sha256', data), n);
        assert.equal(facts[`s:${n}`]!.sha1, sum('sha1', data), n);
        if (n === 'big') assert.deepEqual([c.content, c.tooLarge], [undefined, true]);
        else assert.ok(c.content?.equals(data) && c.sha1 === sum('sha1', data), n);
      }
    }
  });

  it('a relative path and one with a leading dash are not taken as options', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { fileProbe } = await import('../src/modules/facts/file.js');
    const { batchProbes } = await import('../src/engine/probe-batch.js');
    const dir = mkdtempSync(join(tmpdir(), 'senex-fp-'));
    writeFileSync(join(dir, '-name'), 'minus');
    writeFileSync(join(dir, '!'), 'bang');
    const t = new LocalTransport('local');
    const batch = batchProbes([
      ['dash', fileProbe('-name', { content: true })],
      ['bang', fileProbe('!', { content: true })],
    ]);
    const r = await t.exec({ script: `cd ${JSON.stringify(dir)} && ${batch.script}` });
    await t.close();
    const facts = batch.parse(r.stdout.toString('utf8')) as Record<string, { content?: Buffer }>;
    assert.deepEqual([facts.dash?.content?.toString(), facts.bang?.content?.toString()], ['minus', 'bang']);
  });
});
