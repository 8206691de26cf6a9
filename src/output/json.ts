import { writeFile } from 'node:fs/promises';
import { diffStats } from './diff.js';
import { redact, redactValue } from '../vault/redact.js';
import { reporterOf, type HostTaskResult, type Reporter, type RunEvent } from './events.js';

interface JsonTask {
  name: string;
  where: string;
  handler: boolean;
  hosts: Record<string, unknown>;
}

interface JsonPlay {
  name: string;
  hosts: string[];
  tasks: JsonTask[];
}

function hostEntry(r: HostTaskResult): Record<string, unknown> {
  const items = (r as { items?: HostTaskResult[] }).items;
  return {
    status: r.status,
    changed: r.status === 'changed',
    ...(r.ignored ? { ignored: true } : {}),
    ...(r.msg !== undefined ? { msg: r.msg } : {}),
    changes: r.changes,
    diff: r.diffs.map(diffStats),
    duration_ms: r.durationMs,
    ...(r.censored ? { censored: true } : { result: r.result ?? {} }),
    ...(items ? { items: items.map((i) => ({ item: i.item, ...hostEntry(i) })) } : {}),
  };
}

/** --json FILE: the whole run as one document, written when the run ends. */
export function jsonReporter(file: string): Reporter {
  const doc: Record<string, unknown> & { plays: JsonPlay[] } = { plays: [] };
  let task: JsonTask | undefined;
  const handlers = {
    run_start: (e: Extract<RunEvent, { kind: 'run_start' }>) => Object.assign(doc, { playbook: e.playbook, check: e.check, diff: e.diff }),
    play_start: (e: Extract<RunEvent, { kind: 'play_start' }>) => void doc.plays.push({ name: e.name, hosts: e.hosts, tasks: [] }),
    task_start: (e: Extract<RunEvent, { kind: 'task_start' }>) => {
      task = { name: e.name, where: e.where, handler: e.handler, hosts: {} };
      doc.plays.at(-1)?.tasks.push(task);
    },
    host_result: (e: Extract<RunEvent, { kind: 'host_result' }>) => {
      if (task) task.hosts[e.result.host] = hostEntry(e.result);
    },
    item_result: () => undefined,
    // The task's result has the attempts it took.
    retry: () => undefined,
    warning: (e: Extract<RunEvent, { kind: 'warning' }>) => void ((doc.warnings ??= []) as string[]).push(e.message),
    recap: (e: Extract<RunEvent, { kind: 'recap' }>) => Object.assign(doc, { stats: e.stats, transport: e.transport, duration_ms: e.durationMs }),
  };
  return reporterOf(handlers, async () => {
    // Masked value by value (a secret with a quote or newline is escaped in JSON text), then as text.
    const text = JSON.stringify(redactValue(doc), (_k, v) => (Buffer.isBuffer(v) ? `<${v.length} bytes>` : v), 2);
    await writeFile(file, `${redact(text)}\n`, { mode: 0o600 });
  });
}

/** Sends each event to every reporter. */
export function fanOut(reporters: Reporter[]): Reporter {
  return {
    handle: (e) => reporters.forEach((r) => r.handle(e)),
    close: async () => {
      for (const r of reporters) await r.close();
    },
  };
}
