#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (npm run build).
// A bare --version is answered here, before anything is imported: it is what scripts and
// installers ask most, and it needs neither commander nor the engine (the same line commander
// prints; every other argument list, --help included, goes to the CLI).
import { readFileSync } from 'node:fs';

const argv = process.argv.slice(2);
if (argv.length === 1 && argv[0] === '--version') {
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
} else {
  const { main } = await import('../dist/src/cli/main.js');
  process.exitCode = await main(argv);
}
