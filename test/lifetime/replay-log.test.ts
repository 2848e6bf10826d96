import { describe, expect, it } from "vitest";
import { ReplayLog, type Handed } from "../../src/lifetime/replay-log.js";

const handed = (seq: number, at = Date.now(), bytes = 10): Handed => ({ channel: `c${seq}`, payload: new Uint8Array(bytes), at, seq });

describe("ReplayLog", () => {
  it("gives the messages handed after a number, oldest first, and keeps one handed again once", () => {
    const log = new ReplayLog({ maxAge: 60_000, maxBytes: 1_000 });
    for (const seq of [1, 2, 4, 2, 7]) log.handed(handed(seq));
    expect(log.after(2).messages.map((m) => m.seq)).toEqual([4, 7]);
    expect(log.after(0)).toMatchObject({ from: 1 });
    expect(log.after(7).messages).toEqual([]);
  });

  it("lets go of messages past its age and byte bounds, and says from which number it still has them", () => {
    const log = new ReplayLog({ maxAge: 1_000, maxBytes: 25 });
    const now = Date.now();
    log.handed(handed(1, now - 5_000));
    log.handed(handed(2, now));
    expect(log.after(0)).toMatchObject({ from: 2 });
    log.handed(handed(3, now));
    log.handed(handed(4, now)); // 30 bytes: the oldest goes
    const replay = log.after(0);
    expect(replay.from).toBe(3);
    expect(replay.messages.map((m) => m.seq)).toEqual([3, 4]);
  });

  it("with nothing kept, starts past the newest number", () => {
    const log = new ReplayLog({ maxAge: 1, maxBytes: 1_000 });
    log.handed(handed(5, Date.now() - 1_000));
    expect(log.after(3)).toEqual({ messages: [], from: 6 });
  });

  it("answers a request in parts of about 256 KiB, without the channels it is told to skip", () => {
    const log = new ReplayLog({ maxAge: 60_000, maxBytes: 16 * 1024 * 1024 });
    for (let seq = 1; seq <= 6; seq++) log.handed(handed(seq, Date.now(), 100 * 1024));
    const parts = log.answer("A", { kind: "resend", origin: "B", requestId: 7, after: 1 }, (channel) => channel === "c4");
    expect(parts.map((p) => [p.part, p.last, p.messages.map(([channel]) => channel)])).toEqual([
      [0, false, ["c2", "c3", "c5"]],
      [1, true, ["c6"]],
    ]);
    expect(parts[0]).toMatchObject({ kind: "resent", origin: "A", requestId: 7, from: 1 });
  });

  it("answers, before the number asked for, only what went to the channels of the request's earlier part", () => {
    const log = new ReplayLog({ maxAge: 60_000, maxBytes: 1_000 });
    for (let seq = 1; seq <= 6; seq++) log.handed(handed(seq));
    const parts = log.answer("A", { kind: "resend", origin: "B", requestId: 7, after: 4, earlier: { after: 1, channels: ["c3", "c4"] } }, () => false);
    expect(parts.map((p) => p.messages.map(([channel]) => channel))).toEqual([["c3", "c4", "c5", "c6"]]);
    expect(parts[0]).toMatchObject({ from: 1, last: true });
  });
});
