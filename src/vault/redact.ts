import { createHash } from 'node:crypto';
import { pythonRepr } from '../vars/python-repr.js';
import { isStreamSource, type StreamSource } from '../transport/types.js';

/**
 * Every secret value the run knows (decrypted vault values, become and SSH passwords, the
 * values of no_log tasks), so that whatever prints (the live view, plain and -vvv logs,
 * --diff, --json, error messages) can mask it. Values reach templates and hosts as plain
 * strings; masking happens at every exit to a human or a file, the way CI systems mask
 * their secrets, so a secret is hidden even after it was templated into a longer string.
 */
const secrets = new Set<string>();
let pattern: RegExp | null = null;

export const MASK = '********';

/**
 * Shorter values are not masked: masking "1" or "yes" would garble every line without
 * hiding anything worth hiding. A secret this short is not a secret.
 */
export const MIN_SECRET_LENGTH = 4;

/**
 * The ways a secret is spelled once serialised: inside JSON (twice, for a result holding a
 * JSON document), a Python repr, a YAML single-quoted scalar, a single-quoted shell word.
 * A secret holding `"`, `\`, `'` or a newline is a different string in each of them, and the
 * mask must find it there too, not only where it is printed raw.
 */
function escapedForms(v: string): string[] {
  const json = (s: string) => JSON.stringify(s).slice(1, -1);
  const quoted = [v, v.replace(/'/g, `'\\''`), v.replace(/'/g, "''")]; // raw, shell word, YAML '...'
  return quoted.flatMap((q) => [q, json(q), json(json(q)), pythonRepr(q).slice(1, -1)]);
}

export function registerSecret(value: unknown): void {
  if (typeof value === 'string') {
    const parts = [value, value.trim(), ...value.split('\n').map((l) => l.trim())];
    for (const v of new Set([...parts, ...parts.flatMap(escapedForms)])) {
      if (v.length >= MIN_SECRET_LENGTH && !secrets.has(v)) {
        secrets.add(v);
        pattern = null;
      }
    }
  } else if (Array.isArray(value)) value.forEach(registerSecret);
  else if (value && typeof value === 'object' && !Buffer.isBuffer(value)) Object.values(value).forEach(registerSecret);
}

function secretPattern(): RegExp | null {
  if (secrets.size === 0) return null;
  // Longest first, so a secret that contains another is masked whole.
  pattern ??= new RegExp([...secrets].sort((a, b) => b.length - a.length).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  return pattern;
}

/** Whether any secret is registered (most runs without a vault have none). */
export function anySecrets(): boolean {
  return secrets.size > 0;
}

/** The text with every known secret replaced by ********. */
export function redact(text: string): string {
  const p = secretPattern();
  return p ? text.replace(p, MASK) : text;
}

/** Streamed content (a big plain file on the controller; vaulted files never stream) is not read here. */
export function containsSecret(text: string | Buffer | StreamSource | null | undefined): boolean {
  const p = secretPattern();
  if (!p || text === null || text === undefined || isStreamSource(text)) return false;
  p.lastIndex = 0;
  const found = p.test(typeof text === 'string' ? text : text.toString('utf8'));
  p.lastIndex = 0;
  return found;
}

/** Deep copy with every string masked (for --json). */
export function redactValue<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map(redactValue) as T;
  if (value && typeof value === 'object' && !Buffer.isBuffer(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v)])) as T;
  }
  return value;
}

export function sha256Hex(data: string | Buffer | null): string {
  return data === null ? 'absent' : createHash('sha256').update(data).digest('hex');
}

/** For tests: forget every registered secret. */
export function clearSecrets(): void {
  secrets.clear();
  pattern = null;
}
