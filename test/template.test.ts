import assert from 'node:assert/strict';
import { VarScope } from '../src/vars/scope.js';
import { Templater, TemplateError } from '../src/vars/template.js';
import { literalTemplate } from '../src/vars/template-source.js';
import { clearSecrets, redact, registerSecret } from '../src/vault/redact.js';

const t = new Templater();
const render = (src: string, ctx: Record<string, unknown> = {}) => t.render(src, ctx);

describe('templating (Jinja2 as Ansible configures it)', () => {
  const cases: Array<[string, string, Record<string, unknown>, string]> = [
    ['trailing newlines kept as Ansible does after a final block tag', 'a: {% raw %}"x"{% endraw %}\n', {}, 'a: "x"\n'],
    ['trim_blocks still trims inside the text', '{% if true %}x{% endif %}\nb\n\n', {}, 'xb\n\n'],
    ['Python printing of values', '{{ true }} {{ [1, "a", none] }} {{ {"k": false} }}', {}, "True [1, 'a', None] {'k': False}"],
    ['None prints as empty (Ansible finalize)', '[{{ none }}]', {}, '[]'],
    ['trim_blocks removes the newline after a block tag', '{% if true %}\nyes\n{% endif %}\n', {}, 'yes\n'],
    ['keeps the trailing newline', 'a\n', {}, 'a\n'],
    ['loop variables', '{% for x in xs %}{{ loop.index }}:{{ x }}{% if not loop.last %},{% endif %}{% endfor %}', { xs: ['a', 'b'] }, '1:a,2:b'],
    ['set inside a loop does not leak (Jinja2 scoping)', '{% set c = 0 %}{% for i in [1,2] %}{% set c = c + i %}{% endfor %}{{ c }}', {}, '0'],
    ['default', '{{ missing | default("d") }} {{ "" | default("e", true) }}', {}, 'd e'],
    ['bool (Ansible to_bool)', '{{ "yes" | bool }} {{ "off" | bool }} {{ 1 | bool }}', {}, 'True False True'],
    ['regex_replace with Python backrefs', "{{ 'ab-12' | regex_replace('(\\\\w+)-(\\\\d+)', '\\\\2/\\\\1') }}", {}, '12/ab'],
    ['regex_replace with named groups', "{{ 'k=v' | regex_replace('(?P<key>\\\\w)=(?P<val>\\\\w)', '\\\\g<val>=\\\\g<key>') }}", {}, 'v=k'],
    ['unknown escapes stay as written (Python)', "{{ '\\d' }}", {}, '\\d'],
    ['to_json is Python json.dumps', '{{ x | to_json }}', { x: { a: [1, 'é'] } }, '{"a": [1, "\\u00e9"]}'],
    ['to_nice_json sorts and indents 4', '{{ x | to_nice_json }}', { x: { b: 1, a: [] } }, '{\n    "a": [],\n    "b": 1\n}'],
    ['quote is shlex.quote', "{{ \"it's\" | quote }}", {}, `'it'"'"'s'`],
    ['selectattr + map', '{{ xs | selectattr("on") | map(attribute="n") | join(",") }}', { xs: [{ n: 'a', on: true }, { n: 'b', on: false }] }, 'a'],
    ['combine recursive', '{{ a | combine(b, recursive=true) }}', { a: { x: { y: 1 } }, b: { x: { z: 2 } } }, "{'x': {'y': 1, 'z': 2}}"],
    ['dict2items / items2dict', '{{ {"k": 1} | dict2items | items2dict }}', {}, "{'k': 1}"],
    ['ternary', '{{ (2 > 1) | ternary("y", "n") }}', {}, 'y'],
    ['version test', '{{ "5.4.2" is version("5.5", "<") }} {{ "5.5.0" is version("5.5", ">=") }}', {}, 'True True'],
    ['match and search tests', '{{ "podman" is match("pod") }} {{ "podman" is match("man") }} {{ "podman" is search("man") }}', {}, 'True False True'],
    ['hash filters', "{{ 'a' | hash('sha1') }} {{ 'a' | md5 }}", {}, '86f7e437faa5a7fce15d1ddcb9eaeaea377667b8 0cc175b9c0f1b6a831c399e269772661'],
    ['b64 round trip', "{{ 'secret' | b64encode | b64decode }}", {}, 'secret'],
    ['basename dirname', "{{ '/a/b/c.txt' | basename }} {{ '/a/b/c.txt' | dirname }}", {}, 'c.txt /a/b'],
    ['format (Python %)', '{{ "%s:%05d" | format("x", 42) }}', {}, 'x:   42'],
  ];
  for (const [title, src, ctx, want] of cases) it(title, () => assert.equal(render(src, ctx), want));

  it('a playbook value reads backslashes in its {{ }} strings as Ansible does; a template file as Jinja2 does', () => {
    // YAML "{{ v | regex_replace('(\\d+)', '<\\1>') }}" arrives as the source below.
    const src = "{{ 'v5.4' | regex_replace('([0-9]+)', '<\\1>') }}";
    assert.equal(t.template(src, {}), 'v<5>.<4>');
    assert.equal(t.template(`x ${src}`, {}), 'x v<5>.<4>'); // inside a longer string too
    assert.equal(render(src), 'v<\u0001>.<\u0001>'); // a .j2 file: '\1' is chr(1), as in Jinja2
    assert.equal(t.template("{{ 'a\\nb' }}", {}), 'a\\nb'); // not a newline: Ansible's quirk, kept
    assert.equal(t.test("'\\n' == x", { x: '\n' }), true); // conditions are not escaped
    assert.equal(t.template('C:\\temp {{ "x" }}', {}), 'C:\\temp x'); // text outside {{ }} untouched
  });

  it('a single expression keeps its type', () => {
    assert.deepEqual(t.template('{{ xs }}', { xs: [1, { a: 2 }] }), [1, { a: 2 }]);
    assert.equal(t.template('{{ n + 1 }}', { n: 1 }), 2);
    assert.equal(t.template('n={{ n }}', { n: 1 }), 'n=1');
  });

  it('an undefined name is an error naming it, with line and column', () => {
    assert.throws(() => render('ok\n  {{ foo.bar }}', { foo: {} }), (e: TemplateError) => e.message === "'foo.bar' is undefined" && e.line === 2 && e.col === 6);
    assert.throws(() => t.template('{{ nope }}', {}), /'nope' is undefined/);
    assert.throws(() => t.test('y > 2', {}), /'y' is undefined/);
  });

  it('a failing filter is an error, and the engine keeps working afterwards', () => {
    assert.throws(() => render('{{ 1 | dict2items }}'), /dict2items requires a dictionary/);
    assert.equal(render('{{ 1 + 1 }}'), '2');
  });

  it('syntax errors are found without rendering', () => {
    assert.match(t.check('{% if x %}')!.message, /template syntax error/);
    assert.equal(t.check('{{ x | default(1) }}'), undefined);
  });

  it('conditions use Python truthiness and guard undefined names', () => {
    assert.equal(t.test('xs', { xs: [] }), false);
    assert.equal(t.test('x is defined and x', { }), false);
    assert.equal(t.test('x | default(false)', {}), false);
  });
});

