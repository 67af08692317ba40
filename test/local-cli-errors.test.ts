import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { INVENTORY_COMMANDS } from '../lambda/redis-script.ts';
import { oneLine } from '../local/cli.ts';
import { freePort } from '../local/free-port.ts';
import { setLeastAclUser } from './helpers/acl.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { hasStackTrace, runCli } from './helpers/cli.ts';
import { CHANNEL, sampleEvents } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';
import { subscribe } from './helpers/subscriber.ts';

const MAIN = new URL('../local/main.ts', import.meta.url).pathname;

describe('npm start: usage and settings errors', () => {
  const track = closeAfterEach();
  const redis = useRedisServer(['--requirepass', 'right-password']);

  for (const [what, args, expected] of [
    ['an unknown flag', ['--bogus'], /^Unknown option '--bogus'\n/],
    ['a misspelt flag', ['--concurency', '3'], /^Unknown option '--concurency': did you mean --concurrency\?\n/],
    ['a positional argument', ['events.jsonl'], /^Unexpected argument 'events.jsonl'/],
    ['--events without a value', ['--events'], /^Option '--events <value>' argument missing/],
  ] as const) {
    it(`prints the usage and exits 2 on ${what}, without a stack trace`, { timeout: 30_000 }, async () => {
      const { code, stdout, stderr } = await runCli([MAIN, ...args], { input: '' }).exited;
      assert.equal(code, 2, stderr);
      assert.match(stderr, expected);
      assert.match(stderr, /\nUsage:\n/);
      assert.equal(stdout, '');
      assert.ok(!hasStackTrace(stderr), stderr);
    });
  }

  for (const [what, args, expected] of [
    ['an unknown --region', ['--region', 'foo'], '--region "foo" is not an AWS region'],
    ['a region in capitals', ['--region', 'EU-WEST-1'], '--region "EU-WEST-1" is not an AWS region (did you mean "eu-west-1"?)'],
    ['a region that does not exist', ['--region', 'us-east-9'], '--region "us-east-9" is not an AWS region'],
    [
      'a negative number after a flag',
      ['--visibility-timeout', '-1'],
      '--visibility-timeout must be a whole number from 1 to 43200, got "-1"',
    ],
    ...(['--inventory', '--follow', '--events=x.jsonl', '--max-receive-count=3', '--visibility-timeout=9'] as const).map(
      (flag) =>
        [
          `${flag} in poll mode`,
          ['--queue-url', 'http://127.0.0.1:9/000000000000/management-events-us-east-1.fifo', flag],
          `${flag.split('=')[0]} is for a local run: poll mode (--queue-url) does not take it`,
        ] as const,
    ),
  ] as const) {
    it(`refuses ${what} in one line, exit 2, before anything starts`, { timeout: 30_000 }, async () => {
      const { code, stdout, stderr } = await runCli([MAIN, ...args], { input: '' }).exited;
      assert.equal(code, 2, stdout + stderr);
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
      assert.ok(stderr.startsWith(expected), stderr);
      assert.equal(stdout, '');
    });
  }

  it('--help prints the usage and exits 0', async () => {
    const { code, stdout } = await runCli([MAIN, '--help'], { input: '' }).exited;
    assert.equal(code, 0);
    assert.match(stdout, /^Usage:\n/);
  });

  it('names a missing --events file in one line and exits 2', { timeout: 30_000 }, async () => {
    const { code, stdout, stderr } = await runCli([MAIN, '--events', '/nonexistent/events.jsonl'], { input: '' }).exited;
    assert.equal(code, 2, stdout + stderr);
    assert.equal(stderr, '--events /nonexistent/events.jsonl: no such file\n');
  });

  const authedUrl = () => `redis://:right-password@127.0.0.1:${redis.port}`;
  const settings: [string, () => Record<string, string>, RegExp][] = [
    [
      'REQUIRE_SUBSCRIBER=maybe',
      () => ({ REDIS_URL: authedUrl(), REQUIRE_SUBSCRIBER: 'maybe' }),
      /REQUIRE_SUBSCRIBER must be "true" or "false"/,
    ],
    ['REDIS_URL=garbage', () => ({ REDIS_URL: 'garbage' }), /REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/],
    ['REDIS_URL=http://x', () => ({ REDIS_URL: 'http://x' }), /REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/],
    [
      'a password in a URL with an invalid port',
      () => ({ REDIS_URL: 'redis://:topsecret@127.0.0.1:99999' }),
      /REDIS_URL must be/,
    ],
    ['a wrong password', () => ({ REDIS_URL: `redis://:topsecret@127.0.0.1:${redis.port}` }), /password was rejected/],
    ['no password where one is required', () => ({ REDIS_URL: `redis://127.0.0.1:${redis.port}` }), /a password is required/],
  ];
  for (const [what, env, expected] of settings) {
    it(`stops before reading any event on ${what}: one line, exit 2, no password echoed`, { timeout: 30_000 }, async () => {
      const subscriber = track(await subscribe(authedUrl(), CHANNEL));
      const input = sampleEvents()
        .map((event) => JSON.stringify(event))
        .join('\n');
      const { code, stdout, stderr } = await runCli([MAIN], { input, env: env() }).exited;

      assert.equal(code, 2, stdout + stderr);
      assert.match(stderr, expected);
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
      assert.ok(!(stdout + stderr).includes('topsecret'), stdout + stderr);
      assert.ok(!hasStackTrace(stderr), stderr);
      assert.doesNotMatch(stdout, /reading events/);
      assert.equal(subscriber.received.length, 0);
    });
  }

  describe("under the least ACL users of docs/redis.md (the function's, not npm start's)", () => {
    const syncUrl = () => `redis://sync:s3cret@127.0.0.1:${redis.port}`;
    async function admin() {
      const client = new Redis(authedUrl());
      track({ close: () => void client.disconnect() });
      return client;
    }
    /** The durable mirror's and the inventory's user: their keys, channels and the commands the script calls. */
    const INVENTORY_RULES = [
      '&topic-account-asset-changes-*',
      '~{management-events-sync}:inventory*',
      '~{management-events-sync}:snapshot:*',
      '~{management-events-sync}:topic-account-*',
      ...INVENTORY_COMMANDS.map((command) => `+${command}`),
    ];

    for (const [what, args, env, rules] of [
      ['the least user', [], {}, []],
      [
        'the inventory and mirror user, --inventory, STREAM_RETENTION_HOURS',
        ['--inventory'],
        { STREAM_RETENTION_HOURS: '1' },
        INVENTORY_RULES,
      ],
    ] as const) {
      it(`${what}: says in one line, exit 2, before any event, every ACL rule npm start's own subscribers and reads need; with them the run delivers, JSON lines only on stderr`, {
        timeout: 60_000,
      }, async () => {
        await setLeastAclUser(await admin(), 'sync', 's3cret', rules);
        const input = sampleEvents()
          .slice(0, 2)
          .map((event) => JSON.stringify(event))
          .join('\n');

        const refused = await runCli([MAIN, ...args], { input, env: { ...env, REDIS_URL: syncUrl() } }).exited;
        const acl = /: for local runs, ACL SETUSER sync (.+)\n$/.exec(refused.stderr)?.[1];
        assert.ok(acl !== undefined, refused.stderr);
        await (await admin()).call('ACL', 'SETUSER', 'sync', ...acl.split(' '));
        const { code, stdout, stderr } = await runCli([MAIN, ...args], { input, env: { ...env, REDIS_URL: syncUrl() } }).exited;

        assert.equal(refused.code, 2, refused.stdout + refused.stderr);
        assert.match(
          refused.stderr,
          new RegExp(
            `^Redis at redis://127\\.0\\.0\\.1:${redis.port}: user sync may not [^\n]*PSUBSCRIBE topic-account-management-events-\\*`,
          ),
        );
        assert.equal(refused.stderr.split('\n').length, 2, refused.stderr);
        assert.doesNotMatch(refused.stdout + refused.stderr, /reading events|s3cret/);
        assert.equal(code, 0, stdout + stderr);
        assert.match(stdout, /delivered 2\/2 events, 0 dead-lettered\n$/);
        // The function's own log lines are JSON; ioredis' ready-check warning would not be.
        for (const line of stderr.split('\n').filter((text) => text !== '')) assert.doesNotThrow(() => JSON.parse(line), line);
      });
    }
  });

  it('stops on a closed Redis port with one line naming the address', { timeout: 30_000 }, async () => {
    const port = await freePort();
    const { code, stderr } = await runCli([MAIN], { input: '', env: { REDIS_URL: `redis://:topsecret@127.0.0.1:${port}` } })
      .exited;
    assert.equal(code, 2);
    assert.equal(stderr, `Redis at redis://127.0.0.1:${port}: connection refused (nothing listens there)\n`);
  });

  it('says so in one line when what answers is not a Redis server (an HTTP server on that port)', {
    timeout: 30_000,
  }, async () => {
    const http = createServer((_, response) => response.end('not redis'));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    track({ close: () => new Promise<void>((resolve) => http.close(() => resolve())) });
    const address = http.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;

    const { code, stderr } = await runCli([MAIN], { input: '', env: { REDIS_URL: `redis://127.0.0.1:${port}` } }).exited;

    assert.equal(code, 2);
    assert.match(stderr, /^Redis at redis:\/\/127\.0\.0\.1:\d+: it does not answer as a Redis server/);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
  });

  it('never prints the credentials of a URL an unexpected error quotes, nor its stack', () => {
    const error = new TypeError('cannot reach rediss://sync:s3cr3t@cache.internal:6379\n    at connect (file:///x.js:1:2)');
    assert.equal(oneLine(error), 'TypeError: cannot reach rediss://***@cache.internal:6379');
  });
});
