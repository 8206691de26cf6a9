import { dirname, resolve } from 'node:path';
import { ErrorSink, ExitCode, formatError, SenexError, ValidationError, ValidationErrors, sourceLine, type SourcePos } from '../errors.js';
import { findModule, moduleNames } from '../modules/index.js';
import { isLookup, lookupNames } from '../vars/lookups/index.js';
import type { AnyModule } from '../modules/types.js';
import { isTemplated } from '../vars/template-source.js';
import type { Templater } from '../vars/template.js';
import type { Vars } from '../vars/scope.js';
import type { Block, Include, Inherited, LoopControl, Role, RoleInstance, Task, TaskNode } from './model.js';
import { closest, didYouMean } from './suggest.js';
import { lineCol, unknownNames, type UnknownName } from './template-names.js';
import { validateSchema } from './validate.js';
import { keepPos, keepPosRenamed, loadYamlFile, posOf, setKeyPositions } from './yaml.js';

/** What task loading needs from its surroundings. */
export interface TaskLoadContext {
  sink: ErrorSink;
  templater: Templater;
  /** Finds and loads a role by name (for import_role/include_role). */
  findRole(name: string, pos: SourcePos, collections: readonly string[]): Role | undefined;
  /** Called for every role instance created inside tasks, so its handlers join the play. */
  onRoleInstance(instance: RoleInstance): void;
  /** Files being imported, to refuse import cycles. */
  importStack: string[];
}

const COMMON = ['name', 'when', 'tags', 'become', 'become_user', 'become_method', 'vars', 'environment', 'ignore_errors', 'check_mode', 'diff', 'no_log', 'any_errors_fatal', 'ignore_unreachable', 'debugger', 'collections', 'run_once', 'delegate_to', 'delegate_facts', 'remote_user'];
const TASK_KEYWORDS = new Set([...COMMON, 'loop', 'loop_control', 'with_items', 'with_list', 'register', 'notify', 'changed_when', 'failed_when', 'until', 'retries', 'delay', 'args', 'listen']);
const BLOCK_KEYWORDS = new Set([...COMMON, 'block', 'rescue', 'always', 'notify']);
const INCLUDE_KEYWORDS = new Set([...COMMON, 'loop', 'loop_control', 'with_items', 'with_list', 'args', 'apply', 'register']);
const INCLUDES = ['include_tasks', 'import_tasks', 'include_role', 'import_role', 'include'];
const UNSUPPORTED: Record<string, string> = {
  action: 'write the module name as the task key (e.g. `copy:`)',
  async: 'async tasks are not supported',
  poll: 'async tasks are not supported',
};

/** Command-style modules take these k=v words out of a free-form string (as Ansible). */
const FREE_FORM_KEYS: Record<string, string[]> = {
  _raw_params: ['creates', 'removes', 'chdir', 'executable', 'stdin', 'stdin_add_newline', 'strip_empty_ends'],
};

/** `with_<lookup>` keys: a loop over what the lookup plugin returns. */
const WITH = /^with_(.+)$/;

function lookupHint(name: string): string {
  const guess = closest(name, lookupNames());
  return guess ? `did you mean '${guess}'?` : `lookups senex-play has: ${lookupNames().sort().join(', ')}`;
}

/** A task keyword: one of `allowed`, or any `with_<lookup>` (checked when the loop is read). */
function isKeyword(key: string, allowed: Set<string>): boolean {
  return allowed.has(key) || WITH.test(key);
}

/**
 * The task's loop: `loop:`, or `with_<name>:` (the lookup `name`; with_items and with_list are
 * the items and list lookups). One at most; an unknown lookup is an error here, before the run.
 */
function loopOf(data: Record<string, unknown>): { loop?: unknown; loopWith?: string } {
  const keys = Object.keys(data).filter((k) => k === 'loop' || WITH.test(k));
  if (keys.length === 0) return {};
  if (keys.length > 1) {
    throw new ValidationError('E_LOOP', `one task has two loops: '${keys[0]}' and '${keys[1]}'`, { pos: posOf(data, keys[1], 'key'), hint: 'keep one of them' });
  }
  const key = keys[0]!;
  if (key === 'loop') return { loop: data.loop };
  const name = WITH.exec(key)![1]!;
  if (!isLookup(name)) {
    throw new ValidationError('E_UNKNOWN_LOOKUP', `unknown lookup plugin '${name}' in '${key}'`, { pos: posOf(data, key, 'key'), hint: lookupHint(name) });
  }
  return { loop: data[key], loopWith: name };
}

