import { createHash } from 'node:crypto';
import { registerSecret } from '../vault/redact.js';
import { readMaybeVaulted } from '../vault/keyring.js';
import { readFileSync, existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { formatPos, SenexError } from '../errors.js';
import type { Task } from '../load/model.js';
import { templatePos } from '../load/task.js';
import { validateSchema } from '../load/validate.js';
import { posOf } from '../load/yaml.js';
import { ModuleError, type Probe, type ActionResult, type AnyModule, type Attrs, type Change, type ModuleContext, type Plan } from '../modules/types.js';
import type { FileFacts, Inode } from '../modules/facts/file.js';
import { BigFile, controllerContent } from '../modules/controller-file.js';
import type { FileDiff, HostTaskResult } from '../output/events.js';
import { StdinError } from '../transport/remote-shell.js';
import { BecomeError, ShellExitedError } from '../transport/shell-transport.js';
import { quote } from '../transport/quote.js';
import { describeUnreachable, UnreachableError, type BecomeSpec, type ExecResult, type Transport } from '../transport/types.js';
import { pythonStr } from '../vars/python-repr.js';
import { toBool } from '../vars/filters.js';
import { markFinal, type VarScope, type Vars } from '../vars/scope.js';
import { TemplateError } from '../vars/template.js';
import { isTemplated } from '../vars/template-source.js';
import { applyCommand, describeChange, VALIDATE_FAILED } from './apply.js';
import type { HostRun, TouchedPath } from './host-run.js';
import type { RunOptions } from './options.js';
import type { Connections } from './run.js';
import { batchProbes } from './probe-batch.js';
import { LoopError, loopItems } from './loop-items.js';
import { OMIT, type ScopeBuilder } from './scope-builder.js';

/** What running tasks needs from the play around it. */
export interface TaskEnv {
  options: RunOptions;
  scopes: ScopeBuilder;
  /** Told before an `until` task tries again: what the attempt said (unless no_log hides it). */
  retrying?: (retriesLeft: number, msg: string | undefined) => void;
  /** delegate_to and remote_user connections (absent: the host's own for every task). */
  connections?: Connections | undefined;
}

/** The outcome of one task on one host (all loop items together). */
export interface TaskOutcome extends HostTaskResult {
  meta?: ActionResult['meta'];
  items?: HostTaskResult[];
}

/** A failure of this task on this host, with the message the user sees. */
class TaskFailure extends Error {
  constructor(
    message: string,
    readonly result: Vars = {},
  ) {
    super(message);
  }
}

/** The name a task is shown under: `role : name`, or the module for unnamed tasks. */
export function taskTitle(task: Task, templatedName?: string): string {
  const name = templatedName ?? task.name ?? task.moduleKey;
  return task.role ? `${task.role.role.name} : ${name}` : name;
}

/** Where a task is, for messages: `file:line:col`. */
export function taskWhere(task: { pos: Parameters<typeof formatPos>[0] }): string {
  return formatPos(task.pos);
}

/** Runs one task on one host: when, loop, templating, probe, plan, apply, register. */
export async function runTask(task: Task, host: HostRun, env: TaskEnv, extra?: Vars): Promise<TaskOutcome> {
  await breathe();
  const started = Date.now();
  const base = env.scopes.scope(host, task, extra);
  const outcome = await runWithLoop(task, host, env, base).catch((e: unknown) => errorOutcome(e, task, host));
  outcome.durationMs = Date.now() - started;
  if (task.register && outcome.status !== 'unreachable') host.facts[task.register] = outcome.result ?? {};
  if (outcome.status === 'changed' && task.notify.length > 0) for (const n of task.notify) host.notified.add(String(base.template(n)));
  if (hidesOutput(task, base)) {
    registerNoLogValues(outcome.result);
    censor(outcome);
  }
  return outcome;
}

/** Where a no_log task's result says where or what, not a value worth hiding. */
const NOT_SECRET_KEYS = new Set(['changed', 'failed', 'skipped', 'rc', 'dest', 'path', 'src', 'state', 'owner', 'group', 'mode', 'uid', 'gid', 'name', 'cmd', 'delta', 'start', 'end', 'item', 'ansible_loop_var']);

/**
 * A no_log task's values stay masked after the task: printing its registered result later
 * (`debug: var=result`) shows ******** where they appear.
 */
function registerNoLogValues(result: Vars | undefined): void {
  for (const [k, v] of Object.entries(result ?? {})) if (!NOT_SECRET_KEYS.has(k)) registerSecret(v);
}

/** no_log, literal or templated (a template that fails to evaluate hides, to be safe). */
function hidesOutput(task: Task, scope: VarScope): boolean {
  return task.noLog === true || (typeof task.noLog === 'string' && safeTest(scope, task.noLog));
}

function safeTest(scope: VarScope, expr: string): boolean {
  try {
    return scope.test(expr);
  } catch {
    return true;
  }
}

function censor(o: TaskOutcome): void {
  o.censored = true;
  o.result = { censored: "the output has been hidden due to the fact that 'no_log: true' was specified for this result", changed: o.status === 'changed' };
  if (o.msg) o.msg = 'output hidden (no_log)';
  o.diffs = o.diffs.map((d) => ({ path: d.path, before: null, after: null, hidden: true, beforeSha256: d.before === null ? undefined : sha256(d.before), afterSha256: d.after === null ? undefined : sha256(d.after) }));
  o.changes = o.changes.map(() => 'change hidden (no_log)');
  o.items?.forEach(censor);
}

function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function errorOutcome(e: unknown, task: Task, host: HostRun): TaskOutcome {
  const base = { host: host.name, changes: [], diffs: [], durationMs: 0 };
  if (e instanceof UnreachableError) return { ...base, status: 'unreachable', msg: describeUnreachable(e, taskTitle(task)), result: { unreachable: true, msg: e.message } };
  if (e instanceof TaskFailure) return { ...base, status: 'failed', msg: e.message, result: { ...e.result, failed: true, msg: e.message, changed: false } };
  if (e instanceof LoopError) return { ...base, status: 'failed', msg: e.message, result: { failed: true, msg: e.message, changed: false } };
  if (e instanceof TemplateError) {
    const msg = `${e.message} (in task '${taskTitle(task)}' at ${taskWhere(task)})`;
    return { ...base, status: 'failed', msg, result: { failed: true, msg } };
  }
  if (e instanceof BecomeError || e instanceof ShellExitedError || e instanceof SenexError || e instanceof ModuleError || e instanceof StdinError) {
    return { ...base, status: 'failed', msg: e.message, result: { failed: true, msg: e.message } };
  }
  // Anything else is a bug, or a limit we did not foresee (a string too long for the engine):
  // it fails this host's task, loudly, and never stops the run of the other hosts.
  const what = e instanceof Error ? `${e.name}: ${e.message}${e.stack?.split('\n')[1] ? ` ${e.stack.split('\n')[1]!.trim()}` : ''}` : String(e);
  const msg = `internal error in task '${taskTitle(task)}' at ${taskWhere(task)} (a bug in senex-play; please report it): ${what}`;
  return { ...base, status: 'failed', msg, result: { failed: true, msg } };
}

async function runWithLoop(task: Task, host: HostRun, env: TaskEnv, scope: VarScope): Promise<TaskOutcome> {
  if (task.loop === undefined) {
    if (!conditionsHold(task, scope)) return skipped(host, task);
    return runItem(task, host, env, scope);
  }
  const items = loopItems(task, scope, task.module.name);
  const loopVar = task.loopControl?.loopVar ?? 'item';
  const results: TaskOutcome[] = [];
  for (const [index, item] of items.entries()) {
    await breathe();
    const itemScope = scope.with(itemVars(task, item, index));
    const label = task.loopControl?.label !== undefined ? pythonStr(itemScope.template(task.loopControl.label)) : pythonStr(item);
    let r: TaskOutcome;
    if (!conditionsHold(task, itemScope)) r = skipped(host, task);
    else r = await runItem(task, host, env, itemScope).catch((e: unknown) => errorOutcome(e, task, host));
    r.item = label;
    r.result = { ...(r.result ?? {}), [loopVar]: item, ansible_loop_var: loopVar };
    results.push(r);
    if (r.status === 'unreachable') return { ...r, items: results };
  }
  return combineItems(host, results);
}

/**
 * Lets the event loop run: an action module (debug, set_fact, assert) templates and finishes
 * without any I/O, so a long loop of them would otherwise hold the process and SIGINT/SIGTERM,
 * output and timers would wait for its end.
 */
function breathe(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The variables one loop item adds: the loop variable, and the index when asked for. */
function itemVars(task: Task, item: unknown, index: number): Vars {
  const loopVar = task.loopControl?.loopVar ?? 'item';
  const vars: Vars = { [loopVar]: item, ansible_loop_var: loopVar };
  if (task.loopControl?.indexVar) vars[task.loopControl.indexVar] = index;
  // The items were templated once, with the loop; an item from a host's output holding
  // `{{ ... }}` is data and is not templated again.
  return markFinal(vars);
}

/** The task may run over another connection than its host's: delegate_to, remote_user. */
function elsewhere(task: Task): boolean {
  return task.delegateTo !== undefined || task.remoteUser !== undefined;
}

/**
 * Where the task runs: the host's own connection, or (delegate_to, remote_user) another one,
 * as Ansible picks it: the delegated host's connection variables, its ansible_user over the
 * remote_user keyword. The task's variables stay the original host's.
 */
function targetOf(task: Task, host: HostRun, env: TaskEnv, scope: VarScope): { via: HostRun; delegated?: string } {
  if (!elsewhere(task) || !env.connections) return { via: host };
  const delegated = task.delegateTo === undefined ? undefined : String(scope.template(task.delegateTo)).trim();
  if (delegated === '') throw new TaskFailure(`delegate_to is empty (in task '${taskTitle(task)}' at ${taskWhere(task)})`);
  const user = task.remoteUser === undefined ? undefined : String(scope.template(task.remoteUser));
  const name = delegated ?? host.name;
  const via = env.connections.target(host, name, user);
  return { via, delegated: name === host.name ? undefined : name };
}

/** Where delegate_facts puts facts: the delegated host, else the task's own host. */
function factsHost(task: Task, host: HostRun, env: TaskEnv, scope: VarScope, delegated: string | undefined): HostRun {
  if (delegated === undefined || delegated === host.name || !env.connections || task.delegateFacts === undefined) return host;
  const wanted = typeof task.delegateFacts === 'string' ? toBool(scope.template(task.delegateFacts)) : task.delegateFacts;
  return wanted ? env.connections.hostRun(delegated) : host;
}

/** A cached probe answers only the same script, for the same user and module. */
function probeCacheKey(become: BecomeSpec | undefined, module: string, p: Probe): string {
  return `${become?.user ?? ''}\0${module}\0${p.script}`;
}

/** A probe a task will send, known before the task runs. */
export interface LookAheadProbe {
  key: string;
  probe: Probe;
  become: BecomeSpec | undefined;
}

/**
 * The probes a task would send if it ran now, for look-ahead probing. Empty when they cannot
 * be known yet: arguments that use a variable an earlier task registers, an action module,
 * a false `when`. Computing them has no effect on the host or on the run.
 */
export function lookAheadProbes(task: Task, host: HostRun, env: TaskEnv, extra?: Vars, opts: { cheapOnly?: boolean } = {}): LookAheadProbe[] {
  const module = task.module;
  // Probes of a task that runs elsewhere (or as another user) go out in its own turn.
  if (module.kind === 'action' || elsewhere(task)) return [];
  try {
    const base = env.scopes.scope(host, task, extra);
    // A no_log task's probes go out on its turn, marked hidden, never inside another's batch.
    if (hidesOutput(task, base)) return [];
    const scopes = task.loop === undefined ? [base] : loopItems(task, base, task.module.name).map((item, i) => base.with(itemVars(task, item, i)));
    const check = task.checkMode ?? env.options.check;
    const out: LookAheadProbe[] = [];
    for (const scope of scopes) {
      // A condition on a result not registered yet (`when: x is changed`) cannot be told
      // now. Probing anyway costs a wasted probe at worst, never a wrong answer; so it is
      // done only for probes that cost next to nothing in a batch (one more path for stat),
      // not for those that start programs of their own (podman, dpkg-query).
      const known = conditionsKnown(task, scope);
      if (known === false) continue;
      const args = moduleArgs(task, module, scope);
      const become = becomeFor(task, scope, env.options, host);
      for (const probe of Object.values(module.probe(args, moduleContext(task, scope, env)))) {
        if ((known === undefined || opts.cheapOnly) && !probe.merge) continue;
        if (check && probe.filePath !== undefined && host.plannedFiles.has(probe.filePath)) continue;
        out.push({ key: probeCacheKey(become, module.name, probe), probe, become });
      }
    }
    return out;
  } catch {
    return [];
  }
}

/**
 * A command that only reads: `changed_when: false` together with `check_mode: false`, the
 * idiom for a command that runs even under --check because it changes nothing (a version,
 * a digest, which validator to use). It may run ahead of its turn, sent with the look-ahead
 * probes in the same round trip, and does not empty the host's probe cache. A command
 * marked so that does change the host breaks that promise: drop one of the two keywords.
 */
export function isQuery(task: Task): boolean {
  const never = task.changedWhen?.length === 1 && [false, 'false', 'False'].includes(task.changedWhen[0]!);
  return (task.module.name === 'command' || task.module.name === 'shell') && task.checkMode === false && never;
}

/** A query's request as it would be sent now (see isQuery); undefined when it cannot be known yet. */
export interface QueryRequest {
  key: string;
  script: string;
  stdin: string | undefined;
  become: BecomeSpec | undefined;
}

export function queryRequest(task: Task, host: HostRun, env: TaskEnv, extra?: Vars): QueryRequest | undefined {
  const module = task.module;
  if (!isQuery(task) || task.loop !== undefined || module.kind !== 'host' || elsewhere(task)) return undefined;
  try {
    const scope = env.scopes.scope(host, task, extra);
    if (hidesOutput(task, scope) || !conditionsHold(task, scope)) return undefined;
    const args = moduleArgs(task, module, scope);
    if (args.creates !== undefined || args.removes !== undefined) return undefined;
    const [change, ...more] = module.plan(args, {}, moduleContext(task, scope, env)).changes;
    if (change?.kind !== 'exec' || more.length) return undefined;
    const become = becomeFor(task, scope, env.options, host);
    const script = envFor(task, scope) + change.script;
    return { key: queryKey(become, script, change.stdin), script, stdin: change.stdin, become };
  } catch {
    return undefined;
  }
}

function queryKey(become: BecomeSpec | undefined, script: string, stdin: string | Buffer | undefined): string {
  return `${become?.user ?? ''}\0query\0${script}\0${stdin?.toString() ?? ''}`;
}

function combineItems(host: HostRun, items: TaskOutcome[]): TaskOutcome {
  const failed = items.some((i) => i.status === 'failed');
  const changed = items.some((i) => i.status === 'changed');
  const allSkipped = items.length === 0 || items.every((i) => i.status === 'skipped');
  const status = failed ? 'failed' : changed ? 'changed' : allSkipped ? 'skipped' : 'ok';
  return {
    host: host.name,
    status,
    msg: failed ? 'One or more items failed' : allSkipped && items.length ? 'All items skipped' : undefined,
    changes: items.flatMap((i) => i.changes),
    diffs: items.flatMap((i) => i.diffs),
    durationMs: 0,
    items,
    result: {
      changed,
      ...(failed ? { failed: true, msg: 'One or more items failed' } : { msg: 'All items completed' }),
      ...(allSkipped ? { skipped: true } : {}),
      results: items.map((i) => i.result ?? {}),
    },
  };
}

function conditionsHold(task: Task, scope: VarScope): boolean {
  return task.when.every((c) => scope.test(c));
}

/** Whether the task's conditions hold; undefined when one cannot be told yet. */
function conditionsKnown(task: Task, scope: VarScope): boolean | undefined {
  let known: boolean | undefined = true;
  for (const c of task.when) {
    try {
      if (!scope.test(c)) return false;
    } catch {
      known = undefined;
    }
  }
  return known;
}

function skipped(host: HostRun, task: Task): TaskOutcome {
  return {
    host: host.name,
    status: 'skipped',
    changes: [],
    diffs: [],
    durationMs: 0,
    result: { changed: false, skipped: true, skip_reason: 'Conditional result was False', false_condition: pythonStr(task.when.find(() => true) ?? '') },
  };
}

/** Runs one item, with `until`/`retries`/`delay`. */
async function runItem(task: Task, host: HostRun, env: TaskEnv, scope: VarScope): Promise<TaskOutcome> {
  if (task.until === undefined) return runOnce(task, host, env, scope);
  const retries = Number(scope.template(task.retries ?? 3));
  const delay = Number(scope.template(task.delay ?? 5));
  let last: TaskOutcome | undefined;
  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    last = await runOnce(task, host, env, scope).catch((e: unknown) => errorOutcome(e, task, host));
    if (last.status === 'unreachable') return last;
    const resultScope = scope.with(markFinal(task.register ? { [task.register]: last.result ?? {} } : {}), markFinal({ ...(last.result ?? {}) }));
    if (task.until.every((c) => resultScope.test(c))) {
      last.result = { ...(last.result ?? {}), attempts: attempt };
      return last;
    }
    if (attempt <= retries) {
      env.retrying?.(retries + 1 - attempt, hidesOutput(task, scope) ? undefined : last.msg);
      await new Promise((r) => setTimeout(r, delay * 1000));
    }
  }
  // The last attempt's own message says what went wrong (a unit that would not start, a
  // command's error); the retries are context, not the cause. Registered, its msg stays the
  // module's, as Ansible keeps it.
  const why = `until never held after ${retries + 1} attempts: ${task.until.join(' and ')}`;
  const msg = last!.msg ? `${last!.msg} (${why})` : why;
  return { ...last!, status: 'failed', msg, result: { msg: why, ...(last!.result ?? {}), failed: true, attempts: retries + 1 } };
}

/** The templated, type-checked arguments; `omit` leaves an argument out. */
function moduleArgs(task: Task, module: AnyModule, scope: VarScope): Record<string, unknown> {
  let args: Record<string, unknown>;
  try {
    args = (module.kind === 'action' && module.rawArgs ? { ...task.args } : scope.template(task.args)) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TemplateError) {
      const key = Object.keys(task.args).find((k) => JSON.stringify(task.args[k]).includes(e.undefinedName ?? '\u0000')) ?? task.moduleKey;
      const pos = templatePos(posOf(task.args, key) ?? posOf(task.source, task.moduleKey), e.line, e.col);
      throw new TemplateError(`${e.message}${pos ? ` (at ${formatPos(pos)})` : ''}`, undefined, undefined, e.undefinedName);
    }
    throw e;
  }
  for (const [k, v] of Object.entries(args)) if (v === OMIT) delete args[k];
  const errors = validateSchema(module.schema, args, { what: `module '${module.name}'`, coerce: true });
  if (errors.length) {
    const where = errors[0]!.pos ? ` at ${formatPos(errors[0]!.pos)}` : '';
    throw new TaskFailure(`${errors.map((e) => e.message).join('; ')}${where}`);
  }
  return args;
}

