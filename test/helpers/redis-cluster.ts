import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { type RedisServer, startRedisServer } from '../../local/redis-server.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

export interface RedisCluster {
  readonly nodes: readonly RedisServer[];
  /** One per node when started with proxies: the ports the cluster announces, so every client byte crosses them. */
  readonly proxies: readonly TcpProxy[];
  /** A URL of one node (as a configuration endpoint would be). */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * Three masters on free ports, slots spread by `redis-cli --cluster create`. With `proxied`, each node announces the
 * port of a TCP proxy in front of it, so that a test can add latency or count turns on every connection.
 */
export async function startRedisCluster(options: { proxied?: boolean } = {}): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-cluster-'));
  const nodes: RedisServer[] = [];
  const proxies: TcpProxy[] = [];
  const stop = async () => {
    for (const proxy of proxies) await proxy.close();
    for (const node of nodes) await node.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i++) {
      const file = join(dir, `nodes-${i}.conf`);
      nodes.push(
        await startRedisServer(['--cluster-enabled', 'yes', '--cluster-config-file', file, '--cluster-node-timeout', '2000']),
      );
    }
    const created = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8' },
    );
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    await waitForClusterOk(nodes);
    if (options.proxied === true) {
      for (const node of nodes) {
        const proxy = await startTcpProxy(node.port);
        proxies.push(proxy);
        const admin = new Redis(node.port, '127.0.0.1', { lazyConnect: true });
        await admin.connect();
        await admin.config('SET', 'cluster-announce-port', String(proxy.port));
        admin.disconnect();
      }
      // The announced ports travel by gossip: wait until every node lists the proxies in CLUSTER SLOTS.
      await waitForAnnounced(nodes, proxies);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const entry = proxies[0]?.port ?? nodes[0]?.port;
  return { nodes, proxies, url: `redis://127.0.0.1:${entry}`, stop };
}

async function waitForAnnounced(nodes: readonly RedisServer[], proxies: readonly TcpProxy[]): Promise<void> {
  const wanted = new Set(proxies.map((proxy) => proxy.port));
  const deadline = Date.now() + 15_000;
  for (const node of nodes) {
    const client = new Redis(node.port, '127.0.0.1');
    try {
      for (;;) {
        const slots = (await client.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
        if (slots.every(([, , [, port]]) => wanted.has(port))) break;
        if (Date.now() > deadline) throw new Error(`the cluster did not announce the proxy ports on ${node.port}`);
        await sleep(100);
      }
    } finally {
      client.disconnect();
    }
  }
}

async function waitForClusterOk(nodes: readonly RedisServer[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (const node of nodes) {
    const client = new Redis(node.port, '127.0.0.1');
    try {
      for (;;) {
        const info = await client.cluster('INFO');
        if (String(info).includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error(`cluster not ok on ${node.port}: ${info}`);
        await sleep(100);
      }
    } finally {
      client.disconnect();
    }
  }
}
