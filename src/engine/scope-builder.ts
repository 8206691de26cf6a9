import { randomBytes } from 'node:crypto';
import type { Inherited, Play, RoleInstance } from '../load/model.js';
import { dirname } from 'node:path';
import type { SourcePos } from '../errors.js';
import { markFinal, VarScope, type LookupSite, type Vars } from '../vars/scope.js';
import { TemplateError, type Templater } from '../vars/template.js';
import type { HostRun } from './host-run.js';
import type { RunOptions } from './options.js';

/** The value `omit` stands for; an argument templated to it is left out, as in Ansible. */
export const OMIT = `__omit_place_holder__${randomBytes(8).toString('hex')}`;

function merged(layers: Vars[]): Vars {
  return Object.assign({}, ...layers) as Vars;
}

function chain(instance: RoleInstance | undefined): RoleInstance[] {
  const out: RoleInstance[] = [];
  for (let i = instance; i; i = i.parent) out.unshift(i);
  return out;
}

/**
 * Builds the variable scope of a task on a host, in the documented precedence order
 * (lowest first): role defaults, inventory (all, parent groups, child groups, host),
 * play vars and vars_files, role vars and params, block/task vars, host facts
 * (set_fact, register), extra vars, then the magic variables.
 */
export class ScopeBuilder {
  private readonly allDefaults: Vars;
  private readonly allRoleVars: Vars;

  constructor(
    private readonly play: Play,
    private readonly options: RunOptions,
    private readonly templater: Templater,
    private readonly playHosts: () => string[],
    private readonly batchHosts: () => string[],
    /** A host's run by name: the play's hosts, and others the run knows (their facts). */
    private readonly hostsByName: { get(name: string): HostRun | undefined },
    /** vars_files loaded per host (static ones are the same object for every host). */
    private readonly varsFiles: (host: HostRun) => Vars,
  ) {
    this.allDefaults = merged(play.roles.map((r) => r.role.defaults));
    this.allRoleVars = merged(play.roles.map((r) => r.role.vars));
  }

  /**
   * Where the lookups of a task look for relative files, as Ansible's ansible_search_path:
   * the role and the roles that depend on it (innermost first), the task's own directory,
   * then the playbook directory.
   */
  private lookupSite(inherited: Inherited & { pos?: SourcePos }, roles: RoleInstance[]): LookupSite {
    const searchPath = [...roles].reverse().map((r) => r.role.path);
    const taskDir = inherited.pos ? dirname(inherited.pos.file) : undefined;
    if (taskDir && !searchPath.includes(taskDir)) searchPath.push(taskDir);
    return { searchPath, playbookDir: this.play.playbookDir };
  }

  scope(host: HostRun, inherited: Inherited & { pos?: SourcePos }, extra?: Vars): VarScope {
    const roles = chain(inherited.role);
    const role = inherited.role?.role;
    const inv = host.inventory;
    return new VarScope(
      [
        this.allDefaults,
        ...roles.map((r) => r.role.defaults),
        ...inv.varLayers(host.name),
        this.play.vars,
        this.varsFiles(host),
        this.allRoleVars,
        ...roles.flatMap((r) => [r.role.vars, r.params]),
        ...inherited.vars,
        host.includedVars,
        host.facts,
        extra ?? {},
        this.options.extraVars,
        this.magic(host),
        markFinal(role ? { role_path: role.path, role_name: role.name } : {}),
      ],
      this.templater,
      this.lookupSite(inherited, roles),
    );
  }

  private magic(host: HostRun): Vars {
    const inv = host.inventory;
    const hostsByName = this.hostsByName;
    const out: Vars = {
      inventory_hostname: host.name,
      inventory_hostname_short: host.name.split('.')[0],
      group_names: inv.groupNames(host.name),
      groups: inv.groupMap(),
      playbook_dir: this.play.playbookDir,
      ansible_check_mode: this.options.check,
      ansible_diff_mode: this.options.diff,
      ansible_play_hosts_all: this.playHosts(),
      ansible_play_hosts: this.playHosts().filter((h) => hostsByName.get(h)?.active ?? true),
      ansible_play_batch: this.batchHosts(),
      ansible_play_name: this.play.name,
      omit: OMIT,
    };
    // Built only when a template reads it.
    Object.defineProperty(out, 'hostvars', { enumerable: true, get: () => this.hostvars(inv) });
    // Computed here, never templated again: a fact or a host's name is data.
    return markFinal(out);
  }

  /**
   * Every host's own variables (inventory, extra vars, facts), each templated in that host's
   * own context as Ansible's hostvars are, never in the reading host's. Facts and registered
   * results are data from that host and are used as they are: a host that answers
   * `{{ hostvars['db1'].vault_token }}` gets that text back, not db1's secret. A variable
   * that fails to template is left out, so a template that reads it fails as undefined.
   */
  private hostvars(inv: HostRun['inventory']): Vars {
    const all: Vars = {};
    for (const name of inv.hosts.keys()) {
      const facts = this.hostsByName.get(name)?.facts ?? markFinal({});
      const own = new VarScope([...inv.varLayers(name), this.options.extraVars, facts, markFinal({ inventory_hostname: name })], this.templater);
      const vars: Vars = {};
      for (const key of own.names()) {
        try {
          vars[key] = own.get(key);
        } catch (e) {
          if (!(e instanceof TemplateError)) throw e;
        }
      }
      all[name] = vars;
    }
    return all;
  }
}
