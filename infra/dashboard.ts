import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_METRICS_NAMESPACE } from '../lambda/config.ts';
import { METRIC_NAMES } from '../lambda/metric-names.ts';

/** The rules of one kind (tags, state changes, API calls): one rule, or one per listed account and the shared one. */
export interface RuleKind {
  /** The seed table's rule name, the kind's label on the graphs. */
  readonly name: string;
  readonly ruleNames: readonly string[];
}

/** Who publishes to Redis: the sync function with its SQS event source, or the poller (FunctionName=poller). */
export type DashboardConsumer =
  | { readonly kind: 'lambda'; readonly function: lambda.IFunction; readonly eventSourceMappingId: string }
  | { readonly kind: 'poller' };

/** The poller sends the sync function's metrics under this FunctionName (it runs the same handler, outside Lambda). */
export const POLLER_METRICS_FUNCTION_NAME = 'poller';

export interface SyncDashboardProps {
  readonly dashboardName: string;
  readonly ruleKinds: readonly RuleKind[];
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly targetDeadLetterQueue: sqs.IQueue;
  readonly consumer: DashboardConsumer;
  /** Read when the template is written: alarms added after the dashboard (addAlarm) are on it too. */
  readonly alarms: readonly cloudwatch.IAlarm[];
}

/** The inventory's part of a region: the describer, its standard queue and that queue's dead-letter queue. */
export interface InventoryDashboardProps {
  readonly describer: lambda.IFunction;
  readonly describeQueue: sqs.IQueue;
  readonly describeDeadLetterQueue: sqs.IQueue;
}

const PERIOD = Duration.minutes(1);
const FULL = 24;
const GRAPH_HEIGHT = 6;

/**
 * One region's CloudWatch dashboard: "is the sync healthy, and how fresh is it?". The alarms first, then each stage
 * in the order an event takes: the rules, the queue and its dead-letter queues, the consumer, the publishes to Redis
 * with the end-to-end lag; `addInventory` adds the inventory's row. Built with aws-cdk-lib's Dashboard (the
 * README's "Dashboard" section says why not cdk-monitoring-constructs).
 */
export class SyncDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  /** The FunctionName dimension of the publish metrics: the sync function's name, or `poller`. */
  private readonly publisherName: string;

  constructor(scope: Construct, id: string, props: SyncDashboardProps) {
    super(scope, id);
    const { consumer } = props;
    this.publisherName = consumer.kind === 'lambda' ? consumer.function.functionName : POLLER_METRICS_FUNCTION_NAME;
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(3),
      periodOverride: cloudwatch.PeriodOverride.AUTO,
    });
    const publisher = consumer.kind === 'lambda' ? 'the sync function' : 'the poller (FunctionName=poller)';
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# ${props.dashboardName}\nIs the sync healthy, and how fresh is it? Alarms first, then each stage an event takes: rules, queue, ${publisher}, Redis.`,
        width: FULL,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: props.alarms as cloudwatch.IAlarm[], width: FULL, height: 3 }),
    );

    const { ruleKinds } = props;
    this.dashboard.addWidgets(
      graph('Rules: events matched', perKind(ruleKinds, 'MatchedEvents')),
      graph('Rules: delivered to the queue', perKind(ruleKinds, 'SuccessfulInvocationAttempts')),
      graph('Rules: failed, and sent to the target DLQ', [
        ...perKind(ruleKinds, 'FailedInvocations', 'failed'),
        ...perKind(ruleKinds, 'InvocationsSentToDlq', 'to DLQ'),
      ]),
    );

    const { queue, deadLetterQueue, targetDeadLetterQueue } = props;
    this.dashboard.addWidgets(
      ...queueWidgets('Queue', queue, 'the FIFO queue'),
      dlqGraph([
        [deadLetterQueue, 'queue DLQ'],
        [targetDeadLetterQueue, 'target DLQ'],
      ]),
    );

    if (consumer.kind === 'lambda') {
      this.dashboard.addWidgets(
        functionHealth('Sync function', consumer.function),
        graph('Sync function: duration', [consumer.function.metricDuration({ statistic: 'p99', period: PERIOD, label: 'p99' })]),
        eventSourceMappingGraph(consumer.eventSourceMappingId),
      );
    }

    const emf = (metricName: string, statistic: string, label: string) =>
      publishMetric(this.publisherName, metricName, statistic, label);
    this.dashboard.addWidgets(
      graph(`Records (${consumer.kind === 'lambda' ? 'sync function' : 'poller'})`, [
        emf(METRIC_NAMES.published, 'Sum', 'published'),
        emf(METRIC_NAMES.failed, 'Sum', 'failed (retried)'),
        emf(METRIC_NAMES.outcomeUnknown, 'Sum', 'outcome unknown'),
        emf(METRIC_NAMES.parked, 'Sum', 'parked in the DLQ'),
      ]),
      graph('Publishes that reached nobody', [emf(METRIC_NAMES.zeroReceivers, 'Sum', 'zero receivers')]),
      graph('End-to-end lag (event time to publish)', [
        emf(METRIC_NAMES.eventLagMs, 'p50', 'p50'),
        emf(METRIC_NAMES.eventLagMs, 'p99', 'p99'),
        emf(METRIC_NAMES.oldestEventAgeMs, 'Maximum', 'oldest in a batch'),
      ]),
    );
  }

  /**
   * The inventory's row: describe calls and throttles, the describe queue and its DLQ, the describer's own health,
   * what the inventory changed and each reconcile's corrections by kind.
   */
  addInventory(props: InventoryDashboardProps): void {
    const describerName = props.describer.functionName;
    const emf = (functionName: string, metricName: string, label: string) =>
      publishMetric(functionName, metricName, 'Sum', label);
    this.dashboard.addWidgets(
      graph(
        'Describe calls to EC2',
        [
          emf(describerName, METRIC_NAMES.describeCalls, 'calls'),
          emf(describerName, METRIC_NAMES.describeThrottles, 'throttled'),
        ],
        6,
      ),
      ...queueWidgets('Describe queue', props.describeQueue, 'the describe queue'),
      dlqGraph([[props.describeDeadLetterQueue, 'describe DLQ']]),
    );
    this.dashboard.addWidgets(
      functionHealth('Describer', props.describer),
      graph('Inventory records changed', [emf(this.publisherName, METRIC_NAMES.inventoryChanges, 'changes')]),
      graph(
        'Reconcile corrections (missed events)',
        [
          emf(this.publisherName, METRIC_NAMES.missedCreates, 'missed creates'),
          emf(this.publisherName, METRIC_NAMES.missedChanges, 'missed changes'),
          emf(this.publisherName, METRIC_NAMES.missedDeletes, 'missed deletes'),
        ],
        10,
      ),
    );
  }
}

