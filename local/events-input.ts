import { listItemTexts } from './json-slices.ts';
import { eventFromEntry } from './put-events.ts';

/** An event as read, with the text it was written as: that text is what goes on the queue, unchanged. */
export interface InputEvent {
  readonly kind: 'event';
  /** `line N` or `item N`: where a message about it points. */
  readonly where: string;
  readonly event: Record<string, unknown>;
  readonly body: string;
}

/** Input that is not an event (not JSON, not an object, a PutEvents entry that PutEvents would refuse). */
export interface InputRejected {
  readonly kind: 'rejected';
  readonly where: string;
  readonly reason: string;
}

export type InputItem = InputEvent | InputRejected;

/** One JSON line (or one list item) as an event, or why it is not one. */
export function eventFromText(text: string, where: string): InputItem {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { kind: 'rejected', where, reason: `not JSON: ${(error as Error).message}` };
  }
  // An archive entry may hold the event as a JSON string: that string is the event's text.
  if (typeof value === 'string') return eventFromText(value, where);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'rejected', where, reason: 'not a JSON object' };
  }
  return { kind: 'event', where, event: value as Record<string, unknown>, body: text };
}

/**
 * A whole document: a JSON array of events, `{"Events": [...]}` (an EventBridge archive or `aws events` output
 * saved by hand), `{"Entries": [...]}` (a PutEvents request, turned into events as EventBridge does in `region`),
 * one pretty-printed event, or else JSON lines.
 */
export function parseDocument(text: string, region: string): InputItem[] {
  if (text.trim() === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return parseLines(text);
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const { Entries, Events, events } = value as Record<string, unknown>;
    if (Array.isArray(Entries)) {
      return Entries.map((entry, index) => {
        const where = `entry ${index + 1}`;
        const result = eventFromEntry(entry, region);
        return 'refused' in result ? { kind: 'rejected', where, reason: result.refused } : eventFromText(result.body, where);
      });
    }
    if (!Array.isArray(Events) && !Array.isArray(events)) return [eventFromText(text.trim(), 'the document')];
  }
  const items = listItemTexts(text, ['Events', 'events']);
  if (items === undefined) return [eventFromText(text.trim(), 'the document')];
  return items.map((item, index) => eventFromText(item, `item ${index + 1}`));
}

function parseLines(text: string): InputItem[] {
  const items: InputItem[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (trimmed.trim() !== '') items.push(eventFromText(trimmed, `line ${index + 1}`));
  }
  return items;
}
