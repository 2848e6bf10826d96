import { msgpackFrame } from "./framing.js";

// Every intended difference between hubwire and ASP.NET Core SignalR that the conformance
// exchanges show, once, with its reason. The replay test rewrites a recording (ASP.NET Core's
// transcript) with every entry that applies before comparing it with hubwire's; an entry that
// changes no recording fails the test, so none outlives its reason.

export interface Difference {
  /** The exchanges it applies to (matched against `<family>/<exchange name>`). */
  exchanges: RegExp;
  /** Why hubwire does otherwise, and why that is right or harmless. */
  reason: string;
  /** Turns ASP.NET Core's transcript into hubwire's. */
  rewrite: (lines: string[]) => string[];
}

/** A rewritten transcript that ends with this line is compared only up to it. */
export const notComparedFurther = "(not compared further: see differences.ts)";

/** `<prefix>[decoded] <hex>`: the bytes written again from the decoded form, as hubwire encodes it. */
function reencode(line: string): string {
  const match = /^(\S+< )(\[.*\]) [0-9a-f]+$/.exec(line);
  if (!match) return line;
  const value = JSON.parse(match[2]!) as unknown[];
  return `${match[1]}${match[2]} ${Buffer.from(msgpackFrame(value)).toString("hex")}`;
}

/** Stands for any text in an expected line (a detail each server words its own way). */
export const anyText = "…";

/** Lines of JSON or MessagePack messages: their text, and their bytes after it when MessagePack. */
const messageLine = /^(\S+[<>] (?:bytes )?)(.*?)( [0-9a-f]+)?$/;

/** Replaces `from` in the message part of each line; a MessagePack line's bytes then stand for any. */
const inMessages = (from: RegExp, to: string) => (lines: string[]) =>
  lines.map((line) => {
    const m = messageLine.exec(line);
    if (!m || !from.test(m[2]!)) return line;
    return `${m[1]}${m[2]!.replace(from, to)}${m[3] ? ` ${anyText}` : ""}`;
  });

/** Keeps lines up to the first that matches `at` (included), then stops comparing. */
const upToFirst = (at: RegExp) => (lines: string[]) => {
  const end = lines.findIndex((l) => at.test(l));
  return end < 0 ? lines : [...lines.slice(0, end + 1), notComparedFurther];
};

