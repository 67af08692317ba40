import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { describeError } from '../lambda/errors.ts';
import type { Logger } from '../lambda/log.ts';
import { decodeFromEmulator } from './emulator-body.ts';
import { lambdaContext } from './lambda-context.ts';
import { queueArnFromUrl, toLambdaRecord } from './sqs-records.ts';

export type BatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface PollerOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly region: string;
  readonly handler: BatchHandler;
  readonly logger: Logger;
  /** Long polling, as Lambda's event source does (20 s against SQS). */
  readonly waitTimeSeconds?: number;
  /** Receive loops running at once; each invokes the handler with its own batch. */
  readonly concurrency?: number;
  /** The ARN the handler sees as the invoked function (its account is the channel fallback); none in poll mode. */
  readonly functionArn?: string;
  /**
   * `stop()` lets a pending long poll end by itself (at most `waitTimeSeconds`) and handles what it brings, instead
   * of aborting it: SQS may hand messages to a receive whose connection was dropped, and they would then stay
   * invisible for the visibility timeout. The poller as a service does this; the local pipeline aborts (1 s polls).
   */
  readonly finishLongPollOnStop?: boolean;
  /**
   * Lambda's batching window (standard queues): receives until `size` records or `windowMs` after the first one,
   * then invokes once. Without it, one receive (at most 10) is one invocation, as for a FIFO queue.
   */
  readonly batching?: { readonly windowMs: number; readonly size: number };
  /** The local queue only: bodies the emulator could not carry were encoded by `encodeForEmulator`. */
  readonly decodeEmulatorBodies?: boolean;
}

export interface Poller {
  /** Lets the batches in flight finish (handler, deletes), then resolves. */
  stop(): Promise<void>;
  readonly stopped: Promise<void>;
}

/**
 * Plays Lambda's SQS event source over any SQS endpoint: batches of up to 10, the handler's partial batch response,
 * successes deleted in one DeleteMessageBatch, failures left to their visibility timeout so SQS redelivers them and,
 * after maxReceiveCount, moves them to the dead-letter queue.
 */
export function startPoller(options: PollerOptions): Poller {
  const { sqs, queueUrl, handler, logger } = options;
  const { arn: queueArn, region } = queueArnFromUrl(queueUrl, options.region);
  const abort = new AbortController();
  let running = true;

  const receive = async (waitTimeSeconds: number, max = 10) =>
    (
      await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: max,
          WaitTimeSeconds: waitTimeSeconds,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
        { abortSignal: abort.signal },
      )
    ).Messages ?? [];

  const pollOnce = async (loop: number): Promise<void> => {
    const messages = await receive(options.waitTimeSeconds ?? 20, Math.min(10, options.batching?.size ?? 10));
    if (messages.length === 0) return;
    if (options.batching !== undefined) {
      const { windowMs, size } = options.batching;
      const until = Date.now() + windowMs;
      while (messages.length < size && Date.now() < until && running) {
        const more = await receive(0, Math.min(10, size - messages.length));
        if (more.length === 0) await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.min(50, until - Date.now()))));
        messages.push(...more);
      }
    }
    const decode = options.decodeEmulatorBodies === true ? decodeFromEmulator : (message: (typeof messages)[number]) => message;
    const records = messages.map((message) => toLambdaRecord(decode(message), queueArn, region));
    const response = await handler(
      { Records: records },
      lambdaContext(options.functionArn ?? '', `poller-${loop}-${Date.now()}`),
    );
    const failed = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
    const done = records.filter((record) => !failed.has(record.messageId));
    if (done.length === 0) return;
    // Not aborted on stop: a batch that was published must be deleted, or it is published again. SQS deletes at
    // most 10 per call (a batching window gathers more).
    for (let start = 0; start < done.length; start += 10) {
      const deleted = await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done
            .slice(start, start + 10)
            .map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
        }),
      );
      for (const failure of deleted.Failed ?? []) {
        logger.warn('delete failed: the message will be delivered again', { code: failure.Code, reason: failure.Message });
      }
    }
  };

  const loop = async (index: number) => {
    let backoffMs = 100;
    while (running) {
      try {
        await pollOnce(index);
        backoffMs = 100;
      } catch (error) {
        if (!running) break;
        logger.error('poll failed', { error: describeError(error) });
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
        backoffMs = Math.min(backoffMs * 2, 5000);
      }
    }
  };

  const stopped = Promise.all(Array.from({ length: options.concurrency ?? 1 }, (_, index) => loop(index))).then(() => undefined);
  return {
    stopped,
    async stop() {
      running = false;
      // Ends the long polls; a batch already received runs to the end of its deletes.
      if (options.finishLongPollOnStop !== true) abort.abort();
      await stopped;
    },
  };
}
