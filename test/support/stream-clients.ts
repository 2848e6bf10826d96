import { HttpTransportType, HubConnectionBuilder, LogLevel, type HubConnection as OfficialConnection } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { HubConnection } from "../../client/index.js";
import { HubMultiplexer } from "../../client/multiplex.js";
import { messagePack } from "../../client/msgpack.js";
import { waitFor } from "./wait.js";

// Clients for tests that count messages across moves, restarts and outages: each records the
// "message" calls it receives (stream, number), connects over WebSockets with stateful reconnect
// and a bearer token that names its user, and counts the times it had to start a new connection.

/**
 * The pause between two rounds of a test's steady sends. A connection that is away, or moving,
 * holds what is sent to it meanwhile in its stateful reconnect buffer, and the server it moves to
 * keeps at most 10,000 sends for it: a sender with no pause fills them when a move is slow (a
 * loaded machine) and the connection then starts anew, as it should, which is not what such a
 * test is about.
 */
export const steadySendPauseMs = 5;

/** The stateful reconnect buffer of a test that moves connections under steady sends: seconds of them at that pace. */
export const steadySendBufferSize = 1_000_000;

/** Every message a client received, by stream, in order. */
export class Received {
  readonly streams = new Map<string, number[]>();

  record = (stream: string, n: number): void => {
    let numbers = this.streams.get(stream);
    if (!numbers) this.streams.set(stream, (numbers = []));
    numbers.push(n);
  };

  last(stream: string): number {
    return this.streams.get(stream)?.at(-1) ?? 0;
  }

  /** The streams whose last message is not yet the last sent (`sent`: stream -> number), with what arrived last. */
  behind(sent: ReadonlyMap<string, number>): string {
    const behind = [...sent].filter(([stream, n]) => this.last(stream) < n);
    return behind.map(([stream, n]) => `${stream}: sent up to ${n}, last ${JSON.stringify(this.streams.get(stream)?.slice(-3) ?? [])}`).join("; ");
  }

  /** Lost, duplicated and out-of-order counts of a stream that should hold exactly 1..`sent`. */
  faults(stream: string, sent: number): { lost: number; duplicated: number; outOfOrder: number } {
    const numbers = this.streams.get(stream) ?? [];
    const distinct = new Set(numbers);
    let outOfOrder = 0;
    for (let i = 1; i < numbers.length; i++) if (numbers[i]! <= numbers[i - 1]!) outOfOrder++;
    let lost = 0;
    for (let n = 1; n <= sent; n++) if (!distinct.has(n)) lost++;
    return { lost, duplicated: numbers.length - distinct.size, outOfOrder };
  }
}

/** A client that records what it receives, over the official client or hubwire's. */
export interface StreamClient {
  name: string;
  user: string;
  received: Received;
  invoke<T>(method: string, ...args: unknown[]): Promise<T>;
  /** Times the client had to start a new connection (its state lost): must stay 0. */
  restarts(): number;
  stop(): Promise<void>;
}

export async function officialClient(url: string, user: string, binary: boolean): Promise<StreamClient> {
  const received = new Received();
  let builder = new HubConnectionBuilder()
    .withUrl(url, { transport: HttpTransportType.WebSockets, accessTokenFactory: () => user })
    .withStatefulReconnect()
    .withAutomaticReconnect([0, 100, 200, 500])
    .configureLogging(LogLevel.None);
  if (binary) builder = builder.withHubProtocol(new MessagePackHubProtocol());
  const connection: OfficialConnection = builder.build();
  let restarts = 0;
  connection.onreconnecting(() => restarts++);
  connection.on("message", received.record);
  await connection.start();
  return {
    name: `official ${binary ? "MessagePack" : "JSON"}`,
    user,
    received,
    invoke: (method, ...args) => connection.invoke(method, ...args),
    restarts: () => restarts,
    stop: () => connection.stop(),
  };
}

export async function hubwireClient(url: string, user: string, binary: boolean): Promise<StreamClient> {
  const received = new Received();
  const connection = new HubConnection(url, {
    transports: ["WebSockets"],
    statefulReconnect: true,
    accessTokenFactory: () => user,
    reconnect: { nextDelay: (attempt) => (attempt > 20 ? null : 100) },
    ...(binary ? { protocol: messagePack } : {}),
  });
  let restarts = 0;
  connection.onReconnecting(() => restarts++);
  connection.on("message", received.record);
  await connection.start();
  return {
    name: `hubwire ${binary ? "MessagePack" : "JSON"}`,
    user,
    received,
    invoke: (method, ...args) => connection.invoke(method, ...args),
    restarts: () => restarts,
    stop: () => connection.stop(),
  };
}

/**
 * hubwire's client with the hub at `url` on a multiplexed connection of its own, at `multiplexer`
 * (a path of the same server), JSON or MessagePack: what moves or is recovered is the physical
 * connection, carrying the hub.
 */
