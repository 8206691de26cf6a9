import type { Task, TaskNode } from '../load/model.js';
import { becomeKey } from '../transport/become.js';
import type { Vars } from '../vars/scope.js';
import type { HostRun } from './host-run.js';
import { batchProbes } from './probe-batch.js';
import { lookAheadProbes, type LookAheadProbe, type TaskEnv } from './task-runner.js';

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
 * How far ahead grows as windows are used up without a change (4, 8, ... 64 tasks) and
 * starts small again after each change: a run with nothing to change probes a whole play in
 * a few round trips, a first run (a change every few tasks) wastes few probes.
 *
 * Speculation never makes a result wrong: the cache is keyed by the exact probe script and
 * emptied by every change applied to the host, so an answer from before a change is never
 * used after it. It may cost a wasted probe (a later task's arguments differed at run time).
 */
export async function prefetchProbes(task: Task, tasksAfter: () => Task[], host: HostRun, env: TaskEnv, extra?: Vars): Promise<void> {
  if (!host.active) return;
  // Only over a connection already made: an unreachable host is found (and timed out) once, by a task.
  const transport = host.connected ? await host.openConnection() : undefined;
  if (!transport) return;
  const own = lookAheadProbes(task, host, env, extra);
  if (own.length === 0 || own.every((p) => host.probeCache.has(p.key))) return;
  const window = host.lookAheadWindow;
  host.lookAheadWindow = Math.min(window * 2, 64);
  // A command runs (and so empties the cache) every time: probes for tasks after it would be thrown away.
  const next = tasksAfter().slice(0, window);
  const end = next.findIndex((t) => RUNS_EVERY_TIME.has(t.module.name));
  const ahead = end < 0 ? next : next.slice(0, end);
  const wanted = new Map<string, LookAheadProbe>();
  for (const t of [task, ...ahead]) for (const p of t === task ? own : lookAheadProbes(t, host, env, extra)) if (!host.probeCache.has(p.key)) wanted.set(p.key, p);
  const groups = new Map<string, LookAheadProbe[]>();
  for (const p of wanted.values()) {
    // A become password is typed only for a task: a failed look-ahead must not count as a sudo failure.
    if (p.become?.password !== undefined) continue;
    const key = becomeKey(p.become);
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  await Promise.all(
    [...groups.values()].map(async (probes) => {
      const batch = batchProbes(probes.map((p) => [p.key, p.probe]));
      try {
        const r = await host.timed('probeMs', transport.exec({ script: batch.script, become: probes[0]!.become }));
        for (const [key, facts] of Object.entries(batch.parseEach(r.stdout.toString('utf8')))) host.probeCache.set(key, facts);
      } catch {
        // Lost connection, become refused: each task probes for itself and reports it.
      }
    }),
  );
}
