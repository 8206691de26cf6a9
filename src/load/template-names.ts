import { createRequire } from 'node:module';
import { filters, tests } from '../vars/filters.js';
import { isLookup } from '../vars/lookups/index.js';
import { blocks } from '../vars/template-source.js';

// A bare engine, only to ask which filters and tests the template engine has built in.
const require = createRequire(import.meta.url);
const { Environment } = require('minijinja-js') as typeof import('minijinja-js');
let probeEnv: InstanceType<typeof Environment> | undefined;
const builtinCache = new Map<string, boolean>();

/** Whether the engine itself has the filter or test: asking for an unknown one fails so, and only then. */
function builtin(kind: 'filter' | 'test', name: string): boolean {
  const key = `${kind}:${name}`;
  let known = builtinCache.get(key);
  if (known === undefined) {
    probeEnv ??= (() => {
      const env = new Environment();
      env.enablePyCompat();
      return env;
    })();
    try {
      probeEnv.evalExpr(kind === 'filter' ? `none | ${name}` : `none is ${name}`, {});
      known = true;
    } catch (e) {
      known = !new RegExp(`unknown ${kind}`).test(String((e as Error).message));
    }
    builtinCache.set(key, known);
  }
  return known;
}

/** A filter, test or lookup a template names that senex-play does not have. */
export interface UnknownName {
  kind: 'filter' | 'test' | 'lookup';
  name: string;
  /** Offset of the name in the template source. */
  offset: number;
}

/** Code with its string literals blanked (same length), so names inside strings are not read. */
function withoutStrings(code: string): string {
  return code.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, (m) => `"${' '.repeat(m.length - 2)}"`);
}

function unknownInCode(code: string, offset: number, out: UnknownName[]): void {
  for (const m of code.matchAll(/\b(?:lookup|query|q)\s*\(\s*(['"])([\w.]+)\1/g)) {
    if (!isLookup(m[2]!)) out.push({ kind: 'lookup', name: m[2]!, offset: offset + m.index! + m[0].indexOf(m[2]!, m[0].indexOf(m[1]!)) });
  }
  const bare = withoutStrings(code);
  // Dotted (collection) names are left to the engine: it does not parse them yet.
  for (const m of bare.matchAll(/(?<![|])\|\s*([A-Za-z_]\w*)(?![\w.])/g)) {
    const name = m[1]!;
    if (!(name in filters) && !builtin('filter', name)) out.push({ kind: 'filter', name, offset: offset + m.index! + m[0].indexOf(name) });
  }
  for (const m of bare.matchAll(/\bis\s+(?:not\s+)?([A-Za-z_]\w*)(?![\w.])/g)) {
    const name = m[1]!;
    if (!(name in tests) && !builtin('test', name)) out.push({ kind: 'test', name, offset: offset + m.index! + m[0].lastIndexOf(name) });
  }
}

/** Unknown filters, tests and lookups in a template (or, with `bare`, in a `when:` expression). */
export function unknownNames(source: string, bare = false): UnknownName[] {
  const out: UnknownName[] = [];
  if (bare) unknownInCode(source, 0, out);
  else for (const b of blocks(source)) if (b.kind === 'expr' || b.kind === 'stmt') unknownInCode(b.code, b.codeStart, out);
  return out;
}

/** 1-based line and column of an offset. */
export function lineCol(source: string, offset: number): { line: number; col: number } {
  const before = source.slice(0, offset).split('\n');
  return { line: before.length, col: before[before.length - 1]!.length + 1 };
}
