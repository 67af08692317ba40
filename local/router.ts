import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { explainUnmatched, matchRule } from '../infra/rules.ts';
import { type EmulatorMessage, encodeForEmulator } from './emulator-body.ts';

export interface RoutedEvent {
  /** The event's `id` (what consumers dedupe by). */
  readonly id: string;
  readonly rule: string;
  readonly group: string;
  readonly body: string;
}

export interface Unmatched {
  readonly id: string;
  readonly source: unknown;
  readonly detailType: unknown;
  /** Which rule came closest and the field it fails (`detail.errorCode` for a failed API call). */
  readonly reason: string;
}

export interface Routing {
  readonly routed: RoutedEvent[];
  /** Events no rule matches: EventBridge would not deliver them either. */
  readonly unmatched: Unmatched[];
}

/**
 * Plays EventBridge for one event: the message group of the rule it matches, with the deployed rule table. The body
 * is the event's text as given: EventBridge delivers what it received, and a parse-and-serialize would change it.
 */
export function routeEvent(event: Record<string, unknown>, body: string): RoutedEvent | Unmatched {
  const id = typeof event.id === 'string' ? event.id : body.slice(0, 60);
  const rule = matchRule(event);
  if (rule === undefined) {
    return { id, source: event.source, detailType: event['detail-type'], reason: explainUnmatched(event) };
  }
  return { id, rule: rule.name, group: rule.messageGroupId, body };
}

/** `routeEvent` over events given as objects (their JSON text as the body). */
export function routeEvents(events: readonly Record<string, unknown>[]): Routing {
  const routed: RoutedEvent[] = [];
  const unmatched: Unmatched[] = [];
  for (const event of events) {
    const result = routeEvent(event, JSON.stringify(event));
    if ('rule' in result) routed.push(result);
    else unmatched.push(result);
  }
  return { routed, unmatched };
}

export interface NotSent {
  readonly event: RoutedEvent;
  readonly reason: string;
}

/** SQS's limit for one message, and for the messages of one SendMessageBatch together (1 MiB since 2025). */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;

/**
 * Sends to the local queue in order, up to ten at a time and at most `maxBatchBytes` together (SQS refuses a larger
 * batch whole with BatchRequestTooLong), each body as the emulator can carry it. SQS keeps the order of a batch within
 * a message group. Returns the events the queue refused, with why: reported, never dropped quietly.
 */
export async function sendToQueue(
  sqs: SQSClient,
  queueUrl: string,
  events: readonly RoutedEvent[],
  maxBatchBytes = SQS_MAX_MESSAGE_BYTES,
): Promise<NotSent[]> {
  const notSent: NotSent[] = [];
  for (const chunk of batches(events, maxBatchBytes)) {
    const result = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map(({ message, event }, index) => ({ Id: String(index), MessageGroupId: event.group, ...message })),
      }),
    );
    for (const failure of result.Failed ?? []) {
      const event = chunk[Number(failure.Id)]?.event;
      if (event !== undefined) notSent.push({ event, reason: `${failure.Code}: ${failure.Message}` });
    }
  }
  return notSent;
}

function* batches(events: readonly RoutedEvent[], maxBatchBytes: number) {
  let batch: { event: RoutedEvent; message: EmulatorMessage }[] = [];
  let bytes = 0;
  for (const event of events) {
    const message = encodeForEmulator(event.body);
    const size = messageBytes(message);
    if (batch.length === 10 || (batch.length > 0 && bytes + size > maxBatchBytes)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push({ event, message });
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}

/** What SQS counts against its limits: the body and every attribute's name, type and value, in UTF-8 bytes. */
function messageBytes({ MessageBody, MessageAttributes = {} }: EmulatorMessage): number {
  let bytes = Buffer.byteLength(MessageBody);
  for (const [name, value] of Object.entries(MessageAttributes)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '');
  }
  return bytes;
}
