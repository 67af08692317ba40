import { redisUrlProblem } from './problems.ts';

/*
 * Per-region settings: a VPC, its subnets and security groups, and often the Redis endpoint and its secret belong to
 * one region. `regionSettings` (a JSON object keyed by region, from -c or cdk.json) overrides the top-level keys of
 * the same names for its region, so one `cdk deploy --all` places each region's function in its own network.
 */

export interface VpcPlacement {
  readonly vpcId: string;
  readonly subnetIds: readonly string[];
  readonly securityGroupIds: readonly string[];
  /** Interface endpoints for Secrets Manager, STS and SQS, for subnets without a NAT route. */
  readonly createVpcEndpoints: boolean;
}

/** What one region's function is given; the top-level keys unless regionSettings overrides them. */
export interface RegionalSettings {
  readonly redisUrl: string | undefined;
  readonly redisAuthSecretArn: string | undefined;
  /** The customer-managed KMS key the secret is encrypted with; the function may decrypt with it via Secrets Manager only. */
  readonly redisSecretKmsKeyArn: string | undefined;
  readonly vpc: VpcPlacement | undefined;
}

/** Keys a region's entry in regionSettings may hold (each is also a top-level context key). */
export const REGIONAL_KEYS = [
  'redisUrl',
  'redisAuthSecretArn',
  'redisSecretKmsKeyArn',
  'vpcId',
  'subnetIds',
  'securityGroupIds',
  'createVpcEndpoints',
] as const;
export type RegionalKey = (typeof REGIONAL_KEYS)[number];

interface RawPlacement {
  readonly redisUrl?: string | undefined;
  readonly redisAuthSecretArn?: string | undefined;
  readonly redisSecretKmsKeyArn?: string | undefined;
  readonly vpcId?: string | undefined;
  readonly subnetIds?: readonly string[] | undefined;
  readonly securityGroupIds?: readonly string[] | undefined;
  readonly createVpcEndpoints?: boolean | undefined;
}

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:([a-z0-9-]+):\d{12}:secret:.+$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):\d{12}:key\/(mrk-)?[0-9a-f-]{32,36}$/;

export interface RegionalInput {
  readonly regions: readonly string[];
  /** Top-level values (already parsed from strings). */
  readonly global: RawPlacement;
  /** The raw `regionSettings` context value: a JSON string from -c, an object from cdk.json. */
  readonly regionSettings: unknown;
  /** With the Lambda consumer a region without redisUrl is a problem; with the poller there is no function. */
  readonly redisUrlUsed: boolean;
  /** False for `cdk ls` and `cdk destroy`, which never deploy the template (see app.ts). */
  readonly redisUrlRequired: boolean;
  /** Where key suggestions come from. */
  readonly suggest: (key: string, known: readonly string[]) => string | undefined;
}

/** Each region's resolved settings; every problem goes to `problems`. */
export function readRegionalSettings(input: RegionalInput, problems: string[]): Record<string, RegionalSettings> {
  checkValues('', input.global, input.redisUrlUsed, problems);
  checkPlacement('', input.global, problems);
  if (input.global.vpcId !== undefined && input.regions.length > 1) {
    problems.push(
      'vpcId names one VPC, which lives in one region: with several regions, give each region its own in regionSettings (see docs/deploying.md)',
    );
  }

  const overrides = parseOverrides(input, problems);
  const resolved: Record<string, RegionalSettings> = {};
  const withoutRedisUrl: string[] = [];
  for (const region of input.regions) {
    const override = overrides[region];
    const merged: RawPlacement = { ...input.global, ...override };
    if (override !== undefined) {
      checkValues(`regionSettings.${region}.`, override, input.redisUrlUsed, problems);
      checkPlacement(`regionSettings.${region}: `, merged, problems);
    }
    if (merged.redisUrl === undefined) withoutRedisUrl.push(region);
    resolved[region] = {
      // Given with the poller too, so that the construct says it is not used.
      redisUrl: merged.redisUrl,
      redisAuthSecretArn: merged.redisAuthSecretArn,
      redisSecretKmsKeyArn: merged.redisSecretKmsKeyArn,
      vpc:
        merged.vpcId === undefined
          ? undefined
          : {
              vpcId: merged.vpcId,
              subnetIds: merged.subnetIds ?? [],
              securityGroupIds: merged.securityGroupIds ?? [],
              createVpcEndpoints: merged.createVpcEndpoints ?? false,
            },
    };
  }
  if (input.redisUrlUsed && input.redisUrlRequired && withoutRedisUrl.length > 0) {
    problems.push(
      withoutRedisUrl.length === input.regions.length
        ? 'redisUrl is required (-c redisUrl=rediss://host:6379), unless consumer=poller'
        : `redisUrl is required in ${withoutRedisUrl.join(', ')}: set it at the top level or in regionSettings.<region>.redisUrl`,
    );
  }
  return resolved;
}

function parseOverrides(input: RegionalInput, problems: string[]): Record<string, RawPlacement> {
  let value = input.regionSettings;
  if (value === undefined || value === null || value === '') return {};
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      problems.push(`regionSettings must be a JSON object keyed by region, such as '{"eu-west-1":{"vpcId":"vpc-..."}}'`);
      return {};
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push('regionSettings must be a JSON object keyed by region');
    return {};
  }
  const overrides: Record<string, RawPlacement> = {};
  for (const [region, entry] of Object.entries(value)) {
    if (!input.regions.includes(region)) {
      problems.push(`regionSettings names ${region}, which is not in regions (${input.regions.join(',')})`);
      continue;
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      problems.push(`regionSettings.${region} must be an object of settings`);
      continue;
    }
    overrides[region] = parseEntry(region, entry as Record<string, unknown>, input.suggest, problems);
  }
  return overrides;
}

