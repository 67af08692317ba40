import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REDIS_URL, synthesize } from './helpers/cdk-app.ts';
import { cfnLintErrors } from './helpers/cfn-lint.ts';

const REGIONS = ['us-east-1', 'eu-west-1'];

/** Every configuration users deploy; the organization and per-region ones are linted in their own test files. */
const CONFIGURATIONS: Record<string, Record<string, unknown>> = {
  default: { redisUrl: REDIS_URL },
  poller: { consumer: 'poller', alarmEmail: 'ops@example.com' },
  'VPC, endpoints, secret with its KMS key, alarm e-mail': {
    regions: 'eu-west-1',
    redisUrl: REDIS_URL,
    redisAuthSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:redis-auth',
    redisSecretKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab',
    alarmEmail: 'ops@example.com',
    vpcId: 'vpc-0123456789abcdef0',
    subnetIds: 'subnet-0123456789abcdef0,subnet-0123456789abcdef1',
    createVpcEndpoints: 'true',
  },
};

describe('cfn-lint (what CloudFormation would refuse)', () => {
  for (const [name, context] of Object.entries(CONFIGURATIONS)) {
    it(`finds no error in the ${name} configuration`, () => {
      const { rawTemplates } = synthesize({ regions: REGIONS.join(','), ...context });
      assert.ok(rawTemplates.length > 0);
      assert.deepEqual(cfnLintErrors(rawTemplates, REGIONS), []);
    });
  }
});
