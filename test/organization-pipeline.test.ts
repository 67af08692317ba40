import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { rulesPerAccount } from '../infra/account-rules.ts';
import type { RuleDefinition as RuleLike } from '../infra/rules.ts';
import { RULES } from '../infra/rules.ts';
import type { InventoryMessage } from '../local/inventory-subscriber.ts';
import { type PipelineOptions, startPipeline } from '../local/pipeline.ts';
import type { RoutedEvent } from '../local/router.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { captureLogs } from './helpers/log-capture.ts';
import { useRedisServer } from './helpers/redis-server.ts';

const ACCOUNT_A = '111111111111';
const ACCOUNT_B = '222222222222';
const PREFIX = 'topic-account-management-events-';
const STATE_RULE = RULES.find((rule) => rule.name === 'management-events-ec2') as RuleLike;

/** An instance state change as a member account's rule forwards it: the event keeps its own `account`. */
function stateChange(id: string, account: string): Record<string, unknown> {
  return {
    version: '0',
    id,
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account,
    time: new Date().toISOString(),
    region: 'eu-west-1',
    resources: [`arn:aws:ec2:eu-west-1:${account}:instance/i-${id}`],
    detail: { 'instance-id': `i-${id}`, state: 'running' },
  };
}

/**
 * EventBridge on the central bus, for the state-change rule: the shared group, or with `accounts` the rule that
 * rulesPerAccount made for the event's account (its pattern names that account).
 */
function route(event: Record<string, unknown>, accounts: readonly string[]): RoutedEvent {
  const rules = rulesPerAccount([STATE_RULE], accounts);
  const rule =
    rules.find((candidate) => JSON.stringify(candidate.eventPattern.account) === JSON.stringify([event.account])) ??
    (rules.find((candidate) => candidate.name === STATE_RULE.name) as RuleLike);
  return { id: String(event.id), rule: rule.name, group: rule.messageGroupId, body: JSON.stringify(event) };
}

