import type { HubConnection } from "../../client/hub-connection.js";
import type { CallOptions } from "../../client/call-options.js";
import type { HubStream } from "../../client/hub-stream.js";
import type { HubMethods } from "../../client/proxy.js";
import type { ClientOf, Hub } from "../hubs/hub.js";
import type { NextOptions, ReceivedMessage, ReceivedMessages } from "./received-messages.js";
import type { RefreshOptions } from "./test-host.js";

type ArgsOf<F> = F extends (...args: infer A) => unknown ? A : unknown[];
type ResultOf<F> = F extends (...args: never[]) => infer R ? R : unknown;

/**
 * A hub's methods as a test calls them: a streaming method returns a `HubStream`, any other a
 * promise of its result. Unlike hubwire's client proxy, no name is kept back (`send` included).
 */
export type TestHubCalls<THub> = { [K in Exclude<keyof HubMethods<THub>, "then">]: TestCall<HubMethods<THub>[K]> };

type WithOptions<A extends unknown[]> = [...A] | [...A, CallOptions];

/** As the client proxy's `ProxyMethod`, and a method that only throws (returns `never`) is still a call. */
type TestCall<F> = F extends (...args: infer A) => infer R
  ? [R] extends [never]
    ? (...args: WithOptions<A>) => Promise<never>
    : R extends AsyncIterable<infer T>
      ? (...args: WithOptions<A>) => HubStream<T>
      : (...args: WithOptions<A>) => Promise<Awaited<R>>
  : never;

/** A hub's methods sent without waiting for them: resolved once the call has gone, with no result or error. */
export type TestHubSends<THub> = {
  [K in Exclude<keyof HubMethods<THub>, "then">]: HubMethods<THub>[K] extends (...args: infer A) => unknown ? (...args: A) => Promise<void> : never;
};

/** What answers a client function in a test: its return value is the client result the hub awaits. */
export type ClientAnswer<F> = (...args: ArgsOf<F>) => Awaited<ResultOf<F>> | Promise<Awaited<ResultOf<F>>>;

/**
 * One client of a `TestHost`, connected in process as the user it was given. It is hubwire's own
 * client (`hubwire/client`) over an in-memory transport, so calls, results, errors and streams
 * are exactly what a client on the network gets.
 *
 * @example
 * const alice = await host.connect(ChatHub, { user: { sub: "alice" } });
 * await alice.hub.join("lobby");                       // typed by ChatHub's methods
 * await alice.hub.send("lobby", "hi");
 * expect(await alice.next("message")).toEqual(["alice", "hi"]);   // typed by ChatClient
 */
export class TestClient<THub extends Hub<any>> {
  /**
   * Typed calls of the hub's methods, by their property names: `hub.name(…)` awaits the result
   * (or throws the `HubError` the hub's failure became), a streaming method returns a `HubStream`
   * to iterate, an `AsyncIterable` argument is uploaded as a stream, and a trailing
   * `withSignal(signal)` cancels.
   */
  readonly hub: TestHubCalls<THub>;
  /** The same methods, fired and forgotten (the wire's `send`): resolved once the call has gone. */
  readonly send: TestHubSends<THub>;

  constructor(
    /** hubwire's client under this test client, for calls by wire name (`connection.invoke("Send", …)`). */
    readonly connection: HubConnection,
    calls: { hub: TestHubCalls<THub>; send: TestHubSends<THub> },
    /** The connection id the hub sees (`this.context.connectionId`). */
    readonly connectionId: string,
    private readonly messages: ReceivedMessages,
    /**
     * Settles when the connection has ended and the hub has run its onDisconnected: with the
     * error the client was given (the hub or the host closed it with an error), or undefined for
     * a clean end.
     */
    readonly closed: Promise<Error | undefined>,
    private readonly refresh: (options: RefreshOptions) => Promise<void>,
  ) {
    this.hub = calls.hub;
    this.send = calls.send;
  }

  /**
   * Every call of a client function this client received, in order, whether or not it has an
   * answer for it (client results included).
   *
   * @example
   * expect(bob.received).toEqual([{ method: "message", args: ["alice", "hi"] }]);
   */
  get received(): ReadonlyArray<ReceivedMessage<ClientOf<THub>>> {
    return this.messages.all as unknown as ReadonlyArray<ReceivedMessage<ClientOf<THub>>>;
  }

  /**
   * The arguments of the next `method` call this client receives. Each message is returned once,
   * in order, and one that came before `next` was called counts: awaiting after the call that
   * caused it never misses it. Rejects with `ERR_NOT_RECEIVED` when the connection closes first,
   * or when `timeoutMs` passes.
   *
   * @example
   * await alice.hub.send("lobby", "hi");
   * const [from, text] = await bob.next("message");
   */
  next<K extends keyof ClientOf<THub> & string>(method: K, options?: NextOptions): Promise<ArgsOf<ClientOf<THub>[K]>> {
    return this.messages.next(method, options) as Promise<ArgsOf<ClientOf<THub>[K]>>;
  }

  /**
   * Answers the hub's calls of `method` on this client: a client result (`clients.client(id).invoke`
   * or `clients.caller.invoke`) resolves with what `answer` returns, and fails with what it
   * throws. Returns a function that removes the answer.
   *
   * @example
   * alice.answer("confirm", (question) => question.startsWith("Delete"));
   */
  answer<K extends keyof ClientOf<THub> & string>(method: K, answer: ClientAnswer<ClientOf<THub>[K]>): () => void {
    return this.connection.on(method, answer as (...args: unknown[]) => unknown);
  }

  /**
   * Refreshes the connection's authentication, as SignalR 11's authentication refresh does on the
   * network: as `user` (or with `token`, for the hub's `authenticate`), who must be the
   * connection's user. Resolves once the hub's onAuthenticationRefreshed has run; rejects with
   * `ERR_UNAUTHORIZED` when the hub refuses the user or it is another one.
   *
   * @example
   * await ann.refreshAuthentication({ user: { sub: "ann", roles: [] } });   // no longer an admin
   * await expect(ann.hub.restart()).rejects.toThrow();
   */
  refreshAuthentication(options: RefreshOptions): Promise<void> {
    return this.refresh(options);
  }

  /**
   * Ends the connection as a client that stops would, and resolves once the hub's onDisconnected
   * (which gets no error) has run.
   *
   * @example
   * await alice.stop();
   * expect(presence.online()).not.toContain("alice");
   */
  async stop(): Promise<void> {
    await this.connection.stop();
    await this.closed;
  }
}
