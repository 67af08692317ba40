import type { EC2Client } from '@aws-sdk/client-ec2';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createJsonLogger, type Logger } from '../lambda/log.ts';
import { createEc2Client, createSqsClient } from '../reconcile/aws-clients.ts';
import { createEventBridgeClient } from './aws-clients.ts';
import { countingCalls } from './call-counter.ts';
import { readDescriberConfig } from './config.ts';
import { describeBatch } from './describe-batch.ts';
import { reportDescribe } from './report.ts';
import { busSender, queueSender } from './send-states.ts';

export interface DescriberHandlerOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly logger?: Logger;
  /** Clients for tests; by default created once per container (EC2: one per region the events name). */
  readonly ec2For?: (region: string) => EC2Client;
  readonly sqs?: SQSClient;
  readonly eventBridge?: EventBridgeClient;
  readonly now?: () => Date;
  readonly newId?: () => string;
}

export type DescriberHandler = (
  event: SQSEvent,
  context: Pick<Context, 'invokedFunctionArn' | 'functionName'>,
) => Promise<SQSBatchResponse>;

/**
 * The describe queue's consumer (a standard queue, read with a batching window): configuration and clients once per
 * container, a partial batch response per invocation (ReportBatchItemFailures).
 */
export function createDescriberHandler(options: DescriberHandlerOptions = {}): DescriberHandler {
  const logger = options.logger ?? createJsonLogger();
  const config = readDescriberConfig(options.env ?? process.env);
  const clients = new Map<string, EC2Client>();
  const ec2For = (region: string) => {
    let client = clients.get(region);
    if (client === undefined) {
      client = countingCalls(options.ec2For?.(region) ?? createEc2Client(region));
      clients.set(region, client);
    }
    return client;
  };
  const { target } = config;
  const sender =
    target.kind === 'queue'
      ? queueSender(options.sqs ?? createSqsClient(target.region), target.queueUrl)
      : busSender(options.eventBridge ?? createEventBridgeClient(target.region), target.busArn);
  return async (event, context) => {
    const startedAt = Date.now();
    // arn:aws:lambda:region:account:function:name: the account without a call to STS.
    const account = context.invokedFunctionArn.split(':')[4] ?? '';
    if (!/^\d{12}$/.test(account)) throw new Error('the invoked function ARN names no 12-digit account');
    const { failedMessageIds, summary } = await describeBatch(event.Records, {
      account,
      ec2For,
      sender,
      functionArn: context.invokedFunctionArn,
      notFoundGraceMs: config.notFoundGraceMs,
      logger,
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.newId === undefined ? {} : { newId: options.newId }),
    });
    reportDescribe(
      summary,
      { namespace: config.metricsNamespace, functionName: context.functionName },
      Date.now() - startedAt,
      logger,
    );
    return { batchItemFailures: failedMessageIds.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

let handlerForContainer: DescriberHandler | undefined;

/**
 * Lambda's entry. A configuration error is one log line per invocation and every record failed (kept by SQS until
 * the configuration is fixed), not a stack trace.
 */
export const handler: DescriberHandler = async (event, context) => {
  try {
    handlerForContainer ??= createDescriberHandler();
  } catch (error) {
    createJsonLogger().error('describer not configured; every record is retried', { error });
    return { batchItemFailures: event.Records.map((record) => ({ itemIdentifier: record.messageId })) };
  }
  return handlerForContainer(event, context);
};
