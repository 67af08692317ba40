// C0 and C1 controls, and the characters that reorder or break a line on screen (bidi controls, line separators).
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly the characters it must find.
const UNPRINTABLE = /[\u0000-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]/g;

/** Text that came from the input, safe to print: a control character shows as an escape, never acts on the terminal. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => {
    const code = char.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Rows as aligned columns, two spaces apart, the header first. */
export function columns(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const format = (row: readonly string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return [format(header), ...rows.map(format)];
}

export interface Output {
  /** One line, made printable. */
  say(line: string): void;
  /** Resolves when the reader went away (`npm start | head -2`): there is nobody left to tell anything. */
  readonly closed: Promise<void>;
}

export interface Reader {
  /** Resolves when the reader went away (EPIPE). */
  readonly closed: Promise<void>;
  /** Whether it did: nothing more is written to a closed pipe, whose write would fail again. */
  gone(): boolean;
}

/** Watches `stream` for its reader going away: an EPIPE then ends the writing quietly; another error still throws. */
export function watchReader(stream: NodeJS.WriteStream): Reader {
  let isGone = false;
  const closed = new Promise<void>((resolve) => {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (isGone) return;
      if (error.code !== 'EPIPE') throw error;
      isGone = true;
      resolve();
    });
  });
  return { closed, gone: () => isGone };
}

/** Lines to stdout; a closed pipe ends the output quietly instead of an EPIPE error. */
export function createOutput(stream: NodeJS.WriteStream = process.stdout): Output {
  const reader = watchReader(stream);
  return {
    say(line) {
      if (!reader.gone()) stream.write(`${printable(line)}\n`);
    },
    closed: reader.closed,
  };
}
