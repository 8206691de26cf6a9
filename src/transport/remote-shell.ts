import type { ExecResult, TransportStats } from './types.js';

/** A byte stream to a `sh` on the target: a child's stdio locally, an SSH channel remotely. */
export interface ShellChannel {
  write(data: string): void;
  onData(cb: (chunk: Buffer) => void): void;
  /** Called once when the channel ends; `reason` says why when it was not asked to. */
  onClose(cb: (reason: string) => void): void;
  /** Data the other side wrote to stderr before the shell answered (e.g. sudo's messages). */
  onStderr?(cb: (chunk: Buffer) => void): void;
  close(): void;
}

const MARK = '__SENEX__';

// Installed once per shell. Each request is one line `__sx_run ID SCRIPT STDIN` with both
// arguments base64, so no user value is ever parsed by this outer shell. The script runs in
// a subshell (its `exit`, `cd`, `set -e` stay inside); its stdout/stderr go to files in a
// private directory and come back base64 on one marker line, so output can never be
// mistaken for protocol. stdin is piped, never written to disk.
const PRELUDE = `
__sx_d=$(mktemp -d "\${TMPDIR:-/tmp}/.senex-sh.XXXXXX") || exit 97
trap 'rm -rf "$__sx_d"' EXIT
if [ -z "\${XDG_RUNTIME_DIR:-}" ] && [ -d "/run/user/$(id -u)" ]; then export XDG_RUNTIME_DIR="/run/user/$(id -u)"; fi
__sx_run() {
  if [ -n "$3" ]; then
    printf '%s' "$3" | base64 -d | ( eval "$(printf '%s' "$2" | base64 -d)" ) >"$__sx_d/o" 2>"$__sx_d/e"
  else
    ( eval "$(printf '%s' "$2" | base64 -d)" ) </dev/null >"$__sx_d/o" 2>"$__sx_d/e"
  fi
  __sx_rc=$?
  printf '\\n${MARK} %s %s %s %s\\n' "$1" "$__sx_rc" "$(base64 -w0 <"$__sx_d/o")" "$(base64 -w0 <"$__sx_d/e")"
}
printf '\\n${MARK} ready\\n'
`;

interface Pending {
  id: number;
  resolve: (r: ExecResult) => void;
  reject: (e: Error) => void;
}

/**
 * A persistent `sh` on the target, fed framed requests over one channel. Requests are
 * answered in order; one round trip per request, no process or channel per command.
 */
export class RemoteShell {
  private buffer = '';
  private nextId = 1;
  private readonly pending: Pending[] = [];
  private ready!: Promise<void>;
  private closedReason: string | undefined;
  private stderrText = '';

  constructor(
    private readonly channel: ShellChannel,
    private readonly stats: TransportStats,
    private readonly onLost: (reason: string) => Error,
  ) {}

  /** Installs the prelude and waits until the shell answers. */
  start(): Promise<void> {
    this.ready = new Promise<void>((resolve, reject) => {
      this.pending.push({ id: 0, resolve: () => resolve(), reject });
    });
    this.channel.onData((chunk) => this.receive(chunk));
    this.channel.onStderr?.((chunk) => {
      this.stderrText = (this.stderrText + chunk.toString('utf8')).slice(-2000);
    });
    this.channel.onClose((reason) => this.fail(reason));
    this.send(PRELUDE);
    return this.ready;
  }

  /** No request is waiting for an answer. */
  get idle(): boolean {
    return this.pending.length === 0;
  }

  /** What the shell (or sudo in front of it) printed on stderr; for error messages. */
  get stderrTail(): string {
    return this.stderrText.trim();
  }

  run(script: string, stdin?: string | Buffer): Promise<ExecResult> {
    if (this.closedReason !== undefined) return Promise.reject(this.onLost(this.closedReason));
    const id = this.nextId++;
    const input = stdin === undefined ? '' : Buffer.from(stdin).toString('base64');
    const line = `__sx_run ${id} ${Buffer.from(script).toString('base64') || "''"} ${input || "''"}\n`;
    return new Promise<ExecResult>((resolve, reject) => {
      this.pending.push({ id, resolve, reject });
      this.stats.roundTrips++;
      this.send(line);
    });
  }

  close(): void {
    if (this.closedReason === undefined) {
      this.closedReason = 'closed';
      this.channel.close();
    }
  }

  private send(text: string): void {
    this.stats.bytesSent += Buffer.byteLength(text);
    this.channel.write(text);
  }

  private receive(chunk: Buffer): void {
    this.stats.bytesReceived += chunk.length;
    this.buffer += chunk.toString('latin1');
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (line.startsWith(MARK + ' ')) this.answer(line.slice(MARK.length + 1));
    }
  }

  private answer(rest: string): void {
    const head = this.pending.shift();
    if (!head) return;
    if (rest === 'ready') {
      head.resolve({ rc: 0, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) });
      return;
    }
    const [id, rc, out = '', err = ''] = rest.split(' ');
    if (Number(id) !== head.id) {
      head.reject(new Error(`protocol error: expected answer ${head.id}, got ${id}`));
      return;
    }
    head.resolve({ rc: Number(rc), stdout: Buffer.from(out, 'base64'), stderr: Buffer.from(err, 'base64') });
  }

  private fail(reason: string): void {
    if (this.closedReason === undefined) this.closedReason = reason;
    const why = this.stderrTail ? `${this.closedReason}: ${this.stderrTail}` : this.closedReason;
    for (const p of this.pending.splice(0)) p.reject(this.onLost(why));
  }
}
