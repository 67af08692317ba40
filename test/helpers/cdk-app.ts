import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildApp } from '../../infra/app.ts';
import { SettingsError } from '../../infra/problems.ts';

export const REDIS_URL = 'rediss://cache.example.internal:6379';

export interface SynthesizedApp {
  readonly stacks: readonly Stack[];
  readonly templates: ReadonlyMap<string, Template>;
  /** cdk-nag's findings that no acknowledgment covers (empty when clean). */
  readonly nagReports: readonly unknown[];
  readonly assembly: CloudAssembly;
  /** The raw templates, for cfn-lint. */
  readonly rawTemplates: readonly Record<string, unknown>[];
}

/** Builds the app with this context (no defaults from cdk.json) and synthesizes it, cdk-nag included. */
export function synthesize(context: Record<string, unknown>): SynthesizedApp {
  return synthesized(buildApp(new App({ context })));
}

/**
 * One stack of a team's own app (eu-west-1), built by `build`, synthesized with cdk-nag as the app does: for the
 * constructs used directly.
 */
export function synthesizeStack(build: (stack: Stack) => void, context: Record<string, unknown> = {}): SynthesizedApp {
  const app = new App({ context });
  build(new Stack(app, 'team-stack', { env: { account: '123456789012', region: 'eu-west-1' } }));
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return synthesized(app);
}

function synthesized(app: App): SynthesizedApp {
  const stacks = app.node.children.filter((child): child is Stack => child instanceof Stack);
  const templates = new Map(stacks.map((stack) => [stack.stackName, Template.fromStack(stack)]));
  const assembly = app.synth();
  const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as {
    pluginReports: unknown[];
  };
  return {
    stacks,
    templates,
    assembly,
    nagReports: report.pluginReports,
    rawTemplates: assembly.stacks.map((stack) => stack.template as Record<string, unknown>),
  };
}

/** The one template of a one-stack app. */
export function onlyTemplate(synthesized: SynthesizedApp): Template {
  const [template, ...others] = synthesized.templates.values();
  if (template === undefined || others.length > 0) throw new Error(`expected one stack, got ${synthesized.templates.size}`);
  return template;
}

/** The problems, one line each, of a context the app refuses before synth; fails when the app accepts it. */
export function refusedProblems(context: Record<string, unknown>): readonly string[] {
  try {
    buildApp(new App({ context }));
  } catch (error) {
    assert.ok(error instanceof SettingsError, String(error));
    return error.problems;
  }
  assert.fail('the app accepted it');
}
