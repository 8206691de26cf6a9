import type { BecomeSpec } from './types.js';

/** Printed by sudo when it wants a password; unique so it cannot be confused with output. */
export const SUDO_PROMPT = '[senex-play sudo password]:';
/** Printed (to stderr) by the become user's shell once sudo has let us in. */
export const BECOME_OK = '__SENEX_BECOME_OK__';

/**
 * argv that starts a POSIX shell as the become user. `-H` gives the user's HOME, so
 * `systemctl --user` and podman find their state; `-n` (no password) fails at once
 * instead of hanging when sudo would ask and we have nothing to give.
 */
export function becomeArgv(spec: BecomeSpec): string[] {
  if (spec.method === 'su') return ['su', '-s', '/bin/sh', '-l', spec.user, '-c', 'exec sh'];
  if (spec.password === undefined) return ['sudo', '-H', '-n', '-u', spec.user, '--', 'sh'];
  // With a password, sudo reads it from the same stdin the shell will use: the shell
  // announces itself on stderr so we know when stdin is its and no longer sudo's.
  return ['sudo', '-H', '-S', '-p', SUDO_PROMPT, '-u', spec.user, '--', 'sh', '-c', `echo ${BECOME_OK} >&2; exec sh`];
}

/** A key for the shell pool: one persistent shell per (method, user). */
export function becomeKey(spec: BecomeSpec | undefined): string {
  return spec ? `${spec.method}:${spec.user}` : '';
}
