import { randomBytes } from 'node:crypto';
import { redact } from '../vault/redact.js';
import { quote } from './quote.js';
import { isStreamSource, type ExecResult, type StreamSource, type TransportStats } from './types.js';

/** A byte stream to a `sh` on the target: a child's stdio locally, an SSH channel remotely. */
export interface ShellChannel {
  /** False when the data waits in a buffer: write more only after `drained()`. */
  write(data: string | Buffer): boolean;
  /** Resolves when what was written has left the buffer (at once when it has). */
  drained(): Promise<void>;
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
//
// A big stdin (a copy of a large file) cannot travel inside the request: it would be a string
// of its whole size on both ends. `__sx_stream NONCE 'SCRIPT' SIZE` takes it as raw bytes
// after the request instead. The shell reads its commands from this same channel and reads
// ahead of the command it runs (dash does), so the bytes may follow only once the shell is
// inside the function: it says so with `\n<nonce>+\n` on stdout, and the controller sends
// nothing else until all SIZE bytes and a trailer line (the nonce) are out. head reads exactly
// SIZE bytes, `read` the trailer byte by byte; what the script leaves unread is drained, so no
// byte of the data is ever read as a command.
const PRELUDE = `
# A become user often cannot enter the login user's home (sudo keeps the cwd); podman and
# others then fail with "cannot chdir". Move to the user's own home only in that case.
{ [ -x . ] && [ -r . ]; } 2>/dev/null || cd "\${HOME:-/}" 2>/dev/null || cd /
# The user manager's runtime dir (systemctl --user, podman) may appear only mid-run, once
# linger is enabled: looked for before each request, as long as it is missing (no fork).
__sx_uid=$(id -u)
__sx_env() {
  [ -n "\${XDG_RUNTIME_DIR:-}" ] || { [ -d "/run/user/$__sx_uid" ] && export XDG_RUNTIME_DIR="/run/user/$__sx_uid"; }
}
__sx_done() {
  printf '\\n%s %s\\n' "$1" "$2"
  printf '\\n%s\\n' "$1" >&2
}
__sx_run() {
  __sx_env
  if [ -n "$3" ]; then
    printf '%s' "$3" | base64 -d | ( eval "$2" )
  else
    ( eval "$2" ) </dev/null
  fi
  __sx_done "$1" $?
}
__sx_stream() {
  __sx_env
  printf '\\n%s+\\n' "$1"
  { head -c "$3"; IFS= read -r __sx_end || :; [ "$__sx_end" = "$1" ] || __sx_abort; } |
    { ( eval "$2" ); __sx_rc=$?; cat >/dev/null; exit $__sx_rc; }
  __sx_done "$1" $?
}
# The bytes of a stream stopped short (the controller died or gave up: no trailer line after
# them). Every process below this shell but the caller gets TERM while the caller still holds
# the script's input open, so the script never sees its end and never installs part of a
# file (its trap removes its temp file). Linux's /proc, no procps.
__sx_abort() {
  read -r __sx_me _ </proc/self/stat
  __sx_tree=" $$ "
  __sx_grew=1
  while [ -n "$__sx_grew" ]; do
    __sx_grew=
    for __sx_s in /proc/[0-9]*/stat; do
      { IFS= read -r __sx_l <"$__sx_s"; } 2>/dev/null || continue
      __sx_pid=\${__sx_l%% *}
      __sx_l=\${__sx_l##*) }
      __sx_l=\${__sx_l#* }
      case $__sx_tree in *" $__sx_pid "*) continue;; *" \${__sx_l%% *} "*) __sx_tree="$__sx_tree$__sx_pid "; __sx_grew=1;; esac
    done
  done
  for __sx_pid in $__sx_tree; do [ "$__sx_pid" = "$$" ] || [ "$__sx_pid" = "$__sx_me" ] || kill -TERM "$__sx_pid" 2>/dev/null || :; done
  exit 1
}
`;

/** A stdin larger than this is streamed after its request (`__sx_stream`), not inlined. */
export const INLINE_STDIN_MAX = 256 * 1024;
/** Chunks a Buffer stdin is streamed in. */
const CHUNK = 256 * 1024;

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
  /** A streamed stdin: resolved when the shell is ready for its bytes. */
  ready?: () => void;
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
  /** Writes that wait behind a streamed stdin, in order, and how many there are. */
  private outbound: Promise<void> = Promise.resolve();
  private queued = 0;

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

