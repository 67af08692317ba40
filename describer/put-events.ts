/*
 * PutEvents in requests EventBridge takes (at most 10 entries and 256 KiB by its own measure of an entry), sending
 * again the entries it failed (`Entries[i].ErrorCode`, a throttled or internal failure of one entry, while the
 * request itself succeeds).
 */
import { type EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { batchesBy } from '../reconcile/send-messages.ts';

export const PUT_EVENTS_MAX_BYTES = 256 * 1024;
/** Failed entries are sent again this many times in all before the events are reported unsent. */
const ATTEMPTS = 3;

export class PutEventsFailedError extends Error {
  override name = 'PutEventsFailedError';
}

/**
 * An entry's size as EventBridge counts it: 14 bytes for `Time`, then the UTF-8 bytes of `Source`, `DetailType`,
 * `Detail` and each of `Resources` (AWS: "Calculating PutEvents event entry size").
 */
export function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time === undefined ? 0 : 14;
  for (const text of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) {
    if (text !== undefined) size += Buffer.byteLength(text);
  }
  return size;
}

export async function putEvents(client: EventBridgeClient, entries: readonly PutEventsRequestEntry[]): Promise<void> {
  for (const request of batchesBy(entries, PUT_EVENTS_MAX_BYTES, entrySize)) {
    let pending = request;
    for (let attempt = 1; ; attempt += 1) {
      const output = await client.send(new PutEventsCommand({ Entries: pending }));
      if ((output.FailedEntryCount ?? 0) === 0) break;
      // Entries of the answer match those of the request, index for index.
      const failed = pending.filter((_, index) => output.Entries?.[index]?.ErrorCode !== undefined);
      if (attempt === ATTEMPTS) {
        const first = output.Entries?.find((entry) => entry.ErrorCode !== undefined);
        throw new PutEventsFailedError(
          `EventBridge refused ${failed.length} of ${pending.length} events: ${first?.ErrorCode ?? 'unknown'}: ${first?.ErrorMessage ?? ''}`.trim(),
        );
      }
      pending = failed;
    }
  }
}
