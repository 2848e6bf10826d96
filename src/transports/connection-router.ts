import { Buffer } from "node:buffer";
import { createHash, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { HubwireError } from "../errors.js";
import type { ConnectionRequest } from "./connection-request.js";
import { BodyParts } from "./body-parts.js";
import type { ForwardedBody } from "./forwarded-body.js";
import { ForwardedParts } from "./forwarded-parts.js";
import { ForwardedReply } from "./forwarded-reply.js";
import { replyText } from "./http-replies.js";
import type { BodyResult } from "./request-body.js";
import {
  decodeRoutedMessage,
  encodeRoutedMessage,
  textReply,
  type RoutedAnswer,
  type RoutedMessage,
  type RoutedMethod,
  type RoutedPart,
  type RoutedRequest,
} from "./routed-messages.js";
import type { ClientSide, ForwardAnswer, ForwardedRequest, ForwardEnd, ForwardOutcome, RouterOptions } from "./connection-router-types.js";
import { holderDied, MovingConnections } from "./moving-connections.js";
import { transportLog } from "./transport-log.js";
import type { TransportConnection } from "./transport-connection.js";

interface Waiter {
  settle(outcome: ForwardOutcome): void;
  /** "unknown" answers heard: the connection is unknown once every receiver has said so. */
  unknowns: number;
  receivers: number | undefined;
}

/**
 * Lets any server of a cluster serve any request of any connection (no sticky sessions). A
 * server subscribes a route channel for each connection it negotiated or runs. A request for a
 * connection this server does not hold is published on that channel; the holder either serves it
 * and sends back the response (polls, sends, deletes), or, when the request starts the
 * connection's transport (the first poll, the SSE stream, the WebSocket), hands the connection
 * over, and this server runs it from then on. Requests that reach the holder cost nothing more.
 */
export class ConnectionRouter {
  private readonly serverId: string;
  private readonly prefix: string;
  private readonly waiting = new Map<number, Waiter>();
  /** Forwarded requests this server is serving, by asking server and id, until answered or abandoned. */
  private readonly serving = new Map<string, ForwardedReply>();
  /** Forwarded POSTs whose bodies come in parts. */
  private readonly parts: ForwardedParts;
  /** Route channels this server subscribed, one per connection it holds. */
  private readonly held = new Set<string>();
  private readonly ready: Promise<void>;
  private nextId = 0;
  /** Bytes of forwarded POST bodies held now (see RouterOptions.maxForwardedBytes). */
  private forwardedBytes = 0;
  /** Moves suspended stateful connections to and from this server (only when the endpoint can move them). */
  private readonly moving: MovingConnections | undefined;

  constructor(private readonly options: RouterOptions) {
    this.serverId = options.serverId ?? randomUUID();
    this.prefix = `route:${options.path}:`;
    this.ready = this.subscribe(this.prefix + "server:" + this.serverId, (message) => this.onAnswer(message));
    this.parts = new ForwardedParts(this.serving, (server, answer) => this.answer(server, answer), options.timeoutMs);
    const { moves } = options;
    this.moving = moves && new MovingConnections(moves, {
      serverId: this.serverId,
      path: options.path,
      registry: options.registry,
      timeoutMs: options.timeoutMs,
      log: options.log,
      hold: (connection) => this.hold(connection),
      answer: (server, answer) => this.answer(server, answer),
      askServer: (server, build, client) => this.ask(this.prefix + "server:" + server, build, client),
    });
    const moving = this.moving;
    if (moving) moves?.attach?.({ revive: (id, token, identity, rebuild) => moving.revive(id, token, identity, rebuild) });
  }

  /**
   * Makes a connection findable from every server: resolves once its route channel is subscribed,
   * so a request for it that reaches another server right after negotiate finds it.
   */
  async hold(connection: TransportConnection): Promise<void> {
    const channel = this.routeChannel(connection.connectionToken);
    this.held.add(channel);
    await this.subscribe(channel, (message) => this.onRouted(connection, message));
  }

  /** The connection is no longer this server's (ended, or moved to another server). */
  release(connection: TransportConnection): void {
    const channel = this.routeChannel(connection.connectionToken);
    if (!this.held.delete(channel)) return;
    this.options.channels.unsubscribe(channel).catch((error: unknown) => {
      this.options.log.write(transportLog.routeUnsubscribeFailed, { path: this.options.path, error });
    });
  }

  /** Requests other servers forwarded that this server is serving now (answered or abandoned ones are let go). */
  get servingForOthers(): number {
    return this.serving.size;
  }

  /** The server is closing: requests waiting on other servers are answered 503 now, not at their timeout. */
  close(): void {
    for (const waiter of [...this.waiting.values()]) waiter.settle({ kind: "failed", status: 503, reason: "The server is shutting down.", code: "ERR_SERVER_CLOSED" });
  }

  /**
   * A request for a connection this server does not hold. The server that holds it serves it and
   * its response is written to `res`; or, for a request that starts the connection's transport
   * (a first poll, an SSE stream), the connection moves here and is returned, to be served here.
   */
  async serveElsewhere(
    res: ServerResponse,
    request: ConnectionRequest,
    token: string,
    method: Exclude<RoutedMethod, "UPGRADE">,
    body?: BodyResult,
  ): Promise<TransportConnection | undefined> {
    const startedAt = performance.now();
    const outcome = await this.forward(token, forwarded(request, method, body), res);
    const concluded = await this.conclude(token, outcome, httpAnswer(res), method, startedAt);
    if (concluded !== holderDied) return concluded;
    replyText(res, 503, "The connection's server died while it moved here.");
    return undefined;
  }

  /**
   * A POST for a connection this server does not hold. Its body is read here, up to `limit` bytes
   * (as a local one is read whole), and forwarded; a larger one goes in parts of that size, each
   * read once the holder has taken the one before (see ForwardedBody). The client is answered
   * once the connection's server has taken it all (backpressure holds as for a local send). Past
   * `maxForwardedBytes` of such bodies held at once, a POST is refused with 503 before its body
   * is read.
   */
  async sendElsewhere(req: IncomingMessage, res: ServerResponse, request: ConnectionRequest, token: string, limit: number): Promise<void> {
    const declared = Number(req.headers["content-length"]);
    const reserved = Number.isInteger(declared) && declared >= 0 ? Math.min(declared, limit) : limit;
    if (this.forwardedBytes + reserved > this.options.maxForwardedBytes) {
      this.options.forwarded?.("POST", "failed", performance.now(), "ERR_TOO_MANY_FORWARDS");
      return this.refuseBusy(res, `${this.options.maxForwardedBytes} bytes of sends are already waiting for their connection's server.`);
    }
    this.forwardedBytes += reserved;
    try {
      const parts = new BodyParts(req, limit);
      const first = await parts.next();
      if (!first) return;
      if (!first.last) return await this.sendInParts(res, request, token, first.bytes, parts);
      // Only a transport's first request moves a connection, never a send; a holder that says otherwise is not believed.
      const moved = await this.serveElsewhere(res, request, token, "POST", { body: first.bytes });
      if (moved) replyText(res, 404, "No Connection with that ID");
    } finally {
      this.forwardedBytes -= reserved;
    }
  }

  /** A POST's body, larger than a whole read, forwarded part after part (see sendElsewhere). */
  private async sendInParts(res: ServerResponse, request: ConnectionRequest, token: string, first: Buffer, parts: BodyParts): Promise<void> {
    const startedAt = performance.now();
    const channel = this.routeChannel(token);
    let of = 0;
    // `tooLarge` too: a holder older than parts refuses the POST as it did any past the limit.
    const opening = { ...forwarded(request, "POST", { body: first }), more: true, tooLarge: true } as const;
    let outcome = await this.ask(channel, (id) => ({ kind: "request", from: this.serverId, id: (of = id), ...opening }), res);
    let last = false;
    while (outcome.kind === "taken") {
      const part = await parts.next();
      // The client left mid-body: the holder lets go of it.
      if (!part) {
        this.options.forwarded?.("POST", "abandoned", startedAt, undefined);
        return this.publish(channel, { kind: "abandon", from: this.serverId, id: of });
      }
      last = part.last;
      const build = (id: number): RoutedPart => ({ kind: "part", from: this.serverId, id, of, body: part.bytes, ...(part.last ? { last: true } : {}) });
      outcome = await this.ask(channel, build, res, of);
    }
    // Not answered in time, or not forwarded: the holder, if it has the body, lets go of it.
    if (outcome.kind === "failed") this.publish(channel, { kind: "abandon", from: this.serverId, id: of });
    // Answered before its end: the rest of the body is not read, and the client's connection ends.
    await this.conclude(token, outcome, httpAnswer(res, last ? {} : { Connection: "close" }), "POST", startedAt);
  }

  /**
   * A WebSocket upgrade for a connection this server does not hold: the connection moves here if
   * it has no transport yet. Anything else is answered through `refuse` (see the endpoint's
   * refuseUpgrade).
   */
  async upgradeElsewhere(
    socket: Duplex,
    request: ConnectionRequest,
    token: string,
    refuse: (status: number, reason: string) => void,
  ): Promise<TransportConnection | undefined> {
    const upgrade = forwarded(request, "UPGRADE");
    if (this.moving) upgrade.movesState = true;
    const answer: ForwardAnswer = { reply: (response) => refuse(response.status, Buffer.from(response.body).toString()), refuse };
    for (;;) {
      const startedAt = performance.now();
      let outcome = await this.forward(token, upgrade, socket);
      // Its server may have died, and its standby not have taken it over yet (presence takes a few seconds).
      const deadline = Date.now() + (this.options.recoveryWaitMs ?? 0);
      const standbyDeadline = Date.now() + (this.options.standbyWaitMs ?? 0);
      const waits = () => Date.now() < deadline || (Date.now() < standbyDeadline && (this.options.moves?.awaitsHolder?.(token) ?? false));
      while (outcome.kind === "unknown" && !socket.destroyed && waits()) {
        await new Promise((resolve) => setTimeout(resolve, recoveryRetryMs));
        const here = this.options.registry.get(token);
        if (here) return here;
        outcome = await this.forward(token, upgrade, socket);
      }
      const concluded = await this.conclude(token, outcome, answer, "GET", startedAt);
      if (concluded !== holderDied) return concluded;
      // Its server died while it moved here: its standby is taking it over, so it is asked for again.
      if (socket.destroyed) return undefined;
    }
  }

  /**
   * Ends a forward, over HTTP or a WebSocket upgrade alike: a moved connection is taken here and
   * returned; anything else is told to the client through `answer`. The end is told to
   * `options.forwarded` (the metrics).
   */
  private async conclude(
    token: string,
    outcome: ForwardOutcome,
    answer: ForwardAnswer,
    method: "GET" | "POST" | "DELETE",
    startedAt: number,
  ): Promise<TransportConnection | undefined | typeof holderDied> {
    const concluded = await this.answerOutcome(token, outcome, answer);
    const { forwarded: tell } = this.options;
    if (!tell) return concluded;
    if (outcome.kind === "failed") tell(method, "failed", startedAt, outcome.code);
    else if (concluded === holderDied) tell(method, "failed", startedAt, "ERR_SERVER_GONE");
    else if (outcome.kind === "moving" && !concluded) tell(method, "failed", startedAt, "ERR_CONNECTION_MOVE_FAILED");
    else tell(method, forwardEnds[outcome.kind], startedAt, undefined);
    return concluded;
  }

  private async answerOutcome(token: string, outcome: ForwardOutcome, answer: ForwardAnswer): Promise<TransportConnection | undefined | typeof holderDied> {
    switch (outcome.kind) {
      case "moved":
        return this.takeMoved(token, outcome);
      case "moving":
        return this.moving ? this.moving.arrive(token, outcome, answer) : void answer.refuse(409, "The connection cannot move to this server.");
      case "reply":
        answer.reply(outcome.response);
        return undefined;
      case "unknown":
        answer.refuse(404, "No Connection with that ID");
        return undefined;
      case "failed":
        answer.refuse(outcome.status, outcome.reason);
        return undefined;
      case "gone":
        return undefined;
      case "taken":
        // Only a part of a body is answered so (see sendInParts): from a holder that serves it whole, never.
        answer.refuse(502, "The connection's server answered out of turn.");
        return undefined;
    }
  }

  /** A connection negotiated on another server, whose transport starts here: this server holds it from now on. */
  private async takeMoved(token: string, moved: Extract<ForwardOutcome, { kind: "moved" }>): Promise<TransportConnection> {
    const { registry } = this.options;
    const racing = registry.get(token); // a second request of the same client, moved here meanwhile
    if (racing) return racing;
    const connection = registry.take(moved.connectionId, token);
    connection.identity = moved.identity;
    connection.statefulReconnect = moved.statefulReconnect;
    await this.hold(connection);
    return connection;
  }

  /**
   * Sends a request of connection `token` to the server that holds it and waits for the outcome.
   * Never rejects. `client` is the request's response or socket: if it closes first, the holder
   * is told to let go of the request.
   */
  private forward(token: string, request: ForwardedRequest, client: ClientSide): Promise<ForwardOutcome> {
    return this.ask(this.routeChannel(token), (id) => ({ kind: "request", from: this.serverId, id, ...request }), client);
  }

  /**
   * Publishes the message `build` makes for a fresh id on `channel`, and waits for its answer as
   * `forward` does. A client that leaves is told to the holder as the abandon of request
   * `abandons` (a part's POST), or of this one.
   */
  private async ask(channel: string, build: (id: number) => RoutedMessage, client: ClientSide, abandons?: number): Promise<ForwardOutcome> {
    const { maxForwards, timeoutMs, path } = this.options;
    if (this.waiting.size >= maxForwards) {
      const error = new HubwireError("ERR_TOO_MANY_FORWARDS", `${maxForwards} forwarded requests are already waiting for an answer.`);
      this.options.log.write(transportLog.forwardFailed, { path, error });
      return { kind: "failed", status: 503, reason: busy, code: error.code };
    }
    await this.ready;
    const id = this.nextId++;
    return new Promise<ForwardOutcome>((resolve) => {
      let settled = false;
      const timer = setTimeout(() => {
        const error = new HubwireError("ERR_FORWARD_TIMEOUT", `The connection's server did not answer within ${timeoutMs} ms.`);
        this.options.log.write(transportLog.forwardFailed, { path, error });
        settle({ kind: "failed", status: 504, reason: "The connection's server did not answer in time.", code: error.code });
      }, timeoutMs);
      const settle = (outcome: ForwardOutcome) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.waiting.delete(id);
        // A WebSocket that moved here lives on: it must not keep this request's closures.
        client.off("close", onClientClose);
        resolve(outcome);
      };
      const onClientClose = () => {
        if (settled) return;
        settle({ kind: "gone" });
        this.publish(channel, { kind: "abandon", from: this.serverId, id: abandons ?? id });
      };
      const waiter: Waiter = { settle, unknowns: 0, receivers: undefined };
      this.waiting.set(id, waiter);
      client.once("close", onClientClose);
      this.options.channels.publish(channel, encodeRoutedMessage(build(id))).then(
        (receivers) => {
          waiter.receivers = receivers;
          if (waiter.unknowns >= receivers) settle({ kind: "unknown" });
        },
        (cause: unknown) => {
          const error = new HubwireError("ERR_BACKPLANE_UNAVAILABLE", `The request could not be forwarded: ${(cause as Error).message}`);
          this.options.log.write(transportLog.forwardFailed, { path, error });
          settle({ kind: "failed", status: 503, reason: "The connection's server cannot be reached.", code: error.code });
        },
      );
    });
  }

  private refuseBusy(res: ServerResponse, message: string): void {
    this.options.log.write(transportLog.forwardFailed, { path: this.options.path, error: new HubwireError("ERR_TOO_MANY_FORWARDS", message) });
    // The body is left unread: the client's connection to this server ends with the answer.
    replyText(res, 503, busy, { Connection: "close" });
  }

  /** A request forwarded by another server, for a connection this server holds (or held). */
  private onRouted(connection: TransportConnection, message: RoutedMessage): void {
    if (message.kind === "abandon") return this.abandon(`${message.from}:${message.id}`);
    if (message.kind === "part") return this.parts.take(message);
    if (message.kind !== "request") return;
    const { from, id } = message;
    // Moved or ended meanwhile: another server may hold it now, and answers for itself.
    if (this.options.registry.get(connection.connectionToken) !== connection) return this.answer(from, { kind: "unknown", id });
    const starts = message.method === "GET" || message.method === "UPGRADE";
    if (starts && connection.state === "negotiated" && !connection.transport) {
      this.options.registry.forget(connection); // releases its route channel too
      const { connectionId, identity, statefulReconnect } = connection;
      return this.answer(from, { kind: "moved", id, connectionId, identity, statefulReconnect });
    }
    if (message.method === "UPGRADE") {
      // This server's own reconnect, waiting for a dead server's connection that was just
      // recovered here (see upgradeElsewhere): it takes the connection from the registry itself.
      if (from === this.serverId) return this.answer(from, { kind: "unknown", id });
      // A stateful connection waiting here for its client moves to the server the client came back through.
      if (message.movesState && this.moving?.offer(connection, from, id)) return;
      // Its transport runs here: it cannot move, and the upgrade is refused as here.
      const { status, reason } = connection.upgradeRefusal;
      return this.answer(from, textReply(id, status, reason));
    }
    if (message.method === "POST" && message.more) {
      const { reply, body } = this.parts.open(message);
      return this.serveRouted(connection, message, reply, body);
    }
    const key = `${from}:${id}`;
    const reply = new ForwardedReply((response) => {
      this.serving.delete(key);
      this.answer(from, { kind: "reply", id, ...response });
    });
    this.serving.set(key, reply);
    this.serveRouted(connection, message, reply);
  }

  private serveRouted(connection: TransportConnection, message: RoutedRequest, reply: ForwardedReply, body?: ForwardedBody): void {
    this.options.serve(connection, message, reply, body).catch((error: unknown) => {
      this.options.log.write(transportLog.requestFailed, { path: this.options.path, error });
      if (!reply.headersSent) reply.writeHead(500);
      reply.end();
    });
  }

  /**
   * The client of a request this server serves left the server that forwarded it: the request
   * ends as a dropped one would, and is let go here, as an abandoned reply is never answered.
   */
  private abandon(key: string): void {
    const reply = this.serving.get(key);
    if (!reply) return;
    this.serving.delete(key);
    reply.abandon();
  }

  private onAnswer(message: RoutedMessage): void {
    if (message.kind === "request") return;
    // The server a connection moves to stopped waiting for it: it stays here if not let go yet.
    if (message.kind === "abandon") return this.moving?.givenUp(message.from, message.id);
    if (message.kind === "ready") {
      if (this.moving) void this.moving.leave(message.from, message.moving, message.id);
      else this.answer(message.from, { kind: "unknown", id: message.id });
      return;
    }
    const waiter = this.waiting.get(message.id);
    if (!waiter) return; // answered already, timed out, or its client left
    switch (message.kind) {
      case "reply":
        return waiter.settle({ kind: "reply", response: { status: message.status, headers: message.headers, body: message.body } });
      case "moved": {
        const { connectionId, identity, statefulReconnect, state } = message;
        return waiter.settle({ kind: "moved", connectionId, identity, statefulReconnect, state });
      }
      case "moving": {
        const { id, holder, connectionId, identity, plan } = message;
        return waiter.settle({ kind: "moving", id, holder, connectionId, identity, plan });
      }
      case "taken":
        return waiter.settle({ kind: "taken" });
      case "unknown":
        // Another subscriber (the server the connection moved to) may still answer.
        if (++waiter.unknowns >= (waiter.receivers ?? Number.POSITIVE_INFINITY)) waiter.settle({ kind: "unknown" });
    }
  }

  private answer(server: string, answer: RoutedAnswer): void {
    this.publish(this.prefix + "server:" + server, answer);
  }

  /** Publishes and never rejects: the asking server's wait ends with its timeout. */
  private publish(channel: string, message: RoutedMessage): void {
    this.options.channels.publish(channel, encodeRoutedMessage(message)).catch((error: unknown) => {
      this.options.log.write(transportLog.routePublishFailed, { path: this.options.path, error });
    });
  }

  private async subscribe(channel: string, onMessage: (message: RoutedMessage) => void): Promise<void> {
    try {
      await this.options.channels.subscribe(channel, (payload) => {
        try {
          onMessage(decodeRoutedMessage(payload));
        } catch (error) {
          this.options.log.write(transportLog.malformedRoutedMessage, { path: this.options.path, error });
        }
      });
    } catch (error) {
      // The connection is still served by requests that reach this server.
      this.options.log.write(transportLog.routeSubscribeFailed, { path: this.options.path, error });
    }
  }

  /** A connection's route channel: named after a hash of its token, so channel names never reveal a token. */
  private routeChannel(token: string): string {
    return this.prefix + "connection:" + createHash("sha256").update(token).digest("base64url").slice(0, 32);
  }
}

