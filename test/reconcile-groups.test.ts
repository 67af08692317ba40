import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DescribeInstancesCommand, DescribeSubnetsCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { createJsonLogger } from '../lambda/log.ts';
import { ReconcileConfigError, readReconcileConfig } from '../reconcile/config.ts';
import { createReconcileHandler } from '../reconcile/handler.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { instance, subnet, vpc } from './helpers/ec2-assets.ts';
import { startSnapshotQueue } from './helpers/snapshot-queue.ts';

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
const FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:management-events-reconcile-${REGION}`;

/** The message groups one reconcile run sent its parts through, with the function's environment `env`. */
async function groupsOfARun(closeLater: ReturnType<typeof closeAfterEach>, env: Record<string, string>): Promise<string[]> {
  const queue = closeLater(await startSnapshotQueue(REGION));
  const ec2Client = new EC2Client({ region: REGION });
  const ec2 = mockClient(ec2Client);
  closeLater({ close: () => ec2.restore() });
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ ReservationId: 'r-1', Instances: [instance(1)] }] });
  ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [vpc(1)] });
  ec2.on(DescribeSubnetsCommand).resolves({ Subnets: [subnet(1)] });
  const handler = createReconcileHandler({
    env: { QUEUE_URL: queue.queueUrl, AWS_REGION: REGION, ...env },
    ec2: ec2Client,
    sqs: queue.sqs,
    logger: createJsonLogger(() => {}),
  });
  await handler({}, { invokedFunctionArn: FUNCTION_ARN });
  return [...new Set((await queue.drain()).map((message) => message.groupId))];
}

describe("the reconcile function's message groups, derived from the rule table", () => {
  const closeLater = closeAfterEach();

  it("takes the rules' shared groups for an account that has no groups of its own", async () => {
    const groups = await groupsOfARun(closeLater, { ACCOUNTS: '111111111111,222222222222' });

    assert.deepEqual(groups, ['management-events-tags', 'ec2-instances-events', 'management-events-api-calls']);
  });

  it("takes the account's own groups when it is listed in ACCOUNTS, and no other", async () => {
    const groups = await groupsOfARun(closeLater, { ACCOUNTS: `111111111111,${ACCOUNT}` });

    assert.deepEqual(groups, [
      `management-events-tags-${ACCOUNT}`,
      `ec2-instances-events-${ACCOUNT}`,
      `management-events-api-calls-${ACCOUNT}`,
    ]);
  });

  it('leaves out the API-call group with API_CALL_RULE=false', async () => {
    const groups = await groupsOfARun(closeLater, { API_CALL_RULE: 'false' });

    assert.deepEqual(groups, ['management-events-tags', 'ec2-instances-events']);
  });

  it('refuses ACCOUNTS that are not account IDs and an API_CALL_RULE that is neither true nor false, naming each', () => {
    assert.throws(
      () =>
        readReconcileConfig({
          QUEUE_URL: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/management-events-${REGION}.fifo`,
          AWS_REGION: REGION,
          ACCOUNTS: '12345',
          API_CALL_RULE: 'yes',
        }),
      (error: Error) => {
        assert.ok(error instanceof ReconcileConfigError);
        assert.equal(
          error.message,
          'API_CALL_RULE must be true or false, got "yes"; ACCOUNTS: "12345" is not a 12-digit account ID',
        );
        return true;
      },
    );
  });
});
