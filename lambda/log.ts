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

/**
 * Any Error, in any field at any depth, is logged as its name and message only: an ioredis error carries the
 * command's arguments, and for AUTH those are the password.
 */
function cleanErrors(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}

export function createJsonLogger(sink: LineSink = stdoutSink, base: LogFields = {}): Logger {
  const write = (level: LogLevel, message: string, fields: LogFields = {}) => {
    sink(JSON.stringify({ timestamp: new Date().toISOString(), level, message, ...base, ...fields }, cleanErrors));
  };
  return {
    info: (message, fields) => write('INFO', message, fields),
    warn: (message, fields) => write('WARN', message, fields),
    error: (message, fields) => write('ERROR', message, fields),
  };
}