describe('an organization through the local pipeline', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  /** The central account's pipeline on SQS's batching; `received(account)`: the event ids on that account's channel. */
  async function startCentralPipeline(options: Pick<PipelineOptions, 'visibilityTimeoutSeconds'>) {
    const received: InventoryMessage[] = [];
    const pipeline = track(
      await startPipeline({
        region: 'eu-west-1',
        redisUrl: redis.url,
        maxReceiveCount: 5,
        groupBatching: 'sqs',
        functionLogger: captureLogs().logger,
        onMessage: (message) => received.push(message),
        ...options,
      }),
    );
    const onChannelOf = (account: string) =>
      received.filter((message) => message.channel === `${PREFIX}${account}`).map((message) => message.event?.id);
    return { pipeline, received, onChannelOf };
  }

  it("puts each member account's events on that account's channel", { timeout: 60_000 }, async () => {
    const { pipeline, received, onChannelOf } = await startCentralPipeline({ visibilityTimeoutSeconds: 5 });
    const events = [
      stateChange('a-1', ACCOUNT_A),
      stateChange('b-1', ACCOUNT_B),
      stateChange('a-2', ACCOUNT_A),
      stateChange('b-2', ACCOUNT_B),
    ];

    await pipeline.send(events.map((event) => route(event, [])));
    const progress = await pipeline.settle(10_000);

    assert.equal(progress.delivered, 4);
    assert.deepEqual(onChannelOf(ACCOUNT_A), ['a-1', 'a-2']);
    assert.deepEqual(onChannelOf(ACCOUNT_B), ['b-1', 'b-2']);
    assert.equal(received.length, 4);
  });

  describe("head-of-line blocking: account A's events refused by Redis (a transient failure), then account B's", () => {
    /**
     * The function's Redis user may not publish to A's channel (an ACL to be fixed: transient, retried, never
     * dead-lettered) until `fix()` grants it. Returns when B's first event reached the inventory and what it had then.
     */
    async function start(accounts: readonly string[]) {
      const admin = new Redis(redis.url);
      track({ close: () => admin.disconnect() });
      const allow = (...channels: string[]) =>
        admin.call('ACL', 'SETUSER', 'sync', 'reset', 'on', '>sync-pass', '~*', 'resetchannels', ...channels, '+@all');
      await allow(`&${PREFIX}${ACCOUNT_B}`);
      const firstDeliveries: string[] = [];
      const pipeline = track(
        await startPipeline({
          region: 'eu-west-1',
          redisUrl: redis.url,
          functionRedisUrl: `redis://sync:sync-pass@127.0.0.1:${redis.port}`,
          // The deployed redrive count: what fails for a transient reason waits, it is not dead-lettered.
          maxReceiveCount: 1000,
          groupBatching: 'sqs',
          visibilityTimeoutSeconds: 1,
          functionLogger: captureLogs().logger,
          onMessage: (message) => firstDeliveries.push(String(message.event?.id)),
        }),
      );
      const events = [stateChange('a-1', ACCOUNT_A), stateChange('b-1', ACCOUNT_B), stateChange('b-2', ACCOUNT_B)];
      const routed = events.map((event) => route(event, accounts));
      await pipeline.send(routed);
      return {
        groups: routed.map((event) => event.group),
        pipeline,
        firstDeliveries,
        fix: () => allow(`&${PREFIX}${ACCOUNT_A}`, `&${PREFIX}${ACCOUNT_B}`),
      };
    }

    // SQS hands out A's event with B's behind it in one receive: B's events wait behind A's, in order, for as long as
    // A's fails, and nothing is dead-lettered however many receives that takes.
    it('in a shared message group, B waits behind A until Redis takes A, then all arrive in order', {
      timeout: 60_000,
    }, async () => {
      const shared = await start([]);
      await sleep(4_000);

      assert.deepEqual(shared.groups, ['ec2-instances-events', 'ec2-instances-events', 'ec2-instances-events']);
      assert.deepEqual(shared.firstDeliveries, [], 'B is held back behind A');
      await shared.fix();
      const progress = await shared.pipeline.settle(15_000);

      assert.deepEqual(shared.firstDeliveries, ['a-1', 'b-1', 'b-2']);
      assert.equal(progress.deadLettered, 0);
    });

    it('with per-account message groups, B is not held back by A', { timeout: 60_000 }, async () => {
      const perAccount = await start([ACCOUNT_A, ACCOUNT_B]);
      await sleep(4_000);

      assert.deepEqual(perAccount.groups, [
        `ec2-instances-events-${ACCOUNT_A}`,
        `ec2-instances-events-${ACCOUNT_B}`,
        `ec2-instances-events-${ACCOUNT_B}`,
      ]);
      assert.deepEqual(perAccount.firstDeliveries, ['b-1', 'b-2'], 'B arrived while A was still being retried');
      await perAccount.fix();
      const progress = await perAccount.pipeline.settle(15_000);

      assert.deepEqual(perAccount.firstDeliveries, ['b-1', 'b-2', 'a-1']);
      assert.equal(progress.deadLettered, 0);
    });
  });

  it('dead-letters only an event that is not JSON at the head of a shared group: the 9 events of two accounts behind it arrive', {
    timeout: 60_000,
  }, async () => {
    // Prepare: the deployed maxReceiveCount, and SQS's batching: the poison and the 9 behind it share every receive.
    const { pipeline, onChannelOf } = await startCentralPipeline({ visibilityTimeoutSeconds: 1 });
    const poison = '{"id": "poison", this is not JSON';
    const good = Array.from({ length: 9 }, (_, index) =>
      index % 2 === 0 ? stateChange(`a-${index}`, ACCOUNT_A) : stateChange(`b-${index}`, ACCOUNT_B),
    );
    const shared = STATE_RULE.messageGroupId;

    // Act: one SendMessageBatch, so that no receive can take the poison alone.
    await pipeline.send([
      { id: 'poison', rule: STATE_RULE.name, group: shared, body: poison },
      ...good.map((event) => route(event, [])),
    ]);
    const progress = await pipeline.settle(15_000);

    // Assess
    assert.deepEqual(await pipeline.queue.deadLetterBodies(), [poison]);
    assert.equal(progress.delivered, 9);
    const sentOf = (account: string) => good.filter((event) => event.account === account).map((event) => event.id);
    assert.deepEqual(onChannelOf(ACCOUNT_A), sentOf(ACCOUNT_A));
    assert.deepEqual(onChannelOf(ACCOUNT_B), sentOf(ACCOUNT_B));
  });
});
