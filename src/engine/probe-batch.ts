import { randomBytes } from 'node:crypto';
import type { MergedQuery, Probe, ProbeKind } from '../modules/types.js';

/**
 * Several read-only probes as one remote script, so that gathering what a task needs is a
 * single round trip. Each probe runs in its own subshell and its output streams back between
 * two marker lines carrying a random nonce, which no probe output can contain by chance:
 * no command substitution, no base64, so a probe costs its own commands and one fork.
 * Probes of a mergeable kind (files, units) share one such section and one set of processes.
 */
export function batchProbes(probes: Array<[string, Probe]>): {
  script: string;
  /** Every probe's facts; throws when one probe's answer is missing or does not parse. */
  parse(stdout: string): Record<string, unknown>;
  /** The facts of the probes that answered and parsed; the others are left out. */
  parseEach(stdout: string): Record<string, unknown>;
} {
  const nonce = `__SENEXP_${randomBytes(12).toString('hex')}`;
  // Probes of a mergeable kind are asked together: one process for all (types.ts ProbeKind).
  const kinds = new Map<string, { kind: ProbeKind<unknown>; members: Array<[string, MergedQuery]> }>();
  for (const [name, p] of probes) {
    if (!p.merge) continue;
    const entry = kinds.get(p.merge.kind.id) ?? { kind: p.merge.kind, members: [] };
    entry.members.push([name, p.merge]);
    kinds.set(p.merge.kind.id, entry);
  }
  const scripted = probes.filter(([, p]) => !p.merge);
  const merged = [...kinds.values()].map(({ kind, members }) => {
    const queries = members.map(([, m]) => m.query);
    return { members, probe: { script: kind.script(queries), parse: (out: string) => kind.parse(out, queries) } as Probe<Map<string, unknown>> };
  });
  const parts = [...scripted.map(([, p]) => p), ...merged.map((m) => m.probe)].map(
    (p, i) => `printf '\\n${nonce} ${i}\\n'\n(\n${p.script}\n) 2>/dev/null\nprintf '\\n${nonce} ${i} %s\\n' "$?"`,
  );
  return {
    script: parts.join('\n'),
    parse: (stdout: string) => parseAll(stdout, false),
    parseEach: (stdout: string) => parseAll(stdout, true),
  };

  function parseAll(stdout: string, tolerant: boolean): Record<string, unknown> {
    const facts: Record<string, unknown> = {};
    const attempt = (fn: () => void) => {
      try {
        fn();
      } catch (e) {
        if (!tolerant) throw e;
      }
    };
    scripted.forEach(([name, probe], i) => attempt(() => (facts[name] = parseOne(stdout, name, probe, i))));
    merged.forEach(({ members, probe }, j) =>
      attempt(() => {
        const answers = parseOne(stdout, members[0]![0], probe, scripted.length + j) as Map<string, unknown>;
        for (const [name, m] of members) facts[name] = answers.get(m.kind.key(m.query));
      }),
    );
    return facts;
  }

  function parseOne(stdout: string, name: string, probe: Probe, i: number): unknown {
    const begin = `\n${nonce} ${i}\n`;
    const start = stdout.indexOf(begin);
    const end = start < 0 ? -1 : stdout.indexOf(`\n${nonce} ${i} `, start + begin.length - 1);
    if (end < 0) throw new Error(`probe '${name}' returned nothing`);
    const rc = Number(/^\d+/.exec(stdout.slice(end + nonce.length + String(i).length + 3))?.[0] ?? NaN);
    // As a command substitution would give it (what every parser expects): no trailing newlines.
    const output = stdout.slice(start + begin.length, Math.max(end, start + begin.length)).replace(/\n+$/, '');
    return probe.parse(output, rc);
  }
}
