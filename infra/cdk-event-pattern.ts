import type * as events from 'aws-cdk-lib/aws-events';
import type { EventPattern } from './event-pattern.ts';

/**
 * The CDK form of a JSON event pattern. `events.Rule` takes camelCase names for the envelope fields and renders
 * them back for CloudFormation, but it renames only `detailType` (to `detail-type`) and passes every other key and
 * every nested value through: so mapping that one key gives a template with exactly the JSON pattern.
 */
export function toCdkEventPattern(pattern: EventPattern): events.EventPattern {
  const cdk: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(pattern)) cdk[field === 'detail-type' ? 'detailType' : field] = value;
  return cdk as events.EventPattern;
}
