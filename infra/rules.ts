/*
 * The seed's two EventBridge rules, as plain data: the stack deploys them and the local pipeline routes with them.
 * Names, patterns and message groups are the seed's, verbatim.
 */
export interface RuleDefinition {
  /** Rule name on the default event bus. */
  readonly name: string;
  /** Message group ID that the rule's SQS FIFO target sets: events of one group are delivered in order. */
  readonly messageGroupId: string;
  readonly description: string;
  readonly eventPattern: { readonly source: readonly string[]; readonly 'detail-type': readonly string[] };
}

export const RULES: readonly RuleDefinition[] = [
  {
    name: 'management-events-tags',
    messageGroupId: 'management-events-tags',
    description: 'Tag changes on EC2 instances, VPCs and subnets, to the asset inventory',
    eventPattern: { source: ['aws.tag'], 'detail-type': ['Tag Change on Resource'] },
  },
  {
    name: 'management-events-ec2',
    messageGroupId: 'ec2-instances-events',
    description: 'EC2 instance state changes, to the asset inventory',
    eventPattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] },
  },
];

export function queueName(region: string): string {
  return `management-events-${region}.fifo`;
}

export function deadLetterQueueName(region: string): string {
  return `management-events-${region}-dlq.fifo`;
}

/** The first rule whose pattern matches the event, as EventBridge matches these exact-value patterns. */
export function matchRule(event: Record<string, unknown>): RuleDefinition | undefined {
  return RULES.find(
    (rule) =>
      rule.eventPattern.source.includes(String(event.source)) &&
      rule.eventPattern['detail-type'].includes(String(event['detail-type'])),
  );
}
