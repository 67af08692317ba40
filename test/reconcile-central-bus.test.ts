import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEventBridgeClient } from '../describer/aws-clients.ts';
import { type AssetSnapshotDetail, SNAPSHOT_DETAIL_TYPE, SNAPSHOT_SOURCE } from '../lambda/inventory-events.ts';
import { createJsonLogger } from '../lambda/log.ts';
import { createEc2Client } from '../reconcile/aws-clients.ts';
import { ReconcileConfigError, readReconcileConfig } from '../reconcile/config.ts';
import { createReconcileHandler } from '../reconcile/handler.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { startEc2QueryStub, stubInstanceId } from './helpers/ec2-query-stub.ts';
import { type ReceivedEntry, startEventBridgeEndpoint } from './helpers/eventbridge-endpoint.ts';

const REGION = 'eu-west-1';
const MEMBER = '210987654321';
const CENTRAL_BUS = `arn:aws:events:${REGION}:111122223333:event-bus/default`;
const FUNCTION_ARN = `arn:aws:lambda:${REGION}:${MEMBER}:function:management-events-reconcile-${REGION}`;
/** About 260 KB of instances as JSON: two parts, each close to the part limit. */
const INSTANCES = 2000;
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

type Detail = Omit<AssetSnapshotDetail, 'items'> & { readonly items: readonly { InstanceId?: string }[] };

const detailOf = (entry: ReceivedEntry) => JSON.parse(entry.Detail) as Detail;

describe('the reconcile function in a member account (CENTRAL_BUS_ARN)', () => {
  const closeLater = closeAfterEach();

  async function start() {
    const ec2Stub = closeLater(await startEc2QueryStub({ instanceCount: INSTANCES, pageSize: 1000 }));
    const bus = closeLater(await startEventBridgeEndpoint());
    const ec2 = createEc2Client(REGION, { endpoint: ec2Stub.endpoint, credentials: CREDENTIALS });
    const eventBridge = createEventBridgeClient(REGION, { endpoint: bus.endpoint, credentials: CREDENTIALS });
    closeLater({ close: () => ec2.destroy() });
    closeLater({ close: () => eventBridge.destroy() });
    const handler = createReconcileHandler({
      env: { CENTRAL_BUS_ARN: CENTRAL_BUS, AWS_REGION: REGION, INVENTORY: 'true' },
      ec2,
      eventBridge,
      logger: createJsonLogger(() => {}),
    });
    return { bus, handler };
  }

  it("puts every part on the central bus as an Asset Snapshot, each entry within PutEvents' limit", async () => {
    // Prepare
    const { bus, handler } = await start();

    // Act
    const summary = await handler({}, { invokedFunctionArn: FUNCTION_ARN });

    // Assess: the endpoint refuses a request over 256 KiB, so every part went in a request EventBridge takes.
    assert.deepEqual(summary.failed, []);
    assert.deepEqual(
      bus.received.map((entry) => [entry.Source, entry.DetailType, entry.EventBusName, entry.Resources]),
      bus.received.map(() => [SNAPSHOT_SOURCE, SNAPSHOT_DETAIL_TYPE, CENTRAL_BUS, [FUNCTION_ARN]]),
    );
    for (const entry of bus.received) assert.equal(typeof entry.Time, 'number', 'the time the listing began');
    const instances = bus.received.map(detailOf).filter((detail) => detail.resourceType === 'instance');
    assert.ok(instances.length >= 2, 'the instances took several parts');
    assert.deepEqual(
      instances.map((detail) => [detail.part, detail.parts, detail.snapshotId, detail.types]),
      instances.map((_, i) => [i + 1, instances.length, summary.snapshotId, ['instance', 'vpc', 'subnet']]),
    );
    assert.deepEqual(
      instances.flatMap((detail) => detail.items.map((item) => item.InstanceId)),
      Array.from({ length: INSTANCES }, (_, i) => stubInstanceId(i)),
    );
    assert.deepEqual(
      summary.sent.map((type) => [type.resourceType, type.messages]),
      [
        ['instance', instances.length],
        ['vpc', 1],
        ['subnet', 1],
      ],
    );
  });

  it('sends the entries EventBridge failed again, so each part arrives once', async () => {
    // Prepare
    const { bus, handler } = await start();
    bus.failEntries(1);

    // Act
    const summary = await handler({}, { invokedFunctionArn: FUNCTION_ARN });

    // Assess
    const parts = bus.received.map(detailOf).map((detail) => `${detail.resourceType} ${detail.part}/${detail.parts}`);
    assert.equal(new Set(parts).size, parts.length, 'no part twice');
    assert.equal(
      parts.length,
      summary.sent.reduce((sum, type) => sum + type.parts, 0),
    );
  });
});

describe('the reconcile configuration of a member account', () => {
  it('takes the central bus and its region, for the inventory only', () => {
    const config = readReconcileConfig({ CENTRAL_BUS_ARN: CENTRAL_BUS, AWS_REGION: REGION, INVENTORY: 'true' });
    assert.deepEqual(config.target, { kind: 'bus', busArn: CENTRAL_BUS, region: REGION });
    assert.equal(config.inventory, true);
  });

  it('refuses the central bus without the inventory, and a queue beside it, one line each', () => {
    const problemsOf = (env: Record<string, string>) => {
      try {
        readReconcileConfig({ AWS_REGION: REGION, ...env });
      } catch (error) {
        assert.ok(error instanceof ReconcileConfigError);
        return error.message;
      }
      return '';
    };
    assert.equal(
      problemsOf({ CENTRAL_BUS_ARN: CENTRAL_BUS, SNAPSHOT_GROUPS: 'ec2-instances-events' }),
      "CENTRAL_BUS_ARN needs INVENTORY=true: the central account takes members' snapshots into its inventory only",
    );
    assert.equal(
      problemsOf({
        CENTRAL_BUS_ARN: CENTRAL_BUS,
        QUEUE_URL: `https://sqs.${REGION}.amazonaws.com/${MEMBER}/management-events-${REGION}.fifo`,
        INVENTORY: 'true',
      }),
      'set QUEUE_URL or CENTRAL_BUS_ARN, not both',
    );
  });
});
