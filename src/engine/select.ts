import type { RoleInstance, Task, TaskNode } from '../load/model.js';

/** Which tasks a run selects: --tags, --skip-tags, --phase, --start-at-task. */
export interface Selection {
  tags: string[];
  skipTags: string[];
  phases?: number[] | undefined;
  startAtTask?: string | undefined;
}

/** Ansible's tag rules, including the special tags always, never, tagged, untagged, all. */
export function tagsSelect(taskTags: string[], sel: Selection): boolean {
  const tags = new Set(taskTags);
  const only = sel.tags.filter((t) => t !== 'all');
  if (sel.skipTags.length > 0) {
    const skip = new Set(sel.skipTags);
    if ([...tags].some((t) => skip.has(t))) return false;
    if (skip.has('tagged') && tags.size > 0 && !(tags.has('always') && !skip.has('always'))) return false;
    if (skip.has('untagged') && tags.size === 0) return false;
  }
  if (only.length === 0) return !tags.has('never') || sel.tags.includes('never');
  if (tags.has('always')) return true;
  if (only.some((t) => tags.has(t))) return true;
  if (only.includes('tagged') && tags.size > 0 && !tags.has('never')) return true;
  if (only.includes('untagged') && tags.size === 0) return true;
  return false;
}

/** A role instance is in the selected phases, or is a dependency of one that is (through any dependent). */
export function phaseSelects(instance: RoleInstance | undefined, phases: number[]): boolean {
  const todo = instance ? [instance] : [];
  const visited = new Set<RoleInstance>();
  for (let i = todo.pop(); i; i = todo.pop()) {
    if (visited.has(i)) continue;
    visited.add(i);
    if (i.phase !== undefined && phases.includes(i.phase)) return true;
    if (i.parent) todo.push(i.parent);
    todo.push(...(i.alsoNeededBy ?? []));
  }
  return false;
}

export function taskSelected(task: Task, sel: Selection): boolean {
  if (!tagsSelect(task.tags, sel)) return false;
  if (sel.phases && !phaseSelects(task.role, sel.phases) && !task.tags.includes('always')) return false;
  return true;
}

/** Whether a subtree holds any selected task (so a block or include is worth entering). */
export function anySelected(node: TaskNode, sel: Selection): boolean {
  switch (node.kind) {
    case 'task':
      return taskSelected(node, sel);
    case 'block':
      return [...node.block, ...node.rescue, ...node.always].some((n) => anySelected(n, sel));
    case 'include':
      // A dynamic include's content is only known at run time; its own tags/phase decide.
      return node.tasks ? node.tasks.some((n) => anySelected(n, sel)) : tagsSelect(node.tags, sel) && (!sel.phases || phaseSelects(node.role, sel.phases));
  }
}

/** --start-at-task: a glob on the task's name, with or without its role prefix. */
export function matchesTaskName(task: Task, pattern: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  const name = task.name ?? task.moduleKey;
  return re.test(name) || (task.role !== undefined && re.test(`${task.role.role.name} : ${name}`));
}
