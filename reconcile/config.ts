import { type DescriberTarget, readTarget } from '../describer/config.ts';
import { rulesPerAccount } from '../infra/account-rules.ts';
import { type RuleDefinition, SUPPORTED_RESOURCE_TYPES, selectRules } from '../infra/rules.ts';

/** The reconcile function's environment, validated once per container. */
export interface ReconcileConfig {
  /** The FIFO queue (QUEUE_URL), or in a member account the central account's default bus (CENTRAL_BUS_ARN). */
  readonly target: DescriberTarget;
  readonly region: string;
  /** INVENTORY=true: snapshots for the inventory, through its one message group. */
  readonly inventory: boolean;
  /**
   * The rules the stack deploys, from the rule table (API_CALL_RULE, ACCOUNTS): without the inventory each part
   * takes every message group the account's live events take, so no snapshot overtakes one of them.
   */
  readonly rules: readonly RuleDefinition[];
}

export class ReconcileConfigError extends Error {
  override name = 'ReconcileConfigError';
}

export function readReconcileConfig(env: Readonly<Record<string, string | undefined>>): ReconcileConfig {
  const problems: string[] = [];
  const target = readTarget(env, problems);
  const inventory = flag(env, 'INVENTORY', false, problems);
  const apiCallRule = flag(env, 'API_CALL_RULE', true, problems);
  if (target?.kind === 'bus' && !inventory) {
    problems.push("CENTRAL_BUS_ARN needs INVENTORY=true: the central account takes members' snapshots into its inventory only");
  }
  const accounts = (env.ACCOUNTS ?? '')
    .split(',')
    .map((account) => account.trim())
    .filter((account) => account !== '');
  for (const account of accounts)
    if (!/^\d{12}$/.test(account)) problems.push(`ACCOUNTS: "${account}" is not a 12-digit account ID`);
  const region = env.AWS_REGION?.trim() ?? '';
  if (region === '') problems.push('AWS_REGION is not set');
  if (problems.length > 0 || target === undefined) throw new ReconcileConfigError(problems.join('; '));
  // The tag rule's resource types change its pattern, not its group.
  const rules = rulesPerAccount(selectRules({ apiCallRule, resourceTypes: SUPPORTED_RESOURCE_TYPES }), accounts);
  return { target, region, inventory, rules };
}

function flag(env: Readonly<Record<string, string | undefined>>, name: string, fallback: boolean, problems: string[]): boolean {
  const value = env[name]?.trim() ?? '';
  if (value === '') return fallback;
  if (value !== 'true' && value !== 'false') problems.push(`${name} must be true or false, got "${value}"`);
  return value === 'true';
}
