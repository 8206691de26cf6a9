import { pyRepr } from './jinja/values.js';

/**
 * How Jinja2 under Ansible prints a value inside `{{ }}`: Python's str()/repr(), so
 * `True`, `None`, `['a', 1]`, `{'k': 'v'}`, for the filters and modules that print values.
 */
export function pythonStr(value: unknown): string {
  if (typeof value === 'string') return value;
  return pythonRepr(value);
}

/** What `{{ x }}` prints under Ansible: str(), except that None prints nothing (its finalize). */
export function printed(value: unknown): string {
  return value === null || value === undefined ? '' : pythonStr(value);
}

/** Python's repr(), as the Jinja engine prints values (tuples and floats included). */
export function pythonRepr(value: unknown): string {
  return pyRepr(value);
}

/** The Jinja engine hands its own dicts to JS as Maps; the rest of the program wants plain objects. */
export function fromEngine(value: unknown): unknown {
  if (value instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of value) out[String(k)] = fromEngine(v);
    return out;
  }
  if (Array.isArray(value)) return value.map(fromEngine);
  if (value === undefined) return null;
  return value;
}
