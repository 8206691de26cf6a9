import { posix } from 'node:path';
import { attrSchema, type AttrArgs } from './attrs.js';
import { currentText, planContent } from './content.js';
import { fileProbe, type FileFacts } from './facts/file.js';
import { defineHostModule, type Change, type Plan } from './types.js';

export interface IniFileArgs extends AttrArgs {
  path: string;
  section?: Scalar;
  option?: Scalar;
  value?: Scalar;
  values?: Scalar[];
  state?: 'present' | 'absent';
  exclusive?: boolean;
  no_extra_spaces?: boolean;
  allow_no_value?: boolean;
  create?: boolean;
  backup?: boolean;
}

type Scalar = string | number | boolean | null;

/** Ansible's `type='str'` conversion: Python's str(), so YAML `yes` is 'True'; null stays unset. */
function pyStr(v: Scalar | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  return String(v);
}

const SCALAR = { type: ['string', 'number', 'boolean', 'null'] } as const;

/** Ansible's fake first section: a name no real file uses (its commit hash). */
const FAKE = 'ad01e11446efb704fcdbdb21f2c43757423d91c5';
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
// Python's `$` also matches before a final newline; these lines keep theirs.
const END = '(?:$|(?=\\n$))';
const matchOpt = (option: string, line: string) => new RegExp(`^[#;]?( |\\t)*(${escape(option)})( |\\t)*(=|${END})( |\\t)*(.*)`, 'u').exec(line);
const matchActiveOpt = (option: string, line: string) => new RegExp(`^( |\\t)*(${escape(option)})( |\\t)*(=|${END})( |\\t)*(.*)`, 'u').exec(line);
const BLANK_OR_COMMENT = new RegExp(`^[ \\t]*([#;].*)?${END}`, 'u');

