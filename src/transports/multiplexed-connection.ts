import { HubwireError } from "../errors.js";
import {
  readControl,
  readEnvelopes,
  writeControl,
  controlChannel,
  type ControlMessage,
} from "../protocol/multiplex-frames.js";
import { decodeUtf8 } from "../protocol/utf8.js";
import { asError } from "../protocol/thrown-value.js";
import { tokenLifetimeSeconds } from "./authentication-refresh.js";
import { adopt, type Refusal } from "./connection-admission.js";
import { newConnectionId } from "./connection-ids.js";
import { bearerToken, type ConnectionRequest } from "./connection-request.js";
import { EarlyMessages } from "./early-messages.js";
import { HubAdmissions } from "./hub-admissions.js";
import { HubChannel } from "./hub-channel.js";
import { sendEnvelope } from "./envelope-sends.js";
import { multiplexLog } from "./multiplex-log.js";
import type { ChannelEndpoint, MovedMultiplex, MultiplexSettings, SharedEnvelope } from "./multiplex-settings.js";
import type { TransportName } from "./transport.js";
import { TransportConnection, type ConnectionReceiver } from "./transport-connection.js";

/**
 * One physical connection that carries several hubs (docs/multiplexing.md). It reads the
 * envelopes of what its client sends, opens and closes hubs on the client's request, and hands
 * each hub's bytes to that hub's own `TransportConnection`, which the hub stack takes as any
 * other: its own handshake, protocol, id, user, groups and limits.
 */
export class MultiplexedConnection implements ConnectionReceiver {
  private readonly channels = new Map<number, HubChannel>();
  /** Channels only grow: a number at or below it that is not open was closed, and what is late for it is dropped. */
  private highestChannel = 0;
  /** Opens still awaiting their hub's admission, counted against the hub limit. */
  private opening = 0;
  /**
   * What the client sent on a channel whose hub is being opened (its handshake, sent without
   * waiting for `opened`): handed to the hub once it is open.
   */
  private readonly early = new Map<number, EarlyMessages>();
  private readonly binary: boolean;
  /**
   * The hubs that received data in the current read of the network, told when it ends: the
   * first in a field (a read almost always holds one hub's messages), any others in a list made
   * only for them.
   */
  private readHub: HubChannel | undefined = undefined;
  private otherReadHubs: HubChannel[] | undefined = undefined;
  private reading = false;
  private lastReceiveAt: number;
  private lastSendAt: number;
  private failed = false;
  /**
   * Who its hubs are: each hub's admission on the connection's latest request. A connection that
   * moved here has none until its client's socket is back (see reauthenticate).
   */
  private admissions: HubAdmissions | undefined;
  /** Moved here: channels to close on the client's side once its socket is back. */
  private dropped: number[] | undefined;
  /** Rebuilt by crash recovery: its client may have opened hubs after the last checkpoint. */
  private recovered = false;
  /**
   * How often its socket dropped: an open whose admission spans a drop is void, as its client
   * forgot it with the socket and opens the hub anew on the next one.
   */
  private drops = 0;

  constructor(
    readonly physical: TransportConnection,
    private readonly settings: MultiplexSettings,
    /** Its endpoint's handler, whose coarse clock (`now`, moved on by its timer) saves a Date.now() per message. */
    private readonly owner: { readonly now: number; readonly shared: SharedEnvelope; closed(connection: MultiplexedConnection): void },
    moved?: MovedMultiplex,
  ) {
    this.lastReceiveAt = this.lastSendAt = owner.now;
    physical.receiver = this;
    // Binary envelopes are cut from the WebSocket's Buffer directly: one view a message, as on a plain connection.
    physical.receivesBuffers = true;
    if (moved) {
      // Suspended, for its client's new socket: stateful, over WebSockets, as it was on its old server.
      this.binary = moved.binary;
      this.highestChannel = moved.highestChannel;
      this.dropped = moved.dropped;
      this.recovered = moved.recovered ?? false;
      physical.resumable = true;
      return;
    }
    // The client chose the format when it negotiated (`transferFormat=Binary` stays in its URL);
    // Server-Sent Events carry text only.
    this.binary = physical.transportName !== "ServerSentEvents" && physical.request?.query.get("transferFormat") === "Binary";
    // With stateful reconnect a dropped socket suspends the connection, and its hubs with it,
    // until the client's new socket takes over (see onResumed).
    physical.resumable = physical.statefulReconnect && physical.transportName === "WebSockets";
    // Long polling's first GET, like its later requests, carries its token in a header only.
    this.admissions = new HubAdmissions(physical.request!, bearerToken(physical.request!, physical.transportName !== "LongPolling"));
  }

