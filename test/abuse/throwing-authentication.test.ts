import { HttpTransportType, HubConnectionBuilder, LogLevel } from "@microsoft/signalr";
import { afterEach, describe, expect, it } from "vitest";
import type { HubOptions, HubServer, Logger, LogFields } from "../../src/index.js";
import { send } from "../http-transports/http-client.js";
import { authenticateTestToken, bearer, guardedLog, negotiateAs, outcome, resetGuardedLog, startGuardedServer, token, upgradeOutcome } from "./guarded-hub.js";
import { expectCanaryAnswered, startCanary } from "./canary-beside.js";

const alice = token("alice-7f3a9c");

/** Every log line, as the console logger would write it. */
function recordingLogger(lines: string[]): Logger {
  const write = (level: string) => (message: string, fields?: LogFields) =>
    lines.push(`${level} ${message} ${JSON.stringify(fields ?? {}, (_k, v: unknown) => (v instanceof Error ? { message: v.message, stack: v.stack } : v))}`);
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

/**
 * Negotiate passes; the transport's request throws, with its URL (bearer and connection token
 * in the query) in the error, as a careless hook would.
 */
function throwOnTransportRequest(request: { url: string; query: URLSearchParams }): void {
  if ([...request.query.keys()].some((key) => key.toLowerCase() === "id")) throw new Error(`cannot read the user of ${request.url}`);
}

const cases: Array<[string, HubOptions, [number, string]]> = [
  [
    "authenticate",
    { authenticate: (request, bearer) => (throwOnTransportRequest(request), authenticateTestToken(request, bearer)) },
    [401, "Authentication failed."],
  ],
  [
    "userIdProvider",
    { userIdProvider: (user, request) => (throwOnTransportRequest(request), (user as { sub?: string } | null)?.sub) },
    [500, "The server could not identify the user."],
  ],
];

describe.each(cases)("a %s that throws", (_name, hubOptions, refusal) => {
  let server: HubServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    resetGuardedLog();
  });

  it("refuses every transport the same way, lets nobody in, logs no token, and leaves nothing running", async () => {
    const lines: string[] = [];
    let url: string;
    ({ server, url } = await startGuardedServer({ logger: recordingLogger(lines) }, hubOptions));
    const canary = await startCanary(url);
    const tokens: string[] = [];
    const negotiated = async () => {
      tokens.push(await negotiateAs(url, alice));
      return tokens.at(-1)!;
    };

    expect(await upgradeOutcome(`${url}?id=${await negotiated()}&access_token=${alice}`)).toEqual(refusal);
    const eventStream = { Accept: "text/event-stream" };
    expect(await outcome(send(`${url}?id=${await negotiated()}&access_token=${alice}`, "GET", { headers: eventStream }))).toEqual(refusal);
    expect(await outcome(send(`${url}?id=${await negotiated()}`, "GET", { headers: bearer(alice) }))).toEqual(refusal);
    // A query key is read whatever its case (as ASP.NET Core reads it), and kept out of the log as well.
    expect(await outcome(send(`${url}?ID=${await negotiated()}&access_token=${alice}`, "GET"))).toEqual(refusal);

    // The official client fails to start over each transport; long polling no longer lets it in.
    for (const transport of [HttpTransportType.WebSockets, HttpTransportType.ServerSentEvents, HttpTransportType.LongPolling]) {
      const client = new HubConnectionBuilder()
        .withUrl(url, { transport, accessTokenFactory: () => alice })
        .configureLogging(LogLevel.None)
        .build();
      await expect(client.start()).rejects.toThrow();
    }
    expect(guardedLog.connected).toEqual([]);
    await expectCanaryAnswered(canary);

    await server.close(); // nothing half-open keeps it waiting
    expect(server.connectionCount).toBe(0);
    expect(guardedLog.disconnects).toEqual([]);

    const log = lines.join("\n");
    expect(log).toContain(refusal[0] === 401 ? "ERR_AUTHENTICATION_FAILED" : "ERR_USER_ID_PROVIDER_FAILED");
    expect(log).not.toContain(alice);
    for (const connectionToken of tokens) expect(log).not.toContain(connectionToken);
    // Nor the official clients' connection tokens, which the test never sees: no id or access_token in a URL has a value.
    expect(log).not.toMatch(/[?&](id|access_token)=(?!\[redacted\])/i);
  });
});
