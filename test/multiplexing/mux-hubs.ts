// Hubs and a server for the multiplexing tests: three hubs any user may open, one for admins
// only, and the README's ChatHub (whose generated client the proxy test uses).
import { Authorize, Hub, HubClass, HubMethod, HubServer, silentLogger, type HubOptions, type HubServerOptions, type MultiplexerOptions } from "../../src/index.js";
import { ChatHub } from "../codegen/readme-chat-hub.js";

/** What the hubs saw, in order: `<hub> connected <user>` and `<hub> disconnected <user>`. */
export const lifecycle: string[] = [];

interface Client {
  said(hub: string, text: string): void;
  confirm(question: string): boolean;
}

abstract class RoomHub extends Hub<Client> {
  protected abstract readonly hubName: string;

  override onConnected(): void {
    lifecycle.push(`${this.hubName} connected ${this.context.userIdentifier}`);
  }

  override onDisconnected(): void {
    lifecycle.push(`${this.hubName} disconnected ${this.context.userIdentifier}`);
  }

  @HubMethod("Whoami")
  whoami(): { hub: string; connectionId: string; user: string | undefined; transport: string } {
    const { connectionId, userIdentifier } = this.context;
    return { hub: this.hubName, connectionId, user: userIdentifier, transport: this.context.transport };
  }

  @HubMethod("Echo")
  echo(value: unknown): unknown {
    return value;
  }

  /** `count` copies of `unit`: replies larger than a client may send. */
  @HubMethod("Repeat")
  repeat(unit: string, count: number): string {
    return unit.repeat(count);
  }

  /** `length` bytes counting up from 0 (mod 256). */
  @HubMethod("Bytes")
  bytes(length: number): Uint8Array {
    return Uint8Array.from({ length }, (_, i) => i & 0xff);
  }

  /** Tells every client of the hub `count` copies of `unit` (a broadcast, made once for all). */
  @HubMethod("Shout")
  async shout(unit: string, count: number): Promise<void> {
    await this.clients.all.said(this.hubName, unit.repeat(count));
  }

  @HubMethod("Count")
  async *count(n: number): AsyncGenerator<number> {
    for (let i = 0; i < n; i++) yield i;
  }

  @HubMethod("Ask")
  async ask(question: string): Promise<boolean> {
    return this.clients.caller.invoke("confirm", question);
  }

  @HubMethod("Join")
  async join(group: string): Promise<void> {
    await this.groups.addToGroup(this.context.connectionId, group);
  }

  @HubMethod("TellGroup")
  async tellGroup(group: string, text: string): Promise<void> {
    await this.clients.group(group).said(this.hubName, text);
  }

  @HubMethod("TellUser")
  async tellUser(user: string, text: string): Promise<void> {
    await this.clients.user(user).said(this.hubName, text);
  }

  @HubMethod("Leave")
  leave(): void {
    this.context.abort();
  }
}

@HubClass()
export class NewsHub extends RoomHub {
  protected readonly hubName = "news";
}

@HubClass()
export class PresenceHub extends RoomHub {
  protected readonly hubName = "presence";
}

@HubClass()
export class GameHub extends RoomHub {
  protected readonly hubName = "game";
}

@HubClass()
@Authorize("admins")
export class AdminHub extends RoomHub {
  protected readonly hubName = "admin";
}

export interface MuxServer {
  server: HubServer;
  url: string;
}

/**
 * A server with the hubs at /news, /presence, /game, /admin (admins only) and /chat, and
 * multiplexing at /hubs; a request's bearer token is its user's name ("admin" is an admin).
 * `serverOptions`: more of the server's own (a backplane).
 */
export async function startMuxServer(options: MultiplexerOptions = {}, hubOptions: HubOptions = {}, serverOptions: HubServerOptions = {}): Promise<MuxServer> {
  const server = new HubServer({
    ...serverOptions,
    logger: silentLogger,
    authenticate: (_request, token) => (token ? { sub: token } : null),
    policies: { admins: (user) => (user as { sub: string }).sub === "admin" },
  });
  server.mapHub("/news", NewsHub, hubOptions);
  server.mapHub("/presence", PresenceHub, hubOptions);
  server.mapHub("/game", GameHub, hubOptions);
  server.mapHub("/admin", AdminHub, hubOptions);
  server.mapHub("/chat", ChatHub, hubOptions);
  server.mapMultiplexer("/hubs", options);
  const { url } = await server.listen(0);
  return { server, url };
}
