import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { MessageType, type HubMessage } from "@microsoft/signalr";
import { decodeMulti } from "@msgpack/msgpack";
import WebSocket from "ws";
import { startInteropServer } from "../../samples/interop-server/app.js";
import { silentLogger } from "../../src/index.js";
import type { FuzzClient } from "../robustness/fuzz-client.js";
import { FuzzHttp } from "../robustness/fuzz-http.js";
import { FuzzSocket } from "../robustness/fuzz-socket.js";
import { describeFrame, mutatedPostBody, wireFormats, type WireFormat } from "../robustness/wire-formats.js";
import { mutateText, mutateValue, pick, seededRandom, splitLengthPrefixed } from "../robustness/mutations.js";
import { aspnetcoreEnv, hubwireOptions } from "./variants.js";
import { within } from "../support/wait.js";

// `npm run conformance:mutations [cases] [seed] [out]`: sends ASP.NET Core SignalR (the reference
// server) and hubwire the same mutated input and compares what each got.
//
// - Hub messages (test/robustness/mutations.ts), each on a fresh connection followed by an Echo:
//   over WebSockets with stateful reconnect off and on, and POSTed over long polling and (JSON)
//   Server-Sent Events, where JSON bodies that are not UTF-8 come too. The Echo answered, the
//   connection closed with an error, closed by the client's own Close, or no answer (ASP.NET Core
//   waits for more after a message of an unknown type).
// - Handshake requests: accepted, refused, closed or no answer.
// - Negotiate and connection requests with odd paths, methods and query values: status and body.
//
// It prints how often each pair of outcomes came and writes the inputs whose outcomes differ to
// `out` (JSON), to be read and turned into recorded exchanges (exchanges/): fixed in hubwire, or
// listed in differences.ts.

const cases = Number(process.argv[2] ?? 1000);
const seed = Number(process.argv[3] ?? 1);
/** Where the differing inputs go: beside the built tool (dist/ is not committed) unless given. */
const out = process.argv[4] ?? join(process.cwd(), "dist", "conformance", "mutation-differences.json");

/** How long a frame's Echo may wait before its connection counts as stalled. */
const stalledAfterMs = 1500;

/** Well-formed messages of every type a client sends, for the fixture's TestHub. */
const seedMessages: HubMessage[] = [
  { type: MessageType.Invocation, invocationId: "1", target: "Echo", arguments: ["hello"], headers: {} },
  { type: MessageType.Invocation, target: "Echo", arguments: ["x"], headers: {} },
  { type: MessageType.Invocation, invocationId: "3", target: "Nope", arguments: [], headers: {} },
  { type: MessageType.StreamInvocation, invocationId: "4", target: "Stream", arguments: [], headers: {} },
  { type: MessageType.CancelInvocation, invocationId: "4", headers: {} },
  { type: MessageType.StreamItem, invocationId: "6", item: "item", headers: {} },
  { type: MessageType.Completion, invocationId: "6", headers: {} },
  { type: MessageType.Completion, invocationId: "7", result: 1, headers: {} },
  { type: MessageType.Ping },
  { type: MessageType.Close, error: "bye", allowReconnect: true },
  { type: MessageType.Ack, sequenceId: 1 },
  { type: MessageType.Ack, sequenceId: 0 },
  { type: MessageType.Sequence, sequenceId: 1 },
  { type: MessageType.Sequence, sequenceId: 5 },
];

/** A way to send the hub mutated messages: a protocol over a transport, stateful reconnect on or off. */
interface MessageVariant {
  name: string;
  format: WireFormat;
  stateful: boolean;
  open(url: string): Promise<FuzzClient>;
  mutate(frame: string | Uint8Array, random: (n: number) => number): string | Uint8Array;
}

const messageVariants: MessageVariant[] = [
  ...[false, true].flatMap((stateful) =>
    wireFormats.map((format) => ({
      name: `${format.name}${stateful ? ", stateful" : ""}`,
      format,
      stateful,
      open: (url: string) => FuzzSocket.open(url, format, stateful),
      mutate: format.mutate,
    })),
  ),
  ...wireFormats.map((format) => ({
    name: `${format.name} over long polling`,
    format,
    stateful: false,
    open: (url: string) => FuzzHttp.open(url, format, "LongPolling"),
    mutate: (frame: string | Uint8Array, random: (n: number) => number) => mutatedPostBody(format, frame, random),
  })),
  {
    name: "JSON over Server-Sent Events",
    format: wireFormats[0]!,
    stateful: false,
    open: (url: string) => FuzzHttp.open(url, wireFormats[0]!, "ServerSentEvents"),
    mutate: (frame: string | Uint8Array, random: (n: number) => number) => mutatedPostBody(wireFormats[0]!, frame, random),
  },
];

