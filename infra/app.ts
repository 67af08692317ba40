import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type Stack, Validations } from 'aws-cdk-lib';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
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
import { templateSizeProblems } from './deployment-limits.ts';
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

/**
 * Synthesizes the app, then checks each template's size: CloudFormation refuses one over 1,000,000 bytes only at
 * deploy, and the size is known only once written. Over it, the line says how many `accounts` fit.
 */
export function synthesizeApp(app: App): CloudAssembly {
  const assembly = app.synth();
  const problems = app.node.children
    .filter((child): child is SyncStack => child instanceof SyncStack)
    .flatMap((stack) =>
      templateSizeProblems(
        {
          stackName: stack.stackName,
          bytes: templateBytes(assembly, stack),
          accounts: stack.props.sync.accounts?.length ?? 0,
        },
        (count) => templateBytesWithAccounts(app, stack, count),
      ),
    );
  if (problems.length > 0) throw new SettingsError('these settings cannot be deployed', problems);
  return assembly;
}

function templateBytes(assembly: CloudAssembly, stack: Stack): number {
  return statSync(join(assembly.directory, assembly.getStackByName(stack.stackName).templateFile)).size;
}

/** The size of `stack`'s template with only its first `count` accounts: built again in an app of its own. */
function templateBytesWithAccounts(app: App, stack: SyncStack, count: number): number {
  const outdir = mkdtempSync(join(tmpdir(), 'template-size-'));
  try {
    const scratch = new App({
      outdir,
      autoSynth: false,
      context: app.node.getAllContext(),
      // The function code's asset hash is as long either way: no need to bundle it again.
      postCliContext: { 'aws:cdk:bundling-stacks': [] },
    });
    const { sync } = stack.props;
    const again = new SyncStack(scratch, stack.node.id, {
      ...stack.props,
      sync: { ...sync, accounts: sync.accounts?.slice(0, count) },
    });
    return templateBytes(scratch.synth(), again);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    // No stack traces in the assembly's warnings: the CLI printed their frames as bare file: lines.
    synthesizeApp(buildApp(new App({ stackTraces: false })));
  } catch (error) {
    // Settings a user gave: one message, no stack trace.
    if (!(error instanceof SettingsError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
