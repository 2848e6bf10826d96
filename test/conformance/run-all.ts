import { families } from "./exchanges/index.js";
import { runExchange, type Exchange, type ServerVariant } from "./script.js";

// Runs every exchange against one implementation's servers, a few at a time (each exchange has
// connections of its own, so they do not interfere), and collects the transcripts by family.

export type Transcripts = Record<string, Record<string, string[]>>;

/** At once: enough to keep a 2-core machine busy without starving the server under test. */
const parallel = 16;

export async function runAll(urls: Record<ServerVariant, string>, only?: (family: string, exchange: Exchange) => boolean): Promise<Transcripts> {
  const jobs: { family: string; exchange: Exchange }[] = [];
  for (const [family, exchanges] of Object.entries(families)) {
    const names = new Set<string>();
    for (const exchange of exchanges) {
      if (names.has(exchange.name)) throw new Error(`${family}: two exchanges named ${exchange.name}`);
      names.add(exchange.name);
      if (!only || only(family, exchange)) jobs.push({ family, exchange });
    }
  }
  const out: Transcripts = {};
  for (const family of Object.keys(families)) out[family] = {};
  const shared = jobs.filter((j) => !j.exchange.exclusive);
  const alone = jobs.filter((j) => j.exchange.exclusive);
  let next = 0;
  const worker = async (queue: typeof jobs) => {
    while (next < queue.length) {
      const { family, exchange } = queue[next++]!;
      const started = Date.now();
      out[family]![exchange.name] = await runExchange(urls[exchange.server ?? "default"], exchange);
      if (process.env.CONFORMANCE_TRACE) console.log(`${Date.now() - started} ms ${family}/${exchange.name}`);
    }
  };
  await Promise.all(Array.from({ length: parallel }, () => worker(shared)));
  next = 0;
  await worker(alone);
  // Recorded in the order written, whatever order they finished in.
  for (const family of Object.keys(out)) {
    const ordered: Record<string, string[]> = {};
    for (const exchange of families[family]!) if (out[family]![exchange.name]) ordered[exchange.name] = out[family]![exchange.name]!;
    out[family] = ordered;
  }
  return out;
}
