import assert from 'node:assert/strict';
import { findModule } from '../src/modules/index.js';
import type { Change, HostModule, ModuleContext, Plan } from '../src/modules/types.js';
import { validateSchema } from '../src/load/validate.js';
import { absent, dir, file } from './helpers/facts.js';

const ctx = { showsDiff: false } as ModuleContext;
const iniFile = () => findModule('community.general.ini_file') as HostModule<unknown>;
const schemaErrors = (args: Record<string, unknown>) => validateSchema(iniFile().schema, args, { what: 'ini_file', coerce: true }).map((e) => e.message);

function plan(args: Record<string, unknown>, content: string | null, parent = true): Plan {
  const full = { path: '/etc/x.ini', ...args };
  assert.deepEqual(schemaErrors(full), []);
  const facts = { path: content === null ? absent('/etc/x.ini') : file('/etc/x.ini', { content }), dir: parent ? dir('/etc') : absent('/etc') };
  return iniFile().plan(full as never, facts, ctx);
}
function written(p: Plan): string {
  const w = p.changes.find((c): c is Extract<Change, { kind: 'write' }> => c.kind === 'write');
  assert.ok(w, `expected a write, got ${JSON.stringify(p)}`);
  return w.content.toString();
}

// Expected texts are what community.general's ini_file (Debian 12) writes for the same input.
describe('ini_file: the file + args -> the edited file, by community.general\'s algorithm', () => {
  it('replaces an option in its section only', () => {
    assert.equal(written(plan({ section: 'b', option: 'k', value: 'new' }, '[a]\nk = 1\n[b]\nk = 2\n')), '[a]\nk = 1\n[b]\nk = new\n');
  });
  it('takes over a commented-out option, as Ansible does', () => {
    assert.equal(written(plan({ section: 's', option: 'port', value: '80' }, '[s]\n#port = 1\nx = 2\n')), '[s]\nport = 80\nx = 2\n');
  });
  it('inserts after the last line that is not blank or a comment, and removes duplicates when exclusive', () => {
    assert.equal(written(plan({ section: 's', option: 'n', value: '1' }, '[s]\na = 1\n\n# c\n[t]\n')), '[s]\na = 1\nn = 1\n\n# c\n[t]\n');
    assert.equal(written(plan({ section: 's', option: 'h', value: 'c' }, '[s]\nh = a\nh = b\n')), '[s]\nh = c\n');
  });
  it('adds a missing section at the end, and an option before the first section when section is null', () => {
    assert.equal(written(plan({ section: 'new', option: 'k', value: true }, '[a]\nx = 1')), '[a]\nx = 1\n[new]\nk = True\n');
    assert.equal(written(plan({ section: null, option: 'k', value: 'v', no_extra_spaces: true }, '# top\n[a]\n')), 'k=v\n# top\n[a]\n');
  });
  it('allow_no_value, values with exclusive false, absent option and absent section', () => {
    assert.equal(written(plan({ section: 's', option: 'flag', allow_no_value: true }, '[s]\na = 1\n')), '[s]\na = 1\nflag\n');
    assert.equal(written(plan({ section: 's', option: 'p', values: ['1', '2'], exclusive: false }, '[s]\np = 1\np = 3\n')), '[s]\np = 1\np = 3\np = 2\n');
    assert.equal(written(plan({ section: 's', option: 'a', state: 'absent' }, '[s]\na = 1\n#a = 2\nb = 2\n')), '[s]\n#a = 2\nb = 2\n');
    assert.equal(written(plan({ section: 's', state: 'absent' }, '[r]\nx = 1\n[s]\na = 1\n[t]\n')), '[r]\nx = 1\n[t]\n');
  });
  it('is a no-op when the option is already set, and reports msg as Ansible does', () => {
    const p = plan({ section: 's', option: 'a', value: '1' }, '[s]\na = 1\n');
    assert.deepEqual(p.changes, []);
    assert.deepEqual(p.result, { path: '/etc/x.ini', msg: 'OK' });
    const empty = plan({ section: 'z', option: 'a', value: '1' }, '');
    assert.equal(written(empty), '\n[z]\na = 1\n');
    assert.equal(empty.result!.msg, 'section and option added');
  });
  it('creates the file and its directory; create false and a missing value fail with Ansible\'s messages', () => {
    assert.deepEqual(plan({ section: 's', option: 'k', value: 'v' }, null, false).changes.map((c) => c.kind), ['mkdir', 'write']);
    assert.match(plan({ section: 's', option: 'k', value: 'v', create: false }, null).failed ?? '', /Destination \/etc\/x.ini does not exist!/);
    assert.match(plan({ section: 's', option: 'k' }, '').failed ?? '', /Parameter 'value\(s\)' must be defined/);
  });
  it('refuses value with values, and unknown options, at load time', () => {
    assert.notDeepEqual(schemaErrors({ path: '/x', value: 'a', values: ['b'] }), []);
    assert.match(schemaErrors({ path: '/x', sektion: 'a' }).join('\n'), /sektion/);
  });
});
