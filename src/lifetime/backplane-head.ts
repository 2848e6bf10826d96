/**
 * The first fields of a backplane message, read without decoding the rest: a server drops its
 * own sends that come back on shared channels, and copies of sends it delivered already, before
 * paying for the whole message (its target and a payload per protocol).
 */
export interface BackplaneHead {
  kind: string;
  /** Undefined for a reply (it has none), or when the fields are not in the order below. */
  origin?: string;
  /** Undefined when the message has none, or when it is not the third field. */
  seq?: number;
}

const textDecoder = new TextDecoder();

/**
 * Reads `kind`, `origin` and `seq` when the message is a MessagePack map that starts with them,
 * in this order (`encodeBackplaneMessage` writes them so; older hubwire servers wrote `kind` and
 * `origin` first, and `seq` last). Undefined when it does not start with `kind`: the caller
 * decodes the whole message, and rejects it if it is none.
 */
export function readBackplaneHead(bytes: Uint8Array): BackplaneHead | undefined {
  const reader = new HeadReader(bytes);
  const entries = reader.mapLength();
  if (entries === undefined || entries < 1 || reader.string() !== "kind") return undefined;
  const kind = reader.string();
  if (kind === undefined) return undefined;
  const head: BackplaneHead = { kind };
  if (entries < 2 || reader.string() !== "origin") return head;
  head.origin = reader.string();
  if (head.origin === undefined || entries < 3 || reader.string() !== "seq") return head;
  head.seq = reader.unsigned();
  return head;
}

/** Just the MessagePack a head needs: a map's length, strings, unsigned integers. */
class HeadReader {
  private pos = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  mapLength(): number | undefined {
    const type = this.bytes[this.pos++];
    if (type === undefined) return undefined;
    if (type >= 0x80 && type <= 0x8f) return type & 0x0f;
    if (type === 0xde && this.has(2)) return this.advance(2, this.view.getUint16(this.pos));
    if (type === 0xdf && this.has(4)) return this.advance(4, this.view.getUint32(this.pos));
    return undefined;
  }

  string(): string | undefined {
    const type = this.bytes[this.pos++];
    let length: number;
    if (type === undefined) return undefined;
    if (type >= 0xa0 && type <= 0xbf) length = type & 0x1f;
    else if (type === 0xd9 && this.has(1)) length = this.advance(1, this.bytes[this.pos]!);
    else if (type === 0xda && this.has(2)) length = this.advance(2, this.view.getUint16(this.pos));
    else return undefined;
    if (!this.has(length)) return undefined;
    const start = this.pos;
    this.pos += length;
    // The names and ids read here are ASCII: build them directly, without a call into C++.
    let text = "";
    for (let i = start; i < this.pos; i++) {
      const byte = this.bytes[i]!;
      if (byte >= 0x80) return textDecoder.decode(this.bytes.subarray(start, this.pos));
      text += String.fromCharCode(byte);
    }
    return text;
  }

  unsigned(): number | undefined {
    const type = this.bytes[this.pos++];
    if (type === undefined) return undefined;
    if (type <= 0x7f) return type;
    if (type === 0xcc && this.has(1)) return this.advance(1, this.bytes[this.pos]!);
    if (type === 0xcd && this.has(2)) return this.advance(2, this.view.getUint16(this.pos));
    if (type === 0xce && this.has(4)) return this.advance(4, this.view.getUint32(this.pos));
    if (type === 0xcf && this.has(8)) {
      const value = this.view.getUint32(this.pos) * 2 ** 32 + this.view.getUint32(this.pos + 4);
      return this.advance(8, Number.isSafeInteger(value) ? value : undefined);
    }
    return undefined;
  }

  private has(length: number): boolean {
    return this.pos + length <= this.bytes.length;
  }

  private advance<T>(length: number, value: T): T {
    this.pos += length;
    return value;
  }
}
