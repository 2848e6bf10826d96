import type { Channel } from "./channel.js";
import { msgpackFrame, renderMessage, type Protocol } from "./framing.js";
import { bodyLine, headerLines, send as sendHttp } from "./http.js";
import { compactRuns, Masker, maskNegotiate } from "./normalize.js";
import { openChannel, type TransportName } from "./transports.js";

// An exchange is a list of steps; running it against a server gives its transcript, one line per
// request, response, frame sent and message received, masked so that it is the same on every run.

/** Which server variant an exchange needs (conformance/README.md). */
export type ServerVariant = "default" | "stateful" | "short";

export interface Exchange {
  /** Unique; the recording's key. */
  name: string;
  server?: ServerVariant;
  /** Runs alone, after the others: it reaches every connection of its hub (a broadcast). */
  exclusive?: boolean;
  steps: Step[];
}

/** What a step sends: text, bytes, or a MessagePack message (framed with its length). */
export type Payload = string | Uint8Array | { msgpack: unknown[] };

export type Step =
  /** A plain HTTP request; `{token}`, `{id}` and `{jwt}` in the path and headers take the last seen values. */
  | { http: { method: string; path: string; headers?: Record<string, string>; body?: string } }
  /** Opens a connection; `channel` names it when an exchange has several (default: the transport). */
  | {
      open: {
        transport: TransportName;
        path: string;
        protocol: Protocol | "raw";
        headers?: Record<string, string>;
        channel?: string;
        /** Whether the server will answer a handshake first (default true unless raw). */
        handshake?: boolean;
      };
    }
  /** `fragments`: WebSockets only, the message sent in fragments of that many bytes (the last shorter). */
  | { send: Payload; channel?: string; fragments?: number }
  /** Reads messages until the channel's end, a keep-alive ping, a completion of an invocation id, or n messages. */
  | { read: "end" | "ping" | { completion: string } | { messages: number }; channel?: string }
  /** Closes the channel from the client side. */
  | { close: true; channel?: string }
  /** Drops a WebSocket without a close frame, as a lost network does. */
  | { drop: true; channel?: string }
  /** Answers the last invocation the server sent (a client result) with this completion. */
  | { reply: { result?: unknown; error?: string }; channel?: string };

/** How long a read waits before it writes down that nothing came (never reached by a passing script). */
const readLimitMs = 5000;

