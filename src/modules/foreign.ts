import { defineHostModule, type AnyModule } from './types.js';

/**
 * Modules of other systems, known by name so that a role with branches for them loads
 * (`when: ansible_os_family == 'RedHat'`). Their arguments are not checked; a host that
 * reaches one fails, saying which system the module is for.
 */
const FOREIGN: Record<string, string> = {
  yum: 'Red Hat (yum)', dnf: 'Red Hat (dnf)', dnf5: 'Red Hat (dnf5)', yum_repository: 'Red Hat (yum)', rpm_key: 'Red Hat (rpm)',
  redhat_subscription: 'Red Hat', rhsm_repository: 'Red Hat', package_facts_rpm: 'Red Hat', selinux: 'SELinux systems (Red Hat)',
  seboolean: 'SELinux systems (Red Hat)', sefcontext: 'SELinux systems (Red Hat)', seport: 'SELinux systems (Red Hat)', firewalld: 'firewalld systems (Red Hat)',
  zypper: 'SUSE (zypper)', zypper_repository: 'SUSE (zypper)', pacman: 'Arch Linux (pacman)', pacman_key: 'Arch Linux (pacman)',
  apk: 'Alpine Linux (apk)', pkgng: 'FreeBSD (pkg)', pkgin: 'NetBSD (pkgin)', openbsd_pkg: 'OpenBSD (pkg_add)', portage: 'Gentoo (portage)',
  homebrew: 'macOS (Homebrew)', homebrew_cask: 'macOS (Homebrew)', homebrew_tap: 'macOS (Homebrew)', macports: 'macOS (MacPorts)', osx_defaults: 'macOS',
  xbps: 'Void Linux (xbps)', slackpkg: 'Slackware', urpmi: 'Mandriva (urpmi)', swupd: 'Clear Linux (swupd)', pkgutil: 'Solaris (pkgutil)',
  svr4pkg: 'Solaris', solaris_zone: 'Solaris', snap: 'snapd systems', flatpak: 'flatpak systems', sysvinit: 'SysV init systems',
  openrc: 'OpenRC systems (Gentoo, Alpine)', runit: 'runit systems', launchd: 'macOS (launchd)',
};

const WINDOWS = 'Windows';

const byName = new Map<string, AnyModule>();

function foreignModule(name: string, system: string): AnyModule {
  return defineHostModule<Record<string, unknown>>({
    name,
    schema: { type: 'object' },
    freeForm: name.startsWith('win_') ? '_raw_params' : undefined,
    probe: () => ({}),
    plan: () => ({
      changes: [],
      failed: `module '${name}' is for ${system}; senex-play runs Debian hosts and does not implement it. Guard the task with a condition (e.g. "when: ansible_os_family == 'Debian'") or use the Debian module`,
    }),
  }) as AnyModule;
}

/** The module of another system with this (short) name, or undefined. */
export function findForeignModule(name: string): AnyModule | undefined {
  const system = FOREIGN[name] ?? (name.startsWith('win_') ? WINDOWS : undefined);
  if (!system) return undefined;
  let m = byName.get(name);
  if (!m) byName.set(name, (m = foreignModule(name, system)));
  return m;
}

/** Whether a module is only known by name (see findForeignModule). */
export function isForeign(module: AnyModule): boolean {
  return byName.get(module.name) === module;
}

export function foreignModuleNames(): string[] {
  return Object.keys(FOREIGN);
}
