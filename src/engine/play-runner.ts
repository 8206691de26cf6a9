import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatPos, SenexError } from '../errors.js';
import type { Block, Include, Play, RoleInstance, Task, TaskNode } from '../load/model.js';
import { argumentSchema } from '../load/role.js';
import { validateSchema } from '../load/validate.js';
import { loadVarsFile } from '../load/yaml.js';
import { systemFactsProbe } from '../modules/facts/system.js';
import type { HostTaskResult, RunEvent } from '../output/events.js';
import { describeUnreachable, UnreachableError } from '../transport/types.js';
import { prefetchProbes, tasksAhead } from './prefetch.js';
import { isTemplated } from '../vars/template-source.js';
import type { Templater } from '../vars/template.js';
import { markFinal, type Vars } from '../vars/scope.js';
import type { HostRun } from './host-run.js';
import type { Connections } from './run.js';
import type { RunOptions } from './options.js';
import { pool } from './pool.js';
import { ScopeBuilder } from './scope-builder.js';
import { loopItems } from './loop-items.js';
import { anySelected, matchesTaskName, taskSelected, type Selection } from './select.js';
import { failureOutcome, runTask, setFacts, taskTitle, taskWhere, type TaskOutcome } from './task-runner.js';

function resolveInclude(include: Include, target: string): string {
  const base = include.role ? resolve(include.role.role.path, 'tasks') : resolve(include.pos.file, '..');
  return resolve(base, target);
}

/** What a play run needs from the run around it. */
export interface PlayEnv {
  options: RunOptions;
  templater: Templater;
  emit(e: RunEvent): void;
  /** Set once the run is interrupted: start nothing new. */
  signal: AbortSignal;
  /** Shared across plays so --start-at-task is honoured once. */
  startState: { started: boolean };
  /** Connections for delegate_to and remote_user (absent: every task uses its host's own). */
  connections?: Connections | undefined;
}

type Extra = Map<HostRun, Vars>;

/** One frame of block nesting: whether a failure here is caught by a rescue section. */
interface Frame {
  rescuable: boolean;
  /** Inside a handler (the tasks of an include_tasks handler): shown as RUNNING HANDLER. */
  handler?: boolean;
}

/** What a task may set on a host (register, set_fact, include_vars), to see what it set. */
function snapshotVars(host: HostRun): { facts: Vars; included: Vars } {
  return { facts: { ...host.facts }, included: { ...host.includedVars } };
}

/**
 * run_once, as Ansible's linear strategy: what the task registered or set on the host it ran
 * on is set on every host of the batch, and its failure fails them all (counted once).
 */
function shareRunOnce(hosts: HostRun[], before: { facts: Vars; included: Vars }, outcome: TaskOutcome): void {
  const [first, ...others] = hosts as [HostRun, ...HostRun[]];
  const changed = (now: Vars, was: Vars) => Object.keys(now).filter((k) => now[k] !== was[k]);
  const facts = changed(first.facts, before.facts);
  const included = changed(first.includedVars, before.included);
  for (const h of others) {
    if (!h.active) continue;
    for (const k of facts) h.facts[k] = first.facts[k];
    for (const k of included) h.includedVars[k] = first.includedVars[k];
    if (outcome.status === 'failed' && !outcome.ignored) h.state = 'failed';
  }
}

/**
 * Runs one play with the linear strategy: every host goes through the same task tree in
 * lock step, each task on all active hosts (up to --forks at once) before the next.
 */
export class PlayRunner {
  private scopes!: ScopeBuilder;
  private batch: HostRun[] = [];
  private ended = false;
  private readonly selection: Selection;
  private readonly varsFileCache = new Map<HostRun, Vars>();

  constructor(
    private readonly play: Play,
    private readonly hosts: HostRun[],
    private readonly env: PlayEnv,
  ) {
    this.selection = { tags: env.options.tags, skipTags: env.options.skipTags, phases: env.options.phases, startAtTask: env.options.startAtTask };
  }

