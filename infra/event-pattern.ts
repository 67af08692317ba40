import type * as events from 'aws-cdk-lib/aws-events';

/** A JSON EventBridge pattern, as written in rules.ts and in the EventBridge console. */
export type JsonEventPattern = Readonly<Record<string, unknown>>;

/** What infra/ needs of a rule definition (rules.ts's RuleDefinition has this shape). */
export interface RuleLike {
  readonly name: string;
  readonly messageGroupId: string;
  readonly description: string;
  readonly eventPattern: JsonEventPattern;
}

/** Top-level fields of an event that a pattern may name, with CDK's property name for each. */
const CDK_FIELDS: Readonly<Record<string, keyof events.EventPattern>> = {
  version: 'version',
  id: 'id',
  'detail-type': 'detailType',
  source: 'source',
  account: 'account',
  time: 'time',
  region: 'region',
  resources: 'resources',
  detail: 'detail',
};

/**
 * The one conversion from a JSON pattern to CDK's EventPattern: CDK renames `detailType` back to `detail-type` and
 * passes every value through, so the deployed pattern is the JSON one, key for key.
 */
export function toCdkEventPattern(pattern: JsonEventPattern): events.EventPattern {
  const converted: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(pattern)) {
    const field = CDK_FIELDS[key];
    if (field === undefined) throw new Error(`event pattern field "${key}" is not an EventBridge event field`);
    converted[field] = value;
  }
  return converted as events.EventPattern;
}
