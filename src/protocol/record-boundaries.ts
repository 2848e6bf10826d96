import type { RecordFraming } from "./hub-protocol.js";
import { RECORD_SEPARATOR_CODE } from "./text-framing.js";

/** See RecordBoundaries.next. */
export const noBoundary = -1;
export const tooLarge = -2;
export const unreadable = -3;

/**
 * Finds where hub messages end in a transport message's bytes (a WebSocket message, a POST's
 * body), given in order, piece by piece as they arrive.
 */
export interface RecordBoundaries {
  /**
   * Where the first hub message to end in `piece` after `from` ends (just past it);
   * `noBoundary` if none does, `tooLarge` if one announces more than `maxLength` bytes,
   * `unreadable` if where one ends cannot be read (a length prefix over five bytes). Called with
   * `from` where the last call ended, and 0 for the next piece; not again after either fault.
   */
  next(piece: Uint8Array, from: number, maxLength: number): number;
}

/** The boundaries of hub messages in `framing`. */
export function recordBoundaries(framing: RecordFraming): RecordBoundaries {
  return framing === "text" ? new TextBoundaries() : new BinaryBoundaries();
}

/** JSON: a hub message ends with the record separator. */
class TextBoundaries implements RecordBoundaries {
  next(piece: Uint8Array, from: number): number {
    const separator = piece.indexOf(RECORD_SEPARATOR_CODE, from);
    return separator === -1 ? noBoundary : separator + 1;
  }
}

/** MessagePack: a hub message is its varint length (1 to 5 bytes, low 7-bit group first), then as many bytes. */
class BinaryBoundaries implements RecordBoundaries {
  /** Bytes of the hub message under way still to come, once its length is read. */
  private left = 0;
  private length = 0;
  private lengthBytes = 0;
  /** The length under way is read: the hub message's bytes come next (it may have none). */
  private inBody = false;

  next(piece: Uint8Array, from: number, maxLength: number): number {
    let at = from;
    while (at < piece.length || (this.inBody && this.left === 0)) {
      if (this.inBody) {
        const step = Math.min(this.left, piece.length - at);
        this.left -= step;
        at += step;
        if (this.left > 0) return noBoundary;
        this.inBody = false;
        return at;
      }
      const byte = piece[at++]!;
      this.length += (byte & 0x7f) * 2 ** (7 * this.lengthBytes);
      this.lengthBytes++;
      if (byte & 0x80) {
        if (this.lengthBytes === 5) return unreadable;
        continue;
      }
      if (this.length > maxLength) return tooLarge;
      this.left = this.length;
      this.length = 0;
      this.lengthBytes = 0;
      this.inBody = true;
    }
    return noBoundary;
  }
}