/** Runs the steps against `base` (`http://127.0.0.1:<port>`) and resolves with the transcript. */
export async function runExchange(base: string, exchange: Exchange): Promise<string[]> {
  const masker = new Masker();
  const lines: string[] = [];
  const channels = new Map<string, Channel>();
  const values: Record<string, string> = {};
  const fill = (text: string) => text.replace(/\{(token|id|jwt)\}/g, (_m, key: string) => values[key] ?? `{${key}}`);
  const write = (...more: string[]) => lines.push(...more.map((l) => compactRuns(masker.apply(l))));
  const channelOf = (step: { channel?: string }) => {
    const name = step.channel ?? [...channels.keys()].at(-1);
    const channel = name && channels.get(name);
    if (!channel) throw new Error(`${exchange.name}: no channel ${step.channel ?? ""}`);
    return { name: name!, channel };
  };
  try {
    for (const step of exchange.steps) {
      if ("http" in step) {
        const req = { ...step.http, path: fill(step.http.path), headers: fillHeaders(step.http.headers, fill) };
        const res = await bounded(sendHttp(base, req), "an HTTP answer");
        const body = res.body.toString("utf8");
        if (/\/negotiate/i.test(req.path)) maskNegotiate(masker, body);
        if (/generatejwttoken/i.test(req.path) && res.status === 200) {
          masker.add(body, "jwt");
          values.jwt = body;
        }
        try {
          const reply = JSON.parse(body) as { connectionToken?: string; connectionId?: string };
          if (reply.connectionId) values.id = reply.connectionId;
          values.token = reply.connectionToken ?? reply.connectionId ?? values.token ?? "";
        } catch {
          // Not a negotiate reply.
        }
        write(`${req.method} ${req.path}${req.body !== undefined ? ` ${JSON.stringify(req.body)}` : ""}`);
        for (const [name, value] of Object.entries(req.headers ?? {})) write(`  > ${name}: ${value}`);
        write(`  ${res.status}`, ...headerLines(res.headers), bodyLine(res.body));
      } else if ("open" in step) {
        const o = step.open;
        const name = o.channel ?? o.transport;
        const path = fill(o.path);
        const channel = openChannel(o.transport, {
          base,
          path,
          protocol: o.protocol,
          headers: fillHeaders(o.headers, fill),
          handshake: o.handshake ?? o.protocol !== "raw",
        });
        channels.set(name, channel);
        write(`${name} open ${o.transport} ${path}`, ...(await bounded(channel.opened, "the transport to open")));
      } else if ("send" in step) {
        const { name, channel } = channelOf(step);
        const data = typeof step.send === "string" || step.send instanceof Uint8Array ? step.send : msgpackFrame(step.send.msgpack);
        const fragments = step.fragments ? ` (in fragments of ${step.fragments} bytes)` : "";
        write(`${name}> ${describeSent(data)}${fragments}`, ...(await bounded(channel.send(data, step.fragments), "a send to be taken")));
      } else if ("read" in step) {
        const { name, channel } = channelOf(step);
        const until = step.read;
        const deadline = Date.now() + readLimitMs;
        for (let count = 0; ; ) {
          const event = await channel.next(Math.max(0, deadline - Date.now()));
          if (!event) {
            write(`${name}< (nothing more within the read limit)`);
            break;
          }
          // Keep-alive pings and stateful reconnect's acks are the server's timers, not answers:
          // their number is timing. A script that waits for a ping writes down the first.
          if (event.kind === "message" && event.type === 8) continue;
          if (event.kind === "message" && event.type === 6) {
            if (until !== "ping") continue;
            write(`${name}< ${event.line}`);
            break;
          }
          if (event.kind === "message" && event.type === 1 && event.invocationId !== undefined) {
            values.serverInvocation = event.invocationId;
            masker.addInvocationId(event.invocationId);
          }
          write(`${name}< ${event.line}`);
          if (event.kind === "end") break;
          count++;
          if (typeof until === "object" && "messages" in until && count >= until.messages) break;
          if (typeof until === "object" && "completion" in until && event.type === 3 && event.invocationId === until.completion) break;
        }
      } else if ("reply" in step) {
        const { name, channel } = channelOf(step);
        const data = completionFor(channel.protocol, values.serverInvocation ?? "", step.reply);
        write(`${name}> ${describeSent(data)}`, ...(await bounded(channel.send(data), "a send to be taken")));
      } else if ("drop" in step) {
        const { name, channel } = channelOf(step);
        channel.drop();
        write(`${name} dropped by the client`);
      } else if ("close" in step) {
        const { name, channel } = channelOf(step);
        await bounded(channel.close(), "the close");
        write(`${name} closed by the client`);
      }
    }
  } catch (error) {
    write(`failed: ${(error as Error).message}`);
  } finally {
    await Promise.all([...channels.values()].map((c) => (c.ended ? undefined : bounded(c.close(), "the close").catch(() => undefined))));
  }
  return lines;
}

/** A step's promise, or a failure naming what never came (a script that waits on nothing wrong never sees it). */
async function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${readLimitMs} ms`)), readLimitMs);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}

function completionFor(protocol: Channel["protocol"], id: string, outcome: { result?: unknown; error?: string }): string | Uint8Array {
  if (protocol !== "msgpack") return `${JSON.stringify({ type: 3, invocationId: id, ...outcome })}\x1e`;
  return msgpackFrame(outcome.error !== undefined ? [3, {}, id, 1, outcome.error] : [3, {}, id, 3, outcome.result]);
}

function fillHeaders(headers: Record<string, string> | undefined, fill: (t: string) => string) {
  return headers && Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, fill(v)]));
}

function describeSent(data: string | Uint8Array): string {
  if (typeof data === "string") return data.replace(/\x1e/g, "␞");
  return `bytes ${renderMessage({ bytes: data, kind: "binary" })}`;
}