export async function multiplexedClient(url: string, multiplexer: string, user: string, binary: boolean): Promise<StreamClient> {
  const received = new Received();
  const { origin, pathname } = new URL(url);
  const hubs = new HubMultiplexer(`${origin}${multiplexer}`, {
    transports: ["WebSockets"],
    statefulReconnect: true,
    accessTokenFactory: () => user,
    reconnect: { nextDelay: (attempt) => (attempt > 20 ? null : 100) },
    ...(binary ? { protocol: messagePack } : {}),
  });
  const hub = hubs.hub(pathname);
  let restarts = 0;
  hub.onReconnecting(() => restarts++);
  hub.on("message", received.record);
  await hub.start();
  return {
    name: `hubwire multiplexed ${binary ? "MessagePack" : "JSON"}`,
    user,
    received,
    invoke: (method, ...args) => hub.invoke(method, ...args),
    restarts: () => restarts,
    stop: () => hubs.stop(),
  };
}

/** The users of `receiversAndSender`'s clients, in order; the last two only with a multiplexer. */
const receiverUsers = ["ada", "bob", "cy", "dee", "eve", "fay"];

/**
 * Receivers at `url` (the official client and hubwire's, JSON and MessagePack; with
 * `multiplexer`, the path where the server multiplexes, hubwire's multiplexed client too), each
 * in group `group`, and a sender (hubwire's client): what Traffic needs. `clients` gets each as
 * it connects, for the test to stop.
 */
export async function receiversAndSender(
  url: string,
  group: string,
  clients: StreamClient[],
  multiplexer?: string,
): Promise<{ receivers: StreamClient[]; ids: string[]; sender: StreamClient; users: string[] }> {
  const receivers = await Promise.all([
    officialClient(url, receiverUsers[0]!, false),
    officialClient(url, receiverUsers[1]!, true),
    hubwireClient(url, receiverUsers[2]!, false),
    hubwireClient(url, receiverUsers[3]!, true),
    ...(multiplexer ? [multiplexedClient(url, multiplexer, receiverUsers[4]!, false), multiplexedClient(url, multiplexer, receiverUsers[5]!, true)] : []),
  ]);
  clients.push(...receivers);
  const ids = await Promise.all(receivers.map((client) => client.invoke<string>("Id")));
  await Promise.all(receivers.map((client) => client.invoke("Join", group)));
  const sender = await hubwireClient(url, "sender", false);
  clients.push(sender);
  return { receivers, ids, sender, users: receiverUsers.slice(0, receivers.length) };
}

/** The streams a sender's traffic numbers: to all, to one group, and to each receiver. */
export const trafficStreams = ["all", "group", "direct"] as const;

/**
 * Steady traffic from one client, one hub call at a time (ToAll, ToGroup, then ToConnection to
 * each receiver): what it sent is counted once each call has returned.
 */
export class Traffic {
  readonly sent = { all: 0, group: 0, direct: 0 };
  private sending = true;
  private readonly done: Promise<void>;
  /** The sender's call that failed, which ended the traffic: what a wait then fails with. */
  private failure: Error | undefined;

  constructor(
    sender: StreamClient,
    private readonly receivers: readonly StreamClient[],
    receiverIds: readonly string[],
    group: string,
  ) {
    this.done = (async () => {
      for (let n = 1; this.sending; n++) {
        await sender.invoke("ToAll", "all", n);
        this.sent.all = n;
        await sender.invoke("ToGroup", group, "group", n);
        this.sent.group = n;
        await Promise.all(receiverIds.map((id) => sender.invoke("ToConnection", id, "direct", n)));
        this.sent.direct = n;
      }
    })().catch((error: unknown) => {
      this.failure = new Error(`the sender's call failed after ${this.sent.direct} rounds`, { cause: error });
    });
  }

  /** Resolves once ten more rounds have been sent and received by every receiver, within `ms`. */
  async flowing(what: string, ms?: number): Promise<void> {
    const from = this.sent.direct;
    // On a timeout, where it stopped: the sender's last round, and each receiver's.
    const where = () =>
      `traffic ${what} (round ${from + 10} awaited; the sender sent ${this.sent.direct}; ` +
      `${this.receivers.map((client) => `${client.name} has ${client.received.last("direct")}`).join(", ")})`;
    await waitFor(() => this.flowed(from + 10), where, ms);
  }

  /** Stops sending, and resolves once every receiver has all that was sent. */
  async stop(): Promise<void> {
    this.sending = false;
    await this.done;
    if (this.failure) throw this.failure;
    const arrived = () => this.receivers.every((client) => trafficStreams.every((stream) => client.received.last(stream) >= this.sent[stream]));
    await waitFor(arrived, "every message sent to arrive");
  }

  /** Whether round `round` was sent and every receiver has it; throws once the sender has failed. */
  private flowed(round: number): boolean {
    if (this.failure) throw this.failure;
    return this.sent.direct >= round && this.receivers.every((client) => client.received.last("direct") >= round);
  }

  /** Per receiver and stream: what was lost, duplicated and out of order. */
  faults(): Array<{ client: string; stream: string; lost: number; duplicated: number; outOfOrder: number }> {
    return this.receivers.flatMap((client) =>
      trafficStreams.map((stream) => ({ client: client.name, stream, ...client.received.faults(stream, this.sent[stream]) })),
    );
  }
}
