import { type EC2Client, paginateDescribeInstances, paginateDescribeSubnets, paginateDescribeVpcs } from '@aws-sdk/client-ec2';
import type { ResourceType } from './snapshot-events.ts';

/** EC2's largest page for these three calls: fewest requests, least throttling. */
const PAGE_SIZE = 1000;

/** Every instance, VPC or subnet of the client's region, as DescribeInstances/Vpcs/Subnets return them. */
export async function listAssets(ec2: EC2Client, resourceType: ResourceType): Promise<unknown[]> {
  const items: unknown[] = [];
  const config = { client: ec2, pageSize: PAGE_SIZE };
  if (resourceType === 'instance') {
    for await (const page of paginateDescribeInstances(config, {})) {
      for (const reservation of page.Reservations ?? []) items.push(...(reservation.Instances ?? []));
    }
  } else if (resourceType === 'vpc') {
    for await (const page of paginateDescribeVpcs(config, {})) items.push(...(page.Vpcs ?? []));
  } else {
    for await (const page of paginateDescribeSubnets(config, {})) items.push(...(page.Subnets ?? []));
  }
  return items;
}