async function runOnce(task: Task, host: HostRun, env: TaskEnv, scope: VarScope): Promise<TaskOutcome> {
  const module = task.module;
  const args = moduleArgs(task, module, scope);
  const ctx = moduleContext(task, scope, env);
  const { via, delegated } = targetOf(task, host, env, scope);
  const factsOn = factsHost(task, host, env, scope, delegated);
  // Shown as Ansible's `host -> address`: the delegated host's ansible_host.
  const shown = (o: TaskOutcome): TaskOutcome => (delegated === undefined ? o : { ...o, delegatedTo: env.connections!.address(delegated) });
  if (module.kind === 'action') return shown(finish(task, host, scope, failedAsOutcome(host, () => actionOutcome(host, module.run(args, ctx), factsOn))));
  const transport = await via.connection();
  const become = becomeFor(task, scope, env.options, via);
  const check = task.checkMode ?? env.options.check;
  // Another host's (or user's) connection: what its cache held may predate changes made
  // over other connections to it, so it is asked afresh.
  if (via !== host) via.probeCache.clear();
  const all = Object.entries(module.probe(args, ctx));
  // Under --check, what earlier tasks would have done to a file stands in for the host's
  // real state, so a chain of tasks (create a file, then edit it) is checked exactly.
  const facts: Record<string, unknown> = {};
  const probes = all.filter(([name, p]) => {
    const planned = check && p.filePath !== undefined ? via.plannedFiles.get(p.filePath) : undefined;
    if (planned) facts[name] = planned;
    return !planned;
  });
  // A probe asked again before anything changed on the host (loop items, repeated checks)
  // is answered from the host's cache; any applied change empties it.
  const cacheKey = (p: Probe) => probeCacheKey(become, module.name, p);
  const uncached = probes.filter(([name, p]) => {
    const hit = via.probeCache.get(cacheKey(p));
    if (hit !== undefined) facts[name] = hit;
    return hit === undefined;
  });
  if (uncached.length > 0) {
    const batch = batchProbes(uncached);
    const r = await host.timed('probeMs', transport.exec({ script: batch.script, become, hidden: hidesOutput(task, scope) }));
    const fresh = batch.parse(r.stdout.toString('utf8'));
    Object.assign(facts, fresh);
    for (const [name, p] of uncached) via.probeCache.set(cacheKey(p), fresh[name]);
  }
  const plan = module.plan(args, facts, ctx);
  if (plan.facts) setFacts(factsOn, plan.facts);
  if (check && !plan.failed) recordPlanned(via, plan.changes, facts);
  // The module was told the same when it chose its probes (a diff needs the old content).
  const input = { task, args, host: via, transport, become, check, diffMode: ctx.showsDiff, env: envFor(task, scope), hidden: hidesOutput(task, scope) };
  if (plan.changes.length > 0 && !isQuery(task)) {
    via.forgetProbes(touchedPaths(plan.changes, facts));
    if (via !== host) env.connections?.changed(via.name);
  }
  const applied = await host.timed('applyMs', failedAsOutcome(host, () => applyPlan(plan, input)));
  applied.host = host.name;
  return shown(finish(task, host, scope, applied));
}

