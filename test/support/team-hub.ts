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
