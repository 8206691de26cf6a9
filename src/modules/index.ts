import { assert, debug, fail, includeVars, meta, setFact } from './actions.js';
import { blockinfile } from './blockinfile.js';
import { command, shell } from './command.js';
import { copy, template } from './copy.js';
import { file } from './file.js';
import { lineinfile } from './lineinfile.js';
import { replace } from './replace.js';
import { stat } from './stat.js';
import type { AnyModule } from './types.js';

const all: AnyModule[] = [file, copy, template, lineinfile, blockinfile, replace, stat, command, shell, debug, fail, assert, setFact, meta, includeVars];

/** Collections whose prefix names the same module (`ansible.builtin.copy` is `copy`). */
const PREFIXES = ['ansible.builtin.', 'ansible.legacy.', 'ansible.posix.', 'community.general.'];

const byName = new Map(all.map((m) => [m.name, m]));

/** The module a task key names, or undefined. */
export function findModule(name: string): AnyModule | undefined {
  const prefix = PREFIXES.find((p) => name.startsWith(p));
  return byName.get(prefix ? name.slice(prefix.length) : name);
}

/** Every module name, for "did you mean" hints and --help. */
export function moduleNames(): string[] {
  return [...byName.keys()];
}
