import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';

/** An encrypted SNS topic that mails `email`, as the action (and OK action) of every alarm. */
export function notifyByEmail(scope: Construct, email: string, alarms: readonly cloudwatch.Alarm[]): sns.Topic {
  // A customer-managed key: CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key.
  const key = new kms.Key(scope, 'AlarmTopicKey', {
    description: 'Encrypts the management-events alarm topic',
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
    }),
  );
  const topic = new sns.Topic(scope, 'AlarmTopic', {
    displayName: 'management-events sync alarms',
    masterKey: key,
    enforceSSL: true,
  });
  topic.addSubscription(new subscriptions.EmailSubscription(email));
  for (const alarm of alarms) {
    alarm.addAlarmAction(new cwActions.SnsAction(topic));
    alarm.addOkAction(new cwActions.SnsAction(topic));
  }
  return topic;
}
