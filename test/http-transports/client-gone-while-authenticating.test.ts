import { once } from "node:events";
import { createServer, request, type Server, type ServerResponse } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubServer, silentLogger, type HubContext } from "../../src/index.js";
import type { TransportName } from "../../src/transports/transport.js";
import { heldAuthentication } from "../support/held-authentication.js";
import { waitFor, within } from "../support/wait.js";
import { negotiate, postText, RS, send } from "./http-client.js";

interface NoticeClient {
  notice(text: string): void;
}

const connected: string[] = [];

@HubClass()
class NoticeHub extends Hub<NoticeClient> {
  override onConnected(): void {
    connected.push(this.context.connectionId);
  }
}

/**
 * A GET (an SSE stream, a long poll) is authenticated again before it is served, and an
 * authentication may take long (an identity service, a cluster's Redis round trips): its client
 * may have left meanwhile. Here the test holds the authentication until the server has seen the
 * client leave, as a slow identity service would.
 */
describe("a GET whose client left while it was being authenticated", () => {
  let server: HubServer | undefined;
  let http: Server | undefined;
  let hub = "";
  let context: HubContext<NoticeClient>;
  /** The response of the latest GET the server took. */
  let latestGet: ServerResponse | undefined;
  let auth: ReturnType<typeof heldAuthentication>;

  afterEach(async () => {
    await server?.close();
    if (http) {
      const closing = new Promise((resolve) => http!.close(resolve));
      http.closeAllConnections();
      await closing;
    }
    server = http = latestGet = undefined;
    connected.length = 0;
  });

  async function start(transports: TransportName[]): Promise<void> {
    server = new HubServer({ logger: silentLogger, closeTimeout: 100 });
    auth = heldAuthentication();
    context = server.mapHub("/notices", NoticeHub, {
      transports,
      disconnectTimeout: 300,
      // A poll that gets nothing comes back empty soon, rather than after 90 s.
      pollTimeout: 2000,
      authenticate: auth.authenticate,
    });
    http = createServer();
    server.attach(http);
    // Runs after the hub's own listener, which has begun authenticating the request by then.
    http.on("request", (req, res) => {
      if (req.method === "GET") latestGet = res;
    });
    await new Promise<void>((resolve) => http!.listen(0, "127.0.0.1", resolve));
    hub = `http://127.0.0.1:${(http.address() as { port: number }).port}/notices`;
  }

  /** A GET whose client leaves while the server authenticates it; resolves once the server has seen it leave, and let its authentication end. */
  async function getAndLeave(url: string, headers: Record<string, string> = {}): Promise<void> {
    const entered = auth.holdNext();
    const req = request(url, { headers });
    req.on("error", () => {}); // it is destroyed below, on purpose
    req.end();
    const release = await within(entered, "the GET's authentication to begin");
    const response = latestGet!;
    const gone = once(response, "close");
    req.destroy();
    await within(gone, "the server to see the client leave");
    release();
  }

  it("starts no Server-Sent Events stream: the connection is dropped as one that never started, and the server closes", async () => {
    await start(["ServerSentEvents"]);
    const token = await negotiate(hub);
    await getAndLeave(`${hub}?id=${token}`, { Accept: "text/event-stream" });

    await waitFor(() => server!.connectionCount === 0, () => `the connection to be dropped (${server!.connectionCount} left)`);
    expect(connected).toEqual([]);
    await within(server!.close(), "the server to close");
  });

  it("attaches no long poll: what the server sends next waits for the client's next poll", async () => {
    await start(["LongPolling"]);
    const token = await negotiate(hub);
    const at = `${hub}?id=${token}`;
    await send(at, "GET");
    const poll = send(at, "GET");
    await postText(at, `{"protocol":"json","version":1}${RS}`);
    expect((await poll).text).toBe(`{}${RS}`);

    await getAndLeave(at);
    await context.clients.all.notice("after the poll that left");
    expect((await send(at, "GET")).text).toBe(`{"type":1,"target":"notice","arguments":["after the poll that left"]}${RS}`);
  });
});
