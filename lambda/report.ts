import type { SyncConfig } from './config.ts';
import { describeError, PrecedingRecordFailedError } from './errors.ts';
import { type Logger, members } from './log.ts';
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

/** What is logged of a record before its outcome is known, already serialized. */
export interface RecordDescription {
  readonly members: string;
  readonly ageMs: number | undefined;
}

type Described = Pick<RecordOutcome, 'record' | 'group' | 'event' | 'account' | 'channel'>;

/** Serializes the fields a record's line carries whatever its outcome; the handler does it while Redis answers. */
export function describeRecords(items: readonly Described[], now = Date.now()): RecordDescription[] {
  return items.map(({ record, group, event, account, channel }) => ({
    members: members({
      messageId: record.messageId,
      group,
      sequenceNumber: record.attributes?.SequenceNumber,
      receiveCount: Number(record.attributes?.ApproximateReceiveCount ?? Number.NaN) || undefined,
      source: event?.source,
      detailType: event?.['detail-type'],
      resources: event?.resources,
      account,
      channel,
    }),
    ageMs: eventAgeMs(record, event, now),
  }));
}

/** One line per record outcome, then the invocation's summary, which carries the metrics (embedded metric format). */
export function reportBatch(
  outcomes: readonly RecordOutcome[],
  descriptions: readonly RecordDescription[],
  startedAt: number,
  metrics: Pick<SyncConfig, 'metricsNamespace' | 'functionName'>,
  logger: Logger,
): BatchSummary {
  const now = Date.now();
  let published = 0;
  let zeroReceivers = 0;
  let oldestEventAgeMs: number | undefined;
  for (const [index, outcome] of outcomes.entries()) {
    const description = descriptions[index];
    const age = description?.ageMs;
    if (age !== undefined) oldestEventAgeMs = Math.max(oldestEventAgeMs ?? 0, age);
    if (outcome.receivers === 0) zeroReceivers += 1;
    const receivers = outcome.receivers === undefined ? '' : `,"receivers":${outcome.receivers}`;
    const head = description?.members ?? '';
    if (outcome.error === undefined) {
      published += 1;
      const fields = `${head}${receivers},"outcome":"published"`;
      if (outcome.receivers === 0) logger.line('WARN', 'published to no subscriber', fields);
      else logger.line('INFO', 'published', fields);
    } else {
      const fields = `${head}${receivers},"outcome":"failed","error":${JSON.stringify(describeError(outcome.error))}`;
      if (outcome.error instanceof PrecedingRecordFailedError) {
        logger.line('WARN', 'held back behind a failed record of its group', fields);
      } else {
        logger.line('ERROR', 'record failed', fields);
      }
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
  logger.line('INFO', 'batch processed', summaryMembers(summary, metrics, now));
  return summary;
}

const COUNT_METRICS = [METRIC_NAMES.published, METRIC_NAMES.failed, METRIC_NAMES.zeroReceivers].map((Name) => ({
  Name,
  Unit: 'Count',
}));
const METRICS_WITHOUT_AGE = JSON.stringify(COUNT_METRICS);
const METRICS_WITH_AGE = JSON.stringify([...COUNT_METRICS, { Name: METRIC_NAMES.oldestEventAgeMs, Unit: 'Milliseconds' }]);

/**
 * The summary's fields and its metrics in CloudWatch embedded metric format, as JSON object members. Written out
 * rather than built as an object and stringified: it is on every invocation's path after Redis answers, and all but
 * two of its values are integers.
 */
function summaryMembers(
  summary: BatchSummary,
  { metricsNamespace, functionName }: Pick<SyncConfig, 'metricsNamespace' | 'functionName'>,
  timestamp: number,
): string {
  const { records, published, failed, zeroReceivers, groups, durationMs, oldestEventAgeMs: age } = summary;
  const counts = `"records":${records},"published":${published},"failed":${failed},"zeroReceivers":${zeroReceivers}`;
  const fields = `${counts},"groups":${groups},"durationMs":${durationMs}${age === undefined ? '' : `,"oldestEventAgeMs":${age}`}`;
  const values =
    `"${METRIC_NAMES.published}":${published},"${METRIC_NAMES.failed}":${failed},` +
    `"${METRIC_NAMES.zeroReceivers}":${zeroReceivers}${age === undefined ? '' : `,"${METRIC_NAMES.oldestEventAgeMs}":${age}`}`;
  const names = quotedNames(metricsNamespace, functionName);
  const directive = age === undefined ? names.directiveWithoutAge : names.directiveWithAge;
  return `${fields},"FunctionName":${names.functionName},${values},"_aws":{"Timestamp":${timestamp},"CloudWatchMetrics":[${directive}]}`;
}

interface QuotedNames {
  readonly namespace: string;
  readonly name: string;
  readonly functionName: string;
  readonly directiveWithAge: string;
  readonly directiveWithoutAge: string;
}

// The namespace and function name stay the same for a container's life: quote them once.
let quoted: QuotedNames | undefined;

function quotedNames(namespace: string, name: string): QuotedNames {
  if (quoted?.namespace !== namespace || quoted.name !== name) {
    const head = `{"Namespace":${JSON.stringify(namespace)},"Dimensions":[["FunctionName"]],"Metrics":`;
    quoted = {
      namespace,
      name,
      functionName: JSON.stringify(name),
      directiveWithAge: `${head}${METRICS_WITH_AGE}}`,
      directiveWithoutAge: `${head}${METRICS_WITHOUT_AGE}}`,
    };
  }
  return quoted;
}
