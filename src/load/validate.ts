import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Ajv as AjvClass, ErrorObject, Options as AjvOptions, ValidateFunction } from 'ajv';
import { ValidationError, type SourcePos } from '../errors.js';
import { didYouMean } from './suggest.js';
import { redact } from '../vault/redact.js';
import { posOf } from './yaml.js';

const require = createRequire(import.meta.url);

/** The one set of ajv options, shared with the build step that precompiles the schemas. */
export const AJV_OPTIONS: AjvOptions = { allErrors: true, strict: false, coerceTypes: false, useDefaults: false };

/** Where `npm run build` writes the validators it generated (src/load/precompile-schemas.ts). */
export const PRECOMPILED_FILE = 'schemas.precompiled.cjs';

/**
 * The validators ajv generated at build time, keyed by their schema's JSON: compiling the
 * module tables at start-up cost about 0.3 s of CPU, and ajv itself 80 ms to load. A schema
 * whose JSON is not there (made at run time, like a role's argument spec, or changed since
 * the build, or a build by `tsc` alone) is compiled by ajv on first use, as before.
 */
let precompiled: Map<string, ValidateFunction> | undefined;
function precompiledFor(schema: object): ValidateFunction | undefined {
  if (!precompiled) {
    const file = new URL(PRECOMPILED_FILE, import.meta.url);
    precompiled = existsSync(file) ? (require(file.pathname) as { validators: Map<string, ValidateFunction> }).validators : new Map();
  }
  return precompiled.get(JSON.stringify(schema));
}

let ajv: AjvClass | undefined;
function runtimeCompile(schema: object): ValidateFunction {
  // ajv is CommonJS; load it that way so the class is what we get under NodeNext.
  ajv ??= new (require('ajv') as typeof AjvClass)(AJV_OPTIONS);
  return ajv.compile(schema);
}

const compiled = new WeakMap<object, ValidateFunction>();

function compile(schema: object): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = precompiledFor(schema) ?? runtimeCompile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

const TRUE = ['yes', 'on', '1', 'true', 'y', 't'];
const FALSE = ['no', 'off', '0', 'false', 'n', 'f'];

/**
 * Ansible's argument conversions for properties of one plain type: 'yes' is a boolean,
 * '5' an integer, 1000 a string. Properties that accept several types (like `mode`) are
 * left as they are, so '0644' is never read as the number 644.
 */
function coerce(schema: Record<string, unknown>, data: unknown): void {
  const props = schema.properties as Record<string, { type?: unknown }> | undefined;
  if (!props || data === null || typeof data !== 'object' || Array.isArray(data)) return;
  const obj = data as Record<string, unknown>;
  for (const [key, prop] of Object.entries(props)) {
    const v = obj[key];
    if (v === undefined || v === null || typeof prop.type !== 'string') continue;
    const text = String(v).trim().toLowerCase();
    if (prop.type === 'boolean' && typeof v !== 'boolean') {
      if (TRUE.includes(text)) obj[key] = true;
      else if (FALSE.includes(text)) obj[key] = false;
    } else if (prop.type === 'integer' && typeof v === 'string' && /^-?\d+$/.test(v.trim())) obj[key] = Number(v);
    else if (prop.type === 'number' && typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) obj[key] = Number(v);
    else if (prop.type === 'string' && (typeof v === 'number' || typeof v === 'boolean')) obj[key] = String(v);
  }
}

export interface ValidateOptions {
  /** Names the thing being validated in messages, e.g. "module 'copy'". */
  what: string;
  /** Where the data came from, when it has no YAML position of its own. */
  fallbackPos?: SourcePos | undefined;
  /** Convert values to the schema's types as Ansible does after templating ("yes" -> true); mutates `data`. */
  coerce?: boolean;
  /** Skip errors on values that are still templates (checked again once rendered). */
  skipTemplated?: boolean;
}

/** Validates data against a JSON schema; every error points at the key or value in the user's file. */
export function validateSchema(schema: object, data: unknown, opts: ValidateOptions): ValidationError[] {
  if (opts.coerce) coerce(schema as Record<string, unknown>, data);
  const fn = compile(schema);
  if (fn(data)) return [];
  const errors = (fn.errors ?? []).filter((e) => !(opts.skipTemplated && isTemplatedAt(data, e.instancePath)));
  // Unknown keys first: a misspelt key also makes the real one look missing.
  const ordered = dedupe(errors).sort((a, b) => Number(b.keyword === 'additionalProperties') - Number(a.keyword === 'additionalProperties'));
  return ordered.map((e) => toValidationError(e, data, schema, opts));
}

function isTemplatedAt(data: unknown, path: string): boolean {
  const { value } = resolvePath(data, path);
  return typeof value === 'string' && (value.includes('{{') || value.includes('{%'));
}

/**
 * oneOf/anyOf produce an error per branch. Where a value fits none of a property's
 * alternatives, report that once; keep other errors as they are.
 */