export function asList(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** `tags: a,b`, `tags: [a, b]` */
export function tagList(value: unknown): string[] {
  return asList(value).flatMap((t) => String(t).split(',')).map((t) => t.trim()).filter(Boolean);
}

/** `when:` as a list of conditions; `"{{ x }}"` is accepted as `x`, as Ansible does. */
export function conditions(value: unknown): Array<string | boolean> {
  return asList(value).map((c) => (typeof c === 'boolean' ? c : String(c).replace(/^\s*\{\{\s*([\s\S]*?)\s*\}\}\s*$/, '$1')));
}

/** `vars:` as a mapping, or (as Ansible also takes it) a list of mappings, later ones winning. */
export function varsLayer(value: unknown): Vars | undefined {
  if (Array.isArray(value)) return Object.assign({}, ...value.filter((v) => v && typeof v === 'object' && !Array.isArray(v))) as Vars;
  return value && typeof value === 'object' ? (value as Vars) : undefined;
}

function inherit(parent: Inherited, data: Record<string, unknown>): Inherited {
  const layer = varsLayer(data.vars);
  const vars = layer ? [...parent.vars, layer] : parent.vars;
  return {
    when: [...parent.when, ...conditions(data.when)],
    tags: [...new Set([...parent.tags, ...tagList(data.tags)])],
    become: (data.become as boolean | undefined) ?? parent.become,
    becomeUser: (data.become_user as string | undefined) ?? parent.becomeUser,
    becomeMethod: (data.become_method as 'sudo' | undefined) ?? parent.becomeMethod,
    vars,
    environment: { ...parent.environment, ...((data.environment as Vars | undefined) ?? {}) },
    ignoreErrors: (data.ignore_errors as boolean | undefined) ?? parent.ignoreErrors,
    checkMode: (data.check_mode as boolean | undefined) ?? parent.checkMode,
    diff: (data.diff as boolean | undefined) ?? parent.diff,
    noLog: (data.no_log as boolean | undefined) ?? parent.noLog,
    runOnce: (data.run_once as boolean | string | undefined) ?? parent.runOnce,
    delegateTo: (data.delegate_to as string | undefined) ?? parent.delegateTo,
    delegateFacts: (data.delegate_facts as boolean | string | undefined) ?? parent.delegateFacts,
    remoteUser: (data.remote_user as string | undefined) ?? parent.remoteUser,
    // A block's notify is its tasks' unless they name their own (Ansible's attribute inheritance).
    notify: data.notify !== undefined ? asList(data.notify).map(String) : parent.notify,
    role: parent.role,
  };
}

export const keywordSchema = {
  type: 'object',
  properties: {
    // `- name:` with nothing after it is a task without a name, as in Ansible.
    name: { type: ['string', 'null'] },
    when: { anyOf: [{ type: 'string' }, { type: 'boolean' }, { type: 'array', items: { type: ['string', 'boolean'] } }] },
    tags: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: ['string', 'number'] } }] },
    become: { type: ['boolean', 'string'] },
    become_user: { type: 'string' },
    become_method: { enum: ['sudo', 'su'] },
    vars: { anyOf: [{ type: 'object' }, { type: 'array', items: { type: 'object' } }] },
    environment: { type: 'object' },
    ignore_errors: { type: ['boolean', 'string'] },
    ignore_unreachable: { type: 'boolean' },
    check_mode: { type: ['boolean', 'string'] },
    diff: { type: ['boolean', 'string'] },
    no_log: { type: ['boolean', 'string'] },
    run_once: { type: ['boolean', 'string'] },
    delegate_to: { type: 'string' },
    delegate_facts: { type: ['boolean', 'string'] },
    remote_user: { type: 'string' },
    any_errors_fatal: { type: 'boolean' },
    register: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description: 'a variable name: letters, digits and _, not starting with a digit' },
    notify: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
    listen: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
    changed_when: { anyOf: [{ type: 'string' }, { type: 'boolean' }, { type: 'array', items: { type: ['string', 'boolean'] } }] },
    failed_when: { anyOf: [{ type: 'string' }, { type: 'boolean' }, { type: 'array', items: { type: ['string', 'boolean'] } }] },
    until: { anyOf: [{ type: 'string' }, { type: 'boolean' }, { type: 'array', items: { type: ['string', 'boolean'] } }] },
    retries: { type: ['integer', 'string'] },
    delay: { type: ['number', 'string'] },
    loop: { type: ['array', 'string'] },
    with_items: { type: ['array', 'string'] },
    with_list: { type: ['array', 'string'] },
    loop_control: {
      type: 'object',
      properties: { loop_var: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }, index_var: { type: 'string' }, label: { type: 'string' }, pause: { type: 'number' }, extended: { type: 'boolean' } },
      additionalProperties: false,
    },
    args: { type: 'object' },
    block: { type: 'array' },
    rescue: { type: 'array' },
    always: { type: 'array' },
  },
} as const;