  /** A connection that moved here waits for its socket: only WebSockets move. */
  get transportName(): TransportName {
    return this.physical.transportName ?? "WebSockets";
  }

  /**
   * What a move or a checkpoint keeps of it besides its hubs: its endpoint's path, its format
   * (binary envelopes or text) and the highest channel its client used, to go on counting from.
   */
  get layout(): { path: string; binary: boolean; highestChannel: number } {
    return { path: this.settings.path, binary: this.binary, highestChannel: this.highestChannel };
  }

  /** Its open hubs. */
  hubs(): IterableIterator<HubChannel> {
    return this.channels.values();
  }

  /** A hub that moved here with the connection (see MultiplexMoves), on the channel it had. */
  addMoved(hub: HubChannel): void {
    this.channels.set(hub.channel, hub);
  }

  /**
   * The connection moved to another server: it is over here without a word to its client (who
   * is on the other server already). Hubs that did not move with it end here.
   */
  movedAway(error: Error): void {
    for (const hub of this.channels.values()) if (!hub.connection.isClosed) hub.physicalClosed(error);
    this.channels.clear();
    this.owner.closed(this);
  }

  get bufferedBytes(): number {
    return this.physical.transport?.bufferedBytes ?? 0;
  }

  /** Hubs open on this connection. */
  get hubCount(): number {
    return this.channels.size;
  }

  pauseReceiving(): void {
    this.physical.pauseReceiving();
  }

  resumeReceiving(): void {
    this.physical.resumeReceiving();
  }

  // ---- from the client ----

  onData(data: string | Uint8Array, utf8?: Uint8Array): void {
    this.lastReceiveAt = this.owner.now;
    const ownRead = !this.reading;
    if (ownRead) this.reading = true;
    try {
      // Bytes on a text connection: a binary WebSocket message, or a POST that is not UTF-8.
      if (!this.binary && typeof data !== "string") throw new HubwireError("ERR_MUX_MALFORMED_FRAME", "A text connection's message is not UTF-8 text.");
      readEnvelopes(data, this.route, utf8);
    } catch (error) {
      this.fail(asError(error));
    } finally {
      if (ownRead) this.endRead();
    }
  }

  /** See EnvelopeVisitor: a text payload may come as its frame's text and bytes, from `start` to `end`. */
  private readonly route = (channel: number, payload: string | Uint8Array, utf8?: Uint8Array, start?: number, end?: number): void => {
    if (this.failed) return;
    if (channel === controlChannel) return this.control(readControl(start === undefined ? payload : (payload as string).slice(start, end)));
    const hub = this.channels.get(channel);
    if (!hub) {
      const waiting = this.early.get(channel);
      if (waiting) return waiting.hold(payload, utf8, start, end);
      // Late data for a hub that closed meanwhile is dropped; a channel never opened is a fault.
      if (channel <= this.highestChannel) return;
      if (!this.recovered) throw new HubwireError("ERR_MUX_UNKNOWN_CHANNEL", `Data arrived on channel ${channel}, which was never opened.`);
      // Rebuilt from checkpoints made before its client opened this hub: the hub starts anew.
      this.highestChannel = channel;
      this.sendControl({ type: "close", channel });
      return;
    }
    if (hub.connection.isClosed) return;
    if (this.reading && this.readHub !== hub && !this.otherReadHubs?.includes(hub)) {
      if (this.readHub === undefined) this.readHub = hub;
      else (this.otherReadHubs ??= []).push(hub);
      hub.connection.readStarted();
    }
    // A text hub on a binary connection: its protocol reads text, as from a text frame.
    if (hub.text && typeof payload !== "string") hub.connection.receive(decodeUtf8(payload), payload);
    else hub.connection.receive(payload, utf8, start, end);
  };

