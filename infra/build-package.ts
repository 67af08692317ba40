import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { BUNDLE_FILE, FUNCTION_ENTRIES, type FunctionName } from './bundling.ts';
import { bundleFunctionSync, prebuiltFunctionDir } from './function-code.ts';

/*
 * The package's build (`npm run build`, run by `npm pack`): the constructs compiled with their types to dist/infra
 * (and the few lambda/ modules they read), and every function bundled to dist/functions/<name>/, so an app that
 * installs the package needs neither esbuild nor Docker.
 */
const ROOT = new URL('..', import.meta.url).pathname;
export const DIST = join(ROOT, 'dist');

export function buildPackage(): void {
  for (const dir of ['infra', 'lambda', 'functions']) rmSync(join(DIST, dir), { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const compiled = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (compiled.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${compiled.status})`);
  for (const name of Object.keys(FUNCTION_ENTRIES) as FunctionName[]) {
    const dir = prebuiltFunctionDir(name, DIST);
    mkdirSync(dir, { recursive: true });
    bundleFunctionSync(name, join(dir, BUNDLE_FILE));
  }
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  buildPackage();
  process.stdout.write(
    `wrote ${DIST}: infra/ (constructs and types), functions/ (${Object.keys(FUNCTION_ENTRIES).join(', ')})\n`,
  );
}
