import { redact } from '../vault/redact.js';
import { reporterOf, type Reporter, type RunEvent } from './events.js';
import { boardLines, type BoardHost, type BoardSize } from './host-board.js';
import { plainReporter, type PlainOptions } from './plain.js';

export interface LiveOptions extends PlainOptions {
  /** The terminal's size, asked at every redraw (it may be resized). */
  size?: () => BoardSize;
}

const terminalSize = (): BoardSize => ({ columns: process.stdout.columns || 80, rows: process.stdout.rows || 24 });

// Redrawn in place: up to the block's first line, each line cleared and rewritten, the
// rest of the screen cleared; one write per frame, so the terminal never shows a blank
// block between two frames (erase-then-write is what flickers).
const UP = (n: number) => (n > 0 ? `\x1b[${n}F` : '\r');
const CLEAR_LINE = '\x1b[2K';
const CLEAR_BELOW = '\x1b[J';
const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';

/**
 * The terminal view: per play, one line per host with the task it is on and for how long
 * (a host still at work when most are done is highlighted), then what changed or failed
 * (with diffs), then the recap.
 */
export function liveReporter(o: LiveOptions): Reporter {
  const size = o.size ?? terminalSize;
  const log: string[] = [];
  const plain = plainReporter({ ...o, write: (t) => log.push(t) });
  let hosts = new Map<string, BoardHost>();
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  let pendingTask: Extract<RunEvent, { kind: 'task_start' }> | undefined;
  const items = new Map<string, RunEvent[]>();
  const restoreCursor = () => process.stdout.isTTY && process.stdout.write(SHOW_CURSOR);

  const draw = (): void => {
    const lines = boardLines([...hosts.values()], Date.now(), size(), o.style).map((l) => CLEAR_LINE + redact(l));
    o.write(`${drawn ? UP(drawn) : HIDE_CURSOR}${lines.join('\n')}\n${CLEAR_BELOW}`);
    drawn = lines.length;
  };

  const finishPlay = (): void => {
    if (!timer) return;
    clearInterval(timer);
    timer = undefined;
    draw();
    o.write(SHOW_CURSOR);
    process.off('exit', restoreCursor);
    drawn = 0;
    if (log.length) o.write(log.splice(0).join(''));
  };

  const startPlay = (e: Extract<RunEvent, { kind: 'play_start' }>): void => {
    finishPlay();
    plain.handle(e);
    o.write(log.splice(0).join(''));
    hosts = new Map(e.hosts.map((name) => [name, { name, task: 'starting', since: Date.now(), done: 0 }]));
    process.on('exit', restoreCursor);
    draw();
    timer = setInterval(draw, 200);
  };

  const handlers = {
    run_start: (e: Extract<RunEvent, { kind: 'run_start' }>) => plain.handle(e),
    play_start: startPlay,
    task_start: (e: Extract<RunEvent, { kind: 'task_start' }>) => {
      pendingTask = e;
      for (const name of e.hosts) {
        const h = hosts.get(name);
        if (h && !h.out) Object.assign(h, { task: e.name, since: Date.now() });
      }
    },
    host_result: (e: Extract<RunEvent, { kind: 'host_result' }>) => {
      const h = hosts.get(e.result.host);
      if (h) {
        // Meta tasks are neither shown nor counted (as in the recap), but the host is through them.
        if (!e.result.silent) h.done++;
        h.task = undefined;
        if (e.result.status === 'unreachable' || (e.result.status === 'failed' && !e.result.ignored)) h.out = `${e.result.status}: ${e.task}`;
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
      finishPlay();
      plain.handle(e);
      o.write(log.splice(0).join(''));
    },
  };
  return reporterOf(handlers, async () => {
    finishPlay();
    if (log.length) o.write(log.splice(0).join(''));
  });
}
