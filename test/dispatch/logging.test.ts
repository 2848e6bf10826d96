import { afterEach, describe, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, type Logger, type LogFields } from "../../src/index.js";
import { RawJsonClient, RS } from "../robustness/raw-client.js";

@HubClass()
class FailingHub extends Hub {
  @HubMethod("Fail")
  fail(): never {
    throw new Error("disk on fire");
  }
}

type Entry = { level: string; message: string; fields: LogFields | undefined };

function recordingLogger(entries: Entry[]): Logger {
  const at = (level: string) => (message: string, fields?: LogFields) => entries.push({ level, message, fields });
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

describe("the logger", () => {
  let server: HubServer | undefined;
  const clients: RawJsonClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.terminate();
    await server?.close();
  });

  it("reports every failed call and every connection closed with an error, with details", async () => {
    const entries: Entry[] = [];
    server = new HubServer({ logger: recordingLogger(entries) });
    server.mapHub("/failing", FailingHub);
    const client = await RawJsonClient.open(`${(await server.listen()).url}/failing`);
    clients.push(client);
    client.send(`{"type":1,"invocationId":"1","target":"Fail","arguments":[]}${RS}`);
    // Without detailed errors the client gets no detail; the log has it all.
    expect(await client.completion("1")).toEqual({
      type: 3,
      invocationId: "1",
      error: "An unexpected error occurred invoking 'Fail' on the server.",
    });
    const failed = entries.find((e) => e.message === "Hub method threw")!;
    expect(failed.level).toBe("error");
    expect(failed.fields).toMatchObject({ hub: "FailingHub", method: "Fail", connectionId: expect.any(String) });
    expect((failed.fields!.error as Error).message).toBe("disk on fire");

    client.send(`garbage${RS}`);
    await client.closed;
    // A client's bad message is its own fault: debug, not a warning an operator must act on.
    const closed = entries.find((e) => e.message === "Connection closed by the server for a fault")!;
    expect(closed.level).toBe("debug");
    expect(closed.fields).toMatchObject({ hub: "FailingHub", connectionId: failed.fields!.connectionId });
    expect((closed.fields!.error as Error).name).toBe("InvalidDataException");
  });
});
