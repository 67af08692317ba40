/*
 * The EventBridge rules, as plain data: the stack deploys them and the local pipeline routes with them.
 * The seed's two rules keep their names, sources, detail-types and message groups; the third catches the EC2 API
 * calls that create, change or delete VPCs, subnets and instances, which no native event reports.
 */
import { type EventPattern, firstMismatch } from './event-pattern.ts';

export type { EventPattern } from './event-pattern.ts';

export interface RuleDefinition {
  /** Rule name on the default event bus. */
  readonly name: string;
  /** Message group ID that the rule's SQS FIFO target sets: events of one group are delivered in order. */
  readonly messageGroupId: string;
  readonly description: string;
  /** The pattern exactly as EventBridge's JSON (`source`, `detail-type`, `detail`, ...). */
  readonly eventPattern: EventPattern;
}

/** The asset types this project syncs, as the tag events name them (`detail.resource-type`, service `ec2`). */
export const SUPPORTED_RESOURCE_TYPES = ['instance', 'vpc', 'subnet'] as const;
export type ResourceType = (typeof SUPPORTED_RESOURCE_TYPES)[number];

/** For rule descriptions. */
const PLURALS: Record<string, string> = { instance: 'instances', vpc: 'VPCs', subnet: 'subnets' };

export interface RuleOptions {
  /** The CloudTrail API-call rule (needs a trail in the account). */
  readonly apiCallRule: boolean;
  /** `all`: every tag change in the account, as the seed forwarded; a list: tag changes of those EC2 types only. */
  readonly resourceTypes: 'all' | readonly string[];
}

export const DEFAULT_RULE_OPTIONS: RuleOptions = { apiCallRule: true, resourceTypes: SUPPORTED_RESOURCE_TYPES };

export const API_CALL_RULE_NAME = 'management-events-api-calls';
/** Other features (reconcile) rely on this group name. */
export const API_CALL_MESSAGE_GROUP = 'management-events-api-calls';

/**
 * Successful EC2 API calls that create, delete or change what DescribeVpcs, DescribeSubnets and DescribeInstances
 * return, by the type whose description they change (a call that changes two types is under both). docs/events.md
 * holds the reasoned list: what each call changes, what it names, and every call left out with why (the tests hold
 * the rule to it, and the list to the EC2 API model of the installed SDK). Left out here because another rule
 * reports them: RunInstances, StartInstances, StopInstances, TerminateInstances (state changes) and CreateTags,
 * DeleteTags (tag changes).
 */
export const API_CALL_EVENT_NAMES = {
  vpc: [
    'CreateVpc',
    'CreateDefaultVpc',
    'DeleteVpc',
    'ModifyVpcAttribute',
    'ModifyVpcTenancy',
    'AssociateVpcCidrBlock',
    'DisassociateVpcCidrBlock',
    'AssociateDhcpOptions',
    // EncryptionControl
    'CreateVpcEncryptionControl',
    'ModifyVpcEncryptionControl',
    'DeleteVpcEncryptionControl',
    'ModifyAccountVpcEncryptionControl',
    // BlockPublicAccessStates (of VPCs and subnets)
    'CreateVpcBlockPublicAccessExclusion',
    'ModifyVpcBlockPublicAccessExclusion',
    'DeleteVpcBlockPublicAccessExclusion',
    'ModifyVpcBlockPublicAccessOptions',
  ],
  subnet: [
    'CreateSubnet',
    'CreateDefaultSubnet',
    'DeleteSubnet',
    'ModifySubnetAttribute',
    'AssociateSubnetCidrBlock',
    'DisassociateSubnetCidrBlock',
    'CreateVpcBlockPublicAccessExclusion',
    'ModifyVpcBlockPublicAccessExclusion',
    'DeleteVpcBlockPublicAccessExclusion',
    'ModifyVpcBlockPublicAccessOptions',
  ],
  instance: [
    'ModifyInstanceAttribute',
    'ResetInstanceAttribute',
    'ModifyInstanceMetadataOptions',
    'ModifyInstancePlacement',
    'ModifyInstanceMaintenanceOptions',
    'ModifyPrivateDnsNameOptions',
    'ModifyInstanceCapacityReservationAttributes',
    'ModifyInstanceCpuOptions',
    'ModifyInstanceNetworkPerformanceOptions',
    'ModifyInstanceCreditSpecification',
    'AssociateIamInstanceProfile',
    'DisassociateIamInstanceProfile',
    'ReplaceIamInstanceProfileAssociation',
    'MonitorInstances',
    'UnmonitorInstances',
    // BlockDeviceMappings
    'AttachVolume',
    'DetachVolume',
    'CreateReplaceRootVolumeTask',
    // NetworkInterfaces, public and private addresses, SecurityGroups, SourceDestCheck
    'AttachNetworkInterface',
    'DetachNetworkInterface',
    'ModifyNetworkInterfaceAttribute',
    'ResetNetworkInterfaceAttribute',
    'AssignPrivateIpAddresses',
    'UnassignPrivateIpAddresses',
    'AssignIpv6Addresses',
    'UnassignIpv6Addresses',
    'AssociateAddress',
    'DisassociateAddress',
    'ReleaseAddress',
    'ModifyPublicIpDnsNameOptions',
  ],
} as const satisfies Record<ResourceType, readonly string[]>;

