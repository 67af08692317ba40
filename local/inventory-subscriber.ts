import { cloudTrailResourceId } from './cloudtrail-resource.ts';
import { localRedisClient } from './local-redis.ts';

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
  try {
    await client.connect();
    await client.psubscribe(`${topicPrefix}*`);
  } catch (error) {
    // Its reconnects would keep the process alive after the failed start.
    client.disconnect();
    throw error;
  }
  return {
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
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
