import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  Authorize,
  consoleLogger,
  Hub,
  HubClass,
  HubException,
  HubMethod,
  HubServer,
  type HubServerOptions,
  type Logger,
  type LogFields,
} from "../../src/index.js";
import { RawJsonClient, RS } from "../robustness/raw-client.js";
import { startTcpProxy } from "../support/tcp-proxy.js";
import { waitFor } from "../support/wait.js";

@HubClass()
class LoggedHub extends Hub {
  override onConnected(): void {
    if (this.context.request.query.get("fail") === "connected") throw new Error("database unreachable");
  }

  @HubMethod("Echo")
  echo(value: unknown): unknown {
    return value;
  }

  @HubMethod("Fail")
  fail(): never {
    throw new Error("disk on fire");
  }

  @HubMethod("Refuse")
  refuse(): never {
    throw new HubException("No such room");
  }

  @HubMethod("Admin") @Authorize("admins")
  admin(): string {
    return "done";
  }
}

@HubClass()
@Authorize()
class MembersHub extends Hub {
  @HubMethod("Ping")
  ping(): string {
    return "pong";
  }
}

type Entry = { level: string; message: string; fields: LogFields };

function recordingLogger(entries: Entry[], level?: Logger["level"]): Logger {
  const at = (lvl: string) => (message: string, fields?: LogFields) => void entries.push({ level: lvl, message, fields: fields ?? {} });
  return { level, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** What consoleLogger writes to stderr while `run` runs (and nothing of it reaches the test output). */
async function capturingStderr(run: (written: () => string) => Promise<void>): Promise<string[]> {
  const chunks: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    await run(() => chunks.join(""));
  } finally {
    process.stderr.write = write;
  }
  return chunks.join("").split("\n").filter((line) => line.length > 0);
}

const users: Record<string, { sub: string; admin: boolean }> = {
  "guest-token-5d1e": { sub: "gus", admin: false },
};

let server: HubServer | undefined;
let url = "";
const connections: HubConnection[] = [];
const raws: RawJsonClient[] = [];

async function start(options: HubServerOptions): Promise<void> {
  server = new HubServer({ policies: { admins: (user) => (user as { admin: boolean }).admin }, ...options });
  server.mapHub("/logged", LoggedHub, { authenticate: (_request, token) => (token ? (users[token] ?? null) : null) });
  url = `${(await server.listen()).url}/logged`;
}

async function connect(transport = HttpTransportType.WebSockets, query = ""): Promise<HubConnection> {
  const connection = new HubConnectionBuilder()
    .withUrl(`${url}${query}`, { transport, accessTokenFactory: () => "guest-token-5d1e" })
    .configureLogging(LogLevel.None)
    .build();
  connections.push(connection);
  await connection.start();
  return connection;
}

async function raw(query = "", handshake = true): Promise<RawJsonClient> {
  const client = await RawJsonClient.open(`${url}${query}`, { handshake });
  raws.push(client);
  return client;
}


afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.stop()));
  for (const client of raws.splice(0)) client.terminate();
  await server?.close();
  server = undefined;
});

