/** An EC2 error as the API answers it: the code the SDK names its exception after, and EC2's own message. */
export class SimulatedEc2Error extends Error {
  override name = 'SimulatedEc2Error';
  readonly code: string;
  /** 400 for what the caller asked wrong, 503 for throttling (as EC2 answers RequestLimitExceeded). */
  readonly status: number;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** How EC2 names each kind of id in its errors (the spellings are EC2's own, inconsistent casing included). */
export interface IdKind {
  readonly prefix: string;
  readonly notFoundCode: string;
  /** EC2's sentence for one missing id; `plural`, when EC2 names every missing id at once. */
  readonly notFound: (ids: readonly string[]) => string;
  /** Absent where EC2 documents no Malformed code (allocation ids, public IPs): a bad id is then just not found. */
  readonly malformedCode?: string;
}

const ID_SHAPE = (prefix: string) => new RegExp(`^${prefix}-(?:[0-9a-f]{8}|[0-9a-f]{17})$`);

export const ID_KINDS = {
  instance: {
    prefix: 'i',
    notFoundCode: 'InvalidInstanceID.NotFound',
    // EC2 names every missing instance: "The instance IDs 'i-1, i-2' do not exist".
    notFound: (ids) =>
      ids.length === 1 ? `The instance ID '${ids[0]}' does not exist` : `The instance IDs '${ids.join(', ')}' do not exist`,
    malformedCode: 'InvalidInstanceID.Malformed',
  },
  vpc: {
    prefix: 'vpc',
    notFoundCode: 'InvalidVpcID.NotFound',
    notFound: (ids) => `The vpc ID '${ids[0]}' does not exist`,
    malformedCode: 'InvalidVpcID.Malformed',
  },
  subnet: {
    prefix: 'subnet',
    notFoundCode: 'InvalidSubnetID.NotFound',
    notFound: (ids) => `The subnet ID '${ids[0]}' does not exist`,
    malformedCode: 'InvalidSubnetID.Malformed',
  },
  networkInterface: {
    prefix: 'eni',
    notFoundCode: 'InvalidNetworkInterfaceID.NotFound',
    notFound: (ids) => `The networkInterface ID '${ids[0]}' does not exist`,
    malformedCode: 'InvalidNetworkInterfaceId.Malformed',
  },
  volume: {
    prefix: 'vol',
    notFoundCode: 'InvalidVolume.NotFound',
    notFound: (ids) => `The volume '${ids[0]}' does not exist.`,
    malformedCode: 'InvalidVolumeID.Malformed',
  },
  allocation: {
    prefix: 'eipalloc',
    notFoundCode: 'InvalidAllocationID.NotFound',
    notFound: (ids) => `The allocation ID '${ids[0]}' does not exist`,
  },
} as const satisfies Record<string, IdKind>;

/**
 * What a describe by ids does: EC2 checks the shape of every id first (one Malformed error for the first bad one),
 * then fails the whole call if any is unknown; otherwise the caller gets exactly those ids.
 */
export function checkIds(kind: IdKind, ids: readonly string[], exists: (id: string) => boolean): void {
  if (kind.malformedCode !== undefined) {
    const shape = ID_SHAPE(kind.prefix);
    const malformed = ids.find((id) => !shape.test(id));
    if (malformed !== undefined) {
      throw new SimulatedEc2Error(kind.malformedCode, `Invalid id: "${malformed}" (expecting "${kind.prefix}-...")`);
    }
  }
  const missing = ids.filter((id) => !exists(id));
  if (missing.length > 0) throw new SimulatedEc2Error(kind.notFoundCode, kind.notFound(missing));
}

export function throttled(): SimulatedEc2Error {
  return new SimulatedEc2Error('RequestLimitExceeded', 'Request limit exceeded.', 503);
}