/** Lines as Python's readlines() in text mode gives them: universal newlines, each keeps its `\n`. */
function readLines(text: string): string[] {
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n').match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/**
 * community.general's do_ini (the version Debian 12 ships), line for line, quirks included:
 * the fake sections at both ends, `#option` lines counted as the option when present,
 * a missing final newline counting as a change.
 */
export function editIni(lines: string[], a: { section?: string | null | undefined; option?: string | null | undefined; values: string[]; state: 'present' | 'absent'; exclusive: boolean; noExtraSpaces: boolean; allowNoValue: boolean }): { lines: string[]; changed: boolean; msg: string } {
  const option = a.option ?? '';
  let values = [...new Set(a.values)];
  const ini = [...lines];
  let changed = false;
  if (ini.length === 0) ini.push('\n');
  if (ini[ini.length - 1] === '' || !ini[ini.length - 1]!.endsWith('\n')) {
    ini[ini.length - 1] += '\n';
    changed = true;
  }
  ini.unshift(`[${FAKE}]`);
  ini.push('[');
  const section = a.section ? a.section : FAKE;
  let within = false;
  let start = 0;
  let end = 0;
  for (const [i, line] of ini.entries()) {
    if (line.startsWith(`[${section}]`)) {
      within = true;
      start = i;
    } else if (line.startsWith('[') && within) {
      end = i;
      break;
    }
  }
  const fmt = (o: string, v: string) => (a.noExtraSpaces ? `${o}=${v}\n` : `${o} = ${v}\n`);
  const before = ini.slice(0, start);
  let sec = ini.slice(start, end);
  const after = ini.slice(end);
  const touched = sec.map(() => false);
  let msg = 'OK';
  let noValuePresent = false;
  const update = (i: number, line: string) => {
    if (sec[i] !== line) {
      changed = true;
      msg = 'option changed';
    }
    sec[i] = line;
    touched[i] = true;
  };
  if (a.state === 'present' && option) {
    for (const [i, line] of sec.entries()) {
      const m = matchOpt(option, line);
      if (!m) continue;
      if (values.length > 0 && values.includes(m[6]!)) {
        const matched = m[6]!;
        if (!matched && a.allowNoValue) {
          update(i, `${option}\n`);
          noValuePresent = true;
        } else update(i, fmt(option, matched));
        values.splice(values.indexOf(matched), 1);
      } else if (values.length === 0 && a.allowNoValue) {
        update(i, `${option}\n`);
        noValuePresent = true;
        break;
      }
    }
  }
  if (a.state === 'present' && a.exclusive && !a.allowNoValue) {
    if (values.length > 0) {
      for (const [i, line] of sec.entries()) {
        if (!touched[i] && matchOpt(option, line)) {
          update(i, fmt(option, values.shift()!));
          if (values.length === 0) break;
        }
      }
    }
    for (let i = sec.length - 1; i > 0; i--) {
      if (!touched[i] && matchOpt(option, sec[i]!)) {
        sec.splice(i, 1);
        touched.splice(i, 1);
        changed = true;
        msg = 'option changed';
      }
    }
  }
  if (a.state === 'present') {
    for (let i = sec.length; i > 0; i--) {
      if (BLANK_OR_COMMENT.test(sec[i - 1]!)) continue;
      if (option && values.length > 0) {
        for (const v of [...values].reverse()) sec.splice(i, 0, fmt(option, v));
        msg = 'option added';
        changed = true;
      } else if (option && values.length === 0 && a.allowNoValue && !noValuePresent) {
        sec.splice(i, 0, `${option}\n`);
        msg = 'option added';
        changed = true;
      }
      break;
    }
  }
  if (a.state === 'absent') {
    if (option) {
      const keep = a.exclusive
        ? sec.filter((l) => !matchActiveOpt(option, l))
        : values.length > 0
          ? sec.filter((l) => !(matchActiveOpt(option, l) && values.includes(matchActiveOpt(option, l)![6]!)))
          : sec;
      if (keep.length !== sec.length) {
        changed = true;
        msg = 'option changed';
        sec = keep;
      }
    } else if (sec.length > 0) {
      sec = [];
      msg = 'section removed';
      changed = true;
    }
  }
  const out = [...before, ...sec, ...after].slice(1, -1);
  if (!within && a.state === 'present') {
    out.push(`[${section}]\n`);
    msg = 'section and option added';
    if (option && values.length > 0) for (const v of values) out.push(fmt(option, v));
    else if (option && values.length === 0 && a.allowNoValue) out.push(`${option}\n`);
    else msg = 'only section added';
    changed = true;
  }
  return { lines: out, changed, msg };
}

export const iniFile = defineHostModule<IniFileArgs>({
  name: 'ini_file',
  aliases: { dest: 'path' },
  schema: {
    type: 'object',
    properties: {
      path: { type: 'string', minLength: 1 },
      section: SCALAR,
      option: SCALAR,
      value: SCALAR,
      values: { type: 'array', items: SCALAR },
      state: { enum: ['present', 'absent'] },
      exclusive: { type: 'boolean' },
      no_extra_spaces: { type: 'boolean' },
      allow_no_value: { type: 'boolean' },
      create: { type: 'boolean' },
      backup: { type: 'boolean' },
      ...attrSchema,
    },
    required: ['path'],
    not: { required: ['value', 'values'] },
    additionalProperties: false,
  },
  probe: (args) => ({ path: fileProbe(args.path, { content: true }), dir: fileProbe(posix.dirname(args.path)) }),
  plan(args, facts): Plan {
    const state = args.state ?? 'present';
    const allowNoValue = args.allow_no_value ?? false;
    const value = pyStr(args.value);
    const values = value !== undefined ? [value] : (args.values ?? []).map(pyStr).filter((v): v is string => v !== undefined);
    if (state === 'present' && !allowNoValue && values.length === 0) {
      return { changes: [], failed: "Parameter 'value(s)' must be defined if state=present and allow_no_value=False." };
    }
    const f = facts.path as FileFacts;
    const { text, error } = currentText(f);
    if (error) return { changes: [], failed: error };
    if (text === undefined && args.create === false) return { changes: [], failed: `Destination ${args.path} does not exist!` };
    const edit = editIni(readLines(text ?? ''), { section: pyStr(args.section), option: pyStr(args.option), values, state, exclusive: args.exclusive ?? true, noExtraSpaces: args.no_extra_spaces ?? false, allowNoValue });
    const result = { path: args.path, msg: edit.msg };
    if (!edit.changed) return { changes: f.exists ? planContent(f, f.content!, args).changes : [], result };
    const pre: Change[] = (facts.dir as FileFacts).exists ? [] : [{ kind: 'mkdir', path: posix.dirname(args.path), attrs: {} }];
    const plan = planContent(f, Buffer.from(edit.lines.join(''), 'utf8'), args, { backup: args.backup, follow: true });
    return { ...plan, changes: [...pre, ...plan.changes], result };
  },
});
