import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ErrorSink, ValidationError, sourceLine, type SourcePos } from '../errors.js';
import type { Inventory } from '../inventory/inventory.js';
import { blocks, isTemplated, namesInCode, referencedNames } from '../vars/template-source.js';
import type { Vars } from '../vars/scope.js';
import type { Templater } from '../vars/template.js';
import type { Play, Task, TaskNode } from './model.js';
import { closest } from './suggest.js';
import { templatePos } from './task.js';
import { loadYamlFile, posOf } from './yaml.js';

/** Names every task can read without anyone defining them. */
const ALWAYS_DEFINED = new Set([
  'inventory_hostname', 'inventory_hostname_short', 'group_names', 'groups', 'hostvars', 'playbook_dir', 'role_path', 'role_name',
  'ansible_check_mode', 'ansible_diff_mode', 'ansible_play_hosts', 'ansible_play_hosts_all', 'ansible_play_batch', 'ansible_play_name',
  'omit', 'item', 'ansible_loop_var', 'ansible_failed_task', 'ansible_failed_result', 'ansible_facts', 'template_path', 'template_host',
  'template_fullpath', 'range', 'lookup', 'query', 'q', 'dict', 'namespace', 'cycler', 'joiner', 'lipsum', 'now', 'zip',
]);

/** Names a template binds itself: for-loop targets, set, macro and with arguments. */
function boundNames(source: string): Set<string> {
  const bound = new Set<string>();
  for (const b of blocks(source)) {
    if (b.kind !== 'stmt') continue;
    const forM = /^\s*for\s+([\w\s,()]+?)\s+in\s/.exec(b.code);
    if (forM) for (const n of forM[1]!.match(/\w+/g) ?? []) bound.add(n);
    const setM = /^\s*set\s+([\w\s,]+?)\s*(=|$)/.exec(b.code);
    if (setM) for (const n of setM[1]!.match(/\w+/g) ?? []) bound.add(n);
    const macroM = /^\s*macro\s+(\w+)\s*\(([^)]*)\)/.exec(b.code);
    if (macroM) {
      bound.add(macroM[1]!);
      for (const n of macroM[2]!.match(/\b[A-Za-z_]\w*\b(?=\s*(=|,|$))/g) ?? []) bound.add(n);
    }
    const withM = /^\s*with\s+(.*)$/.exec(b.code);
    if (withM) for (const m of withM[1]!.matchAll(/(\w+)\s*=/g)) bound.add(m[1]!);
  }
  return bound;
}