  async run(): Promise<void> {
    const own = new Map(this.hosts.map((h) => [h.name, h]));
    // Hosts outside the play keep their facts (set in an earlier play, or by delegate_facts).
    const byName = { get: (name: string) => own.get(name) ?? this.env.connections?.known(name) };
    this.scopes = new ScopeBuilder(
      this.play,
      this.env.options,
      this.env.templater,
      () => this.hosts.map((h) => h.name),
      () => this.batch.map((h) => h.name),
      byName,
      (h) => this.varsFiles(h),
    );
    this.env.emit({ kind: 'play_start', name: this.play.name, hosts: this.hosts.map((h) => h.name) });
    for (const batch of this.batches()) {
      if (this.ended || this.env.signal.aborted) break;
      this.batch = batch;
      await this.runBatch(batch);
    }
  }

  private batches(): HostRun[][] {
    const serial = this.play.serial;
    if (!serial || serial.length === 0) return [this.hosts];
    const sizes = serial.map((s) => (typeof s === 'string' && s.endsWith('%') ? Math.max(1, Math.floor((this.hosts.length * Number(s.slice(0, -1))) / 100)) : Number(s)));
    const out: HostRun[][] = [];
    let i = 0;
    let k = 0;
    while (i < this.hosts.length) {
      const size = sizes[Math.min(k++, sizes.length - 1)]!;
      out.push(this.hosts.slice(i, i + size));
      i += size;
    }
    return out;
  }

  private async runBatch(batch: HostRun[]): Promise<void> {
    if (this.play.gatherFacts) await this.gatherFacts(batch.filter((h) => h.active));
    this.checkRoleArguments(batch.filter((h) => h.active));
    for (const section of this.play.sections) {
      await this.walk(section, batch, new Map(), { rescuable: false });
      await this.flushHandlers(batch);
      if (this.ended) return;
    }
  }

  /** The play's vars_files for a host (templated names are resolved per host). */
  private varsFiles(host: HostRun): Vars {
    let vars = this.varsFileCache.get(host);
    if (vars) return vars;
    vars = {};
    this.varsFileCache.set(host, vars);
    for (const f of this.play.varsFiles) {
      if (f.data) {
        Object.assign(vars, f.data);
        continue;
      }
      let path = f.path;
      if (isTemplated(path)) path = resolve(this.play.playbookDir, String(this.playScope(host).template(path)));
      if (!existsSync(path)) throw new SenexError('E_FILE', `vars file not found: ${path}`, { pos: f.pos });
      Object.assign(vars, loadVarsFile(path, f.pos));
    }
    return vars;
  }

  /** A host's variables at play level (no task's own keywords), or in a role's when given. */
  private playScope(host: HostRun, role?: RoleInstance) {
    return this.scopes.scope(host, { when: [], tags: [], vars: [], environment: {}, role });
  }

  private async gatherFacts(hosts: HostRun[]): Promise<void> {
    this.env.emit({ kind: 'task_start', name: 'Gathering Facts', where: formatPos(this.play.pos), handler: false, hosts: hosts.map((h) => h.name) });
    await pool(hosts, this.env.options.forks, async (host) => {
      const started = Date.now();
      let result: HostTaskResult;
      try {
        // The play's remote_user logs in for the facts too (ansible_user still wins).
        const user = this.play.remoteUser === undefined ? undefined : String(this.playScope(host).template(this.play.remoteUser));
        const t = await (this.env.connections && user !== undefined ? this.env.connections.target(host, host.name, user) : host).connection();
        const probe = systemFactsProbe();
        const r = await t.exec({ script: probe.script });
        const facts = probe.parse(r.stdout.toString('utf8'), r.rc);
        setFacts(host, facts);
        result = { host: host.name, status: 'ok', changes: [], diffs: [], durationMs: Date.now() - started };
      } catch (e) {
        if (!(e instanceof UnreachableError)) throw e;
        result = { host: host.name, status: 'unreachable', msg: describeUnreachable(e), changes: [], diffs: [], durationMs: Date.now() - started };
      }
      this.record(host, result, false, { rescuable: false });
      this.env.emit({ kind: 'host_result', task: 'Gathering Facts', where: formatPos(this.play.pos), result });
    });
  }

