import {
  INVENTORY_MESSAGE_GROUP,
  SNAPSHOT_DETAIL_TYPE,
  SNAPSHOT_SOURCE,
  STATE_DETAIL_TYPE,
  STATE_SOURCE,
} from '../lambda/inventory-events.ts';
import type { RuleDefinition } from './rules.ts';

export const MEMBER_INVENTORY_RULE_NAME = 'management-events-inventory';

/**
 * The central account's rule for its members' inventory: the Asset State and Asset Snapshot events their describer
 * and reconcile functions put on its default bus, into the FIFO queue's inventory group. Not the central account's
 * own: its functions send straight to the queue, so such an event on its bus came from someone else.
 */
export function memberInventoryRule(centralAccount: string): RuleDefinition {
  return {
    name: MEMBER_INVENTORY_RULE_NAME,
    messageGroupId: INVENTORY_MESSAGE_GROUP,
    description: 'Descriptions and reconcile snapshots that member accounts put on this bus, for the inventory',
    eventPattern: {
      source: [STATE_SOURCE, SNAPSHOT_SOURCE],
      'detail-type': [STATE_DETAIL_TYPE, SNAPSHOT_DETAIL_TYPE],
      account: [{ 'anything-but': centralAccount }],
    },
  };
}
