import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveSshOptions, type SshDefaults } from '../src/transport/ssh/options.js';
import { SshTransport } from '../src/transport/ssh/ssh-transport.js';
import { ensureTestUsers, makeClientKeys, PASSWORD, TestSshd, USERS, type ClientKeys } from './helpers/sshd.js';
import { testdir } from './helpers/testdir.js';

// Against real OpenSSH servers on loopback: a target and a jump host, each with its own
// host key; test users with and without a sudo password.
describe('SSH transport (real sshd on loopback)', function () {
  this.timeout(30_000);
  let keys: ClientKeys;
  let target: TestSshd;
  let jump: TestSshd;
  let home: ReturnType<typeof testdir>;
  const warnings: string[] = [];
  const open: SshTransport[] = [];

  before(async () => {
    ensureTestUsers();
    keys = makeClientKeys();
    target = await new TestSshd(keys).start();
    jump = await new TestSshd(keys).start();
    home = testdir();
    mkdirSync(join(home.dir, '.ssh'), { recursive: true });
  });
  after(() => {
    target.stop();
    jump.stop();
    home.cleanup();
  });
  beforeEach(() => {
    warnings.length = 0;
    writeFileSync(knownHosts(), `${target.knownHostsLine()}\n${jump.knownHostsLine()}\n`);
    writeFileSync(join(home.dir, '.ssh', 'config'), '');
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
  });

  const knownHosts = () => join(home.dir, '.ssh', 'known_hosts');

  function transport(vars: Record<string, unknown> = {}, defaults: Partial<SshDefaults> = {}, host = 'target'): SshTransport {
    const v = { ansible_host: '127.0.0.1', ansible_port: target.port, ansible_user: USERS.nopw, ansible_ssh_private_key_file: keys.plain, ...vars };
    for (const [k, val] of Object.entries(v)) if (val === undefined) delete (v as Record<string, unknown>)[k];
    const spec = { host, connection: 'ssh', address: String(v.ansible_host ?? host), port: Number(v.ansible_port ?? 22), user: v.ansible_user as string | undefined, vars: v };
    const t = new SshTransport(resolveSshOptions(spec, { home: home.dir, configFiles: [join(home.dir, '.ssh', 'config')], agentSocket: null, warn: (m) => warnings.push(m), ...defaults }));
    open.push(t);
    return t;
  }

  const whoami = async (t: SshTransport, become?: { user: string; password?: string }) =>
    (await t.exec({ script: 'id -un', become: become ? { method: 'sudo', ...become } : undefined })).stdout.toString().trim();

  it('authenticates with a key', async () => {
    assert.equal(await whoami(transport()), USERS.nopw);
  });

  it('authenticates with an encrypted ed25519 key, asking for the passphrase once', async () => {
    let asked = 0;
    const t = transport({ ansible_ssh_private_key_file: keys.encrypted }, { passphrase: async () => (asked++, keys.passphrase) });
    assert.equal(await whoami(t), USERS.nopw);
    assert.equal(asked, 1);
  });

  it('a wrong key passphrase is an authentication failure, not a hang', async () => {
    const t = transport({ ansible_ssh_private_key_file: keys.encrypted }, { passphrase: async () => 'wrong' });
    await assert.rejects(whoami(t), /authentication failed for senex-t-nopw@127\.0\.0\.1/);
  });

  it('authenticates through ssh-agent', async () => {
    const sock = join(home.dir, 'agent.sock');
    const out = execFileSync('ssh-agent', ['-a', sock], { encoding: 'utf8' });
    const pid = /SSH_AGENT_PID=(\d+)/.exec(out)![1]!;
    try {
      execFileSync('ssh-add', ['-q', keys.plain], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
      const t = transport({ ansible_ssh_private_key_file: undefined }, { agentSocket: sock });
      assert.equal(await whoami(t), USERS.nopw);
    } finally {
      process.kill(Number(pid));
    }
  });

  it('authenticates with a password', async () => {
    assert.equal(await whoami(transport({ ansible_ssh_private_key_file: undefined, ansible_password: PASSWORD })), USERS.nopw);
  });

  it('refuses an unknown host key in strict mode, with the fingerprint and what to do', async () => {
    writeFileSync(knownHosts(), '');
    await assert.rejects(whoami(transport()), (e: Error & { hint?: string }) => {
      assert.match(e.message, /host key for \[127\.0\.0\.1\]:\d+ is not known \(SHA256:[A-Za-z0-9+/]{43}\); refusing to connect/);
      assert.match(e.hint ?? '', /ssh-keyscan -p \d+ 127\.0\.0\.1/);
      return true;
    });
  });

  it('accept-new records an unknown key, and strict mode trusts it afterwards', async () => {
    writeFileSync(knownHosts(), '');
    assert.equal(await whoami(transport({}, { hostKeyPolicy: 'accept-new' })), USERS.nopw);
    assert.equal(readFileSync(knownHosts(), 'utf8').trim(), target.knownHostsLine());
    assert.match(warnings.join('\n'), /permanently added/);
    assert.equal(await whoami(transport()), USERS.nopw);
  });

  it('refuses a changed key, naming the file and line, even with accept-new', async () => {
    const [type, key] = jump.hostKeyPub.split(' ');
    const lines = `# comment\n[127.0.0.1]:${target.port} ${type} ${key}\n`;
    writeFileSync(knownHosts(), lines);
    for (const policy of ['strict', 'accept-new'] as const) {
      await assert.rejects(whoami(transport({}, { hostKeyPolicy: policy })), (e: Error & { hint?: string }) => {
        assert.match(e.message, new RegExp(`HOST KEY FOR \\[127\\.0\\.0\\.1\\]:${target.port} HAS CHANGED.*${knownHosts().replace(/[.]/g, '\\.')}:2`));
        assert.match(e.hint ?? '', /ssh-keygen -R/);
        return true;
      });
    }
    assert.equal(readFileSync(knownHosts(), 'utf8'), lines, 'accept-new must not touch a known, different key');
  });

  it('accepts a hashed known_hosts entry', async () => {
    writeFileSync(knownHosts(), `${target.knownHostsLine()}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', knownHosts()], { stdio: 'ignore' });
    assert.match(readFileSync(knownHosts(), 'utf8'), /^\|1\|/);
    assert.equal(await whoami(transport()), USERS.nopw);
  });

  it('honours @revoked', async () => {
    const [type, key] = target.hostKeyPub.split(' ');
    writeFileSync(knownHosts(), `${target.knownHostsLine()}\n@revoked * ${type} ${key}\n`);
    await assert.rejects(whoami(transport()), /@revoked/);
  });

  it('reaches a host through a ProxyJump, verifying the jump host under its own name', async () => {
    const t = transport({ ansible_ssh_common_args: `-J ${USERS.nopw}@127.0.0.1:${jump.port} -o ServerAliveInterval=5` }, { privateKey: keys.plain });
    assert.equal(await whoami(t), USERS.nopw);
    writeFileSync(knownHosts(), `${target.knownHostsLine()}\n`);
    const refused = transport({ ansible_ssh_common_args: `-J ${USERS.nopw}@127.0.0.1:${jump.port}` }, { privateKey: keys.plain });
    await assert.rejects(whoami(refused), new RegExp(`host key for \\[127\\.0\\.0\\.1\\]:${jump.port} is not known`));
  });

  it('reads ~/.ssh/config: Host alias, HostName, Port, User, IdentityFile (with Include and ~)', async () => {
    writeFileSync(join(home.dir, '.ssh', 'config'), `Include extra.conf\nHost *\n  User nobody\n`);
    writeFileSync(join(home.dir, '.ssh', 'extra.conf'), `Host web-alias\n  HostName 127.0.0.1\n  Port ${target.port}\n  User ${USERS.nopw}\n  IdentityFile ${keys.plain}\n`);
    const t = transport({ ansible_host: undefined, ansible_port: undefined, ansible_user: undefined, ansible_ssh_private_key_file: undefined }, {}, 'web-alias');
    assert.equal(await whoami(t), USERS.nopw);
  });

  it('becomes root with passwordless sudo', async () => {
    assert.equal(await whoami(transport(), { user: 'root' }), 'root');
  });

  it('becomes root with a sudo password, written only after the prompt', async () => {
    const t = transport({ ansible_user: USERS.pw });
    assert.equal(await whoami(t, { user: 'root', password: PASSWORD }), 'root');
  });

  it('a wrong sudo password fails at once with a clear message', async () => {
    const t = transport({ ansible_user: USERS.pw });
    const started = Date.now();
    await assert.rejects(whoami(t, { user: 'root', password: 'nope' }), /cannot become 'root' with sudo: incorrect sudo password/);
    assert.ok(Date.now() - started < 10_000, 'took too long to notice the wrong password');
  });

  it('sudo that needs a password, given none, fails with sudo\'s reason', async () => {
    await assert.rejects(whoami(transport({ ansible_user: USERS.pw }), { user: 'root' }), /a password is required/);
  });

  it('become_user gets a login-like HOME', async () => {
    const r = await transport().exec({ script: 'echo $HOME', become: { method: 'sudo', user: USERS.pw } });
    assert.equal(r.stdout.toString().trim(), `/home/${USERS.pw}`);
  });

  it('keeps to 8 channels: ten become users in turn, no channel failure', async () => {
    const t = transport();
    const users = ['root', 'nobody', 'daemon', 'bin', 'sys', 'games', 'man', 'lp', 'mail', 'news'];
    for (let round = 0; round < 2; round++) for (const u of users) assert.equal(await whoami(t, { user: u }), u);
  });

  it('one connection, one channel, many commands', async () => {
    const t = transport();
    for (let i = 0; i < 100; i++) await t.exec({ script: 'true' });
    assert.equal(t.stats.channelsOpened, 1);
    // 100 commands and the shell's start, which the first command follows without waiting.
    assert.deepEqual([t.stats.requests, t.stats.roundTrips], [101, 100]);
  });
});
