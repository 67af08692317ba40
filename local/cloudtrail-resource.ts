/*
 * Where a CloudTrail "AWS API Call via CloudTrail" event names the resource it created, changed or deleted.
 * Create calls return the new ID in responseElements (`responseElements.vpc.vpcId`, `responseElements.subnet.subnetId`);
 * change and delete calls name it in requestParameters (`requestParameters.vpcId`, `.subnetId`, `.instanceId`,
 * or `requestParameters.instancesSet.items[].instanceId`). The ARN list `resources` is empty for these events.
 */

/** Most specific first: a subnet call also names its VPC, an instance call may name its subnet. */
const ID_KEYS = ['instanceId', 'subnetId', 'vpcId'] as const;

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

/** First value seen for each ID key, depth first (responseElements before requestParameters). */
function collectIds(value: unknown, found: Map<string, string>): void {
  if (Array.isArray(value)) {
    for (const item of value) collectIds(item, found);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  for (const [key, item] of Object.entries(value)) {
    if ((ID_KEYS as readonly string[]).includes(key) && typeof item === 'string' && !found.has(key)) found.set(key, item);
    else collectIds(item, found);
  }
}
