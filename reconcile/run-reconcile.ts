import { randomUUID } from 'node:crypto';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { describeError } from '../lambda/errors.ts';
import type { Logger } from '../lambda/log.ts';
import { listAssets } from './list-assets.ts';
import type { SnapshotSender } from './send-snapshot.ts';
import { RESOURCE_TYPES, type ResourceType, snapshotParts } from './snapshot-events.ts';

interface RunOptions {
  readonly ec2: EC2Client;
  /** The FIFO queue, or the central bus from a member account. */
  readonly send: SnapshotSender;
  readonly account: string;
  readonly region: string;
  /** EventBridge's `resources` of each snapshot event: the reconcile function's ARN. */
  readonly resources: readonly string[];
  readonly logger: Logger;
  readonly newId?: () => string;
  readonly now?: () => Date;
  readonly maxPartBytes?: number;
}

/** Where the parts go (docs/reconcile.md): through every live rule's message group, or once to the inventory. */
export type ReconcileOptions = RunOptions & ({ readonly groups: readonly string[] } | { readonly inventory: true });

export interface TypeSummary {
  readonly resourceType: ResourceType;
  readonly items: number;
  readonly parts: number;
  readonly messages: number;
}

export interface ReconcileSummary {
  readonly snapshotId: string;
  readonly sent: readonly TypeSummary[];
  readonly failed: readonly { readonly resourceType: ResourceType; readonly error: { name: string; message: string } }[];
}

/** Some resource types could not be listed or sent; the others were. The invocation fails so the Errors alarm fires. */
export class ReconcileIncompleteError extends Error {
  override name = 'ReconcileIncompleteError';
  readonly summary: ReconcileSummary;
  constructor(summary: ReconcileSummary) {
    const failures = summary.failed.map((failure) => `${failure.resourceType} (${failure.error.name}: ${failure.error.message})`);
    super(`snapshot ${summary.snapshotId} not sent for ${failures.join(', ')}`);
    this.summary = summary;
  }
}

/**
 * Lists each resource type and sends its snapshot, one type after the other. A type whose listing or sending fails
 * is reported and the others still go out: consumers only act on snapshots whose every part arrived.
 */
export async function reconcile(options: ReconcileOptions): Promise<ReconcileSummary> {
  const newId = options.newId ?? randomUUID;
  const now = options.now ?? (() => new Date());
  const snapshotId = newId();
  const sent: TypeSummary[] = [];
  const failed: { resourceType: ResourceType; error: { name: string; message: string } }[] = [];
  for (const resourceType of RESOURCE_TYPES) {
    try {
      const started = now();
      const items = await listAssets(options.ec2, resourceType);
      const parts = snapshotParts({
        snapshotId,
        account: options.account,
        region: options.region,
        time: started.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        resources: options.resources,
        resourceType,
        items,
        ...('inventory' in options
          ? { inventory: { observedAt: started.toISOString(), types: RESOURCE_TYPES } }
          : { groups: options.groups }),
        newId,
        ...(options.maxPartBytes === undefined ? {} : { maxPartBytes: options.maxPartBytes }),
      });
      const sentMessages = await options.send(parts.messages());
      const summary = { resourceType, items: items.length, parts: parts.count, messages: sentMessages };
      sent.push(summary);
      options.logger.info('snapshot sent', { snapshotId, ...summary });
    } catch (error) {
      failed.push({ resourceType, error: describeError(error) });
      options.logger.error('snapshot not sent', { snapshotId, resourceType, error });
    }
  }
  const summary = { snapshotId, sent, failed };
  if (failed.length > 0) throw new ReconcileIncompleteError(summary);
  return summary;
}