/** MessagePack lines written again the way hubwire encodes numbers (integral ones as integers). */
const integralNumbers = (lines: string[]) => lines.map((line) => (/^\S+< \[/.test(line) && !/<\w+#\d+>/.test(line) ? reencode(line) : line));

export const differences: Difference[] = [
  {
    exchanges: /./,
    reason:
      "ASP.NET Core invites a reconnect (allowReconnect: true) when it closes a connection over a message it cannot " +
      "read; hubwire does not, as the client would only send the same bytes again.",
    rewrite: (lines) => inMessages(/^(\{"type":7,"error":"Connection closed with an error\. [^"]*"),"allowReconnect":true\}/, "$1}")(inMessages(/^(\[7,"Connection closed with an error\. [^"]*"),true\]/, "$1,false]")(lines)),
  },
  {
    exchanges: /./,
    reason:
      "Error details (sent with detailed errors on) are each server's own words: .NET names its exception types and " +
      "System.Text.Json's and MessagePack-CSharp's messages, hubwire names the fault in its own terms. The text " +
      "before the detail, which clients show and match on, is the same.",
    rewrite: (lines) =>
      inMessages(
        /(Connection closed with an error\.|error occurred during connection handshake\.|due to an error on the server\.|on the server\. HubException: Failed to bind Stream message\.) (?:[^"\\]|\\.)*/,
        `$1 ${anyText}`,
      )(lines),
  },
  {
    exchanges: /(number for a string|object for a string|strings for numbers|booleans for numbers|nulls for numbers|list of strings|stream invocation with wrong arguments|upload item of the wrong type|bytes for a string)$/,
    reason:
      "hubwire does not check argument types: TypeScript's types are gone at run time, so a method gets the values " +
      "as sent and checks what it relies on. ASP.NET Core binds each to the parameter's .NET type and fails the call.",
    rewrite: upToFirst(/^\S+> /),
  },
  {
    exchanges: /msgpack (client result|Add|call count|upload of numbers|send an object to all)$/,
    reason:
      "A JavaScript number has one type: hubwire writes integral numbers as MessagePack integers, where .NET writes " +
      "a double for a double-typed result (or an int as a fixed-size integer). Every client reads the same number.",
    rewrite: integralNumbers,
  },
  {
    exchanges: /Echo of text beyond ASCII$/,
    reason:
      "ASP.NET Core's JSON escapes characters outside the Basic Multilingual Plane and writes escapes in upper case; " +
      "hubwire writes JSON.stringify's output. The same JSON string either way.",
    rewrite: (lines) => lines.map((l) => (/^\S+< \{/.test(l) ? l.replace(/\{.*\}/, (json) => JSON.stringify(JSON.parse(json))) : l)),
  },
  {
    exchanges: /a message split over two sends$/,
    reason:
      "hubwire reads each WebSocket message and POST as whole hub messages (every SignalR client sends them so) and " +
      "closes a connection that splits one; ASP.NET Core reads the transport as one byte stream. (A handshake may " +
      "span frames on both.)",
    rewrite: upToFirst(/^\S+> (bytes undecodable|\{"type":1,"invocationId":"1",$)/),
  },
  {
    exchanges: /msgpack (arguments not an array|invocation too short)$/,
    reason:
      "A MessagePack invocation too short or with arguments that are not an array is a message hubwire cannot read, " +
      "so it closes the connection as for any unreadable message; ASP.NET Core reads the arguments while binding " +
      "them and fails only that call.",
    rewrite: upToFirst(/^\S+> bytes /),
  },
  {
    exchanges: /json text after the message$|msgpack bytes after the message$|handshake text after the request$/,
    reason:
      "A record with text or bytes after its message's JSON object or MessagePack array, or after the handshake " +
      "request's object, is malformed to hubwire, which refuses it as any message it cannot read; ASP.NET Core " +
      "reads the object or array and ignores the rest of the record.",
    rewrite: upToFirst(/^\S+> (\{"type":6\}xyz|bytes undecodable|\{"protocol":"\w+","version":1\}x)/),
  },
  {
    exchanges: /json stream item (of an unknown stream with a numeric header|without a type)$|msgpack (stream item without its item|unknown method with stream ids that are not an array)$/,
    reason:
      "ASP.NET Core reads a message field by field and stops at the first that fails to bind (the item of a stream " +
      "it does not know, the arguments of a method it does not have), leaving the rest unchecked, in JSON even " +
      "before it has read the type. hubwire reads the whole message first and closes the connection over what is " +
      "malformed in it.",
    rewrite: upToFirst(/^\S+> (\{"type":2,"invocationId":"u"|\{"invocationId":"u"|bytes )/),
  },
  {
    exchanges: /json bytes that are not UTF-8 in (an argument|an unknown property)$/,
    reason:
      "A POST whose body is not UTF-8 is not text to hubwire, so a connection with a text protocol closes over " +
      "it, as both servers close a WebSocket over a text frame that is not UTF-8 (1007). ASP.NET Core reads the " +
      "bytes as they come and fails only what it must decode: a call whose argument holds them fails, a header " +
      "or target ends the connection, an unknown property is skipped.",
    rewrite: upToFirst(/^\S+> bytes /),
  },
  {
    exchanges: /json a property given twice, the first of the wrong type$/,
    reason:
      "hubwire reads a JSON message with JSON.parse, which keeps the last value of a property given twice; ASP.NET " +
      "Core reads each value in turn, so a first one of the wrong type closes the connection although the last is " +
      "right. With both well-formed, the last wins on both. No client writes a property twice.",
    rewrite: upToFirst(/^\S+> \{"type":1,"invocationId":1,"invocationId"/),
  },
  {
    exchanges: /msgpack a header named __proto__$/,
    reason:
      "hubwire's MessagePack decoder refuses a map key `__proto__` (as a JavaScript object's key it would set the " +
      "object's prototype), so the message is malformed to hubwire; ASP.NET Core reads it as any other key. JSON " +
      "keeps such a key as an ordinary property on both.",
    rewrite: upToFirst(/^\S+> bytes /),
  },
  {
    exchanges: /negative sequence id$/,
    reason:
      "Sequence ids count messages from 1: hubwire closes a connection that sends a negative one, stateful or not. " +
      "ASP.NET Core reads any 64-bit integer and, on a connection without stateful reconnect, ignores Ack and " +
      "Sequence messages.",
    rewrite: upToFirst(/^\S+> \{"type":9,"sequenceId":-1\}/),
  },
  {
    exchanges: /authorized hub with a token in the query$/,
    reason:
      "hubwire takes a bearer token from the access_token query only where browsers cannot send a header (the " +
      "WebSocket and SSE requests), so it stays out of logged URLs elsewhere; the fixture's ASP.NET Core handler " +
      "reads it on every request, negotiate included. Clients send negotiate's token as a header.",
    rewrite: upToFirst(/^POST \/authorizedhub\/negotiate/),
  },
  {
    exchanges: /authorized hub without negotiate and without a token$/,
    reason:
      "Without an id a request to the authorized hub is refused either way: ASP.NET Core authenticates first (401), " +
      "hubwire checks the id first (400, as for any hub).",
    rewrite: upToFirst(/ open (sse|lp) \/authorizedhub$/),
  },
  {
    exchanges: /send to two groups of one connection$/,
    reason:
      "SendToGroups reaches each connection once in hubwire, however many of the groups it is in; ASP.NET Core " +
      "sends once per group, so a connection in two of them gets the message twice.",
    rewrite: (lines) => lines.filter((l, i) => !(l.includes('"Received"') && l.includes('"groups"') && l === lines[i - 1])),
  },
  {
    exchanges: /POST before the connection starts$/,
    reason:
      "hubwire takes sends for a connection once its transport has started (a client has no way to send before); " +
      "ASP.NET Core buffers them. Either way nothing is lost for a client that follows the protocol.",
    rewrite: (lines) =>
      lines.map((l, i) => (l === "  200" && lines[i - 1]?.startsWith("POST /testhub?id=") ? "  404" : l === "  (empty body)" && lines[i - 2] === "  200" ? '  body "No Connection with that ID"' : l)),
  },
  {
    exchanges: /WebSocket with an unknown id$|a second (SSE request|WebSocket) for one connection$/,
    reason:
      "Refusals of a connection request carry their text as text/plain in hubwire, always; ASP.NET Core leaves the " +
      "type off a refused upgrade's 404, labels an empty 409 text/plain, and gives no text for a second SSE stream.",
    rewrite: (lines) =>
      lines.flatMap((l, i) => {
        if (l === "  404 not upgraded" && lines[i + 1]?.startsWith("  body ")) return [l, "  content-type: text/plain"];
        if (l === "  content-type: text/plain" && lines[i - 1] === "  409 not upgraded") return [];
        if (l === "  (empty body)" && lines[i - 2] === "  409") return ['  body "A Server-Sent Events stream is already open for this connection."'];
        return [l];
      }),
  },
  {
    exchanges: /^timers\/a long poll held to the poll timeout$/,
    reason:
      "ASP.NET Core labels some empty 200 answers (a send's, a poll that timed out) text/plain; hubwire sends a send's " +
      "answer with no type and a timed-out poll as application/octet-stream, as its other polls. The body is empty.",
    rewrite: (lines) =>
      lines.flatMap((l, i) => {
        if (l !== "  content-type: text/plain" || lines[i - 1] !== "  200") return [l];
        return lines[i - 2]?.startsWith("GET ") ? ["  content-type: application/octet-stream"] : [];
      }),
  },
  {
    exchanges: /unknown message type$/,
    reason:
      "A message of an unknown type is skipped by hubwire, as the protocol asks of new message types; ASP.NET Core " +
      "takes it as incomplete and waits for more bytes, so it never answers what follows.",
    rewrite: (lines) => lines.map((l) => (l.endsWith("(nothing more within the read limit)") ? l.replace("(nothing more within the read limit)", anyText) : l)),
  },
  {
    exchanges: /server closes with(out)? an error$/,
    reason:
      "The ASP.NET Core fixture's CloseMe writes its Close through internals and then aborts, and ASP.NET Core adds " +
      "a Close of its own; hubwire's fixture closes once. Clients act on the first.",
    rewrite: (lines) => lines.filter((l, i) => !(/^\S+< (\{"type":7\}␞|\[7,null,false\])/.test(l) && /^\S+< (\{"type":7|\[7,)/.test(lines[i - 1] ?? ""))),
  },
  {
    exchanges: /authorized hub (without an id or a token|with an unknown id and no token)$/,
    reason:
      "A request to a hub's path without a connection id, or with one no server holds, is answered 400 or 404 by " +
      "hubwire before it authenticates: what the request lacks is a connection, and a connection's requests are " +
      "authenticated against the connection's user. ASP.NET Core's authorization answers 401 before the id is read.",
    rewrite: (lines) =>
      lines[1] !== "  401"
        ? lines
        : /^GET /.test(lines[0]!)
          ? [lines[0]!, "  400", "  content-type: text/plain", '  body "Connection ID required"']
          : [lines[0]!, "  404", "  content-type: text/plain", '  body "No Connection with that ID"'],
  },
  {
    exchanges: /negotiate with (GET|PUT|DELETE|PATCH)$|PUT to a hub$/,
    reason: "hubwire answers 405 with the Allow header HTTP asks for and no body type; ASP.NET Core with an empty text/plain.",
    rewrite: (lines) => lines.map((l, i) => (l === "  content-type: text/plain" && lines[i - 1] === "  405" ? `  allow: ${/^PUT \/testhub\?/.test(lines[0] ?? "") ? "GET, POST, DELETE" : "POST"}` : l)),
  },
  {
    exchanges: /./,
    reason:
      "ASP.NET Core sets long polling's no-cache headers before it checks the request and keeps them on its error " +
      "answers; hubwire sets them on polls it answers. An error status is not cached either way.",
    rewrite: (lines) => lines.filter((l, i) => !(/^ {2}(cache-control|pragma|expires):/.test(l) && lines.slice(Math.max(0, i - 4), i).some((p) => /^ {2}4\d\d$/.test(p)))),
  },
];

/** The recording as hubwire is meant to answer it, and the differences that changed it. */
export function expectedOf(key: string, recorded: string[], used?: Set<Difference>): string[] {
  let lines = recorded;
  for (const difference of differences) {
    if (!difference.exchanges.test(key)) continue;
    const rewritten = difference.rewrite(lines);
    if (rewritten.join("\n") !== lines.join("\n")) used?.add(difference);
    lines = rewritten;
  }
  return lines;
}

/**
 * hubwire's transcript as compared: cut where the expected one stops being compared, and with
 * each line that an expected line with `…` matches taken as that line.
 */
export function comparable(actual: string[], expected: string[]): string[] {
  const cut = expected.at(-1) === notComparedFurther ? [...actual.slice(0, expected.length - 1), notComparedFurther] : [...actual];
  return cut.map((line, i) => {
    const want = expected[i];
    if (!want?.includes(anyText)) return line;
    const pattern = new RegExp(`^${want.split(anyText).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`, "s");
    return pattern.test(line) ? want : line;
  });
}
