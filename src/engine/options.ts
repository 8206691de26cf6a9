import type { Vars } from '../vars/scope.js';

/** Everything a run needs to know, decided once by the CLI (or a caller of the API). */
export interface RunOptions {
  playbook: string;
  /** Playbooks after the first, run after it as part of the same run. */
  morePlaybooks?: string[] | undefined;
  /** One inventory source, or several (`-i a -i b`), read in order into one inventory. */
  inventory: string | string[];
  /** --force-handlers: every play runs its notified handlers even on hosts that failed. */
  forceHandlers?: boolean | undefined;
  check: boolean;
  diff: boolean;
  limit?: string | undefined;
  tags: string[];
  skipTags: string[];
  /** Only roles that declare one of these phases (and their dependencies). */
  phases?: number[] | undefined;
  extraVars: Vars;
  forks: number;
  become: boolean;
  becomeUser?: string | undefined;
  becomeMethod?: 'sudo' | 'su' | undefined;
  becomePassword?: string | undefined;
  remoteUser?: string | undefined;
  connection?: string | undefined;
  jsonFile?: string | undefined;
  verbosity: number;
  startAtTask?: string | undefined;
  detailedExitcode: boolean;
  /** Directory the playbook and inventory names are resolved against. */
  cwd: string;
  /** roles_path (ANSIBLE_ROLES_PATH, ansible.cfg): searched after the playbook's roles/. */
  rolesPath?: string[] | undefined;
  /** collections_path: where `namespace.collection.role` roles are found. */
  collectionsPath?: string[] | undefined;
}

export const DEFAULT_FORKS = 16;
