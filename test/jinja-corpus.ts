/**
 * Template cases for the Jinja2 differential test and the engine measurement
 * (docs/jinja-engines.md): what Ansible roles write in templates and playbook values.
 * Each case is rendered by Ansible's Templar (the oracle) and by our templater.
 */
export interface JinjaCase {
  name: string;
  src: string;
  vars?: Record<string, unknown>;
  /** file: as the template module renders; value: a playbook value, its type kept. */
  mode?: 'file' | 'value';
}

const d = { zeta: 1, alpha: 'two', mid: [1, 2] };
const users = [
  { name: 'bob', uid: 1001, groups: ['adm', 'sudo'], active: true },
  { name: 'alice', uid: 1000, groups: [], active: false },
  { name: 'carol', uid: 1002, groups: ['adm'], active: true },
];
const results = { results: [{ item: 'a', rc: 0, stdout: 'x', changed: true }, { item: 'b', rc: 1, stdout: '', changed: false }] };

const c = (name: string, src: string, vars: Record<string, unknown> = {}, mode: 'file' | 'value' = 'file'): JinjaCase => ({ name, src, vars, mode });

export const corpus: JinjaCase[] = [
  // dict order: Jinja2 keeps insertion order everywhere
  c('dict printed in insertion order', '{{ d }}', { d }),
  c('dict to_json keeps order', '{{ d | to_json }}', { d }),
  c('dict.items() loop keeps order', '{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}', { d }),
  c('dict loop over keys keeps order', '{% for k in d %}{{ k }} {% endfor %}', { d }),
  c('dict2items keeps order', '{{ d | dict2items }}', { d }),
  c('dict.keys() and values()', '{{ d.keys() | list }} {{ d.values() | list }}', { d }),
  c('dict literal keeps order', "{{ {'b': 1, 'a': 2, 'c': 3} }}"),
  c('combine keeps order', "{{ d | combine({'alpha': 3, 'new': 4}) }}", { d }),
  c('dictsort sorts', '{{ d | dictsort }}', { d: { b: 1, a: 2 } }),
  c('dict items printed as tuples', '{{ d.items() | list }}', { d: { b: 1, a: 2 } }),
  c('to_nice_json sorts keys', '{{ d | to_nice_json }}', { d }),
  c('to_nice_yaml', '{{ d | to_nice_yaml }}', { d: { b: 1, a: [1, 2] } }),
  c('dict value mode keeps order', '{{ d }}', { d }, 'value'),
  // loops
  c('loop.index first last', '{% for u in users %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}|{% endfor %}', { users }),
  c('loop.revindex and cycle', "{% for u in users %}{{ loop.revindex }}{{ loop.cycle('a','b') }}{% endfor %}", { users }),
  c('loop else', '{% for x in [] %}{{ x }}{% else %}empty{% endfor %}'),
  c('loop filter clause', '{% for u in users if u.active %}{{ u.name }} {% endfor %}', { users }),
  c('nested loop parent index', '{% for a in [1,2] %}{% for b in "xy" %}{{ loop.index }}{{ b }}{% endfor %}{% endfor %}'),
  c('loop unpack tuples', '{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }} {% endfor %}'),
  c('loop.previtem nextitem', '{% for x in [1,2,3] %}{{ loop.previtem | default("-") }}{{ loop.nextitem | default("-") }} {% endfor %}'),
  c('range', '{% for i in range(3) %}{{ i }}{% endfor %} {{ range(1, 10, 3) | list }}'),
  c('loop over string', '{% for ch in "abc" %}{{ ch }}.{% endfor %}'),
  // Python printing
  c('python repr of a list', "{{ [1, 'a', none, true, 2.5] }}"),
  c('python repr strings with quotes', `{{ ["it's", 'say "hi"', "both ' \\""] }}`),
  c('None prints empty', 'a{{ none }}b'),
  c('True False print', '{{ true }} {{ false }} {{ True }} {{ 1 == 1 }}'),
  c('float printing', '{{ 1.5 }} {{ 10 / 4 }} {{ 10 / 2 }} {{ 2.0 }} {{ 7 // 2 }} {{ 7 % 3 }} {{ 2 ** 10 }}'),
  c('int and float filters', "{{ '42' | int + 1 }} {{ 'x' | int }} {{ '3.5' | float }} {{ 3 | float }}"),
  c('nested structures', "{{ {'a': [1, {'b': none}], 'c': (1, 2)} }}"),
  c('string concat ~', "{{ 'a' ~ 1 ~ none ~ true }}"),
  c('list value mode', '{{ users | map(attribute="name") | list }}', { users }, 'value'),
  // whitespace
  c('trim_blocks after block tag', '{% if true %}\nyes\n{% endif %}\nend\n'),
  c('minus trims both sides', 'a  \n  {%- if true -%}  \n  b  \n  {%- endif -%}  \n  c'),
  c('expression minus', 'x {{- 1 -}} y'),
  c('comments', 'a{# comment #}b\n{# c2 #}\nc'),
  c('lstrip is off', '  {% if true %}x{% endif %}\n'),
  c('trailing newline kept', 'line\n\n'),
  c('plus disables trim', '{% if true +%}\nx{% endif %}'),
  // macros, set, namespace, with, filter blocks, call
  c('macro with defaults', "{% macro kv(k, v='d') %}{{ k }}={{ v }}{% endmacro %}{{ kv('a') }} {{ kv('b', v=2) }}"),
  c('macro caller', '{% macro wrap() %}[{{ caller() }}]{% endmacro %}{% call wrap() %}inner{% endcall %}'),
  c('set and scoping', '{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}'),
  c('namespace counter', '{% set ns = namespace(n=0) %}{% for i in [1,2,3] %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}'),
  c('set block', '{% set body %}hello {{ 1 + 1 }}{% endset %}{{ body | upper }}'),
  c('with block', '{% with a = 1, b = 2 %}{{ a + b }}{% endwith %}'),
  c('filter block', '{% filter upper %}shout {{ "x" }}{% endfilter %}'),
  c('if elif else', '{% for n in [1, 5, 10] %}{% if n < 3 %}s{% elif n < 7 %}m{% else %}l{% endif %}{% endfor %}'),
  c('inline if', "{{ 'y' if x else 'n' }} {{ 'y' if not x }}", { x: false }),
  c('raw block', '{% raw %}{{ not templated }}{% endraw %}'),
  // string methods
  c('split and join', "{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }}"),
  c('startswith endswith', "{{ 'hello'.startswith('he') }} {{ 'hello'.endswith(('x', 'lo')) }}"),
  c('str.format', "{{ '{}-{}'.format('a', 1) }} {{ '{0}{1}{0}'.format('x', 'y') }} {{ '{name}!'.format(name='n') }}"),
  c('percent formatting', "{{ '%s=%d' % ('a', 3) }} {{ '%05.1f' % 3.14159 }} {{ '%-4s|' % 'x' }}"),
  c('strip replace upper', "{{ '  x  '.strip() }}|{{ 'aXa'.replace('a', 'b') }}|{{ 'ab'.upper() }}|{{ 'Ab'.lower() }}|{{ 'ab cd'.title() }}"),
  c('string tests and find', "{{ '12'.isdigit() }} {{ 'abc'.find('c') }} {{ 'a-b-c'.rsplit('-', 1) }} {{ 'x'.zfill(3) }}"),
  c('slicing', "{{ 'abcdef'[1:3] }} {{ 'abcdef'[::-1] }} {{ [1,2,3,4][-2:] }} {{ [1,2,3][:1] }}"),
  c('in operator', "{{ 'a' in 'cat' }} {{ 2 in [1,2] }} {{ 'k' in {'k': 1} }} {{ 'z' not in ['a'] }}"),
  c('comparison chains', '{{ 1 < 2 < 3 }} {{ 1 < 3 < 2 }} {{ "a" < "b" }}'),
  c('list methods', '{% set l = [3, 1, 2] %}{{ l.index(1) }} {{ l.count(2) }} {{ l | sort }} {{ l | reverse | list }}'),
  c('append idiom', '{% set l = [] %}{% for i in [1,2] %}{% set _ = l.append(i * 2) %}{% endfor %}{{ l }}'),
  c('dict update idiom', "{% set m = {} %}{% set _ = m.update({'b': 1}) %}{% set _ = m.update({'a': 2}) %}{{ m }}"),
  c('dict get', "{{ d.get('alpha') }} {{ d.get('nope', 'dflt') }} {{ d.get('nope') }}", { d }),
  // integer attribute access
  c('item.0 and item.1.name', '{% for item in pairs %}{{ item.0 }}:{{ item.1.name }} {% endfor %}', { pairs: [['a', { name: 'x' }], ['b', { name: 'y' }]] }),
  c('results.0.rc', '{{ r.results.0.rc }} {{ r.results[1].item }}', { r: results }),
  c('subscript and attribute forms', "{{ d['alpha'] }} {{ d.alpha }} {{ d.mid[0] }} {{ d['mid'].1 }}", { d }),
  // dotted names
  c('ansible.builtin.combine', "{{ {'a': 1} | ansible.builtin.combine({'b': 2}) }}"),
  c('ansible.builtin test', "{{ 'abc' is ansible.builtin.match('a') }}"),
  c('ansible.builtin does not name Jinja2 builtins', "{{ 'a' | ansible.builtin.upper }}"),
  c('ansible.legacy filter', '{{ [1, [2]] | ansible.legacy.flatten }}'),
  // filters roles use
  c('default and d', "{{ nope | default('x') }} {{ nope | d('y') }} {{ '' | default('z', true) }} {{ none | default('n') }}"),
  c('default on attribute of undefined', "{{ nope.deeper.still | default('ok') }}"),
  c('default on missing key', "{{ d.missing | default('ok') }}", { d }),
  c('join map selectattr', "{{ users | selectattr('active') | map(attribute='name') | join(', ') }}", { users }),
  c('rejectattr equalto', "{{ users | rejectattr('name', 'equalto', 'bob') | map(attribute='uid') | list }}", { users }),
  c('select reject tests', "{{ [1, 2, 3, 4] | select('odd') | list }} {{ [1, 2, 3, 4] | reject('even') | list }} {{ ['a', '', 'b'] | select | list }}"),
  c('map filter name', "{{ ['a', 'b'] | map('upper') | list }} {{ ['1', '2'] | map('int') | sum }}"),
  c('sort by attribute', "{{ users | sort(attribute='uid') | map(attribute='name') | list }} {{ ['b', 'A', 'c'] | sort }}"),
  c('unique union difference', '{{ [1, 2, 2, 3] | unique }} {{ [1, 2] | union([2, 3]) }} {{ [1, 2, 3] | difference([2]) }}'),
  c('first last length count', "{{ [1, 2, 3] | first }} {{ [1, 2, 3] | last }} {{ 'abc' | length }} {{ d | count }}", { d }),
  c('min max sum', '{{ [3, 1, 2] | min }} {{ [3, 1, 2] | max }} {{ [1, 2, 3] | sum }} {{ users | sum(attribute="uid") }}', { users }),
  c('groupby', "{% for g in users | groupby('active') %}{{ g.grouper }}:{{ g.list | map(attribute='name') | join('+') }} {% endfor %}", { users }),
  c('indent', "{{ 'a\\nb\\nc' | indent }}|{{ 'a\\nb' | indent(2, true) }}"),
  c('replace lower upper capitalize title', "{{ 'Hello World' | replace('o', '0') | lower }} {{ 'ab' | upper }} {{ 'aB' | capitalize }} {{ 'a b' | title }}"),
  c('trim center wordcount', "{{ '  x ' | trim }}|{{ 'x' | center(5) }}|{{ 'a b c' | wordcount }}"),
  c('round abs', '{{ 2.567 | round(1) }} {{ 2.5 | round }} {{ 3.7 | round(0, "floor") }} {{ -3 | abs }}'),
  c('string and list filters', "{{ 123 | string }} {{ 'ab' | list }} {{ (1, 2) | list }}"),
  c('batch slice', '{{ [1, 2, 3, 4, 5] | batch(2) | list }} {{ [1, 2, 3] | slice(2) | list }}'),
  c('tojson jinja', "{{ {'b': 1, 'a': '<x>'} | tojson }}"),
  c('urlencode', "{{ 'a b&c' | urlencode }}"),
  c('truncate', "{{ 'hello world foo' | truncate(9) }}"),
  c('regex_replace', "{{ 'abc123' | regex_replace('[0-9]+', '#') }} {{ 'a.b' | regex_escape }}"),
  c('regex_search findall', "{{ 'v1.2.3' | regex_search('[0-9]+') }} {{ 'a1b22' | regex_findall('[0-9]+') }}"),
  c('flatten', '{{ [1, [2, [3]]] | flatten }} {{ [1, [2, [3]]] | flatten(1) }}'),
  c('b64 and hash', "{{ 'x' | b64encode }} {{ 'x' | hash('md5') }}"),
  c('basename dirname splitext', "{{ '/etc/a.conf' | basename }} {{ '/etc/a.conf' | dirname }}"),
  c('ternary bool', "{{ true | ternary('on', 'off') }} {{ 'yes' | bool }} {{ 'no' | bool }}"),
  c('items2dict', "{{ [{'key': 'b', 'value': 1}, {'key': 'a', 'value': 2}] | items2dict }}"),
  c('zip and product', '{{ [1, 2] | zip(["a", "b"]) | list }}'),
  c('format filter', "{{ '%s-%s' | format('a', 'b') }}"),
  c('escape', "{{ '<a & b>' | e }}"),
  c('wordwrap', "{{ 'aaa bbb ccc ddd' | wordwrap(7) }}"),
  c('attr filter', "{{ d | attr('zeta') }}", { d }),
  c('xmlattr', "{{ {'class': 'a', 'id': 1} | xmlattr }}"),
  // tests
  c('defined undefined none', '{{ x is defined }} {{ nope is defined }} {{ nope is undefined }} {{ none is none }}', { x: 1 }),
  c('type tests', "{{ 1 is number }} {{ 'a' is string }} {{ [1] is iterable }} {{ {} is mapping }} {{ [] is sequence }} {{ 1 is integer }} {{ 1.5 is float }}"),
  c('odd even divisibleby', '{{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby(3) }} {{ 1 is sameas(1) }}'),
  c('comparison tests', "{{ 2 is gt(1) }} {{ 'a' is eq('a') }} {{ 1 is in([1]) }} {{ 'abc' is lower }}"),
  c('result tests', '{{ r.results[0] is changed }} {{ r.results[1] is succeeded }}', { r: results }),
  c('version test', "{{ '1.10' is version('1.9', '>') }}"),
  // undefined handling
  c('undefined is an error', '{{ nope }}'),
  c('undefined attribute of a dict is an error', '{{ d.missing }}', { d }),
  c('undefined in an if is an error', '{% if nope %}x{% endif %}'),
  c('undefined guarded by is defined', '{% if nope is defined and nope %}x{% else %}y{% endif %}'),
  c('undefined default chain', "{{ (nope | default({})).get('k', 'v') }}"),
  c('syntax error', '{{ 1 + }}'),
  c('unknown filter', '{{ 1 | nosuchfilter }}'),
  // misc
  c('math and precedence', '{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ -2 ** 2 }} {{ 10 - 2 - 3 }} {{ not true or true }}'),
  c('string multiplication', "{{ '-' * 5 }} {{ [0] * 3 }}"),
  c('list concatenation', '{{ [1] + [2] }} {{ "a" + "b" }}'),
  c('is defined on loop var', '{% for x in [1] %}{{ x is defined }}{% endfor %}'),
  c('length of dict and items loop with sort', '{% for k, v in d | dictsort %}{{ k }}{% endfor %} {{ d | length }}', { d }),
  c('a config file', [
    '# {{ ansible_managed | default("managed") }}',
    '[main]',
    '{% for k, v in settings.items() %}',
    '{{ k }} = {{ v }}',
    '{% endfor %}',
    '{% if extra is defined %}',
    'extra = {{ extra | join(",") }}',
    '{% endif %}',
    'servers = {{ servers | map("regex_replace", "^", "srv-") | join(" ") }}',
    '',
  ].join('\n'), { settings: { port: 80, bind: '0.0.0.0', debug: false, ratio: 0.5 }, servers: ['a', 'b'] }),
];
