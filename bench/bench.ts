import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createHandler } from '../lambda/handler.ts';
import { createJsonLogger } from '../lambda/log.ts';
import { instance } from '../test/helpers/ec2-assets.ts';
import { assetState } from '../test/helpers/inventory-records.ts';
import { lambdaContext, sqsEvent, sqsRecord, stateChange, tagChange } from '../test/helpers/records.ts';
import { startRedisCluster } from '../test/helpers/redis-cluster.ts';
import { startRedisServer } from '../test/helpers/redis-server.ts';
import { startTcpProxy, type TcpProxy } from '../test/helpers/tcp-proxy.ts';
import { BASELINE_ENTRY, bundleFunction } from './bundle.ts';
import { coldStartMs } from './cold-start.ts';
import { inventoryFigures } from './inventory.ts';

/** Latency the proxies add each way: a round trip costs 2 x this, far above loopback noise. */
const DELAY_MS = 10;
const WARM_BATCHES = 20;
const COLD_RUNS = Number(process.env.BENCH_COLD_RUNS ?? 7);

let observation = 0;

/**
 * Ten records in `groups` groups: live events of two accounts interleaved; with `inventory`, every other record is
 * an Asset State of five instances instead (each batch a later observation, so every record is rewritten).
 */
function makeBatch(groups: number, inventory = false) {
  observation += 1;
  return sqsEvent(
    Array.from({ length: 10 }, (_, i) =>
      inventory && i % 2 === 1
        ? assetState({
            type: 'instance',
            items: Array.from({ length: 5 }, (_, k) => ({
              ...instance(i * 5 + k),
              Tags: [{ Key: 'seen', Value: `${observation}` }],
            })),
            observedAt: new Date(Date.now() + observation),
          })
        : sqsRecord({
            body:
              i % 2 === 0
                ? // Two accounts interleaved: with the mirror on, two streams in one call.
                  stateChange(`i-${i}`, 'running', i % 4 === 0 ? '123456789012' : '999999999999')
                : tagChange(`arn:aws:ec2:us-east-1:123456789012:vpc/vpc-${i}`, ['Name'], { Name: `n${i}` }),
            group: `group-${i % groups}`,
          }),
    ),
  );
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Warm batches through proxies that add latency: round trips per batch, by proxy turns and by time. */
async function warmRoundTrips(url: string, proxies: readonly TcpProxy[], groups: number, env: Record<string, string> = {}) {
  const handler = createHandler({ env: { REDIS_URL: url, ...env }, logger: createJsonLogger(() => undefined) });
  const inventory = env.INVENTORY === 'true';
  try {
    for (const proxy of proxies) proxy.delayMs = DELAY_MS;
    const first = await handler(makeBatch(groups, inventory), lambdaContext());
    if (first.batchItemFailures.length > 0) throw new Error(`the warm-up batch failed: ${JSON.stringify(first)}`);
    for (const proxy of proxies) proxy.resetTurns();
    const started = performance.now();
    for (let i = 0; i < WARM_BATCHES; i++) {
      const response = await handler(makeBatch(groups, inventory), lambdaContext());
      if (response.batchItemFailures.length > 0) throw new Error(`a batch failed: ${JSON.stringify(response)}`);
    }
    const perBatchMs = (performance.now() - started) / WARM_BATCHES;
    const turns = proxies.reduce((sum, proxy) => sum + proxy.turns, 0) / WARM_BATCHES;
    return { turns, byLatency: perBatchMs / (2 * DELAY_MS) };
  } finally {
    await handler.close();
    for (const proxy of proxies) proxy.delayMs = 0;
  }
}

/**
 * A warm container whose connection sat idle longer than REDIS_MAX_IDLE_SECONDS: its next batch opens a new one
 * (replaced before use), in round trips; the batches before it, busy, kept theirs. TCP's own handshake is the
 * proxy's, not delayed, as in the cold rows.
 */
async function afterIdleRoundTrips(port: number) {
  const proxy = await startTcpProxy(port);
  const handler = createHandler({
    env: { REDIS_URL: `redis://127.0.0.1:${proxy.port}`, REDIS_MAX_IDLE_SECONDS: '1' },
    logger: createJsonLogger(() => undefined),
  });
  try {
    proxy.delayMs = DELAY_MS;
    const times: number[] = [];
    for (let i = 0; i < COLD_RUNS; i++) {
      await handler(makeBatch(1), lambdaContext());
      await sleep(1_100);
      const started = performance.now();
      const response = await handler(makeBatch(1), lambdaContext());
      times.push(performance.now() - started);
      if (response.batchItemFailures.length > 0)
        throw new Error(`a batch after an idle spell failed: ${JSON.stringify(response)}`);
    }
    const afterIdle = proxy.accepted;
    for (let i = 0; i < WARM_BATCHES; i++) await handler(makeBatch(1), lambdaContext());
    return {
      roundTrips: median(times) / (2 * DELAY_MS),
      // The first connection, then one per idle spell; none for the busy batches after the last spell.
      connectionsPerIdleSpell: (afterIdle - 1) / COLD_RUNS,
      connectionsPerBusyBatch: (proxy.accepted - afterIdle) / WARM_BATCHES,
    };
  } finally {
    await handler.close();
    await proxy.close();
  }
}

/**
 * A new container's first batch, each from a fresh process: the time through a proxy that adds latency minus the
 * time direct, in round trips. TCP's own handshake is the proxy's, not delayed: what is counted is the client's.
 */
async function coldRoundTrips(port: number, password?: string) {
  const proxy = await startTcpProxy(port);
  const auth = password === undefined ? '' : `:${password}@`;
  proxy.delayMs = DELAY_MS;
  try {
    const direct: number[] = [];
    const through: number[] = [];
    for (let i = 0; i < COLD_RUNS; i++) {
      direct.push(await coldStartMs(`redis://${auth}127.0.0.1:${port}`));
      through.push(await coldStartMs(`redis://${auth}127.0.0.1:${proxy.port}`));
    }
    return (median(through) - median(direct)) / (2 * DELAY_MS);
  } finally {
    await proxy.close();
  }
}

/**
 * Load time beyond a bare Node start, for the function's bundle and for the baseline bundle (its dependencies around a
 * trivial handler), alternating in one loop: absolute milliseconds drift by half between hours on this machine, the
 * ratio between the two does not.
 */
function loadTimes(bundle: string, baseline: string) {
  const node = process.execPath;
  const run = (args: string[]) => {
    const started = performance.now();
    const result = spawnSync(node, args, { stdio: 'ignore', env: { ...process.env, NODE_OPTIONS: '--enable-source-maps' } });
    if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${result.status}`);
    return performance.now() - started;
  };
  const load = (file: string) => ['--input-type=module', '-e', `await import(${JSON.stringify(file)})`];
  const bare: number[] = [];
  const loaded: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < 21; i++) {
    bare.push(run(['--input-type=module', '-e', '']));
    loaded.push(run(load(bundle)));
    base.push(run(load(baseline)));
  }
  const beyond = median(loaded) - median(bare);
  return { beyond, ratio: beyond / (median(base) - median(bare)) };
}

const rows: [string, number, number][] = [];
const redis = await startRedisServer();
const dir = mkdtempSync(join(tmpdir(), 'sync-bundle-'));
try {
  const bundle = join(dir, 'index.mjs');
  await bundleFunction(bundle);
  rows.push(['bundle size (KB)', statSync(bundle).size / 1024, 250]);
  const baseline = join(dir, 'baseline.mjs');
  await bundleFunction(baseline, BASELINE_ENTRY);
  const load = loadTimes(bundle, baseline);
  // The goal is the ratio (DESIGN.md): the milliseconds are ioredis' own start-up for the most part, and drift.
  rows.push(['bundle load beyond a bare node start (ms), for reference', load.beyond, Number.POSITIVE_INFINITY]);
  rows.push(['bundle load / its dependencies around a trivial handler (ratio)', load.ratio, 1.25]);

  rows.push(['cold: round trips from a new process to its first published batch', await coldRoundTrips(redis.port), 2.3]);
  const guarded = await startRedisServer(['--requirepass', 'bench-pass']);
  try {
    rows.push([
      'cold, with a password (AUTH written with the first call)',
      await coldRoundTrips(guarded.port, 'bench-pass'),
      2.3,
    ]);
  } finally {
    await guarded.stop();
  }

  const idle = await afterIdleRoundTrips(redis.port);
  rows.push(['warm, first batch after an idle spell (connection replaced): round trips', idle.roundTrips, 2.3]);
  rows.push(['warm, connections opened per idle spell (REDIS_MAX_IDLE_SECONDS passed)', idle.connectionsPerIdleSpell, 1]);
  rows.push(['warm, connections opened per busy batch', idle.connectionsPerBusyBatch, 0]);

  const proxy = await startTcpProxy(redis.port);
  try {
    const url = `redis://127.0.0.1:${proxy.port}`;
    for (const [label, env] of [
      ['standalone', {}],
      ['standalone, stream mirror on', { STREAM_RETENTION_HOURS: '24' }],
      ['standalone, inventory on', { INVENTORY: 'true' }],
    ] as const) {
      for (const groups of [1, 2]) {
        const { turns, byLatency } = await warmRoundTrips(url, [proxy], groups, env);
        rows.push([`warm, ${label}, ${groups} group(s): proxy turns per batch`, turns, 1.3]);
        rows.push([`warm, ${label}, ${groups} group(s): round trips per batch by latency`, byLatency, 1.3]);
      }
    }
  } finally {
    await proxy.close();
  }

  const inventory = await inventoryFigures(redis);
  rows.push([
    `inventory: differences from EC2 after a scripted run (${inventory.eventsSent} events, ${inventory.eventsDropped} dropped), before a reconcile, for reference`,
    inventory.differencesBefore,
    Number.POSITIVE_INFINITY,
  ]);
  rows.push(['inventory: differences from EC2 after one reconcile', inventory.differencesAfter, 0]);
  rows.push([
    `inventory: what that reconcile corrected (missed creates/changes/deletes: ${inventory.corrected.created}/${inventory.corrected.updated}/${inventory.corrected.deleted}), for reference`,
    inventory.corrected.created + inventory.corrected.updated + inventory.corrected.deleted,
    Number.POSITIVE_INFINITY,
  ]);
  rows.push([
    `inventory: freshness p50, s (event into the queues -> record changed; ${inventory.freshnessSamples} events, 2 s window), for reference`,
    inventory.freshnessP50Ms / 1000,
    Number.POSITIVE_INFINITY,
  ]);
  rows.push(['inventory: freshness p99, s', inventory.freshnessP99Ms / 1000, 5]);
  rows.push(['inventory: EC2 calls for a burst of 1,000 launches (2,000 events)', inventory.burstCalls, 10]);

  const cluster = await startRedisCluster({ proxied: true });
  try {
    for (const [label, env] of [
      ['3-master cluster', { REDIS_CLUSTER: 'true' }],
      ['3-master cluster, stream mirror on', { REDIS_CLUSTER: 'true', STREAM_RETENTION_HOURS: '24' }],
      ['3-master cluster, inventory on', { REDIS_CLUSTER: 'true', INVENTORY: 'true' }],
    ] as const) {
      for (const groups of [1, 2]) {
        const { turns, byLatency } = await warmRoundTrips(cluster.url, cluster.proxies, groups, env);
        rows.push([`warm, ${label}, ${groups} group(s): proxy turns per batch`, turns, 1.3]);
        rows.push([`warm, ${label}, ${groups} group(s): round trips per batch by latency`, byLatency, 1.3]);
      }
    }
  } finally {
    await cluster.stop();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
  await redis.stop();
}

const width = Math.max(...rows.map(([name]) => name.length));
console.log(`\n${'measure'.padEnd(width)}  ${'value'.padStart(8)}  ${'goal'.padStart(8)}  met`);
for (const [name, value, goal] of rows) {
  const target = Number.isFinite(goal) ? `<= ${goal}` : '';
  const met = Number.isFinite(goal) ? (value <= goal ? 'yes' : 'NO') : '';
  console.log(`${name.padEnd(width)}  ${value.toFixed(2).padStart(8)}  ${target.padStart(8)}  ${met}`);
}
console.log(
  `\nBatches of 10 records; proxies add ${DELAY_MS} ms each way; warm: ${WARM_BATCHES} batches after one that connects; cold: median of ${COLD_RUNS} fresh processes each way; ${process.version}`,
);
if (rows.some(([, value, goal]) => !(value <= goal))) process.exitCode = 1;
