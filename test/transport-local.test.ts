import assert from 'node:assert/strict';
import { LocalTransport } from '../src/transport/local.js';

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
    assert.equal(t.stats.roundTrips, 51); // 50 commands and the shell's start
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
