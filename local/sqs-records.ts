import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';
import type { SQSMessageAttributes, SQSRecord } from 'aws-lambda';

/** `https://sqs.us-east-1.amazonaws.com/123456789012/name.fifo` -> its ARN and region (also fauxqs' URLs). */
export function queueArnFromUrl(queueUrl: string, fallbackRegion: string): { arn: string; region: string } {
  const url = new URL(queueUrl);
  const [account = '000000000000', name = ''] = url.pathname.split('/').filter((part) => part !== '');
  const region = regionOfQueueUrl(queueUrl) ?? fallbackRegion;
  return { arn: `arn:aws:sqs:${region}:${account}:${name}`, region };
}

/** The region a queue URL names: `sqs.<region>.amazonaws.com` (and fauxqs' `sqs.<region>.<host>`) or the legacy `<region>.queue.amazonaws.com`. */
export function regionOfQueueUrl(queueUrl: string): string | undefined {
  const { hostname } = new URL(queueUrl);
  return /(?:^|\.)sqs\.([a-z0-9-]+)\./.exec(hostname)?.[1] ?? /^([a-z]{2}(?:-[a-z]+)+-\d+)\.queue\./.exec(hostname)?.[1];
}

/** An SQS message as Lambda's SQS event source hands it to the function. */
export function toLambdaRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(attributes.SequenceNumber === undefined ? {} : { SequenceNumber: attributes.SequenceNumber }),
      ...(attributes.MessageGroupId === undefined ? {} : { MessageGroupId: attributes.MessageGroupId }),
      ...(attributes.MessageDeduplicationId === undefined ? {} : { MessageDeduplicationId: attributes.MessageDeduplicationId }),
    },
    messageAttributes: toLambdaAttributes(message.MessageAttributes),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

function toLambdaAttributes(attributes: Record<string, MessageAttributeValue> | undefined): SQSMessageAttributes {
  const result: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(attributes ?? {})) {
    result[name] = {
      stringValue: value.StringValue,
      binaryValue: value.BinaryValue === undefined ? undefined : Buffer.from(value.BinaryValue).toString('base64'),
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map((item) => Buffer.from(item).toString('base64')),
      dataType: value.DataType as SQSMessageAttributes[string]['dataType'],
    };
  }
  return result;
}
