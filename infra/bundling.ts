import type { BuildOptions } from 'esbuild';
/*
 * How the functions are bundled, as plain data and one set of esbuild options: the package build, synth from source
 * and the benchmark all bundle with them, so the bundle that is measured is the bundle that is deployed.
 */
export const FUNCTION_ENTRY = new URL('../lambda/handler.ts', import.meta.url).pathname;

/** Each function the package ships, by the folder its bundle goes to. */
export const FUNCTION_ENTRIES = {
  sync: FUNCTION_ENTRY,
  reconcile: new URL('../reconcile/handler.ts', import.meta.url).pathname,
  describer: new URL('../describer/handler.ts', import.meta.url).pathname,
} as const;
export type FunctionName = keyof typeof FUNCTION_ENTRIES;

/** The bundle's file name in its folder: Lambda's handler is `index.handler`. */
export const BUNDLE_FILE = 'index.mjs';

export const FUNCTION_BUNDLING = {
  target: 'node24',
  minify: true,
  sourceMap: true,
  // The Lambda Node.js runtime ships SDK v3; bundling the two lazily loaded clients would add about 500 KB.
  externalModules: ['@aws-sdk/*'],
  // ioredis is CommonJS: an ESM bundle needs `require` for its Node built-ins.
  banner: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  mainFields: ['module', 'main'],
} as const;

/** esbuild's options for one function's bundle (with a linked source map beside it, for --enable-source-maps). */
export function functionBuildOptions(entry: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: FUNCTION_BUNDLING.target,
    minify: FUNCTION_BUNDLING.minify,
    sourcemap: FUNCTION_BUNDLING.sourceMap ? 'linked' : false,
    external: [...FUNCTION_BUNDLING.externalModules],
    banner: { js: FUNCTION_BUNDLING.banner },
    mainFields: [...FUNCTION_BUNDLING.mainFields],
    logLevel: 'warning',
  };
}
