import { anySecrets, containsSecret, registerSecret } from '../vault/redact.js';
import { referencedNames } from './template-source.js';

/**
 * A value computed from a secret is a secret: `{{ vault_pw | b64encode }}`, a slice, `upper`,
 * `(user ~ ':' ~ pw) | b64encode` print strings the mask has never seen. Each output of a
 * template (every `{{ }}` of a text, or the value of a playbook value that is one sole
 * expression) that computed from a variable holding a registered secret is registered as a
 * secret itself, so it is masked in every output, hidden in --diff, and a new file holding
 * it is created 0600.
 *
 * Granularity: the output of one expression, never the whole text around it (a config file
 * with one derived password must not turn all its lines into secrets). The source is a
 * top-level variable: a mapping holding one secret taints what is computed from any part
 * of it (`{{ db.host | upper }}` when db.password is vaulted), an over-approximation that
 * errs on hiding. A plain lookup (`{{ db.host }}`, `{{ hostvars[h].ip }}`) selects and does
 * not compute: its output is a secret only if it is one. Numbers, booleans and text that is
 * a literal of the expression itself (`{{ 'on' if token else 'off' }}`) tell nothing worth
 * hiding and are not registered.
 */
export function taintOutput(code: string, value: unknown, context: Record<string, unknown>): void {
  if (!anySecrets() || isLookup(code) || !computedText(code, value)) return;
  if (readsSecret(code, context)) registerSecret(value);
}

/** Names, dots and subscripts by a literal or a name: selects a value, computes nothing. */
export function isLookup(code: string): boolean {
  return /^\s*[A-Za-z_]\w*(\s*(\.\s*\w+|\[\s*('[^'\\]*'|"[^"\\]*"|\d+|[A-Za-z_]\w*)\s*\]))*\s*$/.test(code);
}

function computedText(code: string, value: unknown): boolean {
  if (typeof value === 'string') return !code.includes(value);
  return Array.isArray(value) || (value !== null && typeof value === 'object');
}

/**
 * Whether the expression read a value holding a secret. A name the context lacks is a local
 * of the template (a `for` variable, a `set`): it may hold anything the template read, so
 * any secret in the context counts.
 */
function readsSecret(code: string, context: Record<string, unknown>): boolean {
  const names = [...referencedNames(code, true)];
  const holds = memo(context);
  if (names.some((n) => n in context && holds(n))) return true;
  return names.some((n) => !(n in context)) && Object.keys(context).some(holds);
}

// Per render context (a fresh object each render): which of its variables hold a secret.
const memos = new WeakMap<object, Map<string, boolean>>();

function memo(context: Record<string, unknown>): (name: string) => boolean {
  let known = memos.get(context);
  if (!known) memos.set(context, (known = new Map()));
  return (name) => {
    let v = known.get(name);
    if (v === undefined) known.set(name, (v = holdsSecret(context[name])));
    return v;
  };
}

function holdsSecret(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return containsSecret(value);
  if (depth > 32 || value === null || typeof value !== 'object') return false;
  return Object.values(value as Record<string, unknown>).some((v) => holdsSecret(v, depth + 1));
}
