import { build } from 'esbuild';
import { FUNCTION_BUNDLING, FUNCTION_ENTRY } from '../infra/bundling.ts';

/** The load-time baseline: the function's dependencies around a handler that does nothing. */
export const BASELINE_ENTRY = new URL('./baseline-handler.ts', import.meta.url).pathname;

/** Bundles the function the way the stack does (NodejsFunction runs the same esbuild with these options). */
export async function bundleFunction(outfile: string, entry = FUNCTION_ENTRY): Promise<void> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: FUNCTION_BUNDLING.target,
    minify: FUNCTION_BUNDLING.minify,
    sourcemap: FUNCTION_BUNDLING.sourceMap ? 'external' : false,
    external: [...FUNCTION_BUNDLING.externalModules],
    banner: { js: FUNCTION_BUNDLING.banner },
    mainFields: [...FUNCTION_BUNDLING.mainFields],
    logLevel: 'warning',
  });
}
