/*
 * Indirect ids resolved to the instance they belong to now: an interface (and an interface attachment) through
 * DescribeNetworkInterfaces, a volume through DescribeVolumes, an Elastic IP association through DescribeAddresses.
 * Filters, not id lists: an id EC2 no longer knows is simply absent from the answer (no error to take apart), at 200
 * values per call (FilterLimitExceeded above that).
 */
import {
  DescribeAddressesCommand,
  type EC2Client,
  type NetworkInterface,
  paginateDescribeNetworkInterfaces,
  paginateDescribeVolumes,
} from '@aws-sdk/client-ec2';
import type { IndirectKind } from './asset-ids.ts';
import type { IndirectRef } from './references.ts';

export const MAX_FILTER_VALUES = 200;

export interface Resolved {
  /** The instances the id belongs to (none: it is attached to nothing, so no instance changed). */
  readonly instanceIds: readonly string[];
  /** An interface's subnet: assigning or releasing its addresses changes the subnet's free-address count. */
  readonly subnetId?: string;
}

/** Interfaces are found by their own id or by their attachment's. */
const INTERFACE_LOOKUPS: readonly (readonly [IndirectKind, string, (eni: NetworkInterface) => string | undefined])[] = [
  ['network-interface', 'network-interface-id', (eni) => eni.NetworkInterfaceId],
  ['network-interface-attachment', 'attachment.attachment-id', (eni) => eni.Attachment?.AttachmentId],
];

/** Each id EC2 still knows, resolved; an id missing from the map no longer resolves (deleted, detached, disassociated). */
export async function resolveIndirect(ec2: EC2Client, refs: readonly IndirectRef[]): Promise<Map<string, Resolved>> {
  const resolved = new Map<string, Resolved>();
  const idsOf = (kind: IndirectKind) => [...new Set(refs.filter((ref) => ref.kind === kind).map((ref) => ref.id))];
  for (const [kind, filter, keyOf] of INTERFACE_LOOKUPS) {
    for (const values of chunks(idsOf(kind))) {
      for await (const page of paginateDescribeNetworkInterfaces(
        { client: ec2 },
        { Filters: [{ Name: filter, Values: values }] },
      )) {
        for (const eni of page.NetworkInterfaces ?? []) {
          resolved.set(keyOf(eni) ?? '', { instanceIds: present(eni.Attachment?.InstanceId), subnetId: eni.SubnetId });
        }
      }
    }
  }
  for (const values of chunks(idsOf('volume'))) {
    for await (const page of paginateDescribeVolumes({ client: ec2 }, { Filters: [{ Name: 'volume-id', Values: values }] })) {
      for (const volume of page.Volumes ?? []) {
        const instanceIds = (volume.Attachments ?? []).flatMap((attachment) => present(attachment.InstanceId));
        resolved.set(volume.VolumeId ?? '', { instanceIds });
      }
    }
  }
  for (const values of chunks(idsOf('address-association'))) {
    // DescribeAddresses has no paging: EC2 answers every match at once.
    const answer = await ec2.send(new DescribeAddressesCommand({ Filters: [{ Name: 'association-id', Values: values }] }));
    for (const address of answer.Addresses ?? [])
      resolved.set(address.AssociationId ?? '', { instanceIds: present(address.InstanceId) });
  }
  return resolved;
}

function present(id: string | undefined): string[] {
  return id === undefined || id === '' ? [] : [id];
}

function chunks(values: readonly string[]): string[][] {
  const result: string[][] = [];
  for (let start = 0; start < values.length; start += MAX_FILTER_VALUES)
    result.push(values.slice(start, start + MAX_FILTER_VALUES));
  return result;
}
