import type { BecomeSpec } from './types.js';

/** Printed by sudo when it wants a password; unique so it cannot be confused with output. */
export const SUDO_PROMPT = '[senex-play sudo password]:';

/**
 * argv that starts a POSIX shell as the become user. `-H` gives the user's HOME, so
 * `systemctl --user` and podman find their state; `-n` (no password) fails at once
 * instead of hanging when sudo would ask and we have nothing to give.
 */
export function becomeArgv(spec: BecomeSpec): string[] {
  if (spec.method === 'su') return ['su', '-s', '/bin/sh', '-l', spec.user, '-c', 'exec sh'];
  const auth = spec.password === undefined ? ['-n'] : ['-S', '-p', SUDO_PROMPT];
  return ['sudo', '-H', ...auth, '-u', spec.user, '--', 'sh'];
}

/** A key for the shell pool: one persistent shell per (method, user). */
export function becomeKey(spec: BecomeSpec | undefined): string {
  return spec ? `${spec.method}:${spec.user}` : '';
}
