import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../infra/app.ts';
import { ContextError } from '../infra/config.ts';
import { onlyTemplate, REDIS_URL, synthesize } from './helpers/cdk-app.ts';
import { cfnLintErrors } from './helpers/cfn-lint.ts';

const COMPLETE = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:redis-auth-AbCdEf';
const PARTIAL = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:redis/auth';
const KEY = 'arn:aws:kms:us-east-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

function statements(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => policy.Properties.PolicyDocument.Statement as Statement[],
  );
}

function functionTemplate(context: Record<string, unknown>) {
  const synthesized = synthesize({ regions: 'eu-west-1', redisUrl: REDIS_URL, ...context });
  return { template: onlyTemplate(synthesized), synthesized };
}

describe('the Redis secret', () => {
  it('is read by its complete ARN, exactly', () => {
    const { template } = functionTemplate({ redisAuthSecretArn: COMPLETE });
    const read = statements(template).find((statement) => [statement.Action].flat().includes('secretsmanager:GetSecretValue'));
    assert.equal(read?.Resource, COMPLETE);
  });

  it('is read by a partial ARN (no 6-character suffix) through the suffix wildcard, and synth does not die', () => {
    const { template, synthesized } = functionTemplate({ redisAuthSecretArn: PARTIAL });
    const read = statements(template).find((statement) => [statement.Action].flat().includes('secretsmanager:GetSecretValue'));
    assert.equal(read?.Resource, `${PARTIAL}-??????`);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ REDIS_AUTH_SECRET_ARN: PARTIAL }) },
    });
    assert.deepEqual(synthesized.nagReports, []);
  });

  it('may be decrypted with its customer-managed key, only when Secrets Manager of the secret region asks', () => {
    const { template, synthesized } = functionTemplate({ redisAuthSecretArn: COMPLETE, redisSecretKmsKeyArn: KEY });
    const decrypt = statements(template).filter((statement) => JSON.stringify(statement.Action).includes('kms:'));
    assert.deepEqual(decrypt, [
      {
        Action: 'kms:Decrypt',
        Effect: 'Allow',
        Resource: KEY,
        // The secret is in us-east-1, the function in eu-west-1: the secret's region is the one that decrypts.
        Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } },
      },
    ]);
    assert.deepEqual(synthesized.nagReports, []);
    assert.deepEqual(cfnLintErrors(synthesized.rawTemplates, ['eu-west-1']), []);
  });

  it('grants no KMS action without a key', () => {
    const { template } = functionTemplate({ redisAuthSecretArn: COMPLETE });
    assert.ok(statements(template).every((statement) => !JSON.stringify(statement.Action).includes('kms:')));
  });

  it('refuses a key that is an alias, in another region than the secret, or without a secret, one line each', () => {
    const problems = (context: Record<string, unknown>) => {
      try {
        buildApp(new App({ context: { regions: 'eu-west-1', redisUrl: REDIS_URL, ...context } }));
        return [];
      } catch (error) {
        assert.ok(error instanceof ContextError);
        return [...error.problems];
      }
    };
    assert.match(
      problems({ redisAuthSecretArn: COMPLETE, redisSecretKmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:alias/redis' }).join(),
      /redisSecretKmsKeyArn must be a KMS key ARN .*an alias cannot be granted/,
    );
    assert.deepEqual(problems({ redisAuthSecretArn: COMPLETE, redisSecretKmsKeyArn: KEY.replace('us-east-1', 'eu-west-1') }), [
      'redisSecretKmsKeyArn is in eu-west-1 but the secret is in us-east-1: a secret is encrypted with a key of its own region',
    ]);
    assert.deepEqual(problems({ redisSecretKmsKeyArn: KEY }), [
      'redisSecretKmsKeyArn needs redisAuthSecretArn (the secret the key encrypts)',
    ]);
  });
});

describe('VPC placement', () => {
  const { template, synthesized } = functionTemplate({
    vpcId: 'vpc-0123456789abcdef0',
    subnetIds: 'subnet-0123456789abcdef0,subnet-0123456789abcdef1',
  });

  it('attaches no managed policy: only the ENI actions Lambda needs', () => {
    const role = Object.values(template.findResources('AWS::IAM::Role'))[0];
    assert.equal(role?.Properties.ManagedPolicyArns, undefined);
    const wildcard = statements(template).filter((statement) => statement.Resource === '*');
    assert.deepEqual(wildcard, [
      {
        Action: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        Effect: 'Allow',
        Resource: '*',
      },
    ]);
  });

  it('grants no logs action on every log group', () => {
    for (const statement of statements(template)) {
      const actions = [statement.Action].flat();
      if (actions.some((action) => action.startsWith('logs:'))) assert.notEqual(statement.Resource, '*');
    }
  });

  it('creates the function only after its ENI permissions exist', () => {
    const [policyId] = Object.entries(template.findResources('AWS::IAM::Policy')).find(([, policy]) =>
      JSON.stringify(policy).includes('ec2:CreateNetworkInterface'),
    ) ?? [''];
    const fn = Object.values(template.findResources('AWS::Lambda::Function'))[0];
    assert.ok(((fn?.DependsOn ?? []) as string[]).includes(policyId), JSON.stringify(fn?.DependsOn));
  });

  it('is clean for cdk-nag (the wildcard acknowledged with its reason) and cfn-lint', () => {
    assert.deepEqual(synthesized.nagReports, []);
    assert.deepEqual(cfnLintErrors(synthesized.rawTemplates, ['eu-west-1']), []);
  });
});
