import type { AddressInfo } from "node:net";
import { connect, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP proxy between two daemons that a test can break: `cut()` resets every connection
 * through it, `stall(true)` keeps connections open but black-holes their bytes (a NAT box that
 * forgot the flow), `stall(false)` ends the stall (dropping the stalled connections, whose
 * streams lost bytes). `upstream` may change (a daemon restarted on another port).
 */
export interface TcpProxy {
  port: number;
  url: string;
  upstream: number;
  connections: number;
  cut(): void;
  stall(on: boolean): void;
  close(): Promise<void>;
}

export async function startTcpProxy(upstream: number): Promise<TcpProxy> {
  const pairs = new Set<{ a: Socket; b: Socket; stalled: boolean }>();
  let stalled = false;
  const server: Server = createServer((a) => {
    const b = connect(proxy.upstream, "127.0.0.1");
    const pair = { a, b, stalled };
    pairs.add(pair);
    proxy.connections++;
    const drop = () => {
      a.destroy();
      b.destroy();
      pairs.delete(pair);
    };
    a.on("data", (chunk) => {
      if (!pair.stalled) b.write(chunk);
    });
    b.on("data", (chunk) => {
      if (!pair.stalled) a.write(chunk);
    });
    a.on("close", drop).on("error", drop);
    b.on("close", drop).on("error", drop);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  const proxy: TcpProxy = {
    port,
    url: `http://127.0.0.1:${port}`,
    upstream,
    connections: 0,
    cut() {
      for (const p of pairs) {
        p.a.resetAndDestroy();
        p.b.destroy();
      }
      pairs.clear();
    },
    stall(on) {
      stalled = on;
      if (on) {
        for (const p of pairs) p.stalled = true;
        return;
      }
      for (const p of [...pairs].filter((x) => x.stalled)) {
        p.a.destroy();
        p.b.destroy();
        pairs.delete(p);
      }
    },
    close() {
      proxy.cut();
      return new Promise((r) => server.close(() => r()));
    },
  };
  return proxy;
}
