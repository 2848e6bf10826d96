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

  async subscribe(channel: string, onPayload: (payload: Uint8Array) => void): Promise<void> {
    try {
      await this.backplane.subscribe(channel, (payload) => {
        try {
          onPayload(payload);
        } catch (error) {
          this.log.write(lifetimeLog.malformedMessage, { hub: this.hubName, channel, error });
        }
      });
    } catch (error) {
      this.log.write(lifetimeLog.subscribeFailed, { hub: this.hubName, channel, error });
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
