import type { Style } from './style.js';

/** Where one host is in the current play, as the live view shows it. */
export interface BoardHost {
  name: string;
  /** The task it is working on; undefined once it finished the current task (waiting for the others). */
  task?: string | undefined;
  /** When it started that task (ms, the board's clock). */
  since: number;
  done: number;
  /** Failed or unreachable: out of the play, with why. */
  out?: string | undefined;
}

export interface BoardSize {
  columns: number;
  rows: number;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const NAME_MAX = 24;

/** Cuts a plain string to a width, marking the cut; the view's text is never wider than the terminal. */
function fit(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  return width <= 1 ? chars.slice(0, width).join('') : `${chars.slice(0, width - 1).join('')}…`;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/**
 * The lines of the live view, at most `size.rows - 1` of them and each narrower than the
 * terminal, so nothing wraps or scrolls (what makes a redraw in place flicker or smear).
 * One line per host while they fit; a host still on a task that most hosts have finished
 * is a straggler, and its line is highlighted. When the hosts do not fit, the ones at work
 * come first, slowest first, and the rest are counted on a last line.
 */
export function boardLines(hosts: BoardHost[], now: number, size: BoardSize, style: Style): string[] {
  const width = Math.max(20, size.columns - 1);
  const nameWidth = Math.min(NAME_MAX, Math.max(4, ...hosts.map((h) => [...h.name].length)));
  const working = hosts.filter((h) => h.task !== undefined && !h.out);
  const finished = hosts.filter((h) => h.task === undefined && !h.out).length;
  const stragglers = finished >= working.length && finished > 0;
  const frame = SPINNER[Math.floor(now / 100) % SPINNER.length]!;

  const line = (h: BoardHost): string => {
    const name = fit(h.name, nameWidth).padEnd(nameWidth);
    const done = `[${h.done} done]`;
    // Everything but the task name has a fixed width, so a cut only ever shortens the name.
    const head = (mark: string, time: string) => `${mark} ${name} ${time.padStart(7)}  ${done.padEnd(11)} `;
    if (h.out) return style.red(fit(`${head('✗', '')}${h.out}`, width));
    if (h.task === undefined) return style.dim(fit(`${head('✓', '')}waiting for the others`, width));
    const text = fit(`${head(frame, seconds(now - h.since))}${h.task}`, width);
    return stragglers ? style.yellow(style.bold(text)) : text;
  };

  const room = Math.max(1, size.rows - 1);
  if (hosts.length <= room) return hosts.map(line);
  // Not every host fits: those at work (the slowest first), those out, then those waiting, and a count of the rest.
  const order = [...working.sort((a, b) => a.since - b.since), ...hosts.filter((h) => h.out), ...hosts.filter((h) => h.task === undefined && !h.out)];
  const shown = order.slice(0, room - 1);
  const hidden = order.slice(room - 1);
  const count = (n: number, what: string) => (n ? `${n} ${what}` : '');
  const parts = [
    count(hidden.filter((h) => h.task !== undefined && !h.out).length, 'at work'),
    count(hidden.filter((h) => h.out).length, 'failed or unreachable'),
    count(hidden.filter((h) => h.task === undefined && !h.out).length, 'waiting for the others'),
  ].filter(Boolean);
  return [...shown.map(line), style.dim(fit(`  … ${hidden.length} more of ${hosts.length} hosts: ${parts.join(', ')}`, width))];
}