export class TaskLoader {
  constructor(private readonly ctx: TaskLoadContext) {}

  /** Loads a list of tasks (a tasks file, a play section, a block body). */
  list(data: unknown, parent: Inherited, file: string, where: SourcePos, handlers = false): TaskNode[] {
    if (data === null || data === undefined) return [];
    if (!Array.isArray(data)) {
      this.ctx.sink.add(new ValidationError('E_TASKS', `expected a list of tasks in ${file}`, { pos: posOf(data) ?? where, hint: 'start each task with "- name: ..."' }));
      return [];
    }
    const out: TaskNode[] = [];
    data.forEach((item, i) => {
      const pos = posOf(data, i) ?? where;
      const node = this.ctx.sink.guard(() => this.node(item, parent, file, pos, handlers), undefined);
      if (node) out.push(node);
    });
    return out;
  }

  /** Loads a tasks file, relative paths against `baseDir`. */
  file(path: string, parent: Inherited, from: SourcePos | undefined, handlers = false): TaskNode[] {
    const abs = resolve(path);
    if (this.ctx.importStack.includes(abs)) {
      throw new ValidationError('E_CYCLE', `tasks file imports itself: ${[...this.ctx.importStack, abs].join(' -> ')}`, { pos: from });
    }
    const data = loadYamlFile(abs, {}, from);
    this.ctx.importStack.push(abs);
    try {
      return this.list(data, parent, abs, { file: abs, line: 1, col: 1 }, handlers);
    } finally {
      this.ctx.importStack.pop();
    }
  }

