import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { eventFromText, type InputItem, parseDocument } from './events-input.ts';

export interface ReadOptions {
  /** Every line is one event (`--follow`): a first line that looks like the start of a document is not waited on. */
  readonly linesOnly?: boolean;
  /** The region EventBridge would give the events of a PutEvents request (`{"Entries": [...]}`). */
  readonly region: string;
}

/**
 * Events from a stream as they arrive, without holding the input: JSON lines are parsed one by one (CRLF or LF, a
 * last line without a newline too, line numbers counted over the whole input), each kept as written. A JSON
 * document (an array, `{"Events": [...]}`, `{"Entries": [...]}`, pretty JSON) is parsed whole, when its end has
 * arrived: unless `linesOnly`, a first line that is not a whole event is taken for the start of one.
 */
export async function* readEvents(input: Readable, options: ReadOptions): AsyncGenerator<InputItem> {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let lineNumber = 0;
  let mode: 'lines' | 'document' | undefined = options.linesOnly === true ? 'lines' : undefined;
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
    yield eventFromText(line, `line ${lineNumber}`);
  }
  if (mode === 'document') yield* parseDocument(document.join('\n'), options.region);
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
  const { Events, events, Entries } = value as Record<string, unknown>;
  return Array.isArray(Events) || Array.isArray(events) || Array.isArray(Entries);
}
