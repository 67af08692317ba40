import type { SyncConfig } from './config.ts';
import { PrecedingRecordFailedError } from './errors.ts';
import type { LogFields, Logger } from './log.ts';
import type { RecordOutcome } from './publish-batch.ts';
import { eventAgeMs } from './records.ts';

export const METRIC_NAMES = {
  published: 'RecordsPublished',
  failed: 'RecordsFailed',
  zeroReceivers: 'ZeroReceiverPublishes',
  oldestEventAgeMs: 'OldestEventAge',
} as const;

export interface BatchSummary {
  readonly records: number;
  readonly published: number;
  readonly failed: number;
  readonly zeroReceivers: number;
  readonly groups: number;
  readonly durationMs: number;
  readonly oldestEventAgeMs: number | undefined;
}

/** One line per record outcome, then the invocation's summary, which carries the metrics (embedded metric format). */
export function reportBatch(
  outcomes: readonly RecordOutcome[],
  startedAt: number,
  metrics: Pick<SyncConfig, 'metricsNamespace' | 'functionName'>,
  logger: Logger,
): BatchSummary {
  const now = Date.now();
  let published = 0;
  let zeroReceivers = 0;
  let oldestEventAgeMs: number | undefined;
  for (const outcome of outcomes) {
    const fields = recordFields(outcome);
    const age = eventAgeMs(outcome.record, outcome.event, now);
    if (age !== undefined) oldestEventAgeMs = Math.max(oldestEventAgeMs ?? 0, age);
    if (outcome.receivers === 0) zeroReceivers += 1;
    if (outcome.error === undefined) {
      published += 1;
      if (outcome.receivers === 0) logger.warn('published to no subscriber', fields);
      else logger.info('published', fields);
    } else if (outcome.error instanceof PrecedingRecordFailedError) {
      logger.warn('held back behind a failed record of its group', fields);
    } else {
      logger.error('record failed', fields);
    }
  }

  const summary: BatchSummary = {
    records: outcomes.length,
    published,
    failed: outcomes.length - published,
    zeroReceivers,
    groups: new Set(outcomes.map((outcome) => outcome.group)).size,
    durationMs: now - startedAt,
    oldestEventAgeMs,
  };
  logger.info('batch processed', { ...summary, ...embeddedMetrics(summary, metrics, now) });
  return summary;
}

function recordFields(outcome: RecordOutcome): LogFields {
  const { record, event } = outcome;
  return {
    messageId: record.messageId,
    group: outcome.group,
    sequenceNumber: record.attributes?.SequenceNumber,
    receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? Number.NaN) || undefined,
    source: event?.source,
    detailType: event?.['detail-type'],
    resources: event?.resources,
    account: outcome.account,
    channel: outcome.channel,
    receivers: outcome.receivers,
    outcome: outcome.error === undefined ? 'published' : 'failed',
    error: outcome.error,
  };
}

function embeddedMetrics(
  summary: BatchSummary,
  { metricsNamespace, functionName }: Pick<SyncConfig, 'metricsNamespace' | 'functionName'>,
  timestamp: number,
): LogFields {
  const values: LogFields = {
    [METRIC_NAMES.published]: summary.published,
    [METRIC_NAMES.failed]: summary.failed,
    [METRIC_NAMES.zeroReceivers]: summary.zeroReceivers,
  };
  const metrics: { Name: string; Unit: string }[] = [
    { Name: METRIC_NAMES.published, Unit: 'Count' },
    { Name: METRIC_NAMES.failed, Unit: 'Count' },
    { Name: METRIC_NAMES.zeroReceivers, Unit: 'Count' },
  ];
  if (summary.oldestEventAgeMs !== undefined) {
    values[METRIC_NAMES.oldestEventAgeMs] = summary.oldestEventAgeMs;
    metrics.push({ Name: METRIC_NAMES.oldestEventAgeMs, Unit: 'Milliseconds' });
  }
  return {
    FunctionName: functionName,
    ...values,
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [{ Namespace: metricsNamespace, Dimensions: [['FunctionName']], Metrics: metrics }],
    },
  };
}
