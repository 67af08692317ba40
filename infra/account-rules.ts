import { firstMismatch } from './event-pattern.ts';
import type { RuleDefinition as RuleLike } from './rules.ts';

/** EventBridge's default quota of rules per event bus (adjustable through Service Quotas). */
export const RULES_PER_BUS_QUOTA = 300;
/** EventBridge's default quota "Event pattern size", in characters (adjustable through Service Quotas). */
export const EVENT_PATTERN_SIZE_QUOTA = 2048;

/** A rule's pattern as EventBridge measures it: its JSON, in characters. */
export function eventPatternSize(rule: RuleLike): number {
  return JSON.stringify(rule.eventPattern).length;
}

/**
 * The most listed accounts for which every pattern of `rules` stays within `limit` characters: the shared rule of each
 * kind names every listed account (`anything-but`), so it grows by one 12-digit ID per account.
 */
export function mostAccountsWithin(rules: readonly RuleLike[], limit: number): number {
  const largest = (count: number) => {
    const accounts = Array.from({ length: count }, (_, i) => String(i).padStart(12, '0'));
    return Math.max(...rulesPerAccount(rules, accounts).map(eventPatternSize));
  };
  let count = 0;
  while (largest(count + 1) <= limit) count++;
  return count;
}

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

/**
 * The message groups an account's events take through these rules, in the table's order: its own groups when it is
 * listed in `accounts`, the shared ones when it is not (the rules' `account` field decides, as EventBridge matches).
 */
export function messageGroupsOf(rules: readonly RuleLike[], account: string): string[] {
  const matching = rules.filter(
    (rule) =>
      rule.eventPattern.account === undefined || firstMismatch({ account: rule.eventPattern.account }, { account }) === undefined,
  );
  return [...new Set(matching.map((rule) => rule.messageGroupId))];
}
