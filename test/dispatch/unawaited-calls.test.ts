import type { HubConnection } from "@microsoft/signalr";
import { afterEach, describe, expect, it } from "vitest";
import { dispatchLog } from "../../src/dispatch/dispatch-log.js";
import { Hub, HubClass, HubMethod } from "../../src/index.js";
import { startLoggedHub, type LoggedHub, type LoggedLine } from "../support/logged-hub.js";
import { waitFor } from "../support/wait.js";

interface Listener {
  message(value: unknown): void;
  ask(): string;
}

/** Hub methods that start calls and do not await them, as C# hubs often do. */
@HubClass()
class CarelessHub extends Hub<Listener> {
  @HubMethod("Shout")
  shout(): string {
    void this.clients.all.message(10n); // cannot be written: the send fails
    return "shouted";
  }

  @HubMethod("Join")
  join(group: string): string {
    void this.groups.addToGroup(this.context.connectionId, group); // past maximumGroupsPerConnection: refused
    return "joining";
  }

  @HubMethod("Ask")
  ask(): string {
    void this.clients.caller.withOptions({ timeout: 100 }).invoke("ask"); // the client never answers
    return "asked";
  }

  @HubMethod("Echo")
  echo(text: string): string {
    return text;
  }
}

/**
 * Node ends the process on a promise that rejects with nothing to handle it. A hub that starts
 * a send, a group change or a client result without awaiting it, and a client that makes it
 * fail, must cost a log line, not the server. (Vitest fails a run that has an unhandled
 * rejection.)
 */
describe("calls hub code starts and does not await", () => {
  let running: LoggedHub | undefined;
  let lines: LoggedLine[] = [];
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  async function start(): Promise<HubConnection> {
    running = await startLoggedHub("/careless", CarelessHub, { level: "debug", hubOptions: { maximumGroupsPerConnection: 1 } });
    lines = running.lines;
    return running.client;
  }

  const logged = (message: string) => lines.filter((line) => line.message === message);

  it("log a failed send as a warning", async () => {
    const client = await start();
    expect(await client.invoke("Shout")).toBe("shouted");
    await waitFor(() => logged(dispatchLog.callFailed.message).length === 1, "the failed send to be logged");
    expect(logged(dispatchLog.callFailed.message)[0]).toMatchObject({ level: "warn", fields: { hub: "CarelessHub", kind: "send" } });
    expect(await client.invoke("Echo", "still here")).toBe("still here");
  });

  it("log what a client caused at debug: a group join past the bound, a client result not given", async () => {
    const client = await start();
    expect(await client.invoke("Join", "first")).toBe("joining");
    expect(await client.invoke("Join", "second")).toBe("joining");
    expect(await client.invoke("Ask")).toBe("asked");
    const refused = () => logged(dispatchLog.callRefusedByClient.message).map((line) => [line.level, line.fields?.kind]);
    await waitFor(() => refused().length === 2, "both failures to be logged");
    expect(refused()).toEqual([
      ["debug", "group change"],
      ["debug", "client result"],
    ]);
    expect(logged(dispatchLog.callFailed.message)).toEqual([]);
    expect(await client.invoke("Echo", "still here")).toBe("still here");
  });
});
