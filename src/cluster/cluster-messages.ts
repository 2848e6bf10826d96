/**
 * What a worker's ClusterBackplane and the primary's relay say to each other over the cluster's
 * IPC channel (advanced serialization: payloads travel as bytes). Each carries the key
 * `hubwireBackplane`, so the application's own messages on the channel pass by untouched.
 */
export type ToPrimary =
  | { hubwireBackplane: "publish"; id: number; channel: string; payload: Uint8Array }
  | { hubwireBackplane: "subscribe"; id: number; channel: string }
  | { hubwireBackplane: "unsubscribe"; id: number; channel: string }
  /** The worker's backplane closed: it receives nothing more. */
  | { hubwireBackplane: "close"; id: number }
  /**
   * Sent first: this worker takes what the primary sends it in batches. A worker forked from
   * older code says nothing and is sent each message alone (a reload forks workers on the code on
   * disk, which may be older than the primary's). The primary answers with a `welcome`; an older
   * primary does not answer, and is sent each request alone.
   */
  | { hubwireBackplane: "hello"; id: number; batches: true }
  /** Several of the above, in order: the requests a worker made in one turn, once welcomed. */
  | { hubwireBackplane: "batch"; id: number; messages: ToPrimary[] };

export type ToWorker =
  /**
   * The request `id` is done; a publish's `receivers`: the workers it was relayed to. `refused`:
   * a publish whose bytes did not arrive as bytes (the worker was forked without setupPrimary()).
   */
  | { hubwireBackplane: "done"; id: number; receivers: number; refused?: "serialization" }
  | { hubwireBackplane: "message"; channel: string; payload: Uint8Array }
  /** Several of the above, in order: what the primary had for the worker in one turn. */
  | { hubwireBackplane: "batch"; messages: ToWorker[] }
  /** The answer to a hello: the primary takes a worker's requests in batches too. */
  | { hubwireBackplane: "welcome"; batches: true };

export function isBackplaneMessage<T extends ToPrimary | ToWorker>(message: unknown): message is T {
  return typeof message === "object" && message !== null && typeof (message as { hubwireBackplane?: unknown }).hubwireBackplane === "string";
}
