import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { DEFAULT_ASSET_TOPIC_PREFIX, DEFAULT_TOPIC_PREFIX } from '../lambda/config.ts';
import { snapshotRunKey } from '../lambda/inventory-keys.ts';
import { SCRIPT_KEY } from '../lambda/redis-script.ts';
import { CliError, oneLine } from './cli.ts';
import { bodyKey } from './delivery-tally.ts';
import { DEFAULT_SIMULATED_ACCOUNT } from './ec2-simulator.ts';
import { readEvents } from './event-stream.ts';
import { type InventoryPipeline, startInventoryPipeline } from './inventory-pipeline.ts';
import {
  describeForInventory,
  type InventoryMessage,
  type InventorySubscriber,
  startInventorySubscriber,
} from './inventory-subscriber.ts';
import { describeChange, inventoryTable } from './inventory-table.ts';
import { askNoMetadataService } from './local-credentials.ts';
import { localRedisClient } from './local-redis.ts';
import { createOrderedSender } from './ordered-sender.ts';
import { checkOwnPermissions } from './own-permissions.ts';
import { type Pipeline, startPipeline } from './pipeline.ts';
import { functionLogger } from './poller-cli.ts';
import { checkRedis, checkSettings, redisAddress, withCredentials } from './preflight.ts';
import { type RedisServer, startRedisServer } from './redis-server.ts';
import { type RoutedEvent, routeEvent } from './router.ts';
import { exitCode, type RunCounts, summaryLine } from './run-summary.ts';
import { describeStreams } from './stream-catch-up.ts';
import { createOutput, type Output, watchReader } from './terminal.ts';

export interface Input {
  readonly source: string;
  open(): Readable;
}

export interface LocalRun {
  readonly input: Input;
  /** The local queue's region (its name and URL carry it, as deployed). */
  readonly region: string;
  readonly follow: boolean;
  readonly verbose: boolean;
  readonly maxReceiveCount: number;
  readonly visibilityTimeoutSeconds: number;
  readonly concurrency: number;
  /** The inventory too (docs/inventory.md): a simulated EC2 the events' changes are applied to, and one reconcile at the end. */
  readonly inventory: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** How long the run waits without progress before it ends. @default idleLimitMs(visibilityTimeoutSeconds) */
  readonly idleLimitMs?: number;
  /** Where its lines go. @default stdout */
  readonly output?: Output;
  /** Where the function's JSON log lines go. @default stderr */
  readonly functionLog?: (line: string) => void;
}

/** At most this many events wait in the local queue: a large input is read as fast as it is delivered. */
const QUEUE_BACKLOG_LIMIT = 500;

/** Skipped input is reported line by line up to this many; the summary counts the rest. */
const SKIPS_SHOWN = 20;

const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
type StopSignal = keyof typeof SIGNAL_EXIT_CODES;

/**
 * A run with events in the queue and no progress (nothing delivered, dead-lettered or missed) for this long ends.
 * Failures are transient (Redis down, refusing): the function retries them for as long as the queue keeps them and
 * never dead-letters them, so waiting for maxReceiveCount would wait for hours. A minute for Redis to come back,
 * plus two visibility timeouts for the retried records to be received again after it did.
 */
export function idleLimitMs(visibilityTimeoutSeconds: number): number {
  return 60_000 + 2 * visibilityTimeoutSeconds * 1000;
}

