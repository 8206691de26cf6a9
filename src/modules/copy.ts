import { posix } from 'node:path';
import { attrSchema, type AttrArgs } from './attrs.js';
import { planContent } from './content.js';
import type { BigFile } from './controller-file.js';
import { fileProbe, type FileFacts } from './facts/file.js';
import { pythonJson } from '../vars/filters.js';
import { defineHostModule, type ModuleContext, type Plan, type Probe } from './types.js';

export interface CopyArgs extends AttrArgs {
  dest: string;
  src?: string;
  content?: unknown;
  force?: boolean;
  backup?: boolean;
  validate?: string;
  follow?: boolean;
}

const writeOptionSchema = {
  force: { type: 'boolean' },
  backup: { type: 'boolean' },
  validate: { type: 'string', pattern: '%s' },
  follow: { type: 'boolean' },
  ...attrSchema,
} as const;

/**
 * Probes `dest`, and `dest/<basename of src>` in case dest turns out to be a directory. The
 * sha256 tells whether the file is right; its content is fetched only to show a diff (on a
 * converged host that was most of the bytes a run received, and four processes per probe).
 */
function destProbes(dest: string, src: string | undefined, ctx: ModuleContext): Record<string, Probe> {
  const want = ctx.showsDiff ? { content: true } : { sha256: true };
  const probes: Record<string, Probe> = { dest: fileProbe(dest, want) };
  if (src !== undefined) probes.inDir = fileProbe(posix.join(dest, posix.basename(src)), want);
  return probes;
}

/** Shared by copy and template: where the file lands and whether `force: false` keeps it. */
export function planFileFromController(
  args: { dest: string; src?: string | undefined; force?: boolean | undefined; backup?: boolean | undefined; validate?: string | undefined; follow?: boolean | undefined } & AttrArgs,
  facts: Record<string, unknown>,
  content: Buffer | BigFile,
): Plan {
  let target = facts.dest as FileFacts;
  const isDir = target.inode?.type === 'directory' || (target.inode?.type === 'link' && target.target?.type === 'directory');
  if (isDir || args.dest.endsWith('/')) {
    if (!facts.inDir) return { changes: [], failed: `${args.dest} is a directory; give a file name or use src` };
    if (!isDir) return { changes: [], failed: `destination directory ${args.dest} does not exist` };
    target = facts.inDir as FileFacts;
  }
  if (args.force === false && target.exists) return { changes: [] };
  const plan = planContent(target, content, args, { validate: args.validate, backup: args.backup, follow: args.follow });
  return { ...plan, result: { dest: target.path } };
}

function copyContent(args: CopyArgs, ctx: ModuleContext): Buffer | BigFile {
  if (args.content !== undefined) {
    return Buffer.from(typeof args.content === 'string' ? args.content : pythonJson(args.content), 'utf8');
  }
  return ctx.controllerContent('files', args.src!).content;
}

export const copy = defineHostModule<CopyArgs>({
  name: 'copy',
  schema: {
    type: 'object',
    properties: { dest: { type: 'string', minLength: 1 }, src: { type: 'string', minLength: 1 }, content: {}, ...writeOptionSchema },
    required: ['dest'],
    oneOf: [{ required: ['src'] }, { required: ['content'] }],
    additionalProperties: false,
  },
  probe: (args, ctx) => destProbes(args.dest, args.src, ctx),
  plan: (args, facts, ctx) => planFileFromController(args, facts, copyContent(args, ctx)),
});

export interface TemplateArgs extends AttrArgs {
  src: string;
  dest: string;
  force?: boolean;
  backup?: boolean;
  validate?: string;
  follow?: boolean;
}

export const template = defineHostModule<TemplateArgs>({
  name: 'template',
  schema: {
    type: 'object',
    properties: { src: { type: 'string', minLength: 1 }, dest: { type: 'string', minLength: 1 }, ...writeOptionSchema },
    required: ['src', 'dest'],
    additionalProperties: false,
  },
  probe: (args, ctx) => destProbes(args.dest, args.src, ctx),
  plan(args, facts, ctx) {
    const source = ctx.readControllerFile('templates', args.src);
    const text = ctx.renderTemplate(source.content.toString('utf8'), source.path);
    return planFileFromController(args, facts, Buffer.from(text, 'utf8'));
  },
});