  /** Role argument_specs, checked per host before any task of the play runs. */
  private checkRoleArguments(hosts: HostRun[]): void {
    for (const instance of this.play.roles) {
      const spec = instance.role.argumentSpecs.main;
      if (!spec) continue;
      for (const host of hosts) {
        const scope = this.playScope(host, instance);
        const values: Vars = {};
        for (const name of Object.keys(spec.options)) {
          if (!scope.has(name)) continue;
          try {
            values[name] = scope.get(name);
          } catch (e) {
            values[name] = `<${(e as Error).message}>`;
          }
        }
        const errors = validateSchema(argumentSchema(spec), values, { what: `role '${instance.role.name}' arguments`, coerce: true, fallbackPos: spec.pos });
        if (errors.length === 0) continue;
        const msg = `role '${instance.role.name}' (${formatPos(instance.pos)}): ${errors.map((e) => e.message).join('; ')}; see ${formatPos(spec.pos)}`;
        const result = failureOutcome(host, msg);
        this.record(host, result, false, { rescuable: false });
        this.env.emit({ kind: 'host_result', task: `${instance.role.name} : validate argument_specs`, where: formatPos(spec.pos), result });
      }
    }
  }

  /** `after`: what runs once these nodes are done (the rest of the enclosing lists), for look-ahead. */
  private async walk(nodes: TaskNode[], hosts: HostRun[], extra: Extra, frame: Frame, after: () => TaskNode[] = () => []): Promise<void> {
    for (const [i, node] of nodes.entries()) {
      if (this.ended || this.env.signal.aborted) return;
      const active = hosts.filter((h) => h.active);
      if (active.length === 0) return;
      if (!anySelected(node, this.selection)) continue;
      // Built only when a look-ahead needs it: most tasks of a no-op run find their answers cached.
      const rest = () => [...nodes.slice(i + 1), ...after()];
      if (node.kind === 'task') {
        await this.lookAhead(node, rest, active, extra);
        await this.runTaskNode(node, active, extra, frame, frame.handler === true);
      } else if (node.kind === 'block') await this.walkBlock(node, active, extra, frame, rest);
      else await this.walkInclude(node, active, extra, frame);
    }
  }

  /** Probes of this task and the ones after it, in one round trip, for hosts that would probe now. */
  private async lookAhead(task: Task, rest: () => TaskNode[], hosts: HostRun[], extra: Extra): Promise<void> {
    const env = { options: this.env.options, scopes: this.scopes, connections: this.env.connections };
    let next: Task[] | undefined;
    const ahead = () => (next ??= tasksAhead(rest().filter((n) => anySelected(n, this.selection))));
    await pool(hosts, this.env.options.forks, (h) => prefetchProbes(task, ahead, h, env, extra.get(h)));
  }

  private async walkBlock(block: Block, hosts: HostRun[], extra: Extra, frame: Frame, after: () => TaskNode[]): Promise<void> {
    await this.walk(block.block, hosts, extra, { rescuable: frame.rescuable || block.rescue.length > 0 }, after);
    const failed = hosts.filter((h) => h.state === 'failed');
    if (block.rescue.length > 0 && failed.length > 0) {
      for (const h of failed) h.state = 'active';
      await this.walk(block.rescue, failed, extra, frame);
    }
    if (block.always.length > 0) {
      const stillFailed = hosts.filter((h) => h.state === 'failed');
      for (const h of stillFailed) h.state = 'active';
      await this.walk(block.always, hosts.filter((h) => h.active), extra, frame);
      for (const h of stillFailed) if (h.state === 'active') h.state = 'failed';
    }
  }