/**
 * Every path these changes touch, when that is all they touch: a write, a directory, a link
 * or a removal, on a path this task probed. A write's validator is taken at its word (a
 * check of the new file, as Ansible documents `validate`); a backup lands beside the file.
 * Anything else (a command, attributes that a hard link would share) returns undefined: the
 * change may have reached anything.
 */
function touchedPaths(changes: Change[], facts: Record<string, unknown>): TouchedPath[] | undefined {
  const touched: TouchedPath[] = [];
  for (const c of changes) {
    const plain = c.kind === 'mkdir' || c.kind === 'symlink' || c.kind === 'remove' || c.kind === 'write';
    const probed = plain ? Object.values(facts).find((f) => (f as FileFacts | undefined)?.path === c.path) : undefined;
    const aliases = (probed as FileFacts | undefined)?.aliases;
    if (!aliases) return undefined;
    touched.push(...aliases.map((name) => ({ name, below: c.kind !== 'mkdir' })));
  }
  return touched;
}

/** Gathered facts, under ansible_facts and as ansible_* variables. */
export function setFacts(host: HostRun, facts: Vars): void {
  host.facts.ansible_facts = { ...((host.facts.ansible_facts as Vars | undefined) ?? {}), ...facts };
  for (const [k, v] of Object.entries(facts)) host.facts[`ansible_${k}`] = v;
}

