import { Service } from "typedi";
import { Authorize, Hub, HubClass, HubException, HubMethod, UploadStream, type HubFilter } from "../../src/index.js";

// The hubs the test host's own tests drive: one of each thing a hub can do.

export interface ChatClient {
  message(from: string, text: string): void;
  notice(text: string): void;
  /** A client result: the hub awaits what the client answers. */
  confirm(question: string): boolean;
}

@Service()
export class Greeter {
  greet(name: string): string {
    return `hello ${name}`;
  }
}

/** What the hubs' lifecycle and the filters did, in order; tests clear it. */
export const events: string[] = [];

@HubClass()
export class ChatHub extends Hub<ChatClient> {
  constructor(private readonly greeter: Greeter) {
    super();
  }

  override onConnected(): void {
    events.push(`connected ${this.context.userIdentifier ?? "anonymous"}`);
  }

  override onDisconnected(error?: Error): void {
    events.push(`disconnected ${this.context.userIdentifier ?? "anonymous"}${error ? ` (${error.message})` : ""}`);
  }

  override onAuthenticationRefreshed(): void {
    events.push(`refreshed ${this.context.userIdentifier} (${(this.context.user as { roles: string[] }).roles.join(",")})`);
  }

  @HubMethod("Greet")
  greet(name: string): string {
    return this.greeter.greet(name);
  }

  @HubMethod("Join")
  async join(room: string): Promise<void> {
    await this.groups.addToGroup(this.context.connectionId, room);
  }

  @HubMethod("Leave")
  async leave(room: string): Promise<void> {
    await this.groups.removeFromGroup(this.context.connectionId, room);
  }

  @HubMethod("Send")
  async send(room: string, text: string): Promise<void> {
    if (!text) throw new HubException("Empty message");
    await this.clients.group(room).message(this.context.userIdentifier ?? "anonymous", text);
  }

  @HubMethod("Whisper")
  async whisper(userId: string, text: string): Promise<void> {
    await this.clients.user(userId).message(this.context.userIdentifier ?? "anonymous", text);
  }

  @HubMethod("Announce")
  async announce(text: string): Promise<void> {
    await this.clients.others.notice(text);
  }

  @HubMethod("WhoAmI")
  whoAmI(): { user: unknown; userId: string | undefined; transport: string; room: string | null; agent: string | undefined } {
    const { context } = this;
    return { user: context.user, userId: context.userIdentifier, transport: context.transport, room: context.request.query.get("room"), agent: context.request.header("User-Agent") };
  }

  @HubMethod("Fail")
  fail(): never {
    throw new Error("a detail only the server sees");
  }

  /** Asks the caller, and says what it answered. */
  @HubMethod("Ask")
  async ask(question: string): Promise<string> {
    const yes = await this.clients.caller.invoke("confirm", question);
    return yes ? "confirmed" : "declined";
  }

  @HubMethod("Countdown")
  async *countdown(from: number): AsyncGenerator<number> {
    for (let i = from; i > 0; i--) yield i;
  }

  /** Never ends by itself: only a cancel (or the end of the connection) stops it. */
  @HubMethod("Ticks")
  async *ticks(): AsyncGenerator<number> {
    let i = 0;
    while (!this.signal.aborted) {
      yield i++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    events.push("ticks stopped");
  }

  @HubMethod("Sum")
  async sum(@UploadStream() numbers: AsyncIterable<number>): Promise<number> {
    let total = 0;
    for await (const n of numbers) total += n;
    return total;
  }

  @HubMethod("Purge") @Authorize("admin")
  purge(): string {
    return "purged";
  }

  @HubMethod("Kick")
  kick(): void {
    this.context.close({ error: "Kicked out." });
  }
}

/** A hub only signed-in users may connect to. */
@HubClass()
@Authorize()
export class MembersHub extends Hub<ChatClient> {
  @HubMethod("Ping")
  ping(): string {
    return "pong";
  }
}

/** A hub only users the "admin" policy admits may connect to. */
@HubClass()
@Authorize("admin")
export class AdminHub extends Hub<ChatClient> {
  @HubMethod("Ping")
  ping(): string {
    return "pong";
  }
}

/** Logs around every call, and refuses `Greet` for "mallory" before the hub runs. */
export const auditFilter: HubFilter = {
  async invokeMethod(invocation, next) {
    const who = invocation.context.userIdentifier ?? "anonymous";
    events.push(`> ${invocation.method.wireName} by ${who}`);
    if (invocation.method.wireName === "Greet" && invocation.arguments[0] === "mallory") throw new HubException("Not her.");
    const result = await next(invocation);
    events.push(`< ${invocation.method.wireName} ${JSON.stringify(result)}`);
    return result;
  },
};
