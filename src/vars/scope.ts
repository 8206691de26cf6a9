import { isTemplated, referencedNames } from './template-source.js';
import { TemplateError, type Templater } from './template.js';

export type Vars = Record<string, unknown>;

// Layers whose values are results, not templates: registered results and gathered facts
// come from hosts and must never be evaluated (a host could otherwise inject `{{ ... }}`).
const finalLayers = new WeakSet<object>();

/** Marks a layer as holding final values: used as they are, never templated. */
export function markFinal<T extends Vars>(layer: T): T {
  finalLayers.add(layer);
  return layer;
}

/**
 * The variables one task sees on one host: layers from lowest to highest precedence
 * (see docs/variables.md, "Precedence"). Immutable; `with` makes a child scope. Values are
 * stored raw and templated lazily on use, as Ansible does, so a role default may refer
 * to a variable that is only set later.
 */
export class VarScope {
  private readonly resolved = new Map<string, unknown>();
  private readonly failures = new Map<string, TemplateError>();

  constructor(
    private readonly layers: readonly Vars[],
    private readonly templater: Templater,
  ) {}

  /** A scope with `more` layers on top (higher precedence). */
  with(...more: Array<Vars | undefined>): VarScope {
    const extra = more.filter((v): v is Vars => v !== undefined && Object.keys(v).length > 0);
    return extra.length === 0 ? this : new VarScope([...this.layers, ...extra], this.templater);
  }

  has(name: string): boolean {
    return this.layers.some((l) => Object.prototype.hasOwnProperty.call(l, name));
  }

  /** The raw (untemplated) value; highest layer wins, dictionaries are replaced, not merged. */
  raw(name: string): unknown {
    return this.layerOf(name)?.[name];
  }

  private layerOf(name: string): Vars | undefined {
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const layer = this.layers[i]!;
      if (Object.prototype.hasOwnProperty.call(layer, name)) return layer;
    }
    return undefined;
  }

  /** All names visible in this scope. */
  names(): Set<string> {
    const out = new Set<string>();
    for (const l of this.layers) for (const k of Object.keys(l)) out.add(k);
    return out;
  }

  /** The fully templated value of a variable. */
  get(name: string): unknown {
    return this.resolve(name, []);
  }

  /** Templates a value (deeply) in this scope. */
  template(value: unknown): unknown {
    return this.templateValue(value, []);
  }

  /** Renders a template file's text in this scope. */
  render(source: string, extra: Vars = {}): string {
    return this.explained(() => this.templater.render(source, this.context(referencedNames(source), [], extra)));
  }

  /** Evaluates a bare condition (`when`, `failed_when`...) in this scope. */
  test(expression: string | boolean, extra: Vars = {}): boolean {
    if (typeof expression === 'boolean') return expression;
    return this.explained(() => this.templater.test(String(expression), this.context(referencedNames(String(expression), true), [], extra)));
  }

  /** The context object for one render: only the names the template may read. */
  private context(names: Set<string>, stack: string[], extra: Vars): Vars {
    const ctx: Vars = {};
    for (const name of names) {
      if (name in extra) ctx[name] = extra[name];
      else if (this.has(name)) {
        try {
          ctx[name] = this.resolve(name, stack);
        } catch (e) {
          if (!(e instanceof TemplateError)) throw e;
          // Left out: if the template really reads it, it fails as undefined, and we say why.
          this.failures.set(name, e);
        }
      }
    }
    return ctx;
  }

  /**
   * A variable that failed to template was left out of the context; if the template then
   * fails on it as undefined, say what really went wrong inside it.
   */
  private explained<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof TemplateError && e.undefinedName !== undefined) {
        const root = /^\w+/.exec(e.undefinedName)?.[0] ?? '';
        const inner = this.failures.get(root);
        if (inner) throw new TemplateError(`while templating '${root}': ${inner.message}`, e.line, e.col, inner.undefinedName);
      }
      throw e;
    }
  }

  private resolve(name: string, stack: string[]): unknown {
    if (this.resolved.has(name)) return this.resolved.get(name);
    if (stack.includes(name)) {
      throw new TemplateError(`recursive loop detected in template: ${[...stack, name].join(' -> ')}`);
    }
    const layer = this.layerOf(name);
    const value = layer && finalLayers.has(layer) ? layer[name] : this.templateValue(layer?.[name], [...stack, name]);
    this.resolved.set(name, value);
    return value;
  }

  private templateValue(value: unknown, stack: string[]): unknown {
    if (typeof value === 'string') {
      if (!isTemplated(value)) return value;
      return this.explained(() => this.templater.template(value, this.context(referencedNames(value), stack, {})));
    }
    if (Array.isArray(value)) return value.map((v) => this.templateValue(v, stack));
    if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      const out: Vars = {};
      for (const [k, v] of Object.entries(value)) out[k] = this.templateValue(v, stack);
      return out;
    }
    return value;
  }
}
