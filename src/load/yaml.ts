import { isVaulted } from '../vault/format.js';
import { openVault, VaultError } from '../vault/keyring.js';
import { registerSecret } from '../vault/redact.js';
import { literalTemplate } from '../vars/template-source.js';
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isSeq, isScalar, isAlias, type Node as YamlNode, type Document } from 'yaml';
import { ValidationError, ValidationErrors, type SourcePos } from '../errors.js';

/** Where a loaded YAML mapping or sequence, its keys and its items came from. */
interface Location {
  pos: SourcePos;
  keys: Map<string, { key: SourcePos; value: SourcePos }>;
  items: SourcePos[];
}

// Keyed by the plain JS object the loader returns, so callers keep working with ordinary
// objects and arrays while every error can still point at the user's file.
const locations = new WeakMap<object, Location>();

/** Position of a loaded value, or of one of its keys/items (the value's position by default). */
export function posOf(value: unknown, key?: string | number, which: 'key' | 'value' = 'value'): SourcePos | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const loc = locations.get(value);
  if (!loc) return undefined;
  if (key === undefined) return loc.pos;
  if (typeof key === 'number') return loc.items[key] ?? loc.pos;
  const k = loc.keys.get(key);
  return k ? k[which] : undefined;
}

/** Gives a mapping built from text (k=v words) positions for its keys and values. */
export function setKeyPositions(to: object, pos: SourcePos, keys: Record<string, SourcePos>): void {
  const map = new Map(Object.entries(keys).map(([k, p]) => [k, { key: p, value: { ...p, col: p.col + k.length + 1 } }]));
  const had = locations.get(to);
  locations.set(to, { pos: had?.pos ?? pos, keys: new Map([...(had?.keys ?? []), ...map]), items: had?.items ?? [] });
}

/** Copies the location of `from` onto `to` (for objects the loader rebuilds). */
export function keepPos<T extends object>(to: T, from: unknown): T {
  if (from !== null && typeof from === 'object') {
    const loc = locations.get(from);
    if (loc && !locations.has(to)) locations.set(to, loc);
  }
  return to;
}

/** A copy of a mapping with some keys renamed keeps the positions of the original keys. */
export function keepPosRenamed<T extends object>(to: T, from: object, renames: Record<string, string>): T {
  const loc = locations.get(from);
  if (!loc) return to;
  const keys = new Map(loc.keys);
  for (const [alias, target] of Object.entries(renames)) {
    const k = loc.keys.get(alias);
    if (k && !keys.has(target)) keys.set(target, k);
  }
  locations.set(to, { ...loc, keys });
  return to;
}

export interface YamlLoadOptions {
  /** Extra tags (e.g. `!vault`) understood in this file. */
  customTags?: Parameters<typeof parseDocument>[1] extends infer O ? (O extends { customTags?: infer T } ? T : never) : never;
}

/**
 * PyYAML's YAML 1.1 booleans: yes/no/on/off/true/false in three casings, but not y/n
 * (the yaml package's 1.1 schema takes `y` as true; Ansible, through PyYAML, keeps "y").
 */
type Tags = Array<{ tag: string; test?: RegExp }>;
function pyyamlBooleans(tags: Tags): Tags {
  return tags.map((t) => {
    if (t.tag !== 'tag:yaml.org,2002:bool' || !t.test) return t;
    const isTrue = t.test.test('true');
    return { ...t, test: isTrue ? /^(?:[Yy]es|YES|[Tt]rue|TRUE|[Oo]n|ON)$/ : /^(?:[Nn]o|NO|[Ff]alse|FALSE|[Oo]ff|OFF)$/ };
  });
}

