import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { registerSecret } from '../../vault/redact.js';
import { keyValues } from './data.js';
import { LookupError, type LookupContext, type LookupPlugin } from './types.js';

/** lookup('env'): the controller's environment variables (the first word of each term), or `default`. */
export const env: LookupPlugin = (terms, options) => {
  const fallback = options.default ?? '';
  return terms.map((term) => {
    const name = String(term).trim().split(/\s+/)[0] ?? '';
    return process.env[name] ?? fallback;
  });
};

/**
 * A shell command on the controller, in the playbook's directory, as Ansible's pipe and lines
 * run it. The command is the playbook author's (a template result): it runs as the user
 * running senex-play, also under --check, exactly as under ansible-playbook.
 */
function runOnController(command: string, ctx: LookupContext, plugin: string): string {
  const r = spawnSync('/bin/sh', ['-c', command], { cwd: ctx.playbookDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new LookupError(`lookup_plugin.${plugin}(${command}) could not run: ${r.error.message}`);
  if (r.status !== 0) throw new LookupError(`lookup_plugin.${plugin}(${command}) returned ${r.status ?? 'a signal'}`);
  return r.stdout;
}

export const pipe: LookupPlugin = (terms, _options, ctx) => terms.map((t) => runOnController(String(t), ctx, 'pipe').trimEnd());

export const lines: LookupPlugin = (terms, _options, ctx) =>
  terms.flatMap((t) => {
    const out = runOnController(String(t), ctx, 'lines');
    return out === '' ? [] : out.replace(/\r?\n$/, '').split(/\r\n|\r|\n/);
  });

/** Python's string module constants, which `chars=` may name. */
const CHAR_SETS: Record<string, string> = {
  ascii_letters: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ',
  ascii_lowercase: 'abcdefghijklmnopqrstuvwxyz',
  ascii_uppercase: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  digits: '0123456789',
  hexdigits: '0123456789abcdefABCDEF',
  octdigits: '01234567',
  punctuation: '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
};

/** `chars=ascii_letters,digits,,` : named sets or literal characters; `,,` is a comma. */
function passwordChars(spec: unknown): string {
  const parts = Array.isArray(spec) ? spec.map(String) : String(spec).replace(/,,/g, '\0').split(',').map((p) => p.replace(/\0/g, ','));
  const chars = parts.map((p) => CHAR_SETS[p] ?? p).join('');
  return [...new Set(chars)].join('');
}

/**
 * lookup('password'): a random password kept in a controller file (created 0600 in a 0700
 * directory), read back on later runs; `/dev/null` keeps none. Hashing (`encrypt=`) and
 * `seed=` are refused rather than done differently from Ansible.
 */
export const password: LookupPlugin = (terms, options, ctx) =>
  terms.map((term) => {
    const kv = keyValues(String(term));
    const relPath = kv._raw_params;
    delete kv._raw_params;
    const params = { ...kv, ...Object.fromEntries(Object.entries(options).map(([k, v]) => [k, String(v)])) };
    for (const k of Object.keys(params)) {
      if (!['length', 'chars', 'encrypt', 'ident', 'seed'].includes(k)) throw new LookupError(`Unrecognized value(s) for password lookup: ${k}`);
    }
    if (params.encrypt !== undefined || params.seed !== undefined) throw new LookupError('the password lookup with encrypt= or seed= is not supported by senex-play; hash the password with the password_hash filter instead');
    if (!relPath) throw new LookupError('the password lookup needs a file path (or /dev/null) as its first word');
    const length = Number(params.length ?? 20);
    if (!Number.isInteger(length) || length < 1) throw new LookupError(`length must be a positive whole number, not '${params.length}'`);
    const path = isAbsolute(relPath) ? relPath : resolve(ctx.playbookDir, relPath);
    if (path !== '/dev/null' && existsSync(path)) {
      const stored = readFileSync(path, 'utf8').replace(/\n$/, '');
      const plain = stored.replace(/ salt=\S*$/, '').replace(/ ident=\S*$/, '');
      registerSecret(plain);
      return plain;
    }
    const alphabet = passwordChars(params.chars ?? 'ascii_letters,digits,.,,:-_');
    if (!alphabet) throw new LookupError('chars= leaves no characters to make a password of');
    const generated = Array.from({ length }, () => alphabet[randomInt(alphabet.length)]).join('');
    registerSecret(generated);
    if (path !== '/dev/null') {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      writeFileSync(path, `${generated}\n`, { mode: 0o600, flag: 'wx' });
    }
    return generated;
  });

/** lookup('url'): refused, with the reason. */
export const url: LookupPlugin = (terms) => {
  throw new LookupError(`the url lookup cannot fetch ${terms.map(String).join(', ')}: senex-play does not make network requests from the controller; fetch the file beforehand and use lookup('file', ...)`);
};