function parseEntry(
  region: string,
  entry: Record<string, unknown>,
  suggest: RegionalInput['suggest'],
  problems: string[],
): RawPlacement {
  const at = (key: string) => `regionSettings.${region}.${key}`;
  for (const key of Object.keys(entry)) {
    if ((REGIONAL_KEYS as readonly string[]).includes(key)) continue;
    const suggestion = suggest(key, REGIONAL_KEYS);
    problems.push(
      `unknown setting ${at(key)}${suggestion === undefined ? ` (a region may set ${REGIONAL_KEYS.join(', ')})` : `: did you mean "${suggestion}"?`}`,
    );
  }
  const text = (key: RegionalKey): string | undefined => {
    const value = entry[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') {
      problems.push(`${at(key)} must be a string`);
      return undefined;
    }
    return value.trim() === '' ? undefined : value.trim();
  };
  const list = (key: RegionalKey): string[] | undefined => {
    const value = entry[key];
    if (value === undefined || value === null) return undefined;
    if (Array.isArray(value)) return value.map((item) => String(item).trim()).filter((item) => item !== '');
    if (typeof value === 'string') return splitList(value);
    problems.push(`${at(key)} must be a list of IDs`);
    return undefined;
  };
  const createVpcEndpoints = entry.createVpcEndpoints;
  if (createVpcEndpoints !== undefined && createVpcEndpoints !== true && createVpcEndpoints !== false) {
    problems.push(`${at('createVpcEndpoints')} must be true or false`);
  }
  // Only the keys the entry sets: a region overrides what it names and inherits the rest.
  const parsed: Record<string, unknown> = {
    redisUrl: text('redisUrl'),
    redisAuthSecretArn: text('redisAuthSecretArn'),
    redisSecretKmsKeyArn: text('redisSecretKmsKeyArn'),
    vpcId: text('vpcId'),
    subnetIds: list('subnetIds'),
    securityGroupIds: list('securityGroupIds'),
    createVpcEndpoints: typeof createVpcEndpoints === 'boolean' ? createVpcEndpoints : undefined,
  };
  return Object.fromEntries(Object.entries(parsed).filter(([, value]) => value !== undefined)) as RawPlacement;
}

export function splitList(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** Each value on its own; `label` says where it came from (empty for top-level keys). */
function checkValues(label: string, values: RawPlacement, redisUrlUsed: boolean, problems: string[]): void {
  const { redisUrl, redisAuthSecretArn, redisSecretKmsKeyArn, vpcId } = values;
  const urlProblem =
    redisUrlUsed && redisUrl !== undefined ? redisUrlProblem(redisUrl, 'its ARN as redisAuthSecretArn') : undefined;
  if (urlProblem !== undefined) problems.push(`${label}redisUrl ${urlProblem}`);
  if (redisAuthSecretArn !== undefined && !SECRET_ARN.test(redisAuthSecretArn)) {
    problems.push(
      `${label}redisAuthSecretArn must be a Secrets Manager secret ARN (arn:aws:secretsmanager:region:account:secret:name)`,
    );
  }
  if (redisSecretKmsKeyArn !== undefined && !KMS_KEY_ARN.test(redisSecretKmsKeyArn)) {
    problems.push(
      `${label}redisSecretKmsKeyArn must be a KMS key ARN (arn:aws:kms:region:account:key/id); an alias cannot be granted in IAM`,
    );
  }
  if (vpcId !== undefined && !/^vpc-[0-9a-f]{8,17}$/.test(vpcId))
    problems.push(`${label}vpcId "${vpcId}" is not a VPC ID (vpc-...)`);
  for (const id of values.subnetIds ?? [])
    if (!/^subnet-[0-9a-f]{8,17}$/.test(id)) problems.push(`${label}subnetIds: "${id}" is not a subnet ID`);
  for (const id of values.securityGroupIds ?? [])
    if (!/^sg-[0-9a-f]{8,17}$/.test(id)) problems.push(`${label}securityGroupIds: "${id}" is not a security group ID`);
}

/** Settings that only make sense together. */
function checkPlacement(label: string, values: RawPlacement, problems: string[]): void {
  const subnetIds = values.subnetIds ?? [];
  const securityGroupIds = values.securityGroupIds ?? [];
  if (values.vpcId === undefined && (subnetIds.length > 0 || securityGroupIds.length > 0 || values.createVpcEndpoints)) {
    problems.push(`${label}subnetIds, securityGroupIds and createVpcEndpoints need vpcId`);
  }
  if (values.vpcId !== undefined && subnetIds.length === 0) {
    problems.push(`${label}vpcId needs subnetIds (the private subnets the function runs in)`);
  }
  const { redisSecretKmsKeyArn, redisAuthSecretArn } = values;
  if (redisSecretKmsKeyArn !== undefined) {
    const keyRegion = KMS_KEY_ARN.exec(redisSecretKmsKeyArn)?.[1];
    const secretRegion = redisAuthSecretArn === undefined ? undefined : SECRET_ARN.exec(redisAuthSecretArn)?.[1];
    if (redisAuthSecretArn === undefined) {
      problems.push(`${label}redisSecretKmsKeyArn needs redisAuthSecretArn (the secret the key encrypts)`);
    } else if (keyRegion !== undefined && secretRegion !== undefined && keyRegion !== secretRegion) {
      problems.push(
        `${label}redisSecretKmsKeyArn is in ${keyRegion} but the secret is in ${secretRegion}: a secret is encrypted with a key of its own region`,
      );
    }
  }
}

/** The region a secret ARN names (Secrets Manager is called there, and decrypts with a key there). */
export function secretRegion(secretArn: string): string | undefined {
  return SECRET_ARN.exec(secretArn)?.[1];
}
