import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import {
  type DashboardBody,
  type DashboardWidget,
  dashboardBody,
  defaultDashboardPicture,
  drawDashboard,
  lineLabels,
  readmePicture,
} from '../infra/dashboard-picture.ts';
import { ManagementEventsSync } from '../infra/management-events-sync.ts';
import { REDIS_URL, synthesize } from './helpers/cdk-app.ts';

const REGION = 'us-east-1';
const RULES = ['management-events-tags', 'management-events-ec2', 'management-events-api-calls'];

/** One line of a graph: a metric, with the widget it is on. */
interface MetricLine {
  readonly widget: string;
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly stat: string;
  readonly visible: boolean;
}

function metricLines(body: DashboardBody): MetricLine[] {
  return body.widgets.flatMap((widget) =>
    (widget.properties.metrics ?? [])
      .filter((line) => typeof line[0] === 'string')
      .map((line) => {
        const [namespace, metricName, ...rest] = line as string[];
        const options = rest.pop() as unknown as { stat: string; visible?: boolean };
        const dimensions: Record<string, string> = {};
        for (let i = 0; i < rest.length; i += 2) dimensions[rest[i] as string] = rest[i + 1] as string;
        return {
          widget: widget.properties.title ?? '',
          namespace: namespace as string,
          metricName: metricName as string,
          dimensions,
          stat: options.stat,
          visible: options.visible !== false,
        };
      }),
  );
}

/** `namespace metricName stat Dimension=value...` of every line, for set comparisons. */
function keys(lines: readonly MetricLine[]): Set<string> {
  return new Set(
    lines.map(
      (line) =>
        `${line.namespace} ${line.metricName} ${line.stat} ${Object.entries(line.dimensions)
          .map(([name, value]) => `${name}=${value}`)
          .join(' ')}`,
    ),
  );
}

function assertHasAll(actual: Set<string>, expected: readonly string[]): void {
  const missing = expected.filter((key) => !actual.has(key));
  assert.deepEqual(missing, [], `not on the dashboard:\n${missing.join('\n')}`);
}

/** The logical ID of the one resource of `type` whose properties match. */
function logicalId(template: Template, type: string, properties: Record<string, unknown> = {}): string {
  const ids = Object.keys(template.findResources(type, { Properties: Match.objectLike(properties) }));
  assert.equal(ids.length, 1, `one ${type} with ${JSON.stringify(properties)}`);
  return ids[0] as string;
}

function appTemplate(context: Record<string, unknown>): Template {
  const { templates } = synthesize({ regions: REGION, ...context });
  return [...templates.values()][0] as Template;
}

function queueIds(template: Template) {
  return {
    queue: logicalId(template, 'AWS::SQS::Queue', { QueueName: `management-events-${REGION}.fifo` }),
    dlq: logicalId(template, 'AWS::SQS::Queue', { QueueName: `management-events-${REGION}-dlq.fifo` }),
    targetDlq: logicalId(template, 'AWS::SQS::Queue', { QueueName: `management-events-${REGION}-target-dlq` }),
  };
}

/** What every consumer shows: the rules, the queue and both dead-letter queues. */
function pipelineMetrics(template: Template): string[] {
  const { queue, dlq, targetDlq } = queueIds(template);
  return [
    ...RULES.flatMap((rule) =>
      ['MatchedEvents', 'SuccessfulInvocationAttempts', 'FailedInvocations', 'InvocationsSentToDlq'].map(
        (metric) => `AWS/Events ${metric} Sum RuleName=${rule}`,
      ),
    ),
    `AWS/SQS ApproximateNumberOfMessagesVisible Maximum QueueName=\${${queue}.QueueName}`,
    `AWS/SQS ApproximateNumberOfMessagesNotVisible Maximum QueueName=\${${queue}.QueueName}`,
    `AWS/SQS ApproximateAgeOfOldestMessage Maximum QueueName=\${${queue}.QueueName}`,
    `AWS/SQS ApproximateNumberOfGroupsWithInflightMessages Maximum QueueName=\${${queue}.QueueName}`,
    `AWS/SQS ApproximateNumberOfMessagesVisible Maximum QueueName=\${${dlq}.QueueName}`,
    `AWS/SQS ApproximateNumberOfMessagesVisible Maximum QueueName=\${${targetDlq}.QueueName}`,
  ];
}

/** The publish metrics of the sync function (its logical ID) or the poller (`poller`). */
function publishMetrics(functionName: string): string[] {
  const emf = (metric: string, stat = 'Sum') => `AssetSync ${metric} ${stat} FunctionName=${functionName}`;
  return [
    emf('RecordsPublished'),
    emf('RecordsFailed'),
    emf('RecordsOutcomeUnknown'),
    emf('RecordsParked'),
    emf('ZeroReceiverPublishes'),
    emf('EventLag', 'p50'),
    emf('EventLag', 'p99'),
    emf('OldestEventAge', 'Maximum'),
  ];
}

