import { Annotations, App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RULES_PER_BUS_QUOTA, ruleCount, rulesPerAccount } from './account-rules.ts';
import { CONTEXT_KEYS, ContextError, readResourceTypes, readSettings, settingsForRegion } from './config.ts';
import { MEMBER_STACK_NAME, MemberStack } from './member-stack.ts';
import { allowOrganizationOnDefaultBus } from './organization-bus-policy.ts';
import { readMemberSettings } from './organization-settings.ts';
import { type RuleDefinition, selectRules } from './rules.ts';
import { SyncStack } from './sync-stack.ts';
import { unknownContextKeys } from './unknown-context.ts';

type Read = (key: string) => unknown;

/** The rule table the stacks deploy: one place, so central and member stacks can never differ. */
function ruleTable(read: Read, problems: string[]): readonly RuleDefinition[] {
  const apiCallRule = String(read('apiCallRule') ?? 'true')
    .trim()
    .toLowerCase();
  if (apiCallRule !== 'true' && apiCallRule !== 'false') problems.push(`apiCallRule must be true or false, got "${apiCallRule}"`);
  const types = read('resourceTypes');
  const items = (Array.isArray(types) ? types.map(String) : String(types ?? '').split(','))
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return selectRules({ apiCallRule: apiCallRule !== 'false', resourceTypes: readResourceTypes(items, problems) });
}

/**
 * The CDK CLI bundles assets only for commands that deploy or show templates (synth, deploy, diff, watch...): for
 * `cdk ls` and `cdk destroy` it passes an empty `aws:cdk:bundling-stacks`. Those commands never deploy the template,
 * so settings only a deployment needs (redisUrl) are not required there.
 */
function templateWillBeDeployed(app: App): boolean {
  const bundlingStacks: unknown = app.node.tryGetContext('aws:cdk:bundling-stacks');
  return !Array.isArray(bundlingStacks) || bundlingStacks.length > 0;
}

/**
 * One stack per region, named after it; with `centralAccount`, the one member stack instead. cdk-nag's AwsSolutions
 * pack checks every synth.
 */
export function buildApp(app: App = new App()): App {
  const read = (key: string) => app.node.tryGetContext(key);
  const unknown = unknownContextKeys(app.node.getAllContext() as Record<string, unknown>, CONTEXT_KEYS);
  if (unknown.length > 0) throw new ContextError(unknown);

  const problems: string[] = [];
  const member = readMemberSettings(read, problems);
  const table = ruleTable(read, problems);
  if (problems.length > 0) throw new ContextError(problems);
  if (member !== undefined) {
    new MemberStack(app, MEMBER_STACK_NAME, {
      settings: member,
      rules: table,
      description: `Management events of this account and region, forwarded to the default bus of ${member.centralAccount}`,
    });
  } else {
    const settings = readSettings(read, { redisUrlRequired: templateWillBeDeployed(app) });
    const rules = rulesPerAccount(table, settings.accounts);
    const warnings = [...settings.warnings];
    if (rules.length > RULES_PER_BUS_QUOTA) {
      warnings.push(
        `accounts: ${ruleCount(table.length, settings.accounts.length)} rules on the default bus exceed EventBridge's default quota of ${RULES_PER_BUS_QUOTA} rules per bus: raise it in Service Quotas before deploying`,
      );
    }
    for (const region of settings.regions) {
      const stack = new SyncStack(app, `management-events-sync-${region}`, {
        region,
        settings: settingsForRegion(settings, region),
        rules,
        description: `Real-time sync of AWS assets (${region}): EventBridge rules -> SQS FIFO -> ${settings.consumer} -> Redis`,
      });
      if (settings.organizationId !== undefined) allowOrganizationOnDefaultBus(stack, settings.organizationId);
      for (const warning of warnings) Annotations.of(stack).addWarningV2('sync:settings', warning);
    }
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    buildApp().synth();
  } catch (error) {
    if (!(error instanceof ContextError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