function dedupe(errors: ErrorObject[]): ErrorObject[] {
  const alternatives = new Set(errors.filter((e) => (e.keyword === 'anyOf' || e.keyword === 'oneOf') && e.instancePath !== '').map((e) => e.instancePath));
  const seen = new Set<string>();
  const out: ErrorObject[] = [];
  const specific = errors.filter((e) => (!['oneOf', 'anyOf', 'not', 'if'].includes(e.keyword) && !alternatives.has(e.instancePath)) || (alternatives.has(e.instancePath) && e.keyword === 'anyOf'));
  for (const e of specific.length > 0 ? specific : errors) {
    const key = `${e.instancePath}|${e.keyword}|${JSON.stringify(e.params)}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(e);
    }
  }
  return out;
}

function resolvePath(data: unknown, path: string): { parent: unknown; key: string | number | undefined; value: unknown } {
  const parts = path.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let parent: unknown = undefined;
  let key: string | number | undefined = undefined;
  let value: unknown = data;
  for (const part of parts) {
    parent = value;
    key = Array.isArray(value) ? Number(part) : part;
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  }
  return { parent, key, value };
}

function subSchema(schema: object, path: string): Record<string, unknown> {
  let s = schema as Record<string, unknown>;
  for (const part of path.split('/').slice(1)) {
    const props = s.properties as Record<string, Record<string, unknown>> | undefined;
    if (props?.[part]) s = props[part];
    else if (s.items && typeof s.items === 'object') s = s.items as Record<string, unknown>;
    else break;
  }
  return s;
}

function toValidationError(e: ErrorObject, data: unknown, schema: object, opts: ValidateOptions): ValidationError {
  const { parent, key, value } = resolvePath(data, e.instancePath);
  const label = typeof key === 'string' ? `'${key}'` : key === undefined ? opts.what : `item ${key + 1}`;
  const at = (p: unknown, k?: string | number, which: 'key' | 'value' = 'value') => posOf(p, k, which) ?? posOf(data) ?? opts.fallbackPos;
  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = String((e.params as { additionalProperty: string }).additionalProperty);
      const known = Object.keys((subSchema(schema, e.instancePath).properties as object | undefined) ?? {}).filter((k) => !k.startsWith('_'));
      return new ValidationError('E_UNKNOWN_KEY', `unknown key '${extra}' in ${opts.what}`, { pos: at(value, extra, 'key'), hint: didYouMean(extra, known) });
    }
    case 'required': {
      const missing = String((e.params as { missingProperty: string }).missingProperty);
      return new ValidationError('E_MISSING', `${opts.what} is missing the required '${missing}'`, { pos: at(value) ?? at(parent, key), hint: `add '${missing}: ...'` });
    }
    case 'type': {
      const want = String((e.params as { type: string }).type).replace(',', ' or ');
      return new ValidationError('E_TYPE', `${label} in ${opts.what} must be ${article(want)}, not ${describe(value)}`, { pos: at(parent, key) });
    }
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ');
      const hint = typeof value === 'string' ? didYouMean(value, (e.params as { allowedValues: unknown[] }).allowedValues.map(String)) : `use one of ${allowed}`;
      return new ValidationError('E_VALUE', `${label} in ${opts.what} must be one of ${allowed}, not ${JSON.stringify(value)}`, { pos: at(parent, key), hint });
    }
    case 'const': {
      // A value we accept by name but support only one way of (assemble's remote_src): say so.
      const sub = subSchema(schema, e.instancePath);
      const only = JSON.stringify((e.params as { allowedValue: unknown }).allowedValue);
      return new ValidationError('E_UNSUPPORTED', `${label} in ${opts.what} can only be ${only}, not ${JSON.stringify(value)}`, {
        pos: at(parent, key),
        hint: typeof sub.description === 'string' ? sub.description : `leave it out or set it to ${only}`,
      });
    }
    case 'oneOf':
    case 'anyOf':
      if (e.instancePath !== '' && typeof key === 'string') {
        const sub = subSchema(schema, e.instancePath);
        return new ValidationError('E_VALUE', `${label} in ${opts.what} has an invalid value: ${describe(value)}`, {
          pos: at(parent, key),
          hint: typeof sub.description === 'string' ? sub.description : `expected ${alternativesOf(sub)}`,
        });
      }
      return new ValidationError('E_ARGS', `${opts.what}: arguments do not fit any accepted form`, { pos: at(value) ?? at(parent, key), hint: 'check the module documentation for which arguments go together' });
    case 'not':
      return new ValidationError('E_ARGS', `${opts.what}: these arguments are mutually exclusive`, { pos: at(value) ?? at(parent, key), hint: 'use only one of the conflicting arguments' });
    case 'pattern': {
      const description = subSchema(schema, e.instancePath).description;
      return new ValidationError('E_VALUE', `${label} in ${opts.what} must match ${(e.params as { pattern: string }).pattern}, not ${describe(value)}`, {
        pos: at(parent, key),
        hint: typeof description === 'string' ? description : undefined,
      });
    }
    default:
      return new ValidationError('E_VALUE', `${label} in ${opts.what} ${e.message ?? 'is invalid'}`, { pos: at(parent, key) });
  }
}

function alternativesOf(sub: Record<string, unknown>): string {
  const alts = ((sub.anyOf ?? sub.oneOf) as Array<Record<string, unknown>> | undefined) ?? [];
  return alts.map((a) => (a.enum ? (a.enum as unknown[]).map((v) => JSON.stringify(v)).join(' or ') : a.pattern ? `a string matching ${a.pattern}` : String(a.type ?? 'a value'))).join(', or ');
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') {
    // Masked before it is cut: the first 40 characters of a secret are no longer the secret.
    const shown = redact(value);
    return `the string ${JSON.stringify(shown.length > 40 ? shown.slice(0, 40) + '…' : shown)}`;
  }
  return `${typeof value} ${JSON.stringify(value)}`;
}
