import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { CLUSTER_REQUIRE_SUBSCRIBER_PROBLEM, type ClusterMode } from './config.ts';
import { ConfigError, OutcomeUnknownError, RedisPublishError } from './errors.ts';
import type { Logger } from './log.ts';
import type { GroupPublishResult, OrderedPublisher, OutgoingMessage, PublishOptions } from './publish-batch.ts';
import type { RedisCredentials } from './secret.ts';

/*
 * One call publishes one or more message groups, each in order, stopping a group at its first refusal.
 * KEYS: the streams the call appends to, or one fixed key that is never read or written: ElastiCache Serverless
 * refuses scripts without keys, and in cluster mode the keys choose the node.
 * ARGV[1]: '1' stops a group at a PUBLISH that reached nobody; ARGV[2]: the stream's MINID (entries older are
 * trimmed). Then per group: its message count n, then n triples: channel, index of its stream in KEYS (0: none),
 * body. Returns one array per group: each PUBLISH's receiver count, in order; where Redis refused a command (an ACL
 * NOPERM on a channel, say), its error text ends the group's array and nothing after it in the group ran.
 */
const SCRIPT_BODY = `
local stopOnZero = ARGV[1] == '1'
local minId = ARGV[2]
local results = {}
local i = 3
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  local counts = {}
  for j = 0, n - 1 do
    local at = i + 1 + 3 * j
    local key = tonumber(ARGV[at + 1])
    if key > 0 then
      local added = redis.pcall('XADD', KEYS[key], 'MINID', minId, '*', 'event', ARGV[at + 2])
      if type(added) == 'table' and added.err then
        counts[#counts + 1] = added.err
        break
      end
    end
    local reply = redis.pcall('PUBLISH', ARGV[at], ARGV[at + 2])
    if type(reply) == 'table' then
      counts[#counts + 1] = reply.err
      break
    end
    counts[#counts + 1] = reply
    if stopOnZero and reply == 0 then
      break
    end
  end
  results[#results + 1] = counts
  i = i + 1 + 3 * n
end
return results
`;

/**
 * Redis >= 7 refuses a script with a shebang on a replica (READONLY), so a connection that still reaches a demoted
 * primary after a failover publishes nothing instead of publishing to nobody. `allow-oom`: a full Redis still
 * publishes (a bare shebang would refuse to run).
 */
export const PUBLISH_SCRIPT = `#!lua flags=allow-oom${SCRIPT_BODY}`;
/** Redis 6.2 knows no shebang (a syntax error there); the role is checked beside each call instead. */
export const PUBLISH_SCRIPT_PRE7 = SCRIPT_BODY;

/** The key a call declares when it appends to no stream; never read or written. */
export const SCRIPT_KEY = '{management-events-sync}';

/**
 * Each account's stream, named after its channel: `{management-events-sync}:topic-account-management-events-<id>`.
 * Every stream shares the script key's hash tag, so in cluster mode a batch's keys, whatever its accounts, live in
 * one slot and the batch stays one call.
 */
export function streamKey(channel: string): string {
  return `${SCRIPT_KEY}:${channel}`;
}

export interface RedisSettings {
  readonly url: string;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly cluster: ClusterMode;
  /** From the Redis secret; they take the place of any in the URL. */
  readonly credentials?: RedisCredentials;
}

export interface RedisPublisher extends OrderedPublisher {
  /** True once Redis rejected this client's credentials: the caller reads the secret again (rotation). */
  readonly authFailed: boolean;
  close(): Promise<void>;
}

type Client = Redis | Cluster;
type Groups = readonly (readonly OutgoingMessage[])[];
/** The results of one call; `retry`: refused before it ran, for a reason the client has now dealt with. */
type CallOutcome = { readonly results: GroupPublishResult[]; readonly retry?: boolean };

const AUTH_ERROR = /^(WRONGPASS|NOAUTH)|invalid password|invalid username-password/i;
const NOT_WRITTEN = /enableOfflineQueue options is false/;
const COMPILE_ERROR = /Error compiling script/i;
const CLUSTER_REDIRECT = /^(MOVED|ASK|CROSSSLOT|CLUSTERDOWN)\b/;
const MAX_RECONNECT_DELAY_MS = 500;

