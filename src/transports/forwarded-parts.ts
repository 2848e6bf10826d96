import { bodyGivenUp, ForwardedBody } from "./forwarded-body.js";
import { ForwardedReply } from "./forwarded-reply.js";
import type { RoutedAnswer, RoutedPart, RoutedRequest } from "./routed-messages.js";

/**
 * The POSTs that other servers forward in parts, on the server that holds their connections:
 * each one's body (see ForwardedBody) and reply, from its first part to its answer.
 */
export class ForwardedParts {
  /** By asking server and the POST's request id. */
  private readonly bodies = new Map<string, ForwardedBody>();

  constructor(
    /** The router's requests in service, by the same key: a POST is one until answered, so a client that leaves lets it go. */
    private readonly serving: Map<string, ForwardedReply>,
    private readonly answer: (server: string, answer: RoutedAnswer) => void,
    /** How long the next part is waited for (the forwarding server may have died). */
    private readonly timeoutMs: number,
  ) {}

  /** A POST's first part: the reply to serve it into, and the body to read it from. */
  open(message: RoutedRequest): { reply: ForwardedReply; body: ForwardedBody } {
    const { from, id } = message;
    const key = `${from}:${id}`;
    const done = () => {
      this.serving.delete(key);
      this.bodies.delete(key);
    };
    const body = new ForwardedBody((part, answer) => {
      if (answer !== "taken") {
        done();
        return this.answer(from, { kind: "reply", id: part, ...answer });
      }
      this.answer(from, { kind: "taken", id: part });
      // No next part in time: the POST is let go of as if its client had left.
      body.awaitNext(this.timeoutMs, () => {
        reply.abandon();
        done();
      });
    });
    let answered = false;
    const reply = new ForwardedReply((response) => {
      answered = true;
      body.respond(response);
    });
    reply.on("close", () => {
      body.abort();
      if (!answered) done();
    });
    this.serving.set(key, reply);
    this.bodies.set(key, body);
    body.take(id, message.body ?? new Uint8Array(0), false);
    return { reply, body };
  }

  /** A later part; one of a POST let go of already is answered so. */
  take(message: RoutedPart): void {
    const body = this.bodies.get(`${message.from}:${message.of}`);
    if (!body) return this.answer(message.from, { kind: "reply", id: message.id, ...bodyGivenUp });
    body.take(message.id, message.body, message.last === true);
  }
}
