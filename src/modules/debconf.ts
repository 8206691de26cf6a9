import { quote } from '../transport/quote.js';
import { defineHostModule } from './types.js';

export interface DebconfArgs {
  name: string;
  question?: string;
  vtype?: 'boolean' | 'multiselect' | 'note' | 'password' | 'seen' | 'select' | 'string' | 'text' | 'title' | 'error';
  value?: unknown;
  unseen?: boolean;
}

/** debconf-show's answers for a package: `question -> value` (passwords are never shown by it). */
function parseShow(out: string): Record<string, string> {
  const answers: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const m = /^[* ] ([^:]+):\s?(.*)$/.exec(line);
    if (m) answers[m[1]!] = m[2]!;
  }
  return answers;
}

function normalise(vtype: string | undefined, value: unknown): string {
  if (vtype === 'boolean') return value === true || /^(true|yes|on|1)$/i.test(String(value)) ? 'true' : 'false';
  if (Array.isArray(value)) return value.join(', ');
  return String(value ?? '');
}

export const debconf = defineHostModule<DebconfArgs>({
  name: 'debconf',
  aliases: { pkg: 'name', setting: 'question', selection: 'question', type: 'vtype' },
  schema: {
    type: 'object',
    properties: {
      name: { type: 'string', minLength: 1 },
      question: { type: 'string', minLength: 1 },
      vtype: { enum: ['boolean', 'multiselect', 'note', 'password', 'seen', 'select', 'string', 'text', 'title', 'error'] },
      value: {},
      unseen: { type: 'boolean' },
    },
    required: ['name'],
    additionalProperties: false,
    dependencies: { question: ['vtype', 'value'] },
  },
  probe: (args) => ({ answers: { script: `debconf-show -- ${quote(args.name)} 2>/dev/null; true`, parse: parseShow } }),
  plan(args, facts) {
    if (args.question === undefined) return { changes: [], result: { current: facts.answers } };
    const answers = facts.answers as Record<string, string>;
    const value = normalise(args.vtype, args.value);
    const secret = args.vtype === 'password';
    // debconf-show never reveals passwords, so a password answer is always set (as in Ansible).
    if (!secret && answers[args.question] === value) return { changes: [] };
    const line = `${args.name} ${args.question} ${args.vtype} ${value}\n`;
    const display = `debconf ${args.name} ${args.question} = ${secret ? '********' : value}`;
    return {
      changes: [
        {
          kind: 'exec',
          // The answer goes on stdin, never on a command line.
          script: `debconf-set-selections${args.unseen ? ' -u' : ''}`,
          stdin: line,
          display,
          diff: { path: `debconf ${args.name} ${args.question}`, before: secret ? null : `${answers[args.question] ?? ''}\n`, after: secret ? null : `${value}\n`, hidden: secret },
        },
      ],
    };
  },
});
