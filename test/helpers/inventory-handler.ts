/*
 * A sync function with the inventory on, over a Redis emptied for the test, and what the inventory tests read back:
 * the change feed, the records, the logs.
 */
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createHandler, type SyncHandler } from '../../lambda/handler.ts';
import { CHANGES, INVENTORY } from './inventory-records.ts';
import { captureLogs } from './log-capture.ts';
import { lambdaContext, sqsEvent } from './records.ts';
import { subscribe } from './subscriber.ts';

/** A record of the inventory hash, as docs/inventory.md lays it out. */
export interface InventoryRecord {
  type: string;
  id: string;
  account: string;
  region: string;
  observedAt: string;
  deleted: boolean;
  reason?: string;
  source: string;
  item: unknown;
}

export interface InventoryHandlerOptions {
  readonly redisUrl: string;
  /** Where the function connects, when something stands between it and `redisUrl` (a front, a proxy). */
  readonly functionUrl?: string;
  readonly env?: Record<string, string>;
  /** What the subscriber listens to. */
  readonly channels?: readonly string[];
  /** The test's cleanup (closeAfterEach). */
  readonly track: <T extends { close(): Promise<void> | void }>(item: T) => T;
}

export async function startInventoryHandler({
  redisUrl,
  functionUrl,
  env = {},
  channels = [CHANGES],
  track,
}: InventoryHandlerOptions) {
  const admin = new Redis(redisUrl);
  track({ close: () => admin.disconnect() });
  await admin.flushall();
  const feed = track(await subscribe(redisUrl, ...channels));
  const logs = captureLogs();
  const handler: SyncHandler = track(
    createHandler({ env: { REDIS_URL: functionUrl ?? redisUrl, INVENTORY: 'true', ...env }, logger: logs.logger }),
  );
  /** Applies the records, asserting that none failed. */
  const apply = async (...records: Parameters<typeof sqsEvent>[0]) => {
    const response = await handler(sqsEvent(records), lambdaContext());
    assert.deepEqual(
      response.batchItemFailures.map((failure) => failure.itemIdentifier),
      [],
      'every inventory message applied',
    );
  };
  const record = async (field: string): Promise<InventoryRecord | undefined> => {
    const value = await admin.hget(INVENTORY, field);
    return value === null ? undefined : JSON.parse(value);
  };
  return { admin, feed, logs, handler, apply, record };
}