  private node(data: unknown, parent: Inherited, file: string, pos: SourcePos, handler: boolean): TaskNode {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw new ValidationError('E_TASK', `a task must be a mapping, not ${data === null ? 'empty' : Array.isArray(data) ? 'a list' : JSON.stringify(data)}`, {
        pos,
        hint: 'write a task as "- name: ...\\n  module: {args}"',
      });
    }
    const task = 'local_action' in data ? localAction(data as Record<string, unknown>) : (data as Record<string, unknown>);
    for (const key of Object.keys(task)) {
      if (UNSUPPORTED[key]) throw new ValidationError('E_UNSUPPORTED', `'${key}' is not supported`, { pos: posOf(task, key, 'key'), hint: UNSUPPORTED[key] });
    }
    this.checkTemplates(task);
    if ('block' in task) return this.block(task, parent, file, pos);
    const include = INCLUDES.find((k) => k in task || `ansible.builtin.${k}` in task);
    if (include) return this.include(task, include, parent, file, pos, handler);
    return this.task(task, parent, pos, handler);
  }

  private keywordErrors(task: Record<string, unknown>, allowed: Set<string>, what: string): void {
    const known = keepPos(Object.fromEntries(Object.entries(task).filter(([k]) => allowed.has(k))), task);
    const errors = validateSchema(keywordSchema, known, { what, skipTemplated: true, fallbackPos: posOf(task) });
    if (errors.length) throw new ValidationErrors(errors);
  }

  private block(data: Record<string, unknown>, parent: Inherited, file: string, pos: SourcePos): Block {
    rejectUnknownKeys(data, BLOCK_KEYWORDS, 'a block');
    this.keywordErrors(data, BLOCK_KEYWORDS, 'block');
    const inherited = inherit(parent, data);
    return {
      kind: 'block',
      ...inherited,
      name: (data.name ?? undefined) as string | undefined,
      pos,
      source: data,
      block: this.list(data.block, inherited, file, posOf(data, 'block') ?? pos),
      rescue: this.list(data.rescue, inherited, file, posOf(data, 'rescue') ?? pos),
      always: this.list(data.always, inherited, file, posOf(data, 'always') ?? pos),
    };
  }

  private task(data: Record<string, unknown>, parent: Inherited, pos: SourcePos, handler: boolean): Task {
    const candidates = Object.keys(data).filter((k) => !isKeyword(k, TASK_KEYWORDS));
    if (candidates.length === 0) {
      throw new ValidationError('E_NO_MODULE', `task${data.name ? ` '${data.name}'` : ''} names no module`, { pos, hint: `add one module, e.g. "copy: {src: ..., dest: ...}"` });
    }
    const modules = candidates.map((k) => ({ key: k, module: findModule(k) }));
    const unknown = modules.find((m) => !m.module);
    if (unknown) {
      const isKeyword = closest(unknown.key, TASK_KEYWORDS);
      const guess = closest(unknown.key, moduleNames());
      const hint = guess ? `did you mean '${guess}'?` : isKeyword ? `did you mean the task keyword '${isKeyword}'?` : `supported modules: ${moduleNames().sort().join(', ')}`;
      throw new ValidationError('E_UNKNOWN_MODULE', `unknown module '${unknown.key}'${modules.length > 1 ? ' (or an unknown task keyword)' : ''}`, { pos: posOf(data, unknown.key, 'key'), hint });
    }
    if (modules.length > 1) {
      throw new ValidationError('E_TWO_MODULES', `one task names two modules: '${modules[0]!.key}' and '${modules[1]!.key}'`, {
        pos: posOf(data, modules[1]!.key, 'key'),
        hint: 'split this into two tasks, one module each',
      });
    }
    if ('listen' in data && !handler) throw new ValidationError('E_UNKNOWN_KEY', `'listen' is only valid on handlers`, { pos: posOf(data, 'listen', 'key') });
    this.keywordErrors(data, TASK_KEYWORDS, 'task');
    const { key, module } = modules[0] as { key: string; module: AnyModule };
    const args = withAliases(module, moduleArgs(module, key, data));
    // Ansible never templates an argument's name: `"{{ which }}": value` fails there at run
    // time ("dest is required"); here it is an error before the run that says why.
    const templatedKey = Object.keys(args).find(isTemplated);
    if (templatedKey !== undefined) {
      throw new ValidationError('E_ARGS', `argument name '${templatedKey}' of '${key}' is a template; Ansible does not template argument names`, { pos: posOf(args, templatedKey, 'key') ?? posOf(data, key), hint: 'write the argument name as it is' });
    }
    // Values are converted to the module's types as Ansible does ('yes', '86400').
    const errors = validateSchema(module.schema, args, { what: `module '${module.name}'`, skipTemplated: true, coerce: true, fallbackPos: posOf(data, key) });
    if (errors.length) throw new ValidationErrors(errors);
    const inherited = inherit(parent, data);
    return {
      kind: 'task',
      ...inherited,
      name: (data.name ?? undefined) as string | undefined,
      pos,
      source: data,
      module,
      moduleKey: key,
      args,
      ...loopOf(data),
      loopControl: loopControl(data),
      register: data.register as string | undefined,
      notify: data.notify !== undefined ? asList(data.notify).map(String) : (parent.notify ?? []),
      changedWhen: data.changed_when === undefined ? undefined : conditions(data.changed_when),
      failedWhen: data.failed_when === undefined ? undefined : conditions(data.failed_when),
      until: data.until === undefined ? undefined : conditions(data.until),
      retries: data.retries as number | undefined,
      delay: data.delay as number | undefined,
      listen: asList(data.listen).map(String),
    };
  }

  private include(data: Record<string, unknown>, key: string, parent: Inherited, file: string, pos: SourcePos, handler = false): TaskNode {
    const written = key in data ? key : `ansible.builtin.${key}`;
    rejectUnknownKeys(data, new Set([...INCLUDE_KEYWORDS, written]), key, true);
    this.keywordErrors(data, INCLUDE_KEYWORDS, key);
    const looping = loopOf(data);
    // `include` (deprecated, gone after Ansible 2.15): `file.yml k=v...`, imported when the
    // name is fixed and it does not loop, else included at run time (as ansible-core 2.14).
    const legacy = key === 'include' ? legacyInclude(data[written], looping.loop !== undefined) : undefined;
    const isStatic = key.startsWith('import_') || legacy?.isStatic === true;
    if (isStatic && looping.loop !== undefined) {
      const loopKey = Object.keys(data).find((k) => k === 'loop' || WITH.test(k));
      throw new ValidationError('E_IMPORT_LOOP', `${key} cannot loop`, { pos: posOf(data, loopKey, 'key') ?? pos, hint: `use ${key.replace('import_', 'include_')} to loop` });
    }
    const value = legacy ? legacy.file : data[written];
    const argPos = posOf(data, written) ?? pos;
    const inherited = inherit(parent, data);
    if (legacy && Object.keys(legacy.vars).length) inherited.vars = [...inherited.vars, legacy.vars];
    const base = { ...inherited, name: (data.name ?? undefined) as string | undefined, pos, source: data };
    if (key.endsWith('_tasks') || legacy) {
      const target = typeof value === 'string' ? value : ((value as Record<string, unknown> | null)?.file as string | undefined);
      if (typeof target !== 'string' || !target) throw new ValidationError('E_MISSING', `${key} needs a file name`, { pos: argPos, hint: `${key}: other.yml` });
      // In a role, relative to its tasks/ (handlers/ for a handler), as Ansible's path_dwim_relative.
      const baseDir = inherited.role ? resolve(inherited.role.role.path, handler ? 'handlers' : 'tasks') : dirname(file);
      const load = (t: string): TaskNode[] => this.file(resolve(baseDir, t), inherited, argPos, handler);
      if (isStatic && isTemplated(target)) throw new ValidationError('E_IMPORT_TEMPLATE', `${key} needs a fixed file name, not a template`, { pos: argPos, hint: 'use include_tasks for a name computed at run time' });
      const tasks = isTemplated(target) ? undefined : load(target);
      if (isStatic) return { kind: 'block', ...base, block: tasks ?? [], rescue: [], always: [] };
      return { kind: 'include', ...base, what: 'tasks', target, tasks, ...looping, loopControl: loopControl(data), load: this.atRunTime(load) };
    }
    const spec = (typeof value === 'string' ? { name: value } : value) as Record<string, unknown> | null;
    if (!spec || typeof spec.name !== 'string') throw new ValidationError('E_MISSING', `${key} needs a role name`, { pos: argPos, hint: `${key}:\n  name: myrole` });
    rejectUnknownKeys(spec, new Set(['name', 'tasks_from', 'vars_from', 'defaults_from', 'handlers_from', 'public', 'apply', 'allow_duplicates']), key);
    const tasksFrom = (spec.tasks_from as string | undefined) ?? 'main';
    const load = (name: string): TaskNode[] => {
      const role = this.ctx.findRole(name, argPos, inherited.role?.role.collections ?? []);
      if (!role) return [];
      const instance: RoleInstance = { role, params: {}, pos: argPos, parent: parent.role, phase: role.phase ?? parent.role?.phase, handlersFrom: spec.handlers_from as string | undefined };
      this.ctx.onRoleInstance(instance);
      return role.loadTasks(tasksFrom, { ...inherited, role: instance }, argPos);
    };
    if (isStatic && isTemplated(spec.name)) throw new ValidationError('E_IMPORT_TEMPLATE', `${key} needs a fixed role name`, { pos: argPos, hint: 'use include_role for a name computed at run time' });
    const tasks = isTemplated(spec.name) ? undefined : load(spec.name);
    if (isStatic) return { kind: 'block', ...base, block: tasks ?? [], rescue: [], always: [] };
    return { kind: 'include', ...base, what: 'role', target: spec.name, tasksFrom, tasks, ...looping, loopControl: loopControl(data), load: this.atRunTime(load) };
  }

  /**
   * A loader for a file whose name is known only at run time. Loading collects errors in the
   * sink, which nobody reads once the run started: a bad task would just be left out. Here
   * they are thrown instead, so the include fails that host with each error's file:line:col.
   */
  private atRunTime(load: (name: string) => TaskNode[]): (name: string) => TaskNode[] {
    return (name) => {
      const before = this.ctx.sink.errors.length;
      let tasks: TaskNode[] = [];
      try {
        tasks = load(name);
      } catch (e) {
        this.ctx.sink.add(e); // a YAML error, a missing file: with the others, below
      }
      const errors = this.ctx.sink.errors.splice(before);
      if (errors.length > 0) throw new SenexError('E_INCLUDE', `'${name}' is invalid; none of its tasks ran:\n${errors.map(formatError).join('\n')}`, {}, ExitCode.hostFailed);
      return tasks;
    };
  }

  /**
   * Every string in the task that is a template must at least parse, and name only filters,
   * tests and lookups senex-play has; conditions (`when:`...) are expressions already.
   */
  private checkTemplates(value: unknown, parent?: unknown, key?: string | number): void {
    if (parent === undefined && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const task = value as Record<string, unknown>;
      for (const k of CONDITION_KEYS) {
        const v = task[k];
        if (typeof v === 'string') checkNames(v.replace(/^\s*\{\{([\s\S]*)\}\}\s*$/, '$1'), true, task, k);
        else if (Array.isArray(v)) v.forEach((c, i) => typeof c === 'string' && checkNames(c, true, v, i));
      }
    }
    if (typeof value === 'string') {
      if (!isTemplated(value)) return;
      const err = this.ctx.templater.check(value, { playbookValue: true });
      if (err) throw new ValidationError('E_TEMPLATE', err.message, { pos: templatePos(posOf(parent, key), err.line, err.col), hint: 'fix the Jinja2 syntax of this value' });
      checkNames(value, false, parent, key);
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => this.checkTemplates(v, value, i));
    } else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) this.checkTemplates(v, value, k);
    }
  }
}

