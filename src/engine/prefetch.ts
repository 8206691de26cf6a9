import type { Task, TaskNode } from '../load/model.js';
import { becomeKey } from '../transport/become.js';
import type { Vars } from '../vars/scope.js';
import type { HostRun } from './host-run.js';
import { batchProbes } from './probe-batch.js';
import type { BecomeSpec, ExecResult } from '../transport/types.js';
import { isQuery, lookAheadProbes, queryRequest, type LookAheadProbe, type QueryRequest, type TaskEnv } from './task-runner.js';

/** Modules that run something on every run: whatever it does may change what a probe saw. */
const RUNS_EVERY_TIME = new Set(['command', 'shell', 'raw', 'script']);

/** The tasks of a list, with those of its blocks (not rescue/always, which run only on failure). */
export function tasksAhead(nodes: TaskNode[]): Task[] {
  return nodes.flatMap((n) => (n.kind === 'task' ? [n] : n.kind === 'block' ? tasksAhead(n.block) : []));
}

/**
 * Look-ahead probing. When a task is about to probe a host (its answers are not cached), the
 * probes of the tasks after it whose arguments are already known go along: one round trip
 * per become user, answers into the host's probe cache, where those tasks then find them.
 * How far ahead grows as windows are used up without a change (4, 16, 64, 256 tasks) and
 * starts small again after each change: a run with nothing to change probes a whole play in
 * a few round trips, a first run (a change every few tasks) wastes few probes.
 *
 * Speculation never makes a result wrong: the cache is keyed by the exact probe script, and
 * every change applied to the host drops each answer it could have reached (HostRun.
 * forgetProbes), so no answer a change made stale is used after it. It may cost a wasted
 * probe (a later task's arguments differed at run time).
 */
export async function prefetchProbes(task: Task, tasksAfter: () => Task[], host: HostRun, env: TaskEnv, extra?: Vars): Promise<void> {
  if (!host.active) return;
  // Only over a connection already made: an unreachable host is found (and timed out) once, by a task.
  const transport = host.connected ? await host.openConnection() : undefined;
  if (!transport) return;
  const own = lookAheadProbes(task, host, env, extra);
  if (own.length === 0 || own.every((p) => host.probeCache.has(p.key))) return;
  const window = host.lookAheadWindow;
  host.lookAheadWindow = Math.min(window * 4, 256);
  // A command runs (and so empties the cache) every time: probes for tasks after it would be
  // thrown away. Not so a query, nor a command guarded by creates/removes: on a converged host
  // it does not run, and where it does, only what was probed after it is wasted.
  const next = tasksAfter().slice(0, window);
  const end = next.findIndex((t) => RUNS_EVERY_TIME.has(t.module.name) && !isQuery(t) && !('creates' in t.args || 'removes' in t.args));
  const ahead = end < 0 ? next : next.slice(0, end);
  const wanted = new Map<string, LookAheadProbe>();
  const queries = new Map<string, QueryRequest>();
  // Results the tasks in between will register: a task that uses one would be seen with a
  // stale value (two roles registering the same name) or none. For such a task only probes
  // that cost next to nothing go along, and its query waits for its turn.
  const pending = new Set<string>();
  for (const t of [task, ...ahead]) {
    const stale = t !== task && mentionsAny(t, pending);
    for (const p of t === task ? own : lookAheadProbes(t, host, env, extra, { cheapOnly: stale })) if (!host.probeCache.has(p.key)) wanted.set(p.key, p);
    const q = stale ? undefined : queryRequest(t, host, env, extra);
    if (q && !host.probeCache.has(q.key)) queries.set(q.key, q);
    if (t.register) pending.add(t.register);
  }
  // A become password is typed only for a task: a failed look-ahead must not count as a sudo failure.
  const groups = new Map<string, { become: BecomeSpec | undefined; probes: LookAheadProbe[]; queries: QueryRequest[] }>();
  const group = (become: BecomeSpec | undefined) => {
    const key = becomeKey(become);
    if (!groups.has(key)) groups.set(key, { become, probes: [], queries: [] });
    return groups.get(key)!;
  };
  for (const p of wanted.values()) if (p.become?.password === undefined) group(p.become).probes.push(p);
  for (const q of queries.values()) if (q.become?.password === undefined) group(q.become).queries.push(q);
  // Per become user, the probe batch and the queries go out together: one round trip.
  await Promise.all(
    [...groups.values()].flatMap(({ become, probes, queries: qs }) => {
      const batch = probes.length ? batchProbes(probes.map((p) => [p.key, p.probe])) : undefined;
      const sent = [
        ...(batch ? [quietly(transport.exec({ script: batch.script, become }), (r) => Object.entries(batch.parseEach(r.stdout.toString('utf8'))).forEach(([key, facts]) => host.probeCache.set(key, facts)))] : []),
        ...qs.map((q) => quietly(transport.exec({ script: q.script, stdin: q.stdin, become }), (r) => host.probeCache.set(q.key, r))),
      ];
      return [host.timed('probeMs', Promise.all(sent))];
    }),
  );
}

/** Whether a task's arguments, conditions or loop name one of these variables. */
function mentionsAny(task: Task, names: Set<string>): boolean {
  if (names.size === 0) return false;
  const text = JSON.stringify([task.args, task.when, task.loop ?? null, task.environment ?? null]);
  return [...names].some((n) => new RegExp(`\\b${n.replace(/[^\w]/g, '')}\\b`).test(text));
}

/** Lost connection, become refused: each task then asks for itself and reports it. */
function quietly(answer: Promise<ExecResult>, use: (r: ExecResult) => void): Promise<void> {
  return answer.then(use, () => undefined);
}
