import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, type SQSClient } from '@aws-sdk/client-sqs';
import { type SnapshotMessage, SQS_MAX_MESSAGE_BYTES } from './snapshot-events.ts';

/** SendMessageBatch (and PutEvents) take at most 10 entries a request; SQS's bodies add up to its message size limit. */
const MAX_ENTRIES = 10;
/** Entries SQS failed for its own reasons are sent again this many times before the snapshot is reported failed. */
const ATTEMPTS = 3;

export class SendFailedError extends Error {
  override name = 'SendFailedError';
}

/** Sends the messages in order, in batches that respect SQS's entry and size limits; returns how many were sent. */
export async function sendMessages(
  sqs: SQSClient,
  queueUrl: string,
  messages: Iterable<SnapshotMessage>,
  maxBatchBytes = SQS_MAX_MESSAGE_BYTES,
): Promise<number> {
  let sent = 0;
  for (const batch of batches(messages, maxBatchBytes)) {
    await sendBatch(sqs, queueUrl, batch);
    sent += batch.length;
  }
  return sent;
}

/** Groups the messages as they come: a batch is handed out before the next one is built. */
export function* batches(messages: Iterable<SnapshotMessage>, maxBatchBytes: number): Generator<SnapshotMessage[]> {
  yield* batchesBy(messages, maxBatchBytes, (message) => Buffer.byteLength(message.body));
}

/** The same for any item measured by `sizeOf` (PutEvents takes 10 entries a request too, measured its own way). */
export function* batchesBy<T>(items: Iterable<T>, maxBatchBytes: number, sizeOf: (item: T) => number): Generator<T[]> {
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length === MAX_ENTRIES || (current.length > 0 && bytes + size > maxBatchBytes)) {
      yield current;
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) yield current;
}

async function sendBatch(sqs: SQSClient, queueUrl: string, batch: readonly SnapshotMessage[]): Promise<void> {
  let pending: SendMessageBatchRequestEntry[] = batch.map((message, index) => ({
    Id: String(index),
    MessageBody: message.body,
    MessageGroupId: message.groupId,
    MessageDeduplicationId: message.id,
  }));
  for (let attempt = 1; ; attempt += 1) {
    const output = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }));
    const failed = output.Failed ?? [];
    if (failed.length === 0) return;
    const senderFault = failed.find((entry) => entry.SenderFault);
    if (senderFault !== undefined || attempt === ATTEMPTS) {
      const first = senderFault ?? failed[0];
      throw new SendFailedError(
        `SQS refused ${failed.length} of ${pending.length} snapshot messages: ${first?.Code ?? 'unknown'}: ${first?.Message ?? ''}`.trim(),
      );
    }
    const failedIds = new Set(failed.map((entry) => entry.Id));
    // Same deduplication ids: whatever SQS did take on an earlier try is not queued twice.
    pending = pending.filter((entry) => failedIds.has(entry.Id));
  }
}
