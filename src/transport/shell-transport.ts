import { BECOME_OK, becomeArgv, becomeKey, SUDO_PROMPT } from './become.js';
import { RemoteShell, type ShellChannel } from './remote-shell.js';
import { emptyStats, UnreachableError, type BecomeSpec, type ExecRequest, type ExecResult, type Transport } from './types.js';

/**
 * What local and SSH connections share: a pool of persistent shells, one per become user,
 * each opened on first use. Subclasses only say how to open a channel to a command.
 */
export abstract class ShellTransport implements Transport {
  readonly stats = emptyStats();
  private readonly shells = new Map<string, Promise<RemoteShell>>();
  private readonly lastUsed = new Map<string, number>();
  private closed = false;
  /** Most shells (channels) kept open at once; the least recently used idle one makes room. */
  protected maxShells = 8;

  constructor(readonly host: string) {}

  /** Opens a channel running `argv` (or the login shell's `sh` when null) on the target. */
  protected abstract openChannel(argv: string[] | null): Promise<ShellChannel>;
  protected abstract closeConnection(): Promise<void>;

  async exec(req: ExecRequest): Promise<ExecResult> {
    const shell = await this.shellFor(req.become);
    return shell.run(req.script, req.stdin, req.hidden);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const shells = [...this.shells.values()];
    this.shells.clear();
    for (const s of shells) (await s.catch(() => undefined))?.close();
    await this.closeConnection();
  }

  /** Why the connection itself is gone, or undefined while it is up. */
  protected connectionLost(): string | undefined {
    return undefined;
  }

  protected lost(reason: string): UnreachableError {
    return new UnreachableError(this.host, `connection lost: ${reason}`);
  }

  private shellFor(become: BecomeSpec | undefined): Promise<RemoteShell> {
    if (this.closed) return Promise.reject(this.lost('connection closed'));
    const key = becomeKey(become);
    this.lastUsed.set(key, performance.now());
    let shell = this.shells.get(key);
    if (!shell) {
      void this.makeRoom();
      shell = this.startShell(become);
      this.shells.set(key, shell);
      // A shell that failed to start is not cached: the next task may try again.
      shell.catch(() => this.shells.delete(key));
    }
    return shell;
  }

  /** Closes the least recently used idle shell when a new one would exceed the limit. */
  private async makeRoom(): Promise<void> {
    if (this.shells.size < this.maxShells) return;
    const candidates = [...this.shells.keys()].sort((a, b) => (this.lastUsed.get(a) ?? 0) - (this.lastUsed.get(b) ?? 0));
    for (const key of candidates) {
      const shell = await this.shells.get(key)?.catch(() => undefined);
      if (shell && shell.idle) {
        this.shells.delete(key);
        this.lastUsed.delete(key);
        shell.close();
        return;
      }
    }
  }

  private async startShell(become: BecomeSpec | undefined): Promise<RemoteShell> {
    const channel = await this.openChannel(become ? becomeArgv(become) : null);
    this.stats.channelsOpened++;
    if (become?.password !== undefined && become.method === 'sudo') {
      await answerSudoPrompt(channel, become.password).catch((e: Error) => {
        throw new BecomeError(this.host, become, e.message);
      });
    }
    let started = false;
    const shell = new RemoteShell(channel, this.stats, (reason) => {
      // The whole connection went away (sshd killed, network cut): the host is UNREACHABLE,
      // whichever shell noticed first. Only a become shell that never started is a become failure.
      const gone = this.connectionLost();
      if (gone !== undefined || !become) return this.lost(gone ?? reason);
      return started ? new ShellExitedError(this.host, become, reason) : new BecomeError(this.host, become, reason);
    });
    // The first request follows the prelude without waiting for it: one round trip, not two.
    // Should the shell not start (sudo refused), that request fails with the reason.
    shell.start().then(
      () => (started = true),
      () => undefined,
    );
    return shell;
  }
}

/** Becoming another user failed (no sudo rights, wrong password): the task fails, the host stays reachable. */
export class BecomeError extends Error {
  constructor(
    readonly host: string,
    readonly become: BecomeSpec,
    reason: string,
  ) {
    super(`cannot become '${become.user}' with ${become.method}: ${reason}`);
    this.name = 'BecomeError';
  }
}

/** A become shell died under a task while the connection stayed up (killed, OOM): the task fails. */
export class ShellExitedError extends Error {
  constructor(
    readonly host: string,
    readonly become: BecomeSpec,
    reason: string,
  ) {
    super(`the shell running as '${become.user}' (${become.method}) ended during the task: ${reason}`);
    this.name = 'ShellExitedError';
  }
}

/**
 * Answers sudo's password prompt: the password is written only after sudo's own prompt
 * appeared on stderr, and never twice: a second prompt means it was wrong, and the host
 * fails at once instead of hanging. Resolves when the become user's shell is running.
 */
function answerSudoPrompt(channel: ShellChannel, password: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    let answered = false;
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        channel.close();
        reject(err);
      } else resolve();
    };
    const timer = setTimeout(() => finish(new Error('sudo neither asked for a password nor started a shell within 30 s')), 30_000);
    channel.onClose((reason) => finish(new Error(`${reason}${seen.trim() ? `: ${seen.replaceAll(SUDO_PROMPT, '').trim()}` : ''}`)));
    channel.onStderr?.((chunk) => {
      if (done) return;
      seen += chunk.toString('utf8');
      if (seen.includes(BECOME_OK)) return finish();
      const prompts = seen.split(SUDO_PROMPT).length - 1;
      if (prompts >= 2) return finish(new Error('incorrect sudo password'));
      if (prompts === 1 && !answered) {
        answered = true;
        channel.write(`${password}\n`);
      }
    });
  });
}
