import { attrSchema, type AttrArgs } from './attrs.js';
import { currentText, planContent } from './content.js';
import { fileProbe, type FileFacts } from './facts/file.js';
import { EOL, splitLines } from './lines.js';
import { pyCompile } from '../vars/python-re.js';
import { defineHostModule } from './types.js';

export interface BlockinfileArgs extends AttrArgs {
  path: string;
  block?: string;
  marker?: string;
  marker_begin?: string;
  marker_end?: string;
  state?: 'present' | 'absent';
  insertafter?: string;
  insertbefore?: string;
  create?: boolean;
  backup?: boolean;
  validate?: string;
}

export const blockinfile = defineHostModule<BlockinfileArgs>({
  name: 'blockinfile',
  aliases: { dest: 'path', destfile: 'path', name: 'path' },
  schema: {
    type: 'object',
    properties: {
      path: { type: 'string', minLength: 1 },
      block: { type: 'string' },
      marker: { type: 'string' },
      marker_begin: { type: 'string' },
      marker_end: { type: 'string' },
      state: { enum: ['present', 'absent'] },
      insertafter: { type: 'string' },
      insertbefore: { type: 'string' },
      create: { type: 'boolean' },
      backup: { type: 'boolean' },
      validate: { type: 'string', pattern: '%s' },
      ...attrSchema,
    },
    required: ['path'],
    additionalProperties: false,
    not: { required: ['insertafter', 'insertbefore'] },
  },
  probe: (args) => ({ path: fileProbe(args.path, { content: true }) }),
  plan(args, facts) {
    const f = facts.path as FileFacts;
    const current = currentText(f);
    if (current.error) return { changes: [], failed: current.error };
    const present = (args.state ?? 'present') === 'present';
    if (current.text === undefined) {
      if (!present) return { changes: [], msg: `File ${args.path} not present` };
      if (!args.create) return { changes: [], failed: `Path ${args.path} does not exist !`, result: { rc: 257 } };
    }
    const result = editBlock(current.text, args, present);
    if (current.text !== undefined && result === current.text) return { changes: [] };
    const plan = planContent(f, Buffer.from(result), args, { validate: args.validate, backup: args.backup, follow: true });
    return { ...plan, msg: current.text === undefined ? 'File created' : result.includes(markerLine(args, 'begin')) ? 'Block inserted' : 'Block removed' };
  },
});

function markerLine(args: BlockinfileArgs, which: 'begin' | 'end'): string {
  const marker = args.marker ?? '# {mark} ANSIBLE MANAGED BLOCK';
  const mark = which === 'begin' ? (args.marker_begin ?? 'BEGIN') : (args.marker_end ?? 'END');
  return marker.replace(/\{mark\}/g, mark) + EOL;
}

/** Ansible's blockinfile algorithm: replace between markers, or insert at the anchor. */
function editBlock(original: string | undefined, args: BlockinfileArgs, present: boolean): string {
  const lines = splitLines(original ?? '');
  const after = args.insertbefore === undefined && args.insertafter === undefined ? 'EOF' : args.insertafter;
  const before = args.insertbefore;
  const insertRe = after !== undefined && after !== 'EOF' ? pyCompile(after) : before !== undefined && before !== 'BOF' ? pyCompile(before) : undefined;
  const begin = markerLine(args, 'begin');
  const end = markerLine(args, 'end');
  let block = args.block ?? '';
  let blockLines: string[] = [];
  if (present && block) {
    if (!block.endsWith(EOL)) block += EOL;
    blockLines = [begin, ...splitLines(block), end];
  }
  let n0 = lines.lastIndexOf(begin) >= 0 ? lines.lastIndexOf(begin) : undefined;
  const n1 = lines.lastIndexOf(end) >= 0 ? lines.lastIndexOf(end) : undefined;
  if (n0 === undefined || n1 === undefined) {
    n0 = undefined;
    if (insertRe) {
      const hit = lines.findLastIndex((line) => insertRe.test(line));
      n0 = hit < 0 ? lines.length : after !== undefined ? hit + 1 : hit;
    } else if (before !== undefined) n0 = 0;
    else n0 = lines.length;
  } else if (n0 < n1) {
    lines.splice(n0, n1 - n0 + 1);
  } else {
    lines.splice(n1, n0 - n1 + 1);
    n0 = n1;
  }
  if (n0 > 0 && !lines[n0 - 1]!.endsWith(EOL)) lines[n0 - 1] += EOL;
  lines.splice(n0, 0, ...blockLines);
  return lines.join('');
}
