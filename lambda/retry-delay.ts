/*
 * How long a record that failed for a transient reason (Redis down, stalled, full, failing over, refusing
 * credentials or an ACL) stays invisible before SQS hands it out again: the function sets it with
 * ChangeMessageVisibility. Short at first (a failover takes seconds), doubling, then capped so that Redis coming
 * back is noticed within minutes; with the default maxReceiveCount the waits add up to more than the queue's
 * retention, so an outage dead-letters nothing.
 */
export const FIRST_RETRY_DELAY_SECONDS = 5;
/** The longest wait between two tries: after an outage, events flow again within this. */
export const MAX_RETRY_DELAY_SECONDS = 360;
/** The queue keeps messages this long (4 days); a record must not reach maxReceiveCount before. */
export const QUEUE_RETENTION_SECONDS = 4 * 24 * 3600;
/** SQS's largest maxReceiveCount: 1000 tries with the delays below cover about 99 hours, more than the retention. */
export const DEFAULT_MAX_RECEIVE_COUNT = 1000;

/** The wait after the `receiveCount`-th try failed (1 for the first delivery). */
export function retryDelaySeconds(receiveCount: number): number {
  const exponent = Math.max(0, Math.min(Math.floor(receiveCount) - 1, 30));
  return Math.min(FIRST_RETRY_DELAY_SECONDS * 2 ** exponent, MAX_RETRY_DELAY_SECONDS);
}

/** How long a record can keep failing before SQS dead-letters it: the sum of the waits of its tries. */
export function outageCoveredSeconds(maxReceiveCount: number): number {
  let total = 0;
  for (let receive = 1; receive < maxReceiveCount; receive += 1) total += retryDelaySeconds(receive);
  return total;
}
