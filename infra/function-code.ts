import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { BUNDLE_FILE, FUNCTION_ENTRIES, type FunctionName, functionBuildOptions } from './bundling.ts';

/*
 * Where a function's code comes from. The package (compiled to dist/) carries every function already bundled by its
 * build step, so an app that uses it needs neither esbuild nor Docker. Running from source (this repository: the
 * tests, `cdk synth`), the same esbuild options bundle the current code at synth, so nothing can be stale.
 */
const FROM_SOURCE = import.meta.url.endsWith('.ts');

/** dist/functions/<name>/: where the package build writes each bundle, beside the compiled constructs (dist/infra). */
export function prebuiltFunctionDir(name: FunctionName, distDir = fileURLToPath(new URL('..', import.meta.url))): string {
  return join(distDir, 'functions', name);
}

export function functionCode(name: FunctionName): lambda.Code {
  if (!FROM_SOURCE) return lambda.Code.fromAsset(prebuiltFunctionDir(name));
  const entry = FUNCTION_ENTRIES[name];
  return lambda.Code.fromAsset(dirname(entry), {
    // The bundle's own hash: the source folder is not what is deployed.
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never pulled: local bundling always succeeds (Lambda's own NodejsFunction does the same).
      image: DockerImage.fromRegistry('dummy'),
      local: {
        tryBundle(outputDir: string): boolean {
          bundleFunctionSync(name, join(outputDir, BUNDLE_FILE));
          return true;
        },
      },
    },
  });
}

/** Bundles one function with esbuild, which only a build from source needs (a devDependency: loaded on use). */
export function bundleFunctionSync(name: FunctionName, outfile: string): void {
  const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  esbuild.buildSync(functionBuildOptions(FUNCTION_ENTRIES[name], outfile));
}
