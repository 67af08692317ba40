import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parseEvents } from './events-input.ts';

export type InputItem =
  | { readonly event: Record<string, unknown> }
  | { readonly rejected: { readonly where: string; readonly reason: string } };

/**
 * Events from a stream as they arrive, without holding the input: JSON lines are parsed one by one (CRLF or LF, a
 * last line without a newline too, line numbers counted over the whole input). A JSON array or an
 * `{"Events": [...]}` document is one value and is parsed whole, when its end has arrived.
 */
export async function* readEvents(input: Readable): AsyncGenerator<InputItem> {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNumber = 0;
  let mode: 'lines' | 'document' | undefined;
  const document: string[] = [];
  for await (let line of lines) {
    lineNumber += 1;
    if (lineNumber === 1 && line.startsWith('\uFEFF')) line = line.slice(1);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (mode === 'document') {
      document.push(line);
      continue;
    }
    if (line.trim() === '') {
      // Kept until the format is known, so that a document's line numbers stay right.
      if (mode === undefined) document.push(line);
      continue;
    }
    if (mode === undefined) {
      mode = isDocumentStart(line) ? 'document' : 'lines';
      if (mode === 'document') {
        document.push(line);
        continue;
      }
      document.length = 0;
    }
    yield parseLine(line, `line ${lineNumber}`);
  }
  if (mode === 'document') {
    const parsed = parseEvents(document.join('\n'));
    for (const rejected of parsed.rejected) yield { rejected };
    for (const event of parsed.events) yield { event };
  }
}

/** A first line that is not a whole event but the start of one JSON document (an array, an export, pretty JSON). */
function isDocumentStart(line: string): boolean {
  const trimmed = line.trim();
  if (!trimmed.startsWith('[') && !trimmed.startsWith('{')) return false;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return true;
  }
  if (Array.isArray(value)) return true;
  const { Events, events } = value as { Events?: unknown; events?: unknown };
  return Array.isArray(Events) || Array.isArray(events);
}

function parseLine(line: string, where: string): InputItem {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { rejected: { where, reason: `not JSON: ${(error as Error).message}` } };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { rejected: { where, reason: 'not a JSON object' } };
  return { event: value as Record<string, unknown> };
}
