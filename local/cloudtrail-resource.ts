/*
 * Where a CloudTrail "AWS API Call via CloudTrail" event names the resource it created, changed or deleted.
 * Create calls return the new ID in responseElements (`responseElements.vpc.vpcId`, `responseElements.subnet.subnetId`);
 * change and delete calls name it in requestParameters (`requestParameters.vpcId`, `.subnetId`, `.instanceId`,
 * or `requestParameters.instancesSet.items[].instanceId`). The ARN list `resources` is empty for these events.
 */

/**
 * Most specific first: a subnet call also names its VPC, an instance call may name its subnet. Then what names an
 * asset only indirectly (an interface, a volume, an address association or allocation, an exclusion): the describer
 * resolves those; here they are shown as they are. Newer calls write the keys in PascalCase (`InstanceId`).
 */
const ID_KEYS = [
  'instanceid',
  'subnetid',
  'vpcid',
  'networkinterfaceid',
  'volumeid',
  'associationid',
  'attachmentid',
  'allocationid',
  'exclusionid',
] as const;

/** The instance, subnet or VPC ID the call is about, or undefined when neither part names one. */
export function cloudTrailResourceId(detail: Record<string, unknown>): string | undefined {
  const found = new Map<string, string>();
  collectIds(detail.responseElements, found);
  collectIds(detail.requestParameters, found);
  for (const key of ID_KEYS) {
    const id = found.get(key);
    if (id !== undefined) return id;
  }
  return undefined;
}

/**
 * First value seen for each ID key, depth first (responseElements before requestParameters). With a stack of its
 * own, not recursion: an event nested thousands of levels deep must not overflow the call stack.
 */
function collectIds(root: unknown, found: Map<string, string>): void {
  const stack: [unknown, unknown][] = [[undefined, root]];
  while (stack.length > 0) {
    const [key, value] = stack.pop() ?? [];
    const name = typeof key === 'string' ? key.toLowerCase() : undefined;
    if (name !== undefined && (ID_KEYS as readonly string[]).includes(name) && typeof value === 'string') {
      if (!found.has(name)) found.set(name, value);
    } else if (typeof value === 'object' && value !== null) {
      const entries: [unknown, unknown][] = Array.isArray(value) ? value.map((item) => [undefined, item]) : Object.entries(value);
      // Last first onto the stack, so that the first entry is looked at first, as recursion would.
      for (let index = entries.length - 1; index >= 0; index -= 1) stack.push(entries[index] ?? [undefined, undefined]);
    }
  }
}
