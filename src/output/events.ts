/** A content change shown by --diff: data only; one renderer formats it. */
export interface FileDiff {
  path: string;
  /** null: the file did not exist. */
  before: Buffer | string | null;
  after: Buffer | string | null;
  /** The new content's size when it is too big to hold (a streamed file; `after` is null then). */
  afterBytes?: number | undefined;
  /** The content must not be shown (no_log, secret): only that it changed, by checksum. */
  hidden?: boolean;
  beforeSha256?: string | undefined;
  afterSha256?: string | undefined;
}

export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable';

/** Per-host counters of the recap, as ansible-playbook prints them. */
export interface HostStats {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
  rescued: number;
  ignored: number;
}

export function emptyHostStats(): HostStats {
  return { ok: 0, changed: 0, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 };
}

/** What reaching one host cost (--stats, and `transport` in --json). */
export interface HostTransportStats {
  roundTrips: number;
  requests: number;
  channelsOpened: number;
  bytesSent: number;
  bytesReceived: number;
  connectMs: number;
  /** Waiting for probe answers (what is there now). */
  probeMs: number;
  /** Waiting for changes to be carried out (writes, commands, handlers). */
  applyMs: number;
}

/** What one task did on one host. */
export interface HostTaskResult {
  host: string;
  status: TaskStatus;
  /** Failed but ignore_errors: counted as ignored. */
  ignored?: boolean;
  msg?: string;
  /** One line per change applied (or, under --check, that would be applied). */
  changes: string[];
  diffs: FileDiff[];
  /** Loop item label, when the task loops. */
  item?: string;
  /** delegate_to: the host the task ran on for this host (shown as `host -> delegate`). */
  delegatedTo?: string;
  /** Module return values (shown with -v; masked when no_log). */
  result?: Record<string, unknown>;
  durationMs: number;
  /** Hide result and messages (no_log). */
  censored?: boolean;
  /** Print the result even without -v (debug). */
  show?: boolean;
  /** An include_tasks/include_role expansion: the file or role it brought in. */
  included?: string;
  /** Not shown and not counted (meta tasks, as in Ansible). */
  silent?: boolean;
}

/** Everything the engine tells reporters; each reporter must handle every kind. */
export type RunEvent =
  | { kind: 'run_start'; playbook: string; check: boolean; diff: boolean }
  | { kind: 'play_start'; name: string; hosts: string[] }
  | { kind: 'task_start'; name: string; where: string; handler: boolean; hosts: string[] }
  | { kind: 'host_result'; task: string; where: string; result: HostTaskResult }
  | { kind: 'item_result'; task: string; result: HostTaskResult }
  | { kind: 'warning'; message: string; host?: string | undefined }
  /** An attempt of an `until` task did not meet its condition; another follows after the delay. */
  | { kind: 'retry'; task: string; host: string; retriesLeft: number; msg?: string | undefined }
  | { kind: 'recap'; stats: Record<string, HostStats>; transport: Record<string, HostTransportStats>; durationMs: number };

export type RunEventKind = RunEvent['kind'];

/** A reporter must say what it does with each kind of event (zx's mapped-formatter idea). */
export type EventHandlers = { [K in RunEventKind]: (e: Extract<RunEvent, { kind: K }>) => void };

export interface Reporter {
  handle(e: RunEvent): void;
  /** Flushes output; called once at the end of the run. */
  close(): Promise<void>;
}

/** Builds a reporter from a handler per event kind. */
export function reporterOf(handlers: EventHandlers, close: () => Promise<void> = async () => {}): Reporter {
  return {
    handle: (e) => (handlers[e.kind] as (ev: RunEvent) => void)(e),
    close,
  };
}
