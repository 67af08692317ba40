/*
 * What the local AWS endpoints of the tests share (CloudWatch, EventBridge, Secrets Manager: AWS JSON protocols): an
 * HTTP server on 127.0.0.1 that hands each request, with its whole body, to the service's handler.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LocalEndpoint {
  /** For the client's `endpoint`, or AWS_ENDPOINT_URL_<SERVICE>. */
  readonly endpoint: string;
  close(): Promise<void>;
}

export async function startAwsJsonEndpoint(
  handle: (request: IncomingMessage, body: Buffer, response: ServerResponse) => void,
): Promise<LocalEndpoint> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => handle(request, Buffer.concat(chunks), response));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
