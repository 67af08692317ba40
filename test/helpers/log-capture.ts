import { createJsonLogger, type Logger } from '../../lambda/log.ts';

export interface CapturedLogs {
  readonly logger: Logger;
  readonly lines: string[];
  entries(): Record<string, unknown>[];
  withMessage(message: string): Record<string, unknown>[];
}

export function captureLogs(): CapturedLogs {
  const lines: string[] = [];
  const entries = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    logger: createJsonLogger((line) => lines.push(line)),
    lines,
    entries,
    withMessage: (message) => entries().filter((entry) => entry.message === message),
  };
}

/** The `{ name, message }` a log entry carries as its error; fails when there is none. */
export function errorOf(entry: Record<string, unknown> | undefined): { name: string; message: string } {
  const error = entry?.error as { name?: unknown; message?: unknown } | undefined;
  if (typeof error?.name !== 'string' || typeof error.message !== 'string') {
    throw new Error(`log entry has no error: ${JSON.stringify(entry)}`);
  }
  return { name: error.name, message: error.message };
}
