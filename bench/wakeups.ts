import { readFileSync } from "node:fs";

// A server at a few thousand messages a second sleeps between them: each message that arrives on
// its own wakes the event loop, and waking has a price of its own, before any work, that depends
// on the host (on a virtual machine, switching a sleeping thread back in is dear). These two
// measures let the bench say how much of a run's cost is waking (its cluster and idle tables
// count the wakeups; its first line gives the price of one).

/**
 * How many times this process's event loop has gone to sleep and been woken since it started:
 * its main thread's voluntary context switches (Linux); undefined where the system does not say.
 */
export function eventLoopWakeups(): number | undefined {
  try {
    const count = /^voluntary_ctxt_switches:\s*(\d+)/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    return count === undefined ? undefined : Number(count);
  } catch {
    return undefined;
  }
}

/**
 * The CPU time (user and system, µs) a Node process spends to sleep and wake once with nothing
 * to do: the median of `rounds` runs of `ticks` empty 1 ms timers, each armed as the last fires.
 */
export async function wakeupCostMicros(ticks = 500, rounds = 3): Promise<number> {
  const perTick: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const before = process.cpuUsage();
    await new Promise<void>((done) => {
      let left = ticks;
      const tick = (): void => void (--left > 0 ? setTimeout(tick, 1) : done());
      setTimeout(tick, 1);
    });
    const used = process.cpuUsage(before);
    perTick.push((used.user + used.system) / ticks);
  }
  return perTick.sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
}
