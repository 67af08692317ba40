import { SQSClient } from '@aws-sdk/client-sqs';
import type { Environment } from '../lambda/config.ts';
import { createHandler } from '../lambda/handler.ts';
import { createJsonLogger, type Logger } from '../lambda/log.ts';
import { type QueueActions, sqsQueueActions } from '../lambda/queue-actions.ts';
import { CliError, parseFlags } from './cli.ts';
import { askNoMetadataService, EMULATOR_CREDENTIALS, isLoopbackUrl } from './local-credentials.ts';
import { type Poller, startPoller } from './poller.ts';
import { createPollerMetrics, METRICS_QUICK_TIMEOUT_MS } from './poller-metrics.ts';
import { checkQueue, checkRedis, checkSettings } from './preflight.ts';
import { queueArnFromUrl, regionOfQueueUrl } from './sqs-records.ts';

export const POLLER_USAGE = `Usage: node poller.mjs --queue-url URL [--queue-url URL ...] [options]

Consumes SQS FIFO queues next to Redis, as the Lambda function would: each message is published to its account's
channel; what fails stays on the queue and is retried, then dead-lettered. One process drains every region's queue:
each queue's region comes from its URL.

Options:
  --queue-url URL      a queue to consume (repeat for several regions)
  --endpoint-url URL   send SQS calls there instead of AWS (an emulator such as fauxqs or LocalStack)
  --region R           region of queue URLs that name none (default AWS_REGION)
  --concurrency N      batches in flight per queue (default 2; a FIFO group is never handed out twice at once)
  --wait-time-seconds S  long polling, 1 to 20 (default 20); SIGTERM waits for the receive in flight, at most this
  --no-metrics         send no metrics to CloudWatch. By default each queue's region gets the function's metrics
                       (FunctionName=poller) once a minute, unless every queue is on this machine
  --metrics            send them for queues on this machine (an emulator) too
  --verbose            print every function log line (default: warnings and errors)
  --help               this text

Environment: REDIS_URL (required; may carry user:password here, it stays on this host), REDIS_AUTH_SECRET_ARN
(the password from Secrets Manager instead), TOPIC_PREFIX, REQUIRE_SUBSCRIBER, REDIS_CLUSTER (auto|true|false),
STREAM_RETENTION_HOURS (the durable mirror), REDIS_MAX_IDLE_SECONDS (default 300), REDIS_CONNECT_TIMEOUT_MS,
REDIS_COMMAND_TIMEOUT_MS, METRICS_NAMESPACE (default AssetSync); with the inventory (docs/inventory.md): INVENTORY=true,
ASSET_TOPIC_PREFIX, INVENTORY_TOMBSTONE_HOURS, INVENTORY_FEED_BYTES_PER_SECOND; AWS credentials from the standard chain (environment, ~/.aws, SSO, instance role). An endpoint
on this machine (an emulator) gets fixed placeholder credentials, and the instance metadata service is not asked.
Needs Node.js 22 or later.

Exit: 0 after SIGTERM or Ctrl-C (the receives and batches in flight are finished), 130 after a second signal (it
exits at once), 2 when Node, a setting, Redis or a queue is wrong at start (one line says which), 1 on an
unexpected error.`;

export interface PollQueuesOptions {
  readonly queueUrls: readonly string[];
  readonly endpointUrl?: string | undefined;
  /** For queue URLs that name no region. */
  readonly region?: string | undefined;
  readonly concurrency?: number;
  /** Long polling; a stop waits at most this long for the receive in flight. */
  readonly waitTimeSeconds?: number;
  readonly verbose?: boolean;
  /** Send the function's metrics to CloudWatch; undefined: yes, unless every queue is on this machine (an emulator). */
  readonly metrics?: boolean | undefined;
  readonly env: Environment;
  /** Human lines (start, stop, warnings); the function's JSON log lines go to stdout. */
  readonly say?: (line: string) => void;
}

