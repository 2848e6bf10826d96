import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, silentLogger } from "../../src/index.js";
import { TestHost } from "../../src/testing/index.js";

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
  // In process: method lookup is the dispatcher's business, not the network's.
  let host: TestHost | undefined;
  afterEach(async () => {
    await host?.close();
  });

  it("finds a method by any spelling of its name, also past the spellings a hub remembers", async () => {
    host = new TestHost({ logger: silentLogger });
    host.mapHub("/spelling", SpellingHub);
    const client = (await host.connect(SpellingHub)).connection;
    const names = Array.from({ length: 1100 }, (_, mask) => spelling("countcharacters", mask));
    const lengths = await Promise.all(names.map((name) => client.invoke<number>(name, "abc")));
    expect(lengths.every((length) => length === 3)).toBe(true);
    await expect(client.invoke("CountCharacter", "abc")).rejects.toThrow(
      "Failed to invoke 'CountCharacter' due to an error on the server. HubException: Method does not exist.",
    );
  });
});
