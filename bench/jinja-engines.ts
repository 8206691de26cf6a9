/**
 * Measures Jinja engines against Ansible's Templar on the template corpus
 * (test/jinja-corpus.ts): agreement per engine, render time and module load time.
 * Run: npm run build && node dist/bench/jinja-engines.js [--list]
 * @huggingface/jinja is measured when it is installed (npm install --no-save @huggingface/jinja).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { corpus, type JinjaCase } from '../test/jinja-corpus.js';
import { agrees, oracle, oracleMissing, type Outcome } from '../test/helpers/jinja-oracle.js';
import { Environment as OurEnvironment } from '../src/vars/jinja/environment.js';
import { Templater, type JinjaEngine } from '../src/vars/template.js';

const require = createRequire(import.meta.url);

type Runner = (c: JinjaCase) => string;

function outcome(run: Runner, c: JinjaCase): Outcome {
  try {
    return { ok: true, out: run(c) };
  } catch (e) {
    return { ok: false, error: (e as Error).message.split('\n')[0]! };
  }
}

function templaterRunner(engine: () => JinjaEngine): Runner {
  const t = new Templater(engine);
  return (c) => (c.mode === 'value' ? JSON.stringify(t.template(c.src, c.vars ?? {})) : t.render(c.src, c.vars ?? {}));
}

async function huggingface(): Promise<Runner | undefined> {
  try {
    const { Template } = (await import('@huggingface/jinja' as string)) as { Template: new (src: string) => { render(vars: Record<string, unknown>): string } };
    return (c) => {
      const out = new Template(c.src).render(c.vars ?? {});
      return c.mode === 'value' ? JSON.stringify(out) : out;
    };
  } catch {
    return undefined;
  }
}

function timeRenders(run: Runner, c: JinjaCase, n: number): number {
  run(c); // compile once, as the templater caches by source
  const t0 = performance.now();
  for (let i = 0; i < n; i++) run(c);
  return ((performance.now() - t0) * 1000) / n;
}

function loadTime(module: string): number {
  const code = `const t0=performance.now();await import(${JSON.stringify(module)});console.log(performance.now()-t0)`;
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) samples.push(Number(spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' }).stdout));
  return samples.sort((a, b) => a - b)[2]!;
}

async function main(): Promise<void> {
  const missing = oracleMissing();
  if (missing) throw new Error(missing);
  const want = oracle(corpus);
  const runners: Array<[string, Runner]> = [
    ['minijinja-js (template.ts)', templaterRunner(() => new (require('minijinja-js').Environment)())],
    ['src/vars/jinja (template.ts)', templaterRunner(() => new OurEnvironment())],
  ];
  const hf = await huggingface();
  if (hf) runners.push(['@huggingface/jinja (bare)', hf]);
  const list = process.argv.includes('--list');
  for (const [name, run] of runners) {
    const bad = corpus.filter((c, i) => !agrees(want[i]!, outcome(run, c)));
    console.log(`${name}: ${corpus.length - bad.length}/${corpus.length} agree with Ansible`);
    if (list) for (const c of bad) console.log(`   differs: ${c.name}: want ${JSON.stringify(want[corpus.indexOf(c)])} got ${JSON.stringify(outcome(run, c))}`);
  }
  const config = corpus.find((c) => c.name === 'a config file')!;
  const tiny: JinjaCase = { name: 'no-op', src: 'plain text, nothing to template\n', vars: {} };
  const value: JinjaCase = { name: 'value', src: 'http://{{ host }}:{{ port }}/', vars: { host: 'h', port: 80 }, mode: 'value' };
  const sole: JinjaCase = { name: 'sole', src: '{{ users | map(attribute="name") | list }}', vars: corpus.find((c) => c.name === 'list value mode')!.vars, mode: 'value' };
  const engines: Array<[string, () => JinjaEngine]> = [
    ['minijinja-js', () => new (require('minijinja-js').Environment)()],
    ['src/vars/jinja', () => new OurEnvironment()],
  ];
  for (const [name, engine] of engines) {
    const run = templaterRunner(engine);
    const t = new Templater(engine);
    const cond: Runner = () => String(t.test('x is defined and x > 1 and "a" in names', { x: 2, names: ['a'] }));
    const us = (r: Runner, c: JinjaCase) => timeRenders(r, c, 5000).toFixed(1);
    console.log(`${name} (us per call): config template ${us(run, config)}, plain text ${us(run, tiny)}, string value ${us(run, value)}, sole expression ${us(run, sole)}, condition ${us(cond, tiny)}`);
  }
  console.log(`module load: minijinja-js ${loadTime(require.resolve('minijinja-js')).toFixed(1)} ms, src/vars/jinja ${loadTime(new URL('../src/vars/jinja/environment.js', import.meta.url).href).toFixed(1)} ms`);
}

await main();