describe("log levels", () => {
  const entries: Entry[] = [];
  beforeEach(() => void entries.splice(0));
  const named = (message: string) => entries.filter((e) => e.message === message);

  it("puts what a client causes at debug, never warn or error", async () => {
    await start({ logger: recordingLogger(entries) });
    const connection = await connect();
    await expect(connection.invoke("Nope")).rejects.toThrow("Method does not exist.");
    await expect(connection.invoke("Echo", 1, 2)).rejects.toThrow("Failed to invoke 'Echo'");
    await expect(connection.invoke("Admin")).rejects.toThrow("because user is unauthorized");
    await expect(connection.invoke("Refuse")).rejects.toThrow("HubException: No such room");
    await connection.stop(); // what the official client does: a close frame without a status
    const tab = await raw();
    tab.socket.close(1001); // a browser tab closing
    const bad = await raw();
    bad.send(`garbage${RS}`);
    await bad.closed;
    await waitFor(() => named("Connection closed").length === 3, "three closes");

    expect(entries.filter((e) => e.level !== "debug")).toEqual([]);
    for (const message of [
      "Unknown hub method",
      "Hub method called with the wrong argument count",
      "Hub method call denied",
      "Hub method threw a HubException",
      "Connection closed by the server for a fault",
    ]) {
      expect(named(message), message).toHaveLength(1);
    }
    expect(named("Hub method call denied")[0]!.fields).toMatchObject({ hub: "LoggedHub", method: "Admin", userIdentifier: "gus" });
    expect((named("Connection closed by the server for a fault")[0]!.fields.error as Error).name).toBe("InvalidDataException");
    // Both normal closes end normally; the bad message's close says why.
    const closes = named("Connection closed").map((e) => e.fields.reason ?? (e.fields.error as Error).name);
    expect(closes).toEqual(["ended normally", "ended normally", "InvalidDataException"]);
  });

  it("puts what the application must fix at error, with the error", async () => {
    await start({ logger: recordingLogger(entries) });
    const connection = await connect();
    await expect(connection.invoke("Fail")).rejects.toThrow("An unexpected error occurred invoking 'Fail' on the server.");
    const client = await raw("?fail=connected");
    await client.next((m) => m.type === 7, "the Close message");

    const errors = entries.filter((e) => e.level === "error");
    expect(errors.map((e) => e.message)).toEqual(["Hub method threw", "onConnected failed"]);
    expect(errors[0]!.fields).toMatchObject({ hub: "LoggedHub", method: "Fail", connectionId: expect.any(String) });
    expect((errors[0]!.fields.error as Error).message).toBe("disk on fire");
    expect((errors[1]!.fields.error as Error).message).toBe("database unreachable");
  });

  it("tells at debug how each connection opened, what it called and how it closed, on every transport", async () => {
    await start({ logger: recordingLogger(entries) });
    const transports: Array<[HttpTransportType, string]> = [
      [HttpTransportType.WebSockets, "WebSockets"],
      [HttpTransportType.ServerSentEvents, "ServerSentEvents"],
      [HttpTransportType.LongPolling, "LongPolling"],
    ];
    for (const [transport, name] of transports) {
      const connection = await connect(transport);
      expect(await connection.invoke("Echo", 7)).toBe(7);
      const id = connection.connectionId!;
      await connection.stop();
      await waitFor(() => entries.some((e) => e.message === "Connection closed" && e.fields.connectionId === id), `${name} to close`);
      const story = entries.filter((e) => e.fields.connectionId === id);
      expect(story.map((e) => [e.level, e.message])).toEqual([
        ["debug", "Connection opened"],
        ["debug", "Hub method call started"],
        ["debug", "Connection closed"],
      ]);
      expect(story[0]!.fields).toEqual({ hub: "LoggedHub", connectionId: id, transport: name, protocol: "json", version: 1, userIdentifier: "gus" });
      expect(story[1]!.fields).toMatchObject({ method: "Echo", invocationId: expect.any(String) });
      expect(story[2]!.fields).toMatchObject({ reason: "ended normally" });
    }
  });

  it("tells at debug when a stateful connection waits for its client, and when the client is back", async () => {
    await start({ logger: recordingLogger(entries), allowStatefulReconnects: true });
    const proxy = await startTcpProxy(Number(new URL(url).port));
    try {
      const connection = new HubConnectionBuilder()
        .withUrl(`${proxy.url}/logged`, { transport: HttpTransportType.WebSockets, accessTokenFactory: () => "guest-token-5d1e" })
        .withStatefulReconnect()
        .configureLogging(LogLevel.None)
        .build();
      connections.push(connection);
      await connection.start();
      const id = connection.connectionId!;
      proxy.cut(); // the client comes back at once, on a new socket
      await waitFor(() => named("Connection resumed on its client's new transport").length === 1, "the connection to resume");
      expect(await connection.invoke("Echo", 8)).toBe(8);
      const story = entries.filter((e) => e.fields.connectionId === id).map((e) => e.message);
      expect(story).toEqual(["Connection opened", "Connection suspended: its transport dropped; waiting for its client to reconnect", "Connection resumed on its client's new transport", "Hub method call started"]);
      expect(named("Connection resumed on its client's new transport")[0]!.fields).toEqual({ hub: "LoggedHub", connectionId: id });
    } finally {
      await proxy.close();
    }
  });

  it("tells at debug why a handshake failed", async () => {
    await start({ logger: recordingLogger(entries) });
    const client = await raw("", false);
    client.send(`{"protocol":"xml","version":1}${RS}`);
    await client.closed;
    await waitFor(() => named("Handshake failed").length === 1, "the handshake to fail");
    expect(named("Handshake failed")[0]).toMatchObject({
      level: "debug",
      fields: { hub: "LoggedHub", transport: "WebSockets", reason: "The protocol 'xml' is not supported." },
    });
  });

  it("tells at debug why a connection was refused", async () => {
    await start({ logger: recordingLogger(entries) });
    server!.mapHub("/members", MembersHub, { authenticate: () => null });
    const refused = await fetch(`${url.replace("/logged", "/members")}/negotiate`, { method: "POST", headers: { Authorization: "Bearer expired" } });
    expect(refused.status).toBe(401);
    expect(entries).toEqual([
      { level: "debug", message: "Connection refused by the hub's authorization", fields: { path: "/members", status: 401, hasToken: true } },
    ]);
  });

  it("hands a logger that declares its level nothing below it", async () => {
    await start({ logger: recordingLogger(entries, "warn") });
    const connection = await connect();
    for (let i = 0; i < 20; i++) await connection.invoke("Echo", i);
    await expect(connection.invoke("Nope")).rejects.toThrow();
    await expect(connection.invoke("Fail")).rejects.toThrow();
    expect(entries.map((e) => e.message)).toEqual(["Hub method threw"]);
  });
});

