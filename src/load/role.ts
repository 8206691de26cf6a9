import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ErrorSink, ValidationError, ValidationErrors, type SourcePos } from '../errors.js';
import type { Vars } from '../vars/scope.js';
import type { ArgumentOption, ArgumentSpec, Handler, Inherited, Role, TaskNode } from './model.js';
import { didYouMean } from './suggest.js';
import type { TaskLoader } from './task.js';
import { validateSchema } from './validate.js';
import { loadYamlFile, posOf } from './yaml.js';

const optionSchema: object = {
  type: 'object',
  properties: {
    type: { enum: ['str', 'int', 'float', 'bool', 'list', 'dict', 'path', 'raw', 'bytes', 'bits', 'jsonarg', 'json'] },
    required: { type: 'boolean' },
    default: {},
    choices: { type: 'array' },
    elements: { type: 'string' },
    description: {},
    options: { type: 'object' },
    aliases: { type: 'array' },
    no_log: { type: 'boolean' },
    version_added: {},
  },
  additionalProperties: false,
};

const argumentSpecsSchema = { type: 'object', additionalProperties: { type: 'object', properties: { options: { type: 'object', additionalProperties: optionSchema } } } };
export const specSchema = { type: 'object', properties: { argument_specs: argumentSpecsSchema }, additionalProperties: false };

export const metaSchema = {
  type: 'object',
  properties: {
    galaxy_info: {
      type: 'object',
      properties: { senex_phase: { type: 'integer', minimum: 1 } },
    },
    dependencies: { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'object' }] } },
    allow_duplicates: { type: 'boolean' },
    argument_specs: argumentSpecsSchema,
    collections: { type: 'array' },
  },
  additionalProperties: false,
} as const;

function firstExisting(dir: string, names: string[]): string | undefined {
  return names.map((n) => join(dir, n)).find((p) => existsSync(p));
}

function yamlIn(dir: string, base: string): string | undefined {
  return firstExisting(dir, [`${base}.yml`, `${base}.yaml`, base]);
}

/** Finds roles on the search path and loads each once. */
export class RoleLoader {
  private readonly cache = new Map<string, Role>();
  taskLoader!: TaskLoader;

  constructor(
    private readonly searchDirs: string[],
    private readonly sink: ErrorSink,
    /** Directories holding ansible_collections/<namespace>/<collection>/ (collections_path). */
    private readonly collectionsPath: string[] = [],
  ) {}

  /**
   * A role by name: `ns.coll.role` from the collections path; a plain name from the
   * collections listed (a play's `collections:`, the collection of the role asking), then
   * from the role directories.
   */
  find(name: string, pos: SourcePos, collections: readonly string[] = []): Role | undefined {
    const found = this.locate(name, collections);
    if (!found) {
      const known = this.available();
      const searched = [...this.searchDirs, ...(isFqcn(name) || collections.length ? this.collectionsPath.map((p) => join(p, 'ansible_collections')) : [])];
      this.sink.add(
        new ValidationError('E_UNKNOWN_ROLE', `role '${name}' not found`, {
          pos,
          hint: `${didYouMean(name, known, 'roles')} (searched ${searched.join(', ')})`,
        }),
      );
      return undefined;
    }
    let role = this.cache.get(found.dir);
    if (!role) {
      role = this.load(found.name, found.dir, found.collection);
      this.cache.set(found.dir, role);
    }
    return role;
  }

  private locate(name: string, collections: readonly string[]): { dir: string; name: string; collection?: string } | undefined {
    if (name.includes('/')) return existsSync(resolve(name)) ? { dir: resolve(name), name } : undefined;
    const fqcns = isFqcn(name) ? [name] : collections.filter((c) => !BUILTIN_COLLECTIONS.includes(c)).map((c) => `${c}.${name}`);
    for (const fqcn of fqcns) {
      const [ns, coll, ...rest] = fqcn.split('.');
      for (const base of this.collectionsPath) {
        const p = join(base, 'ansible_collections', ns!, coll!, 'roles', rest.join('.'));
        if (existsSync(p) && statSync(p).isDirectory()) return { dir: p, name: fqcn, collection: `${ns}.${coll}` };
      }
    }
    if (isFqcn(name)) return undefined;
    for (const d of this.searchDirs) {
      const p = join(d, name);
      if (existsSync(p) && statSync(p).isDirectory()) return { dir: p, name };
    }
    return undefined;
  }

  private available(): string[] {
    return this.searchDirs.flatMap((d) => (existsSync(d) ? readdirSync(d).filter((n) => statSync(join(d, n)).isDirectory()) : []));
  }

