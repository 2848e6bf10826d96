import { setTimeout as sleep } from "node:timers/promises";
import { Hub, HubClass, HubException, HubMethod, UploadStream } from "../../src/index.js";

export interface InteropClient {
  Received(route: string, message: unknown): void;
  Result(): number;
}

/** A string key with a number: it moves with a stateful connection to another server (see docs/scale-out.md). */
const callCountKey = "callCount";

/** Routing, errors and limits that users of any SignalR server rely on. */
@HubClass()
export class InteropHub extends Hub<InteropClient> {
  @HubMethod("AddToGroup")
  async addToGroup(group: string): Promise<void> {
    this.count();
    await this.groups.addToGroup(this.context.connectionId, group);
  }

  @HubMethod("RemoveFromGroup")
  async removeFromGroup(group: string): Promise<void> {
    this.count();
    await this.groups.removeFromGroup(this.context.connectionId, group);
  }

  @HubMethod("SendToGroup")
  sendToGroup(group: string, message: unknown): Promise<void> {
    this.count();
    return this.clients.group(group).Received("group", message);
  }

  @HubMethod("SendToGroups")
  sendToGroups(groups: string[], message: unknown): Promise<void> {
    this.count();
    return this.clients.groups(groups).Received("groups", message);
  }

  @HubMethod("SendToGroupExcept")
  sendToGroupExcept(group: string, message: unknown, excluded: string[]): Promise<void> {
    this.count();
    return this.clients.groupExcept(group, excluded).Received("groupExcept", message);
  }

  @HubMethod("SendToOthersInGroup")
  sendToOthersInGroup(group: string, message: unknown): Promise<void> {
    this.count();
    return this.clients.othersInGroup(group).Received("othersInGroup", message);
  }

  @HubMethod("SendToAll")
  sendToAll(message: unknown): Promise<void> {
    this.count();
    return this.clients.all.Received("all", message);
  }

  @HubMethod("SendToOthers")
  sendToOthers(message: unknown): Promise<void> {
    this.count();
    return this.clients.others.Received("others", message);
  }

  @HubMethod("SendToAllExcept")
  sendToAllExcept(message: unknown, excluded: string[]): Promise<void> {
    this.count();
    return this.clients.allExcept(excluded).Received("allExcept", message);
  }

  @HubMethod("SendToConnection")
  sendToConnection(connectionId: string, message: unknown): Promise<void> {
    this.count();
    return this.clients.client(connectionId).Received("connection", message);
  }

  @HubMethod("SendToConnections")
  sendToConnections(connectionIds: string[], message: unknown): Promise<void> {
    this.count();
    return this.clients.clients(connectionIds).Received("connections", message);
  }

  @HubMethod("SendToUser")
  sendToUser(userId: string, message: unknown): Promise<void> {
    this.count();
    return this.clients.user(userId).Received("user", message);
  }

  @HubMethod("SendToUsers")
  sendToUsers(userIds: string[], message: unknown): Promise<void> {
    this.count();
    return this.clients.users(userIds).Received("users", message);
  }

  @HubMethod("GetUserIdentifier")
  getUserIdentifier(): string | null {
    this.count();
    return this.context.userIdentifier ?? null;
  }

  @HubMethod("ThrowHubException")
  throwHubException(message: string): never {
    this.count();
    throw new HubException(message);
  }

  @HubMethod("Add")
  add(a: number, b: number): number {
    this.count();
    return a + b;
  }

  @HubMethod("CloseMe")
  closeMe(error: string | null, allowReconnect: boolean | null): void {
    this.count();
    this.context.close({ error: error ?? undefined, allowReconnect: allowReconnect === true });
  }

  @HubMethod("Big")
  big(length: number): string {
    this.count();
    return "x".repeat(length);
  }

  @HubMethod("Counter")
  async *counter(count: number, delayMs: number): AsyncGenerator<number> {
    this.count();
    for (let i = 0; i < count; i++) {
      if (i > 0 && delayMs > 0) await sleep(delayMs, undefined, { signal: this.signal });
      yield i;
    }
  }

  @HubMethod("UploadSum")
  async uploadSum(@UploadStream() numbers: AsyncIterable<number>): Promise<number> {
    this.count();
    let sum = 0;
    for await (const n of numbers) sum += n;
    return sum;
  }

  @HubMethod("UploadPair")
  async uploadPair(@UploadStream() first: AsyncIterable<string>, @UploadStream() second: AsyncIterable<string>): Promise<string> {
    this.count();
    let text = "";
    for await (const item of first) text += item;
    text += "|";
    for await (const item of second) text += item;
    return text;
  }

  /** Awaits a result from its own caller inside the invocation: must not deadlock the connection. */
  @HubMethod("AskCaller")
  async askCaller(): Promise<number> {
    this.count();
    return this.clients.caller.withOptions({ signal: this.signal }).invoke("Result");
  }

  @HubMethod("CallCount")
  callCount(): number {
    return this.count();
  }

  /** Counts this connection's processed invocations (CallCount included). */
  private count(): number {
    const calls = ((this.context.items.get(callCountKey) as number | undefined) ?? 0) + 1;
    this.context.items.set(callCountKey, calls);
    return calls;
  }
}
