import type { EC2Client } from '@aws-sdk/client-ec2';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { createEventBridgeClient } from '../describer/aws-clients.ts';
import { messageGroupsOf } from '../infra/account-rules.ts';
import { createJsonLogger, type Logger } from '../lambda/log.ts';
import { createEc2Client, createSqsClient } from './aws-clients.ts';
import { readReconcileConfig } from './config.ts';
import { type ReconcileSummary, reconcile } from './run-reconcile.ts';
import { busSnapshotSender, queueSnapshotSender } from './send-snapshot.ts';

export interface ReconcileHandlerOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly logger?: Logger;
  /** Clients for tests; by default created once per container for the function's region. */
  readonly ec2?: EC2Client;
  readonly sqs?: SQSClient;
  readonly eventBridge?: EventBridgeClient;
}

export type ReconcileHandler = (event: unknown, context: Pick<Context, 'invokedFunctionArn'>) => Promise<ReconcileSummary>;

/** The scheduled entry point: configuration and clients once per container, the work in `reconcile`. */
export function createReconcileHandler(options: ReconcileHandlerOptions = {}): ReconcileHandler {
  const logger = options.logger ?? createJsonLogger();
  const config = readReconcileConfig(options.env ?? process.env);
  const ec2 = options.ec2 ?? createEc2Client(config.region);
  const { target } = config;
  const send =
    target.kind === 'queue'
      ? queueSnapshotSender(options.sqs ?? createSqsClient(config.region), target.queueUrl)
      : busSnapshotSender(options.eventBridge ?? createEventBridgeClient(target.region), target.busArn);
  return async (_event, context) => {
    // arn:aws:lambda:region:account:function:name: the account without a call to STS.
    const account = context.invokedFunctionArn.split(':')[4] ?? '';
    if (!/^\d{12}$/.test(account)) throw new Error('the invoked function ARN names no 12-digit account');
    return reconcile({
      ec2,
      send,
      ...(config.inventory ? { inventory: true as const } : { groups: messageGroupsOf(config.rules, account) }),
      account,
      region: config.region,
      resources: [context.invokedFunctionArn],
      logger,
    });
  };
}

let handlerForContainer: ReconcileHandler | undefined;

export const handler: ReconcileHandler = (event, context) => {
  handlerForContainer ??= createReconcileHandler();
  return handlerForContainer(event, context);
};
