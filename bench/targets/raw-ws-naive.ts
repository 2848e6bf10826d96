import { WebSocketServer, type WebSocket } from "ws";
import type { TargetServer } from "./target.js";

/**
 * A bare `ws` server written the obvious way (`ws-naive`): each reply and each delivery is a
 * `send` of its own (a header built and a corked write per message). Kept beside the tuned one
 * (raw-ws.ts) to show what the tuning is worth; ratios are stated against the tuned one.
 */
export async function startRawWsNaive(): Promise<TargetServer> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false, clientTracking: true });
  const groups = new Map<string, Set<WebSocket>>();
  wss.on("connection", (socket) => {
    socket.on("message", (data: Buffer, isBinary) => {
      // A frame starting with "j" joins a group; anything else is echoed.
      if (!isBinary && data[0] === 0x6a) {
        const name = data.toString("utf8", 1);
        let group = groups.get(name);
        if (!group) groups.set(name, (group = new Set()));
        group.add(socket);
        socket.once("close", () => group!.delete(socket));
        socket.send("joined");
        return;
      }
      socket.send(data, { binary: isBinary });
    });
  });
  await new Promise((resolve) => wss.once("listening", resolve));
  return {
    port: (wss.address() as { port: number }).port,
    connections: () => wss.clients.size,
    broadcast(sentAt) {
      const frame = JSON.stringify(["tick", sentAt]);
      for (const socket of wss.clients) socket.send(frame);
    },
    sendToGroup(name, sentAt) {
      const frame = JSON.stringify(["tick", sentAt]);
      for (const socket of groups.get(name) ?? []) socket.send(frame);
    },
    close: () => new Promise<void>((resolve) => {
      for (const socket of wss.clients) socket.terminate();
      wss.close(() => resolve());
    }),
  };
}
