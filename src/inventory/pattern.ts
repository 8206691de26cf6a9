import type { Inventory } from './inventory.js';

/** A host pattern could not be read. */
export class PatternError extends Error {}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped.replace(/\\\[/g, '[').replace(/\\\]/g, ']')}$`);
}

function matchTerm(inv: Inventory, term: string): string[] {
  if (term === 'all' || term === '*') return [...inv.hosts.keys()];
  if (inv.groups.has(term)) return inv.groupHosts(term);
  if (inv.hosts.has(term)) return [term];
  let re: RegExp;
  try {
    re = term.startsWith('~') ? new RegExp(term.slice(1)) : globToRegExp(term);
  } catch (e) {
    throw new PatternError(`bad host pattern '${term}': ${(e as Error).message}`);
  }
  const out = new Set<string>();
  for (const g of inv.groups.keys()) if (re.test(g)) for (const h of inv.groupHosts(g)) out.add(h);
  for (const h of inv.hosts.keys()) if (re.test(h)) out.add(h);
  return [...inv.hosts.keys()].filter((h) => out.has(h));
}

/**
 * Ansible host patterns: `web*`, `g1:g2` (union), `g1:&g2` (intersection), `g1:!h3`
 * (exclusion), `~regex`; `,` may separate terms instead of `:`.
 */
export function matchHosts(inv: Inventory, pattern: string): string[] {
  const text = pattern.trim();
  if (text === '') throw new PatternError('empty host pattern');
  const terms = (text.includes(',') ? text.split(',') : text.split(/:(?![^[]*\])/)).map((t) => t.trim()).filter((t) => t !== '');
  if (terms.length === 0) throw new PatternError(`bad host pattern '${pattern}'`);
  let selected: string[] = [];
  const unions = terms.filter((t) => !t.startsWith('&') && !t.startsWith('!'));
  for (const t of unions) {
    if (/[[\]]/.test(t) && !/^[^[\]]*\[[^[\]]*\][^[\]]*$/.test(t)) throw new PatternError(`bad host pattern '${t}': unbalanced brackets`);
    for (const h of matchTerm(inv, t)) if (!selected.includes(h)) selected.push(h);
  }
  if (unions.length === 0) selected = [...inv.hosts.keys()];
  for (const t of terms.filter((x) => x.startsWith('&'))) {
    const keep = new Set(matchTerm(inv, t.slice(1)));
    selected = selected.filter((h) => keep.has(h));
  }
  for (const t of terms.filter((x) => x.startsWith('!'))) {
    const drop = new Set(matchTerm(inv, t.slice(1)));
    selected = selected.filter((h) => !drop.has(h));
  }
  return selected;
}
