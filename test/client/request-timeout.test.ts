import { createServer, type Server, type Socket } from "node:net";
import { afterEach, expect, it } from "vitest";
import { HubConnection, silentLogger, type HubClientError } from "../../client/index.js";
import { within } from "../support/wait.js";

// A server that takes the connection and never answers (a stuck proxy): negotiate fails at its
// time instead of holding start() for good.

let server: Server | undefined;
const sockets = new Set<Socket>();

afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

async function listen(onConnection: (socket: Socket) => void): Promise<string> {
  server = createServer((socket) => {
    sockets.add(socket);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/hub`;
}

it("fails start() at requestTimeoutMs when the server never answers", async () => {
  const url = await listen((socket) => socket.resume());
  const connection = new HubConnection(url, { logger: silentLogger, reconnect: false, requestTimeoutMs: 300 });
  const error = (await within(connection.start().catch((e: unknown) => e), "start() to fail")) as HubClientError;
  expect(error.code).toBe("ERR_NEGOTIATE");
  expect(error.message).toMatch(/timeout/i);
  expect(connection.state).toBe("Disconnected");
});
