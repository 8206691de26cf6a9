import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ErrorSink, ValidationError, ValidationErrors, type SourcePos } from '../errors.js';
import { isTemplated } from '../vars/template-source.js';
import type { Templater } from '../vars/template.js';
import type { Vars } from '../vars/scope.js';
import type { Handler, Inherited, Play, Playbook, RoleInstance, TaskNode } from './model.js';
import { handlerNodes, RoleLoader } from './role.js';
import { didYouMean } from './suggest.js';
import { asList, conditions, tagList, TaskLoader, varsLayer } from './task.js';
import { validateSchema } from './validate.js';
import { loadVarsFile, loadYamlFile, posOf } from './yaml.js';

const taskList = { type: 'array' } as const;
export const playSchema = {
  type: 'object',
  properties: {
    name: { type: ['string', 'null'] },
    hosts: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string' }, minItems: 1 }] },
    vars: { anyOf: [{ type: 'object' }, { type: 'array', items: { type: 'object' } }] },
    vars_files: { anyOf: [{ type: 'string' }, { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] } }] },
    roles: { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'object' }] } },
    pre_tasks: taskList,
    tasks: taskList,
    post_tasks: taskList,
    handlers: taskList,
    become: { type: 'boolean' },
    become_user: { type: 'string' },
    become_method: { enum: ['sudo', 'su'] },
    gather_facts: { type: 'boolean' },
    tags: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: ['string', 'number'] } }] },
    serial: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string', pattern: '^\\d+%?$' }, { type: 'array', items: { type: ['integer', 'string'] } }] },
    any_errors_fatal: { type: 'boolean' },
    max_fail_percentage: { type: 'number', minimum: 0, maximum: 100 },
    connection: { enum: ['local', 'ssh', 'smart', 'paramiko'] },
    environment: { type: 'object' },
    ignore_errors: { type: 'boolean' },
    check_mode: { type: 'boolean' },
    diff: { type: 'boolean' },
    no_log: { type: 'boolean' },
    strategy: { enum: ['linear'] },
    force_handlers: { type: 'boolean' },
    remote_user: { type: 'string' },
    collections: { type: 'array' },
  },
  required: ['hosts'],
  additionalProperties: false,
} as const;

const ROLE_ENTRY_KEYS = ['role', 'name', 'when', 'tags', 'vars', 'become', 'become_user', 'become_method', 'environment'];

export interface PlaybookLoadOptions {
  templater: Templater;
  /** Extra directories to find roles in (roles_path: after the playbook's roles/ and ../roles/). */
  rolesPath?: string[];
  /** collections_path: directories holding ansible_collections/ (after the playbook's collections/). */
  collectionsPath?: string[];
}

/** Loads and validates a whole playbook; all errors are thrown together, nothing has run. */
export function loadPlaybook(path: string, opts: PlaybookLoadOptions): Playbook {
  const sink = new ErrorSink();
  const file = resolve(path);
  const dir = dirname(file);
  // As Ansible: roles/ beside the playbook, roles_path, then the playbook's directory itself.
  const roles = new RoleLoader([resolve(dir, 'roles'), resolve(dir, '..', 'roles'), ...(opts.rolesPath ?? []), dir], sink, [resolve(dir, 'collections'), ...(opts.collectionsPath ?? [])]);
  let roleInstances: RoleInstance[] = [];
  // The `collections:` of the play being loaded, for roles named inside its tasks.
  const playCollections: string[] = [];
  const tasks = new TaskLoader({
    sink,
    templater: opts.templater,
    findRole: (name, pos, collections) => roles.find(name, pos, [...collections, ...playCollections]),
    onRoleInstance: (i) => roleInstances.push(i),
    importStack: [],
  });
  roles.taskLoader = tasks;
  const plays: Play[] = [];
  const loadFile = (playbookFile: string, from: SourcePos | undefined, stack: string[]): void => {
    if (stack.includes(playbookFile)) {
      sink.add(new ValidationError('E_CYCLE', `playbook imports itself: ${[...stack, playbookFile].join(' -> ')}`, { pos: from }));
      return;
    }
    const data = sink.guard(() => loadYamlFile(playbookFile, {}, from), null);
    if (data === null) {
      if (!sink.errors.length) sink.add(new ValidationError('E_PLAYBOOK', `playbook ${playbookFile} is empty`, { pos: from ?? { file: playbookFile, line: 1, col: 1 } }));
      return;
    }
    if (!Array.isArray(data)) {
      sink.add(new ValidationError('E_PLAYBOOK', 'a playbook must be a list of plays', { pos: posOf(data) ?? { file: playbookFile, line: 1, col: 1 }, hint: 'start each play with "- hosts: ..."' }));
      return;
    }
    data.forEach((entry, i) => {
      const pos = posOf(data, i) ?? { file: playbookFile, line: 1, col: 1 };
      if (entry && typeof entry === 'object' && 'import_playbook' in entry) {
        const target = resolve(dirname(playbookFile), String((entry as Record<string, unknown>).import_playbook));
        loadFile(target, posOf(entry, 'import_playbook'), [...stack, playbookFile]);
        return;
      }
      roleInstances = [];
      const listed = entry && typeof entry === 'object' && Array.isArray((entry as Record<string, unknown>).collections) ? ((entry as Record<string, unknown>).collections as unknown[]).map(String) : [];
      playCollections.splice(0, playCollections.length, ...listed);
      const play = sink.guard(() => loadPlay(entry, pos, dirname(playbookFile), { sink, tasks, roles, instances: () => roleInstances, collections: listed }), undefined);
      if (play) plays.push(play);
    });
  };
  loadFile(file, undefined, []);
  sink.throwIfAny();
  return { path: file, plays };
}

