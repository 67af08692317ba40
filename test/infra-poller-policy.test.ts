import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../infra/app.ts';
import { SyncStack } from '../infra/sync-stack.ts';
import { cfnLintErrors } from './helpers/cfn-lint.ts';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:redis-auth-AbCdEf';
const PARTIAL_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:redis/auth';
const KEY_ARN = 'arn:aws:kms:eu-west-1:123456789012:key/0123abcd-0123-4567-89ab-0123456789ab';

function pollerTemplate(context: Record<string, unknown> = {}): Template {
  const app = buildApp(new App({ context: { regions: 'eu-west-1', consumer: 'poller', ...context } }));
  // Synthesized as `cdk synth` does: cdk-nag's findings would throw here.
  app.synth();
  const [stack] = app.node.children.filter((child): child is SyncStack => child instanceof SyncStack);
  assert.ok(stack !== undefined);
  return Template.fromStack(stack);
}

function queueLogicalId(template: Template): string {
  const [id] = Object.keys(
    template.findResources('AWS::SQS::Queue', { Properties: { QueueName: 'management-events-eu-west-1.fifo' } }),
  );
  assert.ok(id !== undefined);
  return id;
}

function deadLetterQueueLogicalId(template: Template): string {
  const [id] = Object.keys(
    template.findResources('AWS::SQS::Queue', { Properties: { QueueName: 'management-events-eu-west-1-dlq.fifo' } }),
  );
  assert.ok(id !== undefined);
  return id;
}

describe('consumer=poller: the managed policy the poller runs with', () => {
  it('allows consuming the queue, backing off, parking poison in the DLQ and sending metrics to its own namespace only, and outputs its ARN', () => {
    const template = pollerTemplate();
    const policies = template.findResources('AWS::IAM::ManagedPolicy');
    assert.equal(Object.keys(policies).length, 1);
    const [policyId] = Object.keys(policies);
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility'],
            Resource: { 'Fn::GetAtt': [queueLogicalId(template), 'Arn'] },
            Sid: 'ConsumeTheQueue',
          },
          {
            Effect: 'Allow',
            Action: 'sqs:SendMessage',
            Resource: { 'Fn::GetAtt': [deadLetterQueueLogicalId(template), 'Arn'] },
            Sid: 'ParkPoisonRecords',
          },
          {
            Effect: 'Allow',
            Action: 'cloudwatch:PutMetricData',
            Resource: '*',
            Condition: { StringEquals: { 'cloudwatch:namespace': 'AssetSync' } },
            Sid: 'SendMetrics',
          },
        ],
      },
    });
    template.hasOutput('PollerPolicyArn', { Value: { Ref: policyId } });
  });

  it('reads the Redis secret as the function does, and nothing else, when there is one', () => {
    const template = pollerTemplate({ redisAuthSecretArn: SECRET_ARN });
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [
          Match.objectLike({ Sid: 'ConsumeTheQueue' }),
          Match.objectLike({ Sid: 'ParkPoisonRecords' }),
          Match.objectLike({ Sid: 'SendMetrics' }),
          { Effect: 'Allow', Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'], Resource: SECRET_ARN },
        ],
      },
    });
  });

  it('reads a secret given by partial ARN through the suffix wildcard, and decrypts it with its key via Secrets Manager', () => {
    const template = pollerTemplate({ redisAuthSecretArn: PARTIAL_SECRET_ARN, redisSecretKmsKeyArn: KEY_ARN });
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
            Resource: `${PARTIAL_SECRET_ARN}-??????`,
          },
          {
            Effect: 'Allow',
            Action: 'kms:Decrypt',
            Resource: KEY_ARN,
            Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
          },
        ]),
      },
    });
  });

  it('is a template CloudFormation accepts (cfn-lint: no errors)', () => {
    const template = pollerTemplate({ redisAuthSecretArn: PARTIAL_SECRET_ARN, redisSecretKmsKeyArn: KEY_ARN }).toJSON();
    assert.deepEqual(cfnLintErrors([template], ['eu-west-1']), []);
  });
});
