import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { Cluster, Redis } from 'ioredis';
import { type Environment, loadConfig, type SyncConfig } from '../lambda/config.ts';
import { ConfigError, describeError } from '../lambda/errors.ts';
import { deadLetterQueueUrlOf } from '../lambda/queue-actions.ts';
import { SCRIPT_KEY, scriptFor } from '../lambda/redis-script.ts';
import { parseRedisSecret, type RedisCredentials } from '../lambda/secret.ts';
import { CliError, redactUrls } from './cli.ts';

/** Start-up checks wait this long at most for one answer (Redis, Secrets Manager, SQS): a clear line, not a hang. */
export const PREFLIGHT_TIMEOUT_MS = 5000;

/** The function's own settings check (lambda/config.ts): a problem is a usage error, reported before anything runs. */
export function checkSettings(env: Environment): SyncConfig {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, 2);
    throw error;
  }
}

/** Where a Redis URL points, without user or password: what messages may name. */
export function redisAddress(redisUrl: string): string {
  const url = new URL(redisUrl);
  return `${url.protocol}//${url.hostname}:${url.port === '' ? '6379' : url.port}`;
}

/**
 * One short connection and the function's own script with nothing to publish: exactly what the function needs
 * (`+eval` on its key), so the least ACL user of docs/redis.md passes, where a PING or ioredis' INFO would not. A
 * closed port, a wrong password, a host that does not answer, or a REDIS_CLUSTER that does not match Redis stops the
 * start with one line that names the address, never the password. With REDIS_AUTH_SECRET_ARN the password comes from
 * the secret, as the function reads it; they are returned, for clients of the caller's own (npm start's subscriber).
 */
export async function checkRedis(config: SyncConfig, timeoutMs = PREFLIGHT_TIMEOUT_MS): Promise<Partial<RedisCredentials>> {
  const address = redisAddress(config.redisUrl);
  const credentials = config.redisAuthSecretArn === undefined ? {} : await readSecret(config.redisAuthSecretArn, timeoutMs);
  let lastError: unknown;
  const url = new URL(config.redisUrl);
  const options = {
    ...credentials,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    enableReadyCheck: false,
    retryStrategy: () => null,
    // Its default (2 s, a timer that holds the process) would delay the one-line exit of a failed check.
    disconnectTimeout: 200,
  };
  const asCluster = config.cluster === 'on';
  const client: Redis | Cluster = asCluster
    ? new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], {
        lazyConnect: true,
        enableOfflineQueue: false,
        clusterRetryStrategy: () => null,
        slotsRefreshTimeout: timeoutMs,
        dnsLookup: (hostname, callback) => callback(null, hostname),
        redisOptions: {
          ...options,
          ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
          ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
          ...(url.protocol === 'rediss:' ? { tls: { servername: url.hostname } } : {}),
        },
      })
    : new Redis(config.redisUrl, options);
  client.on('error', (error: unknown) => {
    lastError = error;
  });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs + 500);
  });
  try {
    await Promise.race([client.connect().then(() => probe(client)), deadline]);
  } catch (error) {
    const clusterProblem = mismatchedCluster(config.cluster, error, lastError);
    if (clusterProblem !== undefined) throw new CliError(`Redis at ${address}: ${clusterProblem}`, 2);
    if (config.cluster === 'auto' && /^MOVED\b/.test(describeError(error).message)) return credentials;
    throw new CliError(`Redis at ${address}: ${explainRedisError(lastError ?? error, error)}`, 2);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
  return credentials;
}

/** REDIS_URL with the secret's user and password in it, for a client that takes only a URL. Never printed. */
export function withCredentials(redisUrl: string, credentials: Partial<RedisCredentials>): string {
  if (credentials.password === undefined) return redisUrl;
  const url = new URL(redisUrl);
  if (credentials.username !== undefined) url.username = encodeURIComponent(credentials.username);
  url.password = encodeURIComponent(credentials.password);
  return url.toString();
}

/** The function's script with no group: it runs, publishes nothing; Redis 6.2 gets it without the shebang. */
async function probe(client: Redis | Cluster): Promise<void> {
  const args = [1, SCRIPT_KEY, '0', '0', String(Date.now())] as const;
  try {
    await client.eval(scriptFor(false, false), ...args);
  } catch (error) {
    if (!/Error compiling script/i.test(describeError(error).message)) throw error;
    await client.eval(scriptFor(true, false), ...args);
  }
}

