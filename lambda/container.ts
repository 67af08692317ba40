import { createFallbackAccount } from './account.ts';
import { type Environment, loadConfig, type SyncConfig } from './config.ts';
import type { Logger } from './log.ts';
import { type QueueActionsFor, queueActionsFromEnvironment } from './queue-actions.ts';
import { createRedisPublisher, type RedisPublisher } from './redis.ts';
import { readRedisSecret } from './secret.ts';

export interface ContainerOptions {
  readonly env: Environment;
  readonly logger: Logger;
  /**
   * Where poison records are parked and failed ones delayed: the poller gives its own queues; the deployed function
   * finds them from DEAD_LETTER_QUEUE_URL and the record's queue.
   */
  readonly queueActions?: QueueActionsFor;
}

/** After an auth failure the secret is read again, but not more often than this (a wrong secret stays wrong). */
const SECRET_REREAD_INTERVAL_MS = 60_000;

/**
 * What lives as long as the Lambda container: the validated configuration, the Redis client and the account from
 * STS. Nothing of one invocation is kept here, so invocations may run concurrently (the local poller does).
 */
export function createContainer(options: ContainerOptions) {
  const { env, logger } = options;
  let config: { value: SyncConfig } | { error: unknown } | undefined;
  let publisher: Promise<RedisPublisher> | undefined;
  let secretRereadAt = Number.NEGATIVE_INFINITY;

  const getConfig = (): SyncConfig => {
    if (config === undefined) {
      try {
        config = { value: loadConfig(env) };
      } catch (error) {
        config = { error };
      }
    }
    if ('error' in config) throw config.error;
    return config.value;
  };

  const connect = async (settings: SyncConfig, deadline: number): Promise<RedisPublisher> => {
    const credentials =
      settings.redisAuthSecretArn === undefined
        ? undefined
        : await readRedisSecret(settings.redisAuthSecretArn, deadline - Date.now());
    return createRedisPublisher(
      {
        url: settings.redisUrl,
        connectTimeoutMs: settings.connectTimeoutMs,
        commandTimeoutMs: settings.commandTimeoutMs,
        maxIdleMs: settings.redisMaxIdleSeconds * 1000,
        cluster: settings.cluster,
        credentials,
      },
      logger,
    );
  };

  /** The client, created at most once at a time; replaced once after Redis rejects its credentials (rotation). */
  const getPublisher = async (deadline: number): Promise<RedisPublisher> => {
    const settings = getConfig();
    for (;;) {
      const pending = publisher;
      if (pending === undefined) {
        const next = connect(settings, deadline);
        publisher = next;
        // A failed secret read is not kept: the next invocation tries again.
        next.catch(() => {
          if (publisher === next) publisher = undefined;
        });
        return next;
      }
      const current = await pending.catch(() => undefined);
      // Another invocation replaced the client while this one waited: use the new one, never a closed one.
      if (publisher !== pending) continue;
      if (current === undefined) return pending;
      const rotate =
        current.authFailed &&
        settings.redisAuthSecretArn !== undefined &&
        Date.now() - secretRereadAt >= SECRET_REREAD_INTERVAL_MS;
      if (!rotate) return current;
      secretRereadAt = Date.now();
      logger.warn('redis rejected the credentials: reading the Redis secret again', {});
      publisher = undefined;
      await current.close();
    }
  };

  const queueActions: QueueActionsFor = options.queueActions ?? queueActionsFromEnvironment(env) ?? (() => undefined);

  return {
    config: getConfig,
    queueActions,
    publisher: getPublisher,
    fallbackAccount: createFallbackAccount(),
    async close() {
      const current = await publisher?.catch(() => undefined);
      publisher = undefined;
      await current?.close();
    },
  };
}

export type Container = ReturnType<typeof createContainer>;
