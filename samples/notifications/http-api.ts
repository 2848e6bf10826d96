import type { IncomingMessage, ServerResponse } from "node:http";
import { readJson, reply, serveStatic, type StaticRoots } from "../shared/http-basics.js";
import { isValidName } from "../shared/sample-tokens.js";
import type { Publisher } from "./publisher.js";
import { issueToken, verifyToken } from "./sample-auth.js";

export type { StaticRoots } from "../shared/http-basics.js";

/**
 * The sample's plain HTTP side: sign-in, the publish endpoint, and the page's static files.
 * Returns false for requests it does not serve.
 */
export async function handleApi(req: IncomingMessage, res: ServerResponse, publisher: Publisher, roots: StaticRoots): Promise<boolean> {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (url.pathname === "/api/login" && req.method === "POST") {
    const body = await readJson(req, 16 * 1024);
    const name = (body as { name?: unknown } | undefined)?.name;
    if (!isValidName(name)) return reply(res, 400, { error: "A name of 1-32 letters, digits, spaces, dots, dashes or underscores is required." });
    const user = { name: name.trim(), admin: (body as { admin?: unknown }).admin === true };
    return reply(res, 200, { token: issueToken(user), user });
  }
  if (url.pathname === "/api/notify") {
    if (req.method !== "POST") return reply(res, 405, { error: "Use POST." });
    const auth = req.headers.authorization ?? "";
    const user = verifyToken(/^Bearer /i.test(auth) ? auth.slice(7).trim() : undefined);
    if (!user) return reply(res, 401, { error: "A bearer token from /api/login is required." });
    if (!user.admin) return reply(res, 403, { error: "Only admins may publish." });
    const body = await readJson(req, 16 * 1024);
    if (!body || typeof body !== "object") return reply(res, 400, { error: "A JSON body {kind, target, title, body} is required." });
    const result = await publisher.publish(body as never, user.name);
    return result.ok ? reply(res, 200, { id: result.notification.id, recipients: result.recipients }) : reply(res, 400, { error: result.error });
  }
  if (req.method === "GET") return serveStatic(url.pathname, res, roots);
  return false;
}