/** REDIS_CLUSTER says one thing, Redis another: the function would fail every record. */
function mismatchedCluster(mode: SyncConfig['cluster'], error: unknown, cause: unknown): string | undefined {
  // ioredis' ClusterAllFailedError keeps the node's own answer apart.
  const nodeErrors = [error, cause].map((item) => (item as { lastNodeError?: unknown } | undefined)?.lastNodeError);
  const text = [error, cause, ...nodeErrors].map((item) => (item === undefined ? '' : describeError(item).message)).join(' ');
  if (mode === 'on' && /cluster support disabled/i.test(text)) {
    return 'REDIS_CLUSTER=true, but this Redis is not a cluster (cluster support disabled): set REDIS_CLUSTER=false or auto';
  }
  if (mode === 'off' && /^MOVED\b/.test(describeError(error).message)) {
    return 'REDIS_CLUSTER=false, but this Redis is a cluster (it answered MOVED): set REDIS_CLUSTER=true or auto';
  }
  return undefined;
}

function explainRedisError(cause: unknown, error: unknown): string {
  const code = (cause as { code?: unknown }).code;
  const { message } = describeError(cause);
  if (/WRONGPASS|invalid password|invalid username-password/i.test(message)) {
    return 'the user name or password was rejected (WRONGPASS)';
  }
  if (/NOAUTH/i.test(message)) return 'a password is required (NOAUTH): put it in REDIS_URL or REDIS_AUTH_SECRET_ARN';
  if (code === 'ECONNREFUSED') return 'connection refused (nothing listens there)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code === 'ETIMEDOUT' || /no answer within|Command timed out/.test(`${describeError(error).message} ${message}`)) {
    return 'no answer in time (is it a Redis server, and is the port right?)';
  }
  // Something answered that does not speak Redis (an HTTP server, TLS expected or not expected).
  if (/Unknown RESP type|EPIPE|ECONNRESET/.test(message) || code === 'EPIPE' || code === 'ECONNRESET') {
    return 'it does not answer as a Redis server (wrong port, or TLS: rediss:// versus redis://?)';
  }
  // An ioredis error may carry the AUTH command's arguments: only its name and first line, credentials removed.
  return redactUrls(`${describeError(cause).name}: ${message.split('\n')[0]}`);
}

async function readSecret(secretArn: string, timeoutMs: number): Promise<RedisCredentials> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  // The secret is read from its own region, whatever region the queues are in.
  const region = secretArn.split(':')[3];
  const client = new SecretsManagerClient({ region, maxAttempts: 2 });
  try {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretArn }), {
      abortSignal: AbortSignal.timeout(timeoutMs),
    });
    return parseRedisSecret(SecretString);
  } catch (error) {
    throw new CliError(`REDIS_AUTH_SECRET_ARN ${secretArn}: ${explainAwsError(error)}`, 2);
  } finally {
    client.destroy();
  }
}

/** GetQueueAttributes on the queue: it exists, in the region its URL names, and the credentials may read it. */
export async function checkQueue(sqs: SQSClient, queueUrl: string, region: string, timeoutMs = PREFLIGHT_TIMEOUT_MS) {
  try {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn', 'FifoQueue', 'RedrivePolicy'] }),
      { abortSignal: AbortSignal.timeout(timeoutMs) },
    );
    return {
      arn: Attributes.QueueArn,
      fifo: Attributes.FifoQueue === 'true',
      // Where the function parks a record that can never be published.
      deadLetterQueueUrl: deadLetterQueueUrlOf(queueUrl, Attributes.RedrivePolicy),
    };
  } catch (error) {
    throw new CliError(`queue ${queueUrl} (region ${region}): ${explainAwsError(error)}`, 2);
  }
}

/** The usual AWS failures at start, each in words that say what to fix. */
export function explainAwsError(error: unknown): string {
  const { name, message } = describeError(error);
  const code = (error as { code?: unknown }).code;
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return process.env.AWS_EC2_METADATA_DISABLED === 'true'
      ? 'no AWS credentials found (environment, ~/.aws, SSO; the instance metadata service is not asked here: AWS_EC2_METADATA_DISABLED=false for an instance role)'
      : 'no AWS credentials found (environment, ~/.aws, SSO, or an instance or container role)';
  }
  if (name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue' || /does not exist/i.test(message)) {
    return 'no such queue (check the URL, its account and its region)';
  }
  if (name === 'ResourceNotFoundException') return 'not found (check the ARN and its region)';
  if (name === 'AccessDenied' || name === 'AccessDeniedException' || /not authorized/i.test(message)) {
    return `access denied: ${message.split('\n')[0]}`;
  }
  if (name === 'InvalidClientTokenId' || name === 'UnrecognizedClientException' || name === 'SignatureDoesNotMatch') {
    return `the AWS credentials were rejected (${name})`;
  }
  if (name === 'TimeoutError' || name === 'AbortError') return 'no answer in time';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  // An answer the SDK could not read as the service's (an HTML page, an empty 404): say what came back.
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if ((name === 'Unknown' || name === 'UnknownError' || message === 'UnknownError') && status !== undefined) {
    return `HTTP ${status} with no answer the AWS SDK could read: is this the service's endpoint?`;
  }
  return redactUrls(`${name}: ${message.split('\n')[0]}`);
}
