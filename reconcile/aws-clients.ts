import { EC2Client, type EC2ClientConfig } from '@aws-sdk/client-ec2';
import { SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';

/*
 * Adaptive retries: on throttling (RequestLimitExceeded) the client also slows its own request rate, instead of only
 * backing off the one call; a large account's listing then finishes rather than failing on its tenth throttled page.
 */
export function createEc2Client(region: string, overrides: EC2ClientConfig = {}): EC2Client {
  return new EC2Client({ region, retryMode: 'adaptive', maxAttempts: 10, ...overrides });
}

export function createSqsClient(region: string, overrides: SQSClientConfig = {}): SQSClient {
  return new SQSClient({ region, retryMode: 'adaptive', maxAttempts: 5, ...overrides });
}
