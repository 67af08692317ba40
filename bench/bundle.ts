import { build } from 'esbuild';
import { FUNCTION_ENTRY, functionBuildOptions } from '../infra/bundling.ts';

/** The load-time baseline: the function's dependencies around a handler that does nothing. */
export const BASELINE_ENTRY = new URL('./baseline-handler.ts', import.meta.url).pathname;

/** Bundles the function the way the stack and the package build do: the same esbuild options. */
export async function bundleFunction(outfile: string, entry = FUNCTION_ENTRY): Promise<void> {
  await build(functionBuildOptions(entry, outfile));
}
