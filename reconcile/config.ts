import { type DescriberTarget, readTarget } from '../describer/config.ts';

/** The reconcile function's environment, validated once per container. */
export interface ReconcileConfig {
  /** The FIFO queue (QUEUE_URL), or in a member account the central account's default bus (CENTRAL_BUS_ARN). */
  readonly target: DescriberTarget;
  readonly groups: readonly string[];
  readonly region: string;
  /** INVENTORY=true: snapshots for the inventory, through its one message group (SNAPSHOT_GROUPS is not needed). */
  readonly inventory: boolean;
}

export class ReconcileConfigError extends Error {
  override name = 'ReconcileConfigError';
}

export function readReconcileConfig(env: Readonly<Record<string, string | undefined>>): ReconcileConfig {
  const problems: string[] = [];
  const target = readTarget(env, problems);
  const groups = (env.SNAPSHOT_GROUPS ?? '')
    .split(',')
    .map((group) => group.trim())
    .filter((group) => group !== '');
  const inventory = env.INVENTORY?.trim() ?? '';
  if (!['', 'true', 'false'].includes(inventory)) problems.push(`INVENTORY must be true or false, got "${inventory}"`);
  if (target?.kind === 'bus' && inventory !== 'true') {
    problems.push("CENTRAL_BUS_ARN needs INVENTORY=true: the central account takes members' snapshots into its inventory only");
  } else if (groups.length === 0 && inventory !== 'true') {
    problems.push('SNAPSHOT_GROUPS must list the message groups, comma-separated');
  }
  for (const group of groups) {
    // SQS: up to 128 characters, alphanumerics and punctuation.
    if (!/^[\x21-\x7e]{1,128}$/.test(group)) problems.push(`SNAPSHOT_GROUPS: "${group}" is not a valid message group id`);
  }
  const region = env.AWS_REGION?.trim() ?? '';
  if (region === '') problems.push('AWS_REGION is not set');
  if (problems.length > 0 || target === undefined) throw new ReconcileConfigError(problems.join('; '));
  return { target, groups, region, inventory: inventory === 'true' };
}
