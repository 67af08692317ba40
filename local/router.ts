import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { explainUnmatched, matchRule } from '../infra/rules.ts';
import { encodeForEmulator } from './emulator-body.ts';

export interface RoutedEvent {
  /** The event's `id` (what consumers dedupe by). */
  readonly id: string;
  readonly rule: string;
  readonly group: string;
  readonly body: string;
}

export interface Routing {
  readonly routed: RoutedEvent[];
  /** Events no rule matches: EventBridge would not deliver them either. */
  readonly unmatched: {
    readonly id: string;
    readonly source: unknown;
    readonly detailType: unknown;
    /** Which rule came closest and the field it fails (`detail.errorCode` for a failed API call). */
    readonly reason: string;
  }[];
}

/** Plays EventBridge: each event goes to the message group of the rule it matches, with the deployed rule table. */
export function routeEvents(events: readonly Record<string, unknown>[]): Routing {
  const routed: RoutedEvent[] = [];
  const unmatched: Routing['unmatched'][number][] = [];
  for (const event of events) {
    const id = typeof event.id === 'string' ? event.id : JSON.stringify(event).slice(0, 60);
    const rule = matchRule(event);
    if (rule === undefined) {
      unmatched.push({ id, source: event.source, detailType: event['detail-type'], reason: explainUnmatched(event) });
    } else {
      routed.push({ id, rule: rule.name, group: rule.messageGroupId, body: JSON.stringify(event) });
    }
  }
  return { routed, unmatched };
}

export interface NotSent {
  readonly event: RoutedEvent;
  readonly reason: string;
}

/**
 * Sends to the local queue in order, ten at a time (SQS keeps the order of a batch within a message group), each
 * body as the emulator can carry it. Returns the events the queue refused, with why: reported, never dropped quietly.
 */
export async function sendToQueue(sqs: SQSClient, queueUrl: string, events: readonly RoutedEvent[]): Promise<NotSent[]> {
  const notSent: NotSent[] = [];
  for (let start = 0; start < events.length; start += 10) {
    const chunk = events.slice(start, start + 10);
    const result = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((event, index) => ({
          Id: String(index),
          MessageGroupId: event.group,
          ...encodeForEmulator(event.body),
        })),
      }),
    );
    for (const failure of result.Failed ?? []) {
      const event = chunk[Number(failure.Id)];
      if (event !== undefined) notSent.push({ event, reason: `${failure.Code}: ${failure.Message}` });
    }
  }
  return notSent;
}
