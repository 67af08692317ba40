import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { build } from 'esbuild';
import { FUNCTION_BUNDLING } from '../infra/bundling.ts';

export const POLLER_ENTRY = new URL('./poller-main.ts', import.meta.url).pathname;
export const POLLER_OUTFILE = new URL('../dist/poller.mjs', import.meta.url).pathname;

/**
 * dist/poller.mjs: the poller and everything it runs (the function, ioredis, middy, the SQS, STS and Secrets
 * Manager clients) in one ESM file with its source map, for plain Node >= 22 without node_modules.
 */
export async function buildPoller(outfile = POLLER_OUTFILE): Promise<void> {
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
    logLevel: 'warning',
  });
  // Runnable as ./poller.mjs too (the banner starts with a #! line).
  chmodSync(outfile, 0o755);
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  await buildPoller();
  process.stdout.write(`wrote ${POLLER_OUTFILE} (run it with: node ${POLLER_OUTFILE} --help)\n`);
}
