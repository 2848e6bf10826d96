/** A server under test: echo RPC, broadcast to all, send to a group (and, for a cluster's node, to one connection). */
export interface TargetServer {
  port: number;
  connections(): number;
  broadcast(sentAt: number): void;
  sendToGroup(group: string, sentAt: number): void;
  sendToConnection?(connectionId: string, sentAt: number): void;
  /** The connections this server holds. */
  connectionIds?(): string[];
  close(): Promise<void>;
}