/** Names used somewhere with `is defined`, `is undefined` or `| default`: checked by the author. */
function guardedNames(code: string): Set<string> {
  const out = new Set<string>();
  for (const m of code.matchAll(/\b([A-Za-z_]\w*)[\w.[\]'"]*\s*(?:is\s+(?:not\s+)?(?:defined|undefined)\b|\|\s*(?:default|d)\b)/g)) out.add(m[1]!);
  return out;
}

interface Finding {
  name: string;
  line: number;
  col: number;
}

/** Undefined names in one template (whole-template guards and bindings taken into account). */
function undefinedIn(source: string, known: (n: string) => boolean, bare: boolean, extraGuards = new Set<string>()): Finding[] {
  const codes = bare ? [{ code: source, offset: 0 }] : blocks(source).filter((b) => b.kind === 'expr' || b.kind === 'stmt').map((b) => ({ code: b.code, offset: b.codeStart }));
  const all = codes.map((c) => c.code).join('\n');
  const bound = boundNames(source);
  const guarded = new Set([...guardedNames(all), ...extraGuards]);
  const findings: Finding[] = [];
  for (const { code, offset } of codes) {
    const names = new Set<string>();
    namesInCode(code, names);
    for (const name of names) {
      if (bound.has(name) || guarded.has(name) || known(name) || findings.some((f) => f.name === name)) continue;
      const at = offset + code.search(new RegExp(`\\b${name}\\b`));
      const before = source.slice(0, at);
      findings.push({ name, line: before.split('\n').length, col: at - before.lastIndexOf('\n') });
    }
  }
  return findings;
}

function keysOf(v: unknown): string[] {
  return v && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v) : [];
}

/**
 * Finds variables that no source defines anywhere (inventory, play, roles, registers,
 * facts, extra vars...), before anything runs: a misspelt name fails the run up front
 * instead of on the twentieth host. Names guarded by `is defined`/`default` are allowed.
 */
export function checkUndefinedNames(plays: Play[], inventory: Inventory, extraVars: Vars, sink: ErrorSink, templater: Templater): void {
  const inventoryNames = new Set<string>();
  for (const g of inventory.groups.values()) keysOf(g.vars).forEach((k) => inventoryNames.add(k));
  for (const h of inventory.hosts.values()) keysOf(h.vars).forEach((k) => inventoryNames.add(k));
  for (const play of plays) {
    const names = new Set<string>([...inventoryNames, ...keysOf(extraVars), ...keysOf(play.vars)]);
    for (const f of play.varsFiles) if (f.data) Object.keys(f.data).forEach((k) => names.add(k));
    for (const r of play.roles) [r.role.defaults, r.role.vars, r.params].forEach((v) => keysOf(v).forEach((k) => names.add(k)));
    let dynamic = false;
    const tasks: Task[] = [];
    const collect = (n: TaskNode): void => {
      n.vars.forEach((v) => keysOf(v).forEach((k) => names.add(k)));
      if (n.kind === 'block') [...n.block, ...n.rescue, ...n.always].forEach(collect);
      else if (n.kind === 'include') {
        if (n.loopControl) names.add(n.loopControl.loopVar);
        if (n.tasks) n.tasks.forEach(collect);
        else dynamic = true;
      } else {
        tasks.push(n);
        if (n.register) names.add(n.register);
        if (n.loopControl) {
          names.add(n.loopControl.loopVar);
          if (n.loopControl.indexVar) names.add(n.loopControl.indexVar);
        }
        if (n.module.name === 'set_fact') keysOf(n.args).forEach((k) => names.add(k));
        if (n.module.name === 'include_vars') {
          if (typeof n.args.name === 'string') names.add(n.args.name);
          else {
            const file = includeVarsFile(n);
            if (file) keysOf(safeLoad(file)).forEach((k) => names.add(k));
            else dynamic = true;
          }
        }
      }
    };
    for (const section of play.sections) section.forEach(collect);
    play.handlers.forEach(collect);
    // Names only known at run time (dynamic includes, templated vars files): we cannot be sure.
    if (dynamic || play.varsFiles.some((f) => isTemplated(f.path))) continue;
    const known = (n: string) => names.has(n) || ALWAYS_DEFINED.has(n) || n.startsWith('ansible_');
    for (const task of tasks) checkTask(task, known, names, sink, templater);
  }
}

function safeLoad(file: string): unknown {
  try {
    return loadYamlFile(file);
  } catch {
    return {};
  }
}

function includeVarsFile(task: Task): string | undefined {
  const f = (task.args.file ?? task.args._raw_params) as string | undefined;
  if (typeof f !== 'string' || isTemplated(f)) return undefined;
  const dirs = [task.role ? resolve(task.role.role.path, 'vars') : undefined, resolve(task.pos.file, '..'), resolve(task.pos.file, '..', 'vars')].filter((d): d is string => !!d);
  return isAbsolute(f) ? f : dirs.map((d) => resolve(d, f)).find((p) => existsSync(p));
}

function report(sink: ErrorSink, f: Finding, pos: SourcePos | undefined, names: Set<string>, task: Task): void {
  const guess = closest(f.name, names);
  sink.add(
    new ValidationError('E_UNDEFINED', `'${f.name}' is undefined (in task '${task.name ?? task.moduleKey}')`, {
      pos,
      hint: guess ? `did you mean '${guess}'?` : `define it (play vars, inventory, role defaults, -e) or guard it with "| default(...)"`,
    }),
  );
}

function checkTask(task: Task, known: (n: string) => boolean, names: Set<string>, sink: ErrorSink, templater: Templater): void {
  const whenText = task.when.filter((c): c is string => typeof c === 'string').join('\n');
  const whenGuards = guardedNames(whenText);
  const visit = (value: unknown, parent: unknown, key: string | number, bare = false): void => {
    if (typeof value === 'string') {
      if (!bare && !isTemplated(value)) return;
      for (const f of undefinedIn(value, known, bare, whenGuards)) {
        const base = posOf(parent, key);
        report(sink, f, bare ? barePos(base, value, f) : templatePos(base, f.line, f.col), names, task);
        return;
      }
    } else if (Array.isArray(value)) value.forEach((v, i) => visit(v, value, i, bare));
    else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) visit(v, value, k, bare);
  };
  const raw = task.module.kind === 'action' && task.module.rawArgs;
  if (raw && Array.isArray(task.args.that)) task.args.that.forEach((c, i) => visit(c, task.args.that, i, true));
  else if (raw && typeof task.args.that === 'string') visit(task.args.that, task.args, 'that', true);
  visit(raw ? { ...task.args, that: undefined } : task.args, task.source, task.moduleKey);
  const src = task.source;
  for (const key of ['when', 'changed_when', 'failed_when', 'until'] as const) {
    const v = src[key];
    if (typeof v === 'string') visit(v.replace(/^\s*\{\{\s*([\s\S]*?)\s*\}\}\s*$/, '$1'), src, key, true);
    else if (Array.isArray(v)) v.forEach((c, i) => typeof c === 'string' && visit(c, v, i, true));
  }
  // with_first_found passes over names whose variables are undefined, as Ansible's does.
  for (const key of Object.keys(src)) if ((key === 'loop' || key.startsWith('with_')) && key !== 'with_first_found') visit(src[key], src, key);
  if (task.module.name === 'template' && typeof task.args.src === 'string' && !isTemplated(task.args.src)) checkTemplateFile(task, known, names, sink, templater);
}

/** Position of a name inside a bare expression (a `when:` value). */
function barePos(base: SourcePos | undefined, value: string, f: Finding): SourcePos | undefined {
  if (!base) return undefined;
  const line = sourceLine(base.file, base.line) ?? '';
  const at = line.indexOf(value.split('\n')[0]!, base.col - 1);
  return { ...base, col: (at >= 0 ? at + 1 : base.col) + f.col - 1 };
}

function checkTemplateFile(task: Task, known: (n: string) => boolean, names: Set<string>, sink: ErrorSink, templater: Templater): void {
  const src = task.args.src as string;
  const dirs = [task.role ? resolve(task.role.role.path, 'templates') : undefined, task.role?.role.path, resolve(task.pos.file, '..', 'templates'), resolve(task.pos.file, '..')].filter((d): d is string => !!d);
  const file = isAbsolute(src) ? src : dirs.map((d) => resolve(d, src)).find((p) => existsSync(p));
  if (!file) return;
  const source = readFileSync(file, 'utf8');
  const syntax = templater.check(source);
  if (syntax) {
    sink.add(new ValidationError('E_TEMPLATE', syntax.message, { pos: { file, line: syntax.line ?? 1, col: syntax.col ?? 1 }, hint: 'fix the Jinja2 syntax of this template' }));
    return;
  }
  if (referencedNames(source).size === 0) return;
  for (const f of undefinedIn(source, known, false)) {
    report(sink, f, { file, line: f.line, col: f.col }, names, task);
    return;
  }
}
