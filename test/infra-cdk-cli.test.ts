import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = new URL('..', import.meta.url).pathname;
const CDK = join(dirname(createRequire(import.meta.url).resolve('aws-cdk/package.json')), 'bin', 'cdk');

/** The real CDK CLI on the project's cdk.json, offline; output in a temporary folder, not the checkout. */
function cdk(...args: string[]) {
  const outdir = mkdtempSync(join(tmpdir(), 'cdk-cli-'));
  try {
    const result = spawnSync(process.execPath, [CDK, ...args, '--output', outdir, '--no-notices'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: {
        ...process.env,
        // `node infra/app.ts` from cdk.json must find this Node (24), as under npm scripts.
        PATH: `${dirname(process.execPath)}:${process.env.PATH}`,
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: 'us-east-1',
        // Nothing listens there: an AWS call fails at once instead of reaching out.
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
        CDK_DISABLE_CLI_TELEMETRY: 'true',
      },
      timeout: 90_000,
    });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe('the CDK CLI without redisUrl', { timeout: 300_000 }, () => {
  it('cdk ls lists the stacks', () => {
    const { status, output } = cdk('ls');
    assert.equal(status, 0, output);
    assert.deepEqual(output.trim().split('\n').slice(-2), [
      'management-events-sync-us-east-1',
      'management-events-sync-eu-west-1',
    ]);
  });

  it('cdk destroy gets past synthesis to the destroy itself', () => {
    const { output } = cdk('destroy', '--force', 'management-events-sync-eu-west-1');
    assert.doesNotMatch(output, /redisUrl is required|invalid context/);
    assert.match(output, /management-events-sync-eu-west-1: destroying/);
  });

  it('cdk synth stops with the one missing setting, no stack trace', () => {
    const { status, output } = cdk('synth', '--quiet');
    assert.notEqual(status, 0);
    assert.match(output, /^ {2}- redisUrl is required \(-c redisUrl=rediss:\/\/host:6379\), unless consumer=poller$/m);
    assert.doesNotMatch(output, /\n\s+at .*:\d+:\d+/);
  });

  it('cdk ls reports a near-miss context key instead of ignoring it', () => {
    const { status, output } = cdk('ls', '-c', 'region=us-west-2');
    assert.notEqual(status, 0);
    assert.match(output, /unknown context key "region": did you mean "regions"\?/);
  });
});

describe('the CDK CLI in a member account', { timeout: 120_000 }, () => {
  it('cdk synth prints the member template, with cdk.json as it is, ready for a StackSet', () => {
    const { status, output } = cdk('synth', '--json', '-c', 'centralAccount=111122223333');
    assert.equal(status, 0, output);
    const template = JSON.parse(output.slice(output.indexOf('{'))) as Record<string, unknown>;
    assert.equal(template.Parameters, undefined);
    assert.equal(template.Rules, undefined);
    assert.match(JSON.stringify(template.Resources), /:111122223333:event-bus\/default/);
  });
});