describe("consoleLogger", () => {
  it("writes one line per entry: a timestamp, the level, the message and the fields as JSON", async () => {
    const cycle: Record<string, unknown> = { name: "loop" };
    cycle.self = cycle;
    const lines = await capturingStderr(async () => {
      const logger = consoleLogger("info");
      logger.debug("not written");
      logger.info("Server started", { port: 5000 });
      logger.error("Odd fields", {
        big: 10n,
        cycle,
        json: { toJSON: () => { throw new Error("no"); } },
        proxy: new Proxy({}, { get: () => { throw new Error("trap"); }, ownKeys: () => { throw new Error("trap"); } }),
        error: new Error("boom"),
      });
    });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[hubwire\] info Server started \{"port":5000\}$/);
    const [, fields] = /^\S+ \[hubwire\] error Odd fields (.*)$/.exec(lines[1]!)!;
    const parsed = JSON.parse(fields!) as Record<string, any>;
    expect(parsed).toMatchObject({ big: "10n", cycle: { name: "loop", self: "[circular]" }, proxy: "[unreadable]" });
    expect(parsed.json).toEqual({ toJSON: "[function toJSON]" });
    expect(parsed.error).toMatchObject({ name: "Error", message: "boom", stack: expect.stringContaining("boom") });
  });

  it("takes its level from HUBWIRE_LOG when given none, and refuses a level it does not know", async () => {
    const before = process.env.HUBWIRE_LOG;
    try {
      process.env.HUBWIRE_LOG = "debug";
      const lines = await capturingStderr(async () => {
        await start({}); // the default logger
        const client = await raw();
        client.send(`{"type":1,"invocationId":"1","target":"Echo","arguments":[1]}${RS}`);
        await client.completion("1");
        await server!.close();
      });
      expect(lines.some((line) => / \[hubwire\] debug Connection opened \{.*"transport":"WebSockets","protocol":"json"/.test(line))).toBe(true);
      expect(lines.some((line) => / \[hubwire\] debug Hub method call started \{.*"method":"Echo"/.test(line))).toBe(true);
      process.env.HUBWIRE_LOG = "loud";
      expect(() => new HubServer()).toThrow(expect.objectContaining({ code: "ERR_INVALID_OPTION", message: expect.stringContaining("HUBWIRE_LOG") }));
    } finally {
      if (before === undefined) delete process.env.HUBWIRE_LOG;
      else process.env.HUBWIRE_LOG = before;
    }
  });
});

describe("secrets", () => {
  it("never reach a log line: access tokens, bearer headers, connection tokens", async () => {
    const secret = "guest-token-5d1e";
    const connectionTokens: string[] = [];
    const lines = await capturingStderr(async () => {
      await start({ logger: consoleLogger("debug") });
      for (const transport of [HttpTransportType.WebSockets, HttpTransportType.ServerSentEvents, HttpTransportType.LongPolling]) {
        const connection = await connect(transport, `?access_token=${secret}`);
        await expect(connection.invoke("Fail")).rejects.toThrow();
        await expect(connection.invoke("Admin")).rejects.toThrow();
        await connection.stop();
      }
      // By hand: a long-polling connection whose token travels in every URL, and a bad message.
      // Every request carries the token in its header (as the official client sends it) and in its URL.
      const headers = { Authorization: `Bearer ${secret}` };
      const negotiated = await fetch(`${url}/negotiate?negotiateVersion=1`, { method: "POST", headers });
      const { connectionToken } = (await negotiated.json()) as { connectionToken: string };
      connectionTokens.push(connectionToken);
      const at = `${url}?id=${connectionToken}&access_token=${secret}`;
      await fetch(at, { headers });
      const poll = fetch(at, { headers });
      await fetch(at, { method: "POST", headers, body: `{"protocol":"json","version":1}${RS}` });
      await poll;
      await fetch(at, { method: "POST", headers, body: `{"type":1,"invocationId":"1","target":"Nope","arguments":[]}${RS}garbage${RS}` });
      expect(await (await fetch(at, { headers })).text()).toBe(`{"type":7,"error":"Connection closed with an error."}${RS}`);
      expect((await fetch(at, { headers })).status).toBe(204);
      await server!.close();
    });
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) {
      expect(line).not.toContain(secret);
      for (const token of connectionTokens) expect(line).not.toContain(token);
    }
  });

  it("never reach the line of a refusal, even when the hook's own error text holds them", async () => {
    const secret = "guest-token-5d1e";
    const lines = await capturingStderr(async (written) => {
      await start({
        logger: consoleLogger("error"),
        userIdProvider: (_user, request) => {
          throw new Error(`no user id for ${request.query.get("access_token")}`);
        },
      });
      const refused = await fetch(`${url}/negotiate?negotiateVersion=1&access_token=${secret}`, { method: "POST" });
      expect(refused.status).toBe(500);
      await waitFor(() => written().includes("userIdProvider threw"), "the refusal to be logged");
      await server!.close();
    });
    const failed = lines.find((line) => line.includes("userIdProvider threw"))!;
    expect(failed).toContain(`"endpoint":"LoggedHub"`);
    expect(failed).toContain("no user id for");
    for (const line of lines) expect(line).not.toContain(secret);
  });
});
