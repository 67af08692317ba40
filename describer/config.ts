/** The describer's environment, validated once per container: where its events go, and two optional settings. */
import { DEFAULT_METRICS_NAMESPACE } from '../lambda/config.ts';

export type DescriberTarget =
  /** The region's FIFO queue (the account that runs the sync function). */
  | { readonly kind: 'queue'; readonly queueUrl: string; readonly region: string }
  /** The central account's default bus (a member account of an organization). */
  | { readonly kind: 'bus'; readonly busArn: string; readonly region: string };

export interface DescriberConfig {
  readonly target: DescriberTarget;
  /** How long after its create event an asset EC2 does not know yet is retried rather than reported not found. */
  readonly notFoundGraceMs: number;
  readonly metricsNamespace: string;
}

export const DEFAULT_NOT_FOUND_GRACE_SECONDS = 60;
const MAX_NOT_FOUND_GRACE_SECONDS = 900;

export class DescriberConfigError extends Error {
  override name = 'DescriberConfigError';
}

export function readDescriberConfig(env: Readonly<Record<string, string | undefined>>): DescriberConfig {
  const problems: string[] = [];
  const target = readTarget(env, problems);
  const graceText = env.NOT_FOUND_GRACE_SECONDS?.trim() || String(DEFAULT_NOT_FOUND_GRACE_SECONDS);
  const grace = Number(graceText);
  if (!/^\d+$/.test(graceText) || grace > MAX_NOT_FOUND_GRACE_SECONDS) {
    problems.push(`NOT_FOUND_GRACE_SECONDS must be a whole number of seconds from 0 to ${MAX_NOT_FOUND_GRACE_SECONDS}`);
  }
  if (problems.length > 0 || target === undefined) throw new DescriberConfigError(problems.join('; '));
  return { target, notFoundGraceMs: grace * 1000, metricsNamespace: env.METRICS_NAMESPACE?.trim() || DEFAULT_METRICS_NAMESPACE };
}

/**
 * Where the inventory's messages go: exactly one of QUEUE_URL and CENTRAL_BUS_ARN (the describer's, and the reconcile
 * function's in a member account). Undefined, with its problem added, when neither or both are usable.
 */
export function readTarget(env: Readonly<Record<string, string | undefined>>, problems: string[]): DescriberTarget | undefined {
  const queueUrl = env.QUEUE_URL?.trim() ?? '';
  const busArn = env.CENTRAL_BUS_ARN?.trim() ?? '';
  let target: DescriberTarget | undefined;
  if (queueUrl !== '' && busArn !== '') {
    problems.push('set QUEUE_URL or CENTRAL_BUS_ARN, not both');
  } else if (queueUrl !== '') {
    const region = /(?:^|\.)sqs\.([a-z0-9-]+)\./.exec(urlHost(queueUrl))?.[1] ?? env.AWS_REGION?.trim() ?? '';
    if (!/^https?:\/\/\S+\.fifo$/.test(queueUrl)) problems.push('QUEUE_URL must be the URL of the FIFO queue (https://...fifo)');
    else if (region === '') problems.push('QUEUE_URL names no region and AWS_REGION is not set');
    else target = { kind: 'queue', queueUrl, region };
  } else if (busArn !== '') {
    const region = /^arn:aws[a-z-]*:events:([a-z0-9-]+):\d{12}:event-bus\/[\w.\-/]+$/.exec(busArn)?.[1];
    if (region === undefined)
      problems.push('CENTRAL_BUS_ARN must be an event bus ARN (arn:aws:events:REGION:ACCOUNT:event-bus/default)');
    else target = { kind: 'bus', busArn, region };
  } else {
    problems.push('QUEUE_URL (the FIFO queue) or, in a member account, CENTRAL_BUS_ARN (the central default bus) is required');
  }
  return target;
}

function urlHost(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}
