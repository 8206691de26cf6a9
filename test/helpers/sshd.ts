import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Test users: one with passwordless sudo, one whose sudo needs its password. */
export const USERS = { nopw: 'senex-t-nopw', pw: 'senex-t-pw' } as const;
export const PASSWORD = 'correct horse battery';

function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Creates the test users and their sudo rules once per machine (idempotent). */
export function ensureTestUsers(): void {
  for (const u of Object.values(USERS)) {
    try {
      sh('id', [u]);
    } catch {
      sh('useradd', ['--create-home', '--shell', '/bin/sh', u]);
    }
  }
  sh('chpasswd', [], `${USERS.nopw}:${PASSWORD}\n${USERS.pw}:${PASSWORD}\n`);
  writeFileSync('/etc/sudoers.d/senex-test', `${USERS.nopw} ALL=(ALL) NOPASSWD: ALL\n${USERS.pw} ALL=(ALL) ALL\n`, { mode: 0o440 });
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = new Socket();
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
      s.connect(port, '127.0.0.1');
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not listen on ${port}`);
}

/** Client keys: a plain and a passphrase-protected ed25519 key, authorized for both users. */
export interface ClientKeys {
  dir: string;
  plain: string;
  encrypted: string;
  passphrase: string;
}

export function makeClientKeys(): ClientKeys {
  const dir = mkdtempSync(join(tmpdir(), 'senex-keys-'));
  const plain = join(dir, 'id_plain');
  const encrypted = join(dir, 'id_encrypted');
  sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'senex-test-plain', '-f', plain]);
  sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'open sesame', '-C', 'senex-test-enc', '-f', encrypted]);
  return { dir, plain, encrypted, passphrase: 'open sesame' };
}

/** A real OpenSSH sshd on a loopback port, with its own host key and authorized keys. */
export class TestSshd {
  readonly dir = mkdtempSync(join(tmpdir(), 'senex-sshd-'));
  port = 0;
  private child?: ChildProcess;

  constructor(private readonly keys: ClientKeys) {}

  get hostKeyPub(): string {
    return readFileSync(join(this.dir, 'host_ed25519.pub'), 'utf8').trim();
  }

  /** A known_hosts line for this server (`[127.0.0.1]:port ssh-ed25519 AAAA...`). */
  knownHostsLine(name = '127.0.0.1'): string {
    const [type, key] = this.hostKeyPub.split(' ');
    return `[${name}]:${this.port} ${type} ${key}`;
  }

  async start(port?: number): Promise<this> {
    if (!existsSync(join(this.dir, 'host_ed25519'))) sh('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(this.dir, 'host_ed25519')]);
    this.port = port ?? (await freePort());
    const auth = join(this.dir, 'authorized_keys');
    writeFileSync(auth, [readFileSync(`${this.keys.plain}.pub`, 'utf8'), readFileSync(`${this.keys.encrypted}.pub`, 'utf8')].join(''));
    chmodSync(this.dir, 0o755);
    chmodSync(auth, 0o644);
    const config = join(this.dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `Port ${this.port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(this.dir, 'host_ed25519')}`,
        `PidFile ${join(this.dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${auth}`,
        'StrictModes no',
        'UsePAM yes',
        'PasswordAuthentication yes',
        'KbdInteractiveAuthentication yes',
        'AllowTcpForwarding yes',
        'MaxStartups 100',
        'MaxSessions 10',
        'LogLevel ERROR',
        'Subsystem sftp internal-sftp',
      ].join('\n') + '\n',
    );
    this.killed = false;
    this.child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child.stderr!.on('data', () => undefined);
    await waitForPort(this.port);
    return this;
  }

  killed = false;

  /** Kills the listener and every session it forked: the host is gone. */
  kill(): void {
    const pid = this.child?.pid;
    if (!pid) return;
    this.killed = true;
    const tree = (p: number): number[] => {
      let kids: number[] = [];
      try {
        kids = sh('ps', ['-o', 'pid=', '--ppid', String(p)]).split('\n').map((s) => Number(s.trim())).filter(Boolean);
      } catch {
        /* no children */
      }
      return [p, ...kids.flatMap(tree)];
    };
    for (const p of tree(pid).reverse()) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    this.child = undefined;
  }

  /** A new host key, as if the host was reinstalled (or someone is in the middle). */
  async rekey(): Promise<void> {
    this.kill();
    rmSync(join(this.dir, 'host_ed25519'));
    rmSync(join(this.dir, 'host_ed25519.pub'));
    await this.start(this.port);
  }

  stop(): void {
    this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The mocha hooks of a suite over `count` loopback sshds: test users and client keys made
 * and the servers started before its tests, stopped after. Filled in once `before` ran.
 */
export function withSshds(count: number): { keys: ClientKeys; servers: TestSshd[] } {
  const suite = { keys: undefined as unknown as ClientKeys, servers: [] as TestSshd[] };
  before(async () => {
    ensureTestUsers();
    suite.keys = makeClientKeys();
    for (let i = 0; i < count; i++) suite.servers.push(await new TestSshd(suite.keys).start());
  });
  after(() => suite.servers.forEach((s) => s.stop()));
  return suite;
}
