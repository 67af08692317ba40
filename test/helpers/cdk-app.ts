import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { buildApp } from '../../infra/app.ts';

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
  const app = buildApp(new App({ context }));
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
