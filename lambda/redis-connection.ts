import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { ClusterMode } from './config.ts';
import { OutcomeUnknownError, RedisPublishError } from './errors.ts';
import type { Logger } from './log.ts';
import type { RedisCredentials } from './secret.ts';

export interface RedisSettings {
  readonly url: string;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly cluster: ClusterMode;
  /**
   * A connection unused this long is replaced before its next call (0: never): while a Lambda container is frozen
   * the path to Redis may forget the flow (a NAT or Hyperplane ENI after 350 s idle, Redis' own `timeout`), and a call
   * written into a forgotten flow waits for nothing.
   */
  readonly maxIdleMs?: number;
  /** From the Redis secret; they take the place of any in the URL. */
  readonly credentials?: RedisCredentials;
}

export type Client = Redis | Cluster;

export const AUTH_ERROR = /^(WRONGPASS|NOAUTH)|invalid password|invalid username-password/i;
const MAX_RECONNECT_DELAY_MS = 500;

/**
 * One container's connection to Redis and what it has learned of the server. Its state lives here and nowhere else:
 * the client (replaced when Redis turns out to be a cluster), the topology, and whether the credentials were
 * refused.
 */
export interface RedisConnection {
  /** undefined until known (auto mode learns it from the first `INFO cluster`). */
  readonly cluster: boolean | undefined;
  /** Redis < 7: no script shebangs, so the role is checked before each call. */
  readonly pre7: boolean;
  /** True once Redis rejected this connection's credentials: the caller reads the secret again (rotation). */
  readonly authFailed: boolean;
  /** Resolves to the client once it is ready, within the connect and command timeouts and the deadline. */
  ready(deadline: number): Promise<Client>;
  /**
   * AUTH, written ahead of the first command on each new connection rather than awaited before it: a cold
   * container's first batch then takes one round trip, not two. Resolves to the refusal, if any.
   */
  authenticate(client: Client, deadline: number): Promise<Error | undefined>;
  /** Sends `INFO cluster` and, once it answers, knows whether Redis is a cluster (auto mode only). */
  detect(client: Client, deadline: number): Promise<void>;
  /** The answer, or OutcomeUnknownError once the call has waited the command timeout or reached the deadline. */
  answer<T>(reply: Promise<T>, deadline: number): Promise<T>;
  /** Redis refused a call for its credentials. */
  noteAuthRefused(): void;
  /** A script compile error: Redis < 7. True when this is news (the call may be sent again). */
  learnPre7(): boolean;
  close(): void;
}

/**
 * The client fails fast instead of waiting: no offline queue, bounded connect and command time, no command resent
 * after a reconnect (a late PUBLISH could overtake a newer one). It never stops reconnecting, so the container
 * recovers by itself once Redis is back. Cold, it reaches its first published batch in one round trip after TCP:
 * RESP2 (no HELLO), no ready check, no client info, AUTH written with the first call.
 */
export function openRedisConnection(settings: RedisSettings, logger: Logger): RedisConnection {
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
  // The socket AUTH was last written on: a new socket (a reconnect) is authenticated again.
  let authenticatedStream: unknown;
  // When Redis last answered on this connection (or it opened): the flow was alive then.
  let lastAnswerAt = Date.now();

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
      lastAnswerAt = Date.now();
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

  /** A fresh client in place of the current one, of the same kind; the old one is closed without waiting. */
  const replace = () => {
    const old = client;
    client = connect(cluster === true);
    old.disconnect(false);
  };

  const waitUntilReady = (deadline: number): Promise<Client> => {
    const idleMs = Date.now() - lastAnswerAt;
    if (settings.maxIdleMs && client.status === 'ready' && idleMs > settings.maxIdleMs) {
      logger.info('redis connection idle too long: replaced before use', { idleSeconds: Math.round(idleMs / 1000) });
      replace();
    }
    // Still `ready` for a moment after a READONLY answer made it drop the connection: wait for the next one.
    const writable = client instanceof Redis ? client.stream?.writable !== false : true;
    if (client.status === 'ready' && writable) return Promise.resolve(client);
    if (client.status === 'wait') client.connect().catch(() => undefined);
    const waitMs = Math.min(connectTimeoutMs + commandTimeoutMs, deadline - Date.now());
    const current = client;
    return new Promise((resolve, reject) => {
      const settle = (error?: Error) => {
        clearTimeout(timer);
        current.off('ready', onReady);
        current.off('error', onError);
        if (error === undefined) resolve(current);
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

  const answer = <T>(reply: Promise<T>, deadline: number): Promise<T> => {
    const waitMs = Math.max(0, Math.min(commandTimeoutMs, deadline - Date.now()));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new OutcomeUnknownError(`Redis did not answer within ${waitMs} ms`)), waitMs);
    });
    const answered = reply.then(
      (value) => {
        lastAnswerAt = Date.now();
        return value;
      },
      (error: Error) => {
        // A refusal is an answer too; a dropped connection is not.
        if (error.name === 'ReplyError') lastAnswerAt = Date.now();
        throw error;
      },
    );
    return Promise.race([answered, late]).finally(() => clearTimeout(timer));
  };

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
    replace();
  };

  const detect = (current: Client, deadline: number): Promise<void> => {
    void authenticate(current, deadline);
    return answer(current.info('cluster'), deadline).then(
      (info) => settleTopology(info),
      (error: Error) => settleTopology(error),
    );
  };

  return {
    get cluster() {
      return cluster;
    },
    get pre7() {
      return pre7;
    },
    get authFailed() {
      return authFailed;
    },
    ready: waitUntilReady,
    authenticate,
    detect,
    answer,
    noteAuthRefused() {
      authFailed = true;
    },
    learnPre7() {
      if (pre7) return false;
      pre7 = true;
      logger.warn('redis does not know script shebangs (Redis < 7): checking its role before each call instead', {});
      return true;
    },
    close() {
      closing = true;
      client.disconnect(false);
    },
  };
}
