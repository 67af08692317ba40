import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { closeAfterEach } from './helpers/cleanup.ts';
import { runCli, runShell } from './helpers/cli.ts';
import { CHANNEL } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';
import { subscribe } from './helpers/subscriber.ts';

const MAIN = new URL('../local/main.ts', import.meta.url).pathname;

/** An instance state change as JSON text, with `extra` written into its detail as given (any JSON text). */
function stateChangeText(id: string, extra = '', region = 'us-east-1'): string {
  return `{"version":"0","id":"${id}","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":"123456789012","time":"2026-11-20T10:00:00Z","region":"${region}","resources":[],"detail":{"instance-id":"i-${id}","state":"running"${extra}}}`;
}

/** A CloudTrail API call whose request parameters are nested `depth` levels deep. */
function deepApiCallText(id: string, depth: number): string {
  const deep = `${'{"a":'.repeat(depth)}{"vpcId":"vpc-deep"}${'}'.repeat(depth)}`;
  return `{"version":"0","id":"${id}","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","account":"123456789012","time":"2026-11-20T10:00:00Z","region":"us-east-1","resources":[],"detail":{"eventSource":"ec2.amazonaws.com","eventName":"ModifyVpcAttribute","requestParameters":${deep}}}`;
}

describe('npm start: input off the happy path', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  function tempFile(name: string, content: string | Buffer): string {
    const dir = mkdtempSync(join(tmpdir(), 'input-'));
    track({ close: () => rmSync(dir, { recursive: true, force: true }) });
    const file = join(dir, name);
    writeFileSync(file, content);
    return file;
  }

  async function replay(args: string[], input?: string) {
    const run = runCli([MAIN, ...args], { input: input ?? '', env: { REDIS_URL: redis.url } });
    track({ close: () => void run.child.kill('SIGKILL') });
    return run.exited;
  }

  it('sends each event as written: a big integer, a trailing zero and an escape reach the subscriber unchanged', {
    timeout: 60_000,
  }, async () => {
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    const lines = [
      stateChangeText('big', ',"count":12345678901234567890'),
      stateChangeText('decimal', ',"price":1.50'),
      stateChangeText('escaped', ',"name":"caf\\u00e9" , "spaced" : true'),
    ];
    const document = tempFile('events.json', `[\n  ${lines.join(',\n  ')}\n]\n`);

    const fromLines = await replay([], lines.join('\n'));
    const fromDocument = await replay(['--events', document]);

    assert.equal(fromLines.code, 0, fromLines.stdout);
    assert.equal(fromDocument.code, 0, fromDocument.stdout);
    assert.deepEqual(
      subscriber.received.map((item) => item.message),
      [...lines, ...lines],
    );
  });

  it('--follow reads JSON lines: a truncated first line is skipped and the events after it flow at once', {
    timeout: 60_000,
  }, async () => {
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    const run = runCli([MAIN, '--follow'], { env: { REDIS_URL: redis.url } });
    track({ close: () => void run.child.kill('SIGKILL') });

    // stdin stays open: a reader waiting for the end of a "document" would deliver nothing.
    run.child.stdin.write(`{"version":"0","id":"truncated","detail-type":\n${stateChangeText('after-truncated')}\n`);
    await subscriber.waitFor(1, 30_000);
    run.child.kill('SIGINT');
    const { stdout } = await run.exited;

    assert.deepEqual(
      subscriber.received.map((item) => JSON.parse(item.message).id),
      ['after-truncated'],
    );
    assert.match(stdout, /skipped line 1: not JSON/);
  });

  it('delivers an event nested 5,000 levels deep, byte for byte, and the events after it', { timeout: 60_000 }, async () => {
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    const lines = [deepApiCallText('deep', 5000), stateChangeText('after-deep')];

    const { code, stdout, stderr } = await replay([], lines.join('\n'));

    assert.equal(code, 0, stdout + stderr);
    assert.deepEqual(
      subscriber.received.map((item) => item.message),
      lines,
    );
    assert.match(stdout, /inventory <- \S+ {2}AWS API Call via CloudTrail {2}vpc-deep {2}call=ModifyVpcAttribute/);
    assert.match(stdout, /delivered 2\/2 events, 0 dead-lettered\n$/);
  });

  it('skips an event larger than an SQS message at once, counts it, and sends the large events after it', {
    timeout: 60_000,
  }, async () => {
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    const padding = (bytes: number) => `,"padding":"${'x'.repeat(bytes)}"`;
    const lines = [
      stateChangeText('huge', padding(2 * 1024 * 1024)),
      ...['big-1', 'big-2', 'big-3', 'big-4'].map((id) => stateChangeText(id, padding(300 * 1024))),
    ];

    const { code, stdout } = await replay([], lines.join('\n'));

    assert.equal(code, 1, stdout);
    assert.match(stdout, /skipped line 1 \(huge\): 2097\d{3} bytes, more than the 1048576 an SQS message holds/);
    assert.doesNotMatch(stdout, /not sent/);
    assert.deepEqual(
      subscriber.received.map((item) => JSON.parse(item.message).id),
      ['big-1', 'big-2', 'big-3', 'big-4'],
    );
    assert.match(stdout, /delivered 4\/5 events, 0 dead-lettered, 1 too large for the queue\n$/);
  });

  it('says that repeated bodies are deduplicated, and counts two events that share an id as two', {
    timeout: 60_000,
  }, async () => {
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    const repeated = stateChangeText('repeated');
    const shared = [stateChangeText('shared', ',"n":1'), stateChangeText('shared', ',"n":2')];

    const { code, stdout } = await replay([], [repeated, repeated, repeated, ...shared].join('\n'));

    assert.equal(code, 0, stdout);
    assert.deepEqual(
      subscriber.received.map((item) => item.message),
      [repeated, ...shared],
    );
    assert.match(stdout, /note line 2: the same body as an earlier event: the queue's content-based deduplication drops it/);
    assert.match(stdout, /note line 5: id shared was used by another event; consumers that dedupe by id would keep only one/);
    assert.match(
      stdout,
      /delivered 3\/3 events, 0 dead-lettered; 2 repeats of an earlier event's body \(the queue's content-based deduplication drops them\)\n$/,
    );
  });
});

