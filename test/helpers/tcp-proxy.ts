import { connect, createServer, type Server, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'cut' | 'stall';

export interface TcpProxy {
  readonly port: number;
  /** `pass` forwards (after `delayMs`), `cut` resets every connection and refuses new ones, `stall` keeps them open and forwards nothing. */
  setMode(mode: ProxyMode): void;
  /** Latency added to every chunk, each way. */
  delayMs: number;
  /** Client-to-server turns: a client chunk that follows a server reply (or opens the connection). */
  readonly turns: number;
  resetTurns(): void;
  /** Where new connections go from now on (as DNS does when an endpoint moves to a new primary). */
  targetPort: number;
  /** Connections accepted so far (not counting those refused while cut). */
  readonly accepted: number;
  /**
   * The open connections are forgotten, as a NAT or Hyperplane ENI forgets an idle flow: whatever either side sends
   * on them from now on vanishes, and neither side is told (no FIN, no RST). New connections pass.
   */
  forgetConnections(): void;
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  server: Socket | undefined;
  forgotten?: boolean;
}

/** A loopback TCP proxy to `targetPort` for fault and latency tests. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let mode: ProxyMode = 'pass';
  let turns = 0;
  let accepted = 0;
  const pairs = new Set<Pair>();
  const state = { delayMs: 0, targetPort };

  const forward = (from: Socket, to: () => Socket | undefined, onChunk: () => void, pair: Pair) => {
    let sendAt = 0;
    from.on('data', (chunk) => {
      if (mode !== 'pass' || pair.forgotten) return;
      onChunk();
      // Chunks keep their order: each leaves no earlier than the one before it.
      sendAt = Math.max(Date.now() + state.delayMs, sendAt);
      const wait = sendAt - Date.now();
      const send = () => {
        const target = to();
        if (mode === 'pass' && target !== undefined && !target.destroyed) target.write(chunk);
      };
      if (wait <= 0) send();
      else setTimeout(send, wait);
    });
  };

  const server: Server = createServer((client) => {
    if (mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    accepted += 1;
    // Each delayed chunk leaves at once, as over a network: Nagle would hold it for the ACK of the one before.
    client.setNoDelay(true);
    const pair: Pair = { client, server: undefined };
    pairs.add(pair);
    let awaitingClient = true;
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      pair.server?.destroy();
    };
    client.on('error', drop);
    client.on('close', drop);
    const open = () => {
      const upstream = connect(state.targetPort, '127.0.0.1');
      upstream.setNoDelay(true);
      pair.server = upstream;
      upstream.on('error', drop);
      upstream.on('close', drop);
      forward(
        upstream,
        () => client,
        () => {
          awaitingClient = true;
        },
        pair,
      );
    };
    forward(
      client,
      () => pair.server,
      () => {
        if (awaitingClient) turns += 1;
        awaitingClient = false;
      },
      pair,
    );
    if (mode === 'pass') open();
    else {
      // Stalled: the TCP connection is accepted but nothing answers until the mode changes.
      const retry = setInterval(() => {
        if (mode === 'pass' && pair.server === undefined && pairs.has(pair)) {
          clearInterval(retry);
          open();
        } else if (!pairs.has(pair)) clearInterval(retry);
      }, 20);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  return {
    port,
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(value: number) {
      state.delayMs = value;
    },
    get targetPort() {
      return state.targetPort;
    },
    set targetPort(value: number) {
      state.targetPort = value;
    },
    get turns() {
      return turns;
    },
    resetTurns() {
      turns = 0;
    },
    get accepted() {
      return accepted;
    },
    forgetConnections() {
      for (const pair of pairs) pair.forgotten = true;
    },
    setMode(next) {
      const previous = mode;
      mode = next;
      // Bytes dropped while stalled would desynchronise the protocol: those connections end with the stall.
      if (next === 'cut' || (previous === 'stall' && next === 'pass')) {
        for (const pair of [...pairs]) {
          pairs.delete(pair);
          pair.client.resetAndDestroy();
          pair.server?.destroy();
        }
      }
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.server?.destroy();
      }
      pairs.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
