import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const APP = new URL('../infra/app.ts', import.meta.url).pathname;

/** Runs the app the way `cdk synth` does: context in CDK_CONTEXT_JSON, output in CDK_OUTDIR. */
function synth(context: Record<string, string>) {
  const outdir = mkdtempSync(join(tmpdir(), 'cdk-out-'));
  const result = spawnSync(process.execPath, [APP], {
    env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
    encoding: 'utf8',
  });
  const files = readdirSync(outdir);
  rmSync(outdir, { recursive: true, force: true });
  return { status: result.status, stderr: result.stderr, files };
}

describe('cdk synth, offline', () => {
  it('synthesizes one template per region with no AWS account or credentials', { timeout: 60_000 }, () => {
    const { status, stderr, files } = synth({ regions: 'us-east-1,eu-west-1', redisUrl: 'rediss://cache.example.internal:6379' });
    assert.equal(status, 0, stderr);
    assert.deepEqual(files.filter((file) => file.endsWith('.template.json')).sort(), [
      'management-events-sync-eu-west-1.template.json',
      'management-events-sync-us-east-1.template.json',
    ]);
  });

  it('stops with one message listing every context problem, and exit code 1', { timeout: 60_000 }, () => {
    const { status, stderr } = synth({ regions: 'us-east-1', maxReceiveCount: '0' });
    assert.equal(status, 1);
    assert.match(stderr, /invalid context/);
    assert.match(stderr, /redisUrl is required/);
    assert.match(stderr, /maxReceiveCount must be a whole number from 1 to 1000/);
    assert.doesNotMatch(stderr, /at .*\.ts:\d+/, 'no stack trace for a context error');
  });

  it("stops a template over CloudFormation's 1,000,000 bytes with one line and exit code 1", { timeout: 60_000 }, () => {
    const accounts = Array.from({ length: 125 }, (_, i) => String(200000000000 + i * 7919)).join(',');

    const { status, stderr } = synth({ regions: 'us-east-1', redisUrl: 'rediss://cache.example.internal:6379', accounts });

    assert.equal(status, 1);
    assert.match(
      stderr,
      /^ {2}- stack management-events-sync-us-east-1: its template takes [\d,]+ bytes, over CloudFormation's limit of 1,000,000 bytes per template: .*list at most \d+ in accounts/m,
    );
    assert.doesNotMatch(stderr, /at .*\.ts:\d+/, 'no stack trace');
  });

  it('configures every feature flag that aws-cdk-lib recommends, so cdk deploy starts from its safe defaults', () => {
    const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    const recommended = readJson(createRequire(import.meta.url).resolve('aws-cdk-lib/recommended-feature-flags.json'));
    const { context } = readJson(new URL('../cdk.json', import.meta.url).pathname) as { context: Record<string, unknown> };
    const unset = Object.keys(recommended).filter((flag) => !(flag in context));
    assert.deepEqual(
      unset,
      [],
      'after upgrading aws-cdk-lib: npx cdk flags --unstable=flags --set --unconfigured --recommended -c redisUrl=rediss://host:6379',
    );
  });
});
