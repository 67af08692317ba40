import { CfnResource, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';

/*
 * Limits that synth does not know and CloudFormation or Lambda enforce only at deploy, after minutes of work and a
 * rollback: checked on the constructs as built, one line each (which resource, how big, the limit, what to do).
 */

/** Lambda's limit on a function's environment: the variables' names and values, as JSON. */
export const LAMBDA_ENVIRONMENT_BYTES = 4096;
/** CloudFormation's resources per stack (not adjustable). */
export const STACK_RESOURCES = 500;
/** What a value known only at deploy (a queue URL, an ARN) is counted as: longer than any this project passes. */
const DEPLOY_TIME_VALUE_BYTES = 128;

/** One line for each function in `scope` whose environment is over Lambda's 4 KB. */
export function environmentSizeProblems(scope: Construct): string[] {
  const stack = Stack.of(scope);
  return scope.node
    .findAll()
    .filter((child): child is lambda.CfnFunction => child instanceof lambda.CfnFunction)
    .flatMap((fn) => {
      const environment = stack.resolve(fn.environment) as { variables?: Record<string, unknown> } | undefined;
      const variables = Object.entries(environment?.variables ?? {}).map(([name, value]) => [name, knownText(value)] as const);
      const bytes = Buffer.byteLength(JSON.stringify(Object.fromEntries(variables)));
      if (bytes <= LAMBDA_ENVIRONMENT_BYTES) return [];
      const [largest, value] = variables.reduce((a, b) => (Buffer.byteLength(b[1]) > Buffer.byteLength(a[1]) ? b : a));
      const name = stack.resolve(fn.functionName);
      return [
        `function ${typeof name === 'string' ? name : fn.node.path}: its environment takes about ${bytes.toLocaleString('en-US')} bytes, over Lambda's ${LAMBDA_ENVIRONMENT_BYTES.toLocaleString('en-US')}-byte limit (largest: ${largest}, ${Buffer.byteLength(value).toLocaleString('en-US')} bytes); keep large values out of the environment (a Secrets Manager secret or an SSM parameter the function reads)`,
      ];
    });
}

/** The text a resolved value will have, with each deploy-time part counted as DEPLOY_TIME_VALUE_BYTES. */
function knownText(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] } | null)?.['Fn::Join'];
  if (join !== undefined) return join[1].map(knownText).join(join[0]);
  return 'x'.repeat(DEPLOY_TIME_VALUE_BYTES);
}

export interface PerAccountRules {
  /** How many accounts have rules of their own (`accounts`). */
  readonly accounts: number;
  /** The rules each listed account adds. */
  readonly rulesPerAccount: number;
}

/** The stack's resources over CloudFormation's 500, with the most `accounts` that fit when they are the cause. */
export function resourceCountProblems(stack: Stack, perAccount: PerAccountRules): string[] {
  const count = stack.node.findAll().filter((child) => CfnResource.isCfnResource(child) && Stack.of(child) === stack).length;
  if (count <= STACK_RESOURCES) return [];
  const heading = `stack ${stack.stackName} holds ${count} resources, over CloudFormation's limit of ${STACK_RESOURCES} per stack`;
  const { accounts, rulesPerAccount } = perAccount;
  const others = count - accounts * rulesPerAccount;
  const fitting = Math.floor((STACK_RESOURCES - others) / rulesPerAccount);
  if (accounts === 0 || fitting < 0) return [`${heading}: move some resources to another stack`];
  return [
    // Checked before the template is written: its size, checked after, usually allows fewer (docs/organizations.md).
    `${heading}: each of the ${accounts} accounts adds ${rulesPerAccount} rules; list at most ${fitting} in accounts (the others share the rules' message groups), and fewer if the template's ${TEMPLATE_BYTES.toLocaleString('en-US')} bytes say so once the resources fit`,
  ];
}

/** CloudFormation's limit on a template (cdk deploy uploads it to S3 first; the limit there), in bytes. */
export const TEMPLATE_BYTES = 1_000_000;

export interface SynthesizedTemplate {
  readonly stackName: string;
  /** The template's size as synth wrote it (CDK's own indentation setting included). */
  readonly bytes: number;
  /** How many accounts have rules of their own (`accounts`). */
  readonly accounts: number;
}

/**
 * The template over CloudFormation's size limit, with the most `accounts` that fit when they are the cause.
 * `bytesWith(count)` synthesizes the same stack with the first `count` accounts only: called only when over.
 */
export function templateSizeProblems(template: SynthesizedTemplate, bytesWith: (count: number) => number): string[] {
  const { stackName, bytes, accounts } = template;
  if (bytes <= TEMPLATE_BYTES) return [];
  const heading = `stack ${stackName}: its template takes ${bytes.toLocaleString('en-US')} bytes, over CloudFormation's limit of ${TEMPLATE_BYTES.toLocaleString('en-US')} bytes per template`;
  const withOne = accounts === 0 ? Number.POSITIVE_INFINITY : bytesWith(1);
  if (withOne > TEMPLATE_BYTES) return [`${heading}: move some resources to another stack`];
  const perAccount = (bytes - withOne) / (accounts - 1);
  // Each account adds the same rules, so the size is nearly a straight line through 1 and `accounts` (metric ids in
  // the dashboard grow by a digit now and then): guess on it, then step to the exact count.
  let fitting = Math.min(accounts - 1, 1 + Math.floor((TEMPLATE_BYTES - withOne) / perAccount));
  while (fitting > 1 && bytesWith(fitting) > TEMPLATE_BYTES) fitting -= 1;
  while (fitting + 1 < accounts && bytesWith(fitting + 1) <= TEMPLATE_BYTES) fitting += 1;
  return [
    `${heading}: each of the ${accounts} accounts adds about ${(Math.round(perAccount / 100) * 100).toLocaleString('en-US')} bytes; list at most ${fitting} in accounts (the others share the rules' message groups)`,
  ];
}
