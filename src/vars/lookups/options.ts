import { toBool } from '../filters.js';

/** A boolean lookup option, given as a boolean or as Ansible's yes/no strings. */
export function optionBool(options: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const v = options[name];
  return v === undefined || v === null ? fallback : toBool(v);
}

/** A list option: a list, or one value as a list of one. */
export function optionList(options: Record<string, unknown>, name: string): unknown[] {
  const v = options[name];
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}
