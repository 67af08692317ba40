import middy from '@middy/core';
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DEFAULT_METRICS_NAMESPACE } from './config.ts';
import { type ContainerOptions, createContainer } from './container.ts';
import { createJsonLogger } from './log.ts';
import { type RecordOutcome, sendBatch } from './publish-batch.ts';
import { messageGroupOf } from './records.ts';
import { type BatchDescription, describeBatch, reportBatch } from './report.ts';

export type SettledRecord = PromiseSettledResult<string>;
export type SyncHandler = ((event: SQSEvent, context: Context) => Promise<SQSBatchResponse>) & { close(): Promise<void> };

/** Builds the function with its own container state; the module's `handler` is the one Lambda runs. */
export function createHandler(options: Partial<ContainerOptions> = {}): SyncHandler {
  const logger = options.logger ?? createJsonLogger();
  const container = createContainer({ ...options, env: options.env ?? process.env, logger });

  const processBatch = async (event: SQSEvent, context: Context): Promise<SettledRecord[]> => {
    const startedAt = Date.now();
    const records = event.Records ?? [];
    let outcomes: readonly RecordOutcome[];
    let description: BatchDescription | undefined;
    let metrics = { metricsNamespace: DEFAULT_METRICS_NAMESPACE, functionName: context.functionName ?? 'unknown' };
    try {
      const config = container.config();
      metrics = config;
      // Awaited only when there is something to wait for: each await is a turn between batch and Redis.
      const publisher = container.createdPublisher() ?? (await container.publisher());
      const batch = sendBatch(records, publisher, {
        topicPrefix: config.topicPrefix,
        requireSubscriber: config.requireSubscriber,
        fallbackAccount: () => container.fallbackAccount(context.invokedFunctionArn),
      });
      if (batch.addressed !== undefined) await batch.addressed;
      // Serialized while Redis answers: the batch's log lines cost next to nothing once the outcome is known.
      description = describeBatch(batch.outcomes);
      await batch.settled;
      outcomes = batch.outcomes;
    } catch (error) {
      // Configuration or secret: nothing can be published, so every record fails and SQS keeps it.
      const reason = error instanceof Error ? error : new Error(String(error));
      outcomes = records.map((record) => ({ record, group: messageGroupOf(record), error: reason }));
    }
    reportBatch(outcomes, description ?? describeBatch(outcomes), startedAt, metrics, logger);
    return outcomes.map(
      (outcome): SettledRecord =>
        outcome.error === undefined
          ? { status: 'fulfilled', value: outcome.record.messageId }
          : { status: 'rejected', reason: outcome.error },
    );
  };

  // No early-timeout timer: Redis time is bounded by the client's own timeouts, far inside the function timeout.
  const wrapped = middy<SQSEvent, SettledRecord[]>(processBatch, { timeoutEarlyInMillis: 0 }).use(
    // Failed records are already logged, one line each, without the raw error (which may carry a password).
    sqsPartialBatchFailure({ logger: () => undefined }),
  );
  // The middleware turns the settled results into the `{ batchItemFailures }` that Lambda reads.
  return Object.assign(wrapped as unknown as SyncHandler, { close: container.close });
}

export const handler = createHandler();
