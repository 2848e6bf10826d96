import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubServer, silentLogger } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { redisUrl } from "../support/redis.js";
import { waitFor } from "../support/wait.js";

@HubClass()
class OutboxFaultsHub extends Hub {}

/**
 * Presence shortened, with a serverTimeout long enough that a server that stopped hearing itself
 * does not stop waiting (after two timeouts) within the test's steps, even on a loaded machine.
 */
const timings = { heartbeatInterval: 100, serverTimeout: 10_000 };

describe("the outbox under faults", () => {
  let servers: HubServer[] = [];

  afterEach(async () => {
    await Promise.all(servers.map((server) => server.close().catch(() => {})));
    servers = [];
  });

  it("stays held after a second outage that began while the publishes of the first were still in flight", async () => {
    const channelPrefix = `outbox-faults-${randomUUID()}`;
    servers = [0, 1].map(() => {
      const backplane = new RedisBackplane({ url: redisUrl, channelPrefix, logger: silentLogger });
      const server = new HubServer({ logger: silentLogger, backplane, scaleOut: timings });
      server.mapHub("/outbox", OutboxFaultsHub);
      return server;
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const manager: any = servers[0]!["scaleOut"]!["managers"][0]!;
    const { outbox, presence } = manager;
    await waitFor(() => presence.hearsItself && presence.peerCount === 1, "server 0 to hear itself and server 1");

    // Server 0's link to Redis answers slowly: a send's publish stays in flight.
    const publish: (channel: string, payload: Uint8Array) => Promise<number> = outbox["publish"];
    let answer: (() => void) | undefined;
    outbox["publish"] = (channel: string, payload: Uint8Array) => {
      if (answer) return publish(channel, payload);
      return new Promise<number>((resolve) => (answer = () => void publish(channel, payload).then(resolve, () => resolve(0))));
    };
    const hub = servers[0]!.hubContext(OutboxFaultsHub);
    await hub.clients.all.send("first");
    expect(answer).toBeDefined();

    // The first outage: server 0 stops hearing itself, then hears itself and its peer again, and
    // its outbox is told to open while the send is still in flight.
    manager["onPathDown"](undefined);
    expect(outbox.isOpen).toBe(false);
    await waitFor(() => outbox["reopen"] === true, "the outbox to be told to open, the send still in flight");

    // A second outage before that publish is answered: server 0 hears nothing of itself now,
    // and its outbox must hold until it hears itself and its peer listens again.
    const heard: (serverId: string, listening: boolean, sentAt?: number) => void = presence["heard"].bind(presence);
    const ownId: string = manager["serverId"];
    presence["heard"] = (serverId: string, listening: boolean, sentAt?: number) => {
      if (serverId !== ownId) heard(serverId, listening, sentAt);
    };
    manager["onPathDown"](undefined);
    expect(presence.hearsItself).toBe(false);
    answer!();
    await waitFor(() => outbox["inFlight"] === 0, "the first outage's publish to be answered");
    expect(presence.hearsItself).toBe(false);
    expect(outbox.isOpen).toBe(false);

    // It opens once it hears itself again and its peer listens.
    presence["heard"] = heard;
    await waitFor(() => outbox.isOpen, "the outbox to open once server 0 hears itself again");
  });
});
