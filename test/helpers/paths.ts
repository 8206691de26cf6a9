import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/...). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const FIXTURES = resolve(ROOT, 'test', 'fixtures');
export const BIN = resolve(ROOT, 'bin', 'senex-play.js');
