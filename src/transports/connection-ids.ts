import { Buffer } from "node:buffer";
import { randomFillSync } from "node:crypto";

// Random bytes are drawn a few kilobytes at a time (as crypto.randomUUID does): one call per
// 256 ids instead of one per id, which shows when thousands of clients connect at once.
const idBytes = 16;
const pool = Buffer.alloc(idBytes * 256);
let offset = pool.length;

/** 16 cryptographically random bytes, base64url (22 characters), as ASP.NET Core makes them. */
export function newConnectionId(): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString("base64url", offset, offset + idBytes);
  offset += idBytes;
  return id;
}