/** `node dist/poller.mjs ...`: the poller as a product. Returns the exit code. */
export async function runPollerCli(argv: readonly string[], env: Environment = process.env): Promise<number> {
  const values = parseFlags(argv, POLLER_OPTIONS, POLLER_USAGE);
  if (values.help) {
    process.stdout.write(`${POLLER_USAGE}\n`);
    return 0;
  }
  return pollQueues({
    queueUrls: values['queue-url'] ?? [],
    endpointUrl: values['endpoint-url'],
    region: values.region,
    concurrency: wholeNumber('concurrency', values.concurrency, 2, 1, 10),
    waitTimeSeconds: wholeNumber('wait-time-seconds', values['wait-time-seconds'], 20, 1, 20),
    verbose: values.verbose,
    metrics: values.metrics,
    env,
  });
}

/** The poller's flags; `npm start` takes them too, for `npm start -- --queue-url URL`. */
export const POLLER_OPTIONS = {
  'queue-url': { type: 'string', multiple: true },
  'endpoint-url': { type: 'string' },
  region: { type: 'string' },
  'wait-time-seconds': { type: 'string' },
  concurrency: { type: 'string' },
  // No default: unset means "unless the queues are on this machine". --no-metrics needs parseArgs' allowNegative.
  metrics: { type: 'boolean' },
  verbose: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

export function wholeNumber(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    throw new CliError(`--${name} must be a whole number from ${min} to ${max}, got "${raw}"`, 2);
  }
  return value;
}

/** Function log lines as JSON on stdout; without `verbose` only warnings and errors. */
export function functionLogger(verbose: boolean, write: (line: string) => void = (line) => process.stdout.write(line)): Logger {
  return createJsonLogger((line) => {
    if (verbose || !line.includes('"level":"INFO"')) write(`${line}\n`);
  });
}

interface QueueTarget {
  readonly url: string;
  readonly region: string;
  /** Where its SQS calls go: --endpoint-url, else the queue URL's own origin, as the SDK would pick. */
  readonly endpoint: string;
}

function queueTargets(options: PollQueuesOptions): QueueTarget[] {
  const { queueUrls, endpointUrl } = options;
  if (queueUrls.length === 0) throw new CliError(`--queue-url is required\n\n${POLLER_USAGE}`, 2);
  if (endpointUrl !== undefined && !URL.canParse(endpointUrl)) throw new CliError(`--endpoint-url ${endpointUrl}: not a URL`, 2);
  const twice = queueUrls.find((url, index) => queueUrls.indexOf(url) !== index);
  if (twice !== undefined) throw new CliError(`--queue-url ${twice} is given twice`, 2);
  return queueUrls.map((url) => {
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
      throw new CliError(`--queue-url ${url}: not an http(s) URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME.fifo)`, 2);
    }
    const region = regionOfQueueUrl(url) ?? options.region ?? options.env.AWS_REGION;
    if (region === undefined) throw new CliError(`--queue-url ${url}: the URL names no region; pass --region`, 2);
    return { url, region, endpoint: endpointUrl ?? new URL(url).origin };
  });
}

/** The poller needs what @middy/core 7 and the AWS SDK need; on an older Node the SDK prints a long warning first. */
export const MIN_NODE_MAJOR = 22;

function checkNodeVersion(version: string): void {
  if (Number.parseInt(version.slice(1), 10) < MIN_NODE_MAJOR) {
    throw new CliError(`the poller needs Node.js ${MIN_NODE_MAJOR} or later; this is Node.js ${version}`, 2);
  }
}

/**
 * Checks everything the run needs (Node, settings, Redis, each queue and the credentials for it), each with one line
 * on failure, and only then consumes every queue until SIGTERM or SIGINT, which finish the batches in flight.
 */
