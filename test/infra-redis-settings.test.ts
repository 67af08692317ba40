import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../infra/app.ts';
import { ContextError } from '../infra/config.ts';
import { onlyTemplate, REDIS_URL, synthesize } from './helpers/cdk-app.ts';

function functionEnvironment(context: Record<string, unknown>): Record<string, string> {
  const template = onlyTemplate(synthesize({ regions: 'eu-west-1', redisUrl: REDIS_URL, ...context }));
  const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } }));
  return (fn?.Properties.Environment.Variables ?? {}) as Record<string, string>;
}

describe('the function’s Redis settings from context', () => {
  it('sets neither the mirror nor the cluster mode by default (auto-detected, pub/sub only)', () => {
    const environment = functionEnvironment({});
    assert.equal(environment.STREAM_RETENTION_HOURS, undefined);
    assert.equal(environment.REDIS_CLUSTER, undefined);
  });

  it('passes streamRetentionHours and redisCluster on to the function', () => {
    const environment = functionEnvironment({ streamRetentionHours: '48', redisCluster: 'true' });
    assert.equal(environment.STREAM_RETENTION_HOURS, '48');
    assert.equal(environment.REDIS_CLUSTER, 'true');
  });

  it('refuses requireSubscriber with redisCluster=true, and bad values, in one message', () => {
    const synth = () =>
      buildApp(
        new App({
          context: {
            regions: 'eu-west-1',
            redisUrl: REDIS_URL,
            redisCluster: 'true',
            requireSubscriber: 'true',
            streamRetentionHours: '0',
            functionTimeoutSeconds: '4',
          },
        }),
      );
    assert.throws(synth, (error: unknown) => {
      assert.ok(error instanceof ContextError);
      assert.match(error.message, /requireSubscriber cannot be used with a Redis cluster/);
      assert.match(error.message, /streamRetentionHours must be a whole number from 1 to 8760/);
      // 4 s cannot hold a connect and a script call at their longest timeouts (2 s each) and the 1 s margin.
      assert.match(error.message, /functionTimeoutSeconds must be a whole number from 5 to 120/);
      return true;
    });
  });
});
