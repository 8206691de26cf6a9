import assert from 'node:assert/strict';
import { accessSync, constants, readFileSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { runProcess } from './helpers/cli.js';
import { BIN, ROOT } from './helpers/paths.js';
import { testdir } from './helpers/testdir.js';

// The README's examples type `senex-play site.yml -i prod`. These tests run them as a user
// would: through a shell, with `senex-play` found on the PATH, from the checkout directory,
// after the install step the README itself gives (never `node bin/...`).

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Lines of the README's fenced code blocks, each without its trailing `# comment`. */
function readmeCommands(): string[] {
  const blocks = [...README.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
  return blocks.flatMap((b) => b.split('\n')).map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean);
}

/** The README's playbook examples (`senex-play site.yml -i prod ...`), as typed. */
function playbookExamples(): string[] {
  return readmeCommands().filter((l) => /^senex-play \S+\.ya?ml\b/.test(l));
}

/** Where a shell would find `name` on this PATH, or undefined. */
function onPath(name: string, path: string): string | undefined {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

const shell = (line: string, env: Record<string, string>) => runProcess('/bin/sh', ['-c', line], { cwd: ROOT, env: { NO_COLOR: '1', CI: '1', ...env } });

/** Every README example with `--syntax-check`, through the `senex-play` this PATH finds. */
async function runExamples(env: Record<string, string>): Promise<void> {
  const examples = playbookExamples();
  assert.ok(examples.length >= 3, `expected the README's three playbook examples, found: ${examples.join(' | ')}`);
  for (const example of examples) {
    const r = await shell(`${example} --syntax-check`, env);
    assert.equal(r.code, 0, `${example} --syntax-check (in ${ROOT}):\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^playbook: ${ROOT}/playbooks/site\\.yml$`, 'm'), example);
  }
}

describe('senex-play as an installed command', function () {
  this.timeout(120_000);

  it("the README's install step puts senex-play on the PATH, and the README's examples then run as typed", async () => {
    const install = readmeCommands().find((l) => /^npm (link|install -g)\b/.test(l));
    assert.ok(install, "the README's code blocks have no step that puts senex-play on the PATH (npm link)");
    // The step exactly as written, into a private global prefix: the machine's own is left alone.
    const prefix = testdir();
    try {
      const npmEnv = { NPM_CONFIG_PREFIX: prefix.dir, npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false' };
      const step = await shell(install, npmEnv);
      assert.equal(step.code, 0, `${install}:\n${step.stdout}${step.stderr}`);
      const env = { PATH: `${join(prefix.dir, 'bin')}${delimiter}${process.env.PATH ?? ''}` };
      const found = await shell('command -v senex-play', env);
      assert.equal(found.stdout.trim(), join(prefix.dir, 'bin', 'senex-play'), 'the shell finds another senex-play first');
      assert.equal(realpathSync(found.stdout.trim()), BIN, 'the installed command is not this checkout');
      const version = await shell('senex-play --version', env);
      assert.equal(version.code, 0, version.stderr);
      assert.equal(version.stdout.trim(), VERSION);
      await runExamples(env);
    } finally {
      prefix.cleanup();
    }
  });

  it("the senex-play on this machine's PATH is this checkout's (.ci/run links it), and runs the README's examples", async function () {
    const found = onPath('senex-play', process.env.PATH ?? '');
    if (!found) {
      if (process.env.SENEX_LAB_REQUIRED === '1') assert.fail('senex-play is not on the PATH, but SENEX_LAB_REQUIRED=1 (CI): .ci/run must run `npm link`');
      // Outside CI nothing has linked it; the test above covers the step itself.
      this.skip();
    }
    assert.equal(realpathSync(found), BIN, `${found} is another checkout's senex-play: run npm link here`);
    const version = await shell('senex-play --version', {});
    assert.equal(version.stdout.trim(), VERSION, version.stderr);
    await runExamples({});
  });
});
