import { describeError } from './errors.ts';

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
export type LogFields = Record<string, unknown>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export type LineSink = (line: string) => void;

/*
 * Written straight to stdout, not through console: Lambda's JSON log format wraps console output in its own
 * envelope, and the embedded metric format in the summary line must reach CloudWatch as a top-level JSON object.
 */
const stdoutSink: LineSink = (line) => {
  process.stdout.write(`${line}\n`);
};

export function createJsonLogger(sink: LineSink = stdoutSink, base: LogFields = {}): Logger {
  // A batch logs a line per record within the same millisecond or two: format the time once per millisecond.
  let stampedAt = 0;
  let stamp = '';
  const write = (level: LogLevel, message: string, fields?: LogFields) => {
    const now = Date.now();
    if (now !== stampedAt) {
      stampedAt = now;
      stamp = new Date(now).toISOString();
    }
    const entry: LogFields = Object.assign({ timestamp: stamp, level, message }, base, fields);
    if (entry.error instanceof Error || (entry.error !== undefined && typeof entry.error !== 'object')) {
      entry.error = describeError(entry.error);
    }
    sink(JSON.stringify(entry));
  };
  return {
    info: (message, fields) => write('INFO', message, fields),
    warn: (message, fields) => write('WARN', message, fields),
    error: (message, fields) => write('ERROR', message, fields),
  };
}
