import { ConfigError } from './errors.ts';

export const DEFAULT_TOPIC_PREFIX = 'topic-account-management-events-';
/** Each account's inventory change feed: this prefix + the account. */
export const DEFAULT_ASSET_TOPIC_PREFIX = 'topic-account-asset-changes-';
/** Deleted inventory records stay as tombstones this long, so a late message cannot bring them back. */
export const DEFAULT_INVENTORY_TOMBSTONE_HOURS = 24;
export const MAX_INVENTORY_TOMBSTONE_HOURS = 24 * 365;
/**
 * The change feed is published no faster than this, on average over each batch: a subscriber that reads at least
 * this fast is never disconnected by Redis' pub/sub output limit (32 MB, or 8 MB for 60 s), however large the first
 * reconcile of an account. 0: no pacing.
 */
export const DEFAULT_INVENTORY_FEED_BYTES_PER_SECOND = 1_000_000;
/** CloudWatch namespace of the metrics in the summary line; the stack's alarms read the same. */
export const DEFAULT_METRICS_NAMESPACE = 'AssetSync';
export const DEFAULT_CONNECT_TIMEOUT_MS = 1000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 1000;
/**
 * A Redis connection unused for longer is replaced before its next call. AWS forgets an idle TCP flow after 350 s
 * (NAT gateway, and the Hyperplane ENI of a Lambda function in a VPC); a frozen container sends no keepalive. 300 s
 * keeps 50 s of margin below that for timers and clocks, and still keeps the connection of any function that runs
 * at least every five minutes.
 */
export const DEFAULT_REDIS_MAX_IDLE_SECONDS = 300;
export const MAX_REDIS_MAX_IDLE_SECONDS = 3600;
/** Above this the function no longer fails fast: a stalled Redis would hold a batch close to the function timeout. */
export const MAX_TIMEOUT_MS = 2000;
const MIN_TIMEOUT_MS = 50;
/**
 * Time kept back from the Lambda timeout: what logging the batch and returning the partial batch response take, with
 * room to spare. Everything an invocation waits for (secret, connect, script, STS) ends before it.
 */
export const RESPONSE_MARGIN_MS = 1000;
/**
 * The shortest function timeout that leaves a cold invocation time to connect and publish at the longest connect and
 * command timeouts, besides the margin: synth refuses less.
 */
export const MIN_FUNCTION_TIMEOUT_SECONDS = Math.ceil((RESPONSE_MARGIN_MS + 2 * MAX_TIMEOUT_MS) / 1000);

export interface SyncConfig {
  /** `redis://` or `rediss://`; may carry `user:password@` (poll mode, or local), never in a template. */
  readonly redisUrl: string;
  readonly topicPrefix: string;
  readonly redisAuthSecretArn: string | undefined;
  readonly requireSubscriber: boolean;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
  /** CloudWatch namespace of the metrics in the summary log line. */
  readonly metricsNamespace: string;
  /** Dimension value of those metrics: the Lambda function name, or `poller`. */
  readonly functionName: string;
  /** `auto`: a cluster-aware client when INFO says `cluster_enabled:1`. */
  readonly cluster: ClusterMode;
  /** Hours each account's stream keeps what was published; undefined: no stream (pub/sub only). */
  readonly streamRetentionHours: number | undefined;
  /** A connection idle longer is replaced before use; 0: never. */
  readonly redisMaxIdleSeconds: number;
  /** The inventory (docs/inventory.md): asset states and snapshots are applied to it; undefined: off. */
  readonly inventory:
    | { readonly changePrefix: string; readonly tombstoneHours: number; readonly feedBytesPerSecond: number }
    | undefined;
}

export type ClusterMode = 'auto' | 'on' | 'off';

/** In cluster mode PUBLISH counts only the subscribers of the node that ran it: a zero proves nothing. */
export const CLUSTER_REQUIRE_SUBSCRIBER_PROBLEM =
  'REQUIRE_SUBSCRIBER cannot be used with a Redis cluster: PUBLISH counts only the subscribers of one node, so delivered events would fail as unheard';
