import type { Readable } from 'node:stream';
import { eventFromText, type InputItem, parseDocument } from './events-input.ts';
import { inputLines } from './input-lines.ts';
import { SQS_MAX_MESSAGE_BYTES } from './router.ts';

export interface ReadOptions {
  /** Every line is one event (`--follow`): a first line that looks like the start of a document is not waited on. */
  readonly linesOnly?: boolean;
  /** The region EventBridge would give the events of a PutEvents request (`{"Entries": [...]}`). */
  readonly region: string;
  /** Ends the reading: the input is destroyed. */
  readonly signal?: AbortSignal;
}

/**
 * A JSON line longer than this is no event an SQS message could carry, with room to spare (a line a little over the
 * limit is still read, to be reported as too large with its size): it is skipped unread, and never held in memory.
 */
export const MAX_LINE_BYTES = 2 * SQS_MAX_MESSAGE_BYTES;

/** A JSON document (an array, an export) is parsed whole: beyond this, JSON lines are the way (they are streamed). */
export const MAX_DOCUMENT_BYTES = 256 * 1024 * 1024;

const DOCUMENT_TOO_LARGE = `more than the ${MAX_DOCUMENT_BYTES} bytes a JSON document may have here (give JSON lines, one event per line, for more): not read`;

/**
 * Events from a stream as they arrive, without holding the input: JSON lines are parsed one by one (CRLF or LF, a
 * last line without a newline too, line numbers counted over the whole input), each kept as written. A JSON
 * document (an array, `{"Events": [...]}`, `{"Entries": [...]}`, pretty JSON) is parsed whole, when its end has
 * arrived: unless `linesOnly`, a first line that is not a whole event is taken for the start of one.
 */
export async function* readEvents(input: Readable, options: ReadOptions): AsyncGenerator<InputItem> {
  let mode: 'lines' | 'document' | undefined = options.linesOnly === true ? 'lines' : undefined;
  // Until the format is known, a first line that starts like JSON may be a whole document on one line.
  const maxBytes = (start: Buffer) =>
    mode === 'document' || (mode === undefined && mayStartDocument(start)) ? MAX_DOCUMENT_BYTES : MAX_LINE_BYTES;
  const document: string[] = [];
  let documentBytes = 0;
  for await (const read of inputLines(input, maxBytes, options.signal)) {
    const where = `line ${read.number}`;
    if (read.text === undefined) {
      yield {
        kind: 'rejected',
        where,
        reason:
          read.limit === MAX_LINE_BYTES
            ? `${read.bytes} bytes, longer than any event an SQS message holds (${SQS_MAX_MESSAGE_BYTES} bytes): not read`
            : `${read.bytes} bytes, ${DOCUMENT_TOO_LARGE}`,
      };
      if (mode === 'document') return;
      continue;
    }
    let line = read.number === 1 && read.text.startsWith('\uFEFF') ? read.text.slice(1) : read.text;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (mode === 'document') {
      documentBytes += Buffer.byteLength(read.text) + 1;
      if (documentBytes > MAX_DOCUMENT_BYTES) {
        yield { kind: 'rejected', where: 'the document', reason: DOCUMENT_TOO_LARGE };
        return;
      }
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
        documentBytes = Buffer.byteLength(read.text) + 1;
        document.push(line);
        continue;
      }
      document.length = 0;
    }
    yield eventFromText(line, where);
  }
  if (mode === 'document') yield* parseDocument(document.join('\n'), options.region);
}

/** The first bytes of a line that may open a JSON document: `[` or `{`, after a byte order mark and blanks. */
function mayStartDocument(start: Buffer): boolean {
  const text = start
    .subarray(0, 64)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart();
  return text === '' || text.startsWith('[') || text.startsWith('{');
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
