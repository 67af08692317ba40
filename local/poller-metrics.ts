import { AsyncLocalStorage } from 'node:async_hooks';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DEFAULT_METRICS_NAMESPACE } from '../lambda/config.ts';
import type { LogFields, Logger } from '../lambda/log.ts';
import { METRIC_NAMES } from '../lambda/metric-names.ts';
import type { BatchHandler } from './poller.ts';
import { MetricsBuffer, type MetricsRequest } from './poller-metrics-data.ts';
import { explainAwsError } from './preflight.ts';

/** Metrics go out at most this often (and once more at exit): one PutMetricData per region and minute, not per batch. */
export const METRICS_INTERVAL_MS = 60_000;
/** A flush gives up after this; what it could not send waits for the next one. */
export const METRICS_FLUSH_TIMEOUT_MS = 10_000;
/** The start-up check and the flush at exit wait this long at most: a stop stays within systemd's stop timeout. */
export const METRICS_QUICK_TIMEOUT_MS = 5000;
/** What CloudWatch did not take is sent again with later flushes for this long, then dropped: memory stays bounded. */
export const MAX_UNSENT_AGE_MS = 15 * 60_000;

export const UNSENT_WARNING =
  'metrics not sent to CloudWatch: kept and sent again with the next ones, for up to 15 minutes (droppedUnsent: those older, dropped)';

/** The record counts every batch reports, sent as zeros at start: the permission check is the call the poller makes. */
const START_COUNTS = [
  METRIC_NAMES.published,
  METRIC_NAMES.failed,
  METRIC_NAMES.outcomeUnknown,
  METRIC_NAMES.parked,
  METRIC_NAMES.zeroReceivers,
];

export interface PollerMetricsOptions {
  readonly regions: readonly string[];
  /** The function's metric settings: what its summary lines name. */
  readonly namespace: string;
  readonly functionName: string;
  /** Where a run-time failure to send is said (a WARN line, at most once a minute). */
  readonly logger: Logger;
  readonly now?: () => number;
}

export interface MetricsFailure {
  readonly region: string;
  /** What went wrong, in words that say what to fix. */
  readonly reason: string;
}

export interface PollerMetrics {
  /** The function's logger, unchanged, seeing each summary line's metrics on their way to the log. */
  observe(logger: Logger): Logger;
  /** A queue's handler: the batches it runs count in the queue's region, where that region's dashboard reads them. */
  inRegion(region: string, handler: BatchHandler): BatchHandler;
  /** At start: sends zero record counts to each region; one line for each region whose CloudWatch refused them. */
  check(): Promise<string[]>;
  /** Sends once a minute from now on; a failure is one WARN line, at most once a minute. */
  start(): void;
  /** Sends what was gathered (after a flush in flight); what CloudWatch did not take is kept for the next one. */
  flush(timeoutMs?: number): Promise<MetricsFailure[]>;
  /** At exit: stops the timer and sends the rest; a failure is said once. */
  close(): Promise<void>;
}

interface Pending extends MetricsRequest {
  readonly createdAt: number;
}

/**
 * The poller's metrics for CloudWatch: what the function's summary lines carry in embedded metric format (which
 * Lambda turns into metrics and a process does not), gathered in memory and sent with PutMetricData to each queue's
 * region. Nothing here waits in a batch's path: a batch only adds to the buffer.
 */
