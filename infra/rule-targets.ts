import { ArnFormat, type Duration, Stack } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sqs from 'aws-cdk-lib/aws-sqs';

/** How EventBridge retries a target, and where it puts what it gives up on (a standard queue). */
export interface TargetDelivery {
  readonly deadLetterQueue: sqs.IQueue;
  readonly retryAttempts: number;
  readonly maxEventAge: Duration;
}

function deliveryConfig(delivery: TargetDelivery): Pick<events.RuleTargetConfig, 'deadLetterConfig' | 'retryPolicy'> {
  return {
    deadLetterConfig: { arn: delivery.deadLetterQueue.queueArn },
    retryPolicy: {
      maximumRetryAttempts: delivery.retryAttempts,
      maximumEventAgeInSeconds: delivery.maxEventAge.toSeconds(),
    },
  };
}

/**
 * A FIFO queue target that grants nothing per rule: CDK's SqsQueue target adds one queue-policy statement per rule,
 * and an SQS policy holds at most 20 statements (8 KB), which per-account rules exceed after a handful of accounts.
 * The caller grants once with `allowRulesByNamePrefix`.
 */
export function fifoQueueTarget(queue: sqs.IQueue, messageGroupId: string, delivery: TargetDelivery): events.IRuleTarget {
  return { bind: () => ({ arn: queue.queueArn, sqsParameters: { messageGroupId }, ...deliveryConfig(delivery) }) };
}

/** A standard queue target that grants nothing either: the caller grants with `allowRules` or `allowRulesByNamePrefix`. */
export function standardQueueTarget(queue: sqs.IQueue, delivery: TargetDelivery): events.IRuleTarget {
  return { bind: () => ({ arn: queue.queueArn, ...deliveryConfig(delivery) }) };
}

/** Another account's event bus as a target, through `role` (required for buses of other accounts in an organization). */
export function eventBusTarget(busArn: string, role: iam.IRole, delivery: TargetDelivery): events.IRuleTarget {
  return { bind: () => ({ arn: busArn, role, ...deliveryConfig(delivery) }) };
}

/** Lets this account's rules whose names start with `prefix` send to the queue: one statement for any number of rules. */
export function allowRulesByNamePrefix(queue: sqs.IQueue, prefix: string): void {
  const rules = Stack.of(queue).formatArn({
    service: 'events',
    resource: 'rule',
    resourceName: `${prefix}*`,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
  queue.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['sqs:SendMessage'],
      resources: [queue.queueArn],
      conditions: { ArnLike: { 'aws:SourceArn': rules } },
    }),
  );
}

/** Lets exactly these rules send to the queue (their dead-letter queue), in one statement. */
export function allowRules(queue: sqs.IQueue, rules: readonly events.IRule[]): void {
  queue.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['sqs:SendMessage'],
      resources: [queue.queueArn],
      conditions: { ArnEquals: { 'aws:SourceArn': rules.map((rule) => rule.ruleArn) } },
    }),
  );
}
