import type { InventoryRecord } from './inventory-pipeline.ts';
import type { InventoryMessage } from './inventory-subscriber.ts';
import { columns } from './terminal.ts';

type Item = {
  readonly State?: { readonly Name?: string } | string;
  readonly Tags?: readonly { readonly Key?: string; readonly Value?: string }[];
};

/** What a description says in a word: an instance's state, a VPC's or subnet's, and its Name tag. */
function summary(item: unknown): { state: string; name: string } {
  const { State, Tags } = (item ?? {}) as Item;
  const state = typeof State === 'string' ? State : (State?.Name ?? '');
  return { state, name: Tags?.find((tag) => tag.Key === 'Name')?.Value ?? '' };
}

/** One line per change on the change feed: `created  instance  i-0a1b...  running  web-1`. */
export function describeChange({ channel, body }: InventoryMessage): string {
  try {
    const { change, type, id, item } = JSON.parse(body) as { change: string; type: string; id: string; item: unknown };
    const { state, name } = summary(item);
    return `${channel}  ${change}  ${type}  ${id}  ${[state, name].filter((part) => part !== '').join('  ')}`;
  } catch {
    return `${channel}  (not JSON)`;
  }
}

/** The inventory as a table: type, id, state, Name tag, and for tombstones why; sorted by type and id. */
export function inventoryTable(records: readonly InventoryRecord[]): string[] {
  const rows = [...records]
    .sort((a, b) => a.type.localeCompare(b.type) || a.id.localeCompare(b.id))
    .map((record) => {
      const { state, name } = summary(record.item);
      return [
        record.type,
        record.id,
        record.region,
        record.deleted ? `deleted (${record.reason})` : state,
        name,
        record.observedAt,
        record.source,
      ];
    });
  const header = ['type', 'id', 'region', 'state', 'name', 'observed at', 'source'];
  return columns(header, rows);
}
