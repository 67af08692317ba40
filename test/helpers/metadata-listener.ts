import { createServer } from 'node:http';

export interface MetadataListener {
  /** For AWS_EC2_METADATA_SERVICE_ENDPOINT: where the SDK would ask for an instance role's credentials. */
  readonly url: string;
  /** Requests that reached it: a local run must make none. */
  readonly requests: number;
  close(): Promise<void>;
}

/** Stands where 169.254.169.254 would be, answers nothing useful, and counts who asked. */
export async function startMetadataListener(): Promise<MetadataListener> {
  let requests = 0;
  const server = createServer((_, response) => {
    requests += 1;
    response.statusCode = 404;
    response.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return requests;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
