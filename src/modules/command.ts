import { quote, shellJoin } from '../transport/quote.js';
import { splitShellWords } from './shell-words.js';
import { defineHostModule, type HostModule, type Probe } from './types.js';

export interface CommandArgs {
  cmd?: string;
  argv?: string[];
  _raw_params?: string;
  creates?: string;
  removes?: string;
  chdir?: string;
  stdin?: string;
  stdin_add_newline?: boolean;
  strip_empty_ends?: boolean;
  executable?: string;
}

/**
 * A glob quoted for the shell: `*`, `?` and bracket expressions stay active, everything else
 * is literal. A bracket expression stays one only when it holds nothing but letters, digits,
 * ranges and a leading `!`/`^` (`[0-9]`, `[!a-z_]`): the shell would expand `$(...)` or a
 * backquote inside one, so any other bracket is quoted and matches literally.
 */
export function quoteGlob(pattern: string): string {
  return pattern
    .split(/([*?]|\[[!^]?[A-Za-z0-9._,+@%-]+\])/)
    .map((part, i) => (i % 2 === 1 ? part : part === '' ? '' : quote(part)))
    .join('');
}

/** `creates`/`removes`: does anything match the (glob) path? */
function existsProbe(pattern: string): Probe<boolean> {
  return { script: `for f in ${quoteGlob(pattern)}; do if [ -e "$f" ] || [ -L "$f" ]; then echo yes; break; fi; done`, parse: (out) => out.trim() === 'yes' };
}

const schemaFor = (shell: boolean) => ({
  type: 'object',
  properties: {
    cmd: { type: 'string', minLength: 1 },
    ...(shell ? {} : { argv: { type: 'array', items: { type: 'string' }, minItems: 1 } }),
    _raw_params: { type: 'string', minLength: 1 },
    creates: { type: 'string' },
    removes: { type: 'string' },
    chdir: { type: 'string' },
    stdin: { type: 'string' },
    stdin_add_newline: { type: 'boolean' },
    strip_empty_ends: { type: 'boolean' },
    ...(shell ? { executable: { type: 'string' } } : {}),
  },
  additionalProperties: false,
  oneOf: [{ required: ['cmd'] }, { required: ['_raw_params'] }, ...(shell ? [] : [{ required: ['argv'] }])],
});

function defineCommand(name: 'command' | 'shell'): HostModule<CommandArgs> {
  const shell = name === 'shell';
  return defineHostModule<CommandArgs>({
    name,
    schema: schemaFor(shell),
    freeForm: '_raw_params',
    probe(args) {
      const probes: Record<string, Probe> = {};
      if (args.creates) probes.creates = existsProbe(args.creates);
      if (args.removes) probes.removes = existsProbe(args.removes);
      return probes;
    },
    plan(args, facts) {
      const text = args.cmd ?? args._raw_params;
      const display = args.argv ? shellJoin(args.argv) : text!;
      if (args.creates && facts.creates === true) return { changes: [], msg: `Did not run command since '${args.creates}' exists`, result: { rc: 0, cmd: display } };
      if (args.removes && facts.removes === false) return { changes: [], msg: `Did not run command since '${args.removes}' does not exist`, result: { rc: 0, cmd: display } };
      // command never goes through a shell: the words are split here and each is quoted.
      const body = shell ? `${quote(args.executable ?? '/bin/sh')} -c ${quote(text!)}` : shellJoin(args.argv ?? splitShellWords(text!));
      const script = (args.chdir ? `cd -- ${quote(args.chdir)} || exit 1\n` : '') + body;
      const stdin = args.stdin === undefined ? undefined : args.stdin + (args.stdin_add_newline === false ? '' : '\n');
      return { changes: [{ kind: 'exec', script, display, stdin, opaque: true }] };
    },
    collect(args, out) {
      const strip = args.strip_empty_ends ?? true;
      const stdout = strip ? out.stdout.replace(/[\r\n]+$/, '') : out.stdout;
      const stderr = strip ? out.stderr.replace(/[\r\n]+$/, '') : out.stderr;
      const result = {
        rc: out.rc,
        stdout,
        stderr,
        stdout_lines: stdout === '' ? [] : stdout.split('\n'),
        stderr_lines: stderr === '' ? [] : stderr.split('\n'),
        cmd: args.argv ?? (shell ? args.cmd ?? args._raw_params : splitShellWords(args.cmd ?? args._raw_params ?? '')),
      };
      return out.rc === 0 ? { result } : { result, failed: 'non-zero return code' };
    },
  });
}

export const command = defineCommand('command');
export const shell = defineCommand('shell');
