export interface ParsedEvents {
  readonly events: Record<string, unknown>[];
  /** Lines or items that are not JSON objects, with why: reported and skipped. */
  readonly rejected: { readonly where: string; readonly reason: string }[];
}

/**
 * Events as JSON lines, a JSON array, or an object with an `Events` array (an EventBridge archive replayed to a
 * file, or `aws events list-...` output saved by hand).
 */
export function parseEvents(text: string): ParsedEvents {
  const trimmed = text.trim();
  if (trimmed === '') return { events: [], rejected: [] };
  if (trimmed.startsWith('[') || /^\{\s*"(Events|events)"\s*:/.test(trimmed)) {
    try {
      const value = JSON.parse(trimmed) as unknown;
      const items = Array.isArray(value)
        ? value
        : ((value as { Events?: unknown; events?: unknown }).Events ?? (value as { events?: unknown }).events);
      if (Array.isArray(items)) return collect(items.map((item, index) => [`item ${index + 1}`, item] as const));
    } catch {
      // Not one JSON document: read it as JSON lines below.
    }
  }
  const lines = text.split('\n').map((line, index) => [`line ${index + 1}`, line] as const);
  const parsed: [string, unknown][] = [];
  const rejected: { where: string; reason: string }[] = [];
  for (const [where, line] of lines) {
    if (line.trim() === '') continue;
    try {
      parsed.push([where, JSON.parse(line)]);
    } catch (error) {
      rejected.push({ where, reason: `not JSON: ${(error as Error).message}` });
    }
  }
  const collected = collect(parsed);
  return { events: collected.events, rejected: [...rejected, ...collected.rejected] };
}

function collect(items: readonly (readonly [string, unknown])[]): ParsedEvents {
  const events: Record<string, unknown>[] = [];
  const rejected: { where: string; reason: string }[] = [];
  for (const [where, item] of items) {
    // An archive entry may hold the event as a JSON string.
    const value = typeof item === 'string' ? safeParse(item) : item;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) events.push(value as Record<string, unknown>);
    else rejected.push({ where, reason: 'not a JSON object' });
  }
  return { events, rejected };
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