describe('npm start: hostile input', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  async function replay(args: string[], input: string | Buffer) {
    const run = runCli([MAIN, ...args], { env: { REDIS_URL: redis.url } });
    track({ close: () => void run.child.kill('SIGKILL') });
    run.child.stdin.end(input);
    return run.exited;
  }

  it('prints control bytes of the input as escapes, never raw to the terminal', { timeout: 60_000 }, async () => {
    const { stdout } = await replay([], '\u001b[2J\u001b]0;owned\u0007 not json\n');

    assert.match(stdout, /skipped line 1: not JSON: .*\\x1b\[2J/);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the test is that none of them reaches the terminal.
    assert.doesNotMatch(stdout, /[\u0000-\u0009\u000B-\u001F\u007F]/);
  });

  it('exits 1 when no line of the input is an event (binary input)', { timeout: 60_000 }, async () => {
    const { code, stdout } = await replay([], Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0x0a]));

    assert.equal(code, 1, stdout);
    assert.match(stdout, /delivered 0\/0 events, 0 dead-lettered; 3 input lines or items not read as events\n$/);
  });

  it('reads a PutEvents request: an entry PutEvents refuses makes the exit 1, the others go through the rules', {
    timeout: 60_000,
  }, async () => {
    const request = {
      Entries: [
        { Source: 'aws.ec2', DetailType: 'EC2 Instance State-change Notification', Detail: '{"state":"running"}' },
        { Source: 'com.example.app', DetailType: 'Order Placed', Detail: '{"order":1}' },
      ],
    };

    const { code, stdout } = await replay([], JSON.stringify(request, null, 2));

    assert.equal(code, 1, stdout);
    assert.match(stdout, /skipped entry 1: PutEvents refuses source aws\.ec2/);
    assert.match(stdout, /skipped \S+: no rule matches source com\.example\.app/);
    assert.match(stdout, /delivered 0\/0 events, 0 dead-lettered; 1 input line or item not read as an event\n$/);
  });

  it("says when an event belongs to another region than the local queue's", { timeout: 60_000 }, async () => {
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    const lines = [stateChangeText('west-1', '', 'eu-west-1'), stateChangeText('west-2', '', 'eu-west-1')];

    const { code, stdout } = await replay(['--region', 'us-east-1'], lines.join('\n'));

    assert.equal(code, 0, stdout);
    assert.equal(subscriber.received.length, 2);
    const notes = stdout.split('\n').filter((line) => line.startsWith('note: '));
    assert.deepEqual(notes, [
      "note: events of eu-west-1 go through us-east-1's local queue here; deployed, only eu-west-1's stack sees them (--region eu-west-1)",
    ]);
  });
  /** `npm start` reading what a shell command writes, through a pipe. */
  async function replayPiped(command: string) {
    return track(runShell(`${command} | "${process.execPath}" "${MAIN}"`, { env: { REDIS_URL: redis.url } })).exited;
  }

  it('skips one line of 700 MB without a newline by its number, without holding it (it used to crash)', {
    timeout: 120_000,
  }, async () => {
    const { code, stdout } = await replayPiped('head -c 700000000 /dev/zero');

    assert.equal(code, 1, stdout);
    assert.match(
      stdout,
      /\nskipped line 1: 700000000 bytes, longer than any event an SQS message holds \(1048576 bytes\): not read\ndelivered 0\/0 events, 0 dead-lettered; 1 input line or item not read as an event\n$/,
    );
  });

  it('skips a 3 MiB line between two events unread, by its number, and delivers the events', { timeout: 60_000 }, async () => {
    const subscriber = track(await subscribe(redis.url, CHANNEL));
    const input = [stateChangeText('before'), 'x'.repeat(3 * 1024 * 1024), stateChangeText('after')].join('\n');

    const { code, stdout } = await replay([], input);

    assert.equal(code, 1, stdout.slice(0, 2000));
    assert.match(
      stdout,
      /\nskipped line 2: 3145728 bytes, longer than any event an SQS message holds \(1048576 bytes\): not read\n/,
    );
    assert.match(stdout, /delivered 2\/2 events, 0 dead-lettered; 1 input line or item not read as an event\n$/);
    assert.deepEqual(
      subscriber.received.map((item) => (JSON.parse(item.message) as { id: string }).id),
      ['before', 'after'],
    );
  });

  for (const [shape, command, where, size] of [
    ['on one line', `{ printf '['; head -c 300000000 /dev/zero | tr '\\0' ' '; }`, 'line 1', '300000001 bytes, '],
    // Lines of 100,000 blanks (yes takes no longer argument).
    ['over many lines', `{ echo '['; yes "$(printf '%*s' 100000 '')" | head -c 300000000; }`, 'the document', ''],
  ] as const) {
    it(`skips a JSON document ${shape} larger than it parses whole, and says to give JSON lines`, {
      timeout: 120_000,
    }, async () => {
      const { code, stdout } = await replayPiped(command);

      assert.equal(code, 1, stdout);
      assert.ok(
        stdout.endsWith(
          `\nskipped ${where}: ${size}more than the 268435456 bytes a JSON document may have here (give JSON lines, one event per line, for more): not read\ndelivered 0/0 events, 0 dead-lettered; 1 input line or item not read as an event\n`,
        ),
        stdout,
      );
    });
  }

  it('reports 20 skipped lines one by one, then says the rest are skipped without a line each, and counts them', {
    timeout: 60_000,
  }, async () => {
    const input = [...Array.from({ length: 100 }, (_, index) => `garbage ${index + 1}`), stateChangeText('last')].join('\n');

    const { code, stdout } = await replay([], input);

    const lines = stdout.trim().split('\n');
    assert.equal(code, 1, stdout);
    assert.deepEqual(
      lines.filter((line) => line.startsWith('skipped ')).map((line) => /^skipped line (\d+): not JSON/.exec(line)?.[1]),
      Array.from({ length: 20 }, (_, index) => String(index + 1)),
    );
    assert.ok(lines.includes('more input is skipped: it is not shown line by line, the summary counts it'), stdout);
    assert.equal(
      lines.at(-1),
      'delivered 1/1 events, 0 dead-lettered; 100 input lines or items not read as events; 80 skipped without a line of their own above',
    );
  });
});
