import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { JinjaCase } from '../jinja-corpus.js';
import { ROOT } from './paths.js';

/** Ansible's python (Debian's ansible-core lives in the system python, not a venv's). */
export const ORACLE_PYTHON = '/usr/bin/python3';

export type Outcome = { ok: true; out: string } | { ok: false; error: string };

/** Why the oracle cannot run here, or undefined when it can. */
export function oracleMissing(): string | undefined {
  if (!existsSync(ORACLE_PYTHON)) return `${ORACLE_PYTHON} is missing (install python3 and ansible-core)`;
  const r = spawnSync(ORACLE_PYTHON, ['-c', 'import ansible.template, jinja2'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : `ansible-core is not importable by ${ORACLE_PYTHON} (apt-get install ansible-core): ${r.stderr.trim()}`;
}

/** Renders every case with Ansible's Templar in one python process. */
export function oracle(cases: JinjaCase[]): Outcome[] {
  const r = spawnSync(ORACLE_PYTHON, [join(ROOT, 'test', 'helpers', 'jinja-oracle.py')], { input: JSON.stringify(cases), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`the Jinja2 oracle failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Outcome[];
}

/** Both fail, or both render the same text. */
export function agrees(want: Outcome, got: Outcome): boolean {
  return want.ok ? got.ok && got.out === want.out : !got.ok;
}
