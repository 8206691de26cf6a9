/** What a lookup plugin may read: the variables and files of the task that calls it. */
export interface LookupContext {
  /** A variable's templated value; undefined when no layer defines it. */
  get(name: string): unknown;
  has(name: string): boolean;
  /** Every variable name visible to the task. */
  names(): Set<string>;
  /** Renders a template file's text with the task's variables plus `extra`. */
  render(source: string, extra?: Record<string, unknown>): string;
  /**
   * Directories a relative file name is looked for in, as Ansible's `ansible_search_path`:
   * the task's role and the roles that depend on it (innermost first), the directory of the
   * task's file, then the playbook's directory (last: it is also the base of `pipe`).
   */
  searchPath: readonly string[];
  playbookDir: string;
}

/**
 * A lookup plugin as Ansible's `LookupModule.run(terms, variables, **kwargs)`: the terms are
 * already templated; it returns a list (what `query()` and `with_<name>` see).
 */
export type LookupPlugin = (terms: unknown[], options: Record<string, unknown>, ctx: LookupContext) => unknown[];

/** A lookup that decided to fail (Ansible's AnsibleLookupError): `errors=ignore` silences it. */
export class LookupError extends Error {}
