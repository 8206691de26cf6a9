import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recap, type CliResult } from './helpers/cli.js';
import { BIN } from './helpers/paths.js';
import { ensureTestUsers, makeClientKeys, TestSshd, USERS, type ClientKeys } from './helpers/sshd.js';
import { testdir } from './helpers/testdir.js';

/**
 * Runs the built CLI and waits for it to exit by itself. A run that is still alive after
 * `boundMs` is killed and reported as hung: the assertion is that it ends, not how fast.
 */
function runToExit(args: string[], cwd: string, boundMs = 45_000): Promise<CliResult & { hung: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', CI: '1', SSH_AUTH_SOCK: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
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