const CONDITION_KEYS = ['when', 'changed_when', 'failed_when', 'until'];

const KIND_HINT: Record<Exclude<UnknownName['kind'], 'lookup'>, () => string> = {
  filter: () => 'check the spelling; senex-play implements the Jinja2 filters and the Ansible filters listed in README',
  test: () => 'check the spelling; senex-play implements the Jinja2 tests and the Ansible tests listed in README',
};

/** An unknown filter, test or lookup in a template is an error at its position, before the run. */
function checkNames(source: string, bare: boolean, parent: unknown, key: string | number | undefined): void {
  const [first] = unknownNames(source, bare);
  if (!first) return;
  const { line, col } = lineCol(source, first.offset);
  const hint = first.kind === 'lookup' ? lookupHint(first.name) : KIND_HINT[first.kind]();
  throw new ValidationError(`E_UNKNOWN_${first.kind.toUpperCase()}`, `unknown ${first.kind} '${first.name}'`, { pos: templatePos(posOf(parent, key), line, col), hint });
}

/**
 * `local_action: module k=v` (or a mapping with `module:`) is the task `module: k=v` with
 * `delegate_to: localhost`, as Ansible's ModArgsParser reads it.
 */
function localAction(task: Record<string, unknown>): Record<string, unknown> {
  const value = task.local_action;
  const pos = posOf(task, 'local_action');
  let module: string | undefined;
  let args: unknown;
  if (typeof value === 'string') {
    const m = /^\s*(\S+)\s*([\s\S]*)$/.exec(value);
    module = m?.[1];
    args = m?.[2] ? m[2] : null;
  } else if (value && typeof value === 'object' && !Array.isArray(value) && typeof (value as Record<string, unknown>).module === 'string') {
    const { module: name, ...rest } = value as Record<string, unknown>;
    module = name as string;
    args = keepPos(rest, value);
  }
  if (!module) throw new ValidationError('E_ARGS', `local_action needs a module`, { pos, hint: 'local_action: command echo hi  (or a mapping with module: ...)' });
  if ('delegate_to' in task) throw new ValidationError('E_ARGS', `local_action and delegate_to in one task`, { pos: posOf(task, 'delegate_to', 'key'), hint: 'local_action already runs on localhost; drop delegate_to' });
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(task)) {
    if (k === 'local_action') {
      out[module] = args;
      out.delegate_to = 'localhost';
    } else out[k] = v;
  }
  return keepPosRenamed(out, task, { local_action: module });
}

