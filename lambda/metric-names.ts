/*
 * The CloudWatch metrics the project's functions emit (embedded metric format, namespace DEFAULT_METRICS_NAMESPACE,
 * dimension FunctionName), in one place: the functions write them, the stack's alarms and dashboard read them.
 */
export const METRIC_NAMES = {
  /** Sync function, per batch. */
  published: 'RecordsPublished',
  /** Records SQS will deliver again (outcome unknown included). */
  failed: 'RecordsFailed',
  outcomeUnknown: 'RecordsOutcomeUnknown',
  /** Records that can never be published, moved to the dead-letter queue by the function itself. */
  parked: 'RecordsParked',
  /** Inventory messages held back by the change feed's pacing (INVENTORY_FEED_BYTES_PER_SECOND), retried later. */
  paced: 'RecordsPaced',
  zeroReceivers: 'ZeroReceiverPublishes',
  oldestEventAgeMs: 'OldestEventAge',
  /** One value per published record: milliseconds from the event's `time` to its publish (p50, p99). */
  eventLagMs: 'EventLag',
  /** Inventory: records created, changed or deleted by a batch, and what each reconcile run corrected. */
  inventoryChanges: 'InventoryChanges',
  missedCreates: 'ReconcileMissedCreates',
  missedChanges: 'ReconcileMissedChanges',
  missedDeletes: 'ReconcileMissedDeletes',
  /** Describer: EC2 describe calls made, and those EC2 throttled (RequestLimitExceeded) before they succeeded. */
  describeCalls: 'DescribeCalls',
  describeThrottles: 'DescribeThrottles',
} as const;
