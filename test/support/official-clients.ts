import { HubConnectionBuilder, LogLevel, type HubConnection } from "@microsoft/signalr";

/**
 * The official client as most hub tests use it (JSON, the transport it negotiates, no logging of
 * its own): `connect` starts one, and `stopAll` stops every one it started, after each test.
 */
export function officialClients(): { connect(url: string): Promise<HubConnection>; stopAll(): Promise<void> } {
  const clients: HubConnection[] = [];
  return {
    async connect(url) {
      const client = new HubConnectionBuilder().withUrl(url).configureLogging(LogLevel.None).build();
      clients.push(client);
      await client.start();
      return client;
    },
    async stopAll() {
      await Promise.all(clients.splice(0).map((client) => client.stop()));
    },
  };
}