export const MAX_STREAM_RETENTION_HOURS = 24 * 365;

export type Environment = Readonly<Record<string, string | undefined>>;

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/;

/** Reads and validates the environment; every problem is reported in one error, each naming its variable. */
export function loadConfig(env: Environment): SyncConfig {
  const problems: string[] = [];

  const redisUrl = env.REDIS_URL?.trim() ?? '';
  if (redisUrl === '') {
    problems.push('REDIS_URL is required (redis://host:6379 or rediss://host:6379 for TLS)');
  } else {
    // The value is not echoed: it may carry a password.
    const problem = redisUrlShapeProblem(redisUrl);
    if (problem !== undefined) problems.push(`REDIS_URL ${problem}`);
  }

  const topicPrefix = env.TOPIC_PREFIX ?? DEFAULT_TOPIC_PREFIX;
  if (topicPrefix.trim() === '' || /\s/.test(topicPrefix)) {
    problems.push('TOPIC_PREFIX must be non-empty and contain no white space');
  }

  const redisAuthSecretArn = emptyToUndefined(env.REDIS_AUTH_SECRET_ARN);
  if (redisAuthSecretArn !== undefined && !SECRET_ARN.test(redisAuthSecretArn)) {
    problems.push(
      'REDIS_AUTH_SECRET_ARN must be a Secrets Manager secret ARN (arn:aws:secretsmanager:region:account:secret:name)',
    );
  }

  const requireSubscriber = parseBoolean('REQUIRE_SUBSCRIBER', env.REQUIRE_SUBSCRIBER, false, problems);
  const connectTimeoutMs = parseTimeout(
    'REDIS_CONNECT_TIMEOUT_MS',
    env.REDIS_CONNECT_TIMEOUT_MS,
    DEFAULT_CONNECT_TIMEOUT_MS,
    problems,
  );
  const commandTimeoutMs = parseTimeout(
    'REDIS_COMMAND_TIMEOUT_MS',
    env.REDIS_COMMAND_TIMEOUT_MS,
    DEFAULT_COMMAND_TIMEOUT_MS,
    problems,
  );

  const clusterText = emptyToUndefined(env.REDIS_CLUSTER)?.toLowerCase() ?? 'auto';
  const cluster: ClusterMode = clusterText === 'true' ? 'on' : clusterText === 'false' ? 'off' : 'auto';
  if (!['auto', 'true', 'false'].includes(clusterText)) {
    problems.push(`REDIS_CLUSTER must be "auto", "true" or "false", got "${env.REDIS_CLUSTER}"`);
  }
  if (cluster === 'on' && requireSubscriber) problems.push(CLUSTER_REQUIRE_SUBSCRIBER_PROBLEM);

  let streamRetentionHours: number | undefined;
  const retention = emptyToUndefined(env.STREAM_RETENTION_HOURS);
  if (retention !== undefined) {
    const hours = Number(retention);
    if (!Number.isInteger(hours) || hours < 1 || hours > MAX_STREAM_RETENTION_HOURS) {
      problems.push(
        `STREAM_RETENTION_HOURS must be a whole number of hours from 1 to ${MAX_STREAM_RETENTION_HOURS}, got "${retention}"`,
      );
    } else {
      streamRetentionHours = hours;
    }
  }

  const redisMaxIdleSeconds = parseWholeNumber(
    'REDIS_MAX_IDLE_SECONDS',
    env.REDIS_MAX_IDLE_SECONDS,
    DEFAULT_REDIS_MAX_IDLE_SECONDS,
    { min: 0, max: MAX_REDIS_MAX_IDLE_SECONDS, unit: 'seconds' },
    problems,
  );

  const inventoryOn = parseBoolean('INVENTORY', env.INVENTORY, false, problems);
  const changePrefix = env.ASSET_TOPIC_PREFIX ?? DEFAULT_ASSET_TOPIC_PREFIX;
  if (changePrefix.trim() === '' || /\s/.test(changePrefix)) {
    problems.push('ASSET_TOPIC_PREFIX must be non-empty and contain no white space');
  } else if (changePrefix === topicPrefix) {
    problems.push('ASSET_TOPIC_PREFIX must differ from TOPIC_PREFIX: the change feed and the raw events are different messages');
  }
  const tombstoneHours = parseWholeNumber(
    'INVENTORY_TOMBSTONE_HOURS',
    env.INVENTORY_TOMBSTONE_HOURS,
    DEFAULT_INVENTORY_TOMBSTONE_HOURS,
    { min: 1, max: MAX_INVENTORY_TOMBSTONE_HOURS, unit: 'hours' },
    problems,
  );

  const feedBytesPerSecond = parseWholeNumber(
    'INVENTORY_FEED_BYTES_PER_SECOND',
    env.INVENTORY_FEED_BYTES_PER_SECOND,
    DEFAULT_INVENTORY_FEED_BYTES_PER_SECOND,
    { min: 0, max: 1_000_000_000, unit: 'bytes a second' },
    problems,
  );

  if (problems.length > 0) {
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return {
    redisUrl,
    topicPrefix,
    redisAuthSecretArn,
    requireSubscriber,
    connectTimeoutMs,
    commandTimeoutMs,
    metricsNamespace: emptyToUndefined(env.METRICS_NAMESPACE) ?? DEFAULT_METRICS_NAMESPACE,
    functionName: emptyToUndefined(env.AWS_LAMBDA_FUNCTION_NAME) ?? 'poller',
    cluster,
    streamRetentionHours,
    redisMaxIdleSeconds,
    inventory: inventoryOn ? { changePrefix, tombstoneHours, feedBytesPerSecond } : undefined,
  };
}

/**
 * Why a value is not a Redis URL the function can use, or undefined. Only scheme, user, password, host and port are
 * read; a database or options in the URL would be ignored without a word, so they are refused.
 */
export function redisUrlShapeProblem(value: string): string | undefined {
  const shape = 'must be a redis:// or rediss:// URL with a host and a port from 1 to 65535';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return shape;
  }
  if ((url.protocol !== 'redis:' && url.protocol !== 'rediss:') || url.hostname === '' || url.port === '0') return shape;
  if (!['', '/', '/0'].includes(url.pathname)) {
    return 'must not name a database: the function uses database 0, the only one cluster mode and ElastiCache Serverless have';
  }
  if (url.search !== '' || url.hash !== '') {
    return "must not carry a query or fragment: the function's settings (environment, stack props) set its options";
  }
  return undefined;
}

