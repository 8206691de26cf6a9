import type { Probe } from '../modules/types.js';

/**
 * Several read-only probes as one remote script, so that gathering what a task needs is a
 * single round trip. Each probe runs in its own subshell; its output comes back base64
 * behind a numbered marker, so no probe's output can be mistaken for another's.
 */
export function batchProbes(probes: Array<[string, Probe]>): { script: string; parse(stdout: string): Record<string, unknown> } {
  const parts = probes.map(([, p], i) => `__senex_p${i}() (\n${p.script}\n)\nprintf '\\n__SENEX_P ${i} '; __senex_o=$(__senex_p${i} 2>/dev/null); printf '%s %s\\n' "$?" "$(printf '%s' "$__senex_o" | base64 -w0)"`);
  return {
    script: parts.join('\n'),
    parse(stdout: string): Record<string, unknown> {
      const facts: Record<string, unknown> = {};
      for (const line of stdout.split('\n')) {
        const m = /^__SENEX_P (\d+) (\d+) ?(\S*)$/.exec(line);
        if (!m) continue;
        const [name, probe] = probes[Number(m[1])]!;
        facts[name] = probe.parse(Buffer.from(m[3] ?? '', 'base64').toString('utf8'), Number(m[2]));
      }
      for (const [name] of probes) if (!(name in facts)) throw new Error(`probe '${name}' returned nothing`);
      return facts;
    },
  };
}
