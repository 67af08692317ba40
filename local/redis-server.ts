import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.ts';

export const REDIS_SERVER_MISSING =
  'redis-server not found on PATH: install it (Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis) or set REDIS_SERVER_BIN';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
  /** Starts it again on the same port (after stop). */
  start(): Promise<void>;
}

/*
 * The watchdog: a shell runs redis-server and reads its stdin, a pipe from this process. The pipe closes however
 * this process ends, `kill -9` included, and then the shell kills redis-server and removes its folder; `stop()`
 * closes the pipe too. Node has no parent-death signal of its own. The shell prints redis-server's pid first, so that
 * a normal exit can kill it at once.
 */
const WATCHDOG = [
  // Ctrl-C and a group's SIGTERM reach this shell too: it stays to clean up, and goes when the pipe closes.
  "trap '' INT TERM",
  'dir=$1; shift',
  'exec 3<&0',
  '"$@" </dev/null >/dev/null 3<&- & pid=$!',
  'echo $pid',
  // Its own messages ("Killed") would go to a closed pipe once this process is gone: SIGPIPE would end the shell.
  'exec >/dev/null 2>/dev/null',
  '(cat <&3 >/dev/null; kill -9 $pid) &',
  'exec 3<&-',
  'wait $pid; status=$?',
  'rm -rf "$dir"',
  'exit $status',
].join('\n');

function redisServerBin(): string {
  const bin = process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const probe = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) throw new Error(REDIS_SERVER_MISSING);
  return bin;
}

/**
 * A throwaway redis-server on a free loopback port, no persistence, in a folder of its own that goes with it (a
 * replica's full sync writes an RDB file even with persistence off); extra args go on its command line.
 */
export async function startRedisServer(extraArgs: readonly string[] = []): Promise<RedisServer> {
  const bin = redisServerBin();
  const port = await freePort();
  let child: ChildProcess | undefined;

  const start = async () => {
    const dir = mkdtempSync(join(tmpdir(), 'redis-server-'));
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extraArgs];
    const proc = spawn('sh', ['-c', WATCHDOG, 'redis-watchdog', dir, bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (chunk) => {
      stderr += String(chunk);
    });
    // On a normal exit it goes at once, before the next command may want its port; the watchdog is for the rest.
    proc.stdout?.once('data', (chunk) => {
      const pid = Number.parseInt(String(chunk), 10);
      const killOnExit = () => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      };
      process.once('exit', killOnExit);
      proc.once('exit', () => process.off('exit', killOnExit));
    });
    const deadline = Date.now() + 5000;
    while (!(await acceptsConnections(port))) {
      if (proc.exitCode !== null) {
        proc.stdin?.end();
        throw new Error(`redis-server exited with ${proc.exitCode}: ${stderr.trim()}`);
      }
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`redis-server did not listen on ${port} within 5 s`);
      }
      await sleep(20);
    }
  };

  const stop = async () => {
    const proc = child;
    child = undefined;
    // Gone already: Ctrl-C reaches the whole process group, the watchdog shell included (signalCode, no exitCode).
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.stdin?.end();
    await exited;
  };

  await start();
  return { port, url: `redis://127.0.0.1:${port}`, start, stop };
}

/** Whether something accepts a TCP connection on that loopback port. */
export function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
