import type { HubConnection } from "@microsoft/signalr";
import { afterEach, describe, expect, it } from "vitest";
import { dispatchLog } from "../../src/dispatch/dispatch-log.js";
import { Hub, HubClass, HubMethod } from "../../src/index.js";
import { startLoggedHub, type LoggedHub, type LoggedLine } from "../support/logged-hub.js";
import { waitFor } from "../support/wait.js";

/** Every way hub code can listen on a signal, each failing its own way. */
function listenBadly(signal: AbortSignal, where: string): void {
  signal.addEventListener("abort", () => {
    throw new Error(`${where}: listener`);
  });
  signal.addEventListener("abort", async () => {
    throw new Error(`${where}: async listener`);
  });
  signal.addEventListener("abort", {
    handleEvent() {
      throw new Error(`${where}: handleEvent`);
    },
  });
  signal.onabort = () => {
    throw new Error(`${where}: onabort`);
  };
  // Removed again: never runs.
  const removed = () => {
    throw new Error(`${where}: removed`);
  };
  signal.addEventListener("abort", removed);
  signal.removeEventListener("abort", removed);
}

@HubClass()
class ListeningHub extends Hub {
  override onConnected(): void {
    listenBadly(this.signal, "connection");
  }

  @HubMethod("Ticks")
  async *ticks(): AsyncGenerator<number> {
    listenBadly(this.signal, "stream");
    for (let i = 0; !this.signal.aborted; i++) {
      yield i;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  @HubMethod("Echo")
  echo(text: string): string {
    return text;
  }
}

/**
 * Node reports an abort listener that throws as an uncaught exception, which ends the process:
 * a hub's faulty cancellation code, run because a client cancelled a stream or left, must cost
 * nothing but a log line. (Vitest fails a run that has an uncaught exception.)
 */
describe("abort listeners of hub code that throw", () => {
  let running: LoggedHub | undefined;
  let errors: LoggedLine[] = [];
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });

  async function start(): Promise<HubConnection> {
    running = await startLoggedHub("/listening", ListeningHub, { level: "error" });
    errors = running.lines;
    return running.client;
  }

  const thrown = (where: string) =>
    errors
      .filter((e) => e.message === dispatchLog.abortListenerThrew.message && String((e.fields?.error as Error).message).startsWith(where))
      .map((e) => (e.fields?.error as Error).message)
      .sort();

  it("in a stream the client cancels are logged, and the connection goes on", async () => {
    const client = await start();
    let items = 0;
    const subscription = client.stream<number>("Ticks").subscribe({ next: () => items++, error: () => {}, complete: () => {} });
    await waitFor(() => items > 0, "the stream's first item");
    subscription.dispose(); // a CancelInvocation
    await waitFor(() => thrown("stream").length === 4, "the stream's four listeners to be logged");
    expect(thrown("stream")).toEqual(["stream: async listener", "stream: handleEvent", "stream: listener", "stream: onabort"]);
    expect(await client.invoke("Echo", "still here")).toBe("still here");
  });

  it("on the connection's signal are logged when the client leaves", async () => {
    const client = await start();
    await client.stop();
    await waitFor(() => thrown("connection").length === 4, "the connection's four listeners to be logged");
    expect(thrown("connection")).toEqual(["connection: async listener", "connection: handleEvent", "connection: listener", "connection: onabort"]);
    expect(errors[0]!.fields).toMatchObject({ hub: "ListeningHub" });
  });
});
