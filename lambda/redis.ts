import { Redis } from 'ioredis';
import { createAnswerDeadline } from './answer-deadline.ts';
import { RedisPublishError } from './errors.ts';
import type { Logger } from './log.ts';
import type { GroupPublishResult, OrderedPublisher, OutgoingMessage } from './publish-batch.ts';

/*
 * One call publishes one or more message groups. ARGV = stopOnZeroReceivers ('1' | '0'), then per message group: its
 * message count n, then n channel, body pairs. Returns one array per group: the receiver count of each PUBLISH that
 * ran, in order; where Redis refused one (an ACL NOPERM on its channel, say), its error text ends that group's array
 * and nothing after it in the group ran. Other groups go on. Channels are ARGV, not KEYS: they are not keys, so the
 * function's ACL user needs no key access.
 */
export const PUBLISH_GROUPS_LUA = `
local pcall = redis.pcall
local stopOnZero = ARGV[1] == '1'
local results = {}
local groups = 0
local i = 2
local last = #ARGV
while i <= last do
  local n = tonumber(ARGV[i])
  local counts = {}
  for j = 1, n do
    local reply = pcall('PUBLISH', ARGV[i + 2 * j - 1], ARGV[i + 2 * j])
    if type(reply) == 'table' then
      counts[j] = reply.err
      break
    end
    counts[j] = reply
    if stopOnZero and reply == 0 then
      break
    end
  end
  groups = groups + 1
  results[groups] = counts
  i = i + 1 + 2 * n
end
return results
`;

export interface RedisCredentials {
  readonly username?: string;
  readonly password: string;
}

export interface RedisSettings {
  readonly url: string;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
  /** From the Redis secret; they take the place of any in the URL. */
  readonly credentials?: RedisCredentials;
}

export interface RedisPublisher extends OrderedPublisher {
  /** True once Redis rejected this client's credentials: the caller reads the secret again (rotation). */
  readonly authFailed: boolean;
  close(): Promise<void>;
}

type ScriptedRedis = Redis & { publishGroups(...args: string[]): Promise<unknown[][]> };

const AUTH_ERROR = /^(WRONGPASS|NOAUTH)|invalid password|invalid username-password/i;
const MAX_RECONNECT_DELAY_MS = 500;

/**
 * One client per container. It fails fast instead of waiting: no offline queue, bounded connect and command
 * time, no command resent after a reconnect (a late PUBLISH could overtake a newer one). It never stops
 * reconnecting, so the container recovers by itself once Redis is back.
 */
export function createRedisPublisher(settings: RedisSettings, logger: Logger): RedisPublisher {
  const { connectTimeoutMs, commandTimeoutMs } = settings;
  const redis = new Redis(settings.url, {
    lazyConnect: true,
    connectTimeout: connectTimeoutMs,
    // No commandTimeout or socketTimeout: `answers` below bounds every call with one timer per client.
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, MAX_RECONNECT_DELAY_MS),
    reconnectOnError: null,
    ...(settings.credentials ?? {}),
    scripts: { publishGroups: { lua: PUBLISH_GROUPS_LUA, numberOfKeys: 0 } },
  }) as ScriptedRedis;

  let authFailed = false;
  let lastError: string | undefined;
  // One line when the connection drops or fails and one when it is back, not one per reconnect attempt.
  let down = false;
  let errorLogged = false;
  let closing = false;
  // A stalled socket (TCP open, no answer) is dropped: every call waiting on it fails, and the client reconnects
  // instead of carrying on behind a backlog.
  const answers = createAnswerDeadline(
    commandTimeoutMs,
    () => new RedisPublishError(`Redis did not answer within ${commandTimeoutMs} ms`),
    (error) => redis.stream?.destroy(error),
  );
  redis.on('error', (error: Error) => {
    if (AUTH_ERROR.test(error.message)) authFailed = true;
    lastError = `${error.name}: ${error.message}`;
    if (!errorLogged) logger.error('redis connection error', { error });
    errorLogged = true;
    down = true;
  });
  redis.on('close', () => {
    if (!down && !closing) logger.warn('redis connection lost', {});
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.info('redis connection restored');
    // Accepted after all (e.g. Redis restarted before its ACL file loaded): nothing to rotate.
    authFailed = false;
    down = false;
    errorLogged = false;
    lastError = undefined;
  });

  const ready = (): Promise<void> => {
    if (redis.status === 'wait') redis.connect().catch(() => undefined);
    const waitMs = connectTimeoutMs + commandTimeoutMs;
    return new Promise((resolve, reject) => {
      const settle = (error?: Error) => {
        clearTimeout(timer);
        redis.off('ready', onReady);
        redis.off('error', onError);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onReady = () => settle();
      // Wrong credentials will not fix themselves within this invocation: fail now, rotate on the next one.
      const onError = (error: Error) => {
        if (AUTH_ERROR.test(error.message)) settle(new RedisPublishError(`Redis rejected the credentials: ${error.message}`));
      };
      const timer = setTimeout(() => {
        // Connected but the handshake went unanswered: drop it, or the next attempt would wait behind it.
        if (redis.status === 'connect') redis.stream?.destroy();
        const cause = lastError === undefined ? '' : ` (${lastError})`;
        settle(new RedisPublishError(`Redis not ready within ${waitMs} ms${cause}`));
      }, waitMs);
      redis.on('ready', onReady);
      redis.on('error', onError);
    });
  };

  const send = (groups: readonly (readonly OutgoingMessage[])[], stopOnZeroReceivers: boolean) => {
    const args = [stopOnZeroReceivers ? '1' : '0'];
    for (const messages of groups) {
      args.push(String(messages.length));
      for (const { channel, body } of messages) args.push(channel, body);
    }
    return answers.wait(redis.publishGroups(...args)).then(
      (reply) => groups.map((_, index) => parseGroupReply(reply[index] ?? [])),
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        if (AUTH_ERROR.test(message)) authFailed = true;
        throw new RedisPublishError(message);
      },
    );
  };

  return {
    get authFailed() {
      return authFailed;
    },
    publishGroups(groups: readonly (readonly OutgoingMessage[])[], stopOnZeroReceivers: boolean): Promise<GroupPublishResult[]> {
      // Not an async function: connected, the command is written before this returns, without a turn of promises.
      if (redis.status !== 'ready') return ready().then(() => send(groups, stopOnZeroReceivers));
      return send(groups, stopOnZeroReceivers);
    },
    async close() {
      closing = true;
      redis.disconnect(false);
    },
  };
}

function parseGroupReply(reply: unknown[]): GroupPublishResult {
  const receivers: number[] = [];
  for (const item of reply) {
    if (typeof item === 'number') {
      receivers.push(item);
    } else {
      return { receivers, error: new RedisPublishError(`Redis refused PUBLISH: ${String(item)}`) };
    }
  }
  return { receivers };
}
