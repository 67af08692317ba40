import { randomUUID } from 'node:crypto';

/** The account EventBridge would name as the sender: locally, the account of the local function's ARN. */
export const LOCAL_ACCOUNT = '000000000000';

export type EntryResult = { readonly body: string } | { readonly refused: string };

/**
 * One entry of a PutEvents request (`{"Entries": [...]}`) as EventBridge turns it into an event: its own id, the
 * sender's account and the region, `Detail` (a JSON object as a string) embedded as written. Sources that start with
 * `aws.` belong to AWS services: PutEvents refuses them, so such an entry is refused here too.
 */
export function eventFromEntry(entry: unknown, region: string): EntryResult {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return { refused: 'not a JSON object' };
  const { Source, DetailType, Detail, Resources, Time } = entry as Record<string, unknown>;
  if (typeof Source !== 'string' || Source === '') return { refused: 'PutEvents refuses an entry without Source' };
  if (Source.startsWith('aws.')) {
    return {
      refused: `PutEvents refuses source ${Source}: sources starting with "aws." are AWS's own (NotAuthorizedForSourceException); give the event itself instead`,
    };
  }
  if (typeof DetailType !== 'string' || DetailType === '') return { refused: 'PutEvents refuses an entry without DetailType' };
  if (typeof Detail !== 'string' || !isJsonObject(Detail))
    return { refused: 'PutEvents refuses it: Detail is not a JSON object' };
  const resources = Array.isArray(Resources) ? Resources.filter((resource) => typeof resource === 'string') : [];
  const time = Time === undefined ? new Date() : new Date(Time as string | number);
  if (Number.isNaN(time.getTime())) return { refused: 'PutEvents refuses it: Time is not a timestamp' };
  const head = JSON.stringify({
    version: '0',
    id: randomUUID(),
    'detail-type': DetailType,
    source: Source,
    account: LOCAL_ACCOUNT,
    time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources,
  });
  return { body: `${head.slice(0, -1)},"detail":${Detail.trim()}}` };
}

function isJsonObject(text: string): boolean {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}
