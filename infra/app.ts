import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  CONTEXT_KEYS,
  ContextError,
  contextValues,
  inventoryContext,
  type RegionalSettings,
  readSettings,
  ruleContext,
} from './config.ts';
import { forwarderPropsProblems, type ManagementEventsForwarderProps } from './forwarder.ts';
import { MEMBER_STACK_NAME, MemberStack } from './member-stack.ts';
import { readCentralAccount, readMemberAssetsBucketPrefix } from './organization-settings.ts';
import { SettingsError } from './problems.ts';
import { SYNC_DEFAULTS } from './sync-props.ts';
import { SyncStack } from './sync-stack.ts';
import { unknownContextKeys } from './unknown-context.ts';

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
 * The constructs, driven by context: one stack per region, named after it; with `centralAccount`, the one member
 * stack instead. cdk-nag's AwsSolutions pack checks every synth.
 */
export function buildApp(app: App = new App()): App {
  const read = (key: string) => app.node.tryGetContext(key);
  // Listed with every other problem: a misspelled key is often one of several mistakes.
  const problems = unknownContextKeys(app.node.getAllContext() as Record<string, unknown>, CONTEXT_KEYS);
  const centralAccount = readCentralAccount(read, problems);
  if (centralAccount !== undefined) {
    const forwarder = {
      centralAccount,
      alarmEmail: contextValues(read).text('alarmEmail'),
      ...ruleContext(read),
      ...inventoryContext(read),
    };
    problems.push(...forwarderPropsProblems(forwarder));
    const assetsBucketPrefix = readMemberAssetsBucketPrefix(read, forwarder.inventory === true, problems);
    if (problems.length > 0) throw new ContextError(problems);
    new MemberStack(app, MEMBER_STACK_NAME, {
      forwarder: forwarder as ManagementEventsForwarderProps,
      assetsBucketPrefix,
      description: `Management events of this account and region, forwarded to the default bus of ${centralAccount}`,
    });
  } else {
    const settings = readSettings(read, { redisUrlRequired: templateWillBeDeployed(app) }, problems);
    const stacks = settings.regions.map(
      (region) =>
        new SyncStack(app, `management-events-sync-${region}`, {
          region,
          sync: settings.sync,
          regional: settings.regional[region] as RegionalSettings,
          description: `Real-time sync of AWS assets (${region}): EventBridge rules -> SQS FIFO -> ${settings.sync.consumer ?? SYNC_DEFAULTS.consumer} -> Redis`,
        }),
    );
    // Before synth, in the user's words: what AWS would refuse only at deploy (CDK's own check is a stack trace).
    const limits = stacks.flatMap((stack) => stack.sync.deploymentLimitProblems());
    if (limits.length > 0) throw new SettingsError('these settings cannot be deployed', limits);
  }
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    // No stack traces in the assembly's warnings: the CLI printed their frames as bare file: lines.
    buildApp(new App({ stackTraces: false })).synth();
  } catch (error) {
    // Settings a user gave: one message, no stack trace.
    if (!(error instanceof SettingsError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
