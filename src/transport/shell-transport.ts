import { becomeArgv, becomeKey, SUDO_PROMPT } from './become.js';
import { RemoteShell, type ShellChannel } from './remote-shell.js';
import { emptyStats, UnreachableError, type BecomeSpec, type ExecRequest, type ExecResult, type Transport } from './types.js';

/**
 * What local and SSH connections share: a pool of persistent shells, one per become user,
 * each opened on first use. Subclasses only say how to open a channel to a command.
 */
export abstract class ShellTransport implements Transport {
  readonly stats = emptyStats();
  private readonly shells = new Map<string, Promise<RemoteShell>>();
  private closed = false;

  constructor(readonly host: string) {}

  /** Opens a channel running `argv` (or the login shell's `sh` when null) on the target. */
  protected abstract openChannel(argv: string[] | null): Promise<ShellChannel>;
  protected abstract closeConnection(): Promise<void>;

  async exec(req: ExecRequest): Promise<ExecResult> {
    const shell = await this.shellFor(req.become);
    return shell.run(req.script, req.stdin);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const shells = [...this.shells.values()];
    this.shells.clear();
    for (const s of shells) (await s.catch(() => undefined))?.close();
    await this.closeConnection();
  }

  protected lost(reason: string): UnreachableError {
    return new UnreachableError(this.host, `connection lost: ${reason}`);
  }

  private shellFor(become: BecomeSpec | undefined): Promise<RemoteShell> {
    if (this.closed) return Promise.reject(this.lost('connection closed'));
    const key = becomeKey(become);
    let shell = this.shells.get(key);
    if (!shell) {
      shell = this.startShell(become);
      this.shells.set(key, shell);
      // A shell that failed to start is not cached: the next task may try again.
      shell.catch(() => this.shells.delete(key));
    }
    return shell;
  }

  private async startShell(become: BecomeSpec | undefined): Promise<RemoteShell> {
    const channel = await this.openChannel(become ? becomeArgv(become) : null);
    this.stats.channelsOpened++;
    if (become?.password !== undefined) await answerSudoPrompt(channel, become.password);
    const shell = new RemoteShell(channel, this.stats, (reason) =>
      become ? new BecomeError(this.host, become, reason) : this.lost(reason),
    );
    await shell.start();
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

/** Writes the password only once sudo's own prompt has appeared on stderr. */
function answerSudoPrompt(channel: ShellChannel, password: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error('sudo did not ask for a password within 10 s')), 10_000);
    channel.onStderr?.((chunk) => {
      if (seen === null) return;
      seen += chunk.toString('utf8');
      if (seen.includes(SUDO_PROMPT)) {
        clearTimeout(timer);
        seen = '';
        channel.write(`${password}\n`);
        resolve();
      }
    });
  });
}
