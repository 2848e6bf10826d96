import { HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger } from "../../src/index.js";

@HubClass()
class SpellingHub extends Hub {
  @HubMethod("CountCharacters")
  count(text: string): number {
    return text.length;
  }
}

/** `name` with the letters whose bit is set in `mask` upper-cased. */
function spelling(name: string, mask: number): string {
  return [...name].map((letter, i) => (mask & (1 << i) ? letter.toUpperCase() : letter)).join("");
}

describe("method lookup", () => {
  let server: HubServer | undefined;
  let client: HubConnection | undefined;
  afterEach(async () => {
    await client?.stop();
    await server?.close();
  });

  it("finds a method by any spelling of its name, also past the spellings a hub remembers", async () => {
    server = new HubServer({ logger: silentLogger });
    server.mapHub("/spelling", SpellingHub);
    const { url } = await server.listen();
    client = new HubConnectionBuilder().withUrl(`${url}/spelling`).configureLogging(LogLevel.None).build();
    await client.start();
    const names = Array.from({ length: 1100 }, (_, mask) => spelling("countcharacters", mask));
    const lengths = await Promise.all(names.map((name) => client!.invoke<number>(name, "abc")));
    expect(lengths.every((length) => length === 3)).toBe(true);
    await expect(client.invoke("CountCharacter", "abc")).rejects.toThrow(
      "Failed to invoke 'CountCharacter' due to an error on the server. HubException: Method does not exist.",
    );
  });
});