  private load(name: string, path: string, collection: string | undefined): Role {
    const varsFile = (sub: string): Vars => {
      const file = yamlIn(join(path, sub), 'main');
      if (!file) return {};
      const data = this.sink.guard(() => loadYamlFile(file), {});
      if (data === null || data === undefined) return {};
      if (typeof data !== 'object' || Array.isArray(data)) {
        this.sink.add(new ValidationError('E_VARS', `${sub}/main.yml of role '${name}' must be a mapping of variables`, { pos: posOf(data) ?? { file, line: 1, col: 1 } }));
        return {};
      }
      return data as Vars;
    };
    const metaFile = yamlIn(join(path, 'meta'), 'main');
    const meta = ((metaFile && this.sink.guard(() => loadYamlFile(metaFile), {})) || {}) as Record<string, unknown>;
    if (metaFile) {
      const errors = validateSchema(metaSchema, meta, { what: `meta/main.yml of role '${name}'`, fallbackPos: { file: metaFile, line: 1, col: 1 } });
      if (errors.length) this.sink.add(new ValidationErrors(errors));
    }
    const specFile = yamlIn(join(path, 'meta'), 'argument_specs');
    const specDoc = specFile ? ((this.sink.guard(() => loadYamlFile(specFile), {}) as Record<string, unknown> | null) ?? {}) : undefined;
    if (specFile && specDoc) {
      const errors = validateSchema(specSchema, specDoc, { what: `meta/argument_specs.yml of role '${name}'`, fallbackPos: { file: specFile, line: 1, col: 1 } });
      if (errors.length) this.sink.add(new ValidationErrors(errors));
    }
    const specData = (specDoc ? specDoc.argument_specs : meta.argument_specs) as Record<string, unknown> | undefined;
    const argumentSpecs: Record<string, ArgumentSpec> = {};
    const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
    // A malformed spec was reported by the schema check above; keep loading without it.
    for (const [entry, spec] of Object.entries(isMapping(specData) ? specData : {})) {
      const options = isMapping(spec) && isMapping(spec.options) ? (spec.options as Record<string, ArgumentOption>) : {};
      argumentSpecs[entry] = { options: Object.fromEntries(Object.entries(options).filter(([, o]) => isMapping(o))), pos: posOf(specData, entry) ?? { file: specFile ?? metaFile ?? path, line: 1, col: 1 } };
    }
    const deps = (Array.isArray(meta.dependencies) ? meta.dependencies : []) as unknown[];
    const tasksCache = new Map<string, string | undefined>();
    const loader = this;
    // A role's own `collections:` (meta/main.yml), then its collection: where its plain names resolve.
    const metaCollections = Array.isArray(meta.collections) ? meta.collections.map(String) : [];
    return {
      name,
      path,
      collections: [...metaCollections, ...(collection ? [collection] : [])],
      defaults: varsFile('defaults'),
      vars: varsFile('vars'),
      phase: (meta.galaxy_info as { senex_phase?: number } | undefined)?.senex_phase,
      allowDuplicates: meta.allow_duplicates === true,
      argumentSpecs,
      dependencies: deps.map((d, i) => ({
        spec: typeof d === 'string' ? { role: d } : (d as Record<string, unknown>),
        pos: posOf(deps, i) ?? { file: metaFile!, line: 1, col: 1 },
      })),
      loadTasks(file: string, parent: Inherited, from?: SourcePos): TaskNode[] {
        if (!tasksCache.has(file)) tasksCache.set(file, yamlIn(join(path, 'tasks'), file));
        const found = tasksCache.get(file);
        if (!found) {
          if (file !== 'main') loader.sink.add(new ValidationError('E_FILE', `role '${name}' has no tasks/${file}.yml`, { pos: from }));
          return [];
        }
        return loader.sink.guard(() => loader.taskLoader.file(found, parent, from), []);
      },
      loadHandlers(parent: Inherited, file = 'main'): Handler[] {
        const found = yamlIn(join(path, 'handlers'), file);
        if (!found) {
          if (file !== 'main') loader.sink.add(new ValidationError('E_FILE', `role '${name}' has no handlers/${file}.yml`, { pos: parent.role?.pos }));
          return [];
        }
        const data = loader.sink.guard(() => loadYamlFile(found), []);
        return handlerNodes(loader.taskLoader.list(data, parent, found, { file: found, line: 1, col: 1 }, true));
      },
    };
  }
}

/** Handlers of a handlers list: import_tasks (and blocks) give their tasks, each a handler. */
export function handlerNodes(nodes: TaskNode[]): Handler[] {
  return nodes.flatMap((n): Handler[] => (n.kind === 'block' ? handlerNodes([...n.block, ...n.rescue, ...n.always]) : [n]));
}

/** Collections whose names stand for senex-play itself, never a directory. */
const BUILTIN_COLLECTIONS = ['ansible.builtin', 'ansible.legacy'];

/** `namespace.collection.role`: a role of a collection (a role's own name has no dots, as Galaxy names have one). */
function isFqcn(name: string): boolean {
  return name.split('.').length >= 3 && !name.includes('/');
}

const argumentSchemas = new WeakMap<ArgumentSpec, object>();

/**
 * A role's argument_specs as a JSON schema for its variables: one object per spec, because
 * the validator compiles a schema once per object (a new one per host compiled it per host).
 */
export function argumentSchema(spec: ArgumentSpec): object {
  let schema = argumentSchemas.get(spec);
  if (!schema) argumentSchemas.set(spec, (schema = buildArgumentSchema(spec)));
  return schema;
}

function buildArgumentSchema(spec: ArgumentSpec): object {
  const toSchema = (o: ArgumentOption): Record<string, unknown> => {
    const types: Record<string, unknown> = {
      str: { type: 'string' },
      path: { type: 'string' },
      int: { type: 'integer' },
      float: { type: 'number' },
      bool: { type: 'boolean' },
      list: { type: 'array', ...(o.elements ? { items: toSchema({ type: o.elements }) } : {}) },
      dict: o.options
        ? { type: 'object', properties: Object.fromEntries(Object.entries(o.options).map(([k, v]) => [k, toSchema(v)])), required: Object.entries(o.options).filter(([, v]) => v.required).map(([k]) => k) }
        : { type: 'object' },
    };
    const s: Record<string, unknown> = { ...((types[o.type ?? 'str'] as object | undefined) ?? {}) };
    if (o.choices) s.enum = o.choices;
    return s;
  };
  return {
    type: 'object',
    properties: Object.fromEntries(Object.entries(spec.options).map(([k, v]) => [k, toSchema(v)])),
    required: Object.entries(spec.options).filter(([, v]) => v.required).map(([k]) => k),
  };
}
