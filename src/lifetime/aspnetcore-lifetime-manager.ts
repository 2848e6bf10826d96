import { randomBytes, randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { ClientInvokeOptions } from "../connection/client-results.js";
import type { HubConnection } from "../connection/hub-connection.js";
import { HubException, HubwireError } from "../errors.js";
import { LogWriter } from "../logger.js";
import type { HubProtocol } from "../protocol/hub-protocol.js";
import { MessageType, type CompletionMessage, type HubMessage } from "../protocol/messages.js";
import { SerializedHubMessage } from "../protocol/serialized-message.js";
import * as wire from "./aspnetcore-backplane-messages.js";
import type { HubLifetimeManager } from "./hub-lifetime-manager.js";
import { InMemoryLifetimeManager, invocationOf } from "./in-memory-lifetime-manager.js";
import { lifetimeLog } from "./lifetime-log.js";
import { LoggedSubscriptions } from "./logged-subscriptions.js";
import { PendingReplies } from "./pending-replies.js";
import type { ScaleOutOptions } from "./scale-out-lifetime-manager.js";
import type { Target } from "./target.js";

export interface AspNetCoreLifetimeOptions extends ScaleOutOptions {
  /**
   * The full name of the hub's class in the .NET app (`typeof(THub).FullName`, e.g.
   * `MyApp.Hubs.ChatHub`): ASP.NET Core names the hub's channels after it.
   */
  hubTypeName: string;
}

/** How long past its own timeout a remote client result may take to report back. */
const replyGraceMs = 1_000;
/** ASP.NET Core reads ack ids as Int32. */
const maxAckId = 2 ** 31 - 1;

/**
 * The lifetime manager of a hub that shares its connections, groups and users with ASP.NET Core
 * SignalR servers on their Redis backplane (`AddStackExchangeRedis`), speaking its channels and
 * messages (aspnetcore-backplane-messages.ts). It works as ASP.NET Core's `RedisHubLifetimeManager`
 * does, so both kinds of server see one cluster:
 *
 * - a send to all, a group or a user is published once, framed in every protocol of the hub, and
 *   every server, this one included, delivers it to its own connections when it comes back; a send
 *   to a connection held here is written at once;
 * - a group change for a connection held elsewhere goes to `:internal:groups` and waits for the
 *   holder's ack on `:internal:ack:{server}`;
 * - a client result asked of a connection held elsewhere travels on that connection's channel and
 *   is answered on `:internal:return:{server}`.
 *
 * Unlike ScaleOutLifetimeManager, a send to several groups or users is one message per group or
 * user (the format has no other way), so a connection in two of the groups receives it twice, as
 * it would from ASP.NET Core. docs/scale-out.md lists every difference.
 *
 * @example
 * // AspNetCoreRedisBackplane makes one per hub; by hand, over any Backplane:
 * const lifetimeManager = new AspNetCoreLifetimeManager({
 *   hubName: "ChatHub", hubTypeName: "MyApp.Hubs.ChatHub", backplane,
 *   protocols: [new JsonHubProtocol(), new MessagePackHubProtocol()], logger: consoleLogger(), clientResultTimeout: 30_000,
 * });
 * server.mapHub("/chat", ChatHub, { lifetimeManager });
 */
export class AspNetCoreLifetimeManager implements HubLifetimeManager {
  private readonly local: InMemoryLifetimeManager;
  /** As ASP.NET Core names its servers: the machine, then a GUID. */
  private readonly serverName = `${hostname()}_${randomUUID().replaceAll("-", "")}`;
  private readonly acks = new PendingReplies<number>();
  private readonly results = new PendingReplies<string>();
  private nextAckId = 1;
  private readonly started: Promise<void>;
  private readonly log: LogWriter;
  private readonly subscriptions: LoggedSubscriptions;

  constructor(private readonly options: AspNetCoreLifetimeOptions) {
    this.log = LogWriter.for(options.logger);
    this.subscriptions = new LoggedSubscriptions(options.backplane, this.log, options.hubName);
    this.local = new InMemoryLifetimeManager({ maximumGroupsPerConnection: options.maximumGroupsPerConnection });
    this.started = Promise.all([
      this.subscribe(this.channel(":all"), (bytes) => this.deliverInvocation(bytes, (except) => ({ kind: "all", except }))),
      this.subscribe(this.channel(":internal:groups"), (bytes) => void this.applyGroupCommand(wire.readGroupCommand(bytes))),
      this.subscribe(this.ackChannel(this.serverName), (bytes) => this.acks.settle(wire.readAck(bytes), undefined, true)),
      this.subscribe(this.channel(`:internal:return:${this.serverName}`), (bytes) => this.onCompletion(wire.readCompletion(bytes))),
    ]).then(() => undefined);
  }

  async onConnected(connection: HubConnection): Promise<void> {
    await this.started;
    const { connectionId, userIdentifier: userId } = connection;
    const firstOfUser = userId !== undefined && !this.local.hasUser(userId);
    await this.local.onConnected(connection);
    await Promise.all([
      this.subscribe(this.channel(":connection:", connectionId), (bytes) => this.onConnectionMessage(connectionId, bytes)),
      firstOfUser
        ? this.subscribe(this.channel(":user:", userId), (bytes) => this.deliverInvocation(bytes, () => ({ kind: "users", ids: [userId] })))
        : undefined,
    ]);
  }

  async onDisconnected(connection: HubConnection): Promise<void> {
    const left = this.local.leave(connection);
    if (!left) return;
    const channels = [this.channel(":connection:", connection.connectionId), ...left.groups.map((group) => this.channel(":group:", group))];
    if (left.user !== undefined) channels.push(this.channel(":user:", left.user));
    await Promise.all(channels.map((channel) => this.unsubscribe(channel)));
  }

  async send(target: Target, method: string, args: readonly unknown[]): Promise<void> {
    const message = invocationOf(method, args);
    switch (target.kind) {
      case "all":
        return this.publishInvocation(this.channel(":all"), message, [...(target.except ?? [])], target);
      case "groups": {
        const except = [...(target.except ?? [])];
        const names = [...new Set(target.names)];
        await Promise.all(names.map((name) => this.publishInvocation(this.channel(":group:", name), message, except, { kind: "groups", names: [name], except })));
        return;
      }
      case "users": {
        const ids = [...new Set(target.ids)];
        await Promise.all(ids.map((id) => this.publishInvocation(this.channel(":user:", id), message, [], { kind: "users", ids: [id] })));
        return;
      }
      case "connections": {
        // One held here is written at once, as ASP.NET Core does; the others go to their channels.
        const ids = [...new Set(target.ids)];
        this.local.deliver({ kind: "connections", ids: ids.filter((id) => this.local.has(id)) }, message);
        const remote = ids.filter((id) => !this.local.has(id));
        await Promise.all(remote.map((id) => this.publishInvocation(this.channel(":connection:", id), message, [], undefined)));
        return;
      }
    }
  }

  async addToGroup(connectionId: string, groupName: string): Promise<void> {
    if (this.local.has(connectionId)) return this.addLocal(connectionId, groupName);
    return this.changeRemoteGroup("add", connectionId, groupName);
  }

  async removeFromGroup(connectionId: string, groupName: string): Promise<void> {
    if (this.local.has(connectionId)) return this.removeLocal(connectionId, groupName);
    return this.changeRemoteGroup("remove", connectionId, groupName);
  }

  async invokeConnection(connectionId: string, method: string, args: readonly unknown[], options: ClientInvokeOptions = {}): Promise<unknown> {
    if (this.local.has(connectionId)) return this.local.invokeConnection(connectionId, method, args, options);
    const { signal } = options;
    if (signal?.aborted) throw signal.reason;
    // As ASP.NET Core makes them: unique across servers, 22 base64 characters.
    const invocationId = randomBytes(16).toString("base64").slice(0, 22);
    const timeout = options.timeout ?? this.options.clientResultTimeout;
    const reply = this.results.wait(invocationId, timeout + replyGraceMs, signal, () =>
      new HubwireError("ERR_CLIENT_RESULT_TIMEOUT", `Timed out waiting for a client result from connection '${connectionId}'.`),
    );
    // It may end (aborted) while the request is still being published, before the caller holds it.
    reply.catch(() => {});
    const payloads = this.framed({ type: MessageType.Invocation, invocationId, target: method, arguments: [...args] });
    const request = wire.writeInvocation({
      excluded: [],
      payloads,
      invocationId,
      returnChannel: this.channel(`:internal:return:${this.serverName}`),
    });
    try {
      const receivers = await this.options.backplane.publish(this.channel(":connection:", connectionId), request);
      if (receivers === 0) this.results.settle(invocationId, new HubwireError("ERR_CONNECTION_NOT_FOUND", `Connection '${connectionId}' does not exist.`));
    } catch (error) {
      this.results.settle(invocationId, unavailable(error));
    }
    return reply;
  }

  private async addLocal(connectionId: string, group: string): Promise<void> {
    const first = !this.local.hasGroup(group);
    await this.local.addToGroup(connectionId, group);
    if (first) {
      const channel = this.channel(":group:", group);
      await this.subscribe(channel, (bytes) => this.deliverInvocation(bytes, (except) => ({ kind: "groups", names: [group], except })));
    }
  }

  private async removeLocal(connectionId: string, group: string): Promise<void> {
    const hadMembers = this.local.hasGroup(group);
    await this.local.removeFromGroup(connectionId, group);
    if (hadMembers && !this.local.hasGroup(group)) await this.unsubscribe(this.channel(":group:", group));
  }

  /** Asks every server; the one holding the connection applies it and acks. */
  private async changeRemoteGroup(action: "add" | "remove", connectionId: string, group: string): Promise<void> {
    const id = this.nextAckId;
    this.nextAckId = id === maxAckId ? 1 : id + 1;
    const ack = this.acks.wait(id, this.options.ackTimeout ?? 10_000, undefined, () =>
      new HubwireError("ERR_BACKPLANE_TIMEOUT", `No server acknowledged the group change for connection '${connectionId}'.`),
    );
    ack.catch(() => {}); // awaited below, after publishing
    const command = wire.writeGroupCommand({ id, serverName: this.serverName, action, group, connectionId });
    try {
      await this.options.backplane.publish(this.channel(":internal:groups"), command);
    } catch (error) {
      this.acks.settle(id, unavailable(error));
    }
    await ack;
  }

  private async applyGroupCommand(command: wire.AspNetCoreGroupCommand): Promise<void> {
    const { connectionId, group } = command;
    // Every server hears every command; only the one holding the connection answers.
    if (!this.local.has(connectionId)) return;
    try {
      if (command.action === "add") await this.addLocal(connectionId, group);
      else await this.removeLocal(connectionId, group);
    } catch (error) {
      // A bound of this server (too many groups): no ack, so the asking server's call fails.
      this.log.write(lifetimeLog.remoteGroupChangeFailed, { hub: this.options.hubName, connectionId, group, error });
      return;
    }
    await this.publish(this.ackChannel(command.serverName), wire.writeAck(command.id));
  }

  private onConnectionMessage(connectionId: string, bytes: Uint8Array): void {
    const invocation = wire.readInvocation(bytes);
    if (invocation.invocationId === undefined) {
      this.deliver(invocation, { kind: "connections", ids: [connectionId] });
      return;
    }
    void this.answerClientResult(connectionId, invocation);
  }

  /** A client result another server asks of a connection held here; answered in the connection's protocol. */
  private async answerClientResult(connectionId: string, invocation: wire.AspNetCoreInvocation): Promise<void> {
    const invocationId = invocation.invocationId!;
    const message = this.parse(invocation.payloads);
    if (message?.type !== MessageType.Invocation) return;
    let completion: CompletionMessage;
    try {
      const result = await this.local.invokeConnection(connectionId, message.target, message.arguments);
      completion = { type: MessageType.Completion, invocationId, hasResult: true, result };
    } catch (error) {
      completion = { type: MessageType.Completion, invocationId, hasResult: false, error: (error as Error).message ?? String(error) };
    }
    const protocol = this.local.protocolOf(connectionId) ?? this.options.protocols[0]!;
    const answer = wire.writeCompletion({ protocol: protocol.name, completion: bytesOf(protocol.writeMessage(completion)) });
    await this.publish(invocation.returnChannel!, answer);
  }

  private onCompletion({ protocol: name, completion }: wire.AspNetCoreCompletion): void {
    const protocol = this.options.protocols.find((p) => p.name === name);
    if (!protocol) return this.log.write(lifetimeLog.noProtocolForMessage, { hub: this.options.hubName });
    const [message] = protocol.parseMessages(inputFor(protocol, completion));
    if (message?.type !== MessageType.Completion) throw new Error("a client result answer holds no Completion");
    if (message.error !== undefined) this.results.settle(message.invocationId, new HubException(message.error));
    else this.results.settle(message.invocationId, message.result, true);
  }

  /** A send from the backplane, for this server's connections of the target its channel names. */
  private deliverInvocation(bytes: Uint8Array, targetOf: (except: string[]) => Target): void {
    const invocation = wire.readInvocation(bytes);
    this.deliver(invocation, targetOf(invocation.excluded));
  }

  private deliver(invocation: wire.AspNetCoreInvocation, target: Target): void {
    const message = this.parse(invocation.payloads);
    if (!message) return;
    const payloads: Record<string, string | Uint8Array> = {};
    for (const protocol of this.options.protocols) {
      const payload = invocation.payloads[protocol.name];
      if (payload !== undefined) payloads[protocol.name] = inputFor(protocol, payload);
    }
    // Written to each client as the sender framed it; a protocol it lacked is encoded here, once.
    this.local.deliver(target, new SerializedHubMessage(message, payloads));
  }

  /** The message, decoded once per server from the first payload in a protocol of this hub. */
  private parse(payloads: wire.FramedPayloads): HubMessage | undefined {
    for (const protocol of this.options.protocols) {
      const payload = payloads[protocol.name];
      if (payload === undefined) continue;
      try {
        return protocol.parseMessages(inputFor(protocol, payload))[0];
      } catch (error) {
        this.log.write(lifetimeLog.undecodableMessage, { hub: this.options.hubName, error });
        return undefined;
      }
    }
    this.log.write(lifetimeLog.noProtocolForMessage, { hub: this.options.hubName });
    return undefined;
  }

  /** A message framed in every protocol of the hub: each server writes its clients' bytes as they are. */
  private framed(message: HubMessage | SerializedHubMessage): wire.FramedPayloads {
    const payloads: wire.FramedPayloads = {};
    for (const protocol of this.options.protocols) {
      const payload = message instanceof SerializedHubMessage ? message.payloadFor(protocol) : protocol.writeMessage(message);
      payloads[protocol.name] = bytesOf(payload);
    }
    return payloads;
  }

  /**
   * Publishes a send. Connections here receive it when it comes back; when it cannot go out, they
   * receive it at once (`localTarget`) and the other servers miss it.
   */
  private async publishInvocation(channel: string, message: SerializedHubMessage, excluded: string[], localTarget: Target | undefined): Promise<void> {
    try {
      await this.options.backplane.publish(channel, wire.writeInvocation({ excluded, payloads: this.framed(message) }));
    } catch (error) {
      this.log.write(lifetimeLog.publishFailed, { hub: this.options.hubName, channel, error });
      if (localTarget) this.local.deliver(localTarget, message);
    }
  }

  /** Publishes and never rejects: what cannot reach other servers is logged. */
  private async publish(channel: string, payload: Uint8Array): Promise<void> {
    try {
      await this.options.backplane.publish(channel, payload);
    } catch (error) {
      this.log.write(lifetimeLog.publishFailed, { hub: this.options.hubName, channel, error });
    }
  }

  private subscribe(channel: string, onMessage: (bytes: Uint8Array) => void): Promise<void> {
    return this.subscriptions.subscribe(channel, onMessage);
  }

  private unsubscribe(channel: string): Promise<void> {
    return this.subscriptions.unsubscribe(channel);
  }

  /** `{hub type}{suffix}{name}`: ASP.NET Core's channel names; the backplane adds the prefix. */
  private channel(suffix: string, name = ""): string {
    return `${this.options.hubTypeName}${suffix}${name}`;
  }

  private ackChannel(serverName: string): string {
    return this.channel(":internal:ack:", serverName);
  }
}

const utf8 = new TextEncoder();
const text = new TextDecoder();

function bytesOf(payload: string | Uint8Array): Uint8Array {
  return typeof payload === "string" ? utf8.encode(payload) : payload;
}

/** A payload as the protocol reads and writes it: text protocols deal in strings. */
function inputFor(protocol: HubProtocol, payload: Uint8Array): string | Uint8Array {
  return protocol.transferFormat === "Text" ? text.decode(payload) : payload;
}

function unavailable(error: unknown): HubwireError {
  return new HubwireError("ERR_BACKPLANE_UNAVAILABLE", `The backplane could not take the message: ${(error as Error).message}`);
}
