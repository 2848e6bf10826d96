// The README's example of hubwire/testing ("Testing hubs"), word for word between the markers
// but for the import path, run on the README's ChatHub; the last test keeps the two in step.
import { readFileSync } from "node:fs";
import { afterAll, describe } from "vitest";
import { ChatHub } from "../codegen/readme-chat-hub.js";

// README: begin
import { afterEach, expect, it } from "vitest";
import { TestHost } from "../../src/testing/index.js";

const host = new TestHost();
host.mapHub("/chat", ChatHub);                  // options and typedi services as on a HubServer
afterEach(() => host.disconnectAll());

it("sends a room's messages to its members only", async () => {
  const ann = await host.connect(ChatHub, { user: { sub: "ann" } });  // what authenticate would return
  const bob = await host.connect(ChatHub, { user: { sub: "bob" } });
  await bob.hub.join("lobby");                  // typed by ChatHub's methods
  await ann.hub.send("lobby", "hi");
  expect(await bob.next("message")).toEqual([ann.connectionId, "hi"]);  // typed by ChatClient
  await expect(ann.hub.send("lobby", "")).rejects.toThrow("Empty message");
});
// README: end

afterAll(() => host.close());

describe("the README's test-host example", () => {
  it("is the README's, word for word", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.split("## Testing hubs\n")[1]?.split("\n## ")[0] ?? "";
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    const self = readFileSync(new URL(import.meta.url), "utf8");
    const here = /\/\/ README: begin\n([\s\S]*?)\/\/ README: end/.exec(self)![1]!;
    expect(here.replace('"../../src/testing/index.js"', '"hubwire/testing"')).toBe(block);
  });
});
