import type { Buffer } from "node:buffer";
import type { RecordFraming } from "../protocol/hub-protocol.js";
import { noBoundary, recordBoundaries, tooLarge, unreadable } from "../protocol/record-boundaries.js";
import { HeldBytes } from "./held-bytes.js";
import type { BodySource } from "./request-body.js";

export type PiecesResult = { done: true } | { tooLarge: true } | { aborted: true };

/** What reading a POST in pieces waits for: the connection the body is for (see TransportConnection). */
export interface PieceReader {
  /** The connection takes no data for now: the body is read on once it does. */
  readonly receivingPaused: boolean;
  whenReceiving(): Promise<void>;
  /** The connection has ended: the rest of the body is not read. */
  readonly isClosed: boolean;
}

/**
 * Reads a POST's body as it arrives, as ASP.NET Core does, and hands its hub messages (in
 * `framing`) to `receive` in pieces: with each read, the hub messages made whole by it. The
 * official clients gather the messages of a burst into one POST, of any size. A hub message not
 * whole waits, at most `limit` bytes (past that: tooLarge, and the rest is not read); one not
 * whole when the body ends, or whose end cannot be found, is handed on as it is, for the hub to
 * refuse. Past `limit` bytes, while the connection takes no data the body is not read, so the
 * client waits; once the connection has ended, the rest is not read.
 */
export function readBodyInPieces(
  req: BodySource,
  limit: number,
  framing: RecordFraming,
  connection: PieceReader,
  receive: (piece: Buffer) => void,
): Promise<PiecesResult> {
  // A request that waited its turn may have been dropped meanwhile: its events are over.
  if (req.destroyed) return Promise.resolve({ aborted: true });
  const boundaries = recordBoundaries(framing);
  const held = new HeldBytes();
  let bodyBytes = 0;
  // Where a hub message ends could not be read, or it announced more than `limit`: the rest goes
  // on as it comes, for the hub to refuse as it refuses such a message in a body read whole.
  let unframed = false;
  /** Where the whole hub messages in `chunk` end; all of it once where one ends cannot be found. */
  const wholeEnd = (chunk: Buffer): number => {
    let cut = 0;
    for (let next = boundaries.next(chunk, 0, limit); next !== noBoundary; next = boundaries.next(chunk, next, limit)) {
      if (next === tooLarge || next === unreadable) {
        unframed = true;
        return chunk.length;
      }
      cut = next;
    }
    return cut;
  };
  return new Promise((resolve) => {
    let done = false;
    const finish = (result: PiecesResult) => {
      if (done) return;
      done = true;
      resolve(result);
    };
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      const cut = unframed ? chunk.length : wholeEnd(chunk);
      if (cut > 0) receive(held.takeWith(chunk.subarray(0, cut)));
      if (connection.isClosed) {
        req.pause();
        return finish({ done: true });
      }
      if (cut < chunk.length) {
        held.hold(chunk.subarray(cut));
        if (held.length > limit) {
          req.pause();
          return finish({ tooLarge: true });
        }
      }
      // A body is read on up to `limit` bytes whatever the connection's state, as one read whole
      // is; past that it waits while the connection takes no data.
      bodyBytes += chunk.length;
      if (bodyBytes <= limit || !connection.receivingPaused) return;
      req.pause();
      void connection.whenReceiving().then(() => {
        if (!done) req.resume();
      });
    });
    req.on("end", () => {
      if (done) return;
      if (held.length > 0) receive(held.takeWith());
      finish({ done: true });
    });
    req.on("aborted", () => finish({ aborted: true }));
    req.on("error", () => finish({ aborted: true }));
    req.on("close", () => finish({ aborted: true }));
  });
}
