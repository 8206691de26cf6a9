import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
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
    await writePrivately(file, `${redact(text)}\n`);
  });
}

/**
 * Writes FILE as a new 0600 file, whatever was there: a fresh temp file beside it (O_EXCL, so
 * never an existing file or a planted symlink), renamed over the name. An existing file keeps
 * neither its mode nor its inode, and a symlink at FILE is replaced, its target never written.
 */
async function writePrivately(file: string, text: string): Promise<void> {
  const tmp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const fd = await open(tmp, 'wx', 0o600);
  try {
    await fd.chmod(0o600); // the umask may only have narrowed it; say it exactly
    await fd.writeFile(text);
    await fd.close();
    await rename(tmp, file);
  } catch (e) {
    await fd.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
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
