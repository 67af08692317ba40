import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';

export interface CliRun {
  readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<{ code: number | null; stdout: string; stderr: string }>;
  output(): string;
}

export interface CliOptions {
  /** Written to stdin, which is then closed; `undefined` leaves stdin open for the test to write. */
  readonly input?: string;
  /** The whole environment (nothing inherited) when `replaceEnv`, else added to this process's. */
  readonly env?: Record<string, string | undefined>;
  readonly replaceEnv?: boolean;
  readonly cwd?: string;
}

/** A command run with this test's Node (24): `args` starts with the script. */
export function runCli(args: readonly string[], options: CliOptions = {}): CliRun {
  return watch(spawn(process.execPath, [...args], { env: environment(options), cwd: options.cwd, stdio: 'pipe' }), options);
}

/**
 * A bash command line (pipes, redirections) in a process group of its own: `close()` kills all it started, a run
 * that hangs included. Its stdin is empty unless `input` says otherwise.
 */
export function runShell(command: string, options: CliOptions = {}): CliRun & { close(): void } {
  const child = spawn('bash', ['-c', command], { env: environment(options), cwd: options.cwd, stdio: 'pipe', detached: true });
  return {
    ...watch(child, { input: '', ...options }),
    close: () => {
      if (child.exitCode === null && child.signalCode === null) process.kill(-(child.pid ?? 0), 'SIGKILL');
    },
  };
}

function environment(options: CliOptions): NodeJS.ProcessEnv {
  const env = options.replaceEnv === true ? { ...options.env } : { ...process.env, ...options.env };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  return env;
}

function watch(child: ChildProcessWithoutNullStreams, options: CliOptions): CliRun {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += String(chunk);
  });
  child.stderr.on('data', (chunk) => {
    stderr += String(chunk);
  });
  if (options.input !== undefined) child.stdin.end(options.input);
  const exited = once(child, 'exit').then(([code]) => ({ code: code as number | null, stdout, stderr }));
  return { child, exited, output: () => stdout + stderr };
}

/** True when a text holds a stack trace line (`    at fn (file:1:2)`). */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+:\d+:\d+\)?$/m.test(text);
}
