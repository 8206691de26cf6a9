import { attrSchema, type AttrArgs } from './attrs.js';
import { currentText, planContent } from './content.js';
import { fileProbe, type FileFacts } from './facts/file.js';
import { pyCompile, pySubn } from '../vars/python-re.js';
import { defineHostModule } from './types.js';

export interface ReplaceArgs extends AttrArgs {
  path: string;
  regexp: string;
  replace?: string;
  after?: string;
  before?: string;
  backup?: boolean;
  validate?: string;
}

export const replace = defineHostModule<ReplaceArgs>({
  name: 'replace',
  aliases: { dest: 'path', destfile: 'path', name: 'path' },
  schema: {
    type: 'object',
    properties: {
      path: { type: 'string', minLength: 1 },
      regexp: { type: 'string', minLength: 1 },
      replace: { type: 'string' },
      after: { type: 'string' },
      before: { type: 'string' },
      backup: { type: 'boolean' },
      validate: { type: 'string', pattern: '%s' },
      ...attrSchema,
    },
    required: ['path', 'regexp'],
    additionalProperties: false,
  },
  probe: (args) => ({ path: fileProbe(args.path, { content: true }) }),
  plan(args, facts) {
    const f = facts.path as FileFacts;
    const current = currentText(f);
    if (current.error) return { changes: [], failed: current.error };
    if (current.text === undefined) return { changes: [], failed: `Path ${args.path} does not exist !`, result: { rc: 257 } };
    const contents = current.text;
    // As Ansible: `after`/`before` narrow the replacement to the section between them.
    let start = 0;
    let end = contents.length;
    if (args.after !== undefined || args.before !== undefined) {
      const pattern =
        args.after !== undefined && args.before !== undefined
          ? `${args.after}(?P<subsection>.*?)${args.before}`
          : args.after !== undefined
            ? `${args.after}(?P<subsection>.*)`
            : `(?P<subsection>.*)${args.before}`;
      const m = pyCompile(pattern, 'sd').exec(contents);
      if (!m?.indices?.groups?.subsection) return { changes: [], msg: `Pattern for before/after params did not match the given file: ${pattern}` };
      [start, end] = m.indices.groups.subsection;
    }
    const section = contents.slice(start, end);
    const [replaced, count] = pySubn(pyCompile(args.regexp, 'm'), args.replace ?? '', section);
    if (count === 0 || replaced === section) return planContent(f, Buffer.from(contents), args, { follow: true });
    const result = contents.slice(0, start) + replaced + contents.slice(end);
    const plan = planContent(f, Buffer.from(result), args, { validate: args.validate, backup: args.backup, follow: true });
    return { ...plan, msg: `${count} replacements made` };
  },
});