  onReadStart(): void {
    this.reading = true;
  }

  onReadEnd(): void {
    this.endRead();
  }

  private endRead(): void {
    this.reading = false;
    const first = this.readHub;
    if (first === undefined) return;
    const others = this.otherReadHubs;
    this.readHub = undefined;
    this.otherReadHubs = undefined;
    // Ending a hub's read sends its replies.
    first.connection.readEnded();
    if (others) for (const hub of others) hub.connection.readEnded();
  }

  private control(message: ControlMessage | null): void {
    if (message === null) return; // a ping: its arrival is all it says
    switch (message.type) {
      case "open":
        return void this.open(message.channel, message.path, message.format !== "Binary");
      case "close": {
        const hub = this.channels.get(message.channel);
        if (!hub) return; // closed by the server meanwhile
        this.channels.delete(message.channel);
        hub.physicalClosed(undefined);
        return;
      }
      default:
        throw new HubwireError("ERR_MUX_MALFORMED_FRAME", `A client may not send '${message.type}'.`);
    }
  }

  /** Opens a hub on `channel`: admitted by the hub's own check, as a request to its own endpoint would be. */
  private open(channel: number, path: string, text: boolean): void {
    if (channel <= this.highestChannel) {
      throw new HubwireError("ERR_MUX_MALFORMED_FRAME", `Channel ${channel} was already used; each hub opens on a new, higher channel.`);
    }
    this.highestChannel = channel;
    const { settings } = this;
    if (this.channels.size + this.opening >= settings.maximumHubsPerConnection) {
      const message = `A connection may have at most ${settings.maximumHubsPerConnection} hubs open (maximumHubsPerConnection).`;
      return this.refuse(channel, path, "ERR_MUX_TOO_MANY_HUBS", message, 429);
    }
    if (!text && !this.binary) {
      // As SignalR refuses MessagePack over Server-Sent Events: a text connection carries text hubs.
      return this.refuse(channel, path, "ERR_MUX_FORMAT", "A hub with a binary protocol cannot open on a connection that carries text.", 400);
    }
    const endpoint = settings.resolve(path);
    if (!endpoint) return this.refuse(channel, path, "ERR_MUX_UNKNOWN_HUB", `No hub is mapped at '${path}'.`, 404);
    if (!endpoint.transports.includes(this.transportName)) {
      return this.refuse(channel, path, "ERR_MUX_UNKNOWN_HUB", `The hub at '${path}' does not allow ${this.transportName}.`, 404);
    }
    this.opening++;
    this.early.set(channel, new EarlyMessages(channel, endpoint.maxMessageBytes));
    this.admitAndOpen(channel, path, text, endpoint)
      .catch((error: unknown) => this.refuse(channel, path, "ERR_MUX_HUB_REFUSED", asError(error).message, 500))
      .finally(() => this.opening--);
  }

