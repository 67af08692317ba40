/*
 * Where a snapshot's parts go: the region's FIFO queue, or, from a member account of an organization, the central
 * account's default bus (PutEvents), whose inventory rule brings them to its queue. Parts are cut for the smaller of
 * the two limits (snapshot-events.ts), so one cut serves both.
 */
import type { EventBridgeClient, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { entrySize, PUT_EVENTS_MAX_BYTES, putEvents } from '../describer/put-events.ts';
import { batchesBy, sendMessages } from './send-messages.ts';
import type { SnapshotMessage } from './snapshot-events.ts';

/** Sends the messages in order and returns how many were sent; throws when some could not be (some may have gone). */
export type SnapshotSender = (messages: Iterable<SnapshotMessage>) => Promise<number>;

export function queueSnapshotSender(sqs: SQSClient, queueUrl: string): SnapshotSender {
  return (messages) => sendMessages(sqs, queueUrl, messages);
}

/**
 * PutEvents onto `busArn`, a request at a time as the parts are built. EventBridge writes the envelope again (its own
 * `id`, the sender's `account`): an entry carries the part's source, detail-type, time, resources and detail.
 */
export function busSnapshotSender(eventBridge: EventBridgeClient, busArn: string): SnapshotSender {
  return async (messages) => {
    let sent = 0;
    for (const request of batchesBy(entries(messages, busArn), PUT_EVENTS_MAX_BYTES, entrySize)) {
      await putEvents(eventBridge, request);
      sent += request.length;
    }
    return sent;
  };
}

function* entries(messages: Iterable<SnapshotMessage>, busArn: string): Generator<PutEventsRequestEntry> {
  for (const message of messages) {
    const event = JSON.parse(message.body) as {
      source: string;
      'detail-type': string;
      time: string;
      resources: string[];
      detail: unknown;
    };
    yield {
      Source: event.source,
      DetailType: event['detail-type'],
      Detail: JSON.stringify(event.detail),
      Resources: event.resources,
      Time: new Date(event.time),
      EventBusName: busArn,
    };
  }
}
