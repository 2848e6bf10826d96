import WebSocket from "ws";
import { HubMultiplexer } from "../../client/multiplex.js";
import {
  authenticated,
  Authorize,
  Hub,
  HubClass,
  HubMethod,
  HubServer,
  silentLogger,
  type AuthenticationRefresh,
  type HubOptions,
  type HubServerOptions,
} from "../../src/index.js";
import { send, type Reply } from "../http-transports/http-client.js";
import { mapCanaryHub } from "./canary-beside.js";

/** What GuardedHub ran, as `<method> <user id>`, and the errors its connections ended with. */
export const guardedLog = { connected: [] as string[], calls: [] as string[], disconnects: [] as Array<Error | undefined> };

let disconnectWaiters: Array<() => boolean> = [];

export function resetGuardedLog(): void {
  guardedLog.connected.length = 0;
  guardedLog.calls.length = 0;
  guardedLog.disconnects.length = 0;
  disconnectWaiters = [];
}

/** Ends what a test of these hubs started, its client first, then its server, and clears the guarded log. */
export async function endGuardedTest(client: { stop(): Promise<void> } | undefined, server: { close(): Promise<void> } | undefined): Promise<void> {
  await client?.stop();
  await server?.close();
  resetGuardedLog();
}

/** Resolves once `count` GuardedHub connections have run onDisconnected. */
export function disconnects(count: number): Promise<void> {
  if (guardedLog.disconnects.length >= count) return Promise.resolve();
  return new Promise((resolve) =>
    disconnectWaiters.push(() => {
      if (guardedLog.disconnects.length < count) return false;
      resolve();
      return true;
    }),
  );
}

/** A hub for signed-in users, with one method for admins only. */
@HubClass()
@Authorize()
export class GuardedHub extends Hub {
  override onConnected(): void {
    guardedLog.connected.push(String(this.context.userIdentifier));
  }

  override onDisconnected(error?: Error): void {
    guardedLog.disconnects.push(error);
    disconnectWaiters = disconnectWaiters.filter((waiter) => !waiter());
  }

  @HubMethod("Whoami")
  whoami(): string | undefined {
    guardedLog.calls.push(`whoami ${this.context.userIdentifier}`);
    return this.context.userIdentifier;
  }

  @HubMethod("Restart")
  @Authorize("admin")
  restart(): string {
    guardedLog.calls.push(`restart ${this.context.userIdentifier}`);
    return "restarted";
  }
}

/** A test token: `<user>.<role>[.<expires at, ms>]` (no signature: these tests are about what happens after authentication). */
export function token(user: string, options: { role?: string; expiresAt?: number } = {}): string {
  return [user, options.role ?? "user", ...(options.expiresAt === undefined ? [] : [options.expiresAt])].join(".");
}

/**
 * Admin tokens for `root` made as a client asks for them, each valid `lifetimeMs` from then:
 * `made` counts them and keeps the last one's expiry.
 */
export function freshAdminTokens(lifetimeMs: number): { made: { count: number; lastExpiresAt: number }; next: () => string } {
  const made = { count: 0, lastExpiresAt: 0 };
  const next = () => {
    made.lastExpiresAt = Date.now() + lifetimeMs;
    made.count++;
    return token("root", { role: "admin", expiresAt: made.lastExpiresAt });
  };
  return { made, next };
}

/**
 * A token factory that serves its cached token and, once that has ended, renews it in the
 * background (as a page's may after a sleep): the first request after the end carries the ended
 * token. Each token of `user` lasts `lifetimeMs`; `cached.expiresAt` is the current one's end.
 */
export function renewingTokens(user: string, lifetimeMs: number): { cached: { token: string; expiresAt: number }; factory: () => string } {
  const cached = { token: "", expiresAt: 0 };
  const renew = () => {
    cached.expiresAt = Date.now() + lifetimeMs;
    cached.token = token(user, { expiresAt: cached.expiresAt });
  };
  renew();
  const factory = () => {
    const served = cached.token;
    if (cached.expiresAt <= Date.now()) void Promise.resolve().then(renew);
    return served;
  };
  return { cached, factory };
}

