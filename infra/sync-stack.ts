import { Annotations, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import type { RegionalSettings, VpcPlacement } from './config.ts';
import { importRedisSecret } from './function-access.ts';
import { ManagementEventsSync } from './management-events-sync.ts';
import type { ManagementEventsSyncProps } from './sync-props.ts';

export interface SyncStackProps extends StackProps {
  /** The region this stack deploys to. */
  readonly region: string;
  /** The props every region shares. */
  readonly sync: ManagementEventsSyncProps;
  /** This region's Redis, secret and network, by the IDs context gives. */
  readonly regional: RegionalSettings;
}

/** The app's stack for one region: the existing resources context names, imported, and the region's construct. */
export class SyncStack extends Stack {
  readonly sync: ManagementEventsSync;
  /** What it is built from: the app builds it again, with fewer accounts, to tell how many fit its template. */
  readonly props: SyncStackProps;

  constructor(scope: Construct, id: string, syncStackProps: SyncStackProps) {
    const { region, sync, regional, ...props } = syncStackProps;
    super(scope, id, { ...props, env: { ...props.env, region } });
    this.props = syncStackProps;
    const { redisAuthSecretArn, redisSecretKmsKeyArn } = regional;
    // `Default`: the construct adds nothing to its resources' logical IDs, which stay those of earlier releases.
    this.sync = new ManagementEventsSync(this, 'Default', {
      ...sync,
      redisUrl: regional.redisUrl,
      redisAuthSecret:
        redisAuthSecretArn === undefined ? undefined : importRedisSecret(this, redisAuthSecretArn, redisSecretKmsKeyArn),
      ...(regional.vpc === undefined ? {} : importNetwork(this, region, regional.vpc)),
    });
  }
}

function importNetwork(scope: Construct, region: string, placement: VpcPlacement): Partial<ManagementEventsSyncProps> {
  const vpc = ec2.Vpc.fromVpcAttributes(scope, 'Vpc', {
    vpcId: placement.vpcId,
    availabilityZones: placement.subnetIds.map((_, i) => `${region}${'abcdef'[i % 6]}`),
  });
  const subnets = placement.subnetIds.map((id) => {
    const subnet = ec2.Subnet.fromSubnetId(scope, `Subnet-${id}`, id);
    // CDK warns once per subnet imported without its route table; nothing here reads one (function ENIs, endpoints).
    Annotations.of(subnet).acknowledgeWarning(
      '@aws-cdk/aws-ec2:noSubnetRouteTableId',
      'The function and the interface endpoints need only the subnet IDs',
    );
    return subnet;
  });
  const securityGroups = placement.securityGroupIds.map((id) =>
    ec2.SecurityGroup.fromSecurityGroupId(scope, `SecurityGroup-${id}`, id),
  );
  return {
    vpc,
    vpcSubnets: { subnets },
    securityGroups: securityGroups.length > 0 ? securityGroups : undefined,
    // Only when asked for: the construct says which settings consumer=poller leaves unused.
    createVpcEndpoints: placement.createVpcEndpoints || undefined,
  };
}