const busy = "The server is too busy to reach the connection's server.";

/** How a forward's end is written to an HTTP client: the holder's response, or a refusal in text; `headers` added to either. */
function httpAnswer(res: ServerResponse, headers: Record<string, string> = {}): ForwardAnswer {
  return {
    reply: (response) => {
      res.writeHead(response.status, { ...response.headers, ...headers });
      res.end(response.body);
    },
    refuse: (status, reason) => replyText(res, status, reason, headers),
  };
}

/** How each outcome of a forward ends it, for the metrics (a failed one's code is its own). */
const forwardEnds: Record<ForwardOutcome["kind"], ForwardEnd> = {
  reply: "served",
  moved: "moved",
  moving: "moved",
  unknown: "not_found",
  failed: "failed",
  gone: "abandoned",
  taken: "failed",
};

/** How often a reconnect waiting for a recovered connection asks again (see RouterOptions.recoveryWaitMs). */
const recoveryRetryMs = 200;

/** A request of this server's client, as it is sent to the server that holds its connection. */
function forwarded(request: ConnectionRequest, method: RoutedMethod, body?: BodyResult): ForwardedRequest {
  const { url, headers, remoteAddress } = request;
  if (!body) return { method, url, headers, remoteAddress };
  return "body" in body ? { method, url, headers, remoteAddress, body: body.body } : { method, url, headers, remoteAddress, tooLarge: true };
}
