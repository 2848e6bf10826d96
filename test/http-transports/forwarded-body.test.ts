import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import { ForwardedBody, type PartAnswer } from "../../src/transports/forwarded-body.js";
import { readBodyInPieces, type PiecesResult } from "../../src/transports/body-pieces.js";
import { PausableConnection } from "../support/piece-reader.js";

// The body of a POST another server forwards in parts, as its connection's server reads it: by
// readBodyInPieces, as a local POST's body. Each part is answered `taken` once read, so the
// forwarding server sends the next only then; the POST's answer answers a part too.

const RS = "\u001e";
const bytes = (text: string) => new Uint8Array(Buffer.from(text));
const ok = { status: 200, headers: {}, body: new Uint8Array(0) };

/** A body read in pieces by `connection`, with the answers its parts got and the pieces read. */
function forwardedBody(connection: PausableConnection, limit: number) {
  const answers: Array<[number, PartAnswer]> = [];
  const pieces: string[] = [];
  const body = new ForwardedBody((part, answer) => answers.push([part, answer]));
  const read = (): Promise<PiecesResult> => readBodyInPieces(body, limit, "text", connection, (piece) => pieces.push(piece.toString()));
  return { body, answers, pieces, read };
}

/** Lets the reads scheduled for the next tick (a part that came before its reader listened) happen. */
const nextTick = () => new Promise((resolve) => process.nextTick(resolve));

describe("ForwardedBody: a POST's body that comes in parts from another server", () => {
  it("reads a part that came before its reader listened, once it does, and answers each part but the last taken", async () => {
    const { body, answers, pieces, read } = forwardedBody(new PausableConnection(), 1000);
    body.take(1, bytes(`{"n":1}${RS}{"n"`), false);
    expect(answers).toEqual([]); // nobody reads yet
    const result = read();
    await nextTick();
    expect(answers).toEqual([[1, "taken"]]);
    body.take(2, bytes(`:2}${RS}`), false);
    body.take(3, bytes(`{"n":3}${RS}`), true);
    expect(await result).toEqual({ done: true });
    // Whole hub messages only, the one split between two parts joined.
    expect(pieces).toEqual([`{"n":1}${RS}`, `{"n":2}${RS}`, `{"n":3}${RS}`]);
    expect(answers).toEqual([
      [1, "taken"],
      [2, "taken"],
    ]);
    body.respond(ok);
    expect(answers.at(-1)).toEqual([3, ok]);
  });

  it("holds a part, unanswered, while its connection takes no data past the bound, and reads it once it does", async () => {
    const connection = new PausableConnection();
    const { body, answers, pieces, read } = forwardedBody(connection, 10);
    const result = read();
    await nextTick();
    connection.receivingPaused = true;
    body.take(1, bytes(`{"n":100}${RS}{"n":200}${RS}`), false); // past the bound of 10: reading pauses after it
    expect(answers).toEqual([[1, "taken"]]);
    body.take(2, bytes(`{"n":300}${RS}`), true);
    expect(pieces).toHaveLength(1);
    connection.resume();
    expect(await result).toEqual({ done: true });
    expect(pieces).toEqual([`{"n":100}${RS}{"n":200}${RS}`, `{"n":300}${RS}`]);
    body.respond(ok);
    expect(answers).toEqual([
      [1, "taken"],
      [2, ok],
    ]);
  });

  it("answers the next part with the POST's answer when the reader stopped at a part already taken", async () => {
    const { body, answers, read } = forwardedBody(new PausableConnection(), 10);
    const result = read();
    await nextTick();
    body.take(1, bytes("x".repeat(11)), false); // a hub message over the bound: the read ends
    expect(await result).toEqual({ tooLarge: true });
    const refused = { status: 413, headers: {}, body: new Uint8Array(0) };
    body.respond(refused);
    body.take(2, bytes("x"), true);
    expect(answers).toEqual([
      [1, "taken"],
      [2, refused],
    ]);
  });

  it("answers the part in flight with the POST's answer when it comes before the part is read", () => {
    const { body, answers } = forwardedBody(new PausableConnection(), 10);
    body.take(1, bytes(`{"n":1}${RS}`), false); // not read: the POST was refused before its body
    const refused = { status: 403, headers: {}, body: new Uint8Array(0) };
    body.respond(refused);
    expect(answers).toEqual([[1, refused]]);
  });

  it("ends the read as a dropped request's when aborted, and calls back when the next part does not come in time", async () => {
    const { body, read } = forwardedBody(new PausableConnection(), 100);
    const result = read();
    await nextTick();
    body.take(1, bytes(`{"n":1}${RS}`), false);
    let timedOut: () => void = () => {};
    const late = new Promise<void>((resolve) => (timedOut = resolve));
    body.awaitNext(10, timedOut);
    await late;
    body.abort();
    expect(await result).toEqual({ aborted: true });
  });
});
