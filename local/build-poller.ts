import { chmodSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { FUNCTION_BUNDLING } from '../infra/bundling.ts';
import { CliError, runMain, usageError } from './cli.ts';

export const POLLER_ENTRY = new URL('./poller-main.ts', import.meta.url).pathname;
export const POLLER_OUTFILE = new URL('../dist/poller.mjs', import.meta.url).pathname;

const USAGE = `Usage: npm run build:poller [-- --outfile PATH]

Writes dist/poller.mjs (or PATH) and its source map: the poller in one file for plain Node.js 22 or later.`;

/**
 * dist/poller.mjs: the poller and everything it runs (the function, ioredis, middy, the SQS, STS and Secrets
 * Manager clients) in one ESM file with its source map, for plain Node >= 22 without node_modules.
 */
export async function buildPoller(outfile = POLLER_OUTFILE): Promise<void> {
  try {
    mkdirSync(dirname(outfile), { recursive: true });
    await build({
      entryPoints: [POLLER_ENTRY],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      minify: true,
      sourcemap: 'linked',
      // Unlike the Lambda bundle, nothing is external: there is no runtime that ships the SDK.
      banner: { js: `#!/usr/bin/env node\n${FUNCTION_BUNDLING.banner}` },
      mainFields: [...FUNCTION_BUNDLING.mainFields],
      legalComments: 'linked',
      // Its errors come back in the rejection, said once below; esbuild's own report would print them again.
      logLevel: 'silent',
    });
    // Runnable as ./poller.mjs too (the banner starts with a #! line).
    chmodSync(outfile, 0o755);
  } catch (error) {
    throw new CliError(
      `cannot write ${outfile}: ${writeFailure(error)} (a read-only checkout? --outfile PATH writes elsewhere)`,
      1,
    );
  }
}

/** The cause in a few words: the file system's (`EROFS: read-only file system`), or the first error esbuild gives. */
function writeFailure(error: unknown): string {
  const [first] = (error as { errors?: { text?: string }[] }).errors ?? [];
  if (first?.text !== undefined) return first.text;
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]?.split(',')[0] ?? message;
}

async function main(argv: readonly string[]): Promise<number> {
  let values: { outfile?: string | undefined; help?: boolean | undefined };
  try {
    values = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: { outfile: { type: 'string' }, help: { type: 'boolean' } },
    }).values;
  } catch (error) {
    throw usageError(error, USAGE);
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const outfile = values.outfile === undefined ? POLLER_OUTFILE : resolve(values.outfile);
  await buildPoller(outfile);
  process.stdout.write(`wrote ${outfile} (run it with: node ${outfile} --help)\n`);
  return 0;
}

if (process.argv[1] === new URL(import.meta.url).pathname) await runMain(() => main(process.argv.slice(2)));
