import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recap, type CliResult } from './helpers/cli.js';
import { BIN } from './helpers/paths.js';
import { ensureTestUsers, makeClientKeys, TestSshd, USERS, type ClientKeys } from './helpers/sshd.js';
import { testdir } from './helpers/testdir.js';

/**
 * Runs the built CLI and waits for it to exit by itself. A run that is still alive after
 * `boundMs` is killed and reported as hung: the assertion is that it ends, not how fast.
 */
function runToExit(args: string[], cwd: string, env: Record<string, string> = {}, boundMs = 45_000): Promise<CliResult & { hung: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', CI: '1', SSH_AUTH_SOCK: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, boundMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr, hung });
    });
  });
}

// Item 11 of issue 16: the last hop behind a ProxyJump fails. Two real sshd's on loopback,
// one as the jump host; the run must end with the target UNREACHABLE and the process exit.
describe('security: a failing hop behind a ProxyJump', function () {
  this.timeout(120_000);
  let keys: ClientKeys;
  let jump: TestSshd;
  let target: TestSshd;
  let t: ReturnType<typeof testdir>;

  before(async () => {
    ensureTestUsers();
    keys = makeClientKeys();
    jump = await new TestSshd(keys).start();
    target = await new TestSshd(keys).start();
  });
  after(() => {
    jump.stop();
    target.stop();
  });
  beforeEach(() => (t = testdir()));
  afterEach(() => t.cleanup());

  /** An inventory reaching `target` through `jump`, with the given known_hosts lines. */
  function setup(knownHosts: string[], targetUser: string = USERS.nopw): string[] {
    const known = join(t.dir, 'known_hosts');
    writeFileSync(known, knownHosts.join('\n') + '\n');
    writeFileSync(
      join(t.dir, 'inventory.yml'),
      `all:\n  hosts:\n    behind:\n      ansible_host: 127.0.0.1\n      ansible_port: ${target.port}\n      ansible_user: ${targetUser}\n` +
        `      ansible_ssh_private_key_file: ${keys.plain}\n      ansible_ssh_common_args: "-J ${USERS.nopw}@127.0.0.1:${jump.port} -o UserKnownHostsFile=${known}"\n`,
    );
    writeFileSync(join(t.dir, 'site.yml'), `- hosts: all\n  gather_facts: false\n  tasks:\n    - name: reach it\n      command: "true"\n`);
    return ['site.yml', '-i', 'inventory.yml'];
  }

  function assertUnreachableAndExited(r: CliResult & { hung: boolean }, reason: RegExp): void {
    assert.equal(r.hung, false, `senex-play did not exit by itself:\n${r.stdout}${r.stderr}`);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /fatal: \[behind\]: UNREACHABLE! =>/);
    assert.match(r.stdout, reason);
    assert.equal(recap(r.stdout, 'behind').unreachable, 1);
  }

  it('an unknown host key on the last hop: UNREACHABLE naming the hop, and the process exits', async () => {
    const r = await runToExit(setup([jump.knownHostsLine()]), t.dir);
    assertUnreachableAndExited(r, new RegExp(`host key for \\[127\\.0\\.0\\.1\\]:${target.port} is not known`));
  });

  it('a changed host key on the last hop: UNREACHABLE naming the hop, and the process exits', async () => {
    const [type, key] = jump.hostKeyPub.split(' ');
    const r = await runToExit(setup([jump.knownHostsLine(), `[127.0.0.1]:${target.port} ${type} ${key}`]), t.dir);
    assertUnreachableAndExited(r, new RegExp(`HOST KEY FOR \\[127\\.0\\.0\\.1\\]:${target.port} HAS CHANGED`));
  });

  it('a failed login on the last hop: UNREACHABLE naming the hop, and the process exits', async () => {
    const r = await runToExit(setup([jump.knownHostsLine(), target.knownHostsLine()], 'senex-t-nosuchuser'), t.dir);
    assertUnreachableAndExited(r, new RegExp(`authentication failed for senex-t-nosuchuser@127\\.0\\.0\\.1:${target.port}`));
    // What was tried is this hop's attempts, not the jump host's as well.
    assert.match(r.stdout, new RegExp(`\\(tried: key ${keys.plain}\\)`));
  });
});