  private async walkInclude(include: Include, hosts: HostRun[], extra: Extra, frame: Frame): Promise<void> {
    // Expand per host: the include's own conditions, loop items and file name may differ.
    const expansions = new Map<HostRun, Array<{ tasks: TaskNode[]; vars: Vars }>>();
    this.env.emit({ kind: 'task_start', name: include.name ?? `${include.what === 'tasks' ? 'include_tasks' : 'include_role'} ${include.target}`, where: formatPos(include.pos), handler: frame.handler === true, hosts: hosts.map((h) => h.name) });
    for (const host of hosts) {
      const scope = this.scopes.scope(host, include, extra.get(host));
      try {
        const items = include.loop === undefined ? [undefined] : loopItems(include, scope, include.what === 'tasks' ? 'include_tasks' : 'include_role');
        const loopVar = include.loopControl?.loopVar ?? 'item';
        const list: Array<{ tasks: TaskNode[]; vars: Vars }> = [];
        for (const item of items) {
          // Templated once, with the loop: an item is data from here on (it may come from a host).
          const vars: Vars = markFinal(item === undefined ? {} : { [loopVar]: item });
          const s = scope.with(vars);
          if (!include.when.every((c) => s.test(c))) continue;
          const target = String(s.template(include.target));
          list.push({ tasks: include.tasks && !isTemplated(include.target) ? include.tasks : include.load!(target), vars });
          // Ansible reports (and counts as ok) each inclusion of tasks; include_role, silently.
          if (include.what === 'tasks') {
            const result: HostTaskResult = { host: host.name, status: 'ok', changes: [], diffs: [], durationMs: 0, included: resolveInclude(include, target) };
            this.record(host, result, false, frame);
            this.env.emit({ kind: 'host_result', task: include.name ?? `include ${target}`, where: formatPos(include.pos), result });
          }
        }
        expansions.set(host, list);
      } catch (e) {
        const result = failureOutcome(host, `${(e as Error).message} (in ${include.what === 'tasks' ? 'include_tasks' : 'include_role'} at ${formatPos(include.pos)})`);
        this.record(host, result, include.ignoreErrors === true, frame);
        this.env.emit({ kind: 'host_result', task: include.name ?? `include ${include.target}`, where: formatPos(include.pos), result });
      }
    }
    const rounds = Math.max(0, ...[...expansions.values()].map((l) => l.length));
    for (let i = 0; i < rounds; i++) {
      // Hosts that include the same tasks this round walk them together.
      const groups = new Map<TaskNode[], HostRun[]>();
      for (const [host, list] of expansions) {
        const e = list[i];
        if (!e || !host.active) continue;
        groups.set(e.tasks, [...(groups.get(e.tasks) ?? []), host]);
      }
      for (const [tasks, group] of groups) {
        const itemExtra: Extra = new Map(group.map((h) => [h, markFinal({ ...(extra.get(h) ?? {}), ...expansions.get(h)![i]!.vars })]));
        await this.walk(tasks, group, itemExtra, frame);
      }
    }
  }

  private async runTaskNode(task: Task, hosts: HostRun[], extra: Extra, frame: Frame, handler: boolean): Promise<void> {
    if (!handler && !this.startAt(task)) return;
    if (!handler && !taskSelected(task, this.selection)) return;
    const title = taskTitle(task, this.templatedName(task, hosts[0], extra));
    const where = taskWhere(task);
    this.env.emit({ kind: 'task_start', name: title, where, handler, hosts: hosts.map((h) => h.name) });
    const once = hosts.length > 1 && this.runsOnce(task, hosts[0]!, extra);
    const before = once ? snapshotVars(hosts[0]!) : undefined;
    const outcomes = await pool(once ? hosts.slice(0, 1) : hosts, this.env.options.forks, async (host) => {
      const retrying = (retriesLeft: number, msg: string | undefined) => this.env.emit({ kind: 'retry', task: title, host: host.name, retriesLeft, msg });
      const outcome = await runTask(task, host, { options: this.env.options, scopes: this.scopes, retrying, connections: this.env.connections }, extra.get(host));
      const ignored = outcome.status === 'failed' && this.ignoreErrors(task, host, extra);
      outcome.ignored = ignored || undefined;
      for (const item of outcome.items ?? []) this.env.emit({ kind: 'item_result', task: title, result: item });
      this.record(host, outcome, ignored, frame);
      if (outcome.status === 'failed' && frame.rescuable) {
        host.facts.ansible_failed_task = { name: task.name ?? task.moduleKey, action: task.module.name };
        host.facts.ansible_failed_result = outcome.result ?? {};
      }
      this.env.emit({ kind: 'host_result', task: title, where, result: outcome });
      return outcome;
    });
    if (once) shareRunOnce(hosts, before!, outcomes[0]!);
    await this.afterTask(task, outcomes, hosts);
  }

  private runsOnce(task: Task, host: HostRun, extra: Extra): boolean {
    const v = task.runOnce;
    if (v === undefined || typeof v === 'boolean') return v === true;
    return this.scopes.scope(host, task, extra.get(host)).test(v);
  }

  private ignoreErrors(task: Task, host: HostRun, extra: Extra): boolean {
    const v = task.ignoreErrors;
    if (v === undefined) return false;
    if (typeof v === 'boolean') return v;
    return this.scopes.scope(host, task, extra.get(host)).test(v);
  }

