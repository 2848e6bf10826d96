import { Hub, HubClass, HubMethod, HubServer, type HubServerOptions } from "../../src/index.js";
import { HubConnection } from "../../client/index.js";

/** A small application hub the dashboard watches. */
@HubClass()
export class RoomHub extends Hub {
  @HubMethod("Join")
  async join(room: string): Promise<void> {
    await this.groups.addToGroup(this.context.connectionId, room);
  }

  @HubMethod("Say")
  async say(room: string, text: string): Promise<string> {
    await this.clients.group(room).send("Said", text);
    return text;
  }
}

export interface TestUser {
  name: string;
  admin: boolean;
}

/** Sample-grade tokens: the token is the user's name, and "ops" is the admin. */
export function authenticateByName(_request: unknown, token: string | undefined): TestUser | null {
  return token ? { name: token, admin: token === "ops" } : null;
}

/** A server with RoomHub at /rooms and the dashboard at /hubwire, for admins. */
export function dashboardServer(options: HubServerOptions = {}): HubServer {
  const server = new HubServer({ authenticate: authenticateByName, ...options });
  server.mapHub("/rooms", RoomHub);
  server.mapDashboard("/hubwire", { authorize: (user) => (user as TestUser).admin, interval: 200 });
  return server;
}

/** A hubwire/client connection signed in as `name`. */
export function clientOf(url: string, path: string, name?: string): HubConnection {
  return new HubConnection(`${url}${path}`, { reconnect: false, ...(name ? { accessTokenFactory: () => name } : {}) });
}
