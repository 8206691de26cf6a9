import { Listr, type ListrTaskWrapper } from 'listr2';
import { redact } from '../vault/redact.js';
import { reporterOf, type Reporter, type RunEvent } from './events.js';
import { plainReporter, type PlainOptions } from './plain.js';

type Wrapper = ListrTaskWrapper<unknown, never, never>;

interface LiveHost {
  wrapper?: Wrapper;
  resolve: () => void;
  fail: (e: Error) => void;
  task: string;
  since: number;
  done: number;
  failed?: string;
}

/**
 * The terminal view: one line per host with the task it is on and for how long (listr2),
 * then, per play, what changed or failed (with diffs), then the recap.
 */
export function liveReporter(o: PlainOptions): Reporter {
  const log: string[] = [];
  const plain = plainReporter({ ...o, write: (t) => log.push(t) });
  let hosts = new Map<string, LiveHost>();
  let running: Promise<unknown> | undefined;
  let pendingTask: Extract<RunEvent, { kind: 'task_start' }> | undefined;
  const items = new Map<string, RunEvent[]>();
  let timer: NodeJS.Timeout | undefined;

  const refresh = (): void => {
    for (const [name, h] of hosts) {
      if (!h.wrapper || h.failed) continue;
      h.wrapper.title = `${name}  ${o.style.dim(`[${h.done} done]`)}  ${redact(h.task)}  ${o.style.dim(`${((Date.now() - h.since) / 1000).toFixed(1)}s`)}`;
    }
  };

  const finishPlay = async (): Promise<void> => {
    if (!running) return;
    for (const h of hosts.values()) (h.failed ? () => h.fail(new Error(h.failed)) : h.resolve)();
    await running.catch(() => undefined);
    running = undefined;
    if (timer) clearInterval(timer);
    if (log.length) o.write(log.splice(0).join(''));
  };

  const startPlay = (e: Extract<RunEvent, { kind: 'play_start' }>): void => {
    plain.handle(e);
    o.write(log.splice(0).join(''));
    hosts = new Map();
    const listr = new Listr(
      e.hosts.map((name) => ({
        title: name,
        task: (_ctx: unknown, wrapper: Wrapper) =>
          new Promise<void>((resolve, fail) => {
            const h = hosts.get(name)!;
            Object.assign(h, { wrapper, resolve, fail });
          }),
      })),
      { concurrent: true, exitOnError: false },
    );
    for (const name of e.hosts) hosts.set(name, { resolve: () => {}, fail: () => {}, task: 'starting', since: Date.now(), done: 0 });
    running = listr.run();
    timer = setInterval(refresh, 200);
  };

  const handlers = {
    run_start: (e: Extract<RunEvent, { kind: 'run_start' }>) => plain.handle(e),
    play_start: (e: Extract<RunEvent, { kind: 'play_start' }>) => {
      void finishPlay().then(() => startPlay(e));
    },
    task_start: (e: Extract<RunEvent, { kind: 'task_start' }>) => {
      pendingTask = e;
      for (const name of e.hosts) {
        const h = hosts.get(name);
        if (h) Object.assign(h, { task: e.name, since: Date.now() });
      }
      refresh();
    },
    host_result: (e: Extract<RunEvent, { kind: 'host_result' }>) => {
      const h = hosts.get(e.result.host);
      if (h) {
        h.done++;
        if (e.result.status === 'unreachable' || (e.result.status === 'failed' && !e.result.ignored)) h.failed = `${e.result.status}: ${e.task}`;
      }
      const notable = e.result.status === 'changed' || e.result.status === 'failed' || e.result.status === 'unreachable' || e.result.show;
      const itemEvents = items.get(e.result.host) ?? [];
      items.delete(e.result.host);
      if (!notable) return;
      if (pendingTask) {
        plain.handle(pendingTask);
        pendingTask = undefined;
      }
      for (const i of itemEvents) plain.handle(i);
      plain.handle(e);
    },
    item_result: (e: Extract<RunEvent, { kind: 'item_result' }>) => void items.set(e.result.host, [...(items.get(e.result.host) ?? []), e]),
    warning: (e: Extract<RunEvent, { kind: 'warning' }>) => plain.handle(e),
    retry: (e: Extract<RunEvent, { kind: 'retry' }>) => plain.handle(e),
    recap: (e: Extract<RunEvent, { kind: 'recap' }>) => {
      void finishPlay().then(() => {
        plain.handle(e);
        o.write(log.splice(0).join(''));
      });
    },
  };
  return reporterOf(handlers, async () => {
    await finishPlay();
    // The recap handler queued its output behind finishPlay; give it its turn.
    await new Promise((r) => setImmediate(r));
    if (log.length) o.write(log.splice(0).join(''));
  });
}
