import type { SourcePos } from '../errors.js';
import type { AnyModule } from '../modules/types.js';
import type { Vars } from '../vars/scope.js';

/** Keywords a task, block or include inherits from its parents unless it sets them itself. */
export interface Inherited {
  when: Array<string | boolean>;
  tags: string[];
  become?: boolean | undefined;
  becomeUser?: string | undefined;
  becomeMethod?: 'sudo' | 'su' | undefined;
  /** Block and include vars, lowest first; role vars are in `role`. */
  vars: Vars[];
  environment: Vars;
  ignoreErrors?: boolean | string | undefined;
  checkMode?: boolean | undefined;
  diff?: boolean | undefined;
  noLog?: boolean | string | undefined;
  /** run_once: the task runs on the batch's first host; its result is every host's. */
  runOnce?: boolean | string | undefined;
  /** delegate_to: the inventory name (a template) whose connection runs the task. */
  delegateTo?: string | undefined;
  /** delegate_facts: facts the task gathers or sets go to the delegated host. */
  delegateFacts?: boolean | string | undefined;
  /** remote_user keyword (play, block, task); ansible_user of the host wins over it. */
  remoteUser?: string | undefined;
  /** A block's `notify:`, for its tasks that name none. */
  notify?: string[] | undefined;
  role?: RoleInstance | undefined;
}

export interface LoopControl {
  loopVar: string;
  indexVar?: string | undefined;
  label?: string | undefined;
}

/** What tasks, blocks and includes share. */
interface NodeBase extends Inherited {
  name?: string | undefined;
  pos: SourcePos;
  /** The loaded YAML mapping, for positions of its keys. */
  source: Record<string, unknown>;
}

export interface Task extends NodeBase {
  kind: 'task';
  module: AnyModule;
  /** The key as written (`ansible.builtin.copy`). */
  moduleKey: string;
  args: Record<string, unknown>;
  loop?: unknown;
  /** Set for `with_<lookup>:` loops: the lookup plugin whose results are the items. */
  loopWith?: string | undefined;
  loopControl?: LoopControl | undefined;
  register?: string | undefined;
  notify: string[];
  changedWhen?: Array<string | boolean> | undefined;
  failedWhen?: Array<string | boolean> | undefined;
  /** Conditions that must all hold for the task to stop retrying (a list, as Ansible's). */
  until?: Array<string | boolean> | undefined;
  retries?: number | string | undefined;
  delay?: number | string | undefined;
  /** Handlers only: topics this handler also answers to. */
  listen: string[];
}

export interface Block extends NodeBase {
  kind: 'block';
  block: TaskNode[];
  rescue: TaskNode[];
  always: TaskNode[];
}

/** `include_tasks` / `include_role`: expanded per host at run time (may loop). */
export interface Include extends NodeBase {
  kind: 'include';
  what: 'tasks' | 'role';
  /** File or role name; may be a template. */
  target: string;
  /** Loaded at load time when `target` is not a template. */
  tasks?: TaskNode[] | undefined;
  /** For include_role: which tasks file (tasks_from). */
  tasksFrom?: string | undefined;
  loop?: unknown;
  loopWith?: string | undefined;
  loopControl?: LoopControl | undefined;
  /** Resolves `target` at run time; only used when it is templated. */
  load?: (target: string) => TaskNode[];
}

export type TaskNode = Task | Block | Include;

/** A handler: a task, or an include_tasks/include_role run when notified (import_tasks ones are flattened in). */
export type Handler = Task | Include;

export interface ArgumentSpec {
  options: Record<string, ArgumentOption>;
  pos: SourcePos;
}
export interface ArgumentOption {
  type?: string;
  required?: boolean;
  default?: unknown;
  choices?: unknown[];
  elements?: string;
  options?: Record<string, ArgumentOption>;
}

/** A role as loaded from disk, shared by every play that uses it. */
export interface Role {
  /** As written, or `namespace.collection.role` for a role of a collection. */
  name: string;
  path: string;
  /** Collections its plain role names resolve in: its meta `collections:`, then its own collection. */
  collections: string[];
  defaults: Vars;
  vars: Vars;
  phase?: number | undefined;
  /** Tasks files by name (`main`, and others for tasks_from), loaded lazily. */
  loadTasks(file: string, parent: Inherited, from?: SourcePos): TaskNode[];
  /** Handlers files by name (`main`, or another for handlers_from). */
  loadHandlers(parent: Inherited, file?: string): Handler[];
  dependencies: Array<{ spec: Record<string, unknown>; pos: SourcePos }>;
  argumentSpecs: Record<string, ArgumentSpec>;
  allowDuplicates: boolean;
}

/** A role applied in a play, with its parameters. */
export interface RoleInstance {
  role: Role;
  params: Vars;
  /** The role that pulled this one in as a dependency. */
  parent?: RoleInstance | undefined;
  /**
   * Other roles that depend on it but found it already in the play (it runs once): a phase
   * selection that picks any of them needs it too.
   */
  alsoNeededBy?: RoleInstance[];
  /** Its own phase, or the phase of the role that depends on it. */
  phase?: number | undefined;
  /** include_role/import_role's handlers_from. */
  handlersFrom?: string | undefined;
  pos: SourcePos;
}

export interface Play {
  name: string;
  hosts: string;
  pos: SourcePos;
  source: Record<string, unknown>;
  vars: Vars;
  /** `data`: a static file's variables, read once while loading; templated names are read per host. */
  varsFiles: Array<{ path: string; pos: SourcePos; data?: Record<string, unknown> }>;
  gatherFacts: boolean;
  serial?: Array<number | string> | undefined;
  anyErrorsFatal: boolean;
  maxFailPercentage?: number | undefined;
  connection?: string | undefined;
  /** The play's remote_user keyword (its tasks inherit it too). */
  remoteUser?: string | undefined;
  /** Sections run in order; handlers are flushed after each (as Ansible). */
  sections: TaskNode[][];
  handlers: Handler[];
  roles: RoleInstance[];
  /** The play's `collections:` keyword: where plain role names are looked for first. */
  collections: string[];
  forceHandlers: boolean;
  playbookDir: string;
}

export interface Playbook {
  path: string;
  plays: Play[];
}
