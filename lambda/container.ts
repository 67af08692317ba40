import { createFallbackAccount } from './account.ts';
import { type Environment, loadConfig, type SyncConfig } from './config.ts';
import type { Logger } from './log.ts';
import { createRedisPublisher, type RedisCredentials, type RedisPublisher } from './redis.ts';
import { readRedisSecret } from './secret.ts';

export interface ContainerOptions {
  readonly env: Environment;
  readonly logger: Logger;
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
  // The client once created, so that a batch does not wait a turn of the event loop for it.
  let created: RedisPublisher | undefined;
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

  const connect = async (settings: SyncConfig): Promise<RedisPublisher> => {
    let credentials: RedisCredentials | undefined;
    if (settings.redisAuthSecretArn !== undefined) {
      credentials = await readRedisSecret(settings.redisAuthSecretArn);
    }
    return createRedisPublisher(
      {
        url: settings.redisUrl,
        connectTimeoutMs: settings.connectTimeoutMs,
        commandTimeoutMs: settings.commandTimeoutMs,
        credentials,
      },
      logger,
    );
  };

  const getPublisher = async (): Promise<RedisPublisher> => {
    const settings = getConfig();
    if (publisher !== undefined) {
      const current = await publisher.catch(() => undefined);
      const rotate =
        current?.authFailed === true &&
        settings.redisAuthSecretArn !== undefined &&
        Date.now() - secretRereadAt >= SECRET_REREAD_INTERVAL_MS;
      if (current !== undefined && !rotate) return current;
      if (current !== undefined) {
        secretRereadAt = Date.now();
        logger.warn('redis rejected the credentials: reading the Redis secret again', {});
        await current.close();
      }
      publisher = undefined;
      created = undefined;
    }
    const next = connect(settings);
    publisher = next;
    next.then(
      (client) => {
        if (publisher === next) created = client;
      },
      // A failed secret read is not kept: the next invocation tries again.
      () => {
        if (publisher === next) publisher = undefined;
      },
    );
    return next;
  };

  return {
    config: getConfig,
    publisher: getPublisher,
    /** The client when it exists and Redis has not rejected its credentials; else `publisher()` decides. */
    createdPublisher: (): RedisPublisher | undefined => (created?.authFailed === false ? created : undefined),
    fallbackAccount: createFallbackAccount(),
    async close() {
      const current = await publisher?.catch(() => undefined);
      publisher = undefined;
      created = undefined;
      await current?.close();
    },
  };
}

export type Container = ReturnType<typeof createContainer>;
