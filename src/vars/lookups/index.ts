import { fromEngine } from '../python-repr.js';
import { env, lines, password, pipe, url } from './controller.js';
import { dict, indexedItems, items, list, nested, sequence, subelements, together, vars, varnames } from './data.js';
import { file, fileglob, firstFound, firstFoundIn, template } from './files.js';
import { LookupError, type LookupContext, type LookupPlugin } from './types.js';

export { LookupError, type LookupContext, type LookupPlugin } from './types.js';

/** Every lookup plugin senex-play has, by Ansible's name. */
const plugins: Record<string, LookupPlugin> = {
  file, template, fileglob, first_found: firstFound, env, pipe, lines, password, url,
  vars, varnames, items, list, dict, indexed_items: indexedItems, nested, together, subelements, sequence,
};

const PREFIXES = ['ansible.builtin.', 'ansible.legacy.'];

/** The plugin's own name without its collection (`ansible.builtin.file` is `file`). */
export function lookupName(name: string): string {
  const prefix = PREFIXES.find((p) => name.startsWith(p));
  return prefix ? name.slice(prefix.length) : name;
}

export function isLookup(name: string): boolean {
  return Object.prototype.hasOwnProperty.call(plugins, lookupName(name));
}

export function lookupNames(): string[] {
  return Object.keys(plugins);
}

/** The plugin a `with_<name>` loop runs: first_found looks in vars/ or templates/ for those modules, as Ansible. */
export function loopPlugin(name: string, moduleName: string): LookupPlugin {
  const plain = lookupName(name);
  if (plain === 'first_found') {
    // Ansible picks the first of these words that is part of the task's action name.
    const subdir = ['template', 'var', 'file'].find((w) => moduleName.includes(w)) ?? 'file';
    return firstFoundIn(`${subdir}s`);
  }
  const plugin = plugins[plain];
  if (!plugin) throw new LookupError(`lookup plugin (${name}) not found`);
  return plugin;
}

// The context of the template being rendered. Rendering is synchronous, so a stack set around
// each render (by the variable scope that renders) always belongs to the caller.
const contexts: LookupContext[] = [];

/** Runs `fn` (a synchronous render) with `ctx` as the context its lookups see. */
export function withLookupContext<T>(ctx: LookupContext | undefined, fn: () => T): T {
  if (!ctx) return fn();
  contexts.push(ctx);
  try {
    return fn();
  } finally {
    contexts.pop();
  }
}

/**
 * Keyword arguments lookups take. The engine hands keyword arguments over as a trailing
 * mapping, the same as a dictionary argument; a trailing mapping is taken for keywords only
 * when each of its keys is one of these.
 */
const OPTION_NAMES = new Set([
  'wantlist', 'errors', 'allow_unsafe', 'default', 'files', 'paths', 'skip', 'rstrip', 'lstrip', 'template_vars', 'convert_data',
  'jinja2_native', 'variable_start_string', 'variable_end_string', 'comment_start_string', 'comment_end_string', 'length', 'chars',
  'encrypt', 'ident', 'seed', 'on_missing',
]);

/** Templar._lookup: runs a plugin; `wantlist` gives the list, else strings are joined with ','. */
function callLookup(wantlist: boolean, rawName: unknown, rawArgs: unknown[]): unknown {
  const args = rawArgs.map(fromEngine);
  const last = rawArgs[rawArgs.length - 1];
  const isOptions = last instanceof Map && last.size > 0 && [...last.keys()].every((k) => OPTION_NAMES.has(String(k)));
  const options = isOptions ? ((args.pop() as Record<string, unknown>) ?? {}) : {};
  const name = String(rawName);
  const plugin = plugins[lookupName(name)];
  if (!plugin) throw new LookupError(`lookup plugin (${name}) not found`);
  const ctx = contexts[contexts.length - 1];
  if (!ctx) throw new LookupError(`lookup('${name}') is only available inside a task`);
  const { wantlist: wl, errors = 'strict', allow_unsafe: _unsafe, ...pluginOptions } = options;
  const want = wantlist || wl === true;
  let ran: unknown[];
  try {
    ran = plugin(args, pluginOptions, ctx);
  } catch (e) {
    if (errors === 'ignore' || errors === 'warn') return want ? [] : null;
    throw e;
  }
  if (want) return ran;
  if (ran.every((r) => typeof r === 'string')) return ran.join(',');
  return ran.length === 1 ? ran[0] : ran;
}

/** The template globals lookup(), query() and q(), for the template engine to register. */
export const lookupGlobals: Record<string, (...args: unknown[]) => unknown> = {
  lookup: (name, ...args) => callLookup(false, name, args),
  query: (name, ...args) => callLookup(true, name, args),
  q: (name, ...args) => callLookup(true, name, args),
};
