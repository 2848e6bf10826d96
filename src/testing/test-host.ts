import "reflect-metadata";
import { HubConnection } from "../../client/hub-connection.js";
import { silentLogger, type Logger as ClientLogger } from "../../client/logger.js";
import type { ConnectionSession } from "../dispatch/connection-session.js";
import type { HubContext } from "../dispatch/hub-context.js";
import type { HubOptions } from "../dispatch/hub-options.js";
import { HubwireError } from "../errors.js";
import type { HttpServerLimits } from "../http-server-limits.js";
import type { ClientOf, Hub } from "../hubs/hub.js";
import type { HubClassType } from "../hubs/hub-descriptor.js";
import type { HubRequest } from "../hubs/hub-context-types.js";
import { jsonHubProtocol } from "../protocol/json-protocol.js";
import { messagePackHubProtocol } from "../protocol/messagepack-protocol.js";
import { HubServer, type HubServerOptions } from "../server.js";
import { InMemoryLink } from "./in-memory-link.js";
import { hubCalls, inProcessRequest, refreshInProcess, startInProcess } from "./in-process-connection.js";
import { ReceivedMessages } from "./received-messages.js";
import { TestClient, type TestHubCalls, type TestHubSends } from "./test-client.js";

/** A `HubServer`'s options, less those of an HTTP server: a test host has none. */
export type TestHostOptions = Omit<HubServerOptions, keyof HttpServerLimits | "closeTimeout">;

/** Who connects, and how. */
export interface ConnectOptions {
  /**
   * The user to connect as: what the hub's `authenticate` would return for them (any object,
   * such as JWT claims; `authenticated(user, { expiresAt })`; or `null` for anonymous). The user
   * id, hub-level `@Authorize` and its policies then apply as for that user on the network.
   * Without it, the hub's `authenticate` runs with `token`, `headers` and `query`, as it does
   * for a client on the network.
   */
  user?: unknown;
  /** A bearer token, for the hub's `authenticate` (and in the request's `Authorization` header). */
  token?: string;
  /** Headers of the connecting request (`this.context.request`). */
  headers?: Record<string, string>;
  /** Query parameters of the connecting request. */
  query?: Record<string, string>;
  /** The hub protocol the client speaks. Default `"json"`. */
  protocol?: "json" | "messagepack";
  /** What errors about this client call it (`"alice"`). Default `client 1`, `client 2`, ... */
  name?: string;
  /** The logger of hubwire's client under the test client. Default: silent. */
  logger?: ClientLogger;
}

/** Whom a test client's authentication refresh is for: a `user`, or a `token` the hub's `authenticate` reads (see ConnectOptions). */
export type RefreshOptions = Pick<ConnectOptions, "user" | "token">;

/** The users tests connect as, by their connecting request: the host's `authenticate` reads them. */
const givenUsers = new WeakMap<HubRequest, unknown>();

/**
 * Runs hubs in process, for tests: no sockets, no ports. Hubs are mapped as on a `HubServer`
 * (options, typedi services, filters, policies), and test clients connect as given users over an
 * in-memory transport that hands its frames to the same hub stack a server runs: handshake,
 * dispatcher, filters, `@Authorize`, lifetime manager (groups, users) and client results are the
 * real ones, and so is the client (hubwire's own). Only the sockets are missing.
 *
 * @example
 * const host = new TestHost();
 * host.mapHub("/chat", ChatHub);
 * const alice = await host.connect(ChatHub, { user: { sub: "alice" } });
 * const bob = await host.connect(ChatHub, { user: { sub: "bob" } });
 * await bob.hub.join("lobby");
 * await alice.hub.send("lobby", "hi");
 * expect(await bob.next("message")).toEqual(["alice", "hi"]);
 * await host.close();
 */
export class TestHost {
  private readonly server: HubServer;
  private readonly paths = new Map<HubClassType, string>();
  private readonly clients = new Set<TestClient<any>>();
  private connected = 0;
  private closed = false;

  constructor(private readonly options: TestHostOptions = {}) {
    this.server = new HubServer(options);
  }

  /**
   * Maps `hubClass` at `path`, as `HubServer.mapHub` does (and fails as it does, for a badly
   * declared hub or an invalid option). Returns the hub's context, for sends from outside the hub.
   *
   * @example
   * const chat = host.mapHub("/chat", ChatHub, { filters: [auditFilter], enableDetailedErrors: true });
   * await chat.clients.all.message("server", "tick");
   */
  mapHub<THub extends Hub<any>>(path: string, hubClass: HubClassType<THub>, options: HubOptions = {}): HubContext<ClientOf<THub>> {
    const appAuthenticate = options.authenticate ?? this.options.authenticate;
    const context = this.server.mapHub(path, hubClass, {
      ...options,
      // A client connected with `user` is that user; any other is authenticated by the app's own hook.
      authenticate: (request, token) => {
        if (givenUsers.has(request)) return givenUsers.get(request);
        return appAuthenticate ? appAuthenticate(request, token) : null;
      },
    });
    if (!this.paths.has(hubClass)) this.paths.set(hubClass, path);
    return context;
  }

