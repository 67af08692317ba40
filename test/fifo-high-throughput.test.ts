import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { startLocalQueue } from '../local/local-queue.ts';
import { REDIS_URL, synthesize } from './helpers/cdk-app.ts';
import { closeAfterEach } from './helpers/cleanup.ts';

const REGION = 'us-east-1';
const FIFO_ATTRIBUTES = ['FifoQueue', 'ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit'] as const;

/** The deployed queue's FIFO attributes, as the synthesized template sets them. */
function deployedFifoAttributes(): Record<string, string> {
  const { templates } = synthesize({ regions: REGION, redisUrl: REDIS_URL });
  const template = [...templates.values()][0];
  assert.ok(template !== undefined);
  const [queue] = Object.values(
    template.findResources('AWS::SQS::Queue', { Properties: { QueueName: `management-events-${REGION}.fifo` } }),
  );
  return Object.fromEntries(FIFO_ATTRIBUTES.map((name) => [name, String(queue?.Properties[name])]));
}

describe('the FIFO queue in high-throughput mode', () => {
  const closeLater = closeAfterEach();
  const deployed = deployedFifoAttributes();

  it('deduplicates per message group and takes its throughput quota per group, as deployed', () => {
    assert.deepEqual(deployed, {
      FifoQueue: 'true',
      ContentBasedDeduplication: 'true',
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
    });
  });

  for (const groupBatching of ['sqs', 'one-per-group'] as const) {
    it(`is created locally with the deployed attributes (${groupBatching === 'sqs' ? 'our SQS FIFO emulator' : 'fauxqs'})`, async () => {
      const queue = closeLater(
        await startLocalQueue({ region: REGION, maxReceiveCount: 5, visibilityTimeoutSeconds: 60, groupBatching }),
      );

      const { Attributes = {} } = await queue.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queue.queueUrl, AttributeNames: [...FIFO_ATTRIBUTES] }),
      );

      assert.deepEqual(Object.fromEntries(FIFO_ATTRIBUTES.map((name) => [name, Attributes[name]])), deployed);
    });
  }
});
