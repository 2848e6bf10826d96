import { setMaxListeners } from "node:events";
import { guardListeners } from "../connection/guarded-signal.js";
import type { HubConnection } from "../connection/hub-connection.js";
import type { InvocationScopeView } from "../hubs/hub.js";

/**
 * One invocation's cancellation. The AbortController is made only when a method reads its
 * signal, so a call that never looks costs one small object; the signal also fires when the
 * connection ends.
 */
export class InvocationScope implements InvocationScopeView {
  private controller: AbortController | undefined;
  private cancelled = false;
  private onConnectionEnd: (() => void) | undefined;

  constructor(
    private readonly connection: HubConnection,
    /** Absent for a non-blocking call. */
    readonly invocationId: string | undefined,
  ) {}

  /** The call's signal as hub code gets it: what its listeners throw is told, not left to crash the process. */
  get signal(): AbortSignal {
    const signal = this.abortSignal;
    guardListeners(signal, this.connection);
    return signal;
  }

  /** The call's signal for hubwire's own listeners. */
  get abortSignal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      // A method may hand its signal to any number of operations at once (a client result per
      // client, say): each adds a listener, and that is no leak for Node to warn of.
      setMaxListeners(0, this.controller.signal);
      const connectionSignal = this.connection.signal;
      if (this.cancelled || connectionSignal.aborted) this.controller.abort();
      else {
        const controller = this.controller;
        this.onConnectionEnd = () => controller.abort();
        connectionSignal.addEventListener("abort", this.onConnectionEnd, { once: true });
      }
    }
    return this.controller.signal;
  }

  get isCancelled(): boolean {
    return this.cancelled || this.connection.isClosing;
  }

  /** CancelInvocation from the client. */
  cancel(): void {
    this.cancelled = true;
    this.controller?.abort();
  }

  /** The invocation is over: let go of the connection's signal. */
  dispose(): void {
    if (this.onConnectionEnd) this.connection.signal.removeEventListener("abort", this.onConnectionEnd);
  }
}

/** The scope of onConnected / onDisconnected: the connection's own signal. */
export class ConnectionScope implements InvocationScopeView {
  constructor(private readonly connection: HubConnection) {}
  get signal(): AbortSignal {
    return this.connection.hubSignal;
  }
}
