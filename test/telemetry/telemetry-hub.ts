import { Hub, HubClass, HubException, HubMethod, UploadStream } from "../../src/index.js";

/** What the telemetry tests call: each outcome, a stream that waits to be let go, an upload, a send. */
export interface TelemetryClient {
  notice(text: string): void;
}

const gates: Array<() => void> = [];

/** Lets the running `Held` stream end. */
export function releaseHeld(): void {
  for (const release of gates.splice(0)) release();
}

@HubClass()
export class TelemetryHub extends Hub<TelemetryClient> {
  @HubMethod("Echo")
  echo(text: string): string {
    return text;
  }

  @HubMethod("Fail")
  fail(): never {
    throw new TypeError("the hub broke");
  }

  @HubMethod("Refuse")
  refuse(): never {
    throw new HubException("not for you");
  }

  @HubMethod("Count")
  async *count(to: number): AsyncGenerator<number> {
    for (let i = 1; i <= to; i++) yield i;
  }

  /** Yields once, then waits for releaseHeld(). */
  @HubMethod("Held")
  async *held(): AsyncGenerator<number> {
    yield 1;
    await new Promise<void>((resolve) => gates.push(resolve));
  }

  @HubMethod("Broken")
  async *broken(): AsyncGenerator<number> {
    yield 1;
    throw new RangeError("the stream broke");
  }

  @HubMethod("Firehose")
  async *firehose(size: number): AsyncGenerator<string> {
    const item = "x".repeat(size);
    for (;;) yield item;
  }

  @HubMethod("Sum")
  async sum(@UploadStream() numbers: AsyncIterable<number>): Promise<number> {
    let total = 0;
    for await (const n of numbers) total += n;
    return total;
  }

  @HubMethod("Notify")
  async notify(text: string): Promise<void> {
    await this.clients.caller.notice(text);
    await this.clients.all.notice(text);
  }
}