/** `npm start`: the input through the local pipeline; returns the exit code (130 or 143 when stopped by a signal). */
export async function runLocal(run: LocalRun): Promise<number> {
  // A local run: the secret of REDIS_AUTH_SECRET_ARN is read with credentials from the environment or ~/.aws only.
  askNoMetadataService();
  const output = run.output ?? createOutput();
  // Set once the summary is out: it stays the last line, whatever the pipeline still does (a batch in flight, its
  // shutdown) after it.
  let quiet = false;
  const say = (line: string) => {
    if (!quiet) output.say(line);
  };
  // `npm start 2>&1 | head`: a closed stderr is a reader gone too.
  const log = run.functionLog === undefined ? watchReader(process.stderr) : undefined;
  const writeLog =
    run.functionLog ??
    ((line: string) => {
      if (log?.gone() !== true) process.stderr.write(line);
    });
  const givenUrl = run.env.REDIS_URL?.trim() ?? '';
  const assetTopicPrefix = run.env.ASSET_TOPIC_PREFIX || DEFAULT_ASSET_TOPIC_PREFIX;
  // Every setting is checked before anything starts or any input is read (the URL itself once there is one).
  checkSettings({ ...run.env, REDIS_URL: givenUrl === '' ? 'redis://127.0.0.1:6379' : givenUrl });
  let redisServer: RedisServer | undefined;
  // npm start's own clients (subscribers, the reads at the end) use this: REDIS_URL with the secret's credentials.
  let redisUrl = givenUrl;
  if (redisUrl === '') {
    try {
      redisServer = await startRedisServer();
    } catch (error) {
      throw new CliError(`${(error as Error).message}\n(or point REDIS_URL at a Redis you have)`, 2);
    }
    redisUrl = redisServer.url;
    say(`redis: a throwaway redis-server on port ${redisServer.port}`);
  } else {
    const config = checkSettings({ ...run.env, REDIS_URL: redisUrl });
    redisUrl = withCredentials(givenUrl, await checkRedis(config));
    await checkOwnPermissions(redisUrl, {
      patterns: [`${config.topicPrefix}*`, ...(run.inventory ? [`${assetTopicPrefix}*`] : [])],
      streams: config.streamRetentionHours === undefined ? undefined : `${SCRIPT_KEY}:${config.topicPrefix}*`,
      inventory: run.inventory ? { account: DEFAULT_SIMULATED_ACCOUNT, region: run.region } : undefined,
    });
    say(`redis: REDIS_URL (${redisAddress(givenUrl)})`);
  }

  let pipeline: Pipeline;
  let inventory: InventoryPipeline | undefined;
  let changes: InventorySubscriber | undefined;
  try {
    const logger = functionLogger(run.verbose, (line) => {
      if (!quiet) writeLog(line);
    });
    const options = {
      region: run.region,
      redisUrl,
      // The function reads the secret itself, as deployed.
      functionRedisUrl: givenUrl || redisUrl,
      maxReceiveCount: run.maxReceiveCount,
      visibilityTimeoutSeconds: run.visibilityTimeoutSeconds,
      concurrency: run.concurrency,
      functionLogger: logger,
      functionEnv: run.env,
      onMessage: (message: InventoryMessage) => say(`inventory <- ${describeForInventory(message)}`),
    };
    if (run.inventory) {
      inventory = await startInventoryPipeline({ ...options, describerLogger: logger });
      pipeline = inventory.pipeline;
      changes = await startInventorySubscriber(redisUrl, assetTopicPrefix, (message) =>
        say(`changes <- ${describeChange(message)}`),
      );
      say(`ec2: a simulated EC2 (${inventory.ec2.endpoint}) that each event's change is applied to, as it happened in AWS`);
    } else {
      pipeline = await startPipeline(options);
    }
  } catch (error) {
    await inventory?.close();
    await redisServer?.stop();
    throw error;
  }
  say(
    `queue: ${pipeline.queue.queueUrl} (local, maxReceiveCount ${run.maxReceiveCount}, visibility ${run.visibilityTimeoutSeconds} s)`,
  );

  // Ends the replay wherever it waits: a signal, the reader gone (`npm start | head -2`), or no progress for too long.
  const stop = new AbortController();
  let signalled: StopSignal | undefined;
  let readerGone = false;
  const onSignal = (signal: StopSignal) => {
    // A second signal, or one with nobody left to read a summary: nothing more is worth waiting for.
    if (signalled !== undefined || readerGone) process.exit(SIGNAL_EXIT_CODES[signal]);
    signalled = signal;
    stop.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  void Promise.race([output.closed, ...(log === undefined ? [] : [log.closed])]).then(() => {
    readerGone = true;
    stop.abort('closed');
  });
  const replay = createReplay(run, pipeline, redisUrl, stop, inventory, say);
  try {
    await replay.run(run.input.open());
    const counts = await replay.counts();
    if (signalled !== undefined) {
      output.say(`${signalled}: stopped; ${summaryLine(counts)}`);
      return SIGNAL_EXIT_CODES[signalled];
    }
    if (readerGone) return 0;
    output.say(summaryLine(counts));
    return exitCode(counts);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // Before the pipeline's shutdown, which may still finish a batch.
    quiet = true;
    await changes?.close();
    await (inventory ?? pipeline).close();
    await redisServer?.stop();
  }
}

/** Reading, routing and sending the input, then waiting for what was sent, with the counts of the summary. */
function createReplay(
  run: LocalRun,
  pipeline: Pipeline,
  redisUrl: string,
  stop: AbortController,
  inventory: InventoryPipeline | undefined,
  say: (line: string) => void,
) {
  const idleMs = run.idleLimitMs ?? idleLimitMs(run.visibilityTimeoutSeconds);
  const { signal } = stop;
  const limit = pipeline.queue.maxMessageBytes;
  const tally = { tooLarge: 0, unreadable: 0, repeats: 0, unshown: 0, inventoryQueued: 0 };
  const bodies = new Set<string>();
  const bodyOfId = new Map<string, string>();
  const regionsNoted = new Set<string>();
  let skips = 0;

  /** One line per skipped input, up to SKIPS_SHOWN: 50 MB of random bytes are not 387,000 lines. */
  const skipped = (line: string) => {
    skips += 1;
    if (skips <= SKIPS_SHOWN) say(line);
    else tally.unshown += 1;
    if (skips === SKIPS_SHOWN + 1) say('more input is skipped: it is not shown line by line, the summary counts it');
  };

  /** No progress for the idle limit with `waiting` in the queues: the run ends, saying so. */
  const stall = (waiting: string) => {
    say(
      `no progress for ${Math.round(idleMs / 1000)} s with ${waiting} (is Redis up? the function's log lines on stderr say why): stopping`,
    );
    stop.abort('stalled');
  };

  /** Waits until at most `backlog` events are in the queue; no progress for the idle limit ends the run. */
  const waitForQueue = async (backlog: number) => {
    if ((await pipeline.waitForRoom(backlog, idleMs, signal)) || signal.aborted) return;
    const { pending } = await pipeline.progress();
    stall(`${pending} ${pending === 1 ? 'event' : 'events'} in the queue`);
  };

  /** Waits until the inventory applied everything (--inventory); no progress for the idle limit ends the run. */
  const settleInventory = async (applying: InventoryPipeline) => {
    tally.inventoryQueued = await applying.settle(idleMs, signal);
    if (tally.inventoryQueued > 0 && !signal.aborted) {
      stall(`${tally.inventoryQueued} inventory ${tally.inventoryQueued === 1 ? 'message' : 'messages'} in the queues`);
    }
    return !signal.aborted;
  };

  const sender = createOrderedSender(
    async (events: readonly RoutedEvent[]) => {
      if (inventory === undefined) return pipeline.send(events);
      // The change each event reports happened in EC2 first; then EventBridge delivers it to both targets.
      for (const event of events) inventory.ec2.applyEvent(JSON.parse(event.body) as Record<string, unknown>);
      return inventory.deliver(events);
    },
    ({ event, reason }) => say(`not sent ${event.id}: ${reason}`),
    { beforeSend: () => waitForQueue(QUEUE_BACKLOG_LIMIT), signal },
  );
  const counts = async (): Promise<RunCounts> => ({ progress: await pipeline.progress(), unsent: sender.unsent(), ...tally });

  /** Notes what a reader of the summary would otherwise not know; returns the event to send, if any. */
  const admit = (where: string, event: Record<string, unknown>, body: string): RoutedEvent | undefined => {
    const routed = routeEvent(event, body);
    if (!('rule' in routed)) {
      skipped(`skipped ${routed.id}: ${routed.reason}`);
      return undefined;
    }
    const size = Buffer.byteLength(body);
    if (size > limit) {
      tally.tooLarge += 1;
      skipped(`skipped ${where} (${routed.id}): ${size} bytes, more than the ${limit} an SQS message holds`);
      return undefined;
    }
    if (typeof event.region === 'string' && event.region !== run.region && !regionsNoted.has(event.region)) {
      regionsNoted.add(event.region);
      say(
        `note: events of ${event.region} go through ${run.region}'s local queue here; deployed, only ${event.region}'s stack sees them (--region ${event.region})`,
      );
    }
    const key = bodyKey(body);
    if (bodies.has(key)) {
      tally.repeats += 1;
      say(`note ${where}: the same body as an earlier event: the queue's content-based deduplication drops it`);
    } else {
      bodies.add(key);
      const earlier = typeof event.id === 'string' ? bodyOfId.get(event.id) : undefined;
      if (earlier !== undefined && earlier !== key) {
        say(`note ${where}: id ${routed.id} was used by another event; consumers that dedupe by id would keep only one`);
      } else if (typeof event.id === 'string') {
        bodyOfId.set(event.id, key);
      }
    }
    return routed;
  };

  return {
    counts,
    /** Until everything read was delivered, or the run was stopped (then what it has is what the summary counts). */
    async run(input: Readable): Promise<void> {
      say(
        run.follow
          ? 'following stdin: one EventBridge event (JSON) per line; Ctrl-C to stop'
          : `reading events from ${run.input.source}`,
      );
      for await (const item of readEvents(input, { linesOnly: run.follow, region: run.region, signal })) {
        if (signal.aborted) break;
        if (item.kind === 'rejected') {
          tally.unreadable += 1;
          skipped(`skipped ${item.where}: ${item.reason}`);
          continue;
        }
        let routed: RoutedEvent | undefined;
        try {
          routed = admit(item.where, item.event, item.body);
        } catch (error) {
          // One event that breaks the router must not end the run: it is reported, and the rest goes on.
          tally.unreadable += 1;
          skipped(`skipped ${item.where}: ${oneLine(error)}`);
        }
        if (routed !== undefined) await sender.add(routed);
      }
      input.destroy();
      await sender.flush();
      // --follow runs until Ctrl-C, even once stdin is closed.
      if (run.follow && !signal.aborted) await once(signal, 'abort');
      await waitForQueue(0);
      if (signal.aborted) return;
      await pipeline.settle(idleMs, signal);
      if (inventory !== undefined) await reconcileAndShow(inventory, redisUrl, settleInventory, say);
      // The durable mirror (STREAM_RETENTION_HOURS): what a subscriber that missed all of it reads to catch up.
      if ((run.env.STREAM_RETENTION_HOURS ?? '').trim() !== '' && !signal.aborted) {
        for (const line of await describeStreams(redisUrl, run.env.TOPIC_PREFIX || DEFAULT_TOPIC_PREFIX)) say(line);
      }
    },
  };
}

/** The end of an inventory run: everything described, one reconcile run (as the schedule starts it), the table. */
async function reconcileAndShow(
  inventory: InventoryPipeline,
  redisUrl: string,
  /** Waits for the inventory to apply what is queued; false when the run stops instead. */
  settle: (inventory: InventoryPipeline) => Promise<boolean>,
  say: (line: string) => void,
) {
  if (!(await settle(inventory))) return;
  const { snapshotId } = await inventory.reconcile();
  if (!(await settle(inventory))) return;
  const redis = localRedisClient(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    const key = snapshotRunKey(
      snapshotId,
      inventory.account,
      inventory.pipeline.queue.queueUrl.match(/sqs\.([a-z0-9-]+)\./)?.[1] ?? '',
    );
    const [created, updated, deleted, loaded] = (await redis.hmget(key, 'created', 'updated', 'deleted', 'loaded')).map(
      (count) => count ?? '0',
    );
    say(
      `reconcile ${snapshotId}: it corrected ${created} missed creates, ${updated} missed changes, ${deleted} missed deletes; ${loaded} ${loaded === '1' ? 'change' : 'changes'} came with types listed for the first time`,
    );
  } finally {
    redis.disconnect();
  }
  for (const line of inventoryTable(await inventory.records())) say(`  ${line}`);
}