export async function pollQueues(options: PollQueuesOptions): Promise<number> {
  checkNodeVersion(process.version);
  const say = options.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const targets = queueTargets(options);
  // An emulator on this machine: nothing real is meant, no credentials are needed and none are looked for.
  const local = targets.every((target) => isLoopbackUrl(target.endpoint));
  if (local) askNoMetadataService();
  const config = checkSettings(options.env);
  await checkRedis(config);
  const sendMetrics = wantsMetrics(
    options.metrics,
    targets.map((target) => target.endpoint),
  );

  const clients = new Map<string, SQSClient>();
  // One client per region and endpoint. An explicit endpoint also keeps the SDK from warning, at every call, that a
  // queue URL's host (an IP address, a legacy URL) differs from the endpoint it resolved.
  const clientFor = ({ region, endpoint }: QueueTarget) => {
    const key = `${region} ${endpoint}`;
    let client = clients.get(key);
    if (client === undefined) {
      client = new SQSClient({ region, endpoint, ...(local ? { credentials: EMULATOR_CREDENTIALS } : {}) });
      clients.set(key, client);
    }
    return client;
  };
  // Per queue (by the ARN its records carry): where poison records are parked and failed ones delayed.
  const actions = new Map<string, QueueActions>();
  // Said once every check passed: a failing start is one line.
  const warnings: string[] = [];
  try {
    for (const target of targets) {
      const { fifo, deadLetterQueueUrl } = await checkQueue(clientFor(target), target.url, target.region);
      if (!fifo) warnings.push(`warning: ${target.url} is not a FIFO queue; order within a group is not kept`);
      if (deadLetterQueueUrl === undefined) {
        warnings.push(
          `warning: ${target.url} has no dead-letter queue: a record that can never be published is retried until removed`,
        );
      }
      const sqs = clientFor(target);
      actions.set(
        queueArnFromUrl(target.url, target.region).arn,
        sqsQueueActions({ sqs: async () => sqs, queueUrl: target.url, deadLetterQueueUrl }),
      );
    }
  } catch (error) {
    for (const client of clients.values()) client.destroy();
    throw error;
  }

  const logger = functionLogger(options.verbose ?? false);
  const metrics = sendMetrics
    ? createPollerMetrics({
        regions: [...new Set(targets.map((target) => target.region))],
        namespace: config.metricsNamespace,
        functionName: config.functionName,
        logger,
      })
    : undefined;
  // CloudWatch refusing is said, not fatal: the metrics serve the sync, which goes on without them.
  if (metrics !== undefined) warnings.push(...(await metrics.check()));

  for (const warning of warnings) say(warning);
  const handler = createHandler({
    env: options.env,
    logger: metrics?.observe(logger) ?? logger,
    queueActions: (record) => actions.get(record.eventSourceARN),
  });
  metrics?.start();
  const pollers: Poller[] = targets.map((target) =>
    startPoller({
      sqs: clientFor(target),
      queueUrl: target.url,
      region: target.region,
      handler: metrics?.inRegion(target.region, handler) ?? handler,
      logger,
      waitTimeSeconds: options.waitTimeSeconds ?? 20,
      concurrency: options.concurrency ?? 2,
      finishLongPollOnStop: true,
    }),
  );
  say(
    `polling ${targets.map((target) => `${target.url} (${target.region})`).join(', ')}; metrics ${
      metrics === undefined
        ? `off${local && options.metrics === undefined ? ' (queues on this machine; --metrics sends them)' : ''}`
        : `to CloudWatch once a minute (${config.metricsNamespace}, FunctionName=${config.functionName})`
    }; SIGTERM or Ctrl-C finishes the batches in flight and exits`,
  );
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  // A second signal does not wait.
  process.once(signal, () => process.exit(130));
  say(
    `${signal}: finishing the receives and batches in flight (at most ${options.waitTimeSeconds ?? 20} s, a second signal exits now)${
      metrics === undefined ? '' : `, then sending the last metrics (at most ${METRICS_QUICK_TIMEOUT_MS / 1000} s)`
    }`,
  );
  await Promise.all(pollers.map((poller) => poller.stop()));
  // After the last batch: its metrics go too.
  await metrics?.close();
  await handler.close();
  for (const client of clients.values()) client.destroy();
  say('stopped');
  return 0;
}

/** --metrics / --no-metrics, else yes unless every queue is on this machine: an emulator's run means nothing to a dashboard. */
export function wantsMetrics(flag: boolean | undefined, endpoints: readonly string[]): boolean {
  return flag ?? !endpoints.every((endpoint) => isLoopbackUrl(endpoint));
}
