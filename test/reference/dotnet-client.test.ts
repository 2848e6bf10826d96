import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInteropServer } from "../../samples/interop-server/app.js";
import { silentLogger, type HubServer } from "../../src/index.js";
import { RedisBackplane } from "../../src/redis/index.js";
import { startRoundRobinProxy } from "../../bench/round-robin-proxy.js";
import { redisUrl } from "../support/redis.js";
import { startGuardedServer, startOpenServer } from "../abuse/guarded-hub.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { buildProject, dotnetMissingFor, projects, startReferenceServer } from "./dotnet.mjs";

// The official .NET client (Microsoft.AspNetCore.SignalR.Client, test/reference/dotnet-client)
// against a hubwire server of the interop fixture: one process runs every check for every
// transport and protocol and prints one JSON line per check; each test below asserts one line.
// The same process then runs against ASP.NET Core SignalR, the checks' ground truth.

const missing = dotnetMissingFor("the .NET client tests");

const transports = ["WebSockets", "ServerSentEvents", "LongPolling"] as const;
const combos = ["json", "messagepack"].flatMap((protocol) => transports.map((transport) => `${transport}:${protocol}`));

const common = [
  "invoke",
  "send",
  "handlers",
  "stream to client: IAsyncEnumerable",
  "stream to client: ChannelReader",
  "stream from client: IAsyncEnumerable",
  "stream from client: ChannelReader",
  "cancellation",
  "client results",
  "groups",
  "users",
  "automatic reconnect",
];

/** The checks the app runs for a combination (as Checks.All() lists them). */
function checksFor(combo: string): string[] {
  if (combo === "ServerSentEvents:messagepack") return ["refuses a binary protocol"];
  return combo.startsWith("WebSockets:") ? [...common, "stateful reconnect", "a burst of sends"] : [...common, "a burst of sends"];
}

interface CheckResult {
  ok: boolean;
  error: string | null;
}

/** One promise per expected line, settled as the app prints it, or rejected when it exits first. */
class Results {
  private readonly pending = new Map<string, { promise: Promise<CheckResult>; resolve(r: CheckResult): void; reject(e: Error): void }>();

  constructor() {
    for (const combo of combos) {
      for (const check of checksFor(combo)) {
        let resolve!: (r: CheckResult) => void;
        let reject!: (e: Error) => void;
        const promise = new Promise<CheckResult>((res, rej) => ((resolve = res), (reject = rej)));
        promise.catch(() => {});
        this.pending.set(`${combo}|${check}`, { promise, resolve, reject });
      }
    }
  }

  get(combo: string, check: string): Promise<CheckResult> {
    return this.pending.get(`${combo}|${check}`)!.promise;
  }

  settle(combo: string, check: string, result: CheckResult): void {
    const entry = this.pending.get(`${combo}|${check}`);
    if (!entry) throw new Error(`the app ran a check the test does not know: ${combo} ${check}`);
    entry.resolve(result);
  }

  failAll(reason: string): void {
    for (const entry of this.pending.values()) entry.reject(new Error(reason));
  }
}

interface Server {
  url: string;
  close(): Promise<void>;
}

/**
 * Runs the app against a server in one process, and asserts each of its lines. The same checks run
 * against ASP.NET Core too: what they expect of hubwire is what the real server does.
 */
function describeChecks(title: string, project: string, startServer: () => Promise<Server>): void {
  describe(title, () => {
    let server: Server | undefined;
    let proxy: TcpProxy | undefined;
    let app: ChildProcessWithoutNullStreams | undefined;
    const results = new Results();
    const unknownLines: string[] = [];

    beforeAll(async () => {
      const assembly = await buildProject(project);
      server = await startServer();
      proxy = await startTcpProxy(Number(new URL(server.url).port));
      const child = spawn("dotnet", [assembly, "--url", server.url, "--proxy", proxy.url, "--combos", combos.join(",")], {
        env: { ...process.env, DOTNET_NOLOGO: "1" },
      });
      app = child;
      let stderr = "";
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
      createInterface({ input: child.stdout }).on("line", (line) => {
        let message: { cut?: string; refuseNew?: boolean; reconnecting?: string; combo?: string; check?: string; ok?: boolean; error?: string | null };
        try {
          message = JSON.parse(line);
        } catch {
          unknownLines.push(line);
          return;
        }
        if (message.cut) {
          // The app waits for this line: its proxied connections are gone by then. When asked, new
          // connections are refused until the app says it is reconnecting, so that a request the
          // client sends again at once cannot slip through and hide the cut.
          if (message.refuseNew) proxy!.refuse(true);
          proxy!.cut();
          child.stdin.write("cut\n");
        } else if (message.reconnecting) {
          proxy!.refuse(false);
        } else if (message.combo && message.check) {
          proxy!.refuse(false); // in case a check ended before saying it was reconnecting
          results.settle(message.combo, message.check, { ok: message.ok === true, error: message.error ?? null });
        } else {
          unknownLines.push(line);
        }
      });
      child.on("error", (error) => results.failAll(`the .NET client did not start: ${error.message}`));
      // "close", not "exit": the exit can come before the app's last lines are read.
      child.on("close", (code, signal) =>
        results.failAll(`the .NET client exited (${code ?? signal}) before this check; stderr:\n${stderr}\nother output:\n${unknownLines.join("\n")}`),
      );
    }, 600_000);

    afterAll(async () => {
      if (app && app.exitCode === null && app.signalCode === null) {
        const exited = new Promise((resolve) => app!.once("exit", resolve));
        app.kill("SIGTERM");
        await exited;
      }
      await proxy?.close();
      await server?.close();
    });

    describe.each(combos)("over %s", (combo) => {
      it.each(checksFor(combo))("%s", async (check) => {
        const result = await results.get(combo, check);
        expect(result.error).toBeNull();
        expect(result.ok).toBe(true);
      }, 60_000);
    });

    it("printed nothing else", () => {
      expect(unknownLines).toEqual([]);
    });
  });
}