/** The state a file would have after a change, as facts later tasks can plan against. */
function recordPlanned(host: HostRun, changes: Change[], facts: Record<string, unknown>): void {
  const known = (path: string): FileFacts | undefined =>
    host.plannedFiles.get(path) ?? (Object.values(facts).find((f) => (f as FileFacts | undefined)?.path === path) as FileFacts | undefined);
  const inode = (type: Inode['type'], prev: FileFacts | undefined, attrs: Attrs = {}, size = 0): Inode => ({
    type,
    mode: attrs.mode ?? (prev?.inode?.type === type ? prev.inode.mode : type === 'directory' ? '0755' : '0644'),
    uid: prev?.inode?.uid ?? 0,
    gid: prev?.inode?.gid ?? 0,
    owner: attrs.owner ?? prev?.inode?.owner ?? 'root',
    group: attrs.group ?? prev?.inode?.group ?? 'root',
    size,
    mtime: 0,
  });
  for (const c of changes) {
    if (c.kind === 'exec') continue;
    const prev = known(c.path);
    const set = (f: FileFacts) => host.plannedFiles.set(c.path, f);
    switch (c.kind) {
      case 'write':
        set({ path: c.path, exists: true, inode: inode('file', prev, c.attrs, c.content.length), ...plannedContent(c.content) });
        break;
      case 'mkdir':
        set({ path: c.path, exists: true, inode: inode('directory', prev, c.attrs) });
        break;
      case 'touch':
        set(prev?.exists ? { ...prev, inode: { ...prev.inode!, ...definedAttrs(c.attrs) } } : { path: c.path, exists: true, inode: inode('file', prev, c.attrs), content: Buffer.alloc(0) });
        break;
      case 'attrs':
        if (prev?.inode) set({ ...prev, inode: { ...prev.inode, ...definedAttrs(c.attrs) } });
        break;
      case 'symlink':
        set({ path: c.path, exists: true, inode: inode('link', undefined), linkTarget: c.target });
        break;
      case 'remove':
        set({ path: c.path, exists: false });
        break;
      case 'hardlink':
        break;
    }
  }
}

