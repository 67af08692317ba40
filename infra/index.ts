/*
 * The package root: the constructs and their props. The functions' code ships already bundled beside them.
 */

export { RulesArchive, type RulesArchiveProps } from './archive.ts';
export { type InventoryDashboardProps, SyncDashboard } from './dashboard.ts';
export { ManagementEventsForwarder, type ManagementEventsForwarderProps } from './forwarder.ts';
export { Inventory, type InventoryProps } from './inventory.ts';
export type { InventoryDestination } from './inventory-destination.ts';
export { ManagementEventsSync } from './management-events-sync.ts';
export { PropsError, SettingsError } from './problems.ts';
export { Reconcile, type ReconcileProps } from './reconcile.ts';
export { type ResourceType, type RuleDefinition, SUPPORTED_RESOURCE_TYPES } from './rules.ts';
export type {
  AlarmProps,
  Consumer,
  InventoryOptionProps,
  ManagementEventsSyncProps,
  ResolvedSyncProps,
  RuleProps,
} from './sync-props.ts';
