import type { RuleDefinition as RuleLike } from './rules.ts';

/** EventBridge's default quota of rules per event bus (adjustable through Service Quotas). */
export const RULES_PER_BUS_QUOTA = 300;

/**
 * Per-account message groups: each rule becomes one rule per listed account (pattern `account: [id]`, rule name and
 * message group suffixed with the account), so one account's poison event blocks only that account's group. The
 * seed's rule stays, under its own name and group, for every account not listed (`anything-but`): an account that
 * joins the organization later is still delivered, in the shared group.
 */
export function rulesPerAccount(rules: readonly RuleLike[], accounts: readonly string[]): RuleLike[] {
  if (accounts.length === 0) return [...rules];
  return rules.flatMap((rule) => [
    ...accounts.map((account) => ({
      name: `${rule.name}-${account}`,
      messageGroupId: `${rule.messageGroupId}-${account}`,
      description: `${rule.description} (account ${account})`,
      eventPattern: { ...rule.eventPattern, account: [account] },
    })),
    {
      ...rule,
      description: `${rule.description} (accounts not listed in context "accounts")`,
      eventPattern: { ...rule.eventPattern, account: [{ 'anything-but': [...accounts] }] },
    },
  ]);
}
