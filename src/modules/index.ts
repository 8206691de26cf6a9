import { assert, debug, fail, includeVars, meta, setFact } from './actions.js';
import { apt, packageModule } from './apt.js';
import { cron } from './cron.js';
import { podmanSecret } from './podman-secret.js';
import { debconf } from './debconf.js';
import { setup } from './setup.js';
import { service, systemd, systemdService } from './systemd.js';
import { group, user } from './user.js';
import { blockinfile } from './blockinfile.js';
import { command, shell } from './command.js';
import { copy, template } from './copy.js';
import { file } from './file.js';
import { lineinfile } from './lineinfile.js';
import { replace } from './replace.js';
import { stat } from './stat.js';
import { findForeignModule } from './foreign.js';
import { assemble } from './assemble.js';
import { iniFile } from './ini-file.js';
import type { AnyModule } from './types.js';

const all: AnyModule[] = [
  file, copy, template, lineinfile, blockinfile, replace, stat, command, shell, debug, fail, assert, setFact, meta, includeVars,
  setup, apt, packageModule, debconf, systemdService, systemd, service, user, group, cron, podmanSecret,
  assemble, iniFile,
];

/** Collections whose prefix names the same module (`ansible.builtin.copy` is `copy`). */
const PREFIXES = ['ansible.builtin.', 'ansible.legacy.', 'ansible.posix.', 'community.general.', 'containers.podman.', 'ansible.windows.', 'community.windows.'];

const byName = new Map(all.map((m) => [m.name, m]));

/** The module a task key names, or undefined. */
export function findModule(name: string): AnyModule | undefined {
  const prefix = PREFIXES.find((p) => name.startsWith(p));
  const short = prefix ? name.slice(prefix.length) : name;
  return byName.get(short) ?? findForeignModule(short);
}

/** Every module name, for "did you mean" hints and --help. */
export function moduleNames(): string[] {
  return [...byName.keys()];
}
