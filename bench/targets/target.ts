/** A server under test: echo RPC, broadcast to all, send to a group. */
export interface TargetServer {
  port: number;
  connections(): number;
  broadcast(sentAt: number): void;
  sendToGroup(group: string, sentAt: number): void;
  close(): Promise<void>;
}
