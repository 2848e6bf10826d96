// Masks what differs from run to run (connection ids and tokens, bearer tokens) so a transcript
// compares equal across runs and servers. Dates, ports and timings never reach a transcript: the
// recorded headers leave out Date, sends use fixed URLs, and reads wait on events, not clocks.

export type SecretKind = "connectionId" | "connectionToken" | "jwt" | "serverInvocationId";

export class Masker {
  private readonly secrets: { text: string; hex: string; label: string }[] = [];
  private readonly counts = new Map<SecretKind, number>();
  private readonly patterns: [string, string][] = [];

  /** Masks `text` from now on, as `<kind#n>` numbered by first appearance in the exchange. */
  add(text: string | undefined, kind: SecretKind): void {
    if (!text || this.secrets.some((s) => s.text === text)) return;
    const n = (this.counts.get(kind) ?? 0) + 1;
    this.counts.set(kind, n);
    const secret = { text, hex: Buffer.from(text).toString("hex"), label: `<${kind}#${n}>` };
    this.secrets.push(secret);
    // Longest first: a token may contain an id.
    this.secrets.sort((a, b) => b.text.length - a.text.length);
  }

  /**
   * Masks the invocation id of a server-to-client invocation (a client result): servers number
   * them from counters shared by all connections. Only where it stands as an invocation id, as
   * JSON text or as a MessagePack string, since it is a short number.
   */
  addInvocationId(id: string): void {
    const n = (this.counts.get("serverInvocationId") ?? 0) + 1;
    this.counts.set("serverInvocationId", n);
    const label = `<serverInvocationId#${n}>`;
    const bytes = Buffer.from(id);
    const msgpackHex = Buffer.concat([Buffer.from([0xa0 | bytes.length]), bytes]).toString("hex");
    this.patterns.push(
      [`"invocationId":"${id}"`, `"invocationId":"${label}"`],
      [`,"${id}",`, `,"${label}",`],
    );
    // [type, {}, id, ...]: an invocation (1) or its completion (3), in arrays of 4 to 6 items.
    for (const size of [4, 5, 6]) for (const type of [1, 3]) this.patterns.push([`9${size}0${type}80${msgpackHex}`, `9${size}0${type}80${label}`]);
  }

  /** The line with every secret masked: as text, URL-encoded, and as hex (MessagePack bytes). */
  apply(line: string): string {
    let out = line;
    for (const { text, hex, label } of this.secrets) {
      out = out.split(text).join(label).split(encodeURIComponent(text)).join(label).split(hex).join(label);
    }
    for (const [from, to] of this.patterns) out = out.split(from).join(to);
    // A masked id changes the message's length, so its length prefix goes too.
    return out.replace(/ [0-9a-f]{2}(9[4-6]0[13]80<serverInvocationId#)/, " ··$1");
  }
}

/** Pulls the ids out of a negotiate reply so they get masked. */
export function maskNegotiate(masker: Masker, body: string): void {
  try {
    const reply = JSON.parse(body) as { connectionId?: string; connectionToken?: string };
    masker.add(reply.connectionToken, "connectionToken");
    masker.add(reply.connectionId, "connectionId");
  } catch {
    // Not JSON: nothing to mask.
  }
}

/**
 * A long run of one character, or of one byte in hex, written once with its count (`y⟨×32000⟩`),
 * so that a large message keeps the transcript readable; the count keeps it exact.
 */
export function compactRuns(line: string): string {
  return line.replace(/(.)\1{63,}/g, (run, c: string) => `${c}⟨×${run.length}⟩`).replace(/([0-9a-f]{2})\1{31,}/g, (run, pair: string) => `${pair}⟨×${run.length / 2}⟩`);
}
