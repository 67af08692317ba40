import { addAbortSignal, type Readable } from 'node:stream';

/** One line of input (without its LF), or only its size when it was longer than the limit: that text is not kept. */
export type InputLine =
  | { readonly number: number; readonly text: string }
  | { readonly number: number; readonly text?: undefined; readonly bytes: number; readonly limit: number };

const LF = 0x0a;

/**
 * The lines of a stream as they arrive, LF-separated, the last one without a newline too. A line longer than its
 * limit (`maxBytes` of the line's first bytes, asked once per line) is not held: its bytes are counted and dropped
 * until its end, so that memory stays flat whatever the input (700 MB of zeros without a newline). Once `signal`
 * aborts, the stream is destroyed and the lines end.
 */
export async function* inputLines(
  input: Readable,
  maxBytes: (start: Buffer) => number,
  signal?: AbortSignal,
): AsyncGenerator<InputLine> {
  if (signal !== undefined) addAbortSignal(signal, input);
  let parts: Buffer[] = [];
  let size = 0;
  let limit = 0;
  let number = 0;
  const keep = (piece: Buffer) => {
    if (piece.length === 0) return;
    if (size === 0) limit = maxBytes(piece);
    size += piece.length;
    if (size <= limit) parts.push(piece);
    else parts = [];
  };
  const take = (): InputLine => {
    number += 1;
    const line: InputLine =
      size > limit ? { number, bytes: size, limit } : { number, text: Buffer.concat(parts, size).toString('utf8') };
    parts = [];
    size = 0;
    return line;
  };
  try {
    for await (const chunk of input) {
      const buffer: Buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      let start = 0;
      for (let end = buffer.indexOf(LF); end !== -1; end = buffer.indexOf(LF, start)) {
        keep(buffer.subarray(start, end));
        yield take();
        start = end + 1;
      }
      keep(buffer.subarray(start));
    }
  } catch (error) {
    if (signal?.aborted) return;
    throw error;
  }
  if (size > 0) yield take();
}
