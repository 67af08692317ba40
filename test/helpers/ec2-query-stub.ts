import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** An error EC2 answers a request with, `times` times before it succeeds (Infinity: every time). */
export interface Ec2Error {
  readonly times: number;
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

export const throttled = (times: number): Ec2Error => ({
  times,
  status: 503,
  code: 'RequestLimitExceeded',
  message: 'Request limit exceeded.',
});

export interface Ec2QueryStubOptions {
  /** Instances i-00000000000000000, i-00000000000000001, ..., listed `pageSize` to a page with NextToken. */
  readonly instanceCount: number;
  readonly pageSize: number;
  /** By request, `Action:NextToken` (`DescribeVpcs:` for a first page). */
  readonly errors?: Readonly<Record<string, Ec2Error>>;
  /** Called as each request arrives, before it is answered. */
  readonly onRequest?: (request: string) => void;
}

export interface Ec2QueryStub {
  readonly endpoint: string;
  /** Every request, `Action:NextToken`, in arrival order. */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

/** The id of the stub's instance number `index`. */
export const stubInstanceId = (index: number) => `i-${String(index).padStart(17, '0')}`;

const NAMESPACE = 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"';

/*
 * EC2 over HTTP, its query protocol and XML answers, so the SDK client's own middleware (retries, paging, parsing)
 * runs as against AWS: aws-sdk-client-mock replaces `send` and would skip it. One VPC and one subnet.
 */
export async function startEc2QueryStub(options: Ec2QueryStubOptions): Promise<Ec2QueryStub> {
  const requests: string[] = [];
  const errorsLeft = new Map(Object.entries(options.errors ?? {}).map(([key, error]) => [key, error.times]));
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const form = new URLSearchParams(body);
      const action = form.get('Action') ?? '';
      const key = `${action}:${form.get('NextToken') ?? ''}`;
      requests.push(key);
      options.onRequest?.(key);
      const error = options.errors?.[key];
      const left = errorsLeft.get(key) ?? 0;
      if (error !== undefined && left > 0) {
        errorsLeft.set(key, left - 1);
        response.writeHead(error.status, { 'content-type': 'text/xml' });
        response.end(
          `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${error.code}</Code><Message>${error.message}</Message></Error></Errors><RequestID>stub</RequestID></Response>`,
        );
        return;
      }
      response.writeHead(200, { 'content-type': 'text/xml' });
      response.end(answer(action, Number(form.get('NextToken') ?? 0)));
    });
  });
  const answer = (action: string, start: number) => {
    if (action === 'DescribeInstances') {
      const end = Math.min(start + options.pageSize, options.instanceCount);
      const items = [];
      for (let i = start; i < end; i += 1) {
        items.push(
          `<item><reservationId>r-${i}</reservationId><ownerId>123456789012</ownerId><instancesSet><item><instanceId>${stubInstanceId(i)}</instanceId><instanceType>t4g.micro</instanceType><instanceState><code>16</code><name>running</name></instanceState><tagSet><item><key>Name</key><value>web-${i}</value></item></tagSet></item></instancesSet></item>`,
        );
      }
      const next = end < options.instanceCount ? `<nextToken>${end}</nextToken>` : '';
      return `<DescribeInstancesResponse ${NAMESPACE}><requestId>r</requestId><reservationSet>${items.join('')}</reservationSet>${next}</DescribeInstancesResponse>`;
    }
    if (action === 'DescribeVpcs') {
      return `<DescribeVpcsResponse ${NAMESPACE}><requestId>r</requestId><vpcSet><item><vpcId>vpc-0123456789abcdef0</vpcId><cidrBlock>10.0.0.0/16</cidrBlock><state>available</state></item></vpcSet></DescribeVpcsResponse>`;
    }
    return `<DescribeSubnetsResponse ${NAMESPACE}><requestId>r</requestId><subnetSet><item><subnetId>subnet-0123456789abcdef0</subnetId><vpcId>vpc-0123456789abcdef0</vpcId><cidrBlock>10.0.1.0/24</cidrBlock><state>available</state></item></subnetSet></DescribeSubnetsResponse>`;
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
