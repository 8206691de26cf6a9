import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './paths.js';

export const LAB_INVENTORY = join(ROOT, 'inventory', 'lab');
const STATE = process.env.SENEX_LAB_STATE ?? '/var/lib/senex-lab';
/** The environment a run against the lab needs: no agent (the lab key is named), the lab's vault password. */
export const LAB_ENV = { SSH_AUTH_SOCK: '', ANSIBLE_VAULT_PASSWORD_FILE: join(STATE, 'vault-password') };

export interface LabHostState {
  name: string;
  address: string;
  initPid: number;
}

/** The lab's hosts, or undefined when no lab is up. */
export function labHosts(): LabHostState[] | undefined {
  const file = join(STATE, 'hosts.json');
  if (!existsSync(join(LAB_INVENTORY, 'hosts.yml')) || !existsSync(file)) return undefined;
  const hosts = JSON.parse(readFileSync(file, 'utf8')) as LabHostState[];
  return hosts.length ? hosts : undefined;
}

/** Runs a command as root inside a lab guest (through its namespaces, not SSH). */
export function inGuest(host: LabHostState, script: string): string {
  return execFileSync('nsenter', ['-t', String(host.initPid), '-a', 'sh', '-c', script], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

/**
 * Everything under /etc, /home and /var/lib on a guest: path, mode, owner, group, link
 * target, and the sha256 of every regular file. Two equal fingerprints mean the trees are
 * byte-identical.
 */
export function fingerprintGuest(host: LabHostState): string {
  return inGuest(
    host,
    `find /etc /home /var/lib -xdev \\( -type f -o -type l -o -type d \\) -printf '%p %m %u %g %l\\n' | sort; find /etc /home /var/lib -xdev -type f -print0 | sort -z | xargs -0 sha256sum`,
  );
}

/** Fails the suite in CI (where .ci/run brings the lab up), skips it elsewhere. */
export function requireLab(ctx: Mocha.Context): LabHostState[] {
  const hosts = labHosts();
  if (hosts) return hosts;
  if (process.env.SENEX_LAB_REQUIRED === '1') throw new Error('the lab is not up, but SENEX_LAB_REQUIRED=1: run npm run lab -- up 3');
  // Without the lab there are no hosts to test on; `npm run lab -- up 3` brings it up.
  ctx.skip();
}
