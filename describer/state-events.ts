/*
 * "Asset State" events (lambda/inventory-events.ts): one observation of one account, region and type, cut into
 * events of at most 240 KiB (under SQS's and PutEvents' 256 KiB with room for their own accounting). Every part is a
 * complete statement in itself: these items were observed then; the not-found ids go with the first part.
 */
import { type AssetStateDetail, type AssetType, assetId, STATE_DETAIL_TYPE, STATE_SOURCE } from '../lambda/inventory-events.ts';

export const MAX_STATE_EVENT_BYTES = 240 * 1024;

export interface StateEvent {
  /** The event's `id`, also the FIFO queue's deduplication id. */
  readonly id: string;
  readonly account: string;
  readonly region: string;
  /** The event's `time`: when it was sent (EventBridge's form, to the second). */
  readonly time: string;
  /** What produced it: the describer's function ARN. */
  readonly resources: readonly string[];
  readonly detail: AssetStateDetail;
}

/** One observation of one account, region and type: an Asset State's detail, before it is cut into events. */
export interface StateInput extends AssetStateDetail {
  readonly account: string;
  readonly region: string;
}

export interface EnvelopeFields {
  readonly time: string;
  readonly resources: readonly string[];
  readonly newId: () => string;
  readonly maxBytes?: number;
}

/** One item's description is larger than an event can carry; sending it would fail, dropping it would lie. */
export class StateItemTooLargeError extends Error {
  override name = 'StateItemTooLargeError';
}

/** The events for one observation: as few as fit, items in EC2's order. */
export function stateEvents(input: StateInput, fields: EnvelopeFields): StateEvent[] {
  const maxBytes = fields.maxBytes ?? MAX_STATE_EVENT_BYTES;
  const event = (items: readonly unknown[], notFound: readonly string[]): StateEvent => ({
    id: fields.newId(),
    account: input.account,
    region: input.region,
    time: fields.time,
    resources: fields.resources,
    detail: {
      resourceType: input.resourceType,
      observedAt: input.observedAt,
      items,
      notFound,
      ...(input.eventTime === undefined ? {} : { eventTime: input.eventTime }),
    },
  });
  const emptyBytes = (notFound: readonly string[]) => Buffer.byteLength(stateEventBody(event([], notFound)));
  const events: StateEvent[] = [];
  let current: unknown[] = [];
  let notFound = input.notFound;
  let bytes = emptyBytes(notFound);
  for (const item of input.items) {
    const itemBytes = Buffer.byteLength(JSON.stringify(item));
    if (current.length > 0 && bytes + 1 + itemBytes > maxBytes) {
      events.push(event(current, notFound));
      notFound = [];
      current = [];
      bytes = emptyBytes(notFound);
    }
    const added = (current.length > 0 ? 1 : 0) + itemBytes;
    if (bytes + added > maxBytes) throw tooLarge(input.resourceType, item, maxBytes);
    current.push(item);
    bytes += added;
  }
  if (current.length > 0 || events.length === 0) events.push(event(current, notFound));
  return events;
}

/** The EventBridge-shaped JSON the FIFO queue carries (and the sync function parses). */
export function stateEventBody(event: StateEvent): string {
  return JSON.stringify({
    version: '0',
    id: event.id,
    'detail-type': STATE_DETAIL_TYPE,
    source: STATE_SOURCE,
    account: event.account,
    time: event.time,
    region: event.region,
    resources: event.resources,
    detail: event.detail,
  });
}

function tooLarge(type: AssetType, item: unknown, maxBytes: number): StateItemTooLargeError {
  return new StateItemTooLargeError(
    `${type} ${assetId(type, item) ?? '(no id)'} does not fit in an Asset State event of ${maxBytes} bytes`,
  );
}
