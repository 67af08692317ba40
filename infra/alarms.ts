import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { AlarmProps } from './sync-props.ts';

/** The caller's topic, or an encrypted one that mails `alarmEmail`, or none. */
export function alarmTopicFor(scope: Construct, props: AlarmProps): sns.ITopic | undefined {
  if (props.alarmTopic !== undefined) return props.alarmTopic;
  return props.alarmEmail === undefined ? undefined : emailAlarmTopic(scope, props.alarmEmail);
}

/** An encrypted SNS topic that mails `email`. */
function emailAlarmTopic(scope: Construct, email: string): sns.Topic {
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
  // enforceSSL gives the topic a policy of its own, which replaces SNS's default one: without this statement nothing
  // would allow CloudWatch, a service principal with no IAM policy of its own here, to publish an alarm.
  const { account, region, partition } = Stack.of(scope);
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': account },
        ArnLike: { 'aws:SourceArn': `arn:${partition}:cloudwatch:${region}:${account}:alarm:*` },
      },
    }),
  );
  topic.addSubscription(new subscriptions.EmailSubscription(email));
  return topic;
}

/** The topic hears both when the alarm fires and when it clears. */
export function notify(topic: sns.ITopic | undefined, alarm: cloudwatch.Alarm): void {
  if (topic === undefined) return;
  alarm.addAlarmAction(new cwActions.SnsAction(topic));
  alarm.addOkAction(new cwActions.SnsAction(topic));
}

/**
 * An alarm that fires when the metric reaches `threshold` (a depth, a count of failures): no data means nothing
 * happened, which is not a breach.
 */
export function alarmAtOrAbove(
  scope: Construct,
  id: string,
  options: {
    readonly description: string;
    readonly metric: cloudwatch.IMetric;
    readonly threshold?: number;
    readonly evaluationPeriods?: number;
  },
): cloudwatch.Alarm {
  return new cloudwatch.Alarm(scope, id, {
    alarmDescription: options.description,
    metric: options.metric,
    threshold: options.threshold ?? 1,
    evaluationPeriods: options.evaluationPeriods ?? 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
}
