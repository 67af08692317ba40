import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { bundleFunction } from '../bench/bundle.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { CHANNEL, lambdaContext, sqsEvent, sqsRecord, stateChange } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';
import { subscribe } from './helpers/subscriber.ts';

describe('the production bundle', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  it('loads as ESM (ioredis is CommonJS inside it) and publishes a batch', { timeout: 60_000 }, async () => {
    // Inside the project, so that the external @aws-sdk/* resolve as the Lambda runtime provides them.
    const dir = mkdtempSync(join(import.meta.dirname, '..', 'node_modules', '.bundle-test-'));
    track({ close: () => rmSync(dir, { recursive: true, force: true }) });
    const file = join(dir, 'index.mjs');
    await bundleFunction(file);
    const saved = process.env.REDIS_URL;
    process.env.REDIS_URL = redis.url;
    track({
      close: () => {
        if (saved === undefined) delete process.env.REDIS_URL;
        else process.env.REDIS_URL = saved;
      },
    });
    const subscriber = track(await subscribe(redis.url, CHANNEL));

    const bundle = (await import(pathToFileURL(file).href)) as {
      handler: ((event: SQSEvent, context: unknown) => Promise<SQSBatchResponse>) & { close(): Promise<void> };
    };
    track({ close: () => bundle.handler.close() });
    const record = sqsRecord({ body: stateChange('i-bundled', 'running') });
    const response = await bundle.handler(sqsEvent([record]), lambdaContext());
    await subscriber.waitFor(1);

    assert.deepEqual(response, { batchItemFailures: [] });
    assert.deepEqual(subscriber.received, [{ channel: CHANNEL, message: record.body }]);
  });
});