  private startAt(task: Task): boolean {
    const state = this.env.startState;
    if (state.started || !this.selection.startAtTask) return true;
    if (matchesTaskName(task, this.selection.startAtTask)) state.started = true;
    return state.started;
  }

  /** Counts a result in the recap and moves the host's state, as ansible-playbook does. */
  private record(host: HostRun, r: HostTaskResult, ignored: boolean, frame: Frame): void {
    if (r.silent) return;
    const s = host.stats;
    switch (r.status) {
      case 'ok':
        s.ok++;
        break;
      case 'changed':
        s.ok++;
        s.changed++;
        break;
      case 'skipped':
        s.skipped++;
        break;
      case 'unreachable':
        s.unreachable++;
        host.state = 'unreachable';
        host.error = r.msg;
        break;
      case 'failed':
        if (ignored) {
          // As ansible-core: an ignored failure also counts as ok, and as changed if it was.
          s.ignored++;
          s.ok++;
          if (r.result?.changed === true) s.changed++;
          break;
        }
        if (frame.rescuable) s.rescued++;
        else s.failed++;
        host.state = 'failed';
        host.error = r.msg;
        break;
    }
  }

  private async afterTask(task: Task, outcomes: TaskOutcome[], hosts: HostRun[]): Promise<void> {
    for (const o of outcomes) {
      const host = hosts.find((h) => h.name === o.host)!;
      if (o.meta === 'end_host') host.state = 'ended';
      if (o.meta === 'end_play') this.ended = true;
      // The next task logs in afresh: what changed about the login user (new groups) applies.
      if (o.meta === 'reset_connection') await host.close();
      if (o.meta === 'flush_handlers') {
        await this.flushHandlers(this.batch);
        break;
      }
    }
    const failedNow = outcomes.filter((o) => (o.status === 'failed' && !o.ignored) || o.status === 'unreachable');
    const fatal = this.play.anyErrorsFatal || task.source.any_errors_fatal === true;
    if (fatal && failedNow.some((o) => o.status === 'failed')) {
      for (const h of this.batch) if (h.state === 'active') h.state = 'ended';
      this.ended = true;
    }
    const pct = this.play.maxFailPercentage;
    if (pct !== undefined && this.batch.length > 0) {
      const failed = this.batch.filter((h) => h.state === 'failed' || h.state === 'unreachable').length;
      if ((failed / this.batch.length) * 100 > pct) {
        this.env.emit({ kind: 'warning', message: `max_fail_percentage ${pct}% exceeded (${failed} of ${this.batch.length} hosts failed): stopping the play` });
        this.ended = true;
      }
    }
  }

  /**
   * The task's name templated with the first host's variables, as Ansible prints it; left as
   * written when it names something undefined there (a loop's item, say).
   */
  private templatedName(task: Task, host: HostRun | undefined, extra: Extra): string | undefined {
    if (task.name === undefined || !task.name.includes('{') || !host) return task.name;
    try {
      return String(this.scopes.scope(host, task, extra.get(host)).template(task.name));
    } catch {
      return task.name;
    }
  }

  /**
   * Runs notified handlers, in the order the play defines them, on the hosts that notified
   * them. A topic stays notified for the whole flush: every handler that listens to it runs
   * (`nginx -t`, then the reload), and a handler can notify one defined after it.
   */
  private async flushHandlers(batch: HostRun[]): Promise<void> {
    // A handler the play lists twice (a role's handlers seen through two paths) runs once.
    const ran = new Map<HostRun, Set<unknown>>(batch.map((h) => [h, new Set()]));
    for (const handler of this.play.handlers) {
      const names = [handler.name, ...(handler.kind === 'task' ? handler.listen : [])].filter((n): n is string => n !== undefined);
      const identity = handler.name ?? handler;
      const targets = batch.filter(
        (h) => (h.active || (this.play.forceHandlers && h.state === 'failed')) && names.some((n) => h.notified.has(n)) && !ran.get(h)!.has(identity),
      );
      if (targets.length === 0) continue;
      for (const h of targets) ran.get(h)!.add(identity);
      if (handler.kind === 'include') await this.walkInclude(handler, targets, new Map(), { rescuable: false, handler: true });
      else await this.runTaskNode(handler, targets, new Map(), { rescuable: false }, true);
    }
    for (const h of batch) h.notified.clear();
  }
}
