import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { homedir } from 'node:os';
import type { LookupContext } from './types.js';

/**
 * Ansible's DataLoader.path_dwim_relative_stack: where a relative name is looked for, in
 * order. Per search directory `subdir/name` then `name` (a task file's own directory inside a
 * role's tasks/ looks in the role's `subdir` first), then the playbook directory last.
 */
export function searchCandidates(ctx: LookupContext, subdir: string, name: string): string[] {
  const out: string[] = [];
  const usesSubdir = name.split('/')[0] === subdir;
  for (const dir of ctx.searchPath) {
    const parent = dirname(dir);
    if (parent.endsWith('/tasks')) {
      out.push(join(dirname(parent), subdir, name), join(parent, name));
    } else {
      if (!usesSubdir) out.push(join(dir, subdir, name));
      out.push(join(dir, name));
    }
  }
  if (!usesSubdir) out.push(join(ctx.playbookDir, subdir, name));
  out.push(join(ctx.playbookDir, name));
  return out;
}

/** The first existing file for `name` (absolute and `~` names as they are), or undefined. */
export function findInSearchPath(ctx: LookupContext, subdir: string, name: string): string | undefined {
  if (name.startsWith('~')) name = join(homedir(), name.slice(1));
  if (isAbsolute(name)) return existsSync(name) ? name : undefined;
  return searchCandidates(ctx, subdir, name).find((p) => existsSync(p));
}
