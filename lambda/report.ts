import type { SyncConfig } from './config.ts';
import { OutcomeUnknownError, PacedError, PrecedingRecordFailedError } from './errors.ts';
import type { Logger } from './log.ts';
import { METRIC_NAMES } from './metric-names.ts';
import type { RecordOutcome } from './publish-batch.ts';
import { eventAgeMs } from './records.ts';

export interface BatchSummary {
  readonly records: number;
  readonly published: number;
  /** Every record SQS will deliver again, those of unknown outcome included. */
  readonly failed: number;
  /** Failed records that Redis may have published all the same (the call went out, no answer came in time). */
  readonly outcomeUnknown: number;
  /** Records that can never be published, moved to the dead-letter queue by the function: handled, not failed. */
  readonly parked: number;
  /** Inventory messages held back by the change feed's pacing: retried when it has budget, not failures. */
  readonly paced: number;
  /** Inventory messages applied (the inventory is on), and the records they created, changed or deleted. */
  readonly applied: number;
  readonly inventoryChanges: number;
  /** What reconcile snapshots of already listed types corrected: the changes live events missed. */
  readonly missed: { readonly created: number; readonly updated: number; readonly deleted: number };
  readonly zeroReceivers: number;
  readonly groups: number;
  readonly durationMs: number;
  readonly oldestEventAgeMs: number | undefined;
}

type Metrics = Pick<SyncConfig, 'metricsNamespace' | 'functionName'>;

/** One line per record outcome, then the invocation's summary, which carries the metrics (embedded metric format). */
export function reportBatch(
  outcomes: readonly RecordOutcome[],
  startedAt: number,
  metrics: Metrics,
  logger: Logger,
): BatchSummary {
  const now = Date.now();
  let published = 0;
  let outcomeUnknown = 0;
  let parked = 0;
  let paced = 0;
  let applied = 0;
  let inventoryChanges = 0;
  const missed = { created: 0, updated: 0, deleted: 0 };
  let zeroReceivers = 0;
  let oldestEventAgeMs: number | undefined;
  // Event time to publish, per published record that says when it happened: the end-to-end lag's distribution.
  const lags: number[] = [];
  for (const item of outcomes) {
    const { record, error } = item;
    const age = eventAgeMs(record, item.event, now);
    if (age !== undefined) oldestEventAgeMs = Math.max(oldestEventAgeMs ?? 0, age);
    if (error === undefined && typeof item.event?.time === 'string' && age !== undefined) lags.push(age);
    const fields = {
      messageId: record.messageId,
      group: item.group,
      sequenceNumber: record.attributes?.SequenceNumber,
      receiveCount: Number(record.attributes?.ApproximateReceiveCount) || undefined,
      source: item.event?.source,
      detailType: item.event?.['detail-type'],
      resources: item.event?.resources,
      account: item.account,
      accountFrom: item.accountFrom,
      channel: item.channel,
      // null in a cluster: PUBLISH counts only one node's subscribers there, so the count says nothing.
      receivers: item.receivers ?? undefined,
    };
    if (item.receivers === 0) zeroReceivers += 1;
    if (item.parkedIn !== undefined) {
      parked += 1;
      logger.warn('parked in the dead-letter queue: it can never be published', {
        ...fields,
        outcome: 'parked',
        deadLetterQueue: item.parkedIn,
        error,
      });
    } else if (error === undefined && item.applied !== undefined && item.inventory !== undefined) {
      applied += 1;
      const { snapshot, ...counts } = item.applied;
      inventoryChanges += counts.created + counts.updated + counts.deleted;
      if (snapshot?.seeded) {
        missed.created += counts.created;
        missed.updated += counts.updated;
        missed.deleted += counts.deleted;
      }
      const { type, observedAt, source } = item.inventory;
      logger.info('applied to the inventory', { ...fields, outcome: 'applied', type, observedAt, source, ...counts });
      if (snapshot?.runComplete && item.inventory.snapshot !== undefined) {
        logger.info('reconcile corrections', {
          snapshotId: item.inventory.snapshot.id,
          account: item.account,
          region: item.inventory.region,
          missedCreates: snapshot.run.created,
          missedChanges: snapshot.run.updated,
          missedDeletes: snapshot.run.deleted,
          // Types listed completely for the first time: what they brought was loaded, not missed.
          loaded: snapshot.run.loaded,
        });
      }
    } else if (error === undefined) {
      published += 1;
      if (item.receivers === 0) {
        logger.warn('published to no subscriber', { ...fields, outcome: 'published' });
      } else {
        logger.info('published', { ...fields, outcome: 'published' });
      }
    } else if (error instanceof OutcomeUnknownError) {
      outcomeUnknown += 1;
      logger.error('outcome unknown: Redis may have published it; SQS delivers it again', {
        ...fields,
        outcome: 'unknown',
        error,
      });
    } else if (error instanceof PacedError) {
      paced += 1;
      logger.info('paced: the change feed is at its budget; SQS delivers it again', {
        ...fields,
        outcome: 'paced',
        retryAfterSeconds: error.retryAfterSeconds,
      });
    } else if (error instanceof PrecedingRecordFailedError) {
      logger.warn('held back behind a failed record of its group', { ...fields, outcome: 'failed', error });
    } else {
      logger.error('record failed', { ...fields, outcome: 'failed', error, parkError: item.parkError });
    }
  }

  const summary: BatchSummary = {
    records: outcomes.length,
    published,
    failed: outcomes.length - published - parked - applied - paced,
    outcomeUnknown,
    parked,
    paced,
    applied,
    inventoryChanges,
    missed,
    zeroReceivers,
    groups: new Set(outcomes.map((item) => item.group)).size,
    durationMs: now - startedAt,
    oldestEventAgeMs,
  };
  logger.info('batch processed', { ...summary, ...embeddedMetrics(summary, lags, metrics, now) });
  return summary;
}

