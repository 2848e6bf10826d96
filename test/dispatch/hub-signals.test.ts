import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, expect, it } from "vitest";
import { Hub, HubClass, HubMethod, silentLogger } from "../../src/index.js";
import { TestHost } from "../../src/testing/index.js";

interface VoterClient {
  vote(question: string): Promise<boolean>;
}

@HubClass()
class PollHub extends Hub<VoterClient> {
  /** Asks every voter at once, each client result cancelled with the call (one signal, many listeners). */
  @HubMethod("Poll")
  async poll(voters: string[]): Promise<number> {
    const votes = await Promise.all(voters.map((id) => this.clients.client(id).withOptions({ signal: this.signal }).invoke("vote", "lunch?")));
    return votes.filter(Boolean).length;
  }

  /** The same, each question after a pause on Node's own timers, which take the call's signal too (a listener each). */
  @HubMethod("PatientPoll")
  async patientPoll(voters: string[]): Promise<number> {
    const ask = async (id: string) => {
      await sleep(1, undefined, { signal: this.signal });
      return this.clients.client(id).invoke("vote", "lunch?");
    };
    const votes = await Promise.all(voters.map(ask));
    return votes.filter(Boolean).length;
  }

  /** The same, with one timeout for the whole poll: a signal of the hub's own, shared by every client result. */
  @HubMethod("TimedPoll")
  async timedPoll(voters: string[]): Promise<number> {
    const signal = AbortSignal.timeout(10_000);
    const votes = await Promise.all(voters.map((id) => this.clients.client(id).withOptions({ signal }).invoke("vote", "lunch?")));
    return votes.filter(Boolean).length;
  }
}

let host: TestHost | undefined;
afterEach(async () => {
  await host?.close();
  host = undefined;
});

it.each([
  ["the call's signal among a client result from each of 12 clients", "poll"],
  ["the call's signal among 12 of Node's timers and 12 client results", "patientPoll"],
  ["one signal of the hub's own among a client result from each of 12 clients", "timedPoll"],
] as const)("shares %s without Node's leak warning", async (_signal, method) => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on("warning", onWarning);
  try {
    host = new TestHost({ logger: silentLogger });
    host.mapHub("/poll", PollHub);
    const voters = await Promise.all(Array.from({ length: 12 }, () => host!.connect(PollHub)));
    voters.forEach((voter, i) => voter.answer("vote", () => i % 3 === 0));
    expect(await voters[0]!.hub[method](voters.map((v) => v.connectionId))).toBe(4);
    // Node emits the warning on the next turn of the event loop after the listener that passed ten.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off("warning", onWarning);
  }
  expect(warnings.filter((w) => w.name === "MaxListenersExceededWarning")).toEqual([]);
});
