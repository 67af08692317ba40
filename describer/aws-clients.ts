import { EventBridgeClient, type EventBridgeClientConfig } from '@aws-sdk/client-eventbridge';

/** Adaptive retries, as the EC2 and SQS clients of reconcile/aws-clients.ts: a throttled PutEvents slows the sender. */
export function createEventBridgeClient(region: string, overrides: EventBridgeClientConfig = {}): EventBridgeClient {
  return new EventBridgeClient({ region, retryMode: 'adaptive', maxAttempts: 5, ...overrides });
}
