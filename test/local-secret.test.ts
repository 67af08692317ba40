import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routeEvents } from '../local/router.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { runCli } from './helpers/cli.ts';
import { sampleEvents } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';
import { startSecretsManagerEndpoint } from './helpers/secrets-manager-endpoint.ts';

const MAIN = new URL('../local/main.ts', import.meta.url).pathname;
const PASSWORD = 'only-in-the-secret';
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:redis-sync-AbCdEf';

describe('npm start with the password in REDIS_AUTH_SECRET_ARN only', () => {
  const track = closeAfterEach();
  const redis = useRedisServer(['--requirepass', PASSWORD]);

  it("delivers every event: its own subscriber signs in with the secret's password too, and never prints it", {
    timeout: 60_000,
  }, async () => {
    const secrets = track(await startSecretsManagerEndpoint({ [SECRET_ARN]: JSON.stringify({ password: PASSWORD }) }));
    const events = sampleEvents();
    const { routed } = routeEvents(events);

    const { code, stdout, stderr } = await runCli([MAIN], {
      input: events.map((event) => JSON.stringify(event)).join('\n'),
      env: {
        REDIS_URL: redis.url,
        REDIS_AUTH_SECRET_ARN: SECRET_ARN,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
        AWS_ACCESS_KEY_ID: 'AKIDLOCAL',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_SESSION_TOKEN: undefined,
        AWS_PROFILE: undefined,
      },
    }).exited;

    assert.equal(code, 0, stdout + stderr);
    assert.equal(stdout.trim().split('\n').at(-1), `delivered ${routed.length}/${routed.length} events, 0 dead-lettered`);
    assert.ok(secrets.asked.length >= 1);
    assert.ok(!(stdout + stderr).includes(PASSWORD));
  });
});
