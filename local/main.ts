import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DEFAULT_MAX_RECEIVE_COUNT } from '../infra/config.ts';
import { createHandler } from '../lambda/handler.ts';
import { createJsonLogger, type Logger } from '../lambda/log.ts';
import { parseEvents } from './events-input.ts';
import { describeForInventory } from './inventory-subscriber.ts';
import { startPipeline } from './pipeline.ts';
import { startPoller } from './poller.ts';
import { type RedisServer, startRedisServer } from './redis-server.ts';
import { routeEvents } from './router.ts';

const USAGE = `Usage:
  npm start                               replay the sample events through the whole pipeline, locally
  npm start < events.jsonl                replay JSON lines from stdin (or --events FILE: JSON lines, an array, {"Events": [...]})
  npm start -- --follow                   keep running and read events from stdin as they come
  npm start -- --queue-url URL [--region R]   poll mode: only the poller, against a real SQS FIFO queue

Options:
  --events FILE             events to replay
  --follow                  do not exit when the input is done
  --region R                region of the queue (default: AWS_REGION or us-east-1)
  --max-receive-count N     receives before dead-lettering, local queue (default ${DEFAULT_MAX_RECEIVE_COUNT}, as deployed)
  --visibility-timeout S    local queue visibility timeout in seconds (default 5; deployed: 6x the function timeout)
  --verbose                 print every function log line (default: warnings and errors)

Environment: REDIS_URL (default: a throwaway redis-server on a free port), TOPIC_PREFIX, REQUIRE_SUBSCRIBER,
REDIS_AUTH_SECRET_ARN; in poll mode the standard AWS credential chain.`;

const { values } = parseArgs({
  options: {
    'queue-url': { type: 'string' },
    region: { type: 'string' },
    events: { type: 'string' },
    follow: { type: 'boolean', default: false },
    'max-receive-count': { type: 'string' },
    'visibility-timeout': { type: 'string' },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const region = values.region ?? process.env.AWS_REGION ?? 'us-east-1';
const functionLogger = functionLogs(values.verbose);

if (values['queue-url'] !== undefined) await pollMode(values['queue-url']);
else process.exitCode = await localPipeline();

/** Function log lines go to stderr; without --verbose only warnings and errors. */
function functionLogs(verbose: boolean): Logger {
  return createJsonLogger((line) => {
    if (verbose || !line.includes('"level":"INFO"')) process.stderr.write(`${line}\n`);
  });
}

function wholeNumber(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`--${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
    process.exit(2);
  }
  return value;
}

async function pollMode(queueUrl: string): Promise<void> {
  if (!queueUrl.endsWith('.fifo')) console.error('warning: the queue is not FIFO; order within a group is not kept');
  const sqs = new SQSClient({ region });
  const handler = createHandler({ logger: functionLogger });
  const poller = startPoller({ sqs, queueUrl, region, handler, logger: functionLogger, waitTimeSeconds: 20 });
  console.error(`polling ${queueUrl} (Ctrl-C or SIGTERM finishes the batch in flight and exits)`);
  const shutdown = async () => {
    console.error('stopping: finishing the batch in flight');
    await poller.stop();
    await handler.close();
    sqs.destroy();
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  await poller.stopped;
}

async function readInput(): Promise<{ text: string; source: string }> {
  if (values.events !== undefined) return { text: readFileSync(values.events, 'utf8'), source: values.events };
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() !== '') return { text, source: 'stdin' };
  }
  const samples = new URL('../events/sample-events.jsonl', import.meta.url);
  return { text: readFileSync(samples, 'utf8'), source: 'the sample events (events/sample-events.jsonl)' };
}

async function localPipeline(): Promise<number> {
  const maxReceiveCount = wholeNumber('max-receive-count', values['max-receive-count'], DEFAULT_MAX_RECEIVE_COUNT, 1, 1000);
  const visibilityTimeoutSeconds = wholeNumber('visibility-timeout', values['visibility-timeout'], 5, 1, 43_200);

  let redisServer: RedisServer | undefined;
  let redisUrl = process.env.REDIS_URL;
  if (redisUrl === undefined || redisUrl === '') {
    try {
      redisServer = await startRedisServer();
    } catch (error) {
      console.error(`${(error as Error).message}\n(or point REDIS_URL at a Redis you have)`);
      return 2;
    }
    redisUrl = redisServer.url;
    console.log(`redis: a throwaway redis-server on port ${redisServer.port}`);
  } else {
    console.log('redis: REDIS_URL');
  }

  let pipeline: Awaited<ReturnType<typeof startPipeline>>;
  try {
    pipeline = await startPipeline({
      region,
      redisUrl,
      maxReceiveCount,
      visibilityTimeoutSeconds,
      functionLogger,
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
    if (values.follow) {
      await followStdin(pipeline.send);
      await new Promise(() => undefined);
    }
    const { text, source } = await readInput();
    const parsed = parseEvents(text);
    for (const { where, reason } of parsed.rejected) console.log(`skipped ${where}: ${reason}`);
    const { routed, unmatched } = routeEvents(parsed.events);
    for (const event of unmatched) {
      console.log(`skipped ${event.id}: ${event.reason}`);
    }
    console.log(`replaying ${routed.length} events from ${source}`);
    await pipeline.send(routed);
    // Idle long enough for a failing event to use up its receives and be dead-lettered.
    const result = await pipeline.settle((maxReceiveCount + 1) * visibilityTimeoutSeconds * 1000 + 5000);
    console.log(`delivered ${result.delivered}/${result.sent} events, ${result.deadLettered} dead-lettered`);
    return result.delivered === result.sent ? 0 : 1;
  } finally {
    await shutdown();
  }
}

async function followStdin(send: (events: ReturnType<typeof routeEvents>['routed']) => Promise<void>): Promise<void> {
  console.log('following stdin: one EventBridge event (JSON) per line; Ctrl-C to stop');
  let buffered = '';
  process.stdin.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    const parsed = parseEvents(lines.join('\n'));
    for (const { where, reason } of parsed.rejected) console.log(`skipped ${where}: ${reason}`);
    const { routed, unmatched } = routeEvents(parsed.events);
    for (const event of unmatched) console.log(`skipped ${event.id}: ${event.reason}`);
    if (routed.length > 0) send(routed).catch((error: Error) => console.error(`send failed: ${error.message}`));
  });
}