function definedAttrs(a: Attrs): Partial<Inode> {
  return Object.fromEntries(Object.entries(a).filter(([, v]) => v !== undefined));
}

/** A TaskFailure as a failed outcome, so changed_when/failed_when still see the result. */
function failedAsOutcome(host: HostRun, fn: () => TaskOutcome): TaskOutcome;
function failedAsOutcome(host: HostRun, fn: () => Promise<TaskOutcome>): Promise<TaskOutcome>;
function failedAsOutcome(host: HostRun, fn: () => TaskOutcome | Promise<TaskOutcome>): TaskOutcome | Promise<TaskOutcome> {
  const asOutcome = (e: unknown): TaskOutcome => {
    if (!(e instanceof TaskFailure)) throw e;
    return { host: host.name, status: 'failed', msg: e.message, changes: [], diffs: [], durationMs: 0, result: { changed: false, ...e.result, failed: true, msg: e.message } };
  };
  try {
    const r = fn();
    return r instanceof Promise ? r.catch(asOutcome) : r;
  } catch (e) {
    return asOutcome(e);
  }
}

function moduleContext(task: Task, scope: VarScope, env: TaskEnv): ModuleContext {
  return {
    readControllerFile: (kind, path) => {
      const found = findControllerFile(task, kind, path, env);
      return { path: found, content: readMaybeVaulted(found) };
    },
    controllerContent: (kind, path) => {
      const found = findControllerFile(task, kind, path, env);
      return { path: found, content: controllerContent(found, readMaybeVaulted) };
    },
    renderTemplate: (source, file) => {
      try {
        return scope.render(source, { template_path: file, template_host: '', template_fullpath: file });
      } catch (e) {
        if (e instanceof TemplateError) throw new TemplateError(`${e.message} (in template ${formatPos({ file, line: e.line ?? 1, col: e.col ?? 1 })})`, undefined, undefined, e.undefinedName);
        throw e;
      }
    },
    test: (expr) => scope.test(expr),
    lookupVar: (name) => {
      // A name that came out of a template (`var: "{{ r.stdout }}"`) may be a host's text: it
      // is looked up as one plain variable name, never evaluated as an expression (Ansible
      // marks it unsafe and prints it back as `{{name}}`).
      const fromTemplate = typeof task.args.var === 'string' && isTemplated(task.args.var);
      if (fromTemplate && !/^[A-Za-z_]\w*$/.test(name.trim())) return name.includes('{{') ? 'VARIABLE IS NOT DEFINED!' : `{{${name}}}`;
      return scope.template(`{{ ${name} }}`);
    },
    template: (value) => scope.template(value),
    hostVars: () => ({}),
    showsDiff: task.diff ?? env.options.diff,
  };
}

