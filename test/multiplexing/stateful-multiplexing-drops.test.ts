import { afterEach, describe, expect, it } from "vitest";
import { json, silentLogger, type HubConnection } from "../../client/index.js";
import { HubMultiplexer } from "../../client/multiplex.js";
import { messagePack } from "../../client/msgpack.js";
import { Hub, HubClass, HubMethod, HubServer, silentLogger as serverSilent } from "../../src/index.js";
import { Tally } from "../abuse/tally.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { within } from "../support/wait.js";

// Every way a multiplexed connection's socket can go while both sides send on two stateful hubs
// (a JSON and a MessagePack one on one binary connection): each hub resumes with what either
// side sent meanwhile, each message once.

const total = 400;

/** What the server's hubs received, by hub, and their connections' lives. */
const ups = new Map<string, Tally>();
const life: string[] = [];

interface CountingClient {
  down(n: number): void;
}

abstract class CountingHub extends Hub<CountingClient> {
  protected abstract readonly hubName: string;

  override onConnected(): void {
    life.push(`${this.hubName} connected`);
  }

  override onDisconnected(): void {
    life.push(`${this.hubName} disconnected`);
  }

  @HubMethod("Up")
  up(n: number): void {
    ups.get(this.hubName)!.record(n);
  }

  @HubMethod("Id")
  id(): string {
    return this.context.connectionId;
  }
}

@HubClass()
class TextHub extends CountingHub {
  protected readonly hubName = "text";
}

@HubClass()
class PackHub extends CountingHub {
  protected readonly hubName = "pack";
}

type Drop = "the client's side reset (half-open)" | "both sides cut" | "silence, until the server gives up on the socket";

describe("a stateful multiplexed connection whose socket goes while both sides send", () => {
  let server: HubServer | undefined;
  let proxy: TcpProxy | undefined;
  let multiplexer: HubMultiplexer | undefined;

  afterEach(async () => {
    await multiplexer?.stop();
    await proxy?.close();
    await server?.close();
    multiplexer = proxy = server = undefined;
    ups.clear();
    life.length = 0;
  });

  it.each<Drop>(["the client's side reset (half-open)", "both sides cut", "silence, until the server gives up on the socket"])(
    `resumes both hubs after %s: ${total} messages each way on each, none lost, none twice`,
    async (drop) => {
      // A short client timeout, for the silent socket; the client pings well within it.
      server = new HubServer({ logger: serverSilent, allowStatefulReconnects: true, keepAliveInterval: 100, clientTimeoutInterval: 600 });
      server.mapHub("/text", TextHub);
      server.mapHub("/pack", PackHub);
      server.mapMultiplexer("/hubs");
      const { port } = await server.listen();
      proxy = await startTcpProxy(port);
      multiplexer = new HubMultiplexer(`${proxy.url}/hubs`, {
        transports: ["WebSockets"],
        protocol: messagePack,
        statefulReconnect: true,
        keepAliveIntervalMs: 100,
        logger: silentLogger,
      });
      const hubs = { text: multiplexer.hub("/text", { protocol: json }), pack: multiplexer.hub("/pack") };
      const downs = { text: new Tally(), pack: new Tally() };
      for (const name of ["text", "pack"] as const) {
        ups.set(name, new Tally());
        hubs[name].on("down", (n: number) => downs[name].record(n));
      }
      await Promise.all([hubs.text.start(), hubs.pack.start()]);
      const ids = [hubs.text.connectionId, hubs.pack.connectionId];
      const contexts = { text: server.hubContext(TextHub), pack: server.hubContext(PackHub) };
      /** Sends `from`..`to` both ways on both hubs without waiting for them to arrive. */
      const exchange = (from: number, to: number): Promise<unknown> => {
        const sends: Promise<unknown>[] = [];
        for (let n = from; n <= to; n++) {
          for (const name of ["text", "pack"] as const) sends.push((hubs[name] as HubConnection).send("Up", n), contexts[name].clients.all.down(n));
        }
        return Promise.all(sends);
      };

      const first = exchange(1, total / 2);
      let swallowed: { fromClients: number; fromServer: number } | undefined;
      if (drop === "both sides cut") proxy.cut();
      else if (drop === "the client's side reset (half-open)") ({ swallowed } = proxy.halfOpen());
      else {
        // Nothing gets through and neither side is told: the server drops the socket past its
        // client timeout and waits for the client, whose network then gives up on it too.
        const hole = proxy.blackHole();
        swallowed = hole.swallowed;
        await within(hole.webSocketsClosedByServer, "the server to drop the silent socket");
        hole.resetClients();
      }
      const second = exchange(total / 2 + 1, total);
      const arrived = Promise.all([...ups.values(), ...Object.values(downs)].map((tally) => tally.reached(total)));
      await within(arrived, "every message both ways on both hubs", 15_000);
      await Promise.all([first, second]);
      // What the hole swallowed on the way had to be sent again.
      if (swallowed) expect(swallowed.fromServer).toBeGreaterThan(0);

      for (const name of ["text", "pack"] as const) {
        expect({ hub: name, up: ups.get(name)!.duplicates, down: downs[name].duplicates }).toEqual({ hub: name, up: 0, down: 0 });
      }
      expect([hubs.text.connectionId, hubs.pack.connectionId]).toEqual(ids);
      expect(await hubs.pack.invoke("Id")).toBe(ids[1]);
      expect(life.sort()).toEqual(["pack connected", "text connected"]);
    },
  );
});
