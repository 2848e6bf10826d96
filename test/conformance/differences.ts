// Every intended difference between hubwire and ASP.NET Core SignalR that the conformance
// exchanges show, once, with its reason. The replay test rewrites a recording (ASP.NET Core's
// transcript) with every entry that applies before comparing it with hubwire's; an entry that
// changes no recording fails the test, so none outlives its reason.

export interface Difference {
  /** The exchanges it applies to (matched against `<family>/<exchange name>`). */
  exchanges: RegExp;
  /** Why hubwire does otherwise, and why that is right or harmless. */
  reason: string;
  /** Turns ASP.NET Core's transcript into hubwire's. */
  rewrite: (lines: string[]) => string[];
}

/** Replaces text in every line. */
const replace =
  (from: string | RegExp, to: string) =>
  (lines: string[]): string[] =>
    lines.map((line) => line.replace(from, to));

export const differences: Difference[] = [];

/** The recording as hubwire is meant to answer it. */
export function expectedOf(key: string, recorded: string[], used: Set<Difference>): string[] {
  let lines = recorded;
  for (const difference of differences) {
    if (!difference.exchanges.test(key)) continue;
    const rewritten = difference.rewrite(lines);
    if (rewritten.join("\n") !== lines.join("\n")) used.add(difference);
    lines = rewritten;
  }
  return lines;
}

export { replace };