/** Finds a controller-side file as Ansible does: role dir first, then the playbook's. */
function findControllerFile(task: Task, kind: 'files' | 'templates' | 'vars', path: string, env: TaskEnv): string {
  const roleDir = task.role?.role.path;
  const playbookDir = env.scopes ? dirnameOfTask(task) : process.cwd();
  const candidates = isAbsolute(path)
    ? [path]
    : [
        ...(roleDir ? [resolve(roleDir, kind, path), resolve(roleDir, path)] : []),
        resolve(playbookDir, kind, path),
        resolve(playbookDir, path),
      ];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new TaskFailure(`could not find ${kind === 'vars' ? 'vars file' : kind === 'files' ? 'src file' : 'template'} '${path}'; searched: ${candidates.join(', ')}`);
  // Vaulted sources are decrypted on the controller (readMaybeVaulted), as Ansible's copy
  // (decrypt: true) and template do.
  return found;
}

function dirnameOfTask(task: Task): string {
  return resolve(task.pos.file, '..');
}

/**
 * Whether and how to become another user. As in Ansible, the connection variables
 * (ansible_become, ansible_become_user, ansible_become_method) win over the keywords.
 */
function becomeFor(task: Task, scope: VarScope, options: RunOptions, host: HostRun): BecomeSpec | undefined {
  const v = (name: string): unknown => (scope.has(name) ? scope.get(name) : undefined);
  const wanted = v('ansible_become') ?? task.become ?? options.become;
  if (!(wanted === true || toBool(wanted))) return undefined;
  const user = String(v('ansible_become_user') ?? scope.template(task.becomeUser ?? options.becomeUser ?? 'root'));
  const method = (v('ansible_become_method') as 'sudo' | 'su' | undefined) ?? task.becomeMethod ?? options.becomeMethod ?? 'sudo';
  // The user and connection the task's connection logs in with (a delegated host's own).
  const remoteUser = String((host.login ? host.login.user : v('ansible_user') ?? options.remoteUser) ?? currentUser());
  const connection = String(host.login ? host.login.connection : v('ansible_connection') ?? '');
  // Already that user: no sudo needed (and none may be installed).
  if (user === remoteUser || (connection === 'local' && user === currentUser())) return undefined;
  const password = v('ansible_become_password') ?? v('ansible_become_pass');
  if (password !== undefined) registerSecret(String(password));
  return { user, method, password: password !== undefined ? String(password) : options.becomePassword };
}

