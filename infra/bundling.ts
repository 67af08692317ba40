import type { BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
/*
 * How the function is bundled, as plain data: the stack hands it to NodejsFunction and the benchmark to esbuild,
 * so the bundle that is measured is the bundle that is deployed.
 */
export const FUNCTION_ENTRY = new URL('../lambda/handler.ts', import.meta.url).pathname;

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

/** The same options as NodejsFunction takes them, for every function of the app (local esbuild, no Docker). */
export function nodejsBundling(): BundlingOptions {
  return {
    format: 'esm' as OutputFormat,
    target: FUNCTION_BUNDLING.target,
    minify: FUNCTION_BUNDLING.minify,
    sourceMap: FUNCTION_BUNDLING.sourceMap,
    externalModules: [...FUNCTION_BUNDLING.externalModules],
    banner: FUNCTION_BUNDLING.banner,
    mainFields: [...FUNCTION_BUNDLING.mainFields],
    forceDockerBundling: false,
  };
}
