import { randomBytes } from 'node:crypto';
import { redact } from '../vault/redact.js';
import { quote } from './quote.js';
import type { ExecResult, TransportStats } from './types.js';

/** A byte stream to a `sh` on the target: a child's stdio locally, an SSH channel remotely. */
export interface ShellChannel {
  write(data: string): void;
  onData(cb: (chunk: Buffer) => void): void;
  /** Called once when the channel ends; `reason` says why when it was not asked to. */
  onClose(cb: (reason: string) => void): void;
  /** The shell's standard error (and, before it starts, sudo's prompts and complaints). */
  onStderr?(cb: (chunk: Buffer) => void): void;
  close(): void;
}

// Installed once per shell. A request is one shell command `__sx_run NONCE 'SCRIPT' 'STDIN'`:
// the script arrives single-quoted by our quoter (no decoding, no process), runs in a
// subshell (its exit, cd and set -e stay inside), and its output goes straight back,
// followed on stdout and on stderr by a line with the request's random nonce and, on
// stdout, the exit code. Only stdin, when there is any, is base64 on the wire.
const PRELUDE = `
# A become user often cannot enter the login user's home (sudo keeps the cwd); podman and
# others then fail with "cannot chdir". Move to the user's own home only in that case.
{ [ -x . ] && [ -r . ]; } 2>/dev/null || cd "\${HOME:-/}" 2>/dev/null || cd /
# The user manager's runtime dir (systemctl --user, podman) may appear only mid-run, once
# linger is enabled: looked for before each request, as long as it is missing (no fork).
__sx_uid=$(id -u)
__sx_run() {
  [ -n "\${XDG_RUNTIME_DIR:-}" ] || { [ -d "/run/user/$__sx_uid" ] && export XDG_RUNTIME_DIR="/run/user/$__sx_uid"; }
  if [ -n "$3" ]; then
    printf '%s' "$3" | base64 -d | ( eval "$2" )
  else
    ( eval "$2" ) </dev/null
  fi
  __sx_rc=$?
  printf '\\n%s %s\\n' "$1" "$__sx_rc"
  printf '\\n%s\\n' "$1" >&2
}
`;

/**
 * SENEX_TRACE=1: every request on stderr as it is sent, and when its answer came (what a run
 * asks of its hosts, in order); SENEX_TRACE=2: with the whole script. stdin (where secrets
 * travel) is not traced, and the run's known secrets are masked as everywhere else.
 */
const TRACE = process.env.SENEX_TRACE === '1' || process.env.SENEX_TRACE === '2';
const TRACE_SCRIPTS = process.env.SENEX_TRACE === '2';
function traceRequest(n: number, inFlight: number, script: string, hidden: boolean): void {
  const lines = script.split('\n');
  // A no_log task's command line may hold secrets that are not registered (plain variables).
  // Masked before it is cut, so a secret across the cut is not half shown.
  const text = hidden ? '(no_log: not shown)' : TRACE_SCRIPTS ? `\n${script}` : redact(lines[0]!).slice(0, 120);
  process.stderr.write(redact(`senex trace: request ${n}${inFlight ? ` (behind ${inFlight} in flight)` : ''}, ${lines.length} lines: ${text}\n`));
}

interface Pending {
  nonce: string;
  resolve: (r: ExecResult) => void;
  reject: (e: Error) => void;
  stdout?: Buffer;
  rc?: number;
  stderr?: Buffer;
}

/** Finds `\n<nonce>[ rc]\n` in a buffer: what came before it, the rc, and where it ends. */
function findMarker(buf: Buffer, nonce: string, withRc: boolean): { body: Buffer; rc: number; end: number } | undefined {
  const head = Buffer.from(`\n${nonce}${withRc ? ' ' : '\n'}`);
  const at = buf.indexOf(head);
  if (at < 0) return undefined;
  if (!withRc) return { body: buf.subarray(0, at), rc: 0, end: at + head.length };
  const nl = buf.indexOf(10, at + head.length);
  if (nl < 0) return undefined;
  return { body: buf.subarray(0, at), rc: Number(buf.subarray(at + head.length, nl).toString('latin1')), end: nl + 1 };
}

