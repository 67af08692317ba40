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

/**
 * What is logged of a batch before its outcome is known: each record's fields, already serialized, and the summary's
 * fields that do not depend on the outcome.
 */
export interface BatchDescription {
  /** One per record, in order: the members of its log line up to its outcome. */
  readonly records: readonly string[];
  readonly groups: number;
  readonly oldestEventAgeMs: number | undefined;
}

type Described = Pick<RecordOutcome, 'record' | 'group' | 'event' | 'account' | 'channel'>;

/** The handler describes the batch while Redis answers, so that little is left to do once the outcome is known. */
export function describeBatch(items: readonly Described[], now = Date.now()): BatchDescription {
  const records: string[] = [];
  const groups = new Set<string>();
  let oldestEventAgeMs: number | undefined;
  for (const { record, group, event, account, channel } of items) {
    records.push(
      members({
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
    );
    groups.add(group);
    const age = eventAgeMs(record, event, now);
    if (age !== undefined && (oldestEventAgeMs === undefined || age > oldestEventAgeMs)) oldestEventAgeMs = age;
  }
  return { records, groups: groups.size, oldestEventAgeMs };
}

/** One line per record outcome, then the invocation's summary, which carries the metrics (embedded metric format). */
export function reportBatch(
  outcomes: readonly RecordOutcome[],
  description: BatchDescription,
  startedAt: number,
  metrics: Pick<SyncConfig, 'metricsNamespace' | 'functionName'>,
  logger: Logger,
): BatchSummary {
  let published = 0;
  let zeroReceivers = 0;
  for (const [index, outcome] of outcomes.entries()) {
    if (outcome.receivers === 0) zeroReceivers += 1;
    const receivers = outcome.receivers === undefined ? '' : `,"receivers":${outcome.receivers}`;
    const head = description.records[index] ?? '';
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

  const now = Date.now();
  const summary: BatchSummary = {
    records: outcomes.length,
    published,
    failed: outcomes.length - published,
    zeroReceivers,
    groups: description.groups,
    durationMs: now - startedAt,
    oldestEventAgeMs: description.oldestEventAgeMs,
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
