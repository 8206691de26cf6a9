import { createHash } from 'node:crypto';
import { attrSchema, type AttrArgs } from './attrs.js';
import { planContent } from './content.js';
import { fileProbe, type FileFacts } from './facts/file.js';
import { sh } from '../transport/quote.js';
import { pyCompile } from '../vars/python-re.js';
import { defineHostModule, ModuleError, type Probe } from './types.js';

export interface AssembleArgs extends AttrArgs {
  src: string;
  dest: string;
  delimiter?: string;
  regexp?: string;
  ignore_hidden?: boolean;
  remote_src?: boolean;
  backup?: boolean;
  validate?: string;
  follow?: boolean;
}

/** The source directory as the probe saw it: each regular file (symlinks followed) with its content. */
export interface Fragment {
  name: string;
  /** null: the file cannot be read. */
  content: Buffer | null;
}

export type Fragments = { state: 'missing' | 'notdir' } | { state: 'dir'; files: Fragment[] };

/**
 * Lists the regular files directly in `dir` (as Python's os.path.isfile, through symlinks),
 * each as `NAME\0BASE64\0`; `!` for a file that cannot be read (base64 never holds one).
 * `cd` then `find .` so that a directory named `-x` is never an option.
 */
export function fragmentsScript(dir: string): string {
  return [
    sh`if [ ! -e ${dir} ]; then echo missing; elif [ ! -d ${dir} ]; then echo notdir; else`,
    sh`echo dir; cd -- ${dir} && find -L . -mindepth 1 -maxdepth 1 -type f -exec sh -c 'for f; do printf "%s\\0" "\${f#./}"; if [ -r "$f" ]; then base64 -w0 < "$f"; else printf "!"; fi; printf "\\0"; done' sh {} +; fi`,
  ].join(' ');
}

export function parseFragments(out: string): Fragments {
  const nl = out.indexOf('\n');
  const head = nl < 0 ? out.trim() : out.slice(0, nl);
  if (head === 'missing' || head === 'notdir') return { state: head } as Fragments;
  if (head !== 'dir') throw new Error(`unexpected answer from the fragment listing: ${JSON.stringify(head.slice(0, 80))}`);
  const parts = out.slice(nl + 1).split('\0');
  const files: Fragment[] = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const data = parts[i + 1]!;
    files.push({ name: parts[i]!, content: data === '!' ? null : Buffer.from(data, 'base64') });
  }
  return { state: 'dir', files };
}

/**
 * Python's `codecs.escape_decode`: `\n`, `\t`, `\xhh`, octal, `\\`...; an unknown escape
 * keeps its backslash. Ansible decodes the delimiter again before each use, so a third
 * fragment sees it decoded twice; we do the same.
 */
export function escapeDecode(data: Buffer): Buffer {
  const out: number[] = [];
  const simple: Record<string, number> = { '\\': 92, "'": 39, '"': 34, a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11 };
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (c !== 92) {
      out.push(c);
      continue;
    }
    if (i + 1 >= data.length) throw new ModuleError('the delimiter ends in a lone backslash (Python: Trailing \\ in string)');
    const n = String.fromCharCode(data[++i]!);
    if (n in simple) out.push(simple[n]!);
    else if (n === '\n') continue;
    else if (/[0-7]/.test(n)) {
      let digits = n;
      while (digits.length < 3 && i + 1 < data.length && /[0-7]/.test(String.fromCharCode(data[i + 1]!))) digits += String.fromCharCode(data[++i]!);
      out.push(parseInt(digits, 8) & 0xff);
    } else if (n === 'x') {
      const hex = data.subarray(i + 1, i + 3).toString('latin1');
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new ModuleError(`the delimiter has an invalid \\x escape at position ${i - 1}`);
      out.push(parseInt(hex, 16));
      i += 2;
    } else out.push(92, data[i]!);
  }
  return Buffer.from(out);
}

/** Ansible's assemble_from_fragments, step for step: sorted names, regexp on the name, hidden files, newline and delimiter rules. */
export function assembleFragments(files: Fragment[], opts: { delimiter?: string | undefined; regexp?: string | undefined; ignoreHidden?: boolean | undefined }, dir: string): Buffer {
  const re = opts.regexp === undefined ? undefined : compileRegexp(opts.regexp);
  let delimiter: Buffer | undefined = opts.delimiter === undefined ? undefined : Buffer.from(opts.delimiter, 'utf8');
  const parts: Buffer[] = [];
  let delimitMe = false;
  let addNewline = false;
  // Python sorts str by code point; names from the host are UTF-8.
  const sorted = [...files].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  for (const f of sorted) {
    if (re && !re.test(f.name)) continue;
    if (opts.ignoreHidden && f.name.startsWith('.')) continue;
    if (f.content === null) throw new ModuleError(`${dir}/${f.name} cannot be read`);
    if (addNewline) parts.push(Buffer.from('\n'));
    if (delimitMe && delimiter && delimiter.length > 0) {
      const decoded = escapeDecode(delimiter);
      delimiter = decoded;
      parts.push(decoded);
      if (decoded[decoded.length - 1] !== 10) parts.push(Buffer.from('\n'));
    }
    parts.push(f.content);
    delimitMe = true;
    addNewline = f.content.length === 0 || f.content[f.content.length - 1] !== 10;
  }
  return Buffer.concat(parts);
}

function compileRegexp(regexp: string): RegExp {
  try {
    return pyCompile(regexp);
  } catch (e) {
    throw new ModuleError(`Invalid Regexp (${(e as Error).message}) in "${regexp}"`);
  }
}

const digest = (algo: string, data: Buffer) => createHash(algo).update(data).digest('hex');

export const assemble = defineHostModule<AssembleArgs>({
  name: 'assemble',
  schema: {
    type: 'object',
    properties: {
      src: { type: 'string', minLength: 1 },
      dest: { type: 'string', minLength: 1 },
      delimiter: { type: 'string' },
      regexp: { type: 'string' },
      ignore_hidden: { type: 'boolean' },
      remote_src: {
        type: 'boolean',
        const: true,
        description: 'remote_src: false (fragments from the controller) is not supported; copy the fragments to the host first',
      },
      backup: { type: 'boolean' },
      validate: { type: 'string', pattern: '%s' },
      follow: { type: 'boolean' },
      decrypt: { type: 'boolean' },
      ...attrSchema,
    },
    required: ['src', 'dest'],
    additionalProperties: false,
  },
  probe(args, ctx): Record<string, Probe> {
    return {
      src: { script: fragmentsScript(args.src), parse: (out) => parseFragments(out) },
      dest: fileProbe(args.dest, ctx.showsDiff ? { content: true } : { sha256: true }),
    };
  },
  plan(args, facts) {
    const src = facts.src as Fragments;
    if (src.state !== 'dir') return { changes: [], failed: `Source (${args.src}) ${src.state === 'missing' ? 'does not exist' : 'is not a directory'}` };
    const content = assembleFragments(src.files, { delimiter: args.delimiter, regexp: args.regexp, ignoreHidden: args.ignore_hidden }, args.src);
    const plan = planContent(facts.dest as FileFacts, content, args, { validate: args.validate, backup: args.backup, follow: args.follow });
    return { ...plan, result: { src: args.src, dest: args.dest, checksum: digest('sha1', content), md5sum: digest('md5', content), msg: 'OK' } };
  },
});
