import type { Instance, Subnet, Vpc } from '@aws-sdk/client-ec2';

/** An instance as DescribeInstances returns it, about 1.5 KB as JSON: enough fields for parts to fill realistically. */
export function instance(index: number): Instance {
  const hex = index.toString(16).padStart(17, '0');
  return {
    InstanceId: `i-${hex}`,
    ImageId: 'ami-0123456789abcdef0',
    InstanceType: index % 3 === 0 ? 'm7g.large' : 't4g.micro',
    State: { Code: 16, Name: 'running' },
    PrivateIpAddress: `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`,
    PrivateDnsName: `ip-10-0-${(index >> 8) & 255}-${index & 255}.ec2.internal`,
    SubnetId: 'subnet-0123456789abcdef0',
    VpcId: 'vpc-0123456789abcdef0',
    Architecture: 'arm64',
    Placement: { AvailabilityZone: 'us-east-1a', Tenancy: 'default' },
    LaunchTime: new Date(Date.UTC(2026, 0, 1, 0, 0, index % 60)),
    SecurityGroups: [{ GroupId: 'sg-0123456789abcdef0', GroupName: 'web' }],
    NetworkInterfaces: [
      {
        NetworkInterfaceId: `eni-${hex}`,
        MacAddress: '02:00:00:00:00:01',
        PrivateIpAddress: `10.0.${(index >> 8) & 255}.${index & 255}`,
        Status: 'in-use',
        SubnetId: 'subnet-0123456789abcdef0',
        VpcId: 'vpc-0123456789abcdef0',
      },
    ],
    Tags: [
      { Key: 'Name', Value: `web-${index}` },
      { Key: 'env', Value: 'prod' },
      // Characters beyond ASCII: parts are measured in UTF-8 bytes, not string length. (Nothing beyond U+FFFF: SQS
      // accepts it, fauxqs does not.)
      { Key: 'owner', Value: `équipe-données-${index}-€` },
      { Key: 'description', Value: 'x'.repeat(600) },
    ],
  };
}

export function vpc(index: number): Vpc {
  return {
    VpcId: `vpc-${index.toString(16).padStart(17, '0')}`,
    CidrBlock: `10.${index}.0.0/16`,
    State: 'available',
    IsDefault: false,
    Tags: [{ Key: 'Name', Value: `vpc-${index}` }],
  };
}

export function subnet(index: number): Subnet {
  return {
    SubnetId: `subnet-${index.toString(16).padStart(17, '0')}`,
    VpcId: 'vpc-0123456789abcdef0',
    CidrBlock: `10.0.${index}.0/24`,
    AvailabilityZone: 'us-east-1a',
    State: 'available',
    Tags: [{ Key: 'Name', Value: `subnet-${index}` }],
  };
}