  private async admitAndOpen(channel: number, path: string, text: boolean, endpoint: ChannelEndpoint): Promise<void> {
    // Data comes only through a socket, which a moved connection's re-admission precedes (see reauthenticate).
    const { request, token } = this.admissions!;
    const drops = this.drops;
    const admission = await endpoint.admit(request, token);
    if (this.physical.isClosed) return;
    // Ending meanwhile (a drain, the server closing, a fault of the client's): its WebSocket is open
    // until its close handshake is done, but no hub may start on it now (the server may have
    // closed its hubs' connections already, and would not wait for this one's onDisconnected).
    if (this.failed || this.physical.isClosing) return void this.early.delete(channel);
    if (this.drops !== drops) return void this.early.delete(channel);
    if ("status" in admission) {
      return this.refuse(channel, path, "ERR_MUX_HUB_REFUSED", admission.reason || `The hub at '${path}' refused the user.`, admission.status);
    }
    const connection = new TransportConnection(newConnectionId(), newConnectionId(), endpoint.maxBufferedBytes);
    connection.request = request;
    connection.statefulReconnect = this.physical.resumable && endpoint.allowStatefulReconnects;
    adopt(connection, admission);
    const hub = new HubChannel(this, channel, connection, text, endpoint.admit, path);
    connection.transport = hub;
    connection.state = "active";
    this.channels.set(channel, hub);
    const lifetime = this.settings.authenticationRefresh ? tokenLifetimeSeconds(admission.expiresAt) : undefined;
    this.sendControl({ type: "opened", channel, connectionId: connection.connectionId, ...(lifetime === undefined ? {} : { tokenLifetimeSeconds: lifetime }) });
    try {
      endpoint.handler.onConnection(connection);
    } catch (error) {
      connection.abort(asError(error));
    }
    const waiting = this.early.get(channel);
    this.early.delete(channel);
    if (waiting) for (const [payload, utf8] of waiting.messages) this.route(channel, payload, utf8);
  }

  /** When the first of its hubs' authentications ends (see ConnectionReceiver.earliestAuthExpiry). */
  earliestAuthExpiry(): number | undefined {
    let earliest: number | undefined;
    for (const hub of this.channels.values()) {
      const expiresAt = hub.connection.authExpiresAt;
      if (expiresAt !== undefined && (earliest === undefined || expiresAt < earliest)) earliest = expiresAt;
    }
    return earliest;
  }

  /** A long poll, a send or a DELETE of the connection, or the WebSocket that resumes it: see HubAdmissions. */
  reauthenticate(request: ConnectionRequest, token: string | undefined): Promise<Refusal | undefined> {
    // Moved here: the hubs came with their identities, and are admitted again here with the client's new socket.
    this.admissions ??= new HubAdmissions(request, token);
    return this.admissions.reauthenticate([...this.channels.values()], request, token, this.settings.authenticationRefresh ?? false);
  }

  private refuse(channel: number, path: string, code: string, message: string, statusCode: number): void {
    this.early.delete(channel);
    this.settings.log.write(multiplexLog.hubRefused, { connectionId: this.physical.connectionId, path, code });
    this.sendControl({ type: "refused", channel, code, message, statusCode });
  }

  // ---- to the client ----

  /**
   * `shared`: see Transport.send; a broadcast's envelope (over a WebSocket, its frame) is made
   * once for every hub on the same channel. `utf8`: `data` is a text hub's message already
   * encoded (see HubChannel.sendUtf8).
   */
  sendOn(channel: number, data: string | Uint8Array, shared = false, utf8 = false): void {
    if (this.physical.state !== "active") return;
    this.lastSendAt = this.owner.now;
    if (!this.binary && typeof data !== "string" && !utf8) {
      // A hub that chose a binary protocol on a text connection: only that hub ends.
      const error = new HubwireError("ERR_MUX_FORMAT", "A hub with a binary protocol cannot send on a text connection.");
      return this.channels.get(channel)?.connection.abort(error);
    }
    sendEnvelope(this.physical, this.binary, this.owner.shared, channel, data, shared);
  }

  private sendControl(message: ControlMessage | null): void {
    if (this.physical.state !== "active") return;
    this.lastSendAt = this.owner.now;
    this.physical.send(writeControl(message, this.binary));
  }

  /** A hub's connection ended on the server's side: its client is told; the others go on. */
  closeChannel(hub: HubChannel): void {
    if (this.channels.get(hub.channel) !== hub) return hub.connection.transportClosed();
    this.channels.delete(hub.channel);
    this.sendControl({ type: "close", channel: hub.channel });
    hub.connection.transportClosed();
  }