function alarmArns(template: Template): string[] {
  return Object.keys(template.findResources('AWS::CloudWatch::Alarm')).map((id) => `\${${id}.Arn}`);
}

function alarmWidget(body: DashboardBody): DashboardWidget {
  const widgets = body.widgets.filter((widget) => widget.type === 'alarm');
  assert.equal(widgets.length, 1);
  return widgets[0] as DashboardWidget;
}

describe('the dashboard of a region', () => {
  describe('with the sync function', () => {
    const template = appTemplate({ redisUrl: REDIS_URL, reconcileSchedule: 'rate(6 hours)' });
    const body = dashboardBody(template.toJSON());
    const lines = metricLines(body);

    it('is named management-events-<region>', () => {
      template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: `management-events-${REGION}` });
    });

    it("shows each rule's matched, delivered, failed and dead-lettered events, the queue, its groups in flight and both DLQs", () => {
      assertHasAll(keys(lines), pipelineMetrics(template));
    });

    it("shows the function's invocations, errors, throttles and p99 duration, and its event source mapping's own counts", () => {
      const fn = logicalId(template, 'AWS::Lambda::Function', { FunctionName: `management-events-sync-${REGION}` });
      const mapping = logicalId(template, 'AWS::Lambda::EventSourceMapping', { FunctionName: { Ref: fn } });
      assertHasAll(keys(lines), [
        `AWS/Lambda Invocations Sum FunctionName=\${${fn}}`,
        `AWS/Lambda Errors Sum FunctionName=\${${fn}}`,
        `AWS/Lambda Throttles Sum FunctionName=\${${fn}}`,
        `AWS/Lambda Duration p99 FunctionName=\${${fn}}`,
        ...['PolledEventCount', 'InvokedEventCount', 'FailedInvokeEventCount', 'DeletedEventCount'].map(
          (metric) => `AWS/Lambda ${metric} Sum EventSourceMappingUUID=\${${mapping}}`,
        ),
      ]);
      // Lambda sends the mapping's counts only when its MetricsConfig asks for them.
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { MetricsConfig: { Metrics: ['EventCount'] } });
    });

    it('shows the records published, failed, of unknown outcome, parked and reaching nobody, and the lag p50 and p99', () => {
      const fn = logicalId(template, 'AWS::Lambda::Function', { FunctionName: `management-events-sync-${REGION}` });
      assertHasAll(keys(lines), publishMetrics(`\${${fn}}`));
    });

    it('shows every alarm of the region, the reconcile alarm included', () => {
      const arns = alarmArns(template);
      assert.equal(arns.length, 7);
      assert.deepEqual([...(alarmWidget(body).properties.alarms ?? [])].sort(), arns.sort());
    });

    it('fits every widget on the 24-column grid without overlaps', () => {
      const cells = new Set<string>();
      for (const widget of body.widgets) {
        assert.ok(widget.x + widget.width <= 24, `${widget.properties.title} ends past column 24`);
        for (let x = widget.x; x < widget.x + widget.width; x++) {
          for (let y = widget.y; y < widget.y + widget.height; y++) {
            assert.ok(!cells.has(`${x},${y}`), `${widget.properties.title} overlaps another widget at ${x},${y}`);
            cells.add(`${x},${y}`);
          }
        }
      }
    });
  });

  it('with per-account rules, draws one line per kind that sums all its rules', () => {
    const accounts = ['111111111111', '222222222222'];
    const body = dashboardBody(appTemplate({ redisUrl: REDIS_URL, accounts: accounts.join(',') }).toJSON());
    const matched = body.widgets.find((widget) => widget.properties.title === 'Rules: events matched') as DashboardWidget;
    const metrics = matched.properties.metrics ?? [];
    const expressions = metrics.filter((line) => typeof line[0] === 'object') as unknown as { expression: string }[][];
    assert.equal(expressions.length, RULES.length);
    for (const [k, rule] of RULES.entries()) {
      const [{ expression }] = expressions[k] as [{ expression: string }];
      const ids = /^SUM\(\[(.+)\]\)$/.exec(expression)?.[1]?.split(',') ?? [];
      const summed = ids.map((id) => {
        const line = metrics.find((candidate) => (candidate.at(-1) as { id?: string }).id === id);
        assert.ok(line !== undefined, `the expression's ${id} is on the graph`);
        assert.equal((line.at(-1) as { visible?: boolean }).visible, false, 'summed rules are not drawn one by one');
        return line[3];
      });
      assert.deepEqual(summed.sort(), [...accounts.map((account) => `${rule}-${account}`), rule].sort());
    }
    assert.deepEqual(
      lineLabels(matched),
      RULES.map((rule) => `${rule} (3 rules)`),
    );
  });

  it('with the poller, shows the queues, the rules, the alarms and the metrics the poller sends as FunctionName=poller', () => {
    const template = appTemplate({ consumer: 'poller' });
    const body = dashboardBody(template.toJSON());
    const lines = metricLines(body);
    assertHasAll(keys(lines), [...pipelineMetrics(template), ...publishMetrics('poller')]);
    assert.deepEqual(
      lines.filter((line) => line.namespace === 'AWS/Lambda'),
      [],
    );
    assert.deepEqual([...(alarmWidget(body).properties.alarms ?? [])].sort(), alarmArns(template).sort());
  });

  it('is left out with dashboard=false', () => {
    const template = appTemplate({ redisUrl: REDIS_URL, dashboard: 'false' });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  });

  it("adds the inventory's describe calls, describe queues and reconcile corrections for the resources given", () => {
    const app = new App();
    const stack = new Stack(app, 'inventory-stack', { env: { account: '123456789012', region: REGION } });
    const sync = new ManagementEventsSync(stack, 'Sync', { redisUrl: REDIS_URL });
    // Stand-ins for the inventory's describer and its queues.
    const describeDeadLetterQueue = new sqs.Queue(stack, 'DescribeDlq', { queueName: 'describe-dlq' });
    const describeQueue = new sqs.Queue(stack, 'DescribeQueue', { queueName: 'describe' });
    const describer = new lambda.Function(stack, 'Describer', {
      functionName: 'describer',
      runtime: lambda.Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('export const handler = async () => {};'),
    });

    sync.dashboard?.addInventory({ describer, describeQueue, describeDeadLetterQueue });

    const template = Template.fromStack(stack);
    const id = (type: string, properties: Record<string, unknown>) => logicalId(template, type, properties);
    const describerId = id('AWS::Lambda::Function', { FunctionName: 'describer' });
    const syncId = id('AWS::Lambda::Function', { FunctionName: `management-events-sync-${REGION}` });
    const describeQueueId = id('AWS::SQS::Queue', { QueueName: 'describe' });
    const describeDlqId = id('AWS::SQS::Queue', { QueueName: 'describe-dlq' });
    assertHasAll(keys(metricLines(dashboardBody(template.toJSON()))), [
      `AssetSync DescribeCalls Sum FunctionName=\${${describerId}}`,
      `AssetSync DescribeThrottles Sum FunctionName=\${${describerId}}`,
      `AWS/Lambda Errors Sum FunctionName=\${${describerId}}`,
      `AWS/Lambda Throttles Sum FunctionName=\${${describerId}}`,
      `AWS/SQS ApproximateNumberOfMessagesVisible Maximum QueueName=\${${describeQueueId}.QueueName}`,
      `AWS/SQS ApproximateAgeOfOldestMessage Maximum QueueName=\${${describeQueueId}.QueueName}`,
      `AWS/SQS ApproximateNumberOfMessagesVisible Maximum QueueName=\${${describeDlqId}.QueueName}`,
      // The sync function applies snapshots: the corrections are its metrics.
      `AssetSync InventoryChanges Sum FunctionName=\${${syncId}}`,
      `AssetSync ReconcileMissedCreates Sum FunctionName=\${${syncId}}`,
      `AssetSync ReconcileMissedChanges Sum FunctionName=\${${syncId}}`,
      `AssetSync ReconcileMissedDeletes Sum FunctionName=\${${syncId}}`,
    ]);
  });
});

describe("the README's picture of the dashboard", () => {
  it('draws each widget as a box at its place on the grid, with its title and lines', () => {
    const widget = (x: number, width: number, title: string, label: string): DashboardWidget => ({
      type: 'metric',
      x,
      y: 0,
      width,
      height: 3,
      properties: { title, metrics: [['AWS/SQS', 'M', { label }]] },
    });

    const picture = drawDashboard({ widgets: [widget(0, 4, 'Depth', 'waiting'), widget(4, 20, 'Lag', 'p99')] });

    assert.equal(
      picture,
      [
        `+---------------+${'-'.repeat(79)}+`,
        `| Depth         | Lag${' '.repeat(75)}|`,
        `| waiting       | p99${' '.repeat(75)}|`,
        `+---------------+${'-'.repeat(79)}+`,
      ].join('\n'),
    );
  });

  it('matches the dashboard the default deployment synthesizes (node infra/dashboard-picture.ts --write redraws it)', () => {
    assert.equal(readmePicture(), defaultDashboardPicture());
  });
});