/** The summary's counts as CloudWatch metrics, in embedded metric format (the stack's alarms read them). */
function embeddedMetrics(
  summary: BatchSummary,
  lags: readonly number[],
  { metricsNamespace, functionName }: Metrics,
  timestamp: number,
) {
  const values: Record<string, number | readonly number[]> = {
    [METRIC_NAMES.published]: summary.published,
    [METRIC_NAMES.failed]: summary.failed,
    [METRIC_NAMES.outcomeUnknown]: summary.outcomeUnknown,
    [METRIC_NAMES.parked]: summary.parked,
    ...(summary.paced > 0 ? { [METRIC_NAMES.paced]: summary.paced } : {}),
    [METRIC_NAMES.zeroReceivers]: summary.zeroReceivers,
  };
  if (summary.oldestEventAgeMs !== undefined) values[METRIC_NAMES.oldestEventAgeMs] = summary.oldestEventAgeMs;
  if (summary.applied > 0) {
    values[METRIC_NAMES.inventoryChanges] = summary.inventoryChanges;
    values[METRIC_NAMES.missedCreates] = summary.missed.created;
    values[METRIC_NAMES.missedChanges] = summary.missed.updated;
    values[METRIC_NAMES.missedDeletes] = summary.missed.deleted;
  }
  // An array: CloudWatch keeps each value, so the dashboard can show the lag's p50 and p99.
  if (lags.length > 0) values[METRIC_NAMES.eventLagMs] = lags;
  const milliseconds: readonly string[] = [METRIC_NAMES.oldestEventAgeMs, METRIC_NAMES.eventLagMs];
  const units = Object.keys(values).map((Name) => ({
    Name,
    Unit: milliseconds.includes(Name) ? 'Milliseconds' : 'Count',
  }));
  return {
    FunctionName: functionName,
    ...values,
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [{ Namespace: metricsNamespace, Dimensions: [['FunctionName']], Metrics: units }],
    },
  };
}