/** True when the URL carries a user name or password: such a URL must not go into a template or a log. */
export function redisUrlHasCredentials(value: string): boolean {
  try {
    const url = new URL(value);
    return url.username !== '' || url.password !== '';
  } catch {
    return false;
  }
}

function emptyToUndefined(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

function parseBoolean(name: string, raw: string | undefined, fallback: boolean, problems: string[]): boolean {
  const value = emptyToUndefined(raw)?.toLowerCase();
  if (value === undefined) return fallback;
  if (value === 'true') return true;
  if (value === 'false') return false;
  problems.push(`${name} must be "true" or "false", got "${raw}"`);
  return fallback;
}

function parseTimeout(name: string, raw: string | undefined, fallback: number, problems: string[]): number {
  return parseWholeNumber(name, raw, fallback, { min: MIN_TIMEOUT_MS, max: MAX_TIMEOUT_MS, unit: 'milliseconds' }, problems);
}

function parseWholeNumber(
  name: string,
  raw: string | undefined,
  fallback: number,
  range: { readonly min: number; readonly max: number; readonly unit: string },
  problems: string[],
): number {
  const value = emptyToUndefined(raw);
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < range.min || number > range.max) {
    problems.push(`${name} must be a whole number of ${range.unit} from ${range.min} to ${range.max}, got "${raw}"`);
    return fallback;
  }
  return number;
}
