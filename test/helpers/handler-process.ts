import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const CHILD = new URL('./handler-process-child.ts', import.meta.url).pathname;
const run = promisify(execFile);

export interface ProcessRun {
  /** Every line the process wrote to stdout and stderr. */
  readonly stdout: string[];
  readonly stderr: string[];
  /** The handler's response to its one batch (the last stdout line). */
  readonly response: { batchItemFailures: { itemIdentifier: string }[] };
}

/**
 * The function in a process of its own, as Lambda runs it: its environment (NODE_EXTRA_CA_CERTS is read at start)
 * and its stdout, where the JSON log lines go. It publishes one batch of `records` state changes to CHANNEL.
 */
export async function runHandlerProcess(env: Record<string, string>, records = 2): Promise<ProcessRun> {
  const { stdout, stderr } = await run(process.execPath, [CHILD, String(records)], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...env },
    timeout: 30_000,
  });
  const lines = stdout.split('\n').filter((line) => line !== '');
  return {
    stdout: lines,
    stderr: stderr.split('\n').filter((line) => line !== ''),
    response: JSON.parse(lines.at(-1) ?? '{}'),
  };
}