interface PlayLoadContext {
  sink: ErrorSink;
  tasks: TaskLoader;
  roles: RoleLoader;
  instances: () => RoleInstance[];
  /** The play's `collections:`. */
  collections: string[];
}

function loadPlay(data: unknown, pos: SourcePos, playbookDir: string, ctx: PlayLoadContext): Play {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new ValidationError('E_PLAY', 'a play must be a mapping', { pos, hint: 'start the play with "- hosts: all"' });
  }
  const play = data as Record<string, unknown>;
  if ('tasks' in play === false && 'hosts' in play === false && ('name' in play || 'copy' in play)) {
    throw new ValidationError('E_PLAY', 'this looks like a task, but a playbook holds plays', { pos, hint: 'wrap tasks in a play: "- hosts: all\\n  tasks:\\n    - ..."' });
  }
  const errors = validateSchema(playSchema, play, { what: 'play', fallbackPos: pos });
  if (errors.length) throw new ValidationErrors(errors);
  const base: Inherited = {
    when: [],
    tags: tagList(play.tags),
    become: play.become as boolean | undefined,
    becomeUser: play.become_user as string | undefined,
    becomeMethod: play.become_method as 'sudo' | undefined,
    vars: [],
    environment: (play.environment as Vars | undefined) ?? {},
    ignoreErrors: play.ignore_errors as boolean | undefined,
    checkMode: play.check_mode as boolean | undefined,
    diff: play.diff as boolean | undefined,
    noLog: play.no_log as boolean | undefined,
    remoteUser: play.remote_user as string | undefined,
  };
  const section = (key: string): TaskNode[] => ctx.tasks.list(play[key], base, pos.file, posOf(play, key) ?? pos);
  const preTasks = section('pre_tasks');
  const roleNodes = expandRoles(play, base, pos, ctx);
  const mainTasks = section('tasks');
  const postTasks = section('post_tasks');
  // Flushed in this order: the play's own handlers, then the roles' (as ansible-core 2.14 does).
  const handlers = [
    ...handlerNodes(ctx.tasks.list(play.handlers, base, pos.file, posOf(play, 'handlers') ?? pos, true)),
    ...ctx.instances().flatMap((i) => i.role.loadHandlers({ ...base, role: i }, i.handlersFrom)),
  ];
  checkNotify([...preTasks, ...roleNodes, ...mainTasks, ...postTasks, ...handlers], handlers, ctx.sink);
  return {
    name: (play.name as string | null | undefined) ?? asList(play.hosts).join(','),
    hosts: asList(play.hosts).join(','),
    pos,
    source: play,
    vars: varsLayer(play.vars) ?? {},
    varsFiles: varsFiles(play, playbookDir, pos, ctx.sink),
    gatherFacts: (play.gather_facts as boolean | undefined) ?? true,
    serial: play.serial === undefined ? undefined : (asList(play.serial) as Array<number | string>),
    anyErrorsFatal: play.any_errors_fatal === true,
    maxFailPercentage: play.max_fail_percentage as number | undefined,
    connection: play.connection as string | undefined,
    remoteUser: play.remote_user as string | undefined,
    sections: [preTasks, [...roleNodes, ...mainTasks], postTasks],
    handlers,
    roles: ctx.instances(),
    collections: ctx.collections,
    forceHandlers: play.force_handlers === true,
    playbookDir,
  };
}

/** Every `notify:` must name a handler (or a `listen` topic) of the play. */
function checkNotify(nodes: TaskNode[], handlers: Handler[], sink: ErrorSink): void {
  const known = new Set(handlers.flatMap((h) => [h.name, ...(h.kind === 'task' ? h.listen : [])].filter((n): n is string => n !== undefined)));
  const visit = (n: TaskNode): void => {
    if (n.kind === 'block') [...n.block, ...n.rescue, ...n.always].forEach(visit);
    else if (n.kind === 'include') n.tasks?.forEach(visit);
    else
      n.notify.forEach((name, i) => {
        if (known.has(name) || isTemplated(name)) return;
        const list = n.source.notify;
        const pos = Array.isArray(list) ? posOf(list, i) : posOf(n.source, 'notify');
        sink.add(new ValidationError('E_HANDLER', `notify names a handler that does not exist: '${name}'`, { pos, hint: didYouMean(name, known, 'handlers') }));
      });
  };
  nodes.forEach(visit);
}

