import type { Inventory } from '../inventory/inventory.js';
import type { FileFacts } from '../modules/facts/file.js';
import { emptyHostStats, type HostStats } from '../output/events.js';
import type { Transport } from '../transport/types.js';
import { markFinal, type Vars } from '../vars/scope.js';

const LOOK_AHEAD_START = 4;

export type HostState = 'active' | 'failed' | 'unreachable' | 'ended';

/** One host's progress through a run: its facts, notifications, status and counters. */
export class HostRun {
  state: HostState = 'active';
  /** set_fact, register and gathered facts (the "host facts" level): final values, never templated. */
  readonly facts: Vars = markFinal({});
  /** include_vars: same level, but templated on use like any variable file. */
  readonly includedVars: Vars = {};
  /**
   * Probe results since the last change applied to this host, by user, module and script.
   * A change applied (or, under --check, planned) drops what it could have reached
   * (forgetProbes). Under --check, files a
   * planned change would touch are answered from plannedFiles first.
   */
  readonly probeCache = new Map<string, unknown>();
  /** Time spent waiting for probe answers and for changes to be applied (--stats). */
  readonly timing = { probeMs: 0, applyMs: 0 };
  /** How many tasks ahead the next look-ahead probes (see prefetch.ts). */
  lookAheadWindow = LOOK_AHEAD_START;
  /** Handler names and listen topics notified since the last flush. */
  readonly notified = new Set<string>();
  readonly stats: HostStats = emptyHostStats();
  /** Under --check: the state files would have after the changes planned so far. */
  readonly plannedFiles = new Map<string, FileFacts>();
  /**
   * Who the connection logs in as and how, once known (set by the run for connections it
   * makes): become compares its user with this one.
   */
  login?: { user: string | undefined; connection: string };
  /** Why the host failed or became unreachable. */
  error?: string;
  private transport?: Promise<Transport>;
  private isConnected = false;

  constructor(
    readonly name: string,
    readonly inventory: Inventory,
    private readonly connect: (host: HostRun) => Promise<Transport>,
  ) {}

  get active(): boolean {
    return this.state === 'active';
  }

  /** The host's connection, opened on first use and reused for the whole run. */
  connection(): Promise<Transport> {
    if (!this.transport) {
      this.transport = this.connect(this);
      this.transport.then(
        () => (this.isConnected = true),
        () => {
          this.transport = undefined;
        },
      );
    }
    return this.transport;
  }

  /** The connection was made (and not closed since). */
  get connected(): boolean {
    return this.isConnected && this.transport !== undefined;
  }

  /** The open connection, if any (for stats and closing). */
  async openConnection(): Promise<Transport | undefined> {
    return this.transport?.catch(() => undefined);
  }

  /** Waits for `work`, adding the time it took to `timing[what]`. */
  async timed<T>(what: keyof HostRun['timing'], work: Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work;
    } finally {
      this.timing[what] += performance.now() - started;
    }
  }

  /**
   * Something changed on the host. With `touched` (the paths it changed, by their resolved
   * names), a file probe's answer that none of them can reach stays, and every other answer
   * goes: a unit's state, a package, a query may depend on any file. Without it (a command
   * ran, attributes that a hard link would share), every answer may be stale.
   */
  forgetProbes(touched?: TouchedPath[]): void {
    if (touched === undefined) this.probeCache.clear();
    else for (const [key, answer] of this.probeCache) if (!untouchedFile(answer, touched)) this.probeCache.delete(key);
    this.lookAheadWindow = LOOK_AHEAD_START;
  }

  async close(): Promise<void> {
    const t = await this.openConnection();
    this.transport = undefined;
    this.isConnected = false;
    await t?.close();
  }
}

/**
 * A path a change reached, by one of its resolved names (FileFacts.aliases). Its directories
 * changed too (an entry, an mtime; a new directory's missing parents were created), and so
 * did what lies below it, except after creating a directory, which had nothing below it.
 */
export interface TouchedPath {
  name: string;
  below: boolean;
}

/** A file probe's answer that none of the touched paths can have reached. */
function untouchedFile(answer: unknown, touched: TouchedPath[]): boolean {
  const names = (answer as FileFacts | undefined)?.aliases;
  return Array.isArray(names) && names.every((n) => touched.every((t) => !reaches(t, n)));
}

/** Whether a change at `t` can have changed what a probe of `probed` saw. */
export function reaches(t: TouchedPath, probed: string): boolean {
  const within = (inner: string, outer: string) => inner !== outer && (outer === '/' || inner.startsWith(`${outer}/`));
  return probed === t.name || within(t.name, probed) || (t.below && within(probed, t.name));
}
