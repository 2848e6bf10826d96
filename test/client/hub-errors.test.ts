import { describe, expect, it } from "vitest";
import { HubConnection, HubError } from "../../client/index.js";
import { Hub, HubClass, HubException, HubMethod, HubServer, silentLogger } from "../../src/index.js";
import { fixturePerTest } from "./fixture-per-test.js";

@HubClass()
class StrictHub extends Hub {
  @HubMethod("Send")
  send(text: string): void {
    if (!text) throw new HubException("Empty message");
  }

  @HubMethod("Watch")
  async *watch(room: string): AsyncGenerator<string> {
    yield `watching ${room}`;
    throw new HubException(`No room named ${room}: it closed.`);
  }

  @HubMethod("Crash")
  crash(): never {
    throw new Error("a secret the server keeps");
  }
}

describe("HubError", () => {
  it("carries the HubException's text alone in hubMessage, for a call and for a stream", async () => {
    const server = new HubServer({ logger: silentLogger });
    server.mapHub("/strict", StrictHub);
    const { port } = await server.listen(0);
    const connection = new HubConnection(`http://127.0.0.1:${port}/strict`, { reconnect: false });
    try {
      await connection.start();
      const call = await connection.invoke("Send", "").catch((e: unknown) => e);
      expect(call).toBeInstanceOf(HubError);
      expect(call).toMatchObject({
        code: "ERR_HUB",
        message: "An unexpected error occurred invoking 'Send' on the server. HubException: Empty message",
        hubMessage: "Empty message",
      });

      const items: string[] = [];
      const stream = await (async () => {
        for await (const item of connection.stream<string>("Watch", "lobby")) items.push(item);
      })().catch((e: unknown) => e);
      expect(items).toEqual(["watching lobby"]);
      expect(stream).toMatchObject({
        message: "An error occurred on the server while streaming results. HubException: No room named lobby: it closed.",
        hubMessage: "No room named lobby: it closed.",
      });

      // Not meant for people: an ordinary exception (its text stays on the server), an unknown method.
      expect(await connection.invoke("Crash").catch((e: HubError) => [e.message, e.hubMessage])).toEqual([
        "An unexpected error occurred invoking 'Crash' on the server.",
        undefined,
      ]);
      expect(await connection.invoke("Nothing").catch((e: HubError) => [e.message, e.hubMessage])).toEqual([
        "Failed to invoke 'Nothing' due to an error on the server. HubException: Method does not exist.",
        undefined,
      ]);
    } finally {
      await connection.stop();
      await server.close();
    }
  });

  describe("with detailed errors on", () => {
    const fixture = fixturePerTest();

    it("gives no hubMessage for an ordinary exception's details", async () => {
      const connection = fixture.track(new HubConnection(`${fixture.server.url}/testhub`, { reconnect: false }));
      await connection.start();
      const error = (await connection.invoke("ThrowException", "An error occurred.").catch((e: unknown) => e)) as HubError;
      expect(error.message).toBe("An unexpected error occurred invoking 'ThrowException' on the server. InvalidOperationException: An error occurred.");
      expect(error.hubMessage).toBeUndefined();
    });
  });
});
