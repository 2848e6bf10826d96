import { HubConnectionBuilder, LogLevel, type HttpTransportType, type HubConnection } from "@microsoft/signalr";
import { MessagePackHubProtocol } from "@microsoft/signalr-protocol-msgpack";
import { Hub, HubClass, HubMethod } from "../../src/index.js";

// A hub whose methods change a user's groups (GroupManager.addUserToGroup), for the tests of
// a user's connections in one process and across servers.

export interface TeamClient {
  news(text: string): void;
}

@HubClass()
export class TeamHub extends Hub<TeamClient> {
  /** Puts every connection of `user` in the team. */
  @HubMethod("Enrol")
  enrol(user: string, team: string): Promise<void> {
    return this.groups.addUserToGroup(user, team);
  }

  @HubMethod("Expel")
  expel(user: string, team: string): Promise<void> {
    return this.groups.removeUserFromGroup(user, team);
  }

  @HubMethod("Join")
  join(team: string): Promise<void> {
    return this.groups.addToGroup(this.context.connectionId, team);
  }

  @HubMethod("Tell")
  tell(team: string, text: string): Promise<void> {
    return this.clients.group(team).news(text);
  }
}

/**
 * The official client of `user` (the bearer token names the user) on the team hub at `url`,
 * started; it is added to `clients` first, for the test to stop. Resolves with what it is told.
 */
export async function teamMember(clients: HubConnection[], url: string, user: string, transport: HttpTransportType, messagePack = false): Promise<string[]> {
  const builder = new HubConnectionBuilder().withUrl(url, { transport, accessTokenFactory: () => user }).configureLogging(LogLevel.None);
  const client = (messagePack ? builder.withHubProtocol(new MessagePackHubProtocol()) : builder).build();
  const news: string[] = [];
  client.on("news", (text: string) => news.push(text));
  clients.push(client);
  await client.start();
  return news;
}
