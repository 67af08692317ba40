import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const CHILD = new URL('./cold-start-child.ts', import.meta.url).pathname;
const run = promisify(execFile);

/**
 * Milliseconds a new process's handler takes for its first batch of 10 records (module loading not counted). Not
 * spawnSync: the latency proxy runs in this process and must keep forwarding meanwhile.
 */
export async function coldStartMs(redisUrl: string): Promise<number> {
  const { stdout } = await run(process.execPath, [CHILD], { encoding: 'utf8', env: { ...process.env, REDIS_URL: redisUrl } });
  const ms = Number(stdout.trim());
  if (!Number.isFinite(ms)) throw new Error(`cold start run printed no time: ${stdout}`);
  return ms;
}
