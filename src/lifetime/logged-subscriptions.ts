import type { LogWriter } from "../logger.js";
import type { Backplane } from "./backplane.js";
import { lifetimeLog } from "./lifetime-log.js";

/**
 * A hub's backplane subscriptions, whose failures are logged instead of thrown: a lifetime
 * manager subscribes on connect and group changes, where a backplane outage must not fail them,
 * and a bad message costs only itself.
 */
export class LoggedSubscriptions {
  constructor(
    private readonly backplane: Backplane,
    private readonly log: LogWriter,
    private readonly hubName: string,
  ) {}

  /**
   * `onPayload` is told the channel too, so that one handler can serve every channel of a kind:
   * the closure made here is then all a subscription holds (a connection's channel is one per
   * connection).
   */
  async subscribe(channel: string, onPayload: (payload: Uint8Array, channel: string) => void): Promise<void> {
    try {
      await this.backplane.subscribe(channel, (payload) => this.deliver(onPayload, payload, channel));
    } catch (error) {
      this.log.write(lifetimeLog.subscribeFailed, { hub: this.hubName, channel, error });
    }
  }

  private deliver(onPayload: (payload: Uint8Array, channel: string) => void, payload: Uint8Array, channel: string): void {
    try {
      onPayload(payload, channel);
    } catch (error) {
      this.log.write(lifetimeLog.malformedMessage, { hub: this.hubName, channel, error });
    }
  }

  async unsubscribe(channel: string): Promise<void> {
    try {
      await this.backplane.unsubscribe(channel);
    } catch (error) {
      this.log.write(lifetimeLog.unsubscribeFailed, { hub: this.hubName, channel, error });
    }
  }
}
