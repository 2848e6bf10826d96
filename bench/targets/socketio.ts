import { createServer } from "node:http";
import { Server } from "socket.io";
import type { TargetServer } from "./target.js";

/** Socket.IO 4 over WebSocket only: an `echo` event with an ack, `join`, `tick` broadcasts. */
export async function startSocketIo(): Promise<TargetServer> {
  const http = createServer();
  const io = new Server(http, { transports: ["websocket"], serveClient: false, perMessageDeflate: false });
  io.on("connection", (socket) => {
    socket.on("echo", (payload: unknown, ack: (value: unknown) => void) => ack(payload));
    socket.on("join", (group: string, ack: () => void) => {
      void socket.join(group);
      ack();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  return {
    port: (http.address() as { port: number }).port,
    connections: () => io.engine.clientsCount,
    broadcast: (sentAt) => void io.emit("tick", sentAt),
    sendToGroup: (group, sentAt) => void io.to(group).emit("tick", sentAt),
    close: () => new Promise<void>((resolve) => {
      io.close(() => resolve());
    }),
  };
}
