/*
 * EventBridge events as the describer receives them (the three rules' kinds), and the standard describe queue's
 * records as Lambda's SQS event source hands them over.
 */
import { randomUUID } from 'node:crypto';
import type { SQSEvent, SQSRecord } from 'aws-lambda';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';
export const DESCRIBER_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:management-events-describer-${REGION}`;
export const DESCRIBER_CONTEXT = { invokedFunctionArn: DESCRIBER_ARN, functionName: `management-events-describer-${REGION}` };

export interface EventOptions {
  readonly account?: string;
  readonly region?: string;
  /** Default: now, as EventBridge writes it (to the second). */
  readonly time?: string;
}

type Event = Record<string, unknown>;

function envelope(detailType: string, source: string, resources: string[], detail: Event, options: EventOptions): Event {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': detailType,
    source,
    account: options.account ?? ACCOUNT,
    time: options.time ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: options.region ?? REGION,
    resources,
    detail,
  };
}

export function stateChange(instanceId: string, state: string, options: EventOptions = {}): Event {
  const arn = `arn:aws:ec2:${options.region ?? REGION}:${options.account ?? ACCOUNT}:instance/${instanceId}`;
  return envelope('EC2 Instance State-change Notification', 'aws.ec2', [arn], { 'instance-id': instanceId, state }, options);
}

export function tagChange(resourceType: string, id: string, tags: Record<string, string>, options: EventOptions = {}): Event {
  const arn = `arn:aws:ec2:${options.region ?? REGION}:${options.account ?? ACCOUNT}:${resourceType}/${id}`;
  return envelope(
    'Tag Change on Resource',
    'aws.tag',
    [arn],
    { 'changed-tag-keys': Object.keys(tags), service: 'ec2', 'resource-type': resourceType, version: 2, tags },
    options,
  );
}

export interface CallSpec extends EventOptions {
  readonly requestParameters?: unknown;
  readonly responseElements?: unknown;
  readonly errorCode?: string;
}

/** An `AWS API Call via CloudTrail` event with CloudTrail's own envelope around the call's parameters. */
export function apiCall(eventName: string, spec: CallSpec = {}): Event {
  const account = spec.account ?? ACCOUNT;
  const region = spec.region ?? REGION;
  const event = envelope(
    'AWS API Call via CloudTrail',
    'aws.ec2',
    [],
    {
      eventVersion: '1.10',
      userIdentity: {
        type: 'AssumedRole',
        principalId: 'AROA3EXAMPLEROLEID:ops',
        arn: `arn:aws:sts::${account}:assumed-role/Ops/ops`,
        accountId: account,
        // ARNs outside requestParameters and responseElements are not about the asset.
        sessionContext: {
          sessionIssuer: { type: 'Role', arn: `arn:aws:iam::${account}:role/Ops`, accountId: account, userName: 'Ops' },
        },
      },
      eventSource: 'ec2.amazonaws.com',
      eventName,
      awsRegion: region,
      sourceIPAddress: '203.0.113.17',
      userAgent: 'aws-cli/2.22.4',
      ...(spec.errorCode === undefined ? {} : { errorCode: spec.errorCode, errorMessage: 'refused' }),
      requestParameters: spec.requestParameters ?? null,
      responseElements: spec.responseElements ?? null,
      requestID: randomUUID(),
      eventID: randomUUID(),
      readOnly: false,
      eventType: 'AwsApiCall',
      managementEvent: true,
      recipientAccountId: account,
      eventCategory: 'Management',
    },
    spec,
  );
  (event.detail as Event).eventTime = event.time;
  return event;
}

let sequence = 0;

/** A record of the standard describe queue (no message group, no sequence number). */
export function describeRecord(event: Event | string): SQSRecord {
  sequence += 1;
  return {
    messageId: `describe-${sequence}`,
    receiptHandle: `receipt-${sequence}`,
    body: typeof event === 'string' ? event : JSON.stringify(event),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(Date.now()),
      SenderId: 'AIDAEVENTBRIDGE',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: 'not-checked',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT}:management-events-${REGION}-describe`,
    awsRegion: REGION,
  };
}

export function describeEvent(events: readonly (Event | string)[]): SQSEvent {
  return { Records: events.map(describeRecord) };
}

/** An ISO time `seconds` before now, as EventBridge writes it. */
export function secondsAgo(seconds: number): string {
  return new Date(Date.now() - seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
