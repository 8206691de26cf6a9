import { attrSchema, type AttrArgs } from './attrs.js';
import { currentText, planContent } from './content.js';
import { fileProbe, type FileFacts } from './facts/file.js';
import { bare, EOL, splitLines } from './lines.js';
import { pyCompile, pyExpand } from '../vars/python-re.js';
import { defineHostModule, type Plan } from './types.js';

export interface LineinfileArgs extends AttrArgs {
  path: string;
  line?: string;
  regexp?: string;
  search_string?: string;
  state?: 'present' | 'absent';
  insertafter?: string;
  insertbefore?: string;
  create?: boolean;
  backrefs?: boolean;
  firstmatch?: boolean;
  backup?: boolean;
  validate?: string;
}

export const lineinfile = defineHostModule<LineinfileArgs>({
  name: 'lineinfile',
  aliases: { dest: 'path', destfile: 'path', name: 'path' },
  schema: {
    type: 'object',
    properties: {
      path: { type: 'string', minLength: 1 },
      line: { type: 'string' },
      regexp: { type: 'string' },
      search_string: { type: 'string' },
      state: { enum: ['present', 'absent'] },
      insertafter: { type: 'string' },
      insertbefore: { type: 'string' },
      create: { type: 'boolean' },
      backrefs: { type: 'boolean' },
      firstmatch: { type: 'boolean' },
      backup: { type: 'boolean' },
      validate: { type: 'string', pattern: '%s' },
      ...attrSchema,
    },
    required: ['path'],
    additionalProperties: false,
    not: { anyOf: [{ required: ['insertafter', 'insertbefore'] }, { required: ['regexp', 'search_string'] }] },
  },
  probe: (args) => ({ path: fileProbe(args.path, { content: true }) }),
  plan(args, facts) {
    const f = facts.path as FileFacts;
    const current = currentText(f);
    if (current.error) return { changes: [], failed: current.error };
    const absent = args.state === 'absent';
    if (!absent && args.line === undefined) return { changes: [], failed: 'line is required with state=present' };
    if (absent && args.line === undefined && args.regexp === undefined && args.search_string === undefined) {
      return { changes: [], failed: 'one of line, regexp or search_string is required with state=absent' };
    }
    if (args.backrefs && args.regexp === undefined) return { changes: [], failed: 'regexp is required with backrefs=true' };
    if (current.text === undefined) {
      if (absent) return { changes: [] };
      if (!args.create) return { changes: [], failed: `Destination ${args.path} does not exist !`, result: { rc: 257 } };
    }
    const lines = splitLines(current.text ?? '');
    const edited = absent ? removeLines(lines, args) : presentLine(lines, args);
    if (!edited.changed && f.exists) return withMsg(planContent(f, Buffer.from(current.text!), args, { follow: true }), '');
    return withMsg(planContent(f, Buffer.from(edited.lines.join('')), args, { validate: args.validate, backup: args.backup, follow: true }), edited.msg);
  },
});

function withMsg(plan: Plan, msg: string): Plan {
  return msg ? { ...plan, msg } : plan;
}

interface Edit {
  lines: string[];
  changed: boolean;
  msg: string;
}

/** Ansible's lineinfile `present()`, step for step (including its quirks). */
function presentLine(input: string[], args: LineinfileArgs): Edit {
  const lines = [...input];
  const line = args.line!;
  const after = args.insertafter;
  const before = args.insertbefore;
  const insertRe = after !== undefined && after !== 'BOF' && after !== 'EOF' ? pyCompile(after) : before !== undefined && before !== 'BOF' ? pyCompile(before) : undefined;
  let found = -1;
  let insertAt = -1;
  let match: RegExpExecArray | null = null;
  if (args.regexp !== undefined) {
    const re = pyCompile(args.regexp);
    for (let i = 0; i < lines.length; i++) {
      const m = re.exec(bare(lines[i]!));
      if (m) {
        found = i;
        match = m;
        if (args.firstmatch) break;
      }
    }
  }
  let searchMatched = false;
  if (args.search_string !== undefined) {
    for (let i = 0; i < lines.length; i++) {
      if (lines[i]!.includes(args.search_string)) {
        found = i;
        searchMatched = true;
        if (args.firstmatch) break;
      }
    }
  }
  if (!match && !searchMatched) {
    for (let i = 0; i < lines.length; i++) {
      if (bare(lines[i]!) === line) {
        found = i;
      } else if (insertRe?.test(lines[i]!)) {
        if (after !== undefined) {
          insertAt = i + 1;
          if (args.firstmatch) break;
        }
        if (before !== undefined) {
          insertAt = i;
          if (args.firstmatch) break;
        }
      }
    }
  }
  const added = (at: number): Edit => {
    lines.splice(at, 0, line + EOL);
    return { lines, changed: true, msg: 'line added' };
  };
  const unchanged: Edit = { lines, changed: false, msg: '' };
  if (found !== -1) {
    let newLine = args.backrefs && match ? pyExpand(line, match) : line;
    if (!newLine.endsWith(EOL)) newLine += EOL;
    if (lines[found] === newLine) return unchanged;
    lines[found] = newLine;
    return { lines, changed: true, msg: 'line replaced' };
  }
  if (args.backrefs) return unchanged;
  if (before === 'BOF' || after === 'BOF') return added(0);
  if (after === 'EOF' || insertAt === -1) {
    if (lines.length > 0 && !lines[lines.length - 1]!.endsWith('\n')) lines.push(EOL);
    return added(lines.length);
  }
  if (after !== undefined) {
    if (lines.length === insertAt) return bare(lines[insertAt - 1]!) !== line ? added(insertAt) : unchanged;
    return bare(lines[insertAt]!) !== line ? added(insertAt) : unchanged;
  }
  return added(insertAt);
}

/** Ansible's lineinfile `absent()`: drops every matching line. */
function removeLines(lines: string[], args: LineinfileArgs): Edit {
  const re = args.regexp !== undefined ? pyCompile(args.regexp) : undefined;
  const matches = (l: string): boolean =>
    re ? re.test(bare(l)) : args.search_string !== undefined ? l.includes(args.search_string) : bare(l) === args.line;
  const kept = lines.filter((l) => !matches(l));
  const removed = lines.length - kept.length;
  return { lines: kept, changed: removed > 0, msg: removed > 0 ? `${removed} line(s) removed` : '' };
}
