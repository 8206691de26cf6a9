/**
 * Python `re` semantics on JavaScript RegExp, for the filters and modules whose Ansible
 * counterparts take Python patterns and replacement templates.
 */

/** Compiles a Python pattern: `(?P<name>...)` and `(?P=name)` become JS syntax. */
export function pyCompile(pattern: string, flags = ''): RegExp {
  let source = String(pattern)
    .replace(/\(\?P<(\w+)>/g, '(?<$1>')
    .replace(/\(\?P=(\w+)\)/g, '\\k<$1>')
    .replace(/\\A/g, '^')
    .replace(/\\Z/g, '$(?![\\s\\S])');
  // Python's inline flags at the start, e.g. (?i)
  const inline = /^\(\?([aiLmsux]+)\)/.exec(source);
  if (inline) {
    source = source.slice(inline[0].length);
    for (const f of inline[1]!) if ('ims'.includes(f) && !flags.includes(f)) flags += f;
  }
  return new RegExp(source, flags.includes('u') ? flags : flags + 'u');
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v', a: '\x07', b: '\b', '\\': '\\' };

/** Python's match.expand / re.sub template: `\1`, `\g<1>`, `\g<name>`, `\n`. */
export function pyExpand(template: string, match: RegExpMatchArray | RegExpExecArray): string {
  return String(template).replace(/\\(?:g<(\w+)>|(\d{1,2})|(.))/gs, (_m, named: string | undefined, num: string | undefined, esc: string | undefined) => {
    if (named !== undefined) return (/^\d+$/.test(named) ? match[Number(named)] : match.groups?.[named]) ?? '';
    if (num !== undefined) return match[Number(num)] ?? '';
    return ESCAPES[esc!] ?? `\\${esc}`;
  });
}

/** re.subn: replaces up to `count` matches (0 = all); returns the text and how many. */
export function pySubn(re: RegExp, template: string, text: string, count = 0): [string, number] {
  const global = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g');
  let n = 0;
  const out = text.replace(global, (...args) => {
    if (count > 0 && n >= count) return args[0] as string;
    n++;
    const groupsArg = args[args.length - 1];
    const hasGroups = typeof groupsArg === 'object' && groupsArg !== null;
    const captures = args.slice(0, hasGroups ? -3 : -2) as string[];
    const m = Object.assign([...captures], { groups: hasGroups ? (groupsArg as Record<string, string>) : undefined }) as unknown as RegExpMatchArray;
    return pyExpand(template, m);
  });
  return [out, n];
}
