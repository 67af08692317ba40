/** The reconcile function's environment, validated once per container. */
export interface ReconcileConfig {
  readonly queueUrl: string;
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
  const queueUrl = env.QUEUE_URL?.trim() ?? '';
  if (!/^https?:\/\/\S+\.fifo$/.test(queueUrl)) problems.push('QUEUE_URL must be the URL of the FIFO queue (https://...fifo)');
  const groups = (env.SNAPSHOT_GROUPS ?? '')
    .split(',')
    .map((group) => group.trim())
    .filter((group) => group !== '');
  const inventory = env.INVENTORY?.trim() ?? '';
  if (!['', 'true', 'false'].includes(inventory)) problems.push(`INVENTORY must be true or false, got "${inventory}"`);
  if (groups.length === 0 && inventory !== 'true') {
    problems.push('SNAPSHOT_GROUPS must list the message groups, comma-separated');
  }
  for (const group of groups) {
    // SQS: up to 128 characters, alphanumerics and punctuation.
    if (!/^[\x21-\x7e]{1,128}$/.test(group)) problems.push(`SNAPSHOT_GROUPS: "${group}" is not a valid message group id`);
  }
  const region = env.AWS_REGION?.trim() ?? '';
  if (region === '') problems.push('AWS_REGION is not set');
  if (problems.length > 0) throw new ReconcileConfigError(problems.join('; '));
  return { queueUrl, groups, region, inventory: inventory === 'true' };
}
