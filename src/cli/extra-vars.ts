import { resolve } from 'node:path';
import { OptionsError, loadYamlFile, parseYaml } from '../index.js';

/** One `-e` value: `k=v k2=v2`, `@file.yml`, or YAML/JSON `{...}`. Later ones win. */
export function parseExtraVars(value: string, cwd: string): Record<string, unknown> {
  const text = value.trim();
  if (text.startsWith('@')) {
    const data = loadYamlFile(resolve(cwd, text.slice(1)));
    if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new OptionsError(`-e ${text}: the file must hold a mapping of variables`);
    return data as Record<string, unknown>;
  }
  if (text.startsWith('{') || text.startsWith('[')) {
    const data = parseYaml(text, '<-e>');
    if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new OptionsError(`-e ${text}: expected a mapping`);
    return data as Record<string, unknown>;
  }
  const out: Record<string, unknown> = {};
  for (const word of text.match(/(?:[^\s"']+|"(?:[^"\\]|\\.)*"|'[^']*')+/g) ?? []) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=([\s\S]*)$/.exec(word);
    if (!m) throw new OptionsError(`-e: cannot read '${word}'`, 'write -e name=value, -e @vars.yml or -e \'{"name": "value"}\'');
    out[m[1]!] = m[2]!.replace(/^(["'])([\s\S]*)\1$/, '$2');
  }
  return out;
}
