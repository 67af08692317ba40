import { CLUSTER_REQUIRE_SUBSCRIBER_PROBLEM } from './config.ts';
import { ConfigError, RedisPublishError } from './errors.ts';
import type { Logger } from './log.ts';
import type { GroupPublishResult, OrderedPublisher, PublishOptions } from './publish-batch.ts';
import { type Groups, runScriptCall } from './redis-call.ts';
import { openRedisConnection, type RedisSettings } from './redis-connection.ts';

export type { RedisSettings } from './redis-connection.ts';

/*
 * The function's publisher, in three rooms: the connection and what it knows of the server (redis-connection.ts),
 * the script (redis-script.ts), and one call with its reply (redis-call.ts). This file only orders them.
 */

export interface RedisPublisher extends OrderedPublisher {
  /** True once Redis rejected this client's credentials: the caller reads the secret again (rotation). */
  readonly authFailed: boolean;
  close(): Promise<void>;
}

/** One per container: every batch is one script call on one connection. */
export function createRedisPublisher(settings: RedisSettings, logger: Logger): RedisPublisher {
  const connection = openRedisConnection(settings, logger);

  const publishGroups = async (groups: Groups, options: PublishOptions): Promise<GroupPublishResult[]> => {
    // Nothing is sent before these checks: a throw here leaves every record unpublished.
    if (connection.cluster === undefined && options.stopOnZeroReceivers) {
      await connection.detect(await connection.ready(options.deadline), options.deadline);
    }
    if (connection.cluster === true && options.stopOnZeroReceivers) throw new ConfigError(CLUSTER_REQUIRE_SUBSCRIBER_PROBLEM);
    for (let attempt = 0; ; attempt += 1) {
      if (Date.now() >= options.deadline) throw new RedisPublishError('no time left in the invocation to publish');
      const client = await connection.ready(options.deadline);
      const { results, retry } = await runScriptCall(connection, client, groups, options);
      if (retry !== true || attempt > 0) return results;
    }
  };

  return {
    get authFailed() {
      return connection.authFailed;
    },
    publishGroups,
    async close() {
      connection.close();
    },
  };
}
