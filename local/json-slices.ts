/*
 * The source text of each item of a JSON document's event list, so that an event is sent as written: parsing and
 * serializing again would change it (12345678901234567890 becomes 12345678901234567000, 1.50 becomes 1.5, "caf\u00e9"
 * becomes "café"). The text has already passed JSON.parse; this only finds where each value starts and ends.
 */

/** The items of the top-level array, or of the array under one of `keys` in the top-level object. */
export function listItemTexts(text: string, keys: readonly string[]): string[] | undefined {
  const start = skipSpace(text, 0);
  if (text[start] === '[') return arrayItems(text, start);
  if (text[start] !== '{') return undefined;
  let index = skipSpace(text, start + 1);
  while (text[index] === '"') {
    const keyEnd = skipValue(text, index);
    const key = JSON.parse(text.slice(index, keyEnd)) as string;
    const valueStart = skipSpace(text, skipSpace(text, keyEnd) + 1);
    if (keys.includes(key) && text[valueStart] === '[') return arrayItems(text, valueStart);
    index = skipSpace(text, skipValue(text, valueStart));
    if (text[index] === ',') index = skipSpace(text, index + 1);
  }
  return undefined;
}

function arrayItems(text: string, open: number): string[] {
  const items: string[] = [];
  let index = skipSpace(text, open + 1);
  while (index < text.length && text[index] !== ']') {
    const end = skipValue(text, index);
    items.push(text.slice(index, end));
    index = skipSpace(text, end);
    if (text[index] === ',') index = skipSpace(text, index + 1);
  }
  return items;
}

/** The index just past the value that starts at `start`. */
function skipValue(text: string, start: number): number {
  const first = text[start];
  if (first === '"') return skipString(text, start);
  if (first === '{' || first === '[') {
    let depth = 0;
    for (let index = start; index < text.length; index += 1) {
      const char = text[index];
      if (char === '"') index = skipString(text, index) - 1;
      else if (char === '{' || char === '[') depth += 1;
      else if (char === '}' || char === ']') {
        depth -= 1;
        if (depth === 0) return index + 1;
      }
    }
    return text.length;
  }
  let index = start;
  while (index < text.length && !/[\s,\]}]/.test(text[index] ?? '')) index += 1;
  return index;
}

function skipString(text: string, start: number): number {
  let index = start + 1;
  while (index < text.length && text[index] !== '"') index += text[index] === '\\' ? 2 : 1;
  return index + 1;
}

function skipSpace(text: string, start: number): number {
  let index = start;
  while (index < text.length && /\s/.test(text[index] ?? '')) index += 1;
  return index;
}