/** `include: file.yml a=1`: the file, the k=v variables, and whether it is imported (static). */
function legacyInclude(value: unknown, loops: boolean): { file: unknown; vars: Vars; isStatic: boolean } {
  if (typeof value !== 'string') return { file: value, vars: {}, isStatic: false };
  const { args, rest } = pullKeyValues(value, null);
  return { file: rest, vars: args, isStatic: !loops && !isTemplated(rest) };
}

/** The first key not in `allowed` is an error pointing at it, with the closest allowed key. */
function rejectUnknownKeys(data: Record<string, unknown>, allowed: Set<string>, what: string, loops = false): void {
  const unknown = Object.keys(data).find((k) => !(loops ? isKeyword(k, allowed) : allowed.has(k)));
  if (unknown !== undefined) {
    throw new ValidationError('E_UNKNOWN_KEY', `unknown key '${unknown}' in ${what}`, { pos: posOf(data, unknown, 'key'), hint: didYouMean(unknown, allowed) });
  }
}

/** Position of a template error: the YAML value's position moved by the error's line/col. */
export function templatePos(valuePos: SourcePos | undefined, line?: number, col?: number): SourcePos | undefined {
  if (!valuePos || line === undefined) return valuePos;
  if (line > 1) return { file: valuePos.file, line: valuePos.line + line - 1, col: col ?? 1 };
  const text = sourceLine(valuePos.file, valuePos.line) ?? '';
  const quoted = text[valuePos.col - 1] === '"' || text[valuePos.col - 1] === "'" ? 1 : 0;
  return { ...valuePos, col: valuePos.col + quoted + (col ?? 1) - 1 };
}

