import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { officialClients } from "../support/official-clients.js";
import { Hub, HubClass, HubMethod, HubServer, type LogFields, type Logger } from "../../src/index.js";
import { lifetimeLog } from "../../src/lifetime/lifetime-log.js";
import { transportLog } from "../../src/transports/transport-log.js";
import { MemoryBackplane } from "../support/memory-backplane.js";
import { waitFor } from "../support/wait.js";

// A backplane is the application's (or a library's) code, called from timers and socket
// listeners. One whose calls throw instead of rejecting, or whose resubscribeAll rejects, must
// cost what an unreachable backplane costs (other servers miss messages, logged), never the process.

const disconnected: string[] = [];

@HubClass()
class ClusterHub extends Hub<{ notice(text: string): void }> {
  @HubMethod("Echo")
  echo(text: string): string {
    return text;
  }

  @HubMethod("Broadcast")
  async broadcast(text: string): Promise<void> {
    await this.clients.all.notice(text);
  }

  override onDisconnected(): void {
    disconnected.push(this.context.connectionId);
  }
}

describe("a backplane that throws or rejects where it should not", () => {
  const failures: Array<[string, unknown]> = [];
  const onUncaught = (error: unknown) => void failures.push(["uncaughtException", error]);
  const onUnhandled = (error: unknown) => void failures.push(["unhandledRejection", error]);
  const lines: Array<{ message: string; fields?: LogFields }> = [];
  const record = (message: string, fields?: LogFields) => void lines.push({ message, fields });
  const logger: Logger = { debug: record, info: record, warn: record, error: record };
  const logged = (event: { message: string }) => lines.some((line) => line.message === event.message);
  let server: HubServer | undefined;
  const { connect, stopAll } = officialClients();

  // vitest reports these as errors of the whole run, pinned on whichever test ran last: listened
  // for here too, they fail the test that caused them.
  beforeEach(() => {
    process.on("uncaughtException", onUncaught);
    process.on("unhandledRejection", onUnhandled);
  });
  afterEach(async () => {
    await stopAll();
    await server?.close();
    server = undefined;
    process.off("uncaughtException", onUncaught);
    process.off("unhandledRejection", onUnhandled);
    failures.length = 0;
    lines.length = 0;
    disconnected.length = 0;
  });

  async function start(backplane: MemoryBackplane): Promise<string> {
    server = new HubServer({ logger, backplane, scaleOut: { heartbeatInterval: 50, serverTimeout: 150 } });
    server.mapHub("/cluster", ClusterHub);
    const { url } = await server.listen(0, "127.0.0.1");
    return `${url}/cluster`;
  }


  it("costs what an unreachable backplane costs when its calls start throwing: heartbeats, sends, routes and closes go on", async () => {
    const backplane = new MemoryBackplane();
    const url = await start(backplane);
    const first = await connect(url);
    expect(await first.invoke("Echo", "before")).toBe("before");

    backplane.fault = "throw";
    // The heartbeat's publish, from its timer: the outbox holds what goes to other servers.
    await waitFor(() => logged(lifetimeLog.outboxHolding), "the failed heartbeat to be logged");
    await first.invoke("Broadcast", "held for the other servers");

    // A request for a connection some other server may hold is forwarded over the backplane.
    const forwarded = await fetch(`${url}?id=held-elsewhere`, { method: "DELETE" });
    expect(forwarded.status).toBe(503);

    // Its end unsubscribes its route channel, from the socket's close listener.
    const firstId = first.connectionId!;
    await first.stop();
    await waitFor(() => disconnected.includes(firstId), "the first client's onDisconnected");
    await waitFor(() => logged(transportLog.routeUnsubscribeFailed), "the failed unsubscribe to be logged");

    const second = await connect(url);
    expect(await second.invoke("Echo", "after")).toBe("after");
    await second.stop();
    backplane.fault = "none"; // a close that fails is another test's
    await server!.close();
    server = undefined;
    expect(failures).toEqual([]);
  });

  it("serves connections when its calls throw from the start", async () => {
    const backplane = new MemoryBackplane();
    backplane.fault = "throw";
    const client = await connect(await start(backplane));
    expect(await client.invoke("Echo", "alone")).toBe("alone");
    expect(failures).toEqual([]);
    backplane.fault = "none"; // a close that fails is another test's
  });

  it("closes the HTTP server when the backplane fails to close, and says so", async () => {
    const backplane = new MemoryBackplane();
    const url = await start(backplane);
    backplane.fault = "reject";
    await expect(server!.close()).rejects.toThrow("close: the backplane is not connected");
    server = undefined;
    await expect(fetch(`${url}/negotiate?negotiateVersion=1`, { method: "POST" })).rejects.toMatchObject({ cause: { code: "ECONNREFUSED" } });
  });

  it("logs a resubscribeAll that rejects, and tries again later", async () => {
    const backplane = new MemoryBackplane();
    let attempts = 0;
    Object.assign(backplane, {
      resubscribeAll: () => {
        attempts++;
        return Promise.reject(new Error("the subscriber connection is gone"));
      },
    });
    const url = await start(backplane);
    const client = await connect(url);
    backplane.deaf = true; // heartbeats go out, none comes back: the server subscribes again
    await waitFor(() => lines.filter((line) => line.message === lifetimeLog.resubscribeFailed.message).length >= 2, "two failed resubscribes to be logged");
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(await client.invoke("Echo", "still here")).toBe("still here");
    expect(failures).toEqual([]);
  });
});