/**
 * One client per container. It fails fast instead of waiting: no offline queue, bounded connect and command time,
 * no command resent after a reconnect (a late PUBLISH could overtake a newer one). It never stops reconnecting, so
 * the container recovers by itself once Redis is back. Cold, it reaches its first published batch in one round
 * trip after TCP: RESP2 (no HELLO), no ready check, no client info, AUTH written with the first call, and EVAL (no
 * NOSCRIPT retry).
 */
export function createRedisPublisher(settings: RedisSettings, logger: Logger): RedisPublisher {
  const { connectTimeoutMs, commandTimeoutMs } = settings;
  const url = new URL(settings.url);
  const nodeOptions: RedisOptions = {
    lazyConnect: true,
    protocol: 2,
    enableReadyCheck: false,
    disableClientInfo: true,
    connectTimeout: connectTimeoutMs,
    // A connection that leaves a written call unanswered this long is stalled: ioredis drops it and reconnects.
    socketTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    // A demoted primary answers READONLY: reconnect (the endpoint moves to the new primary), never resend.
    reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 1 : false),
    ...(url.protocol === 'rediss:' ? { tls: { servername: url.hostname } } : {}),
  };
  const credentials: RedisCredentials | undefined =
    settings.credentials ??
    (url.password === ''
      ? undefined
      : {
          password: decodeURIComponent(url.password),
          ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
        });
  const retryStrategy = (attempt: number) => Math.min(50 * 2 ** attempt, MAX_RECONNECT_DELAY_MS);

  let cluster: boolean | undefined = settings.cluster === 'auto' ? undefined : settings.cluster === 'on';
  let pre7 = false;
  let authFailed = false;
  let lastError: string | undefined;
  let closing = false;
  // One line when the connection drops or fails and one when it is back, not one per reconnect attempt.
  let down = false;
  let errorLogged = false;

  const connect = (asCluster: boolean): Client => {
    const created: Client = asCluster
      ? new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], {
          lazyConnect: true,
          enableOfflineQueue: false,
          enableReadyCheck: false,
          slotsRefreshTimeout: connectTimeoutMs,
          clusterRetryStrategy: retryStrategy,
          // ioredis resends a command whose connection closed after a failover or CLUSTERDOWN: a late PUBLISH could
          // then overtake newer ones, or run twice. The call fails instead and SQS delivers it again.
          retryDelayOnFailover: 0,
          retryDelayOnClusterDown: 0,
          retryDelayOnTryAgain: 0,
          // ElastiCache's TLS certificates name the nodes' DNS names: keep them instead of resolving to IPs.
          dnsLookup: (address, callback) => callback(null, address),
          // The cluster client opens node connections itself: it authenticates them.
          redisOptions: { ...nodeOptions, ...credentials },
        })
      : // No credentials here: `authenticate` sends AUTH with the first call of each connection, in the same round trip.
        new Redis(Number(url.port || 6379), url.hostname, { ...nodeOptions, enableOfflineQueue: false, retryStrategy });
    const onError = (error: Error) => {
      if (created !== client) return;
      if (AUTH_ERROR.test(error.message)) authFailed = true;
      lastError = `${error.name}: ${error.message}`;
      if (!errorLogged) logger.error('redis connection error', { error });
      errorLogged = true;
      down = true;
    };
    created.on('error', onError);
    created.on('node error', onError);
    created.on('close', () => {
      if (!down && !closing && created === client) logger.warn('redis connection lost', {});
      down = true;
    });
    created.on('ready', () => {
      if (down) logger.info('redis connection restored');
      // Accepted after all (e.g. Redis restarted before its ACL file loaded): nothing to rotate.
      authFailed = false;
      down = false;
      errorLogged = false;
      lastError = undefined;
    });
    return created;
  };
  let client = connect(cluster === true);

  /** Resolves once the client is ready, within the connect and command timeouts and the invocation's deadline. */
  const ready = (deadline: number): Promise<void> => {
    // Still `ready` for a moment after a READONLY answer made it drop the connection: wait for the next one.
    const writable = client instanceof Redis ? client.stream?.writable !== false : true;
    if (client.status === 'ready' && writable) return Promise.resolve();
    if (client.status === 'wait') client.connect().catch(() => undefined);
    const waitMs = Math.min(connectTimeoutMs + commandTimeoutMs, deadline - Date.now());
    const current = client;
    return new Promise((resolve, reject) => {
      const settle = (error?: Error) => {
        clearTimeout(timer);
        current.off('ready', onReady);
        current.off('error', onError);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onReady = () => settle();
      // Wrong credentials will not fix themselves within this invocation: fail now, rotate on the next one.
      const onError = (error: Error) => {
        if (AUTH_ERROR.test(error.message)) settle(new RedisPublishError(`Redis rejected the credentials: ${error.message}`));
      };
      const timer = setTimeout(
        () => {
          const cause = lastError === undefined ? '' : ` (${lastError})`;
          settle(new RedisPublishError(`Redis not ready within ${Math.max(0, waitMs)} ms${cause}`));
        },
        Math.max(0, waitMs),
      );
      current.on('ready', onReady);
      current.on('error', onError);
    });
  };

  /** The answer, or OutcomeUnknownError once the call has waited the command timeout or reached the deadline. */
  const answer = <T>(reply: Promise<T>, deadline: number): Promise<T> => {
    const waitMs = Math.max(0, Math.min(commandTimeoutMs, deadline - Date.now()));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new OutcomeUnknownError(`Redis did not answer within ${waitMs} ms`)), waitMs);
    });
    return Promise.race([reply, late]).finally(() => clearTimeout(timer));
  };

  /** Sends `INFO cluster` and, once it answers, knows whether Redis is a cluster (auto mode only). */
  /**
   * AUTH, written ahead of the first command on each new connection rather than awaited before it: a cold
   * container's first batch then takes one round trip, not two. Resolves to the refusal, if any.
   */
  let authenticatedStream: unknown;
  const authenticate = (current: Client, deadline: number): Promise<Error | undefined> => {
    if (credentials === undefined || !(current instanceof Redis) || current.stream === authenticatedStream) {
      return Promise.resolve(undefined);
    }
    authenticatedStream = current.stream;
    const args = credentials.username === undefined ? [credentials.password] : [credentials.username, credentials.password];
    return answer(current.call('AUTH', ...args), deadline).then(
      () => undefined,
      (error: Error) => {
        authenticatedStream = undefined;
        if (AUTH_ERROR.test(error.message)) authFailed = true;
        return new RedisPublishError(`Redis rejected the credentials: ${error.message}`);
      },
    );
  };

  const detect = (current: Client, deadline: number): Promise<void> => {
    void authenticate(current, deadline);
    return answer(current.info('cluster'), deadline).then(
      (info) => settleTopology(info),
      (error: Error) => settleTopology(error),
    );
  };

  /** After the first INFO in auto mode: a cluster gets a cluster-aware client from the next call on. */
  const settleTopology = (info: string | Error) => {
    if (cluster !== undefined) return;
    if (info instanceof Error) {
      if (!/NOPERM/.test(info.message)) return;
      cluster = false;
      logger.warn('cannot tell whether Redis is a cluster (INFO refused): assuming it is not; set REDIS_CLUSTER', {
        error: info,
      });
      return;
    }
    cluster = /cluster_enabled:1/.test(info);
    if (!cluster) return;
    logger.info('redis is a cluster: switching to a cluster-aware client', {});
    const old = client;
    client = connect(true);
    old.disconnect(false);
  };

  /** One script call for every group of the batch. */
  const runCall = async (groups: Groups, options: PublishOptions): Promise<CallOutcome> => {
    const keys: string[] = [];
    const args = [options.stopOnZeroReceivers ? '1' : '0', options.streamMinId ?? '0'];
    for (const messages of groups) {
      args.push(String(messages.length));
      for (const message of messages) {
        const index = message.stream === undefined ? 0 : keys.indexOf(message.stream) + 1 || keys.push(message.stream);
        args.push(message.channel, String(index), message.body);
      }
    }
    if (keys.length === 0) keys.push(SCRIPT_KEY);
    const current = client;
    const clusterBefore = cluster;
    const authenticating = authenticate(current, options.deadline);
    if (pre7) {
      // Redis < 7 runs the script on a replica too: ask first, publish only on the primary.
      const role = await answer(current.call('ROLE'), options.deadline).catch((error: Error) => error);
      if (role instanceof Error) {
        const refused = await authenticating;
        if (refused !== undefined) return { results: failAll(groups, refused) };
        return {
          results: failAll(
            groups,
            role instanceof OutcomeUnknownError
              ? role
              : new RedisPublishError(`cannot check the role of Redis < 7 (ROLE): ${role.message}`),
          ),
        };
      }
      const [name] = role as unknown[];
      if (name !== 'master') {
        current.disconnect(true);
        const readonly = new RedisPublishError(`READONLY: Redis answered as a ${String(name)}, not the primary: reconnecting`);
        return { results: failAll(groups, readonly) };
      }
    }
    const detecting = cluster === undefined ? detect(current, options.deadline) : undefined;
    let reply: unknown;
    try {
      reply = await answer(
        current.eval(pre7 ? PUBLISH_SCRIPT_PRE7 : PUBLISH_SCRIPT, keys.length, ...keys, ...args),
        options.deadline,
      );
    } catch (error) {
      await detecting;
      const refused = await authenticating;
      if (refused !== undefined) return { results: failAll(groups, refused) };
      return asFailedOutcome(error as Error, groups, clusterBefore);
    }
    await detecting;
    const replies = reply as unknown[][];
    return {
      results: groups.map((_, index) => {
        const { receivers, error } = parseGroupReply(replies[index] ?? []);
        // In a cluster PUBLISH counts only the subscribers of the node that ran it: the count says nothing.
        return { receivers: cluster ? receivers.map(() => null) : receivers, error };
      }),
    };
  };

  const publishGroups = async (groups: Groups, options: PublishOptions): Promise<GroupPublishResult[]> => {
    // Nothing is sent before these checks: a throw here leaves every record unpublished.
    if (cluster === undefined && options.stopOnZeroReceivers) {
      await ready(options.deadline);
      await detect(client, options.deadline);
    }
    if (cluster === true && options.stopOnZeroReceivers) throw new ConfigError(CLUSTER_REQUIRE_SUBSCRIBER_PROBLEM);
    for (let attempt = 0; ; attempt += 1) {
      if (Date.now() >= options.deadline) throw new RedisPublishError('no time left in the invocation to publish');
      await ready(options.deadline);
      const { results, retry } = await runCall(groups, options);
      if (retry !== true || attempt > 0) return results;
    }
  };

  const asFailedOutcome = (error: Error, groups: Groups, clusterBefore: boolean | undefined): CallOutcome => {
    if (error.name === 'ReplyError') {
      // Refused before it ran, and the client has since learned what Redis is (Redis < 7, a cluster): once more.
      let retry = false;
      if (COMPILE_ERROR.test(error.message) && !pre7) {
        pre7 = true;
        retry = true;
        logger.warn('redis does not know script shebangs (Redis < 7): checking its role before each call instead', {});
      }
      if (CLUSTER_REDIRECT.test(error.message) && cluster === true && clusterBefore !== true) retry = true;
      if (AUTH_ERROR.test(error.message)) authFailed = true;
      return { results: failAll(groups, new RedisPublishError(`Redis refused the call: ${error.message}`)), retry };
    }
    if (error instanceof OutcomeUnknownError) return { results: failAll(groups, error, true) };
    if (error instanceof RedisPublishError || NOT_WRITTEN.test(error.message)) {
      return { results: failAll(groups, error instanceof RedisPublishError ? error : new RedisPublishError(error.message)) };
    }
    // Written, then the connection closed before the answer: Redis may have run it.
    return {
      results: failAll(groups, new OutcomeUnknownError(`the connection closed before Redis answered: ${error.message}`), true),
    };
  };

  return {
    get authFailed() {
      return authFailed;
    },
    publishGroups,
    async close() {
      closing = true;
      client.disconnect(false);
    },
  };
}

/** Every group failed alike; `unknown`: the call went out, so each message may have been published. */
function failAll(groups: Groups, error: Error, unknown = false): GroupPublishResult[] {
  return groups.map((messages) => (unknown ? { receivers: [], error, unknown: messages.length } : { receivers: [], error }));
}

function parseGroupReply(reply: unknown[]): GroupPublishResult {
  const receivers: number[] = [];
  for (const item of reply) {
    if (typeof item === 'number') {
      receivers.push(item);
    } else {
      return { receivers, error: new RedisPublishError(`Redis refused: ${String(item)}`) };
    }
  }
  return { receivers };
}
