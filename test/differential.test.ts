import assert from 'node:assert/strict';
import { join } from 'node:path';
import { recap, runCli, runProcess, type CliResult } from './helpers/cli.js';
import { FIXTURES } from './helpers/paths.js';
import { snapshot } from './helpers/snapshot.js';
import { testdir } from './helpers/testdir.js';

const DIR = join(FIXTURES, 'differential');

function ansiblePlaybook(args: string[]): Promise<CliResult> {
  return runProcess('ansible-playbook', args, {
    cwd: DIR,
    env: { ANSIBLE_NOCOLOR: '1', ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3', ANSIBLE_LOCALHOST_WARNING: '0', ANSIBLE_RETRY_FILES_ENABLED: '0' },
  });
}

/** TASK headers and per-host statuses, in order, as both tools print them. */
function statuses(out: string): string[] {
  return out
    .split('\n')
    .filter((l) => /^(TASK|RUNNING HANDLER|ok:|changed:|skipping:|fatal:|included:)/.test(l))
    .map((l) => l.replace(/ \*+$/, '').replace(/ => .*/, '').replace(/\(item=.*\)/, ''));
}

/** Per-host lines in a task's block sorted: hosts that run at once finish in any order. */
function hostOrderFree(lines: string[]): string[] {
  const out: string[] = [];
  let group: string[] = [];
  const flush = () => (out.push(...group.sort()), (group = []));
  for (const l of lines) {
    if (/^(TASK|RUNNING HANDLER)/.test(l)) (flush(), out.push(l));
    else group.push(l);
  }
  flush();
  return out;
}

/** Runs `playbook` under both tools twice (first run, then the no-op re-run) and compares. */
function compareRuns(playbook: string, hosts = ['localhost']): void {
  const trees = { ansible: testdir(), senex: testdir() };
  after(() => Object.values(trees).forEach((t) => t.cleanup()));

  for (const round of ['first run', 'second run (no-op where possible)']) {
    it(round, async () => {
      const inventory = `${hosts.join(',')},`;
      const a = await ansiblePlaybook(['-i', inventory, '-c', 'local', playbook, '-e', `root=${trees.ansible.dir}/root`]);
      assert.equal(a.code, 0, `ansible-playbook failed:\n${a.stdout}\n${a.stderr}`);
      const s = await runCli([playbook, '-i', inventory, '-c', 'local', '-e', `root=${trees.senex.dir}/root`], { cwd: DIR });
      assert.equal(s.code, 0, `senex-play failed:\n${s.stdout}\n${s.stderr}`);
      const order = hosts.length > 1 ? hostOrderFree : (l: string[]) => l;
      assert.deepEqual(order(statuses(s.stdout).map((l) => l.replace(trees.senex.dir, 'ROOT'))), order(statuses(a.stdout).map((l) => l.replace(trees.ansible.dir, 'ROOT'))));
      for (const host of hosts) assert.deepEqual(recap(s.stdout, host), recap(a.stdout, host));
      assert.deepEqual(snapshot(join(trees.senex.dir, 'root')), snapshot(join(trees.ansible.dir, 'root')));
    });
  }
}

// The same playbook (every module, the filters, blocks, loops, includes, handlers) under
// ansible-playbook -c local and senex-play -c local must leave the same tree and report
// the same results. This is how template and module fidelity is proven.
describe('differential: ansible-playbook and senex-play leave identical results', function () {
  this.timeout(180_000);
  compareRuns('site.yml');
});

// with_<lookup> loops and lookup()/query()/q() with every lookup plugin senex-play has.
describe('differential: loops and lookups as ansible-playbook runs them (lookups.yml)', function () {
  this.timeout(180_000);
  compareRuns('lookups.yml');
});

// Keywords of real roles: `- name:` empty, vars as a list, notify on a block, meta
// reset_connection, handlers that import or include tasks, handlers_from.
describe('differential: task keywords as ansible-playbook runs them (keywords.yml)', function () {
  this.timeout(180_000);
  compareRuns('keywords.yml');
});

// run_once: one host runs the task, every host of the batch gets what it registered and set.
describe('differential: run_once on two hosts as ansible-playbook runs it (run-once.yml)', function () {
  this.timeout(180_000);
  compareRuns('run-once.yml', ['one', 'two']);
});

// delegate_to (localhost, 127.0.0.1, another host, templated per item), local_action in
// both forms, delegate_facts; results registered on the original host.
describe('differential: delegate_to, local_action, delegate_facts as ansible-playbook runs them (delegate.yml)', function () {
  this.timeout(180_000);
  compareRuns('delegate.yml', ['one', 'two']);
});

// k=v arguments: booleans from 'yes'/'no', octal modes as strings, {{ }} with spaces.
describe('differential: k=v arguments as ansible-playbook parses them (kv.yml)', function () {
  this.timeout(180_000);
  compareRuns('kv.yml');
});