function loopControl(data: Record<string, unknown>): LoopControl | undefined {
  const lc = data.loop_control as Record<string, unknown> | undefined;
  if (!lc) return undefined;
  return { loopVar: (lc.loop_var as string | undefined) ?? 'item', indexVar: lc.index_var as string | undefined, label: lc.label as string | undefined };
}

/** The module's arguments: a mapping, a free-form string, or `k=v` words; merged with `args:`. */
function moduleArgs(module: AnyModule, key: string, data: Record<string, unknown>): Record<string, unknown> {
  const value = data[key];
  const extra = (data.args as Record<string, unknown> | undefined) ?? {};
  if (value === null || value === undefined) return { ...extra };
  if (typeof value === 'object' && !Array.isArray(value)) return keepPos({ ...(value as Record<string, unknown>), ...extra }, value);
  if (typeof value !== 'string') {
    throw new ValidationError('E_ARGS', `arguments of '${key}' must be a mapping${module.freeForm ? ' or a string' : ''}, not ${Array.isArray(value) ? 'a list' : typeof value}`, { pos: posOf(data, key) });
  }
  if (module.freeForm) {
    const pulled = pullKeyValues(value, FREE_FORM_KEYS[module.freeForm] ?? []);
    return { ...pulled.args, ...(pulled.rest ? { [module.freeForm]: pulled.rest } : {}), ...extra };
  }
  const parsed = pullKeyValues(value, null);
  if (parsed.rest) {
    throw new ValidationError('E_ARGS', `'${key}' takes key=value arguments; cannot read '${parsed.rest}'`, { pos: posOf(data, key), hint: `write the arguments as a mapping under '${key}:'` });
  }
  const args = { ...parsed.args, ...extra };
  // Each k=v word's own line:col, so a wrong value is pointed at where it is written.
  const at = posOf(data, key);
  if (at && !value.includes('\n')) {
    const keys = Object.fromEntries(Object.entries(parsed.offsets).map(([k, off]) => [k, templatePos(at, 1, off + 1)!]));
    setKeyPositions(args, at, keys);
  }
  return args;
}

