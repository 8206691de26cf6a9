import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatError, loadRun, SenexError } from '../src/index.js';
import { testdir } from './helpers/testdir.js';

/** mulberry32: a small seeded PRNG, so a failure names a seed that reproduces it. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEEDS: Record<string, string> = {
  'playbooks/site.yml': `- name: fuzz seed
  hosts: web
  become: true
  vars:
    port: 8080
    names: [a, b]
  vars_files: [vars.yml]
  roles:
    - role: app
      vars: {app_port: "{{ port }}"}
      tags: [app]
  tasks:
    - name: a file
      copy: {dest: /tmp/x, content: "port={{ port }}\\n", mode: "0644"}
      notify: restart
      when: port > 0
    - block:
        - debug: {msg: "{{ item }}"}
          loop: "{{ names }}"
          loop_control: {label: "{{ item }}"}
      rescue:
        - fail: {msg: nope}
  handlers:
    - name: restart
      debug: {msg: restarted}
      listen: [restart app]
`,
  'playbooks/vars.yml': 'extra: 1\nlist: [1, 2]\nnested: {a: {b: c}}\n',
  'playbooks/roles/app/tasks/main.yml': '- name: role task\n  lineinfile: {path: /tmp/y, line: "p={{ app_port }}", create: true}\n- include_tasks: more.yml\n',
  'playbooks/roles/app/tasks/more.yml': '- template: {src: t.j2, dest: /tmp/t}\n',
  'playbooks/roles/app/templates/t.j2': '{% for n in names %}{{ n }}={{ app_port }}\n{% endfor %}\n',
  'playbooks/roles/app/defaults/main.yml': 'app_port: 80\n',
  'playbooks/roles/app/meta/main.yml': 'galaxy_info: {senex_phase: 1}\ndependencies: []\nargument_specs:\n  main:\n    options:\n      app_port: {type: int, required: true}\n',
  'inventory/hosts.yml': 'all:\n  children:\n    web:\n      hosts:\n        web[1:3]: {ansible_connection: local}\n      vars: {x: 1}\n',
};

const TOKENS = ['{{', '}}', '{%', ':', ': ', '- ', '-', '\t', '  ', '"', "'", '[', ']', '{', '}', '&a ', '*a', '<<: *a', '!vault |', '!!python/object', '---', '...', '#', '\n', '\\', '%', '|', '>', '?', '\u0000', 'é', '\u202e', 'yes', '0644', '~', 'null'];

function mutate(text: string, rnd: () => number): string {
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const lines = text.split('\n');
  const at = Math.floor(rnd() * lines.length);
  switch (Math.floor(rnd() * 7)) {
    case 0:
      lines.splice(at, 1);
      break;
    case 1:
      lines.splice(at, 0, lines[at] ?? '');
      break;
    case 2: {
      const other = Math.floor(rnd() * lines.length);
      [lines[at], lines[other]] = [lines[other]!, lines[at]!];
      break;
    }
    case 3: {
      const l = lines[at] ?? '';
      const col = Math.floor(rnd() * (l.length + 1));
      lines[at] = l.slice(0, col) + pick(TOKENS) + l.slice(col);
      break;
    }
    case 4: {
      const l = lines[at] ?? '';
      const col = Math.floor(rnd() * Math.max(l.length, 1));
      lines[at] = l.slice(0, col) + String.fromCharCode(32 + Math.floor(rnd() * 95)) + l.slice(col + 1);
      break;
    }
    case 5:
      lines[at] = (rnd() < 0.5 ? '  ' : '') + (lines[at] ?? '').replace(/^ {2}/, rnd() < 0.5 ? '' : '  ');
      break;
    default:
      return text.slice(0, Math.floor(rnd() * text.length));
  }
  return lines.join('\n');
}

const ITERATIONS = Number(process.env.SENEX_FUZZ_ITERATIONS ?? 2000);

// Mutated playbooks, roles, vars and inventories: loading must end in a clear SenexError
// (or success), never another exception, a hang, or a host being touched (loading never
// connects: the inventory's hosts use the local connection and nothing runs here).
describe('fuzzing the loader', function () {
  this.timeout(300_000);
  it(`${ITERATIONS} seeded mutations: only clear errors, never a crash or a hang`, () => {
    const t = testdir();
    const files = Object.keys(SEEDS);
    const seed = Number(process.env.SENEX_FUZZ_SEED ?? 20261127);
    const rnd = prng(seed);
    const counts = { ok: 0, rejected: 0 };
    const load = (dir: string) =>
      loadRun({ playbook: join(dir, 'playbooks/site.yml'), inventory: join(dir, 'inventory/hosts.yml'), cwd: dir, check: true, diff: false, tags: [], skipTags: [], extraVars: {}, forks: 1, become: false, verbosity: 0, detailedExitcode: false });
    // The seed itself must load, or every mutation is rejected for the seed's fault.
    const seedDir = join(t.dir, 'seed');
    for (const [f, content] of Object.entries(SEEDS)) {
      mkdirSync(join(seedDir, f, '..'), { recursive: true });
      writeFileSync(join(seedDir, f), content);
    }
    try {
      load(seedDir);
    } catch (e) {
      assert.fail(`the unmutated seed does not load: ${formatError(e)}`);
    }
    let slowest = 0;
    try {
      for (let i = 0; i < ITERATIONS; i++) {
        const target = files[Math.floor(rnd() * files.length)]!;
        const dir = join(t.dir, String(i % 8));
        let text = SEEDS[target]!;
        const rounds = 1 + Math.floor(rnd() * 3);
        for (let r = 0; r < rounds; r++) text = mutate(text, rnd);
        for (const [f, content] of Object.entries(SEEDS)) {
          mkdirSync(join(dir, f, '..'), { recursive: true });
          writeFileSync(join(dir, f), f === target ? text : content);
        }
        const started = performance.now();
        try {
          load(dir);
          counts.ok++;
        } catch (e) {
          if (!(e instanceof SenexError)) {
            assert.fail(`seed ${seed}, iteration ${i}, ${target} mutated to:\n${text}\n\nthrew ${(e as Error)?.stack ?? String(e)}`);
          }
          const shown = formatError(e);
          assert.doesNotMatch(shown, /\n\s+at .+:\d+:\d+\)?$/m, `a stack trace in the message (iteration ${i})`);
          assert.ok(shown.length > 0);
          counts.rejected++;
        }
        slowest = Math.max(slowest, performance.now() - started);
        assert.ok(slowest < 5000, `iteration ${i} took ${slowest.toFixed(0)} ms: a hang?\n${text}`);
      }
    } finally {
      t.cleanup();
    }
    // Both outcomes must occur, or the mutations are not exercising anything.
    assert.ok(counts.ok > 0 && counts.rejected > ITERATIONS / 4, JSON.stringify(counts));
    process.stderr.write(`      fuzz: ${ITERATIONS} mutations (seed ${seed}): ${counts.rejected} rejected with a clear error, ${counts.ok} loaded; slowest ${slowest.toFixed(0)} ms\n`);
  });
});