/** Every call of the API-call rule, once each, in the table's order. */
export const API_CALL_NAMES: readonly string[] = [...new Set(Object.values(API_CALL_EVENT_NAMES).flat())];

function tagsRule(resourceTypes: RuleOptions['resourceTypes']): RuleDefinition {
  const base = { source: ['aws.tag'], 'detail-type': ['Tag Change on Resource'] };
  return {
    name: 'management-events-tags',
    messageGroupId: 'management-events-tags',
    description:
      resourceTypes === 'all'
        ? 'Tag changes on every resource in the account, to the asset inventory'
        : `Tag changes on EC2 ${listed(resourceTypes)}, to the asset inventory`,
    eventPattern: resourceTypes === 'all' ? base : { ...base, detail: { service: ['ec2'], 'resource-type': [...resourceTypes] } },
  };
}

const EC2_STATE_RULE: RuleDefinition = {
  name: 'management-events-ec2',
  messageGroupId: 'ec2-instances-events',
  description: 'EC2 instance state changes, to the asset inventory',
  eventPattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] },
};

const API_CALL_RULE: RuleDefinition = {
  name: API_CALL_RULE_NAME,
  messageGroupId: API_CALL_MESSAGE_GROUP,
  description: 'Successful EC2 API calls that create, change or delete VPCs, subnets and instances (needs a CloudTrail trail)',
  eventPattern: {
    source: ['aws.ec2'],
    'detail-type': ['AWS API Call via CloudTrail'],
    detail: {
      eventSource: ['ec2.amazonaws.com'],
      eventName: [...API_CALL_NAMES],
      // Failed calls (and dry runs, Client.DryRunOperation) carry an errorCode and changed nothing.
      errorCode: [{ exists: false }],
    },
  },
};

/** The rules one deployment gets, in a stable order. */
export function selectRules(options: RuleOptions): RuleDefinition[] {
  const rules = [tagsRule(options.resourceTypes), EC2_STATE_RULE];
  if (options.apiCallRule) rules.push(API_CALL_RULE);
  return rules;
}

/** The default rule table (`-c` nothing): filtered tags rule, state changes, API calls. */
export const RULES: readonly RuleDefinition[] = selectRules(DEFAULT_RULE_OPTIONS);

export function queueName(region: string): string {
  return `management-events-${region}.fifo`;
}

export function deadLetterQueueName(region: string): string {
  return `management-events-${region}-dlq.fifo`;
}

/** The first rule whose pattern matches the event, with EventBridge's matching. */
export function matchRule(event: Record<string, unknown>, rules: readonly RuleDefinition[] = RULES): RuleDefinition | undefined {
  return rules.find((rule) => firstMismatch(rule.eventPattern, event) === undefined);
}

/**
 * Why no rule matches: for each rule whose source and detail-type fit, the first field that does not
 * (`management-events-api-calls fails on detail.errorCode`); otherwise the event's source and detail-type.
 */
export function explainUnmatched(event: Record<string, unknown>, rules: readonly RuleDefinition[] = RULES): string {
  const near = rules.flatMap((rule) => {
    const { source, 'detail-type': detailType } = rule.eventPattern;
    const envelope: EventPattern = {};
    if (source !== undefined) Object.assign(envelope, { source });
    if (detailType !== undefined) Object.assign(envelope, { 'detail-type': detailType });
    if (firstMismatch(envelope, event) !== undefined) return [];
    return [`${rule.name} fails on ${firstMismatch(rule.eventPattern, event)}`];
  });
  if (near.length > 0) return `no rule matches: ${near.join('; ')}`;
  return `no rule matches source ${String(event.source)}, detail-type ${String(event['detail-type'])}`;
}

function listed(items: readonly string[]): string {
  const plural = items.map((item) => PLURALS[item] ?? item);
  return plural.length <= 1 ? (plural[0] ?? '') : `${plural.slice(0, -1).join(', ')} and ${plural.at(-1)}`;
}
