import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger } from "../../src/index.js";
import type { ScaleOutLifetimeManager } from "../../src/lifetime/scale-out-lifetime-manager.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { RawJsonClient, RS } from "../robustness/raw-client.js";
import { redisUrl } from "../support/redis.js";
import { eventually } from "../support/wait.js";

@HubClass()
class ShoutHub extends Hub {
  @HubMethod("Join")
  join(group: string): Promise<void> {
    return this.groups.addToGroup(this.context.connectionId, group);
  }

  @HubMethod("Shout")
  shout(group: string, text: string): Promise<void> {
    return this.clients.group(group).send("Heard", group, text);
  }
}

const cycles = 100;
const call = (target: string, args: unknown[], id?: string) =>
  JSON.stringify({ type: 1, ...(id === undefined ? {} : { invocationId: id }), target, arguments: args }) + RS;

describe("send numbers of the channels a server left", () => {
  let servers: HubServer[] = [];
  let clients: RawJsonClient[] = [];
  afterEach(async () => {
    for (const client of clients) client.terminate();
    await Promise.all(servers.map((server) => server.close()));
    [servers, clients] = [[], []];
  });

  async function startServer(channelPrefix: string): Promise<{ server: HubServer; url: string }> {
    const server = new HubServer({ logger: silentLogger, backplane: new RedisBackplane({ url: redisUrl, channelPrefix, logger: silentLogger }) });
    server.mapHub("/shout", ShoutHub);
    servers.push(server);
    return { server, url: `${(await server.listen()).url}/shout` };
  }

  async function open(url: string): Promise<RawJsonClient> {
    const client = await RawJsonClient.open(url);
    clients.push(client);
    return client;
  }

  it("are forgotten once it no longer listens there, though sends kept coming while it left", async () => {
    const channelPrefix = `left-channels-${randomUUID()}`;
    const a = await startServer(channelPrefix);
    const b = await startServer(channelPrefix);
    const delivered = (a.server["runtimes"].get(ShoutHub)!.lifetime as ScaleOutLifetimeManager)["delivered"];

    // One connection on A stays in a group for good: its channel is the one A must remember.
    const keeper = await open(a.url);
    keeper.send(call("Join", ["kept"], "join"));
    await keeper.completion("join");

    // A client on B shouts to every group, frame after frame, for as long as A's clients come and go.
    const shouter = await open(b.url);
    let shouting = true;
    const shouted = (async () => {
      for (let frame = 0; shouting; frame++) {
        const shouts = Array.from({ length: cycles }, (_, i) => call("Shout", [`group-${i}`, "x"])).join("");
        shouter.send(shouts + call("Shout", ["kept", "x"], `frame-${frame}`));
        await shouter.waitFor((frames) => frames.some((text) => text.includes(`"frame-${frame}"`)), `frame ${frame} shouted`);
      }
    })();

    // On A, a client joins a group, hears B's sends to it, and leaves while they keep coming.
    for (let i = 0; i < cycles; i++) {
      const client = await open(a.url);
      client.send(call("Join", [`group-${i}`]));
      await client.waitFor((frames) => frames.some((text) => text.includes(`"group-${i}"`)), `a send to group-${i}`);
      client.terminate();
    }
    shouting = false;
    await shouted;

    // B's last send reaches A after every one before it: then nothing more comes for the groups left.
    shouter.send(call("Shout", ["kept", "last"], "last"));
    await keeper.waitFor((frames) => frames.some((text) => text.includes('"last"')), "the last send");
    await eventually(() => a.server.connectionCount, 1);
    await eventually(() => delivered.channelCount, 1);
    expect(delivered.records([`ShoutHub:group:kept`])).toHaveLength(1);
  }, 60_000);
});