function varsFiles(play: Record<string, unknown>, dir: string, pos: SourcePos, sink: ErrorSink): Play['varsFiles'] {
  const list = asList(play.vars_files);
  const out: Play['varsFiles'] = [];
  list.forEach((entry, i) => {
    const at = posOf(list, i) ?? posOf(play, 'vars_files') ?? pos;
    const candidates = asList(entry).map(String);
    if (candidates.some(isTemplated)) {
      out.push({ path: candidates[0]!, pos: at });
      return;
    }
    const found = candidates.map((c) => resolve(dir, c)).find((p) => existsSync(p));
    if (!found) sink.add(new ValidationError('E_FILE', `vars file not found: ${candidates.join(' or ')}`, { pos: at, hint: `paths are relative to the playbook directory ${dir}` }));
    else {
      // Read now, so a broken or undecryptable vars file stops the run before any host.
      out.push({ path: found, pos: at, data: sink.guard(() => loadVarsFile(found, at), {}) });
    }
  });
  return out;
}

/** The play's `roles:` with their dependencies first, each role instance once (unless params differ). */
function expandRoles(play: Record<string, unknown>, base: Inherited, pos: SourcePos, ctx: PlayLoadContext): TaskNode[] {
  const entries = asList(play.roles);
  const seen = new Map<string, RoleInstance>();
  const nodes: TaskNode[] = [];
  const add = (spec: Record<string, unknown>, at: SourcePos, parent: RoleInstance | undefined, parentInherited: Inherited, stack: string[]): void => {
    const name = (spec.role ?? spec.name) as string | undefined;
    if (typeof name !== 'string' || !name) {
      ctx.sink.add(new ValidationError('E_ROLE', 'a role entry needs a role name', { pos: at, hint: 'write "- role: name" or "- name"' }));
      return;
    }
    const role = ctx.roles.find(name, posOf(spec, 'role') ?? posOf(spec, 'name') ?? at, [...(parent?.role.collections ?? []), ...ctx.collections]);
    if (!role) return;
    if (stack.includes(role.path)) {
      ctx.sink.add(new ValidationError('E_CYCLE', `circular role dependency: ${[...stack.map((p) => p.split('/').pop()), name].join(' -> ')}`, { pos: at, hint: 'remove one of these dependencies from meta/main.yml' }));
      return;
    }
    const params: Vars = { ...(varsLayer(spec.vars) ?? {}) };
    for (const [k, v] of Object.entries(spec)) if (!ROLE_ENTRY_KEYS.includes(k)) params[k] = v;
    const instance: RoleInstance = { role, params, parent, pos: at, phase: role.phase ?? parent?.phase };
    const inherited: Inherited = {
      ...parentInherited,
      when: [...parentInherited.when, ...conditions(spec.when)],
      tags: [...new Set([...parentInherited.tags, ...tagList(spec.tags)])],
      become: (spec.become as boolean | undefined) ?? parentInherited.become,
      becomeUser: (spec.become_user as string | undefined) ?? parentInherited.becomeUser,
      environment: { ...parentInherited.environment, ...((spec.environment as Vars | undefined) ?? {}) },
      role: instance,
    };
    for (const dep of role.dependencies) add(dep.spec, dep.pos, instance, inherited, [...stack, role.path]);
    const key = `${role.path}|${JSON.stringify(params)}`;
    const first = seen.get(key);
    if (first && !role.allowDuplicates) {
      if (parent) (first.alsoNeededBy ??= []).push(parent);
      return;
    }
    seen.set(key, instance);
    ctx.instances().push(instance);
    nodes.push({ kind: 'block', ...inherited, pos: at, source: spec, block: role.loadTasks('main', inherited, at), rescue: [], always: [] });
  };
  entries.forEach((entry, i) => {
    const at = posOf(entries, i) ?? pos;
    const spec = typeof entry === 'string' ? { role: entry } : (entry as Record<string, unknown>);
    for (const k of Object.keys(spec)) {
      if (!ROLE_ENTRY_KEYS.includes(k) && /^(tag|when|var|becom)/.test(k)) {
        ctx.sink.add(new ValidationError('E_UNKNOWN_KEY', `unknown key '${k}' in a role entry`, { pos: posOf(spec, k, 'key'), hint: didYouMean(k, ROLE_ENTRY_KEYS) }));
      }
    }
    add(spec, at, undefined, base, []);
  });
  return nodes;
}
