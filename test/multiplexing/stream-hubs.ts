import { Hub, HubClass, HubMethod } from "../../src/index.js";

// Hubs for tests that count what multiplexed hubs receive while their connection moves between
// servers or is recovered after a crash: each records its onConnected, per hub, and its
// onDisconnected, per connection, across servers.

export interface StreamClient {
  message(stream: string, n: number): void;
}

/** How many times onConnected ran, by hub name; a test clears it. */
export const connected = new Map<string, number>();

/** How many times onDisconnected ran, by connection id; a test clears it. */
export const disconnected = new Map<string, number>();

export abstract class StreamHub extends Hub<StreamClient> {
  protected abstract readonly hubName: string;

  override onConnected(): void {
    connected.set(this.hubName, (connected.get(this.hubName) ?? 0) + 1);
  }

  override onDisconnected(): void {
    const id = this.context.connectionId;
    disconnected.set(id, (disconnected.get(id) ?? 0) + 1);
  }

  @HubMethod("Id")
  id(): string {
    return this.context.connectionId;
  }

  @HubMethod("Whoami")
  whoami(): string | undefined {
    return this.context.userIdentifier;
  }

  /** The user its last admission gave it (a moved hub is admitted again by its client's new socket). */
  @HubMethod("User")
  user(): unknown {
    return this.context.user;
  }

  @HubMethod("Join")
  join(group: string): Promise<void> {
    return this.groups.addToGroup(this.context.connectionId, group);
  }

  @HubMethod("Echo")
  echo(value: unknown): unknown {
    return value;
  }
}

@HubClass()
export class TextHub extends StreamHub {
  protected readonly hubName = "text";
}

@HubClass()
export class PackHub extends StreamHub {
  protected readonly hubName = "pack";
}

@HubClass()
export class PlainHub extends StreamHub {
  protected readonly hubName = "plain";
}

@HubClass()
export class LateHub extends StreamHub {
  protected readonly hubName = "late";
}