  /**
   * Drops the socket of a stateful connection (HubServer.drain): it waits, suspended, for its
   * client's next one, which moves it to the server it reaches (see MultiplexMoves).
   */
  suspend(): void {
    // A hub that cannot wait for its client's next socket ends with the drain, as nothing went
    // wrong (see onSuspended for a dropped socket); its client opens it anew on its next socket.
    for (const hub of [...this.channels.values()]) if (!hub.connection.resumable) hub.connection.transportClosed();
    this.physical.displaceTransport();
  }

  /** Ends the connection gracefully: what was sent goes first; its hubs end with it. */
  end(): void {
    this.physical.close();
  }

  /** A fault of the client's: it is told why, and its physical connection (every hub on it) ends. */
  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    const code = (error as { code?: string }).code ?? "ERR_MUX_MALFORMED_FRAME";
    this.settings.log.write(multiplexLog.malformedFrame, { connectionId: this.physical.connectionId, code, error });
    this.sendControl({ type: "error", code, message: error.message });
    this.closeAll(error);
    this.physical.close();
  }

  /**
   * Stateful reconnect: the socket dropped. Each hub waits, suspended, as a plain connection
   * would: one that keeps what it sends for its client goes on keeping it (and ends at once if
   * that outgrows its buffer); any other ends now. A hub already suspended is the one a drain
   * began with (see HubChannel.retire).
   */
  onSuspended(error: Error | undefined): void {
    this.drops++;
    for (const hub of [...this.channels.values()]) {
      if (hub.connection.state === "active") hub.connection.transportLost(error ?? new HubwireError("ERR_TRANSPORT_LOST", "The connection's socket was dropped."));
    }
  }

  /**
   * Stateful reconnect: the client's new socket took over. Each hub that kept what it sent
   * replays it (its Sequence first) on its channel; a hub that ended meanwhile (see onSuspended)
   * is closed on the client's side too, which opens it anew.
   */
  onResumed(): void {
    this.lastReceiveAt = this.owner.now; // the client's new socket: its silence is counted from now
    const dropped = this.dropped;
    this.dropped = undefined;
    if (dropped) for (const channel of dropped) this.sendControl({ type: "close", channel });
    for (const hub of [...this.channels.values()]) {
      if (hub.connection.resumable && !hub.connection.isClosed) {
        hub.connection.resume(hub);
        continue;
      }
      this.channels.delete(hub.channel);
      this.sendControl({ type: "close", channel: hub.channel });
      hub.physicalClosed(new HubwireError("ERR_TRANSPORT_LOST", "The connection dropped and this hub could no longer be resumed."));
    }
  }

  onDrained(): void {
    for (const hub of this.channels.values()) hub.connection.drained();
  }

  onClose(error?: Error): void {
    this.closeAll(error);
    this.owner.closed(this);
  }

  private closeAll(error: Error | undefined): void {
    const hubs = [...this.channels.values()];
    this.channels.clear();
    for (const hub of hubs) hub.physicalClosed(error);
  }

  /**
   * Pings a client it has not written to for a while; one silent past the client timeout is
   * suspended when stateful, else closed.
   */
  onHeartbeat(now: number): void {
    if (this.physical.state !== "active" || this.transportName === "LongPolling") return;
    if (this.physical.receivingPaused) this.lastReceiveAt = now;
    else if (now - this.lastReceiveAt >= this.settings.clientTimeoutMs) {
      // Stateful: its socket is dropped and it waits for its client, whose network may have gone
      // without a word (a half-open socket), as a plain stateful connection does.
      if (this.physical.displaceTransport()) {
        this.settings.log.write(multiplexLog.clientSilent, { connectionId: this.physical.connectionId });
        return;
      }
      this.settings.log.write(multiplexLog.clientTimeout, { connectionId: this.physical.connectionId });
      const error = new HubwireError("ERR_TRANSPORT_LOST", "The client was silent past the client timeout.");
      this.closeAll(error);
      return this.physical.close();
    }
    if (now - this.lastSendAt >= this.settings.keepAliveIntervalMs) this.sendControl(null);
  }
}
