import { accessSync, constants, createReadStream, fstatSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { DEFAULT_MAX_RECEIVE_COUNT } from '../infra/config.ts';
import { DEFAULT_TOPIC_PREFIX } from '../lambda/config.ts';
import { CliError, runMain, usageError } from './cli.ts';
import { readEvents } from './event-stream.ts';
import { describeForInventory } from './inventory-subscriber.ts';
import { createOrderedSender } from './ordered-sender.ts';
import { startPipeline } from './pipeline.ts';
import { functionLogger, POLLER_OPTIONS, pollQueues, wholeNumber } from './poller-cli.ts';
import { checkRedis, checkSettings } from './preflight.ts';
import { type RedisServer, startRedisServer } from './redis-server.ts';
import { routeEvents } from './router.ts';
import { describeStreams } from './stream-catch-up.ts';

const USAGE = `Usage:
  npm start                               replay the sample events through the whole pipeline, locally
  npm start < events.jsonl                replay JSON lines from stdin (or --events FILE: JSON lines, an array, {"Events": [...]})
  npm start -- --follow                   keep running and read events from stdin as they come
  npm start -- --queue-url URL [--queue-url URL ...]   poll mode: only the poller, against real SQS FIFO queues

Options:
  --events FILE             events to replay (a given but empty file or stdin replays nothing)
  --follow                  do not exit when the input is done
  --queue-url URL           poll mode (repeatable; each queue's region from its URL); see node dist/poller.mjs --help
  --endpoint-url URL        poll mode: an SQS emulator's endpoint
  --wait-time-seconds S     poll mode: long polling, 1 to 20 (default 20)
  --region R                the local queue's region; poll mode: of a queue URL that names none (default AWS_REGION)
  --max-receive-count N     receives before dead-lettering, local queue (default ${DEFAULT_MAX_RECEIVE_COUNT}, as deployed)
  --visibility-timeout S    local queue visibility timeout in seconds (default 5; deployed: 6x the function timeout)
  --verbose                 print every function log line (default: warnings and errors)
  --help                    this text

With no input at all (stdin a terminal or /dev/null, no --events) the sample events are replayed.
Exit: 0 all delivered, 1 something not delivered, 2 a usage or settings error.
Environment: REDIS_URL (default: a throwaway redis-server on a free port), TOPIC_PREFIX, REQUIRE_SUBSCRIBER,
REDIS_AUTH_SECRET_ARN, REDIS_CLUSTER, STREAM_RETENTION_HOURS (the durable mirror: ends with what each account's
stream holds); in poll mode the standard AWS credential chain.`;

const QUEUE_BACKLOG_LIMIT = 500;
const SAMPLES = new URL('../events/sample-events.jsonl', import.meta.url).pathname;

function parseCommandLine(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        ...POLLER_OPTIONS,
        events: { type: 'string' },
        follow: { type: 'boolean', default: false },
        'max-receive-count': { type: 'string' },
        'visibility-timeout': { type: 'string' },
      },
    }).values;
  } catch (error) {
    throw usageError(error, USAGE);
  }
}

await runMain(() => main(process.argv.slice(2)));

async function main(argv: readonly string[]): Promise<number> {
  const values = parseCommandLine(argv);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values['queue-url'] !== undefined) {
    return pollQueues({
      queueUrls: values['queue-url'],
      endpointUrl: values['endpoint-url'],
      region: values.region,
      waitTimeSeconds: wholeNumber('wait-time-seconds', values['wait-time-seconds'], 20, 1, 20),
      verbose: values.verbose,
      env: process.env,
    });
  }
  for (const flag of ['endpoint-url', 'wait-time-seconds'] as const) {
    if (values[flag] !== undefined) throw new CliError(`--${flag} goes with --queue-url\n\n${USAGE}`, 2);
  }
  if (values.follow && values.events !== undefined) throw new CliError('--follow reads stdin: it does not take --events', 2);
  const maxReceiveCount = wholeNumber('max-receive-count', values['max-receive-count'], DEFAULT_MAX_RECEIVE_COUNT, 1, 1000);
  const visibilityTimeoutSeconds = wholeNumber('visibility-timeout', values['visibility-timeout'], 5, 1, 43_200);
  const input = values.follow ? stdinInput() : chooseInput(values.events);
  const region = values.region ?? process.env.AWS_REGION ?? 'us-east-1';
  return localPipeline({
    input,
    region,
    follow: values.follow,
    verbose: values.verbose,
    maxReceiveCount,
    visibilityTimeoutSeconds,
  });
}

interface Input {
  readonly source: string;
  open(): Readable;
}

function stdinInput(): Input {
  return { source: 'stdin', open: () => process.stdin };
}

/**
 * `--events FILE`, else stdin when something is given on it (a pipe or a file, even an empty one), else the samples:
 * stdin a terminal or /dev/null (a character device) means no input at all, as in the quick start and in CI.
 */
