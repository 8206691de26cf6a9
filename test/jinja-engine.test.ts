import assert from 'node:assert/strict';
import { Environment, JinjaError } from '../src/vars/jinja/environment.js';

function env(templates: Record<string, string> = {}): Environment {
  const e = new Environment();
  e.undefinedBehavior = 'strict';
  e.trimBlocks = true;
  e.keepTrailingNewline = true;
  e.loader = (name) => templates[name];
  return e;
}

const render = (src: string, ctx: Record<string, unknown> = {}, e = env()) => e.renderStr(src, ctx);

describe('Jinja engine (src/vars/jinja)', () => {
  it('keeps dict insertion order, for literals, Maps and the caller objects', () => {
    assert.equal(render("{{ {'b': 1, 'a': 2} }} {{ d | list }} {{ m.items() | list }}", { d: { z: 1, y: 2 }, m: new Map([[2, 'x'], [1, 'y']]) }), "{'b': 1, 'a': 2} ['z', 'y'] [(2, 'x'), (1, 'y')]");
    const v = env().evalExpr("{'b': 1, 'a': [1.0]}", {}) as Map<string, unknown>;
    assert.deepEqual([...v.keys()], ['b', 'a']);
  });

  it('reads integer attributes (item.0, item.1.name, item.0.1)', () => {
    assert.equal(render('{{ x.0 }} {{ x.1.name }} {{ y.0.1 }}', { x: ['a', { name: 'n' }], y: [[1, 2]] }), 'a n 2');
  });

  it("resolves ansible.builtin.X and ansible.legacy.X to Ansible's filters and tests, not to Jinja2's (as Ansible 2.14)", () => {
    const e = env();
    e.addFilter('twice', (v: unknown) => `${String(v)}${String(v)}`);
    e.addTest('yes', () => true);
    assert.equal(render("{{ 'a' | ansible.builtin.twice }} {{ 'b' | ansible.legacy.twice }} {{ 1 is ansible.builtin.yes }}", {}, e), 'aa bb True');
    assert.throws(() => render('{{ 1 | ansible.builtin.nosuch }}', {}, e), /unknown filter: filter ansible.builtin.nosuch is unknown/);
    assert.throws(() => render("{{ 'x' | ansible.builtin.upper }}", {}, e), /unknown filter/);
    assert.throws(() => render("{{ 'x' | community.general.twice }}", {}, e), /unknown filter/);
    assert.throws(() => render('{{ 3 is ansible.builtin.odd }}', {}, e), /unknown test: test ansible.builtin.odd is unknown/);
  });

  it('passes kwargs to JavaScript filters and globals as a trailing Map, as minijinja-js does', () => {
    const e = env();
    let seen: unknown[] = [];
    e.addGlobal('lookup', (...args: unknown[]) => ((seen = args), 'ok'));
    assert.equal(render("{{ lookup('env', 'HOME', default='x') }}", {}, e), 'ok');
    assert.deepEqual(seen, ['env', 'HOME', new Map([['default', 'x']])]);
  });

  it('includes and imports templates through the loader', () => {
    const e = env({
      'row.j2': '[{{ item }}]',
      'macros.j2': "{% macro greet(who='you') %}hi {{ who }}{% endmacro %}{% set _private = 1 %}",
    });
    assert.equal(render("{% for item in [1, 2] %}{% include 'row.j2' %}{% endfor %}", {}, e), '[1][2]');
    assert.equal(render("{% import 'macros.j2' as m %}{{ m.greet('bob') }}", {}, e), 'hi bob');
    assert.equal(render("{% from 'macros.j2' import greet as g %}{{ g() }}", {}, e), 'hi you');
    assert.equal(render("{% include 'nope.j2' ignore missing %}ok", {}, e), 'ok');
    assert.throws(() => render("{% include 'nope.j2' %}", {}, e), /template not found: template "nope.j2" does not exist/);
  });

  it('runs macros with caller, call blocks with arguments, recursive loops, namespaces and filter blocks', () => {
    assert.equal(render('{% macro list(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}{% call(x) list([1, 2]) %}<{{ x }}>{% endcall %}'), '<1><2>');
    const tree = [{ n: 'a', kids: [{ n: 'b', kids: [] }] }];
    assert.equal(render('{% for t in tree recursive %}{{ t.n }}{{ loop.depth }}({{ loop(t.kids) }}){% endfor %}', { tree }), 'a1(b2())');
    assert.equal(render('{% set ns = namespace(found=false) %}{% for x in [1, 2] %}{% if x == 2 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.found }}'), 'True');
    assert.equal(render('{% filter upper | replace("A", "4") %}abc{% endfilter %}'), '4BC');
    assert.equal(render('{% set s | trim %}  x  {% endset %}[{{ s }}]'), '[x]');
  });

  it('treats an attribute of an undefined value as undefined (Ansible), so default applies; printing it is an error', () => {
    assert.equal(render("{{ nope.a.b | default('d') }} {{ (nope | default({})).get('k', 'v') }}"), 'd v');
    assert.throws(() => render('{{ nope.a }}'), (e: JinjaError) => e.kind === 'undefined value' && e.spanText === 'nope');
    assert.throws(() => render('{{ 1 + (x > nope) }}', { x: 1 }), (e: JinjaError) => e.spanText === 'nope' && e.col === 13);
    assert.throws(() => render('{% for x in nope %}{% endfor %}'), (e: JinjaError) => e.kind === 'undefined value' && e.spanText === 'nope');
    assert.equal(render('{{ false and nope }} {{ true or nope }}'), 'False True');
  });

  it('rejects an unknown filter or test when compiling, as Jinja2 does, even in a branch that never runs', () => {
    assert.throws(() => env().addTemplate('t', '{% if false %}\n{{ x | nosuch }}{% endif %}'), (e: JinjaError) => e.kind === 'unknown filter' && e.line === 2 && e.spanText === 'x | nosuch');
    assert.throws(() => env().addTemplate('t', '{% macro m(a=1 is nosuch) %}{% endmacro %}'), /unknown test: test nosuch is unknown/);
    assert.throws(() => env().evalExpr('false and (x | nosuch)', {}), /unknown filter/);
  });

  it('gives syntax errors a line, a column and the minijinja message shape template.ts reads', () => {
    assert.throws(() => env().addTemplate('t', 'a\n{{ x +* 1 }}'), (e: JinjaError) =>
      e.line === 2 && e.col === 7 && /^syntax error: unexpected `\*`, expected expression \(in t:2\)\n   2 > \{\{ x \+\* 1 \}\}\n     i {7}\^ syntax error$/.test(e.message));
  });

  it('stops a template that does not end: the fuel budget', () => {
    const e = env();
    e.fuel = 10_000;
    assert.throws(() => render('{% for i in range(1000000) %}{{ i }}{% endfor %}', {}, e), (err: JinjaError) => err.kind === 'out of fuel' && /ran out of fuel after 10000 steps/.test(err.message));
    e.fuel = undefined;
    assert.equal(render('{% for i in range(3) %}{{ i }}{% endfor %}', {}, e), '012');
  });

  it('stops runaway recursion and runaway output with a clear error', () => {
    assert.throws(() => render('{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}'), /recursion limit exceeded/);
    const e = env();
    e.outputLimit = 1000;
    assert.throws(() => render("{{ 'x' * 5000 }}", {}, e), /output too large/);
    assert.throws(() => render("{% for i in range(100) %}{{ 'y' * 20 }}{% endfor %}", {}, e), /output too large: the template produced more than 1000 characters/);
  });

  it('tells the output hook of every {{ }} output: its source, value and text', () => {
    const e = env();
    const seen: unknown[] = [];
    e.outputHook = (code, value, text) => seen.push([code, value, text]);
    assert.equal(render("a{{ x | upper }}b{{ none }}{% for i in [1] %}{{ i + 1 }}{% endfor %}", { x: 's' }, e), 'aSb2');
    assert.deepEqual(seen, [['x | upper', 'S', 'S'], ['none', null, ''], ['i + 1', 2, '2']]);
  });

  it('prints Python values: floats stay floats, tuples, None as nothing (Ansible finalize)', () => {
    assert.equal(render('{{ 10 / 2 }} {{ 1.0 }} {{ (1,) }} {{ none }}|{{ [none, true] }} {{ 1e20 }} {{ 0.00001 }}'), "5.0 1.0 (1,) |[None, True] 1e+20 1e-05");
  });

  it('strips one trailing newline unless keepTrailingNewline, and applies trim_blocks only when set', () => {
    const e = new Environment();
    assert.equal(e.renderStr('{% if true %}\nx\n{% endif %}\n', {}), '\nx\n');
    e.trimBlocks = true;
    e.keepTrailingNewline = true;
    assert.equal(e.renderStr('{% if true %}\nx\n{% endif %}\n\n', {}), 'x\n\n');
  });
});
