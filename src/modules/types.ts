import type { BigFile } from './controller-file.js';
import type { Vars } from '../vars/scope.js';

/** A module cannot do what its arguments ask (bad mode, unbalanced quotes...): the task fails. */
export class ModuleError extends Error {}

/** File attributes a task may want: octal mode string (or symbolic, resolved at plan time), owner, group. */
export interface Attrs {
  mode?: string | undefined;
  owner?: string | undefined;
  group?: string | undefined;
}

/**
 * One typed step the engine applies to a host. Modules only return these; they never run
 * anything themselves, so check mode is the plan without the apply.
 */
export type Change =
  | {
      kind: 'write';
      path: string;
      /** A big controller file is read in chunks when sent, never held whole. */
      content: Buffer | BigFile;
      /** Current content, for the diff; null: no regular file there yet; undefined: there is one, its content was not fetched (no diff asked). */
      before: Buffer | null | undefined;
      attrs: Attrs;
      /** `cmd %s` run on the temp file before it replaces the destination. */
      validate?: string | undefined;
      backup?: boolean | undefined;
    }
  | { kind: 'mkdir'; path: string; attrs: Attrs }
  | { kind: 'attrs'; path: string; attrs: Attrs; before: Attrs; recurse?: boolean; follow: boolean }
  | { kind: 'symlink'; path: string; target: string; before: string | null }
  | { kind: 'hardlink'; path: string; target: string }
  | { kind: 'remove'; path: string; before: 'file' | 'directory' | 'link' | 'other' }
  | { kind: 'touch'; path: string; attrs: Attrs; exists: boolean }
  | {
      kind: 'exec';
      /** Shell text built with the quoter. */
      script: string;
      /** What the user asked for, for messages (`command: ...`). */
      display: string;
      stdin?: string | undefined;
      /** Its effect cannot be known without running it (command, shell): skipped under --check. */
      opaque?: boolean | undefined;
      /** Applied, but does not make the task "changed" (systemd daemon_reload, as in Ansible). */
      quiet?: boolean | undefined;
      /** What it changes, for --diff (e.g. a user's crontab). */
      diff?: { path: string; before: string | null; after: string | null; hidden?: boolean } | undefined;
    };

/** A fact-gathering command and the pure parser of its output (pyinfra's facts). */
export interface Probe<T = unknown> {
  /** Shell text built with the quoter; read-only. */
  script: string;
  /** For file probes: the path, so that under --check an earlier task's planned change can stand in for it. */
  filePath?: string;
  /** A probe that a batch may ask together with others of its kind (all paths in one `stat`). */
  merge?: MergedQuery;
  parse(stdout: string, rc: number): T;
}

/**
 * Probes of one kind that a batch asks together, with one process for all their questions
 * instead of a process tree each: on a host with 60 files and 15 units, that is most of the
 * cost of a no-op run.
 */
export interface ProbeKind<Q> {
  /** Queries of kinds with the same id go in one script (user units apart from system ones). */
  id: string;
  script(queries: Q[]): string;
  /** Each query's answer, by `key`; throws when the answer does not parse. */
  parse(out: string, queries: Q[]): Map<string, unknown>;
  key(query: Q): string;
}

export interface MergedQuery<Q = unknown> {
  kind: ProbeKind<Q>;
  query: Q;
}

/** A probe of a mergeable kind; alone, it runs the kind's script for its one query. */
export function mergeableProbe<Q, T>(kind: ProbeKind<Q>, query: Q, extra: { filePath?: string } = {}): Probe<T> {
  return {
    script: kind.script([query]),
    ...extra,
    merge: { kind: kind as ProbeKind<unknown>, query },
    parse: (out) => kind.parse(out, [query]).get(kind.key(query)) as T,
  };
}

/** What a module's plan says: changes to apply, values to return, or why it fails. */
export interface Plan {
  changes: Change[];
  /** Module return values (merged into the registered result). */
  result?: Vars;
  /** Set when the desired state cannot be reached; the task fails with this message. */
  failed?: string;
  /** For modules that skip (e.g. command under check mode). */
  skipped?: string;
  /** A note for the log (e.g. why nothing changed). */
  msg?: string;
  /** Facts to set on the host (setup). */
  facts?: Vars;
}

/** What a module sees besides its arguments; nothing in here tells it about check mode. */
export interface ModuleContext {
  /** Reads a controller-side file (copy src, template src), resolved against the role and playbook. */
  readControllerFile(kind: 'files' | 'templates' | 'vars', path: string): { path: string; content: Buffer };
  /** The same file as content to send: a BigFile (checksums, read when sent) when it is big. */
  controllerContent(kind: 'files', path: string): { path: string; content: Buffer | BigFile };
  /** Renders a template file's text with the task's variables. */
  renderTemplate(source: string, file: string): string;
  /** Evaluates a condition with the task's variables (assert). */
  test(expression: string): boolean;
  /** The templated value of a variable (debug var=); throws if undefined. */
  lookupVar(name: string): unknown;
  /** Templates a value with the task's variables (for modules with raw arguments). */
  template(value: unknown): unknown;
  /** The task's variables as seen now, for modules that act on them (set_fact). */
  hostVars: () => Vars;
  /**
   * Whether the task's changes are shown as diffs (--diff or `diff: true`): only then is a
   * file's old content worth fetching when the module needs no more than its checksum.
   */
  showsDiff: boolean;
}

/** A module that changes a host: probe, then a pure plan, then the engine applies it. */
export interface HostModule<A> {
  kind: 'host';
  name: string;
  schema: object;
  /** Name of the argument a bare string goes into (`shell: echo hi`). */
  freeForm?: string;
  /** Other names Ansible accepts for an argument (`dest` for `path`). */
  aliases?: Record<string, string>;
  probe(args: A, ctx: ModuleContext): Record<string, Probe>;
  plan(args: A, facts: Record<string, unknown>, ctx: ModuleContext): Plan;
  /** Turns the apply's command output into return values (command, shell). */
  collect?(args: A, output: { rc: number; stdout: string; stderr: string }): { result: Vars; failed?: string };
}

/** What a controller-side action returns. */
export interface ActionResult {
  result?: Vars;
  failed?: string;
  changed?: boolean;
  /** Facts to set on the host (set_fact): final values. */
  facts?: Vars;
  /** Variables loaded for the host (include_vars): templated when used. */
  vars?: Vars;
  /** Engine control (meta). */
  meta?: 'flush_handlers' | 'noop' | 'end_play' | 'end_host' | 'clear_host_errors' | 'refresh_inventory';
  msg?: string;
  /** Show the result even without -v (debug). */
  show?: boolean;
}

/** A module that runs on the controller only (debug, set_fact, assert, meta...). */
export interface ActionModule<A> {
  kind: 'action';
  name: string;
  schema: object;
  freeForm?: string;
  aliases?: Record<string, string>;
  /** Arguments are not templated before the call (assert's `that`, set_fact's lazy values). */
  rawArgs?: boolean;
  run(args: A, ctx: ModuleContext): ActionResult;
}

export type Module<A = never> = HostModule<A> | ActionModule<A>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyModule = HostModule<any> | ActionModule<any>;

/** Lets each module file declare its argument type once and get the right checks. */
export function defineHostModule<A>(m: Omit<HostModule<A>, 'kind'>): HostModule<A> {
  return { kind: 'host', ...m };
}
export function defineAction<A>(m: Omit<ActionModule<A>, 'kind'>): ActionModule<A> {
  return { kind: 'action', ...m };
}
