import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';

/** What the proxy does with a command: answer it itself (an error text), or pass it on (undefined). */
export type CommandRule = (args: readonly string[]) => { error: string } | undefined;

export interface RespProxy {
  readonly port: number;
  /** Commands as the clients sent them, in order. */
  readonly commands: string[][];
  close(): Promise<void>;
}

/**
 * A loopback Redis front that reads each client command (RESP2), lets `rule` refuse it the way another server would
 * (ElastiCache Serverless refuses keyless scripts; Redis 6.2 cannot compile a shebang), and runs the others on the
 * Redis at `targetPort`, answering in order.
 */
export async function startRespProxy(targetPort: number, rule: CommandRule): Promise<RespProxy> {
  const commands: string[][] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    const upstream = new Redis(targetPort, '127.0.0.1', { protocol: 2, lazyConnect: false, maxRetriesPerRequest: 0 });
    upstream.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    let chain = Promise.resolve();
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const parsed = parseCommand(buffered);
        if (parsed === undefined) break;
        buffered = buffered.subarray(parsed.length);
        const args = parsed.args;
        commands.push(args);
        const refusal = rule(args);
        const [name = '', ...rest] = args;
        const reply =
          refusal === undefined
            ? upstream.call(name, ...rest).then(encode, (error: Error) => `-${error.message}\r\n`)
            : Promise.resolve(`-${refusal.error}\r\n`);
        chain = chain.then(async () => {
          if (!socket.destroyed) socket.write(await reply);
        });
      }
    });
    const end = () => {
      sockets.delete(socket);
      upstream.disconnect();
    };
    socket.on('close', end);
    socket.on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    commands,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function parseCommand(buffer: Buffer): { args: string[]; length: number } | undefined {
  let offset = 0;
  const line = () => {
    const end = buffer.indexOf('\r\n', offset);
    if (end === -1) return undefined;
    const text = buffer.subarray(offset, end).toString('utf8');
    offset = end + 2;
    return text;
  };
  const head = line();
  if (head === undefined || !head.startsWith('*')) return undefined;
  const args: string[] = [];
  for (let i = 0; i < Number(head.slice(1)); i++) {
    const size = line();
    if (size === undefined) return undefined;
    const length = Number(size.slice(1));
    if (buffer.length < offset + length + 2) return undefined;
    args.push(buffer.subarray(offset, offset + length).toString('utf8'));
    offset += length + 2;
  }
  return { args, length: offset };
}

function encode(value: unknown): string {
  if (value === null || value === undefined) return '$-1\r\n';
  if (typeof value === 'number') return `:${value}\r\n`;
  if (Array.isArray(value)) return `*${value.length}\r\n${value.map(encode).join('')}`;
  const text = String(value);
  return `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
}
