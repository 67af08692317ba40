import { accessSync, constants, createReadStream, fstatSync, statSync } from 'node:fs';
import { DEFAULT_MAX_RECEIVE_COUNT, regionProblem } from '../infra/config.ts';
import { CliError, parseFlags, runMain } from './cli.ts';
import { type Input, runLocal } from './local-run.ts';
import { POLLER_OPTIONS, pollQueues, wholeNumber } from './poller-cli.ts';

const USAGE = `Usage:
  npm start                               replay the sample events through the whole pipeline, locally
  npm start < events.jsonl                replay JSON lines from stdin (or --events FILE: JSON lines, an array, {"Events": [...]}, {"Entries": [...]})
  npm start -- --follow                   keep running and read events from stdin as they come
  npm start -- --queue-url URL [--queue-url URL ...]   poll mode: only the poller, against real SQS FIFO queues

Options:
  --events FILE             events to replay (a given but empty file or stdin replays nothing)
  --follow                  do not exit when the input is done; stdin is JSON lines, one event per line
  --inventory               the inventory too: each event's change is applied to a simulated EC2, the describer
                            keeps the records in Redis, one reconcile runs at the end, then the inventory as a table
  --queue-url URL           poll mode (repeatable; each queue's region from its URL); see node dist/poller.mjs --help
  --endpoint-url URL        poll mode: an SQS emulator's endpoint
  --wait-time-seconds S     poll mode: long polling, 1 to 20 (default 20)
  --no-metrics, --metrics   poll mode: send the function's metrics to CloudWatch or not (default: yes, unless the
                            queues are on this machine)
  --region R                the local queue's region; poll mode: of a queue URL that names none (default AWS_REGION)
  --concurrency N           batches in flight, as Lambda's concurrent invocations (default 2; poll mode: per queue)
  --max-receive-count N     receives before dead-lettering, local queue (default ${DEFAULT_MAX_RECEIVE_COUNT}, as deployed)
  --visibility-timeout S    local queue visibility timeout in seconds (default 5; deployed: 6x the function timeout)
  --verbose                 print every function log line (default: warnings and errors)
  --help                    this text

With no input at all (stdin a terminal or /dev/null, no --events) the sample events are replayed.
Events that fail are retried, never dead-lettered for a transient failure (Redis down or refusing): a run that makes
no progress for 60 s plus twice the visibility timeout (70 s by default) ends, saying what is still queued (exit 1).
Exit: 0 all delivered, 1 something not delivered or some input not an event, 2 a usage or settings error,
130 stopped by Ctrl-C (143 by SIGTERM), after a summary of what was delivered so far.
Environment: REDIS_URL (default: a throwaway redis-server on a free port), TOPIC_PREFIX, REQUIRE_SUBSCRIBER,
REDIS_AUTH_SECRET_ARN, REDIS_CLUSTER, STREAM_RETENTION_HOURS (the durable mirror: ends with what each account's
stream holds); in poll mode the standard AWS credential chain.`;

const SAMPLES = new URL('../events/sample-events.jsonl', import.meta.url).pathname;

const OPTIONS = {
  ...POLLER_OPTIONS,
  events: { type: 'string' },
  follow: { type: 'boolean', default: false },
  inventory: { type: 'boolean', default: false },
  'max-receive-count': { type: 'string' },
  'visibility-timeout': { type: 'string' },
} as const;

/** What only a local run takes; poll mode refuses it rather than ignore it. */
const LOCAL_ONLY = ['events', 'follow', 'inventory', 'max-receive-count', 'visibility-timeout'] as const;

await runMain(() => main(process.argv.slice(2)));

async function main(argv: readonly string[]): Promise<number> {
  const values = parseFlags(argv, OPTIONS, USAGE);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const concurrency = wholeNumber('concurrency', values.concurrency, 2, 1, 10);
  // As synth checks its regions: a typo would name a queue, and its URL, after no region at all.
  const badRegion = values.region === undefined ? undefined : regionProblem(values.region);
  if (badRegion !== undefined) throw new CliError(`--region ${badRegion}`, 2);
  if (values['queue-url'] !== undefined) {
    const local = LOCAL_ONLY.find((flag) => values[flag] !== undefined && values[flag] !== false);
    if (local !== undefined) throw new CliError(`--${local} is for a local run: poll mode (--queue-url) does not take it`, 2);
    return pollQueues({
      queueUrls: values['queue-url'],
      endpointUrl: values['endpoint-url'],
      region: values.region,
      concurrency,
      waitTimeSeconds: wholeNumber('wait-time-seconds', values['wait-time-seconds'], 20, 1, 20),
      verbose: values.verbose,
      metrics: values.metrics,
      env: process.env,
    });
  }
  for (const flag of ['endpoint-url', 'wait-time-seconds', 'metrics'] as const) {
    if (values[flag] !== undefined) throw new CliError(`--${flag} goes with --queue-url\n\n${USAGE}`, 2);
  }
  if (values.follow && values.events !== undefined) throw new CliError('--follow reads stdin: it does not take --events', 2);
  return runLocal({
    input: values.follow ? stdinInput() : chooseInput(values.events),
    region: values.region ?? process.env.AWS_REGION ?? 'us-east-1',
    follow: values.follow,
    verbose: values.verbose,
    maxReceiveCount: wholeNumber('max-receive-count', values['max-receive-count'], DEFAULT_MAX_RECEIVE_COUNT, 1, 1000),
    visibilityTimeoutSeconds: wholeNumber('visibility-timeout', values['visibility-timeout'], 5, 1, 43_200),
    concurrency,
    inventory: values.inventory,
    env: process.env,
  });
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
