import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Debian's chromium (in .ci/run's package list): a real browser for the run report. */
export const CHROMIUM = '/usr/bin/chromium';

/** Fails in CI (where .ci/run installs chromium), skips elsewhere. */
export function requireChromium(ctx: Mocha.Context): void {
  if (existsSync(CHROMIUM)) return;
  if (process.env.SENEX_LAB_REQUIRED === '1') throw new Error(`${CHROMIUM} is missing, but SENEX_LAB_REQUIRED=1: apt-get install chromium (.ci/run's package list has it)`);
  ctx.skip();
}

/**
 * Headless Chromium on one page, with everything that would reach the network off; its own
 * throw-away profile, so runs never share state. Resolves with stdout.
 */
function chromium(args: string[], url: string): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'senex-chromium-'));
  const flags = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`];
  return new Promise((resolve, reject) => {
    execFile(CHROMIUM, [...flags, ...args, url], { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 }, (err, stdout, stderr) => {
      rmSync(profile, { recursive: true, force: true });
      if (err) reject(new Error(`chromium ${args.join(' ')} ${url} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** The DOM after the page's script ran, serialised by the browser (`#fragment` as a click on a link would set it). */
export function dumpDom(file: string, fragment = ''): Promise<string> {
  return chromium(['--dump-dom'], pathToFileURL(file).href + fragment);
}

export async function screenshot(file: string, png: string, size = '1280,1600', fragment = ''): Promise<void> {
  await chromium([`--screenshot=${png}`, `--window-size=${size}`, '--hide-scrollbars', '--virtual-time-budget=2000'], pathToFileURL(file).href + fragment);
  if (!existsSync(png)) throw new Error(`chromium wrote no screenshot at ${png}`);
}

const unescape = (s: string): string =>
  s.replace(/&(#\d+|lt|gt|amp|quot|nbsp);/g, (_m, e: string) => (e.startsWith('#') ? String.fromCharCode(Number(e.slice(1))) : ({ lt: '<', gt: '>', amp: '&', quot: '"', nbsp: ' ' } as Record<string, string>)[e]!));
const text = (html: string): string => unescape(html.replace(/<[^>]*>/g, ''));

/**
 * The report's hosts x tasks grids as the browser serialised them: per play, the host
 * columns and, per task row, its name and each host's status (the cell's class).
 */
export function gridsOf(dom: string): Array<{ hosts: string[]; tasks: Array<{ name: string; cells: string[] }> }> {
  return [...dom.matchAll(/<table class="grid">([\s\S]*?)<\/table>/g)].map(([, table]) => {
    const hosts = [...table!.matchAll(/<th class="host"[^>]*><span>([\s\S]*?)<\/span><\/th>/g)].map((m) => text(m[1]!));
    const body = table!.slice(table!.indexOf('<tbody>'));
    const tasks = [...body.matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map(([, row]) => ({
      name: text(/<th class="task"[^>]*>([\s\S]*?)<\/th>/.exec(row!)![1]!).replace(/^handler /, ''),
      cells: [...row!.matchAll(/<td class="([a-z]+)"/g)].map((m) => m[1]!).filter((c) => c !== 'n' && c !== 'dur'),
    }));
    return { hosts, tasks };
  });
}

/** The markup inside the result with this id (its message, changes and diffs). */
export function resultHtml(dom: string, id: string): string {
  const at = dom.indexOf(`id="${id}"`);
  if (at < 0) throw new Error(`no element with id ${id} in the page`);
  return dom.slice(dom.indexOf('>', at) + 1, dom.indexOf('</div>', at));
}

export const textOf = text;
