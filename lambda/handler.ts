import middy from '@middy/core';
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DEFAULT_METRICS_NAMESPACE, RESPONSE_MARGIN_MS } from './config.ts';
import { type ContainerOptions, createContainer } from './container.ts';
import { PacedError } from './errors.ts';
import { createJsonLogger } from './log.ts';
import { publishBatch, type RecordOutcome } from './publish-batch.ts';
import type { QueueActions } from './queue-actions.ts';
import { messageGroupOf } from './records.ts';
import { streamKey } from './redis-script.ts';
import { reportBatch } from './report.ts';
import { FIRST_RETRY_DELAY_SECONDS, retryDelaySeconds } from './retry-delay.ts';

export type SettledRecord = PromiseSettledResult<string>;
export type SyncHandler = ((event: SQSEvent, context: Context) => Promise<SQSBatchResponse>) & { close(): Promise<void> };

/** Builds the function with its own container state; the module's `handler` is the one Lambda runs. */
export function createHandler(options: Partial<ContainerOptions> = {}): SyncHandler {
  const logger = options.logger ?? createJsonLogger();
  const container = createContainer({ ...options, env: options.env ?? process.env, logger });

  const processBatch = async (event: SQSEvent, context: Context): Promise<SettledRecord[]> => {
    const startedAt = Date.now();
    const deadline = startedAt + context.getRemainingTimeInMillis() - RESPONSE_MARGIN_MS;
    const records = event.Records ?? [];
    // A batch comes from one queue: the event source's.
    const queue = records[0] === undefined ? undefined : container.queueActions(records[0]);
    let outcomes: readonly RecordOutcome[];
    let metrics = { metricsNamespace: DEFAULT_METRICS_NAMESPACE, functionName: context.functionName ?? 'unknown' };
    try {
      const config = container.config();
      metrics = config;
      const retentionMs = (config.streamRetentionHours ?? 0) * 3_600_000;
      outcomes = await publishBatch(records, await container.publisher(deadline), {
        topicPrefix: config.topicPrefix,
        requireSubscriber: config.requireSubscriber,
        ...(config.inventory === undefined ? {} : { inventory: config.inventory }),
        deadline,
        ...(retentionMs === 0 ? {} : { streamOf: streamKey, streamMinId: String(startedAt - retentionMs) }),
        fallbackAccount: () =>
          container.fallbackAccount(context.invokedFunctionArn, {
            region: records[0]?.awsRegion,
            budgetMs: deadline - Date.now(),
          }),
        onInvalidAccount: (item, value) =>
          logger.warn('the event names an account that is not a 12-digit string: using the fallback account', {
            messageId: item.record.messageId,
            group: item.group,
            eventAccount: JSON.stringify(value).slice(0, 40),
          }),
        ...(queue === undefined
          ? {}
          : {
              park: {
                deadLetterQueue: queue.deadLetterQueue,
                move: (requests) => queue.park(requests, deadline - Date.now()),
              },
            }),
      });
    } catch (error) {
      // Configuration or secret: nothing can be published, so every record fails and SQS keeps it.
      const reason = error instanceof Error ? error : new Error(String(error));
      outcomes = records.map((record) => ({ record, group: messageGroupOf(record), error: reason }));
    }
    if (queue !== undefined) await delayRetries(outcomes, queue, deadline);
    reportBatch(outcomes, startedAt, metrics, logger);
    return outcomes.map(
      (outcome): SettledRecord =>
        outcome.error === undefined || outcome.parkedIn !== undefined
          ? { status: 'fulfilled', value: outcome.record.messageId }
          : { status: 'rejected', reason: outcome.error },
    );
  };

  /**
   * Failed records come back after a delay that grows with their receive count, the same for a whole group (SQS
   * hands out none of a group while any of it is in flight): an outage of hours dead-letters nothing.
   */
  const delayRetries = async (outcomes: readonly RecordOutcome[], queue: QueueActions, deadline: number) => {
    const failed = outcomes.filter((item) => item.error !== undefined && item.parkedIn === undefined);
    const delays = new Map<string, number>();
    for (const { group, record, error } of failed) {
      // A paced record comes back when the feed has budget again; any other after its receive count's delay.
      const seconds =
        error instanceof PacedError
          ? error.retryAfterSeconds
          : retryDelaySeconds(Number(record.attributes?.ApproximateReceiveCount) || 1);
      delays.set(group, Math.max(delays.get(group) ?? 0, seconds));
    }
    const requests = failed.map((item) => ({
      record: item.record,
      seconds: delays.get(item.group) ?? FIRST_RETRY_DELAY_SECONDS,
    }));
    try {
      await queue.delay(requests, deadline - Date.now());
    } catch (error) {
      logger.warn('could not delay the retry of failed records: they come back after the visibility timeout', { error });
    }
  };

  // No early-timeout timer: every wait above ends before the deadline, so the function answers for itself.
  const wrapped = middy<SQSEvent, SettledRecord[]>(processBatch, { timeoutEarlyInMillis: 0 }).use(
    // Failed records are already logged, one line each, without the raw error (which may carry a password).
    sqsPartialBatchFailure({ logger: () => undefined }),
  );
  // The middleware turns the settled results into the `{ batchItemFailures }` that Lambda reads.
  return Object.assign(wrapped as unknown as SyncHandler, { close: container.close });
}

export const handler = createHandler();