  run(script: string, stdin?: string | Buffer | StreamSource, hidden = false): Promise<ExecResult> {
    if (this.closedReason !== undefined) return Promise.reject(this.onLost(this.closedReason));
    const nonce = `__SENEX_${randomBytes(12).toString('hex')}__`;
    const stream = streamedInput(stdin);
    const input = stream ? String(stream.length) : stdin === undefined || stdin.length === 0 ? "''" : Buffer.from(stdin as string | Buffer).toString('base64');
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
      const pending: Pending = { nonce, resolve, reject };
      this.pending.push(pending);
      if (!stream) return this.send(`__sx_run ${nonce} ${quote(script)} ${input}\n`);
      // One more wait on the network: for the shell to be ready for the bytes.
      this.stats.roundTrips++;
      const ready = new Promise<void>((r) => (pending.ready = r));
      this.send(`__sx_stream ${nonce} ${quote(script)} ${input}\n`);
      this.enqueue(async () => {
        await ready;
        await this.pump(stream, pending);
      });
    });
  }

  /**
   * Sends a streamed stdin, chunk by chunk as the channel takes them (so memory stays at a
   * chunk or two, whatever the size). Should the source fail mid-way (a file that shrank,
   * unreadable), the shell is waiting for bytes that will not come: it is closed, which
   * removes the script's temp file, and the request fails with the reason.
   */
  private async pump(stream: StreamSource, pending: Pending): Promise<void> {
    if (this.closedReason !== undefined) return;
    let sent = 0;
    try {
      for await (const chunk of stream.chunks()) {
        if (this.closedReason !== undefined) return;
        sent += chunk.length;
        if (sent > stream.length) throw new Error(`it grew beyond ${stream.length} bytes while being sent`);
        this.stats.bytesSent += chunk.length;
        if (!this.channel.write(chunk)) await this.channel.drained();
      }
      if (sent !== stream.length) throw new Error(`it shrank to ${sent} of ${stream.length} bytes while being sent`);
      // The trailer: without it, the shell takes the bytes as cut short and ends the script.
      this.channel.write(`${pending.nonce}\n`);
    } catch (e) {
      const i = this.pending.indexOf(pending);
      if (i >= 0) this.pending.splice(i, 1);
      pending.reject(new StdinError(`cannot send the content: ${(e as Error).message}`));
      this.close();
    }
  }

  close(): void {
    if (this.closedReason === undefined) {
      this.closedReason = 'closed';
      this.channel.close();
    }
  }

  /**
   * Writes in request order: behind a streamed stdin still being sent, a request waits for
   * it (it must not land in the middle of those bytes).
   */
  private send(text: string): void {
    this.stats.bytesSent += Buffer.byteLength(text);
    if (this.queued === 0) this.channel.write(text);
    else this.enqueue(() => void (this.closedReason === undefined && this.channel.write(text)));
  }

  /** Runs `step` after every write queued before it. */
  private enqueue(step: () => Promise<void> | void): void {
    this.queued++;
    this.outbound = this.outbound
      .then(step)
      .catch(() => undefined)
      .finally(() => this.queued--);
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
      if (head.ready) {
        const go = this.out.indexOf(`\n${head.nonce}+\n`);
        if (go < 0) return;
        this.out = this.out.subarray(go + head.nonce.length + 3);
        head.ready();
        head.ready = undefined;
      }
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
    for (const p of this.pending.splice(0)) {
      p.ready?.(); // a stream waiting for the shell goes no further: the shell is gone
      p.reject(this.onLost(why.trim()));
    }
  }
}

/** The stdin to stream after its request, or undefined when it is small enough to inline. */
function streamedInput(stdin: string | Buffer | StreamSource | undefined): StreamSource | undefined {
  if (stdin === undefined || isStreamSource(stdin)) return stdin;
  if (stdin.length <= INLINE_STDIN_MAX) return undefined; // a string's length is at most its bytes
  const data = Buffer.from(stdin);
  return {
    length: data.length,
    async *chunks() {
      for (let at = 0; at < data.length; at += CHUNK) yield data.subarray(at, at + CHUNK);
    },
  };
}

/** The input of a request could not be sent (its source failed): that task fails, the host stays. */
export class StdinError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StdinError';
  }
}

/** Resolves when a writable stream's buffer has drained, or it closed (then nothing more is sent). */
export function waitDrain(stream: NodeJS.WritableStream & { writableNeedDrain?: boolean; destroyed?: boolean }): Promise<void> {
  if (!stream.writableNeedDrain || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.removeListener('drain', done);
      stream.removeListener('close', done);
      stream.removeListener('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}
