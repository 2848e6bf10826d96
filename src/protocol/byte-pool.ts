/**
 * Small byte arrays cut from a shared slab, as Node's Buffer pool does, but in plain JavaScript
 * so protocols stay usable in browsers. V8 keeps a typed array of up to 64 bytes in its heap;
 * a larger one gets memory of its own from the allocator, and with the bookkeeping and garbage
 * collection that memory brings it costs about twenty times more to make. A view of a shared
 * slab costs the same at any size.
 *
 * The memory is not zeroed when handed out: callers write every byte. A slab lives as long as
 * any array cut from it.
 */
const SLAB_SIZE = 8 * 1024;
/** Up to this size V8 keeps a typed array in its heap, which is cheaper still than a view. */
const MAX_IN_HEAP = 64;
/** Larger arrays are allocated by themselves: their own cost is small beside what fills them. */
const MAX_POOLED = SLAB_SIZE / 4;

let slab = new ArrayBuffer(SLAB_SIZE);
let used = 0;

export function allocBytes(length: number): Uint8Array {
  if (length <= MAX_IN_HEAP || length > MAX_POOLED) return new Uint8Array(length);
  if (used + length > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    used = 0;
  }
  const bytes = new Uint8Array(slab, used, length);
  used = (used + length + 7) & ~7; // each array starts 8-byte aligned, as Node's pool does
  return bytes;
}
