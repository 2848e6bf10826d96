import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";
import type { ForwardedResponse } from "./forwarded-reply.js";
import type { BodySource } from "./request-body.js";

/** What a part of a forwarded body is answered: `taken` (send the next), or the POST's own answer. */
export type PartAnswer = "taken" | ForwardedResponse;

/** The answer to a part that comes after its body was given up (see abort): the forwarding server was too slow to send it. */
export const bodyGivenUp: ForwardedResponse = {
  status: 408,
  headers: { "Content-Type": "text/plain; charset=utf-8", Connection: "close" },
  body: Buffer.from("The rest of the send did not come in time."),
};

/**
 * The body of a POST that another server forwards in parts (one larger than a whole read), as
 * the server holding its connection reads it: in place of the request, by readBodyInPieces as a
 * local POST's body is read. Each part is one read, handed on when it comes or, while reading is
 * paused, once it resumes, and is then answered `taken`: only then does the forwarding server
 * read and send the next. So a body waiting for a connection that takes no data waits on the
 * client's side: here one part at most. The POST's answer (`respond`) answers the part not yet
 * taken, or, if every part so far was, the next one to come.
 */
export class ForwardedBody extends EventEmitter implements BodySource {
  destroyed = false;
  private paused = false;
  private ended = false;
  private waiting: { id: number; bytes: Buffer; last: boolean } | undefined;
  /** The part received and not answered yet, if any. */
  private open: number | undefined;
  /** The POST's answer, written while no part was open: it answers the next. */
  private response: ForwardedResponse | undefined;
  /** Armed while the next part is awaited (see awaitNext). */
  private nextTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly answer: (part: number, answer: PartAnswer) => void) {
    super();
  }

  /** Part `id` of the body: read now, or once reading resumes. */
  take(id: number, bytes: Uint8Array, last: boolean): void {
    clearTimeout(this.nextTimer);
    if (this.response) return this.answer(id, this.response);
    if (this.destroyed || this.ended) return this.answer(id, bodyGivenUp);
    this.open = id;
    this.waiting = { id, bytes: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), last };
    this.flush();
  }

  /** The POST's answer. */
  respond(response: ForwardedResponse): void {
    const open = this.open;
    this.open = undefined;
    if (open === undefined) this.response = response;
    else this.answer(open, response);
  }

  /** Calls `onTimeout` unless the next part comes within `timeoutMs` (the forwarding server may have died). */
  awaitNext(timeoutMs: number, onTimeout: () => void): void {
    this.nextTimer = setTimeout(onTimeout, timeoutMs);
    this.nextTimer.unref();
  }

  override on(event: string | symbol, listener: (...args: any[]) => void): this {
    super.on(event, listener);
    // A part may have come before its reader listened (the POST waited its turn): it is read
    // once the reader has added its other listeners too, which it does in the same turn.
    if (event === "data") process.nextTick(() => this.flush());
    return this;
  }

  pause(): this {
    this.paused = true;
    return this;
  }

  resume(): this {
    if (!this.paused) return this;
    this.paused = false;
    this.flush();
    return this;
  }

  /** The forwarding server's client left, or the next part did not come: the read ends as for a dropped request. */
  abort(): void {
    clearTimeout(this.nextTimer);
    if (this.destroyed || this.ended) return;
    this.destroyed = true;
    this.waiting = undefined;
    this.emit("aborted");
    this.emit("close");
  }

  private flush(): void {
    const part = this.waiting;
    if (!part || this.paused || this.destroyed || this.listenerCount("data") === 0) return;
    this.waiting = undefined;
    this.emit("data", part.bytes);
    if (part.last) {
      // The last part is answered by the POST's answer.
      this.ended = true;
      this.emit("end");
      return;
    }
    // Taken. Should the reader have stopped with it (the body is too large, the connection
    // ended), the POST's answer, written once the reader has settled, answers the next part.
    if (this.open === part.id && !this.destroyed) {
      this.open = undefined;
      this.answer(part.id, "taken");
    }
  }
}