function currentUser(): string {
  return process.env.USER ?? (process.getuid?.() === 0 ? 'root' : '');
}

/** `environment:` as shell exports in front of commands. */
function envFor(task: Task, scope: VarScope): string {
  const env = scope.template(task.environment) as Record<string, unknown>;
  return Object.entries(env)
    .filter(([k]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
    .map(([k, v]) => `export ${k}=${quote(pythonStr(v))}\n`)
    .join('');
}

interface ApplyInput {
  task: Task;
  /** The templated arguments the plan was made from. */
  args: Record<string, unknown>;
  host: HostRun;
  transport: Transport;
  become: BecomeSpec | undefined;
  check: boolean;
  diffMode: boolean;
  env: string;
  /** no_log: the requests are not traced. */
  hidden: boolean;
}

/** Applies a plan's changes (unless in check mode) and reports them. */
async function applyPlan(plan: Plan, input: ApplyInput): Promise<TaskOutcome> {
  const { task, host, transport, become, check } = input;
  const module = task.module;
  const result: Vars = { ...(plan.result ?? {}) };
  const base = { host: host.name, durationMs: 0, changes: plan.changes.map(describeChange), diffs: input.diffMode ? plan.changes.flatMap(diffOf) : [] };
  if (plan.failed) throw new TaskFailure(plan.failed, result);
  if (plan.changes.length === 0) return { ...base, status: 'ok', msg: plan.msg, result: { ...result, changed: false, ...(plan.msg ? { msg: plan.msg } : {}) } };
  const counts = plan.changes.some((c) => !(c.kind === 'exec' && c.quiet));
  if (check) {
    // An opaque command cannot say what it would do; like Ansible, skip it under --check.
    if (plan.changes.some((c) => c.kind === 'exec' && c.opaque)) {
      return { ...base, status: 'skipped', msg: `check mode: would ${base.changes.join('; ')}`, result: { ...result, changed: false, skipped: true, msg: 'skipped in check mode' } };
    }
    return { ...base, status: counts ? 'changed' : 'ok', msg: plan.msg, result: { ...result, changed: counts } };
  }
  for (const change of plan.changes) {
    const cmd = applyCommand(change);
    const script = change.kind === 'exec' ? input.env + cmd.script : cmd.script;
    // A query's answer may have come with the look-ahead (prefetch.ts); it is used once.
    const key = isQuery(task) && change.kind === 'exec' ? queryKey(become, script, change.stdin) : undefined;
    const early = key === undefined ? undefined : (host.probeCache.get(key) as ExecResult | undefined);
    if (key !== undefined) host.probeCache.delete(key);
    const r = early ?? (await transport.exec({ script, stdin: cmd.stdin, become, hidden: input.hidden }));
    const stdout = r.stdout.toString('utf8');
    const stderr = r.stderr.toString('utf8');
    if (change.kind === 'exec' && module.kind === 'host' && module.collect) {
      const collected = module.collect(input.args as never, { rc: r.rc, stdout, stderr });
      Object.assign(result, collected.result);
      if (collected.failed) throw new TaskFailure(collected.failed, { ...result, changed: true });
      continue;
    }
    if (r.rc !== 0) {
      const why = r.rc === VALIDATE_FAILED ? `failed to validate: ${stderr.trim()}` : stderr.trim() || `exit code ${r.rc}`;
      throw new TaskFailure(`${describeChange(change)} failed: ${why}`, { ...result, rc: r.rc });
    }
    const backup = /^backup_file=(.*)$/m.exec(stdout);
    if (backup) result.backup_file = backup[1];
  }
  return { ...base, status: counts ? 'changed' : 'ok', msg: plan.msg, result: { ...result, changed: counts, ...(plan.msg ? { msg: plan.msg } : {}) } };
}

/** What a file will hold after a planned write, as its probe would say (a big file: checksums only). */
function plannedContent(content: Buffer | BigFile): Pick<FileFacts, 'content' | 'sha256' | 'sha1' | 'tooLarge'> {
  if (content instanceof BigFile) return { sha256: content.sha256, sha1: content.sha1, tooLarge: true };
  return { content, sha256: createHash('sha256').update(content).digest('hex'), sha1: createHash('sha1').update(content).digest('hex') };
}

/** The diff data a change carries; rendering is the output layer's job. */
function diffOf(c: Change): FileDiff[] {
  if (c.kind === 'exec') return c.diff ? [{ path: c.diff.path, before: c.diff.before, after: c.diff.after, hidden: c.diff.hidden }] : [];
  const state = (s: string, extra = '') => `path: ${c.path}\nstate: ${s}\n${extra}`;
  switch (c.kind) {
    case 'write':
      // A big file is never read to be diffed: the renderer says it is too large by its size.
      return [c.content instanceof BigFile ? { path: c.path, before: c.before ?? null, after: null, afterBytes: c.content.length } : { path: c.path, before: c.before ?? null, after: c.content }];
    case 'mkdir':
      return [{ path: c.path, before: state('absent'), after: state('directory') }];
    case 'remove':
      return [{ path: c.path, before: state(c.before), after: state('absent') }];
    case 'symlink':
      return [{ path: c.path, before: c.before === null ? state('absent') : state('link', `src: ${c.before}\n`), after: state('link', `src: ${c.target}\n`) }];
    case 'touch':
      return c.exists ? [] : [{ path: c.path, before: state('absent'), after: state('touch') }];
    case 'attrs': {
      const lines = (a: Record<string, string | undefined>) =>
        Object.keys(c.attrs)
          .map((k) => `${k}: ${a[k] ?? ''}\n`)
          .join('');
      return [{ path: c.path, before: `path: ${c.path}\n${lines(c.before as Record<string, string | undefined>)}`, after: `path: ${c.path}\n${lines(c.attrs as Record<string, string | undefined>)}` }];
    }
    case 'hardlink':
      return [{ path: c.path, before: state('absent'), after: state('hard', `src: ${c.target}\n`) }];
  }
}

function actionOutcome(host: HostRun, r: ActionResult, factsOn: HostRun = host): TaskOutcome {
  if (r.facts) Object.assign(factsOn.facts, r.facts);
  if (r.vars) Object.assign(host.includedVars, r.vars);
  const base = { host: host.name, changes: [], diffs: [], durationMs: 0 };
  if (r.failed) throw new TaskFailure(r.failed, r.result ?? {});
  return { ...base, status: r.changed ? 'changed' : 'ok', msg: r.msg, meta: r.meta, show: r.show, silent: r.meta !== undefined, result: { changed: r.changed ?? false, ...(r.result ?? {}) } };
}

/** changed_when / failed_when, evaluated against the result as Ansible does. */
function finish(task: Task, host: HostRun, scope: VarScope, outcome: TaskOutcome): TaskOutcome {
  if (task.changedWhen === undefined && task.failedWhen === undefined) return outcome;
  const result = outcome.result ?? {};
  const s = scope.with(markFinal(task.register ? { [task.register]: result } : {}), markFinal({ ...result }));
  if (task.changedWhen !== undefined && outcome.status !== 'skipped') {
    const changed = task.changedWhen.every((c) => s.test(c));
    outcome.status = outcome.status === 'failed' ? 'failed' : changed ? 'changed' : 'ok';
    result.changed = changed;
  }
  if (task.failedWhen !== undefined && outcome.status !== 'skipped') {
    const failed = task.failedWhen.some((c) => s.test(c));
    result.failed = failed;
    result.failed_when_result = failed;
    if (failed) {
      outcome.status = 'failed';
      outcome.msg ??= `failed_when condition held: ${task.failedWhen.join(' or ')}`;
    } else if (outcome.status === 'failed') outcome.status = result.changed ? 'changed' : 'ok';
  }
  void host;
  return outcome;
}

/** Exported for the play runner: a plain failure outcome for a host. */
export function failureOutcome(host: HostRun, msg: string): TaskOutcome {
  return { host: host.name, status: 'failed', msg, changes: [], diffs: [], durationMs: 0, result: { failed: true, msg } };
}
