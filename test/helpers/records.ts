import { readFileSync } from 'node:fs';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { lambdaContext as localLambdaContext } from '../../local/lambda-context.ts';

export const ACCOUNT = '123456789012';
export const FUNCTION_ACCOUNT = '210987654321';
export const CHANNEL = `topic-account-management-events-${ACCOUNT}`;

let sequence = 0;

export interface RecordSpec {
  readonly body: string;
  readonly group?: string;
  readonly messageId?: string;
  readonly receiveCount?: number;
}

/** An SQS record shaped as Lambda's FIFO event source delivers it. */
export function sqsRecord({ body, group = 'ec2-instances-events', messageId, receiveCount = 1 }: RecordSpec): SQSRecord {
  sequence += 1;
  return {
    messageId: messageId ?? `msg-${sequence}`,
    receiptHandle: `receipt-${sequence}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
      SequenceNumber: String(18_800_000_000_000_000_000n + BigInt(sequence)),
      MessageGroupId: group,
      MessageDeduplicationId: `dedup-${sequence}`,
    },
    messageAttributes: {},
    md5OfBody: 'not-checked',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:management-events-us-east-1.fifo',
    awsRegion: 'us-east-1',
  };
}

export function sqsEvent(records: readonly SQSRecord[]): SQSEvent {
  return { Records: [...records] };
}

/** `null`: a context whose ARN names no account. */
export function lambdaContext(account: string | null = FUNCTION_ACCOUNT): Context {
  const arn = account === null ? '' : `arn:aws:lambda:us-east-1:${account}:function:management-events-sync`;
  return localLambdaContext(arn, 'request-1');
}

/** Sample EventBridge events shipped in events/, one JSON object per line: by default those `npm start` replays. */
export function sampleEvents(file = 'sample-events.jsonl'): Record<string, unknown>[] {
  const text = readFileSync(new URL(`../../events/${file}`, import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** `account: null` leaves the event's `account` field out. */
export function stateChange(instanceId: string, state: string, account: string | null = ACCOUNT) {
  const event: Record<string, unknown> = {
    version: '0',
    id: `ec2-${instanceId}-${state}-${sequence}`,
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [`arn:aws:ec2:us-east-1:${account ?? ACCOUNT}:instance/${instanceId}`],
    detail: { 'instance-id': instanceId, state },
  };
  if (account !== null) event.account = account;
  return JSON.stringify(event);
}

export function tagChange(resourceArn: string, changed: readonly string[], tags: Record<string, string>) {
  return JSON.stringify({
    version: '0',
    id: `tag-${sequence}-${changed.join('-')}`,
    'detail-type': 'Tag Change on Resource',
    source: 'aws.tag',
    account: ACCOUNT,
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [resourceArn],
    detail: { 'changed-tag-keys': changed, service: 'ec2', 'resource-type': 'instance', version: 2, tags },
  });
}
