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
  const write = (level: LogLevel, message: string, fields: LogFields = {}) => {
    const entry: LogFields = { timestamp: new Date().toISOString(), level, message, ...base, ...fields };
    if (entry.error !== undefined && !isDescribed(entry.error)) entry.error = describeError(entry.error);
    sink(JSON.stringify(entry));
  };
  return {
    info: (message, fields) => write('INFO', message, fields),
    warn: (message, fields) => write('WARN', message, fields),
    error: (message, fields) => write('ERROR', message, fields),
  };
}

function isDescribed(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    !(value instanceof Error) &&
    Object.keys(value).every((key) => key === 'name' || key === 'message')
  );
}
