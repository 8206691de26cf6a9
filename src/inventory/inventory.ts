import type { Vars } from '../vars/scope.js';

export interface Host {
  name: string;
  vars: Vars;
  /** Groups that list the host directly. */
  groups: Set<string>;
}

export interface Group {
  name: string;
  vars: Vars;
  hosts: Set<string>;
  children: Set<string>;
  parents: Set<string>;
}

/** Hosts and groups, as Ansible models them: `all` contains everything, `ungrouped` the rest. */
export class Inventory {
  readonly hosts = new Map<string, Host>();
  readonly groups = new Map<string, Group>();
  /** Where the inventory came from (for messages). */
  sources: string[] = [];

  constructor() {
    this.group('all');
    this.group('ungrouped');
  }

  group(name: string): Group {
    let g = this.groups.get(name);
    if (!g) {
      g = { name, vars: {}, hosts: new Set(), children: new Set(), parents: new Set() };
      this.groups.set(name, g);
      if (name !== 'all') this.link('all', name);
    }
    return g;
  }

  host(name: string, group?: string): Host {
    let h = this.hosts.get(name);
    if (!h) {
      h = { name, vars: {}, groups: new Set() };
      this.hosts.set(name, h);
    }
    if (group && group !== 'all' && group !== 'ungrouped') {
      this.group(group).hosts.add(name);
      h.groups.add(group);
    }
    return h;
  }

  link(parent: string, child: string): void {
    const p = this.group(parent);
    const c = this.group(child);
    if (parent !== 'all') this.groups.get('all')!.children.delete(child);
    p.children.add(child);
    c.parents.add(parent);
  }

  /** Ansible's `ungrouped`: hosts no group but `all` names. */
  finish(): void {
    const ungrouped = this.groups.get('ungrouped')!;
    ungrouped.hosts.clear();
    for (const h of this.hosts.values()) if (h.groups.size === 0) ungrouped.hosts.add(h.name);
  }

  /** All hosts of a group and its descendants, in inventory order. */
  groupHosts(name: string): string[] {
    if (name === 'all') return [...this.hosts.keys()];
    const out = new Set<string>();
    const visit = (g: string, seen: Set<string>): void => {
      if (seen.has(g)) return;
      seen.add(g);
      const group = this.groups.get(g);
      if (!group) return;
      for (const h of group.hosts) out.add(h);
      for (const c of group.children) visit(c, seen);
    };
    visit(name, new Set());
    return [...this.hosts.keys()].filter((h) => out.has(h));
  }

  /** Every group a host belongs to, `all` first, then by depth below `all` (parents before children), then name. */
  hostGroups(host: string): string[] {
    const mine = new Set<string>();
    const up = (g: string): void => {
      if (mine.has(g)) return;
      mine.add(g);
      for (const p of this.groups.get(g)?.parents ?? []) up(p);
    };
    const h = this.hosts.get(host);
    for (const g of h?.groups.size ? h.groups : ['ungrouped']) up(g);
    mine.delete('all');
    const depth = (g: string, seen = new Set<string>()): number => {
      if (seen.has(g)) return 0;
      seen.add(g);
      const parents = [...(this.groups.get(g)?.parents ?? [])].filter((p) => p !== 'all');
      return parents.length === 0 ? 1 : 1 + Math.max(...parents.map((p) => depth(p, new Set(seen))));
    };
    return ['all', ...[...mine].sort((a, b) => depth(a) - depth(b) || a.localeCompare(b))];
  }

  /** The inventory's variable layers for a host, lowest precedence first. */
  varLayers(host: string): Vars[] {
    return [...this.hostGroups(host).map((g) => this.groups.get(g)!.vars), this.hosts.get(host)?.vars ?? {}];
  }

  /** `group_names`: the host's groups except all and ungrouped, sorted. */
  groupNames(host: string): string[] {
    return this.hostGroups(host).filter((g) => g !== 'all' && g !== 'ungrouped').sort();
  }

  /** `groups` magic variable: every group with its hosts. */
  groupMap(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const name of this.groups.keys()) out[name] = this.groupHosts(name);
    return out;
  }
}