function graph(title: string, left: cloudwatch.IMetric[], width = 8): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left, width, height: GRAPH_HEIGHT, period: PERIOD });
}

/** A metric the project's functions emit (embedded metric format): namespace AssetSync, dimension FunctionName. */
function publishMetric(functionName: string, metricName: string, statistic: string, label: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: DEFAULT_METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { FunctionName: functionName },
    statistic,
    label,
    period: PERIOD,
  });
}

/**
 * One line per rule kind. With per-account rules a kind has one rule per listed account and the shared one: its line
 * is their sum, so the graph stays readable (and under CloudWatch's metrics per graph) whatever the accounts.
 */
function perKind(kinds: readonly RuleKind[], metricName: string, suffix?: string): cloudwatch.IMetric[] {
  return kinds.map((kind, k) => {
    const label = suffix === undefined ? kind.name : `${kind.name} ${suffix}`;
    const metrics = kind.ruleNames.map(
      (ruleName) =>
        new cloudwatch.Metric({
          namespace: 'AWS/Events',
          metricName,
          dimensionsMap: { RuleName: ruleName },
          statistic: 'Sum',
          period: PERIOD,
        }),
    );
    if (metrics.length === 1) return (metrics[0] as cloudwatch.Metric).with({ label });
    const ids = metrics.map((_, r) => `${metricName.toLowerCase()}${k}r${r}`);
    return new cloudwatch.MathExpression({
      expression: `SUM([${ids.join(',')}])`,
      usingMetrics: Object.fromEntries(ids.map((id, r) => [id, metrics[r] as cloudwatch.Metric])),
      label: `${label} (${metrics.length} rules)`,
      period: PERIOD,
    });
  });
}

/** Depth, age of the oldest message and, for a FIFO queue, the message groups in flight. */
function queueWidgets(title: string, queue: sqs.IQueue, what: string): cloudwatch.GraphWidget[] {
  const widgets = [
    graph(
      `${title}: depth`,
      [
        queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: PERIOD, label: 'waiting' }),
        queue.metricApproximateNumberOfMessagesNotVisible({ statistic: 'Maximum', period: PERIOD, label: 'in flight' }),
      ],
      6,
    ),
    graph(
      `${title}: age of the oldest message`,
      [queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: PERIOD, label: `oldest in ${what}` })],
      6,
    ),
  ];
  if (queue.fifo) {
    widgets.push(
      graph(
        `${title}: message groups in flight`,
        [
          queue.metric('ApproximateNumberOfGroupsWithInflightMessages', {
            statistic: 'Maximum',
            period: PERIOD,
            label: 'groups',
          }),
        ],
        6,
      ),
    );
  }
  return widgets;
}

function dlqGraph(queues: readonly (readonly [sqs.IQueue, string])[]): cloudwatch.GraphWidget {
  return graph(
    'Dead-letter queues: depth',
    queues.map(([queue, label]) =>
      queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: PERIOD, label }),
    ),
    6,
  );
}

function functionHealth(title: string, fn: lambda.IFunction): cloudwatch.GraphWidget {
  return graph(
    `${title}: invocations, errors, throttles`,
    [
      fn.metricInvocations({ statistic: 'Sum', period: PERIOD, label: 'invocations' }),
      fn.metricErrors({ statistic: 'Sum', period: PERIOD, label: 'errors' }),
      fn.metricThrottles({ statistic: 'Sum', period: PERIOD, label: 'throttles' }),
    ],
    6,
  );
}

/** The SQS event source's own counts, which its MetricsConfig (EventCount) turns on. */
function eventSourceMappingGraph(eventSourceMappingId: string): cloudwatch.GraphWidget {
  const mapping = (metricName: string, label: string) =>
    new cloudwatch.Metric({
      namespace: 'AWS/Lambda',
      metricName,
      dimensionsMap: { EventSourceMappingUUID: eventSourceMappingId },
      statistic: 'Sum',
      period: PERIOD,
      label,
    });
  return graph(
    'Event source mapping: events',
    [
      mapping('PolledEventCount', 'polled'),
      mapping('InvokedEventCount', 'invoked'),
      mapping('FailedInvokeEventCount', 'failed invoke'),
      mapping('DeletedEventCount', 'deleted'),
    ],
    10,
  );
}