/** Renames Ansible's alternative argument names (`dest` -> `path`), keeping positions. */
function withAliases(module: AnyModule, args: Record<string, unknown>): Record<string, unknown> {
  if (!module.aliases) return args;
  const hasAlias = Object.keys(args).some((k) => module.aliases![k] !== undefined && !(module.aliases![k]! in args));
  if (!hasAlias) return args;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) {
    const target = module.aliases[k];
    out[target !== undefined && !(target in args) ? target : k] = v;
  }
  return keepPosRenamed(out, args, module.aliases);
}

/** Ansible's parse_kv: `k=v` words (quotes allowed) out of a string; `keys` limits which. */
function pullKeyValues(text: string, keys: string[] | null): { args: Record<string, string>; rest: string; offsets: Record<string, number> } {
  const args: Record<string, string> = {};
  const offsets: Record<string, number> = {};
  const rest: string[] = [];
  for (const { word, start } of splitArgs(text)) {
    // As parse_kv: escapes (`\n`, `\u00e9`) are decoded in k=v words; raw words keep theirs.
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$/.exec(decodeEscapes(word));
    if (m && (keys === null || keys.includes(m[1]!))) {
      args[m[1]!] = m[2]!.replace(/^(["'])([\s\S]*)\1$/, '$2');
      offsets[m[1]!] = start;
    } else rest.push(word);
  }
  // Free-form text keeps its own spacing, minus the words taken out.
  if (keys !== null && Object.keys(args).length === 0) return { args, rest: text, offsets };
  return { args, rest: rest.join(' '), offsets };
}

const SIMPLE_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"' };

/** Ansible's _decode_escapes: Python's escape sequences, as `unicode-escape` reads them. */
function decodeEscapes(text: string): string {
  return text.replace(/\\(U[0-9a-fA-F]{8}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|[0-7]{1,3}|[\\'"abfnrtv])/g, (_, e: string) => {
    if (/^[Uux]/.test(e)) return String.fromCodePoint(parseInt(e.slice(1), 16));
    if (/^[0-7]/.test(e)) return String.fromCodePoint(parseInt(e, 8));
    return SIMPLE_ESCAPES[e]!;
  });
}

/**
 * Ansible's split_args: words split at white space, except inside quotes and inside
 * `{{ }}`, `{% %}` and `{# #}`, so `dest={{ root }}/x` is one word as Ansible reads it.
 */
export function splitArgs(text: string): Array<{ word: string; start: number }> {
  const words: Array<{ word: string; start: number }> = [];
  let word = '';
  let start = 0;
  let quote: string | undefined;
  const open: string[] = [];
  const CLOSE: Record<string, string> = { '{{': '}}', '{%': '%}', '{#': '#}' };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const two = text.slice(i, i + 2);
    if (word === '') start = i;
    if (quote === undefined && CLOSE[two]) {
      open.push(CLOSE[two]!);
      word += two;
      i++;
    } else if (quote === undefined && open.length && two === open[open.length - 1]) {
      open.pop();
      word += two;
      i++;
    } else if (quote !== undefined) {
      word += c;
      if (c === '\\' && quote === '"' && i + 1 < text.length) word += text[++i];
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") {
      quote = c;
      word += c;
    } else if (/\s/.test(c) && open.length === 0) {
      if (word) words.push({ word, start });
      word = '';
    } else word += c;
  }
  if (word) words.push({ word, start });
  return words;
}
