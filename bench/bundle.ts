import { build } from 'esbuild';
import { FUNCTION_BUNDLING, FUNCTION_ENTRY } from '../infra/bundling.ts';

/** Bundles the function the way the stack does (NodejsFunction runs the same esbuild with these options). */
export async function bundleFunction(outfile: string): Promise<void> {
  await build({
    entryPoints: [FUNCTION_ENTRY],
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
