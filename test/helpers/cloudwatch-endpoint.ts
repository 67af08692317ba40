/*
 * CloudWatch's PutMetricData on 127.0.0.1, as @aws-sdk/client-cloudwatch 3.11xx speaks it: AWS JSON 1.0
 * (`X-Amz-Target: GraniteServiceVersion20100801.PutMetricData`, application/x-amz-json-1.0, timestamps in epoch
 * seconds), bodies above 10 KiB gzipped by the SDK, errors in the query-compatible form (`x-amzn-query-error:
 * Code;Sender`) and PutMetricData's limits (1000 metrics, 150 values a datum, 1 MB: InvalidParameterValue), so the
 * real client's serialization, compression and error parsing run.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { startAwsJsonEndpoint } from './aws-json-endpoint.ts';

export interface ReceivedDatum {
  readonly MetricName: string;
  readonly Dimensions?: { Name: string; Value: string }[];
  /** Epoch seconds. */
  readonly Timestamp?: number;
  readonly Unit?: string;
  readonly Value?: number;
  readonly Values?: number[];
  readonly Counts?: number[];
}

export interface ReceivedRequest {
  /** The region the client signed for (the credential scope of its Authorization header). */
  readonly region: string;
  readonly namespace: string;
  readonly datums: readonly ReceivedDatum[];
  readonly gzipped: boolean;
}

export type CloudWatchBehaviour = 'accept' | 'deny' | 'stall';

export interface CloudWatchEndpoint {
  readonly endpoint: string;
  /** Requests accepted, in order. */
  readonly received: ReceivedRequest[];
  /** PutMetricData calls that arrived, answered or not. */
  calls(): number;
  /** From now on: take the data, refuse it as IAM does (AccessDenied), or never answer. */
  behave(behaviour: CloudWatchBehaviour): void;
  close(): Promise<void>;
}

const TARGET = 'GraniteServiceVersion20100801.PutMetricData';
const MAX_BODY_BYTES = 1_000_000;

export async function startCloudWatchEndpoint(): Promise<CloudWatchEndpoint> {
  const received: ReceivedRequest[] = [];
  let calls = 0;
  let behaviour: CloudWatchBehaviour = 'accept';
  const fail = (response: ServerResponse, status: number, code: string, type: string, message: string) => {
    response.writeHead(status, {
      'content-type': 'application/x-amz-json-1.0',
      'x-amzn-requestid': randomUUID(),
      'x-amzn-query-error': `${code};Sender`,
    });
    response.end(JSON.stringify({ __type: type, message }));
  };
  const local = await startAwsJsonEndpoint((request, raw, response) => {
    if (request.headers['x-amz-target'] !== TARGET) {
      fail(response, 400, 'InvalidAction', 'com.amazon.coral.service#UnknownOperationException', 'unknown operation');
      return;
    }
    calls += 1;
    if (behaviour === 'stall') return;
    const region = /Credential=[^/]+\/\d{8}\/([^/]+)\/monitoring\//.exec(request.headers.authorization ?? '')?.[1] ?? '';
    if (behaviour === 'deny') {
      fail(
        response,
        403,
        'AccessDenied',
        'com.amazon.coral.service#AccessDeniedException',
        'User: arn:aws:sts::123456789012:assumed-role/poller/i-0abc is not authorized to perform: cloudwatch:PutMetricData because no identity-based policy allows the cloudwatch:PutMetricData action',
      );
      return;
    }
    const gzipped = request.headers['content-encoding'] === 'gzip';
    const body = gzipped ? gunzipSync(raw) : raw;
    const invalid = (message: string) =>
      fail(response, 400, 'InvalidParameterValue', 'com.amazonaws.cloudwatch#InvalidParameterValueException', message);
    if (body.length > MAX_BODY_BYTES) {
      fail(response, 413, 'RequestEntityTooLarge', 'com.amazon.coral.service#RequestEntityTooLargeException', 'too large');
      return;
    }
    const input = JSON.parse(body.toString('utf8')) as { Namespace?: string; MetricData?: ReceivedDatum[] };
    const datums = input.MetricData ?? [];
    if (input.Namespace === undefined || datums.length === 0) {
      fail(response, 400, 'MissingParameter', 'com.amazonaws.cloudwatch#MissingRequiredParameterException', 'required');
      return;
    }
    if (datums.length > 1000) return invalid(`${datums.length} metrics: at most 1000`);
    for (const datum of datums) {
      const values = datum.Values ?? [];
      if (values.length > 150) return invalid(`${datum.MetricName}: ${values.length} values, at most 150`);
      if (!values.every((value) => typeof value === 'number' && Number.isFinite(value))) {
        return invalid(`${datum.MetricName}: NaN, Infinity and -Infinity are not supported`);
      }
      if (datum.Counts !== undefined && datum.Counts.length !== values.length) {
        return invalid(`${datum.MetricName}: Counts and Values differ in length`);
      }
    }
    received.push({ region, namespace: input.Namespace, datums, gzipped });
    response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': randomUUID() });
    response.end('{}');
  });
  return {
    endpoint: local.endpoint,
    received,
    calls: () => calls,
    behave: (next) => {
      behaviour = next;
    },
    close: local.close,
  };
}

/** Each value sent for a metric as often as it was counted, over every accepted request (and datum) of a region. */
export function valuesOf(requests: readonly ReceivedRequest[], metricName: string, region?: string): number[] {
  return requests
    .filter((request) => region === undefined || request.region === region)
    .flatMap((request) => request.datums)
    .filter((datum) => datum.MetricName === metricName)
    .flatMap((datum) => (datum.Values ?? []).flatMap((value, index) => Array(datum.Counts?.[index] ?? 1).fill(value)))
    .sort((a, b) => a - b);
}

/** The sum of a metric's values over every accepted request of a region: what CloudWatch's Sum statistic gives. */
export function sumOf(requests: readonly ReceivedRequest[], metricName: string, region?: string): number {
  return valuesOf(requests, metricName, region).reduce((sum, value) => sum + value, 0);
}
