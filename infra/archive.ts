import { Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { output } from './outputs.ts';
import type { RuleDefinition } from './rules.ts';

/**
 * The event pattern of the archive: what any of the rules matches, as the one pattern itself or EventBridge's `$or`
 * over them. Built from the rule table, so a rule added there is archived too. Per-account rules (context `accounts`)
 * cut one pattern by `account` and together match what it matches without that field: the archive takes the pattern
 * once, not once per account, which keeps it within EventBridge's pattern size quota however many accounts there are
 * (it may hold more than the rules match, never less: a replay goes through the rules themselves).
 */
export function archiveEventPattern(rules: readonly RuleDefinition[]): Record<string, unknown> {
  const patterns = new Map<string, Record<string, unknown>>();
  for (const rule of rules) {
    const { account: _cutByAccount, ...pattern } = rule.eventPattern;
    patterns.set(JSON.stringify(pattern), JSON.parse(JSON.stringify(pattern)) as Record<string, unknown>);
  }
  const distinct = [...patterns.values()];
  if (distinct.length === 0) throw new Error('an archive of the rules needs at least one rule');
  return distinct.length === 1 ? (distinct[0] as Record<string, unknown>) : { $or: distinct };
}

export interface RulesArchiveProps {
  readonly region: string;
  readonly rules: readonly RuleDefinition[];
  readonly retentionDays: number;
}

/** An EventBridge archive on the default bus holding the events the rules match, for replay after a long outage. */
export class RulesArchive extends Construct {
  readonly archiveName: string;
  readonly archiveArn: string;

  constructor(scope: Construct, id: string, props: RulesArchiveProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.archiveName = `management-events-${props.region}`;
    const archive = new events.CfnArchive(this, 'Archive', {
      archiveName: this.archiveName,
      description: 'Events of the management-events rules, for replay into them (README: replay after an outage)',
      sourceArn: stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' }),
      eventPattern: archiveEventPattern(props.rules),
      retentionDays: props.retentionDays,
    });
    this.archiveArn = archive.attrArn;
    // Into the rules only (FilterArns): without them a replay also reaches every other rule on the default bus.
    const destination = {
      Arn: stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: 'default' }),
      FilterArns: props.rules.map((rule) => stack.formatArn({ service: 'events', resource: 'rule', resourceName: rule.name })),
    };
    output(this, 'ReplayCommand', {
      value: `aws events start-replay --region ${props.region} --replay-name management-events-REPLAY --event-start-time START --event-end-time END --event-source-arn ${this.archiveArn} --destination '${stack.toJsonString(destination)}'`,
      description: 'Replay archived events into the rules (docs/replay.md); set the name and the time range',
    });
  }
}