/** Parses YAML with Ansible's expectations: YAML 1.1 (`0644` is octal, `yes` is true), merge keys, unique keys. */
export function parseYaml(source: string, file: string, opts: YamlLoadOptions = {}): unknown {
  const lineCounter = new LineCounter();
  // Inline `!vault |` values are decrypted while parsing; a failure is reported at the value.
  const vaultProblems = new Map<string, VaultError>();
  const vaultTag = {
    tag: '!vault',
    resolve(text: string, onError: (message: string) => void): string {
      try {
        const value = openVault(text, { file, line: 1, col: 1 }, 'this !vault value').toString('utf8');
        registerSecret(value);
        return value;
      } catch (e) {
        if (!(e instanceof VaultError)) throw e;
        const key = `vault#${vaultProblems.size}`;
        vaultProblems.set(key, e);
        onError(key);
        return '';
      }
    },
  };
  // `!unsafe 'text {{ x }}'`: the text itself, never templated (Ansible's unsafe strings).
  const unsafeTag = { tag: '!unsafe', resolve: (text: string): string => literalTemplate(text) };
  const doc = parseDocument(source, {
    version: '1.1',
    uniqueKeys: true,
    merge: true,
    lineCounter,
    prettyErrors: false,
    customTags: (tags) => {
      const base = pyyamlBooleans(tags as Tags) as typeof tags;
      const extra = opts.customTags;
      const withVault = [...base, vaultTag, unsafeTag] as typeof tags;
      return typeof extra === 'function' ? extra(withVault) : [...withVault, ...((extra as typeof tags | undefined) ?? [])];
    },
  });
  const at = (offset: number): SourcePos => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, col };
  };
  const problems = [...doc.errors, ...doc.warnings];
  const vaultError = problems.map((p) => ({ p, e: vaultProblems.get(p.message.split(' at line')[0]!.trim()) })).find((x) => x.e);
  if (vaultError) throw new VaultError(vaultError.e!.message, at(vaultError.p.pos[0]), vaultError.e!.hint);
  if (problems.length > 0) {
    throw new ValidationErrors(
      problems.map((p) => new ValidationError('E_YAML', yamlMessage(p.message, p.code), { pos: at(p.pos[0]), hint: yamlHint(p.code) })),
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    throw new ValidationError('E_YAML', `cannot load YAML: ${(e as Error).message}`, { pos: { file, line: 1, col: 1 } });
  }
  if (doc.contents) annotate(doc, doc.contents, value, at);
  return value;
}

/** Reads and parses a YAML file; a missing or unreadable file is a user error naming it. */
export function loadYamlFile(file: string, opts: YamlLoadOptions = {}, from?: SourcePos): unknown {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ValidationError('E_FILE', code === 'ENOENT' ? `file not found: ${file}` : `cannot read ${file}: ${(e as Error).message}`, {
      pos: from,
      hint: code === 'ENOENT' ? 'check the path; relative paths are resolved from the file that names them' : undefined,
    });
  }
  if (isVaulted(source)) {
    // A whole vaulted vars file: every value in it is a secret.
    const data = parseYaml(openVault(source, { file, line: 1, col: 1 }, file).toString('utf8'), file, opts);
    registerSecret(data);
    return data;
  }
  return parseYaml(source, file, opts);
}

function annotate(doc: Document, node: YamlNode, value: unknown, at: (offset: number) => SourcePos): void {
  if (isAlias(node)) {
    const target = node.resolve(doc);
    if (target) annotate(doc, target, value, at);
    return;
  }
  if (value === null || typeof value !== 'object' || locations.has(value)) return;
  const pos = at(node.range?.[0] ?? 0);
  if (isMap(node)) {
    const loc: Location = { pos, keys: new Map(), items: [] };
    locations.set(value, loc);
    for (const pair of node.items) {
      const keyNode = pair.key as YamlNode | null;
      if (!keyNode) continue;
      const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
      const keyPos = at(keyNode.range?.[0] ?? 0);
      const valueNode = pair.value as YamlNode | null;
      loc.keys.set(key, { key: keyPos, value: valueNode?.range ? at(valueNode.range[0]) : keyPos });
      if (valueNode) annotate(doc, valueNode, (value as Record<string, unknown>)[key], at);
    }
  } else if (isSeq(node)) {
    const loc: Location = { pos, keys: new Map(), items: [] };
    locations.set(value, loc);
    node.items.forEach((item, i) => {
      const itemNode = item as YamlNode | null;
      loc.items.push(itemNode?.range ? at(itemNode.range[0]) : pos);
      if (itemNode) annotate(doc, itemNode, (value as unknown[])[i], at);
    });
  }
}

function yamlMessage(message: string, code: string): string {
  // The yaml package appends "at line N, column M" and a frame; we print our own.
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  if (code === 'DUPLICATE_KEY') return `duplicate key: ${first}`;
  return `invalid YAML: ${first}`;
}

function yamlHint(code: string): string | undefined {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'each key may appear once in a mapping; YAML would silently keep only the last one';
    case 'TAB_AS_INDENT':
      return 'indent with spaces, not tabs';
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
      return 'check the indentation of this line against the lines above it';
    case 'TAG_RESOLVE_FAILED':
      return 'this tag is not supported here';
    default:
      return undefined;
  }
}

/**
 * A vars file (vars_files, include_vars): a mapping of variables, or empty. Decrypted when
 * vaulted; anything else is an error at the file.
 */
export function loadVarsFile(file: string, from?: SourcePos, what = `vars file ${file}`): Record<string, unknown> {
  const data = loadYamlFile(file, {}, from);
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ValidationError('E_VARS', `${what} must be a mapping of variables, not ${Array.isArray(data) ? 'a list' : `a ${typeof data}`}`, {
      pos: posOf(data) ?? { file, line: 1, col: 1 },
      hint: 'write name: value lines at the top level',
    });
  }
  return data as Record<string, unknown>;
}
