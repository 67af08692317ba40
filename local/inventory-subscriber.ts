import { describeError } from '../lambda/errors.ts';
import { CliError } from './cli.ts';
import { cloudTrailResourceId } from './cloudtrail-resource.ts';
import { localRedisClient } from './local-redis.ts';
import { redisAddress } from './preflight.ts';

export interface InventoryMessage {
  readonly channel: string;
  readonly body: string;
  readonly event: Record<string, unknown> | undefined;
}

export interface InventorySubscriber {
  close(): Promise<void>;
}

/** The event in a message body, or undefined when the body is not JSON. */
export function parseEvent(body: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(body) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * Subscribes to every account's channel (`prefix*`), as an inventory would, and hands each message on. After Redis
 * restarts it reconnects and subscribes again within a tenth of a second of Redis being back (ioredis' default waits
 * up to 2 s between tries): what is published before that reaches nobody, and the pipeline counts it as missed.
 */
export async function startInventorySubscriber(
  redisUrl: string,
  topicPrefix: string,
  onMessage: (message: InventoryMessage) => void,
): Promise<InventorySubscriber> {
  const client = localRedisClient(redisUrl, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  client.on('pmessage', (_pattern: string, channel: string, body: string) => {
    onMessage({ channel, body, event: parseEvent(body) });
  });
  const pattern = `${topicPrefix}*`;
  try {
    await client.connect();
    await client.psubscribe(pattern);
  } catch (error) {
    // Its reconnects would keep the process alive after the failed start.
    client.disconnect();
    throw subscribeError(redisUrl, pattern, error);
  }
  return {
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}

/**
 * The function needs no PSUBSCRIBE, so the least ACL user (docs/redis.md) lacks it: npm start, which subscribes with
 * REDIS_URL's user, says what to add rather than hang.
 */
function subscribeError(redisUrl: string, pattern: string, error: unknown): Error {
  if (!/NOPERM/.test(describeError(error).message)) return error as Error;
  const user = decodeURIComponent(new URL(redisUrl).username) || 'default';
  return new CliError(
    `Redis at ${redisAddress(redisUrl)}: user ${user} may not PSUBSCRIBE ${pattern}, which npm start's subscriber (what the inventory receives) does with REDIS_URL's user: for local runs, ACL SETUSER ${user} +psubscribe &${pattern} (the deployed function does not need it)`,
    2,
  );
}

/** One line of what the inventory learns: channel, detail-type, resource, new state, changed tag keys or API call. */
export function describeForInventory({ channel, event }: InventoryMessage): string {
  if (event === undefined) return `${channel}  (not JSON)`;
  const detail = (event.detail ?? {}) as Record<string, unknown>;
  const detailType = String(event['detail-type']);
  if (detailType === 'AWS API Call via CloudTrail') {
    return `${channel}  ${detailType}  ${cloudTrailResourceId(detail) ?? '?'}  call=${String(detail.eventName)}`;
  }
  const resources = Array.isArray(event.resources) ? (event.resources as unknown[]) : [];
  const resource = String(detail['instance-id'] ?? resources[0] ?? '?').replace(/^arn:aws[a-z-]*:ec2:[^:]*:\d*:/, '');
  const change =
    event.source === 'aws.ec2'
      ? `state=${String(detail.state)}`
      : `tags changed: ${((detail['changed-tag-keys'] as unknown[] | undefined) ?? []).join(', ')}`;
  return `${channel}  ${detailType}  ${resource}  ${change}`;
}
