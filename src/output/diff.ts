import { createRequire } from 'node:module';
import type { FileDiff } from './events.js';
import type { Style } from './style.js';
import { containsSecret, sha256Hex } from '../vault/redact.js';

type JsDiff = typeof import('diff');
let jsdiff: JsDiff | undefined;
/** jsdiff loads when the first diff is rendered: most runs show none, and it costs ~35 ms to load. */
function diffLib(): JsDiff {
  return (jsdiff ??= createRequire(import.meta.url)('diff') as JsDiff);
}

/** Content larger than this is summarised, not diffed. */
export const DIFF_SIZE_CAP = 256 * 1024;
/** jsdiff gives up after this long on pathological inputs. */
export const DIFF_TIMEOUT_MS = 2000;

function isBinary(b: Buffer | string | null): boolean {
  if (b === null || typeof b === 'string') return false;
  return b.subarray(0, 8192).includes(0);
}

function text(b: Buffer | string | null): string {
  return b === null ? '' : typeof b === 'string' ? b : b.toString('utf8');
}

function size(b: Buffer | string | null): number {
  return b === null ? 0 : typeof b === 'string' ? Buffer.byteLength(b) : b.length;
}

/** The one renderer of diffs: unified format, capped, never for binary or hidden content. */
export function renderDiff(d: FileDiff, style: Style): string {
  const head = `${style.bold(`--- before: ${d.path}`)}\n${style.bold(`+++ after: ${d.path}`)}\n`;
  // Content that holds a secret (vault value, password) is never diffed, only checksummed.
  if (d.hidden || containsSecret(d.before) || containsSecret(d.after)) {
    const sum = (given: string | undefined, b: Buffer | string | null) => {
      const hex = given ?? (b === null ? undefined : sha256Hex(b));
      return hex ? `sha256 ${hex.slice(0, 16)}…` : 'absent';
    };
    return `${head}(content hidden: ${sum(d.beforeSha256, d.before)} -> ${sum(d.afterSha256, d.after)})\n`;
  }
  if (d.afterBytes !== undefined) return `${head}(diff not shown: larger than ${DIFF_SIZE_CAP / 1024} KiB; ${size(d.before)} -> ${d.afterBytes} bytes)\n`;
  if (isBinary(d.before) || isBinary(d.after)) return `${head}Binary files differ (${size(d.before)} -> ${size(d.after)} bytes)\n`;
  if (size(d.before) > DIFF_SIZE_CAP || size(d.after) > DIFF_SIZE_CAP) {
    return `${head}(diff not shown: larger than ${DIFF_SIZE_CAP / 1024} KiB; ${size(d.before)} -> ${size(d.after)} bytes)\n`;
  }
  const patch = diffLib().createTwoFilesPatch(`before: ${d.path}`, `after: ${d.path}`, text(d.before), text(d.after), undefined, undefined, {
    context: 3,
    timeout: DIFF_TIMEOUT_MS,
  } as Parameters<JsDiff['createTwoFilesPatch']>[6]);
  if (patch === undefined) return `${head}(diff not shown: took longer than ${DIFF_TIMEOUT_MS} ms to compute)\n`;
  return patch
    .split('\n')
    .filter((line) => !/^(Index: |={20,})/.test(line))
    .map((line) => {
      if (line.startsWith('---') || line.startsWith('+++')) return style.bold(line);
      if (line.startsWith('+')) return style.green(line);
      if (line.startsWith('-')) return style.red(line);
      if (line.startsWith('@@')) return style.cyan(line);
      return line;
    })
    .join('\n');
}

/** Lines added and removed, for --json. */
export function diffStats(d: FileDiff): { path: string; hidden: boolean; before_bytes: number; after_bytes: number } {
  return { path: d.path, hidden: d.hidden === true, before_bytes: size(d.before), after_bytes: d.afterBytes ?? size(d.after) };
}
