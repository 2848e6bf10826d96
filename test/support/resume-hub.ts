import { expect } from "vitest";
import { Hub, HubClass, HubMethod, HubServer, silentLogger, type HubServerOptions } from "../../src/index.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

/** What ResumeHub saw: connects and disconnects in order, and how many times Count ran. */
export const resumeLog = { events: [] as string[], counted: 0 };

export function resetResumeLog(): void {
  resumeLog.events.length = 0;
  resumeLog.counted = 0;
}

export interface ResumeClient {
  tick(n: number): void;
  note(text: string): void;
}

/** A hub for stateful reconnect tests: it records its connection's life and what ran. */
@HubClass()
export class ResumeHub extends Hub<ResumeClient> {
  override onConnected(): void {
    resumeLog.events.push(`connected ${this.context.connectionId}`);
  }

  override onDisconnected(error?: Error): void {
    resumeLog.events.push(`disconnected ${error ? "with an error" : "cleanly"}`);
  }

  @HubMethod("Id")
  id(): string {
    return this.context.connectionId;
  }

  @HubMethod("Echo")
  echo(value: string): string {
    return value;
  }

  @HubMethod("Count")
  count(): void {
    resumeLog.counted++;
  }

  @HubMethod("Slow")
  async slow(ms: number): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return "done";
  }
}

/** Waits until `check()` gives `expected` (compared as JSON), failing after `ms`. */
export async function eventually(check: () => unknown, expected: unknown, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && JSON.stringify(check()) !== JSON.stringify(expected)) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toEqual(expected);
}

/** ResumeHub at `/resume` on a server that allows stateful reconnects, behind a proxy that can cut its connections. */
export async function startResumeServer(options: HubServerOptions = {}): Promise<{ server: HubServer; proxy: TcpProxy }> {
  const server = new HubServer({ logger: silentLogger, allowStatefulReconnects: true, ...options });
  server.mapHub("/resume", ResumeHub);
  const { port } = await server.listen();
  return { server, proxy: await startTcpProxy(port) };
}
