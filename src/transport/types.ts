/** How to become another user on the target (sudo by default, as Ansible). */
export interface BecomeSpec {
  user: string;
  method: 'sudo' | 'su';
  /** Only needed when sudo/su asks for one; written after the prompt, never on a command line. */
  password?: string | undefined;
}

/**
 * Input too big to hold in memory (a copy's `src` on the controller): read in chunks as it
 * is sent, so a 2 GiB file costs the controller a few MiB.
 */
export interface StreamSource {
  /** Its size in bytes (named as a Buffer's, so either can say how big a write is). */
  readonly length: number;
  /** Its bytes from the start, in chunks; throws if it no longer holds `length` of them. */
  chunks(): AsyncIterable<Buffer>;
}

export function isStreamSource(v: unknown): v is StreamSource {
  return typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && typeof (v as StreamSource).chunks === 'function';
}

/** One command for the target's POSIX shell. `script` must be built with the quoter. */
export interface ExecRequest {
  script: string;
  /** Fed to the script's standard input. */
  stdin?: string | Buffer | StreamSource | undefined;
  become?: BecomeSpec | undefined;
  /** A no_log task's request: SENEX_TRACE says that it was sent, never what it said. */
  hidden?: boolean;
}

export interface ExecResult {
  rc: number;
  stdout: Buffer;
  stderr: Buffer;
}

/** Counters a transport keeps for --stats and the benchmark. */
export interface TransportStats {
  /** Times the controller waited on the network: requests sent behind one in flight ride along. */
  roundTrips: number;
  /** Requests answered (probe batches, commands, writes). */
  requests: number;
  channelsOpened: number;
  bytesSent: number;
  bytesReceived: number;
  connectMs: number;
}

/** A connection to one host. Every transport (local, ssh) implements exactly this. */
export interface Transport {
  readonly host: string;
  exec(req: ExecRequest): Promise<ExecResult>;
  close(): Promise<void>;
  readonly stats: TransportStats;
}

/** The connection to a host failed or was lost: the host is UNREACHABLE, not FAILED. */
export class UnreachableError extends Error {
  constructor(
    readonly host: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UnreachableError';
  }
}

/** What an operator reads: the reason, where it happened, then what to do about it. */
export function describeUnreachable(e: UnreachableError, during?: string): string {
  return `${e.message}${during ? ` (during task '${during}')` : ''}${e.hint ? `\nhint: ${e.hint}` : ''}`;
}

export function emptyStats(): TransportStats {
  return { roundTrips: 0, requests: 0, channelsOpened: 0, bytesSent: 0, bytesReceived: 0, connectMs: 0 };
}
