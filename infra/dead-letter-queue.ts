import { Duration, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/**
 * A standard dead-letter queue (EventBridge takes no FIFO queue as a target's): SQS-managed encryption, TLS only,
 * 14 days. cdk-nag's SQS3 (a queue without a dead-letter queue) is acknowledged: `holding` says whose dead letters
 * it holds.
 */
export function standardDeadLetterQueue(scope: Construct, id: string, queueName: string, holding: string): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    queueName,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: `This queue is the dead-letter queue of ${holding}; a dead-letter queue needs none of its own.`,
  });
  return queue;
}