/**
 * A persistent `sh` on the target, fed framed requests over one channel. Requests are
 * answered in order; one round trip and one fork per request, no process or channel per
 * command. Output is framed by a random nonce per request, so no command can forge the
 * end of its own output.
 */
export class RemoteShell {
  private out: Buffer = Buffer.alloc(0);
  private err: Buffer = Buffer.alloc(0);
  private readonly pending: Pending[] = [];
  private closedReason: string | undefined;
  private stderrText = '';

  constructor(
    private readonly channel: ShellChannel,
    private readonly stats: TransportStats,
    private readonly onLost: (reason: string) => Error,
  ) {}

  /** Installs the prelude; resolves when the shell answers (requests may be sent at once). */
  async start(): Promise<void> {
    this.channel.onData((chunk) => this.receive(chunk, 'out'));
    this.channel.onStderr?.((chunk) => this.receive(chunk, 'err'));
    this.channel.onClose((reason) => this.fail(reason));
    this.send(PRELUDE);
    await this.run(':');
  }

  /** No request is waiting for an answer. */
  get idle(): boolean {
    return this.pending.length === 0;
  }

  /** What the shell (or sudo in front of it) last printed on stderr; for error messages. */
  get stderrTail(): string {
    return this.stderrText.trim();
  }

  run(script: string, stdin?: string | Buffer, hidden = false): Promise<ExecResult> {
    if (this.closedReason !== undefined) return Promise.reject(this.onLost(this.closedReason));
    const nonce = `__SENEX_${randomBytes(12).toString('hex')}__`;
    const input = stdin === undefined || stdin.length === 0 ? "''" : Buffer.from(stdin).toString('base64');
    return new Promise<ExecResult>((resolveRun, reject) => {
      let resolve: (r: ExecResult) => void = resolveRun;
      // Pipelined behind a request still in flight, it costs no extra wait on the network.
      if (this.pending.length === 0) this.stats.roundTrips++;
      this.stats.requests++;
      if (TRACE) {
        const n = this.stats.requests;
        const sent = performance.now();
        traceRequest(n, this.pending.length, script, hidden);
        const answered = resolve;
        resolve = (r: ExecResult) => {
          process.stderr.write(`senex trace: answer ${n}: rc=${r.rc}, ${r.stdout.length + r.stderr.length} bytes, ${(performance.now() - sent).toFixed(1)} ms after it was sent\n`);
          answered(r);
        };
      }
      this.pending.push({ nonce, resolve, reject });
      this.send(`__sx_run ${nonce} ${quote(script)} ${input}\n`);
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

  private receive(chunk: Buffer, stream: 'out' | 'err'): void {
    this.stats.bytesReceived += chunk.length;
    if (stream === 'out') this.out = this.out.length ? Buffer.concat([this.out, chunk]) : chunk;
    else {
      this.err = this.err.length ? Buffer.concat([this.err, chunk]) : chunk;
      this.stderrText = (this.stderrText + chunk.toString('utf8')).slice(-2000);
    }
    this.settle();
  }

  /** Hands complete answers to their requests, in order. */
  private settle(): void {
    for (;;) {
      const head = this.pending[0];
      if (!head) return;
      if (head.stdout === undefined) {
        const m = findMarker(this.out, head.nonce, true);
        if (m) {
          head.stdout = Buffer.from(m.body);
          head.rc = m.rc;
          this.out = this.out.subarray(m.end);
        }
      }
      if (head.stderr === undefined) {
        const m = findMarker(this.err, head.nonce, false);
        if (m) {
          head.stderr = Buffer.from(m.body);
          this.err = this.err.subarray(m.end);
        }
      }
      if (head.stdout === undefined || head.stderr === undefined) return;
      this.pending.shift();
      head.resolve({ rc: head.rc!, stdout: head.stdout, stderr: head.stderr });
    }
  }

  private fail(reason: string): void {
    if (this.closedReason === undefined) this.closedReason = reason;
    const tail = this.stderrTail.split('\n').filter((l) => l.trim() && !l.startsWith('__SENEX_')).join(' ').slice(-300);
    const why = tail ? `${this.closedReason}: ${tail}` : this.closedReason;
    for (const p of this.pending.splice(0)) p.reject(this.onLost(why.trim()));
  }
}
