import { resolve } from 'node:path';
import { renderDiff } from './diff.js';
import { resultJson } from './plain.js';
import { reporterOf, type HostStats, type HostTaskResult, type Reporter, type RunEvent, type TaskStatus } from './events.js';
import { writePrivateFile } from './private-file.js';
import { renderReport } from './report-html.js';
import { style } from './style.js';
import { redact, redactValue } from '../vault/redact.js';

/** One loop item of a result, as the report lists it. */
export interface ReportItem {
  item: string;
  status: TaskStatus;
  msg?: string | undefined;
}

/** What one task did on one host, with when it ran (ms since the run started). */
export interface ReportResult {
  host: string;
  status: TaskStatus;
  ignored: boolean;
  msg?: string | undefined;
  changes: string[];
  /** Each diff already rendered as unified text by the one diff renderer. */
  diffs: string[];
  stderr?: string | undefined;
  /** What a task asks to show (debug), as the plain output prints it. */
  output?: string | undefined;
  items: ReportItem[];
  startMs: number;
  durationMs: number;
}

export interface ReportTask {
  name: string;
  where: string;
  handler: boolean;
  results: ReportResult[];
}

export interface ReportPlay {
  name: string;
  hosts: string[];
  tasks: ReportTask[];
}

/** The whole run as the report shows it: built from the run events, masked before rendering. */
export interface RunReport {
  playbook: string;
  check: boolean;
  diff: boolean;
  startedAt: string;
  durationMs: number;
  plays: ReportPlay[];
  stats: Record<string, HostStats>;
  warnings: string[];
  /** The run ended before its recap (interrupted, or an error): the page says so. */
  complete: boolean;
}

const plainStyle = style(false);

function withoutChanged(result: Record<string, unknown>): Record<string, unknown> {
  const { changed: _changed, ...rest } = result;
  return rest;
}

function reportResult(r: HostTaskResult, endMs: number): ReportResult {
  const items = ((r as { items?: HostTaskResult[] }).items ?? []).map((i) => ({ item: i.item ?? '', status: i.status, msg: i.msg }));
  const stderr = !r.censored && r.status === 'failed' && typeof r.result?.stderr === 'string' && r.result.stderr ? r.result.stderr : undefined;
  return {
    host: r.host,
    status: r.status,
    ignored: r.ignored === true,
    msg: r.included !== undefined ? `included: ${r.included}` : r.msg,
    changes: r.changes,
    diffs: r.diffs.map((d) => renderDiff(d, plainStyle)),
    stderr,
    output: r.show && !r.censored ? resultJson(withoutChanged(r.result ?? {})) : undefined,
    items,
    startMs: Math.max(0, endMs - r.durationMs),
    durationMs: r.durationMs,
  };
}

/**
 * --report FILE.html: the run as one self-contained page (hosts x tasks, changes, diffs,
 * a timeline, the recap), written 0600 when the run ends. Everything in it passes the same
 * mask as --json, value by value and then as text.
 */
export function htmlReporter(file: string, cwd: string, now: () => number = Date.now): Reporter {
  const started = now();
  const report: RunReport = { playbook: '', check: false, diff: false, startedAt: new Date(started).toISOString(), durationMs: 0, plays: [], stats: {}, warnings: [], complete: false };
  let task: ReportTask | undefined;
  const handlers = {
    run_start: (e: Extract<RunEvent, { kind: 'run_start' }>) => Object.assign(report, { playbook: e.playbook, check: e.check, diff: e.diff }),
    play_start: (e: Extract<RunEvent, { kind: 'play_start' }>) => {
      report.plays.push({ name: e.name, hosts: e.hosts, tasks: [] });
      task = undefined;
    },
    task_start: (e: Extract<RunEvent, { kind: 'task_start' }>) => {
      task = { name: e.name, where: e.where, handler: e.handler, results: [] };
      report.plays.at(-1)?.tasks.push(task);
    },
    host_result: (e: Extract<RunEvent, { kind: 'host_result' }>) => {
      // Meta tasks are neither shown nor counted, as in the recap.
      if (task && !e.result.silent) task.results.push(reportResult(e.result, now() - started));
    },
    // A loop's items arrive again inside its host_result.
    item_result: () => undefined,
    retry: () => undefined,
    warning: (e: Extract<RunEvent, { kind: 'warning' }>) => void report.warnings.push(e.host ? `[${e.host}] ${e.message}` : e.message),
    recap: (e: Extract<RunEvent, { kind: 'recap' }>) => Object.assign(report, { stats: e.stats, durationMs: e.durationMs, complete: true }),
  };
  return reporterOf(handlers, async () => {
    if (!report.complete) report.durationMs = now() - started;
    for (const play of report.plays) play.tasks = play.tasks.filter((t) => t.results.length > 0);
    await writePrivateFile(resolve(cwd, file), redact(renderReport(redactValue(report))), 'run report');
  });
}
