import { BinaryRecordCursor } from "../protocol/binary-framing.js";
import { RECORD_SEPARATOR } from "../protocol/text-framing.js";

/**
 * Past this many bytes (characters, for text), a read's messages are handled in turns, the
 * other clients' between them (see ConnectionSession.receive). A WebSocket message or a POST may
 * hold up to a megabyte of messages by default: parsed and handled in one go, a megabyte of
 * pings held the event loop for some 50 ms.
 */
export const turnBytes = 64 * 1024;

/**
 * Where this turn's part of the records in `input[start, end)` ends: just past the first record
 * that ends `turnBytes` or more after `start`. `end` when that record is the last, or when the
 * records cannot be walked (the parse of the whole then says why).
 */
export function turnEnd(input: string | Uint8Array, start: number, end: number): number {
  if (end - start <= turnBytes) return end;
  if (typeof input === "string") {
    const separator = input.indexOf(RECORD_SEPARATOR, start + turnBytes - 1);
    return separator === -1 || separator + 1 >= end ? end : separator + 1;
  }
  const records = new BinaryRecordCursor(input.subarray(start, end), null);
  try {
    while (records.next()) if (records.end >= turnBytes) return start + records.end;
  } catch {
    // A malformed or truncated record: left to the parse.
  }
  return end;
}

/** A read, or the rest of one, waiting for its turn. */
export interface WaitingRead {
  data: string | Uint8Array;
  utf8: Uint8Array | undefined;
  start: number | undefined;
  end: number | undefined;
}

/**
 * A read too large for one turn, as this turn's part (`now`) and the rest; undefined when the
 * read fits in one. ASCII text is cut in place (its protocol reads parts, where characters are
 * bytes); other text into strings of its own, whose bytes are counted apart; bytes into views.
 */
export function splitTurn(data: string | Uint8Array, utf8: Uint8Array | undefined, start: number | undefined, end: number | undefined): { now: WaitingRead; rest: WaitingRead } | undefined {
  const from = start ?? 0;
  const to = end ?? (typeof data === "string" ? data.length : data.byteLength);
  const cut = turnEnd(data, from, to);
  if (cut === to) return undefined;
  if (typeof data === "string" && utf8?.length === data.length) {
    return { now: { data, utf8, start: from, end: cut }, rest: { data, utf8, start: cut, end: to } };
  }
  const part = (begin: number, until: number): WaitingRead => ({
    data: typeof data === "string" ? data.slice(begin, until) : data.subarray(begin, until),
    utf8: undefined,
    start: undefined,
    end: undefined,
  });
  return { now: part(from, cut), rest: part(cut, to) };
}

/** What the turns need of a connection whose reads wait. */
export interface TurnConnection {
  readonly isClosing: boolean;
  readonly transport: { pauseReceiving(): void; resumeReceiving(): void };
}

interface Waiting {
  /** The rest of the read handled in turns first, then what came meanwhile. */
  readonly reads: WaitingRead[];
  readonly connection: TurnConnection;
  /** Handles a read now; it may wait another turn for its own rest (see waitTurn). */
  readonly handle: (read: WaitingRead) => void;
}

/** By their owner (a connection's session): kept here, not on every session, as few ever have one. */
const waiting = new Map<object, Waiting>();

/** The reads of `owner` waiting for their turn, if any: a read that comes now goes behind them. */
export function readsWaiting(owner: object): WaitingRead[] | undefined {
  return waiting.size === 0 ? undefined : waiting.get(owner)?.reads;
}

/**
 * Has `rest` of a read handled at the event loop's next turn, before what is read meanwhile,
 * and the client not read until every waiting read is handled. Called from a turn, `rest` goes
 * first: it is the rest of that turn's read.
 */
export function waitTurn(owner: object, connection: TurnConnection, rest: WaitingRead, handle: (read: WaitingRead) => void): void {
  if (connection.isClosing) return;
  const queued = waiting.get(owner);
  if (queued) return void queued.reads.unshift(rest);
  waiting.set(owner, { reads: [rest], connection, handle });
  connection.transport.pauseReceiving();
  if (waiting.size === 1) setImmediate(takeTurns);
}

/** Each owner with reads waiting handles the first of them. */
function takeTurns(): void {
  for (const [owner, { reads, connection, handle }] of [...waiting]) {
    const read = reads.shift()!;
    if (!connection.isClosing) handle(read);
    if (reads.length > 0 && !connection.isClosing) continue;
    waiting.delete(owner);
    connection.transport.resumeReceiving();
  }
  if (waiting.size > 0) setImmediate(takeTurns);
}
