import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { DEFAULT_METRICS_NAMESPACE } from '../lambda/config.ts';
import { redisSecretReadStatements } from './function-access.ts';
import { output } from './outputs.ts';

export interface PollerPolicyOptions {
  readonly region: string;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly redisAuthSecret: secretsmanager.ISecret | undefined;
}

/**
 * What the poller's role or user needs, exactly, as a managed policy to attach where the poller runs (an instance
 * role, a user): what the sync function gets, since the poller runs the same handler.
 */
export function addPollerPolicy(scope: Construct, options: PollerPolicyOptions): iam.ManagedPolicy {
  const { queue, deadLetterQueue, redisAuthSecret } = options;
  const statements = [
    new iam.PolicyStatement({
      sid: 'ConsumeTheQueue',
      // GetQueueAttributes: the poller checks the queue at start. DeleteMessage also covers DeleteMessageBatch, and
      // ChangeMessageVisibility the batch form that backs off transient failures.
      actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility'],
      resources: [queue.queueArn],
    }),
    new iam.PolicyStatement({
      sid: 'ParkPoisonRecords',
      actions: ['sqs:SendMessage'],
      resources: [deadLetterQueue.queueArn],
    }),
    // The dashboard's publish metrics, which the function writes in its log lines (EMF) and the poller must send.
    new iam.PolicyStatement({
      sid: 'SendMetrics',
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringEquals: { 'cloudwatch:namespace': DEFAULT_METRICS_NAMESPACE } },
    }),
    ...(redisAuthSecret === undefined ? [] : redisSecretReadStatements(redisAuthSecret)),
  ];
  const policy = new iam.ManagedPolicy(scope, 'PollerPolicy', {
    description: `The poller (dist/poller.mjs) consuming ${queue.node.id} in ${options.region}`,
    statements,
  });
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: `cloudwatch:PutMetricData supports no resource-level permissions: the policy limits it to the ${DEFAULT_METRICS_NAMESPACE} namespace (cloudwatch:namespace).`,
  });
  output(scope, 'PollerPolicyArn', {
    value: policy.managedPolicyArn,
    description: 'Attach to the role or user the poller runs as',
  });
  return policy;
}
