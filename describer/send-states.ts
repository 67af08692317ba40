/*
 * Where Asset State events go: the region's FIFO queue (message group INVENTORY_MESSAGE_GROUP, deduplicated by the
 * event id), or, in a member account of an organization, the central account's default bus (PutEvents), whose rule
 * brings them to its own queue.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { INVENTORY_MESSAGE_GROUP, STATE_DETAIL_TYPE, STATE_SOURCE } from '../lambda/inventory-events.ts';
import { sendMessages } from '../reconcile/send-messages.ts';
import { putEvents } from './put-events.ts';
import { type StateEvent, stateEventBody } from './state-events.ts';

export interface StateSender {
  /** Sends every event or throws: on a throw, some may have gone (a retry sends them again, harmlessly). */
  send(events: readonly StateEvent[]): Promise<void>;
}

export function queueSender(sqs: SQSClient, queueUrl: string): StateSender {
  return {
    async send(events) {
      await sendMessages(
        sqs,
        queueUrl,
        events.map((event) => ({ id: event.id, groupId: INVENTORY_MESSAGE_GROUP, body: stateEventBody(event) })),
      );
    },
  };
}

export function busSender(eventBridge: EventBridgeClient, busArn: string): StateSender {
  return {
    async send(events) {
      await putEvents(
        eventBridge,
        events.map((event) => ({
          Source: STATE_SOURCE,
          DetailType: STATE_DETAIL_TYPE,
          Detail: JSON.stringify(event.detail),
          Resources: [...event.resources],
          Time: new Date(event.time),
          EventBusName: busArn,
        })),
      );
    },
  };
}