function chooseInput(file: string | undefined): Input {
  if (file !== undefined) {
    try {
      if (statSync(file).isDirectory()) throw new CliError(`--events ${file}: is a directory`, 2);
      accessSync(file, constants.R_OK);
    } catch (error) {
      if (error instanceof CliError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      throw new CliError(
        `--events ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'not readable' : code}`,
        2,
      );
    }
    return { source: file, open: () => createReadStream(file) };
  }
  let given = false;
  try {
    const stat = fstatSync(0);
    given = stat.isFIFO() || stat.isFile() || stat.isSocket();
  } catch {
    // No stdin at all: no input.
  }
  if (given) return stdinInput();
  return { source: 'the sample events (events/sample-events.jsonl)', open: () => createReadStream(SAMPLES) };
}

interface LocalRun {
  readonly input: Input;
  /** The local queue's region (its name and URL carry it, as deployed). */
  readonly region: string;
  readonly follow: boolean;
  readonly verbose: boolean;
  readonly maxReceiveCount: number;
  readonly visibilityTimeoutSeconds: number;
}

async function localPipeline(run: LocalRun): Promise<number> {
  const { maxReceiveCount, visibilityTimeoutSeconds } = run;
  const givenUrl = process.env.REDIS_URL?.trim() ?? '';
  // Every setting is checked before anything starts or any input is read (the URL itself once there is one).
  checkSettings({ ...process.env, REDIS_URL: givenUrl === '' ? 'redis://127.0.0.1:6379' : givenUrl });
  let redisServer: RedisServer | undefined;
  let redisUrl = givenUrl;
  if (redisUrl === '') {
    try {
      redisServer = await startRedisServer();
    } catch (error) {
      throw new CliError(`${(error as Error).message}\n(or point REDIS_URL at a Redis you have)`, 2);
    }
    redisUrl = redisServer.url;
    console.log(`redis: a throwaway redis-server on port ${redisServer.port}`);
  } else {
    await checkRedis(checkSettings({ ...process.env, REDIS_URL: redisUrl }));
    console.log('redis: REDIS_URL');
  }

  let pipeline: Awaited<ReturnType<typeof startPipeline>>;
  try {
    pipeline = await startPipeline({
      region: run.region,
      redisUrl,
      maxReceiveCount,
      visibilityTimeoutSeconds,
      functionLogger: functionLogger(run.verbose, (line) => process.stderr.write(line)),
      functionEnv: process.env,
      onMessage: (message) => console.log(`inventory <- ${describeForInventory(message)}`),
    });
  } catch (error) {
    await redisServer?.stop();
    throw error;
  }
  console.log(
    `queue: ${pipeline.queue.queueUrl} (local, maxReceiveCount ${maxReceiveCount}, visibility ${visibilityTimeoutSeconds} s)`,
  );
  const shutdown = async () => {
    await pipeline.close();
    await redisServer?.stop();
  };
  process.once('SIGINT', () => void shutdown().then(() => process.exit(130)));
  process.once('SIGTERM', () => void shutdown().then(() => process.exit(143)));

  try {
    let refused = 0;
    // At most this many events wait in the local queue: a large input is read as fast as it is delivered.
    const sendWhenRoom = async (events: Parameters<typeof pipeline.send>[0]) => {
      await pipeline.waitForRoom(QUEUE_BACKLOG_LIMIT);
      return pipeline.send(events);
    };
    const sender = createOrderedSender(sendWhenRoom, ({ event, reason }) => {
      refused += 1;
      console.log(`not sent ${event.id}: ${reason}`);
    });
    console.log(
      run.follow
        ? 'following stdin: one EventBridge event (JSON) per line; Ctrl-C to stop'
        : `reading events from ${run.input.source}`,
    );
    for await (const item of readEvents(run.input.open())) {
      if ('rejected' in item) {
        console.log(`skipped ${item.rejected.where}: ${item.rejected.reason}`);
        continue;
      }
      const { routed, unmatched } = routeEvents([item.event]);
      for (const event of unmatched) {
        console.log(`skipped ${event.id}: ${event.reason}`);
      }
      for (const event of routed) await sender.add(event);
    }
    await sender.flush();
    if (run.follow) await new Promise(() => undefined);
    // Idle long enough for a failing event to use up its receives and be dead-lettered.
    const result = await pipeline.settle((maxReceiveCount + 1) * visibilityTimeoutSeconds * 1000 + 5000);
    const total = result.sent + refused;
    // The durable mirror (STREAM_RETENTION_HOURS): what a subscriber that missed all of it reads to catch up.
    if ((process.env.STREAM_RETENTION_HOURS ?? '').trim() !== '') {
      for (const line of await describeStreams(redisUrl, process.env.TOPIC_PREFIX || DEFAULT_TOPIC_PREFIX)) console.log(line);
    }
    console.log(
      `delivered ${result.delivered}/${total} events, ${result.deadLettered} dead-lettered${refused > 0 ? `, ${refused} refused by the queue` : ''}`,
    );
    return result.delivered === total ? 0 : 1;
  } finally {
    await shutdown();
  }
}
