import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { Redis } from 'ioredis';
import { createHandler } from '../lambda/handler.ts';
import { createJsonLogger } from '../lambda/log.ts';
import { PUBLISH_GROUPS_LUA } from '../lambda/redis.ts';
import { lambdaContext, sqsEvent, sqsRecord, stateChange, tagChange } from '../test/helpers/records.ts';
import { startRedisServer } from '../test/helpers/redis-server.ts';
import { startTcpProxy } from '../test/helpers/tcp-proxy.ts';
import { bundleFunction } from './bundle.ts';

const BATCHES = Number(process.env.BENCH_BATCHES ?? 4000);
// 40 batches a round, 4-7 ms: with 20 rounds of 200 batches the median ratio moved by +-0.05 between runs of the
// same code (a goal row that passed or failed by chance); with 100 it moves by about +-0.01.
const ROUNDS = 100;
const PROXY_DELAY_MS = 10;

function makeBatches(count: number, groups: number) {
  return Array.from({ length: count }, (_, b) =>
    sqsEvent(
      Array.from({ length: 10 }, (_, i) =>
        sqsRecord({
          body:
            i % 2 === 0
              ? stateChange(`i-${b}-${i}`, 'running')
              : tagChange(`arn:aws:ec2:us-east-1:123456789012:vpc/vpc-${b}`, ['Name'], { Name: `n${i}` }),
          group: `group-${i % groups}`,
        }),
      ),
    ),
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function throughput(url: string) {
  const batches = makeBatches(BATCHES, 2);
  // Logs are formatted as in production, then discarded: the bench measures the function, not the terminal.
  const handler = createHandler({ env: { REDIS_URL: url }, logger: createJsonLogger(() => undefined) });
  const context = lambdaContext();
  const raw = new Redis(url, { scripts: { publishGroups: { lua: PUBLISH_GROUPS_LUA, numberOfKeys: 0 } } }) as Redis & {
    publishGroups(...args: string[]): Promise<unknown>;
  };
  const channel = 'topic-account-management-events-123456789012';
  const runHandler = async (slice: readonly SQSEvent[]) => {
    for (const batch of slice) await handler(batch, context);
  };
  // The validation the contract requires before anything is published; the result is not needed.
  const parseBodies = (batch: SQSEvent) => {
    for (const record of batch.Records) JSON.parse(record.body);
  };
  const runRaw = async (slice: readonly SQSEvent[], validate = false) => {
    for (const batch of slice) {
      if (validate) parseBodies(batch);
      const pipeline = raw.pipeline();
      for (const record of batch.Records) pipeline.publish(channel, record.body);
      await pipeline.exec();
    }
  };
  // The function's Lua script called directly, with the calls the function makes (the first message group as soon as
  // its bodies are parsed, then the others): the ordered publish alone, without logging or middleware, and validated
  // or not. Validated, it is the contract's own work without the handler's bookkeeping, logs and middleware; on this
  // machine it is not a bound on the handler (see the README).
  const callScript = (groups: readonly SQSRecord[][], validate: boolean) => {
    const args = ['0'];
    for (const records of groups) {
      args.push(String(records.length));
      for (const record of records) {
        if (validate) JSON.parse(record.body);
        args.push(channel, record.body);
      }
    }
    return raw.publishGroups(...args);
  };
  const runScript = async (slice: readonly SQSEvent[], validate = false) => {
    for (const batch of slice) {
      const groups = [...Map.groupBy(batch.Records, (record) => record.attributes.MessageGroupId).values()];
      const first = callScript(groups.slice(0, 1), validate);
      await (groups.length > 1 ? Promise.all([first, callScript(groups.slice(1), validate)]) : first);
    }
  };
  const timed = async (work: Promise<void>) => {
    const started = performance.now();
    await work;
    return performance.now() - started;
  };
  const warmUp = batches.slice(0, 200);
  await runHandler(warmUp);
  await runRaw(warmUp);
  await runRaw(warmUp, true);
  await runScript(warmUp);
  await runScript(warmUp, true);

  // Short alternating rounds: a noisy neighbour slows every side of a round alike, and median ratios ignore outliers.
  const ratios = { handler: [] as number[], script: [] as number[], validated: [] as number[], validatedScript: [] as number[] };
  let handlerMs = 0;
  let rawMs = 0;
  const roundSize = Math.max(1, Math.floor(BATCHES / ROUNDS));
  for (let round = 0; round < ROUNDS; round++) {
    const slice = batches.slice(round * roundSize, (round + 1) * roundSize);
    const h = await timed(runHandler(slice));
    const r = await timed(runRaw(slice));
    handlerMs += h;
    rawMs += r;
    ratios.handler.push(r / h);
    ratios.script.push(r / (await timed(runScript(slice))));
    ratios.validated.push(r / (await timed(runRaw(slice, true))));
    ratios.validatedScript.push(r / (await timed(runScript(slice, true))));
  }
  await handler.close();
  raw.disconnect();
  const records = roundSize * ROUNDS * 10;
  return {
    handlerRate: records / (handlerMs / 1000),
    rawRate: records / (rawMs / 1000),
    ratio: median(ratios.handler),
    scriptRatio: median(ratios.script),
    validatedRatio: median(ratios.validated),
    validatedScriptRatio: median(ratios.validatedScript),
  };
}

async function roundTrips(port: number, groups: number) {
  const proxy = await startTcpProxy(port);
  proxy.delayMs = PROXY_DELAY_MS;
  const handler = createHandler({
    env: { REDIS_URL: `redis://127.0.0.1:${proxy.port}` },
    logger: createJsonLogger(() => undefined),
  });
  const batches = makeBatches(30, groups);
  await handler(batches[0] ?? sqsEvent([]), lambdaContext());
  proxy.resetTurns();
  const started = performance.now();
  for (const batch of batches.slice(1)) await handler(batch, lambdaContext());
  const perBatchMs = (performance.now() - started) / (batches.length - 1);
  const turns = proxy.turns / (batches.length - 1);
  await handler.close();
  await proxy.close();
  // Each round trip crosses the proxy twice.
  return { turns, byLatency: perBatchMs / (2 * PROXY_DELAY_MS) };
}

function loadTimes(bundle: string) {
  const node = process.execPath;
  const run = (args: string[]) => {
    const started = performance.now();
    const result = spawnSync(node, args, { stdio: 'ignore', env: { ...process.env, NODE_OPTIONS: '--enable-source-maps' } });
    if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited with ${result.status}`);
    return performance.now() - started;
  };
  const bare: number[] = [];
  const loaded: number[] = [];
  for (let i = 0; i < 15; i++) {
    bare.push(run(['--input-type=module', '-e', '']));
    loaded.push(run(['--input-type=module', '-e', `await import(${JSON.stringify(bundle)})`]));
  }
  return { bare: median(bare), loaded: median(loaded) };
}

const redis = await startRedisServer();
try {
  const dir = mkdtempSync(join(tmpdir(), 'sync-bundle-'));
  const bundle = join(dir, 'index.mjs');
  await bundleFunction(bundle);
  const bundleKb = statSync(bundle).size / 1024;
  const load = loadTimes(bundle);
  const rate = await throughput(redis.url);
  const one = await roundTrips(redis.port, 1);
  const two = await roundTrips(redis.port, 2);
  rmSync(dir, { recursive: true, force: true });

  const rows: [string, string, string, boolean][] = [
    ['records/s through the handler', rate.handlerRate.toFixed(0), '', true],
    ['records/s raw pipelined PUBLISH (baseline)', rate.rawRate.toFixed(0), '', true],
    ['handler / raw pipelined PUBLISH (median of rounds)', rate.ratio.toFixed(3), '>= 0.70', rate.ratio >= 0.7],
    ['  for reference: the Lua script alone / raw', rate.scriptRatio.toFixed(3), '', true],
    ['  for reference: raw after JSON.parse of each body / raw', rate.validatedRatio.toFixed(3), '', true],
    ['  for reference: JSON.parse of each body, then the Lua script / raw', rate.validatedScriptRatio.toFixed(3), '', true],
    ['round trips per batch, 1 group (proxy turns)', one.turns.toFixed(2), '<= 1.3', one.turns <= 1.3],
    ['round trips per batch, 1 group (by latency)', one.byLatency.toFixed(2), '<= 1.3', one.byLatency <= 1.3],
    ['round trips per batch, 2 groups (proxy turns)', two.turns.toFixed(2), '<= 1.3', two.turns <= 1.3],
    ['round trips per batch, 2 groups (by latency)', two.byLatency.toFixed(2), '<= 1.3', two.byLatency <= 1.3],
    ['bundle size (KB)', bundleKb.toFixed(0), '<= 400', bundleKb <= 400],
    ['bundle load beyond bare node start (ms)', (load.loaded - load.bare).toFixed(1), '<= 60', load.loaded - load.bare <= 60],
  ];
  const width = Math.max(...rows.map((row) => row[0].length));
  console.log(`\n${'measure'.padEnd(width)}  ${'value'.padStart(9)}  ${'goal'.padEnd(8)}  met`);
  for (const [name, value, goal, met] of rows) {
    console.log(`${name.padEnd(width)}  ${value.padStart(9)}  ${goal.padEnd(8)}  ${goal === '' ? '' : met ? 'yes' : 'NO'}`);
  }
  console.log(
    `\n${BATCHES} batches of 10 records in 2 groups, ${ROUNDS} alternating rounds (handler, raw, script, validated raw, validated script); proxy adds ${PROXY_DELAY_MS} ms each way; ${process.version}`,
  );
  if (rows.some(([, , goal, met]) => goal !== '' && !met)) process.exitCode = 1;
} finally {
  await redis.stop();
}
