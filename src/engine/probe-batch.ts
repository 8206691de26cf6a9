import { randomBytes } from 'node:crypto';
import type { Probe } from '../modules/types.js';

/**
 * Several read-only probes as one remote script, so that gathering what a task needs is a
 * single round trip. Each probe runs in its own subshell and its output streams back between
 * two marker lines carrying a random nonce, which no probe output can contain by chance:
 * no command substitution, no base64, so a probe costs its own commands and one fork.
 */
export function batchProbes(probes: Array<[string, Probe]>): { script: string; parse(stdout: string): Record<string, unknown> } {
  const nonce = `__SENEXP_${randomBytes(12).toString('hex')}`;
  const parts = probes.map(([, p], i) => `printf '\\n${nonce} ${i}\\n'\n(\n${p.script}\n) 2>/dev/null\nprintf '\\n${nonce} ${i} %s\\n' "$?"`);
  return {
    script: parts.join('\n'),
    parse(stdout: string): Record<string, unknown> {
      const facts: Record<string, unknown> = {};
      probes.forEach(([name, probe], i) => {
        const begin = `\n${nonce} ${i}\n`;
        const start = stdout.indexOf(begin);
        const end = start < 0 ? -1 : stdout.indexOf(`\n${nonce} ${i} `, start + begin.length - 1);
        if (end < 0) throw new Error(`probe '${name}' returned nothing`);
        const rc = Number(/^\d+/.exec(stdout.slice(end + nonce.length + String(i).length + 3))?.[0] ?? NaN);
        // As a command substitution would give it (what every parser expects): no trailing newlines.
        const output = stdout.slice(start + begin.length, Math.max(end, start + begin.length)).replace(/\n+$/, '');
        facts[name] = probe.parse(output, rc);
      });
      return facts;
    },
  };
}
