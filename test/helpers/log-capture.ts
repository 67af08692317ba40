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
