import type { HubConnection } from "../connection/hub-connection.js";
import type { CloseOptions } from "../hubs/client-proxy.js";
import type { HubCallerContext, HubRequest } from "../hubs/hub-context-types.js";
import { closeMessage } from "../protocol/messages.js";

/** A hub's view of its connection. */
export class CallerContext implements HubCallerContext {
  constructor(private readonly connection: HubConnection) {}

  get connectionId(): string {
    return this.connection.connectionId;
  }
  get userIdentifier(): string | undefined {
    return this.connection.userIdentifier;
  }
  get user(): unknown {
    return this.connection.user;
  }
  get items(): Map<unknown, unknown> {
    return this.connection.items;
  }
  get request(): HubRequest {
    return this.connection.request!;
  }
  get transport(): string {
    return this.connection.transportName ?? "";
  }
  get signal(): AbortSignal {
    return this.connection.hubSignal;
  }
  abort(): void {
    this.connection.close(closeMessage());
  }
  close(options: CloseOptions = {}): void {
    this.connection.close(closeMessage(options));
  }
}
