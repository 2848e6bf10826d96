// The typed arrays' own `byteLength` getter and `set`, to be called directly (`byteLengthOf.call(bytes)`).
// Read as properties of a Node Buffer that reached a function as a Uint8Array (a JSON Completion's
// bytes, say), they take the engine's generic property lookup each time: some 130 instructions a
// read where it matters, on a hot path.

export const byteLengthOf = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype) as object, "byteLength")!.get!;

export const copyInto = Uint8Array.prototype.set;

// The getters of every typed array's `buffer` and `byteOffset`, called directly for the same reason.
const typedArrayPrototype = Object.getPrototypeOf(Uint8Array.prototype) as object;
const bufferOf = Object.getOwnPropertyDescriptor(typedArrayPrototype, "buffer")!.get!;
const byteOffsetOf = Object.getOwnPropertyDescriptor(typedArrayPrototype, "byteOffset")!.get!;

/**
 * A plain Uint8Array view of `bytes[start, start + length)`, also of a Buffer (a WebSocket's
 * message): hubs get what a browser would send, and a Buffer's own subarray would construct
 * through Buffer's species, in JavaScript.
 */
export function viewOf(bytes: Uint8Array, start: number, length: number): Uint8Array {
  return new Uint8Array(bufferOf.call(bytes) as ArrayBufferLike, (byteOffsetOf.call(bytes) as number) + start, length);
}
