import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { closeAfterEach } from './helpers/cleanup.ts';
import { runCli } from './helpers/cli.ts';
import { startMetadataListener } from './helpers/metadata-listener.ts';
import { useRedisServer } from './helpers/redis-server.ts';

const MAIN = new URL('../local/main.ts', import.meta.url).pathname;

describe('npm start and the instance metadata service', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  it('never asks it: a secret without credentials is one line, exit 2, and no request to 169.254.169.254', {
    timeout: 60_000,
  }, async () => {
    const metadata = track(await startMetadataListener());
    const home = mkdtempSync(join(tmpdir(), 'no-aws-'));
    track({ close: () => rmSync(home, { recursive: true, force: true }) });
    const secretArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:redis-sync-AbCdEf';

    // Nothing inherited: no credentials in the environment or in ~/.aws, and nothing that turns the service off.
    const { code, stdout, stderr } = await runCli([MAIN], {
      input: '',
      replaceEnv: true,
      env: {
        HOME: home,
        PATH: process.env.PATH,
        REDIS_URL: redis.url,
        REDIS_AUTH_SECRET_ARN: secretArn,
        AWS_EC2_METADATA_SERVICE_ENDPOINT: metadata.url,
      },
    }).exited;

    assert.equal(code, 2, stdout + stderr);
    assert.match(stderr, new RegExp(`^REDIS_AUTH_SECRET_ARN ${secretArn}: no AWS credentials found \\(.*\\)\\n$`));
    assert.equal(metadata.requests, 0);
  });
});
