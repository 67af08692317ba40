import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { closeAfterEach } from './helpers/cleanup.ts';
import { runCli } from './helpers/cli.ts';
import { CHANNEL } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';
import { subscribe } from './helpers/subscriber.ts';

const MAIN = new URL('../local/main.ts', import.meta.url).pathname;

function tagChange(id: string | undefined, value: string): Record<string, unknown> {
  return {
    version: '0',
    ...(id === undefined ? {} : { id }),
    'detail-type': 'Tag Change on Resource',
    source: 'aws.tag',
    account: '123456789012',
    time: '2026-11-20T10:00:00Z',
    region: 'us-east-1',
    resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-0a1b2c3d4e5f67890'],
    detail: { 'changed-tag-keys': ['owner'], service: 'ec2', 'resource-type': 'instance', tags: { owner: value } },
  };
}

function stateChange(id: string, instance: string): Record<string, unknown> {
  return {
    version: '0',
    id,
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account: '123456789012',
    time: '2026-11-20T10:00:00Z',
    region: 'us-east-1',
    resources: [`arn:aws:ec2:us-east-1:123456789012:instance/${instance}`],
    detail: { 'instance-id': instance, state: 'running' },
  };
}

describe('npm start: what it takes as input', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  function tempFile(name: string, content: string): string {
    const dir = mkdtempSync(join(tmpdir(), 'input-'));
    track({ close: () => rmSync(dir, { recursive: true, force: true }) });
    const file = join(dir, name);
    writeFileSync(file, content);
    return file;
  }

  it('delivers characters beyond U+FFFF (an emoji in a tag value) byte for byte, and the events around it', {
    timeout: 60_000,
  }, async () => {
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    const events = [tagChange('before', 'plain'), tagChange('emoji', 'team 🚀 𝒳 \u{10FFFF}'), tagChange('after', 'plain')];
    const { exited } = runCli([MAIN], {
      input: events.map((event) => JSON.stringify(event)).join('\n'),
      env: { REDIS_URL: redis.url },
    });
    const { code, stdout, stderr } = await exited;

    assert.equal(code, 0, stdout + stderr);
    assert.match(stdout, /delivered 3\/3 events, 0 dead-lettered\n$/);
    assert.deepEqual(
      subscriber.received.map((item) => item.message),
      events.map((event) => JSON.stringify(event)),
    );
  });

  it('delivers an event without an id and counts it delivered', { timeout: 60_000 }, async () => {
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    const event = tagChange(undefined, 'no id');
    const { exited } = runCli([MAIN], { input: `${JSON.stringify(event)}\n`, env: { REDIS_URL: redis.url } });
    const { code, stdout } = await exited;

    assert.equal(code, 0, stdout);
    assert.match(stdout, /delivered 1\/1 events, 0 dead-lettered\n$/);
    assert.deepEqual(
      subscriber.received.map((item) => item.message),
      [JSON.stringify(event)],
    );
  });

  for (const follow of [false, true]) {
    it(`reads CRLF line ends and a last line without a newline, numbering skipped lines over the whole input${follow ? ' (--follow)' : ''}`, {
      timeout: 60_000,
    }, async () => {
      const subscriber = track(await subscribe(redis.url, CHANNEL));
      const events = Array.from({ length: 25 }, (_, index) => stateChange(`crlf-${index}`, `i-${index}`));
      const lines = events.map((event) => JSON.stringify(event));
      lines.splice(20, 0, 'not json');
      const text = lines.join('\r\n');
      const run = follow
        ? runCli([MAIN, '--follow'], { env: { REDIS_URL: redis.url } })
        : runCli([MAIN, '--events', tempFile('events.jsonl', text)], { env: { REDIS_URL: redis.url } });
      track({ close: () => void run.child.kill('SIGKILL') });
      if (follow) {
        // In pieces that split lines (and a CRLF) across writes, as a pipe delivers them.
        for (let start = 0; start < text.length; start += 1000) run.child.stdin.write(text.slice(start, start + 1000));
        run.child.stdin.end();
        await subscriber.waitFor(events.length, 30_000);
        run.child.kill('SIGINT');
      }
      const { stdout } = await run.exited;

      assert.match(stdout, /skipped line 21: not JSON/);
      assert.doesNotMatch(stdout, /skipped line (?!21:)/);
      if (!follow) assert.match(stdout, /delivered 25\/25 events, 0 dead-lettered; 1 input line or item not read as an event\n$/);
      assert.deepEqual(
        subscriber.received.map((item) => JSON.parse(item.message).id),
        events.map((event) => event.id),
      );
    });
  }

  for (const [name, args, input] of [
    ['an empty stdin', [], ''],
    ['an empty --events file', ['--events', 'EMPTY'], undefined],
  ] as const) {
    it(`replays nothing from ${name}, and exits 0`, { timeout: 60_000 }, async () => {
      const subscriber = track(await subscribe(redis.url, CHANNEL));
      const empty = tempFile('empty.jsonl', '');
      const run = runCli([MAIN, ...args.map((arg) => (arg === 'EMPTY' ? empty : arg))], {
        input: input ?? '',
        env: { REDIS_URL: redis.url },
      });
      const { code, stdout } = await run.exited;

      assert.equal(code, 0, stdout);
      assert.match(stdout, /delivered 0\/0 events, 0 dead-lettered\n$/);
      assert.equal(subscriber.received.length, 0);
    });
  }

  it('--follow keeps a group in send order: thousands of events of one group, no inversion at the subscriber', {
    timeout: 120_000,
  }, async () => {
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    const count = 2000;
    const run = runCli([MAIN, '--follow'], { env: { REDIS_URL: redis.url } });
    track({ close: () => void run.child.kill('SIGKILL') });
    // Written in uneven pieces, lines split across writes, as a pipe delivers them.
    const text = Array.from(
      { length: count },
      (_, index) => `${JSON.stringify(stateChange(`seq-${index}`, `i-${index}`))}\n`,
    ).join('');
    for (let start = 0; start < text.length; start += 7919) run.child.stdin.write(text.slice(start, start + 7919));
    await subscriber.waitFor(count, 100_000);
    run.child.kill('SIGINT');
    await run.exited;

    const order = subscriber.received.map((item) => Number(JSON.parse(item.message).id.slice('seq-'.length)));
    let inversions = 0;
    for (let index = 1; index < order.length; index += 1) if ((order[index] ?? 0) < (order[index - 1] ?? 0)) inversions += 1;
    assert.equal(inversions, 0);
    assert.equal(new Set(order).size, count);
  });

  it('streams a large input: an event is delivered while the rest of stdin has not been written yet', {
    timeout: 60_000,
  }, async () => {
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    const run = runCli([MAIN], { env: { REDIS_URL: redis.url } });
    track({ close: () => void run.child.kill('SIGKILL') });
    run.child.stdin.write(`${JSON.stringify(stateChange('streamed-1', 'i-1'))}\n`);
    await subscriber.waitFor(1, 20_000);
    run.child.stdin.end(`${JSON.stringify(stateChange('streamed-2', 'i-2'))}\n`);
    const { code, stdout } = await run.exited;

    assert.equal(code, 0, stdout);
    assert.match(stdout, /delivered 2\/2 events, 0 dead-lettered\n$/);
    assert.deepEqual(
      subscriber.received.map((item) => JSON.parse(item.message).id),
      ['streamed-1', 'streamed-2'],
    );
  });
});
