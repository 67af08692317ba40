import { describeError } from './errors.ts';

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
export type LogFields = Record<string, unknown>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /**
   * A line whose fields are already JSON: an object's members without the braces. The function serializes what it
   * knows of each record while Redis answers, and only adds the outcome afterwards.
   */
  line(level: LogLevel, message: string, membersJson: string): void;
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
  // A batch logs a line per record within a millisecond or two: format the time once per millisecond.
  let stampedAt = 0;
  let stamp = '';
  const baseMembers = members(base);
  // The function logs a handful of fixed messages, a line per record: quote each once.
  const quoted = new Map<string, string>();
  const quote = (message: string) => {
    let json = quoted.get(message);
    if (json === undefined) {
      json = JSON.stringify(message);
      if (quoted.size < 64) quoted.set(message, json);
    }
    return json;
  };
  const line = (level: LogLevel, message: string, membersJson: string) => {
    const now = Date.now();
    if (now !== stampedAt) {
      stampedAt = now;
      stamp = new Date(now).toISOString();
    }
    const rest = `${baseMembers === '' ? '' : `,${baseMembers}`}${membersJson === '' ? '' : `,${membersJson}`}`;
    sink(`{"timestamp":"${stamp}","level":"${level}","message":${quote(message)}${rest}}`);
  };
  const write = (level: LogLevel, message: string, fields: LogFields = {}) => {
    if (fields.error !== undefined && (fields.error instanceof Error || typeof fields.error !== 'object')) {
      fields = { ...fields, error: describeError(fields.error) };
    }
    line(level, message, members(fields));
  };
  return {
    info: (message, fields) => write('INFO', message, fields),
    warn: (message, fields) => write('WARN', message, fields),
    error: (message, fields) => write('ERROR', message, fields),
    line,
  };
}

/** `{"a":1,"b":2}` -> `"a":1,"b":2`. */
export function members(fields: LogFields): string {
  return JSON.stringify(fields).slice(1, -1);
}
