/*
 * The ids an event can carry: the assets themselves (instance, VPC, subnet), and what names an instance only
 * indirectly (a network interface, its attachment, a volume, an Elastic IP's association), which EC2 is asked about.
 */
import { ASSET_ID_PATTERNS, ASSET_TYPES, type AssetType } from '../lambda/inventory-events.ts';

export const INDIRECT_KINDS = ['network-interface', 'network-interface-attachment', 'volume', 'address-association'] as const;
export type IndirectKind = (typeof INDIRECT_KINDS)[number];

const HEX = '(?:[0-9a-f]{8}|[0-9a-f]{17})';
const INDIRECT_PATTERNS: Readonly<Record<IndirectKind, RegExp>> = {
  'network-interface': new RegExp(`^eni-${HEX}$`),
  'network-interface-attachment': new RegExp(`^eni-attach-${HEX}$`),
  volume: new RegExp(`^vol-${HEX}$`),
  'address-association': new RegExp(`^eipassoc-${HEX}$`),
};

/** The resource types of EC2 ARNs (`arn:aws:ec2:region:account:<type>/<id>`) that name an asset or an indirect id. */
const ARN_TYPES: Readonly<Record<string, AssetType | IndirectKind>> = {
  instance: 'instance',
  vpc: 'vpc',
  subnet: 'subnet',
  'network-interface': 'network-interface',
  volume: 'volume',
};

export type IdKind = { readonly type: AssetType } | { readonly kind: IndirectKind };

/** What an id-shaped string is, or undefined (a security group, an AMI, any other text). */
export function classifyId(value: string): IdKind | undefined {
  for (const type of ASSET_TYPES) if (ASSET_ID_PATTERNS[type].test(value)) return { type };
  for (const kind of INDIRECT_KINDS) if (INDIRECT_PATTERNS[kind].test(value)) return { kind };
  return undefined;
}

/** The id an EC2 ARN names, with what it is; undefined for other ARNs. */
export function arnId(arn: string): { id: string; what: AssetType | IndirectKind } | undefined {
  const match = /^arn:aws[a-z-]*:ec2:[a-z0-9-]*:\d*:([a-z-]+)\/(.+)$/.exec(arn);
  const what = match === null ? undefined : ARN_TYPES[match[1] ?? ''];
  return what === undefined || match === null ? undefined : { id: match[2] ?? '', what };
}
