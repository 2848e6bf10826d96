import { HubSocket, invocation } from "./hub-socket.js";

/**
 * A well-behaved client on its own connection, calling Echo one call after another while an
 * attack runs: how long its calls take is what the attack costs everyone else.
 */
export class Canary {
  private readonly latencies: number[] = [];
  private running = true;
  /** When the call in flight was made (undefined between calls). */
  private inFlightSince: number | undefined;
  private readonly loop: Promise<void>;

  private constructor(private readonly socket: HubSocket, gapMs: number) {
    this.loop = this.run(gapMs);
  }

  static async start(url: string, gapMs = 20): Promise<Canary> {
    return new Canary(await HubSocket.open(url), gapMs);
  }

  private async run(gapMs: number): Promise<void> {
    let id = 0;
    while (this.running) {
      const started = (this.inFlightSince = performance.now());
      const answered = new Promise<void>((resolve) => (this.socket.onMessage = (m) => m.type === 3 && resolve()));
      this.socket.send(invocation(String(id++), "Echo", ["canary"]));
      const closed = await Promise.race([answered.then(() => false), this.socket.closed.then(() => true)]);
      if (closed) return;
      this.inFlightSince = undefined;
      this.latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
  }

  private stopped: Promise<{ calls: number; p99: number; max: number }> | undefined;

  /** Stops (a call still unanswered after 2 s counts with the time it has waited); latencies in ms. */
  stop(): Promise<{ calls: number; p99: number; max: number }> {
    return (this.stopped ??= this.end());
  }

  private async end(): Promise<{ calls: number; p99: number; max: number }> {
    this.running = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.loop, new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
    clearTimeout(timer);
    if (this.inFlightSince !== undefined) this.latencies.push(performance.now() - this.inFlightSince);
    this.socket.close();
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const p99 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Number.NaN;
    return { calls: sorted.length, p99, max: sorted.at(-1) ?? Number.NaN };
  }
}