  /**
   * The clients and groups of a mapped hub, for code outside hub methods (as `HubServer.hubContext`).
   *
   * @example
   * await host.hubContext(ChatHub).clients.user("bob").message("system", "welcome");
   */
  hubContext<THub extends Hub<any>>(hubClass: HubClassType<THub>): HubContext<ClientOf<THub>> {
    return this.server.hubContext(hubClass);
  }

  /**
   * Connects a test client to a hub (its class, or the path it is mapped at) and completes the
   * handshake; the hub's `onConnected` has begun when this resolves, and the client's calls wait
   * for it, as on the network. Rejects as hubwire's client does when the hub refuses the user
   * (`ERR_UNAUTHORIZED`, with `statusCode` 401 or 403) or the handshake (`ERR_HANDSHAKE`).
   *
   * @example
   * const admin = await host.connect(AdminHub, { user: { sub: "ann", roles: ["admin"] } });
   * const guest = host.connect(AdminHub, { user: null });   // rejects: statusCode 401
   * const viaToken = await host.connect<ChatHub>("/chat", { token: "secret-of-bob" });
   */
  async connect<THub extends Hub<any>>(hub: HubClassType<THub> | string, options: ConnectOptions = {}): Promise<TestClient<THub>> {
    if (this.closed) throw new HubwireError("ERR_SERVER_CLOSED", "The test host is closed.");
    const path = typeof hub === "string" ? hub : this.paths.get(hub);
    const runtime = path === undefined ? undefined : this.server.hubRuntimeAt(path);
    if (!runtime || path === undefined) {
      const what = typeof hub === "string" ? `No hub is mapped at '${hub}'` : `${hub.name} is not mapped on this test host`;
      throw new HubwireError("ERR_HUB_NOT_MAPPED", `${what}.`);
    }
    const requestOf = (given: ConnectOptions) => {
      const request = inProcessRequest(path, given);
      if ("user" in given) givenUsers.set(request, given.user);
      return request;
    };
    const request = requestOf(options);
    const protocol = options.protocol === "messagepack" ? messagePackHubProtocol : jsonHubProtocol;
    const messages = new ReceivedMessages(protocol, options.name ?? `client ${++this.connected}`);
    // The first transport the hub offers is the one its connections see by name (`context.transport`).
    let session: ConnectionSession | undefined;
    const link = new InMemoryLink(runtime.options.transports[0]!, async (l) => {
      // A host closing meanwhile has already closed the connections it had: take no more.
      if (this.closed) throw new HubwireError("ERR_SERVER_CLOSED", "The test host is closed.");
      session = await startInProcess(runtime, request, l);
    });
    const connection = new HubConnection(path, {
      protocol,
      reconnect: false,
      logger: options.logger ?? silentLogger,
      transportFactory: (events) => link.clientEnd(messages.tap(events)),
    });
    const heard = new Promise<Error | undefined>((resolve) => connection.onClose(resolve));
    await connection.start();
    // Over once both sides are: the client has heard the end, and the hub has run onDisconnected
    // and forgotten the connection (its groups included), so a test can look at either after it.
    const closed = Promise.all([heard, session?.finished]).then(([error]) => error);
    const calls = hubCalls(runtime.descriptor, connection) as { hub: TestHubCalls<THub>; send: TestHubSends<THub> };
    const refresh = (given: RefreshOptions) => refreshInProcess(runtime, link.connection!, requestOf({ headers: options.headers, query: options.query, ...given }));
    const client = new TestClient<THub>(connection, calls, link.connection!.connectionId, messages, closed, refresh);
    this.clients.add(client);
    void closed.then(() => this.clients.delete(client));
    return client;
  }

  /**
   * Stops every test client connected so far, each as `TestClient.stop` does, so that one host
   * can serve a whole test file with nothing carried from one test to the next (groups belong to
   * connections, so they go too).
   *
   * @example
   * afterEach(() => host.disconnectAll());
   */
  async disconnectAll(): Promise<void> {
    await Promise.all([...this.clients].map((client) => client.stop()));
  }

  /**
   * Closes every connection as a server that shuts down does (each hub's onDisconnected runs),
   * and waits until every test client has heard it. A closed host connects no one.
   *
   * @example
   * afterAll(() => host.close());
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const clients = [...this.clients];
    await this.server.close();
    await Promise.all(clients.map((client) => client.closed));
  }
}
