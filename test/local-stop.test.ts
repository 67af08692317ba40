import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { DEFAULT_MAX_RECEIVE_COUNT } from '../infra/config.ts';
import { runLocal } from '../local/local-run.ts';
import { acceptsConnections } from '../local/redis-server.ts';
import { closeAfterEach } from './helpers/cleanup.ts';
import { runCli, runShell } from './helpers/cli.ts';
import { stateChange } from './helpers/records.ts';
import { useRedisServer } from './helpers/redis-server.ts';

const MAIN = new URL('../local/main.ts', import.meta.url).pathname;

/** `count` state changes of different instances: different bodies, one message group. */
function stateChanges(count: number): string {
  return Array.from({ length: count }, (_, index) => stateChange(`i-${String(index).padStart(17, '0')}`, 'running')).join('\n');
}

/** The --dir of the redis-server listening on `port`, from its command line. */
function redisServerFolder(port: string): string | undefined {
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!args.some((arg) => arg.endsWith('redis-server')) || args[args.indexOf('--port') + 1] !== port) continue;
    return args[args.indexOf('--dir') + 1];
  }
  return undefined;
}

describe('npm start: how a run ends', () => {
  const track = closeAfterEach();
  const redis = useRedisServer();

  /**
   * A user that may do anything but `command` (PUBLISH: every record fails; GET: every inventory record does),
   * transiently: it is retried, never dead-lettered.
   */
  async function urlOfUserWithout(command: string): Promise<string> {
    const admin = new Redis(redis.url);
    track({ close: () => void admin.disconnect() });
    await admin.call('ACL', 'SETUSER', 'without', 'reset', 'on', '>pw', '~*', '&*', '+@all', `-${command}`);
    return `redis://without:pw@127.0.0.1:${redis.port}`;
  }

  for (const [args, lines, failing] of [
    ['', 2, false],
    ['', 5, false],
    ['', 8, false],
    ['', 15, false],
    ['--region eu-west-1', 8, false],
    // Every record fails: the function's log lines go to stderr, into the same pipe, and stdout stays silent.
    ['--visibility-timeout 1 2>&1', 6, true],
  ] as const) {
    it(`ends quietly with exit 0 when its reader goes away: npm start ${args} < /dev/null | head -${lines}${failing ? ', every record failing' : ''}`, {
      timeout: 60_000,
    }, async () => {
      const redisUrl = failing ? await urlOfUserWithout('publish') : redis.url;
      const run = track(
        runShell(`set -o pipefail; "${process.execPath}" "${MAIN}" ${args} < /dev/null | head -${lines}`, {
          env: { REDIS_URL: redisUrl },
        }),
      );

      const { code, stdout, stderr } = await run.exited;

      assert.equal(stdout.split('\n').length, lines + 1, stdout);
      assert.equal(stderr, '');
      assert.equal(code, 0);
    });
  }

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal} ends a run that waits on an event it cannot deliver: exit ${code}, the summary last`, {
      timeout: 30_000,
    }, async () => {
      const run = runCli([MAIN, '--visibility-timeout', '1'], {
        input: stateChanges(1),
        env: { REDIS_URL: await urlOfUserWithout('publish') },
      });
      track({ close: () => void run.child.kill('SIGKILL') });
      // The function refused it once: the run now waits for it to be delivered.
      await waitUntil(() => run.output().includes('"record failed"'));

      run.child.kill(signal);
      const { code: exitCode, stdout } = await run.exited;

      assert.equal(exitCode, code);
      assert.equal(
        stdout.trim().split('\n').at(-1),
        `${signal}: stopped; delivered 0/1 events, 0 dead-lettered, 1 still in the queue`,
      );
    });
  }

  it('Ctrl-C at a terminal, which signals the whole process group: the summary last, and no throwaway Redis or its folder left', {
    timeout: 30_000,
  }, async () => {
    const run = track(
      runShell(`sleep 60 | ${JSON.stringify(process.execPath)} ${JSON.stringify(MAIN)} --follow`, {
        env: { REDIS_URL: undefined },
      }),
    );
    await waitUntil(() => run.output().includes('following stdin'));
    const port = /a throwaway redis-server on port (\d+)/.exec(run.output())?.[1];
    assert.ok(port !== undefined, run.output());
    const folder = redisServerFolder(port);
    assert.ok(folder !== undefined && existsSync(folder));

    process.kill(-(run.child.pid ?? 0), 'SIGINT');
    const { code, stdout, stderr } = await run.exited;

    assert.equal(code, 130, stderr);
    assert.equal(stdout.trim().split('\n').at(-1), 'SIGINT: stopped; delivered 0/0 events, 0 dead-lettered');
    assert.equal(stderr, '');
    assert.equal(existsSync(folder), false);
    assert.equal(await acceptsConnections(Number(port)), false);
  });

  it('Ctrl-C in the middle of a large input: the summary is the last line, and its counts add up', {
    timeout: 60_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'big-'));
    track({ close: () => rmSync(dir, { recursive: true, force: true }) });
    const file = join(dir, 'big.jsonl');
    writeFileSync(file, stateChanges(5000));
    const run = runCli([MAIN, '--events', file], { input: '', env: { REDIS_URL: redis.url } });
    track({ close: () => void run.child.kill('SIGKILL') });
    await waitUntil(() => run.output().split('\ninventory <- ').length > 50);

    run.child.kill('SIGINT');
    const { code, stdout } = await run.exited;

    assert.equal(code, 130);
    const lines = stdout.trim().split('\n');
    const summary =
      /^SIGINT: stopped; delivered (\d+)\/(\d+) events, 0 dead-lettered(?:, (\d+) still in the queue)?(?:, (\d+) read but not sent)?$/.exec(
        lines.at(-1) ?? '',
      );
    assert.ok(summary !== null, lines.slice(-3).join('\n'));
    const [delivered = 0, total = 0, queued = 0, unsent = 0] = summary.slice(1).map((count) => Number(count ?? 0));
    assert.equal(delivered + queued + unsent, total);
    assert.ok(delivered >= lines.filter((line) => line.startsWith('inventory <- ')).length);
    assert.ok(total < 5000, 'stopped before the whole input was read');
    assert.deepEqual(
      lines.filter((line) => line.startsWith('not sent')),
      [],
    );
  });

  /** runLocal in this process, with a short idle limit: the real one is a minute and more. */
  async function runWithIdleLimit(events: number, idleLimitMs: number, { without = 'publish', inventory = false } = {}) {
    const lines: string[] = [];
    const code = await runLocal({
      input: { source: 'a test', open: () => Readable.from([stateChanges(events)]) },
      region: 'us-east-1',
      follow: false,
      verbose: false,
      maxReceiveCount: DEFAULT_MAX_RECEIVE_COUNT,
      visibilityTimeoutSeconds: 1,
      concurrency: 2,
      inventory,
      env: { REDIS_URL: await urlOfUserWithout(without) },
      idleLimitMs,
      output: { say: (line) => lines.push(line), closed: new Promise(() => undefined) },
      functionLog: () => undefined,
    });
    return { code, lines };
  }

  it('ends a run whose queue makes no progress for the idle limit: says what is still queued, exit 1', {
    timeout: 30_000,
  }, async () => {
    const { code, lines } = await runWithIdleLimit(1, 2000);

    assert.equal(code, 1);
    assert.deepEqual(lines.slice(-2), [
      "no progress for 2 s with 1 event in the queue (is Redis up? the function's log lines on stderr say why): stopping",
      'delivered 0/1 events, 0 dead-lettered, 1 still in the queue',
    ]);
  });

  it('stops reading a large input once the queue makes no progress for the idle limit, rather than read on', {
    timeout: 60_000,
  }, async () => {
    const { code, lines } = await runWithIdleLimit(800, 2000);

    assert.equal(code, 1);
    const summary = /^delivered 0\/(\d+) events, 0 dead-lettered, (\d+) still in the queue, (\d+) read but not sent$/.exec(
      lines.at(-1) ?? '',
    );
    assert.ok(summary !== null, lines.at(-1));
    assert.ok(Number(summary[1]) < 800, lines.at(-1));
    assert.match(lines.at(-2) ?? '', /^no progress for 2 s with \d+ events in the queue .*: stopping$/);
  });

  it('--inventory: ends a run whose inventory records make no progress for the idle limit, saying how many wait, exit 1', {
    timeout: 60_000,
  }, async () => {
    // The events themselves are delivered; applying what the describer found needs GET.
    const { code, lines } = await runWithIdleLimit(2, 2000, { without: 'get', inventory: true });

    assert.equal(code, 1);
    const stalled = /^no progress for 2 s with (\d+) inventory messages? in the queues .*: stopping$/.exec(lines.at(-2) ?? '');
    assert.ok(stalled !== null, lines.slice(-2).join('\n'));
    assert.equal(
      lines.at(-1),
      `delivered 2/2 events, 0 dead-lettered, ${stalled[1]} inventory ${stalled[1] === '1' ? 'message' : 'messages'} still in the queues`,
    );
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(20);
  }
}