/** Reads a test token; anything else is anonymous. */
export function authenticateTestToken(_request: unknown, bearer: string | undefined): unknown {
  const [sub, role, expiresAt] = (bearer ?? "").split(".");
  if (!sub || !role) return null;
  const user = { sub, role };
  return expiresAt === undefined ? user : authenticated(user, { expiresAt: Number(expiresAt) });
}

export const adminPolicy = { admin: (user: unknown) => (user as { role?: string }).role === "admin" };

/** An acceptAuthenticationRefresh by which no refresh makes a user an admin: roles only ever shrink while connected. */
export const noPromotion = ({ previousUser, user }: AuthenticationRefresh): boolean =>
  (user as { role?: string }).role !== "admin" || (previousUser as { role?: string }).role === "admin";

/** GuardedHub at `/guarded`, authenticated by test tokens. */
export async function startGuardedServer(
  serverOptions: HubServerOptions = {},
  hubOptions: HubOptions = {},
): Promise<{ server: HubServer; url: string }> {
  // A short close timeout: a long-polling client a test abandons is not waited for long.
  const server = new HubServer({ logger: silentLogger, policies: adminPolicy, closeTimeout: 200, ...serverOptions });
  server.mapHub("/guarded", GuardedHub, { authenticate: authenticateTestToken, ...hubOptions });
  mapCanaryHub(server);
  const { url } = await server.listen();
  return { server, url: `${url}/guarded` };
}

/** A hub that admits anyone, signed in or not: its user only decides what Whoami answers. */
@HubClass()
export class OpenHub extends Hub<{ notice(text: string): void }> {
  @HubMethod("Whoami")
  whoami(): string | null {
    return this.context.userIdentifier ?? null;
  }

  /** Sends its caller `notice(text)` after `ms` (10 s at most), when the client may have nothing under way. */
  @HubMethod("NoticeAfter")
  noticeAfter(ms: number, text: string): void {
    const { caller } = this.clients;
    setTimeout(() => void Promise.resolve(caller.notice(text)).catch(() => {}), Math.min(ms, 10_000)).unref();
  }
}

/** OpenHub at `/open`, authenticated by test tokens (an ended one is no user). */
export async function startOpenServer(hubOptions: HubOptions = {}): Promise<{ server: HubServer; url: string }> {
  const server = new HubServer({ logger: silentLogger, closeTimeout: 200 });
  server.mapHub("/open", OpenHub, { authenticate: authenticateTestToken, ...hubOptions });
  const { url } = await server.listen();
  return { server, url: `${url}/open` };
}

export const bearer = (value: string): Record<string, string> => ({ Authorization: `Bearer ${value}` });

/** A HubMultiplexer of `url` over WebSockets, without reconnect, whose tokens are alice's, with the role `role()` names, for a minute. */
export function aliceMultiplexer(url: string, role: () => string): HubMultiplexer {
  return new HubMultiplexer(url, {
    transports: ["WebSockets"],
    reconnect: false,
    logger: silentLogger,
    accessTokenFactory: () => token("alice", { role: role(), expiresAt: Date.now() + 60_000 }),
  });
}

/** Negotiates as `user` (a token, or none) and returns the connection token. */
export async function negotiateAs(hubUrl: string, user?: string): Promise<string> {
  const reply = await send(`${hubUrl}/negotiate?negotiateVersion=1`, "POST", { headers: user ? bearer(user) : {} });
  if (reply.status !== 200) throw new Error(`negotiate answered ${reply.status}`);
  return (JSON.parse(reply.text) as { connectionToken: string }).connectionToken;
}

/** A request's status and body text. */
export async function outcome(reply: Promise<Reply>): Promise<[number, string]> {
  const { status, text } = await reply;
  return [status, text];
}

/** The status a WebSocket upgrade is answered with (101 when it opens), and the body of a refusal. */
export function upgradeOutcome(url: string, headers: Record<string, string> = {}): Promise<[number, string]> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url.replace(/^http/, "ws"), { headers });
    socket.on("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve([res.statusCode ?? 0, body]));
    });
    socket.on("open", () => {
      resolve([101, ""]);
      socket.terminate();
    });
    socket.on("error", () => {});
  });
}
