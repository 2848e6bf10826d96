// The typed arrays' own `byteLength` getter and `set`, to be called directly (`byteLengthOf.call(bytes)`).
// Read as properties of a Node Buffer that reached a function as a Uint8Array (a JSON Completion's
// bytes, say), they take the engine's generic property lookup each time: some 130 instructions a
// read where it matters, on a hot path.

export const byteLengthOf = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype) as object, "byteLength")!.get!;

export const copyInto = Uint8Array.prototype.set;