/** Three interop servers sharing a Redis, behind a proxy that sends each request and upgrade to the next. */
async function startInteropCluster(): Promise<Server> {
  const channelPrefix = `dotnet-cluster-${randomUUID()}`;
  const options = () => ({ logger: silentLogger, allowStatefulReconnects: true, backplane: new RedisBackplane({ url: redisUrl, channelPrefix, logger: silentLogger }) });
  const servers = await Promise.all([0, 1, 2].map(() => startInteropServer(0, options())));
  const proxy = await startRoundRobinProxy(servers.map((server) => server.url));
  return {
    url: proxy.url,
    close: async () => {
      await proxy.close();
      await Promise.all(servers.map((server) => server.close()));
    },
  };
}

// Its version 10 (the one ASP.NET Core 10 ships with), and 11: the newest.
describe.skipIf(missing).each([
  ["10.0.15", projects.dotnetClient],
  ["11.0.0", projects.dotnetClient11],
])(`the official .NET client %s${missing ? ` (skipped: ${missing})` : ""}`, (_version, project) => {
  describeChecks("against hubwire", project, () => startInteropServer(0, { logger: silentLogger, allowStatefulReconnects: true }));
  // Every request to whichever server comes next: sends, polls, groups, users, client results
  // and stateful reconnects cross servers through Redis (docs/scale-out.md).
  describeChecks("against three hubwire servers on one Redis behind a round-robin proxy (no sticky sessions)", project, startInteropCluster);
  describeChecks("against ASP.NET Core SignalR, the same checks", project, async () => {
    const reference = await startReferenceServer({ env: { ALLOW_STATEFUL_RECONNECTS: "1" } });
    return { url: reference.url, close: () => reference.stop() };
  });
});

// SignalR 11's authentication refresh, which only version 11 of the client has, against a hubwire
// hub that closes a connection when its user's authentication ends (RefreshChecks.cs).
describe.skipIf(missing)(`the official .NET client 11.0.0: authentication refresh against hubwire${missing ? ` (skipped: ${missing})` : ""}`, () => {
  let server: HubServer | undefined;
  let open: HubServer | undefined;
  const lines: Array<{ combo: string; check: string; ok: boolean; error: string | null }> = [];
  let stderr = "";

  beforeAll(async () => {
    const assembly = await buildProject(projects.dotnetClient11);
    let url: string;
    let openUrl: string;
    ({ server, url } = await startGuardedServer({}, { authenticationRefresh: true }));
    // A hub that admits anyone and keeps connections past their tokens' end: a poll with an ended token is asked to refresh.
    ({ server: open, url: openUrl } = await startOpenServer({ authenticationRefresh: true, closeOnAuthenticationExpiration: false }));
    const child = spawn("dotnet", [assembly, "--refresh", url, openUrl], { env: { ...process.env, DOTNET_NOLOGO: "1" } });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    createInterface({ input: child.stdout }).on("line", (line) => {
      try {
        lines.push(JSON.parse(line) as (typeof lines)[number]);
      } catch {
        stderr += `\nnot a check's line: ${line}`;
      }
    });
    // Every line is in once its output has closed, after it exited (or failed to start: then the
    // tests below say what is missing).
    await new Promise((resolve) => {
      child.once("close", resolve);
      child.once("error", (error) => resolve((stderr += `\nthe .NET client did not start: ${error.message}`)));
    });
  }, 600_000);

  afterAll(async () => {
    await server?.close();
    await open?.close();
  });

  it.each(transports)("keeps a %s connection past its first token's expiry, and refreshes when asked", (transport) => {
    const line = lines.find((l) => l.combo === `${transport}:json` && l.check === "authentication refresh");
    expect(line, `no line for ${transport}; stderr:\n${stderr}`).toBeDefined();
    expect(line!.error).toBeNull();
    expect(line!.ok).toBe(true);
  });

  it("refreshes when a long poll is answered 409 authentication_refresh_required, and polls on", () => {
    const line = lines.find((l) => l.check === "refresh a poll asks for");
    expect(line, `no line for the check; stderr:\n${stderr}`).toBeDefined();
    expect(line!.error).toBeNull();
    expect(line!.ok).toBe(true);
  });
});
