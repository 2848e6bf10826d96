// `Buffer` imported, not the global (see websocket-frames.ts).
import { Buffer } from "node:buffer";

/**
 * The bytes of a hub message not yet whole, read piece by piece (see FrameReader and
 * readBodyInPieces): kept as the pieces came, joined only when the message is handed on.
 */
export class HeldBytes {
  private parts: Buffer[] = [];
  /** How many bytes are held. */
  length = 0;

  hold(part: Buffer): void {
    this.parts.push(part);
    this.length += part.length;
  }

  /** What is held, then `whole` if given, as one buffer; nothing is held after. */
  takeWith(whole?: Buffer): Buffer {
    const parts = whole ? [...this.parts, whole] : this.parts;
    this.parts = [];
    this.length = 0;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  clear(): void {
    this.parts = [];
    this.length = 0;
  }
}