/** What a frame cost on one server, with the Close error that said why. */
async function costOn(url: string, variant: MessageVariant, frame: string | Uint8Array, n: number): Promise<string> {
  const client = await variant.open(url);
  try {
    const outcome = await client.costOf(frame, `probe ${n}`, `case ${n}`, stalledAfterMs);
    const close = client.received.find((m) => m.type === MessageType.Close);
    return close?.error ? `${outcome}: ${close.error}` : outcome;
  } catch (error) {
    const { message } = error as Error;
    if (/timed out/.test(message)) return "no answer";
    // The client's Close, read by the server although the frame's record is malformed after it.
    if (/without a Close error/.test(message)) return "closed without an error";
    return `failed: ${message}`;
  } finally {
    client.terminate();
  }
}

/** What a mutated handshake request got: accepted, refused with an error, the end, or nothing. */
async function handshakeOn(url: string, request: string): Promise<string> {
  const socket = new WebSocket(url.replace(/^http/, "ws"));
  try {
    await within(new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject)), `a WebSocket to ${url}`);
    const answer = new Promise<string>((resolve) => {
      socket.once("message", (data: Buffer) => {
        const text = data.toString();
        if (text === "{}\u001e") return resolve("accepted");
        const error = (/"error":"((?:[^"\\]|\\.)*)"/.exec(text) ?? [])[1];
        resolve(error === undefined ? `answered ${text}` : `refused: ${error}`);
      });
      socket.once("close", () => resolve("closed"));
    });
    socket.send(request);
    return await within(answer, "the handshake's answer", stalledAfterMs);
  } catch (error) {
    return /timed out/.test((error as Error).message) ? "no answer" : `failed: ${(error as Error).message}`;
  } finally {
    socket.terminate();
  }
}

/** A request to a hub's paths: its status, and its body with the ids masked. */
async function requestOn(base: string, method: string, path: string, body: string | undefined): Promise<string> {
  try {
    const res = await fetch(base + path, { method, body: method === "GET" || method === "HEAD" ? undefined : body });
    const text = (await res.text()).replace(/"connection(Id|Token)":"[^"]*"/g, '"connection$1":"…"');
    return `${res.status} ${text}`;
  } catch (error) {
    return `failed: ${(error as Error).message}`;
  }
}

/** Negotiate and connection requests made of the parts clients send, in odd mixes and with odd values. */
function mutatedRequest(random: (n: number) => number): { method: string; path: string; body: string | undefined } {
  const names = ["negotiateVersion", "useStatefulReconnect", "transferFormat", "id", "access_token", "requestedTransport"];
  const values = ["0", "1", "2", "-1", "x", "", "1.5", "99999999999", "true", "false", "1e3", " 1", "01", "%00", "Binary", "Text"];
  const paths = ["/testhub/negotiate", "/testhub/negotiate/", "/testhub/Negotiate", "/TESTHUB/negotiate", "/testhub/negotiatex", "/testhub//negotiate", "/testhub", "/testhub-nowebsockets/negotiate", "/authorizedhub/negotiate", "/authorizedhub"];
  const methods = ["POST", "POST", "POST", "GET", "PUT", "OPTIONS", "DELETE", "HEAD"];
  // A key now and then in capitals: ASP.NET Core matches keys whatever their case.
  const key = () => (random(6) === 0 ? pick(random, names).toUpperCase() : pick(random, names));
  const query = Array.from({ length: random(4) }, () => `${key()}=${pick(random, values)}`);
  const path = pick(random, paths) + (query.length > 0 ? `?${query.join("&")}` : "");
  return { method: pick(random, methods), path, body: random(4) === 0 ? pick(random, ["{}", "x", ""]) : undefined };
}

/** A MessagePack frame as its values, for a person to read; JSON frames read as they are. */
function decoded(frame: string | Uint8Array): unknown {
  if (typeof frame === "string") return frame;
  try {
    return [...decodeMulti(splitLengthPrefixed(frame)[0]!)];
  } catch (error) {
    return `not MessagePack: ${(error as Error).message}`;
  }
}