export function createPollerMetrics(options: PollerMetricsOptions): PollerMetrics {
  const now = options.now ?? Date.now;
  const buffer = new MetricsBuffer();
  const queueRegion = new AsyncLocalStorage<string>();
  const clients = new Map<string, CloudWatchClient>();
  const pending = new Set<Pending>();
  let inFlight: Promise<MetricsFailure[]> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let lastWarningAt = Number.NEGATIVE_INFINITY;
  /** Datums dropped unsent since the last warning. */
  let dropped = 0;
  let closed: Promise<void> | undefined;
  /** Ends the flush in flight at once. */
  let cutShort = () => {};

  const clientFor = (region: string) => {
    let client = clients.get(region);
    if (client === undefined) {
      // The endpoint comes from the standard chain too: AWS_ENDPOINT_URL_CLOUDWATCH (a VPC endpoint, a test).
      client = new CloudWatchClient({ region });
      clients.set(region, client);
    }
    return client;
  };

  const send = async (timeoutMs: number): Promise<MetricsFailure[]> => {
    const at = now();
    for (const request of buffer.drain()) pending.add({ ...request, createdAt: at });
    for (const request of pending) {
      if (at - request.createdAt > MAX_UNSENT_AGE_MS) {
        pending.delete(request);
        dropped += request.datums.length;
      }
    }
    // One deadline for the whole flush, however many requests and regions; a stop cuts it short.
    const cut = new AbortController();
    cutShort = () => cut.abort();
    const abortSignal = AbortSignal.any([AbortSignal.timeout(timeoutMs), cut.signal]);
    const regions = Map.groupBy(pending, (request) => request.region);
    const failures = await Promise.all(
      [...regions].map(async ([region, requests]): Promise<MetricsFailure | undefined> => {
        for (const request of requests) {
          try {
            await clientFor(region).send(
              new PutMetricDataCommand({ Namespace: request.namespace, MetricData: [...request.datums] }),
              { abortSignal },
            );
            pending.delete(request);
          } catch (error) {
            // The region's next requests would meet the same refusal or silence: they wait with this one.
            return { region, reason: explainAwsError(error) };
          }
        }
        return undefined;
      }),
    );
    return failures.filter((failure) => failure !== undefined);
  };

  const flush = (timeoutMs = METRICS_FLUSH_TIMEOUT_MS): Promise<MetricsFailure[]> => {
    const run = (inFlight ?? Promise.resolve([])).then(() => send(timeoutMs));
    inFlight = run;
    void run.finally(() => {
      if (inFlight === run) inFlight = undefined;
    });
    return run;
  };

  const warn = (failures: readonly MetricsFailure[], exiting: boolean) => {
    if (failures.length === 0 && dropped === 0) return;
    // At exit it is the last word: said even within a minute of the previous one.
    if (!exiting && now() - lastWarningAt < METRICS_INTERVAL_MS) return;
    lastWarningAt = now();
    options.logger.warn(exiting ? 'metrics not sent to CloudWatch at exit: they are lost' : UNSENT_WARNING, {
      ...(failures.length === 0 ? {} : { failures: Object.fromEntries(failures.map(({ region, reason }) => [region, reason])) }),
      ...(dropped === 0 ? {} : { droppedUnsent: dropped }),
    });
    dropped = 0;
  };

  return {
    observe(logger) {
      const see = (fields: LogFields | undefined) => {
        const region = queueRegion.getStore();
        if (region !== undefined && fields !== undefined) buffer.addEmf(region, fields);
      };
      return {
        info: (message, fields) => {
          see(fields);
          logger.info(message, fields);
        },
        warn: (message, fields) => {
          see(fields);
          logger.warn(message, fields);
        },
        error: (message, fields) => {
          see(fields);
          logger.error(message, fields);
        },
      };
    },

    inRegion: (region, handler) => (event, context) => queueRegion.run(region, () => handler(event, context)),

    async check() {
      const dimensions = [{ Name: 'FunctionName', Value: options.functionName }];
      for (const region of options.regions) {
        for (const name of START_COUNTS) {
          buffer.add({ region, namespace: options.namespace, name, unit: 'Count', dimensions, at: now() }, [0]);
        }
      }
      const failures = await flush(METRICS_QUICK_TIMEOUT_MS);
      const fix =
        options.namespace === DEFAULT_METRICS_NAMESPACE
          ? "attach the stack's PollerPolicyArn"
          : `the stack's PollerPolicyArn allows namespace ${DEFAULT_METRICS_NAMESPACE} only, not METRICS_NAMESPACE=${options.namespace}`;
      return failures.map(
        ({ region, reason }) =>
          `warning: CloudWatch in ${region} did not take the poller's metrics: ${reason}${reason.startsWith('access denied') ? ` (${fix})` : ''}. The poller runs on and sends them again each minute; --no-metrics turns them off`,
      );
    },

    start() {
      timer = setInterval(() => {
        // A flush still running (CloudWatch slow) is not queued behind: the next tick sends what both would have.
        if (inFlight === undefined) void flush().then((failures) => warn(failures, false));
      }, METRICS_INTERVAL_MS);
      // Never what keeps the process alive.
      timer.unref();
    },

    flush,

    close() {
      closed ??= (async () => {
        clearInterval(timer);
        // A flush in flight (CloudWatch slow) ends now, keeping what it had not sent, so the last one gets its time.
        cutShort();
        await inFlight;
        warn(await flush(METRICS_QUICK_TIMEOUT_MS), true);
        for (const client of clients.values()) client.destroy();
      })();
      return closed;
    },
  };
}
