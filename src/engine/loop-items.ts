import { listify } from '../vars/lookups/data.js';
import { loopPlugin } from '../vars/lookups/index.js';
import { pythonStr } from '../vars/python-repr.js';
import { isTemplated } from '../vars/template-source.js';
import type { VarScope } from '../vars/scope.js';
import { TemplateError } from '../vars/template.js';

/** A task or include that may loop: `loop:` (loopWith unset) or `with_<lookup>:`. */
export interface Looping {
  loop?: unknown;
  loopWith?: string | undefined;
}

/**
 * Templates a value, keeping each string that fails to template as it was written: Ansible
 * templates with_first_found's terms so, and the lookup then passes over those names.
 */
function templateLenient(scope: VarScope, value: unknown): unknown {
  if (typeof value === 'string') {
    try {
      return scope.template(value);
    } catch (e) {
      if (e instanceof TemplateError) return value;
      throw e;
    }
  }
  if (Array.isArray(value)) return value.map((v) => templateLenient(scope, v));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, templateLenient(scope, v)]));
  return value;
}

function holdsTemplate(value: unknown): boolean {
  if (typeof value === 'string') return isTemplated(value);
  if (Array.isArray(value)) return value.some(holdsTemplate);
  if (value !== null && typeof value === 'object') return Object.values(value).some(holdsTemplate);
  return false;
}

/**
 * The items of a loop on one host, as Ansible's TaskExecutor._get_loop_items: `loop:` must
 * template to a list; `with_<name>:` runs the lookup plugin `name` on the templated terms.
 * `action` is the module's name (with_first_found searches vars/ for include_vars).
 */
export function loopItems(node: Looping, scope: VarScope, action: string): unknown[] {
  if (node.loopWith === undefined) {
    const value = scope.template(node.loop);
    if (!Array.isArray(value)) {
      throw new LoopError(`Invalid data passed to 'loop', it requires a list, got this instead: ${pythonStr(value)}. Hint: if you passed a list/dict of just one element, try adding wantlist=True to your lookup invocation or use q/query instead of lookup.`);
    }
    return value;
  }
  const lenient = node.loopWith === 'first_found' || node.loopWith.endsWith('.first_found');
  let terms = listify(lenient ? templateLenient(scope, node.loop) : scope.template(node.loop));
  // As Ansible: a term still holding a template (a variable in it was undefined) is dropped whole.
  if (lenient) terms = terms.filter((t) => !holdsTemplate(t));
  const plugin = loopPlugin(node.loopWith, action);
  const ctx = scope.lookupContext();
  if (!ctx) throw new LoopError(`with_${node.loopWith} needs a task's context`);
  try {
    return plugin(terms, {}, ctx);
  } catch (e) {
    if (e instanceof TemplateError) throw e;
    throw new LoopError(`with_${node.loopWith}: ${(e as Error).message}`);
  }
}

/** The loop's items could not be made: the task fails on this host with this message. */
export class LoopError extends Error {}