const root = process.cwd();
const { buildProject, dotnetMissingReason, projects, startReferenceServer } = (await import(
  pathToFileURL(join(root, "test", "reference", "dotnet.mjs")).href
)) as typeof import("../reference/dotnet.mjs");
const missing = dotnetMissingReason();
if (missing) {
  console.error(`cannot compare: ${missing}`);
  process.exit(1);
}
await buildProject(projects.aspnetcore);
// Each server as the fixture is, and with stateful reconnect allowed (where Ack and Sequence mean something).
const references = await Promise.all([startReferenceServer(), startReferenceServer({ env: aspnetcoreEnv.stateful })]);
const hubwires = await Promise.all([
  startInteropServer(0, { logger: silentLogger }),
  startInteropServer(0, { logger: silentLogger, ...hubwireOptions.stateful }),
]);
const [reference, hubwire] = [references[0], hubwires[0]];
const differing: unknown[] = [];
try {
  for (const variant of messageVariants) {
    const random = seededRandom(seed);
    const seeds = seedMessages.map(variant.format.frame);
    const pairs = new Map<string, number>();
    const on = variant.stateful ? 1 : 0;
    for (let n = 0; n < cases; n++) {
      const frame = variant.mutate(pick(random, seeds), random);
      const aspnetcore = await costOn(`${references[on]!.url}/testhub`, variant, frame, n);
      const ours = await costOn(`${hubwires[on]!.url}/testhub`, variant, frame, n);
      const kind = (outcome: string) => outcome.split(":")[0]!;
      const pair = `ASP.NET Core ${kind(aspnetcore)}, hubwire ${kind(ours)}`;
      pairs.set(pair, (pairs.get(pair) ?? 0) + 1);
      if (kind(aspnetcore) !== kind(ours)) differing.push({ protocol: variant.name, case: n, frame: describeFrame(frame), decoded: decoded(frame), aspnetcore, hubwire: ours });
    }
    console.log(`${variant.name}, ${cases} frames (seed ${seed}):`);
    for (const [pair, count] of [...pairs].sort((a, b) => b[1] - a[1])) console.log(`  ${String(count).padStart(6)}  ${pair}`);
  }
  // Handshake requests, mutated as JSON messages are (the record separator kept at the end).
  const random = seededRandom(seed);
  const requests = ['{"protocol":"json","version":1}', '{"protocol":"messagepack","version":1}'];
  const pairs = new Map<string, number>();
  for (let n = 0; n < cases; n++) {
    const text = pick(random, requests);
    const request = (random(2) === 0 ? mutateText(text, random) : JSON.stringify(mutateValue(JSON.parse(text), random))) + "\u001e";
    const aspnetcore = await handshakeOn(`${reference.url}/testhub`, request);
    const ours = await handshakeOn(`${hubwire.url}/testhub`, request);
    const kind = (outcome: string) => outcome.split(":")[0]!;
    const pair = `ASP.NET Core ${kind(aspnetcore)}, hubwire ${kind(ours)}`;
    pairs.set(pair, (pairs.get(pair) ?? 0) + 1);
    if (kind(aspnetcore) !== kind(ours)) differing.push({ protocol: "handshake", case: n, frame: JSON.stringify(request), aspnetcore, hubwire: ours });
  }
  console.log(`handshakes, ${cases} requests (seed ${seed}):`);
  for (const [pair, count] of [...pairs].sort((a, b) => b[1] - a[1])) console.log(`  ${String(count).padStart(6)}  ${pair}`);
  // HTTP requests to the hubs' paths, compared by status and body.
  const requestRandom = seededRandom(seed);
  let sameRequests = 0;
  for (let n = 0; n < cases; n++) {
    const { method, path, body } = mutatedRequest(requestRandom);
    const aspnetcore = await requestOn(reference.url, method, path, body);
    const ours = await requestOn(hubwire.url, method, path, body);
    if (aspnetcore === ours) sameRequests++;
    else differing.push({ protocol: "http", case: n, frame: `${method} ${path}${body === undefined ? "" : ` (body '${body}')`}`, aspnetcore, hubwire: ours });
  }
  console.log(`requests, ${cases} (seed ${seed}): ${sameRequests} answered alike, ${cases - sameRequests} not`);
  // MessagePack's 64-bit integers and bytes, written as text.
  const readable = (_key: string, value: unknown) =>
    typeof value === "bigint" ? `${value}n` : value instanceof Uint8Array ? `bytes ${Buffer.from(value).toString("hex")}` : value;
  writeFileSync(out, `${JSON.stringify(differing, readable, 2)}\n`);
  console.log(`${differing.length} frames with different outcomes: ${out}`);
} finally {
  await Promise.all([...hubwires.map((server) => server.close()), ...references.map((server) => server.stop())]);
}
