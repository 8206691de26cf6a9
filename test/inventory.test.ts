import assert from 'node:assert/strict';
import { expandHostRange, loadInventory } from '../src/inventory/load.js';
import { matchHosts } from '../src/inventory/pattern.js';
import { testdir } from './helpers/testdir.js';

describe('inventory', () => {
  it('expands host ranges', () => {
    assert.deepEqual(expandHostRange('web[01:03].x'), ['web01.x', 'web02.x', 'web03.x']);
    assert.deepEqual(expandHostRange('db-[a:c]'), ['db-a', 'db-b', 'db-c']);
    assert.deepEqual(expandHostRange('n[0:6:3]'), ['n0', 'n3', 'n6']);
    assert.throws(() => expandHostRange('w[3:1]'), /start is after end/);
  });

  const yaml = `
all:
  vars: {level: all, region: eu}
  children:
    web:
      hosts:
        web[1:3]: {role: web}
      vars: {level: web}
      children:
        canary:
          hosts: {web1: }
          vars: {level: canary}
    db:
      hosts: {db1: {level: host}}
  hosts:
    lone:
`;

  it('reads YAML inventories with precedence all < parent < child < host', () => {
    const t = testdir({ 'inv.yml': yaml, 'group_vars/web.yml': 'from_group_vars: yes\n', 'host_vars/web2.yml': 'level: web2-host-vars\n' });
    try {
      const inv = loadInventory(`${t.dir}/inv.yml`);
      const value = (h: string, k: string) => Object.assign({}, ...inv.varLayers(h))[k];
      assert.equal(value('web1', 'level'), 'canary');
      assert.equal(value('web2', 'level'), 'web2-host-vars');
      assert.equal(value('web3', 'level'), 'web');
      assert.equal(value('db1', 'level'), 'host');
      assert.equal(value('lone', 'level'), 'all');
      assert.equal(value('web3', 'from_group_vars'), true);
      assert.deepEqual(inv.groupNames('web1'), ['canary', 'web']);
      assert.deepEqual(inv.groupHosts('ungrouped'), ['lone']);
    } finally {
      t.cleanup();
    }
  });

  it('reads INI inventories with :vars and :children', () => {
    const t = testdir({ 'hosts.ini': 'solo ansible_port=2222\n[web]\nweb[01:02] http_port=80 label="a b"\n[prod:children]\nweb\n[prod:vars]\nenv=prod\nreplicas=3\n' });
    try {
      const inv = loadInventory(`${t.dir}/hosts.ini`);
      const vars = Object.assign({}, ...inv.varLayers('web02'));
      assert.deepEqual([vars.http_port, vars.label, vars.env, vars.replicas], [80, 'a b', 'prod', 3]);
      assert.equal(Object.assign({}, ...inv.varLayers('solo')).ansible_port, 2222);
    } finally {
      t.cleanup();
    }
  });

  it('finds inventory/NAME(.yml|.ini|/) by name', () => {
    const t = testdir({ 'inventory/prod/hosts.yml': 'all:\n  hosts:\n    p1:\n', 'inventory/prod/group_vars/all.yml': 'x: 1\n' });
    try {
      const inv = loadInventory('prod', [t.dir]);
      assert.deepEqual([...inv.hosts.keys()], ['p1']);
      assert.equal(Object.assign({}, ...inv.varLayers('p1')).x, 1);
    } finally {
      t.cleanup();
    }
  });

  it('host patterns: glob, union, intersection, exclusion, regex', () => {
    const t = testdir({ 'inv.yml': yaml });
    try {
      const inv = loadInventory(`${t.dir}/inv.yml`);
      assert.deepEqual(matchHosts(inv, 'web*'), ['web1', 'web2', 'web3']);
      assert.deepEqual(matchHosts(inv, 'web:db'), ['web1', 'web2', 'web3', 'db1']);
      assert.deepEqual(matchHosts(inv, 'web:&canary'), ['web1']);
      assert.deepEqual(matchHosts(inv, 'all:!web'), ['db1', 'lone']);
      assert.deepEqual(matchHosts(inv, '~web[23]'), ['web2', 'web3']);
      assert.deepEqual(matchHosts(inv, 'db1,lone'), ['db1', 'lone']);
      assert.deepEqual(matchHosts(inv, 'nothing'), []);
      assert.throws(() => matchHosts(inv, 'web['), /bad host pattern/);
    } finally {
      t.cleanup();
    }
  });
});
