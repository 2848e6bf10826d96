import type { IncomingMessage, ServerResponse } from "node:http";
import { readJson, reply, serveStatic, type StaticRoots } from "../shared/http-basics.js";
import { isValidName } from "../shared/sample-tokens.js";
import { issueToken } from "./sample-auth.js";

export type { StaticRoots } from "../shared/http-basics.js";

/** The sample's plain HTTP side: sign-in and the page's static files. Returns false for requests it does not serve. */
export async function handleApi(req: IncomingMessage, res: ServerResponse, roots: StaticRoots): Promise<boolean> {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname === "/api/login" && req.method === "POST") {
    const name = ((await readJson(req, 4 * 1024)) as { name?: unknown } | undefined)?.name;
    if (!isValidName(name)) return reply(res, 400, { error: "A name of 1-32 letters, digits, spaces, dots, dashes or underscores is required." });
    const user = { name: name.trim() };
    return reply(res, 200, { token: issueToken(user), user });
  }
  if (req.method === "GET") return serveStatic(url.pathname, res, roots);
  return false;
}