describe('variable scopes', () => {
  it('higher layers win and values are templated lazily', () => {
    const scope = new VarScope([{ a: 'low', url: 'http://{{ host }}:{{ port }}' }, { a: 'high', port: 80 }], t).with({ host: 'h' });
    assert.equal(scope.get('a'), 'high');
    assert.equal(scope.get('url'), 'http://h:80');
  });

  it('a variable that refers to itself is a clear error', () => {
    const scope = new VarScope([{ a: '{{ b }}', b: '{{ a }}' }], t);
    assert.throws(() => scope.get('a'), /recursive loop detected in template: a -> b -> a/);
  });

  it('says which variable failed when a nested one is undefined', () => {
    const scope = new VarScope([{ url: 'http://{{ hots }}' }], t);
    assert.throws(() => scope.render('{{ url }}'), /while templating 'url': 'hots' is undefined/);
  });
});

describe('templating: limits, taint and literal text (issue 16 items 2 and 7)', () => {
  it('a template that never ends stops with an error, and the engine keeps working', () => {
    const endless = '{% for a in range(10000) %}{% for b in range(10000) %}{% for c in range(10000) %}{% endfor %}{% endfor %}{% endfor %}';
    assert.throws(() => t.render(endless, {}), (e: unknown) => e instanceof TemplateError && /template stopped after \d+ steps/.test(e.message));
    assert.equal(t.render('{{ 1 + 1 }}', {}), '2');
  });

  it('output larger than the limit is an error', () => {
    assert.throws(() => t.template('{{ "x" * 70000000 }}', {}), /template output is larger than 64 MiB/);
  });

  it('what is computed from a secret is masked; lookups, numbers and literals are not registered', () => {
    clearSecrets();
    registerSecret('s3cret-value');
    const ctx = { pw: 's3cret-value', db: { host: 'db.internal', pw: 's3cret-value' }, user: 'admin' };
    const out = t.render('{{ pw | b64encode }} {{ pw[0:5] }} {{ (user ~ ":" ~ pw) | b64encode }} {{ db.host }} {{ pw | length }} {{ "on" if pw else "off" }}', ctx);
    assert.equal(redact(out), '******** ******** ******** db.internal 12 on');
    assert.equal(redact(String(t.template('{{ pw | upper }}', ctx))), '********');
    clearSecrets();
  });

  it('literalTemplate renders to its text exactly (!unsafe)', () => {
    for (const text of ['{{ x }}', '\n{% if %}\n', '{% endraw %}{{', "it's {# not #} \\ {{ \"q\" }}\n"]) {
      assert.equal(t.render(literalTemplate(text), {}), text);
      assert.equal(t.template(literalTemplate(text), {}), text);
    }
  });
});
