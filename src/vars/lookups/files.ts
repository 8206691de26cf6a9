import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { readMaybeVaulted } from '../../vault/keyring.js';
import { isTemplated } from '../template-source.js';
import { findInSearchPath } from './search-path.js';
import { LookupError, type LookupContext, type LookupPlugin } from './types.js';
import { optionBool, optionList } from './options.js';

/** lookup('file'): the contents of controller files, found along the search path (files/). */
export const file: LookupPlugin = (terms, options, ctx) =>
  terms.map((term) => {
    const found = findInSearchPath(ctx, 'files', String(term));
    if (!found) throw new LookupError(`could not locate file in lookup: ${String(term)}`);
    let text = readMaybeVaulted(found).toString('utf8');
    if (optionBool(options, 'lstrip', false)) text = text.trimStart();
    if (optionBool(options, 'rstrip', true)) text = text.trimEnd();
    return text;
  });

/** lookup('template'): controller template files (templates/) rendered with the task's variables. */
export const template: LookupPlugin = (terms, options, ctx) =>
  terms.map((term) => {
    const name = String(term);
    const found = findInSearchPath(ctx, 'templates', name);
    if (!found) throw new LookupError(`the template file ${name} could not be found for the lookup`);
    const extra = {
      template_path: found,
      template_fullpath: found,
      template_host: ctx.get('inventory_hostname'),
      ...((options.template_vars as Record<string, unknown> | undefined) ?? {}),
    };
    return ctx.render(readMaybeVaulted(found).toString('utf8'), extra);
  });

/** Python's fnmatch for one file name (glob.glob: `*` and `?` do not match a leading dot). */
function globMatcher(pattern: string): (name: string) => boolean {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  const matcher = new RegExp(`^${re}$`, 's');
  return (name) => (!name.startsWith('.') || pattern.startsWith('.')) && matcher.test(name);
}

function globFiles(dir: string, pattern: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const match = globMatcher(pattern);
  // glob.glob returns directory order, which differs between file systems; sorted is stable.
  return names.filter(match).sort().map((n) => join(dir, n)).filter((p) => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  });
}

/** lookup('fileglob'): files (not directories) matching a pattern, in the first directory that has any. */
export const fileglob: LookupPlugin = (terms, _options, ctx) => {
  const out: string[] = [];
  for (const raw of terms) {
    const term = String(raw);
    const pattern = basename(term);
    const dirs: string[] = [];
    if (pattern !== term) {
      const dir = findInSearchPath(ctx, 'files', dirname(term));
      if (dir) dirs.push(dir);
    } else {
      for (const p of [...ctx.searchPath, ctx.playbookDir]) dirs.push(join(p, 'files'), p);
    }
    for (const dir of dirs) {
      const found = globFiles(dir, pattern);
      if (found.length) {
        out.push(...found);
        break;
      }
    }
  }
  return out;
};

/** Ansible's _split_on: strings split at any of `chars`, lists flattened. */
function splitOn(value: unknown, chars: string): string[] {
  if (typeof value === 'string') return value.split(new RegExp(`[${chars.replace(/[\]\\^-]/g, '\\$&')}]`));
  return Array.isArray(value) ? value.flatMap((v) => splitOn(v, chars)) : [];
}

/** The names first_found tries, in order (its _process_terms, quirks included). */
function firstFoundCandidates(terms: unknown[], options: Record<string, unknown>): { search: unknown[]; skip: boolean } {
  let search: unknown[] = [];
  let skip = false;
  for (const term of terms) {
    let opts: Record<string, unknown>;
    if (term !== null && typeof term === 'object' && !Array.isArray(term)) opts = term as Record<string, unknown>;
    else if (typeof term === 'string') opts = options;
    else if (Array.isArray(term)) {
      const inner = firstFoundCandidates(term, options);
      search.push(...inner.search);
      skip = inner.skip;
      continue;
    } else throw new LookupError(`Invalid term supplied, can handle string, mapping or list of strings but got: ${typeof term} for ${String(term)}`);
    const files = splitOn(optionList(opts, 'files'), ',;');
    const paths = splitOn(optionList(opts, 'paths'), ',:;');
    skip = optionBool(opts, 'skip', false);
    if (paths.length) for (const path of paths) for (const fn of files) search.push(join(path, fn));
    // As Ansible: a mapping with files and no paths replaces what earlier terms added.
    else if (files.length) search = files;
    else search.push(term);
  }
  return { search, skip };
}

/**
 * lookup('first_found'): the first of several names that exists, searched in `subdir` (files/,
 * or vars/ and templates/ for with_first_found on include_vars and template). A name whose
 * variables were undefined is passed over.
 */
export function firstFoundIn(subdir: string): LookupPlugin {
  return (terms, options, ctx) => {
    const { search, skip } = firstFoundCandidates(terms, options);
    for (const name of search) {
      if (typeof name !== 'string' || isTemplated(name)) continue;
      const found = findInSearchPath(ctx, subdir, name);
      if (found) return [found];
    }
    if (skip) return [];
    throw new LookupError('No file was found when using first_found.');
  };
}

export const firstFound: LookupPlugin = firstFoundIn('files');

export type { LookupContext };
