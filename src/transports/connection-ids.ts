import { randomBytes } from "node:crypto";

/** 16 cryptographically random bytes, base64url (22 characters), as ASP.NET Core makes them. */
export function newConnectionId(): string {
  return randomBytes(16).toString("base64url");
}