// Item 13 of issue 16: accept-new follows the user's HashKnownHosts (Debian sets it in
// /etc/ssh/ssh_config), and OpenSSH's own tools accept what was written.
describe('security: accept-new follows HashKnownHosts', function () {
  this.timeout(120_000);
  let keys: ClientKeys;
  let jump: TestSshd;
  let target: TestSshd;
  let home: ReturnType<typeof testdir>;

  before(async () => {
    ensureTestUsers();
    keys = makeClientKeys();
    jump = await new TestSshd(keys).start();
    target = await new TestSshd(keys).start();
  });
  after(() => {
    jump.stop();
    target.stop();
  });
  beforeEach(() => {
    home = testdir();
    mkdirSync(join(home.dir, '.ssh'), { mode: 0o700 });
  });
  afterEach(() => home.cleanup());

  const knownHosts = () => join(home.dir, '.ssh', 'known_hosts');

  /** A first run through the jump host with accept-new; HOME is the test's, so is ~/.ssh. */
  async function firstContact(sshConfig: string): Promise<void> {
    writeFileSync(join(home.dir, '.ssh', 'config'), sshConfig);
    writeFileSync(
      join(home.dir, 'inventory.yml'),
      `all:\n  hosts:\n    behind:\n      ansible_host: 127.0.0.1\n      ansible_port: ${target.port}\n      ansible_user: ${USERS.nopw}\n` +
        `      ansible_ssh_private_key_file: ${keys.plain}\n      ansible_ssh_common_args: "-J ${USERS.nopw}@127.0.0.1:${jump.port}"\n`,
    );
    writeFileSync(join(home.dir, 'site.yml'), `- hosts: all\n  gather_facts: false\n  tasks:\n    - command: "true"\n`);
    const r = await runToExit(['site.yml', '-i', 'inventory.yml', '--host-key-checking', 'accept-new'], home.dir, { HOME: home.dir });
    assert.equal(r.code, 0, r.stdout + r.stderr);
  }

  /** `ssh-keygen -F NAME`: the line OpenSSH finds for a name, or undefined. */
  function keygenFind(name: string): string | undefined {
    const r = spawnSync('ssh-keygen', ['-F', name, '-f', knownHosts()], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.split('\n').find((l) => l && !l.startsWith('#')) : undefined;
  }

  /** OpenSSH's client, strict, with nothing but our known_hosts: does it trust each hop? */
  function opensshConnects(): void {
    for (const server of [jump, target]) {
      execFileSync(
        'ssh',
        ['-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHosts()}`, '-o', 'GlobalKnownHostsFile=/dev/null',
          '-i', keys.plain, '-p', String(server.port), `${USERS.nopw}@127.0.0.1`, 'true'],
        { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 },
      );
    }
  }

  it('HashKnownHosts yes: both hops are recorded as |1|salt|hash lines that ssh-keygen -F and ssh accept', async () => {
    await firstContact('Host *\n    HashKnownHosts yes\n');
    const text = readFileSync(knownHosts(), 'utf8');
    const lines = text.trim().split('\n');
    assert.equal(lines.length, 2, text);
    for (const l of lines) assert.match(l, /^\|1\|[A-Za-z0-9+/]{27}=\|[A-Za-z0-9+/]{27}= ssh-ed25519 /, text);
    assert.doesNotMatch(text, /127\.0\.0\.1/);
    for (const server of [jump, target]) {
      const found = keygenFind(`[127.0.0.1]:${server.port}`);
      assert.ok(found, `ssh-keygen -F found no line for port ${server.port} in:\n${text}`);
      assert.equal(found.split(' ').slice(1).join(' '), server.hostKeyPub.split(' ').slice(0, 2).join(' '));
    }
    opensshConnects();
  });

  it('HashKnownHosts no: plain names, as OpenSSH writes them', async () => {
    await firstContact('Host *\n    HashKnownHosts no\n');
    const text = readFileSync(knownHosts(), 'utf8');
    assert.ok(text.includes(`[127.0.0.1]:${target.port} ssh-ed25519 `), text);
    assert.ok(keygenFind(`[127.0.0.1]:${jump.port}`));
    opensshConnects();
  });
});
