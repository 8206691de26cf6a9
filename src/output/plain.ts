import { renderDiff } from './diff.js';
import { reporterOf, type HostTaskResult, type Reporter, type RunEvent } from './events.js';
import type { Style } from './style.js';
import { redactValue } from '../vault/redact.js';

export interface PlainOptions {
  write(text: string): void;
  style: Style;
  verbosity: number;
  diff: boolean;
  check: boolean;
  /** --stats: what each host cost, after the recap. */
  stats?: boolean;
}

const STATUS_WORD: Record<HostTaskResult['status'], string> = {
  ok: 'ok',
  changed: 'changed',
  failed: 'fatal',
  skipped: 'skipping',
  unreachable: 'fatal',
};

function banner(text: string): string {
  return `\n${text} ${'*'.repeat(Math.max(3, 79 - text.length))}\n`;
}

/** Python-ish JSON as Ansible prints results, 4-space indented; masked value by value first. */
export function resultJson(value: unknown): string {
  return JSON.stringify(redactValue(value), (_k, v) => (Buffer.isBuffer(v) ? `<${v.length} bytes>` : v), 4);
}

const kB = (n: number) => `${(n / 1000).toFixed(1)} kB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Per host: round trips, channels, bytes each way, and where the time went. */
function writeStats(o: PlainOptions, e: Extract<RunEvent, { kind: 'recap' }>): void {
  o.write(o.style.bold(banner('STATS')));
  const names = Object.keys(e.stats).sort();
  const width = Math.max(0, ...names.map((n) => n.length)) + 1;
  for (const name of names) {
    const t = e.transport[name];
    if (!t) {
      o.write(`${name.padEnd(width)}: not connected\n`);
      continue;
    }
    o.write(
      `${name.padEnd(width)}: round_trips=${t.roundTrips}  requests=${t.requests}  channels=${t.channelsOpened}  sent=${kB(t.bytesSent)}  received=${kB(t.bytesReceived)}  connect=${secs(t.connectMs)}  probe=${secs(t.probeMs)}  apply=${secs(t.applyMs)}\n`,
    );
  }
}

/** Line-by-line output in Ansible's shape, for CI logs, pipes and NO_COLOR terminals. */
export function plainReporter(o: PlainOptions): Reporter {
  const { style: s } = o;
  const colour = (r: HostTaskResult, text: string): string =>
    r.status === 'changed' ? s.yellow(text) : r.status === 'ok' ? s.green(text) : r.status === 'skipped' ? s.cyan(text) : r.ignored ? s.cyan(text) : s.red(text);
  const lineFor = (r: HostTaskResult): string => {
    if (r.included !== undefined) return s.cyan(`included: ${r.included} for ${r.host}`);
    const item = r.item !== undefined ? ` => (item=${r.item})` : '';
    const who = r.delegatedTo ? `${r.host} -> ${r.delegatedTo}` : r.host;
    if (r.status === 'unreachable') return colour(r, `fatal: [${who}]: UNREACHABLE! => ${r.msg ?? ''}`);
    if (r.status === 'failed') return colour(r, `fatal: [${who}]${item}: FAILED! => ${r.msg ?? 'failed'}`) + (r.ignored ? `\n${s.cyan('...ignoring')}` : '');
    const base = `${STATUS_WORD[r.status]}: [${who}]${item}`;
    if (r.show || o.verbosity > 0) {
      const shown = { ...(r.result ?? {}) };
      if (r.show && o.verbosity === 0) delete shown.changed;
      return colour(r, `${base} => ${resultJson(shown)}`);
    }
    return colour(r, base);
  };
  const details = (r: HostTaskResult): string => {
    const out: string[] = [];
    // Under --check, and with -v, say exactly what was (or would be) done.
    if ((o.check || o.verbosity > 0) && (r.status === 'changed' || r.status === 'skipped')) for (const c of r.changes) out.push(s.dim(`    ${o.check ? 'would ' : ''}${c}`));
    if (o.diff && r.diffs.length) for (const d of r.diffs) out.push(renderDiff(d, s).replace(/\n$/, ''));
    if (r.status === 'failed' && !r.censored) {
      const res = r.result ?? {};
      if (typeof res.stderr === 'string' && res.stderr) out.push(s.red(`    stderr: ${res.stderr.split('\n').join('\n            ')}`));
      if (typeof res.stdout === 'string' && res.stdout && o.verbosity > 0) out.push(`    stdout: ${res.stdout.split('\n').join('\n            ')}`);
    }
    return out.join('\n');
  };
  const emitResult = (r: HostTaskResult): void => {
    const extra = details(r);
    o.write(`${lineFor(r)}\n${extra ? `${extra}\n` : ''}`);
  };
  const handlers = {
    run_start: (e: Extract<RunEvent, { kind: 'run_start' }>) => {
      if (e.check) o.write(s.dim('check mode: nothing will be changed\n'));
    },
    play_start: (e: Extract<RunEvent, { kind: 'play_start' }>) => o.write(s.bold(banner(`PLAY [${e.name}]`))),
    task_start: (e: Extract<RunEvent, { kind: 'task_start' }>) => {
      o.write(s.bold(banner(`${e.handler ? 'RUNNING HANDLER' : 'TASK'} [${e.name}]`)));
      if (o.verbosity > 1) o.write(s.dim(`task path: ${e.where}\n`));
    },
    host_result: (e: Extract<RunEvent, { kind: 'host_result' }>) => {
      const r = e.result;
      if (r.silent) return;
      // A loop's items were already printed; only a failure gets its own line. A loop over
      // no items prints one line for the host ("skipping"), as Ansible.
      const items = (r as { items?: unknown[] }).items;
      if (Array.isArray(items) && items.length > 0 && r.status !== 'failed' && r.status !== 'unreachable') return;
      if (Array.isArray(items) && items.length > 0) {
        o.write(`${lineFor({ ...r, changes: [], diffs: [], item: undefined })}\n`);
        return;
      }
      emitResult(r);
    },
    item_result: (e: Extract<RunEvent, { kind: 'item_result' }>) => emitResult(e.result),
    // Ansible's words, so logs read the same; with what the attempt said, when it said anything.
    retry: (e: Extract<RunEvent, { kind: 'retry' }>) => o.write(s.yellow(`FAILED - RETRYING: [${e.host}]: ${e.task} (${e.retriesLeft} retries left).${e.msg ? ` ${e.msg}` : ''}\n`)),
    warning: (e: Extract<RunEvent, { kind: 'warning' }>) => o.write(s.yellow(`[WARNING]: ${e.host ? `[${e.host}] ` : ''}${e.message}\n`)),
    recap: (e: Extract<RunEvent, { kind: 'recap' }>) => {
      o.write(s.bold(banner('PLAY RECAP')));
      const names = Object.keys(e.stats).sort();
      const width = Math.max(0, ...names.map((n) => n.length)) + 1;
      for (const name of names) {
        const st = e.stats[name]!;
        const hostColour = st.failed || st.unreachable ? s.red : st.changed ? s.yellow : s.green;
        o.write(
          `${hostColour(name.padEnd(width))}: ok=${st.ok}    changed=${st.changed}    unreachable=${st.unreachable}    failed=${st.failed}    skipped=${st.skipped}    rescued=${st.rescued}    ignored=${st.ignored}\n`,
        );
      }
      if (o.stats) writeStats(o, e);
      if (o.verbosity > 0 || o.stats) o.write(s.dim(`\nfinished in ${(e.durationMs / 1000).toFixed(2)} s\n`));
    },
  };
  return reporterOf(handlers);
}
