import { parseYaml } from '../load/yaml.js';
import { pythonStr } from '../vars/python-repr.js';
import { TemplateError } from '../vars/template.js';
import { defineAction } from './types.js';

export const debug = defineAction<{ msg?: unknown; var?: string; verbosity?: number }>({
  name: 'debug',
  schema: {
    type: 'object',
    properties: { msg: {}, var: { type: 'string', minLength: 1 }, verbosity: { type: 'integer', minimum: 0 } },
    additionalProperties: false,
    not: { required: ['msg', 'var'] },
  },
  run(args, ctx) {
    if (args.var !== undefined) {
      let value: unknown;
      try {
        value = ctx.lookupVar(args.var);
      } catch (e) {
        // As Ansible: an undefined name (at any depth) is shown as such, and the task is ok;
        // any other template error (a filter, a division by zero...) fails the task.
        if (!(e instanceof TemplateError) || e.undefinedName === undefined) throw e;
        value = 'VARIABLE IS NOT DEFINED!';
      }
      return { result: { [args.var]: value }, show: true };
    }
    return { result: { msg: args.msg ?? 'Hello world!' }, show: true };
  },
});

export const fail = defineAction<{ msg?: unknown }>({
  name: 'fail',
  schema: { type: 'object', properties: { msg: {} }, additionalProperties: false },
  run: (args) => ({ failed: args.msg === undefined ? 'Failed as requested from task' : pythonStr(args.msg) }),
});

export const assert = defineAction<{ that: string | string[]; fail_msg?: unknown; msg?: unknown; success_msg?: unknown; quiet?: boolean }>({
  name: 'assert',
  schema: {
    type: 'object',
    properties: {
      that: { anyOf: [{ type: 'string' }, { type: 'boolean' }, { type: 'array', items: { type: ['string', 'boolean'] }, minItems: 1 }] },
      fail_msg: {},
      msg: {},
      success_msg: {},
      quiet: { type: 'boolean' },
    },
    required: ['that'],
    additionalProperties: false,
  },
  rawArgs: true,
  run(args, ctx) {
    const conditions = Array.isArray(args.that) ? args.that : [args.that];
    for (const condition of conditions) {
      if (!ctx.test(String(condition))) {
        const msg = args.fail_msg ?? args.msg;
        return {
          failed: msg === undefined ? 'Assertion failed' : pythonStr(ctx.template(msg)),
          result: { assertion: condition, evaluated_to: false },
        };
      }
    }
    return { result: { msg: args.success_msg === undefined ? 'All assertions passed' : pythonStr(ctx.template(args.success_msg)) } };
  },
});

export const setFact = defineAction<Record<string, unknown>>({
  name: 'set_fact',
  schema: {
    type: 'object',
    propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
    minProperties: 1,
  },
  run(args) {
    const facts = { ...args };
    delete facts.cacheable;
    return { facts, result: { ansible_facts: facts } };
  },
});

export const meta = defineAction<{ _raw_params: string }>({
  name: 'meta',
  freeForm: '_raw_params',
  schema: {
    type: 'object',
    properties: { _raw_params: { enum: ['flush_handlers', 'noop', 'end_play', 'end_host', 'clear_host_errors', 'refresh_inventory'] } },
    required: ['_raw_params'],
    additionalProperties: false,
  },
  run: (args) => ({ meta: args._raw_params as 'flush_handlers' }),
});

export const includeVars = defineAction<{ file?: string; _raw_params?: string; name?: string }>({
  name: 'include_vars',
  freeForm: '_raw_params',
  schema: {
    type: 'object',
    properties: { file: { type: 'string', minLength: 1 }, _raw_params: { type: 'string', minLength: 1 }, name: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } },
    oneOf: [{ required: ['file'] }, { required: ['_raw_params'] }],
    additionalProperties: false,
  },
  run(args, ctx) {
    const found = ctx.readControllerFile('vars', (args.file ?? args._raw_params)!);
    const data = parseYaml(found.content.toString('utf8'), found.path) ?? {};
    if (typeof data !== 'object' || Array.isArray(data)) return { failed: `${found.path} must contain a mapping of variable names to values` };
    const vars = args.name ? { [args.name]: data } : (data as Record<string, unknown>);
    return { vars, result: { ansible_facts: vars, ansible_included_var_files: [found.path] } };
  },
});
