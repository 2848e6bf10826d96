import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

/** A TCP proxy on loopback in front of a server, to cut connections the way a network does. */
export interface TcpProxy {
  /** `http://127.0.0.1:<proxy port>` */
  url: string;
  /** Destroys every open connection (the peers see a reset, not a close handshake). */
  cut(): void;
  /** While refusing, new connections are destroyed as they arrive. */
  refuse(refusing: boolean): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>();
  let refusing = false;
  const server: Server = createServer((client) => {
    if (refusing) return client.destroy();
    const upstream = connect(targetPort, "127.0.0.1");
    for (const [from, to] of [[client, upstream], [upstream, client]] as const) {
      open.add(from);
      from.pipe(to);
      from.on("error", () => to.destroy());
      from.on("close", () => {
        open.delete(from);
        to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    cut: () => {
      for (const socket of open) socket.resetAndDestroy();
    },
    refuse: (value) => {
      refusing = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
