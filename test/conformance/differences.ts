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

/** Rewrites each line; a MessagePack line whose decoded form changed gets its bytes anew. */
const eachLine = (change: (line: string) => string) => (lines: string[]) =>
  lines.map((line) => {
    const changed = change(line);
    return changed === line ? line : reencode(changed);
  });

/** `<prefix>[decoded] <hex>`: the bytes written again from the decoded form, as hubwire encodes it. */
function reencode(line: string): string {
  const match = /^(\S+< )(\[.*\]) [0-9a-f]+$/.exec(line);
  if (!match) return line;
  const value = JSON.parse(match[2]!) as unknown[];
  return `${match[1]}${match[2]} ${Buffer.from(msgpackFrame(value)).toString("hex")}`;
}

/** Keeps the transcript up to the first line matching `at` (included), then stops comparing. */
const upTo = (at: RegExp) => (lines: string[]) => {
  const end = lines.findIndex((l) => at.test(l));
  return end < 0 ? lines : [...lines.slice(0, end + 1), notComparedFurther];
};

/** Detail texts of ASP.NET Core's exceptions and the words hubwire uses for the same fault. */
const detailTexts: [aspnetcore: string, hubwire: string][] = [
  ["InvalidDataException: Expected 'version' to be of type Number.", "InvalidDataException: Missing or invalid 'version' property in the handshake."],
  ["InvalidDataException: Expected 'protocol' to be of type String.", "InvalidDataException: Missing or invalid 'protocol' property in the handshake."],
  [
    "InvalidDataException: Missing required property 'protocol'. Message content: {\\\"version\\\":1}",
    "InvalidDataException: Missing or invalid 'protocol' property in the handshake.",
  ],
  [
    "InvalidDataException: Missing required property 'protocol'. Message content: {\\\"type\\\":6}",
    "InvalidDataException: Missing or invalid 'protocol' property in the handshake.",
  ],
  [
    "InvalidDataException: Missing required property 'version'. Message content: {\\\"protocol\\\":\\\"json\\\"}",
    "InvalidDataException: Missing or invalid 'version' property in the handshake.",
  ],
  [
    "InvalidDataException: Missing required property 'version'. Message content: {\\\"protocol\\\":\\\"messagepack\\\"}",
    "InvalidDataException: Missing or invalid 'version' property in the handshake.",
  ],
  [
    "JsonReaderException: Expected depth to be zero at the end of the JSON payload. There is an open JSON object or array that should be closed. LineNumber: 0 | BytePositionInLine: 12.",
    "InvalidDataException: The handshake is not valid JSON: Unexpected end of JSON input",
  ],
  [
    "JsonReaderException: The input does not contain any JSON tokens. Expected the input to start with a valid JSON token, when isFinalBlock is true. LineNumber: 0 | BytePositionInLine: 0.",
    "InvalidDataException: The handshake is not valid JSON: Unexpected end of JSON input",
  ],
  ["InvalidDataException: Unexpected JSON Token Type 'Array'. Expected a JSON Object.", "InvalidDataException: The handshake must be a JSON object."],
  ["InvalidDataException: Unexpected JSON Token Type 'String'. Expected a JSON Object.", "InvalidDataException: The handshake must be a JSON object."],
  ["InvalidDataException: Expected 'invocationId' to be of type String.", "InvalidDataException: Expected 'invocationId' to be a non-empty string."],
  ["InvalidDataException: Expected header 'a' to be of type String.", "InvalidDataException: Expected every header value to be a string."],
  [
    "InvalidOperationException: Unable to resolve service for type 'Hubwire.Reference.UnregisteredService' while attempting to activate 'Hubwire.Reference.UncreatableHub'.",
    'ServiceNotFoundError: Service with \\"MaybeConstructable<UnregisteredService>\\" identifier was not found in the container. Register it before usage via explicitly calling the \\"Container.set\\" function or using the \\"@Service()\\" decorator.',
  ],
  ["MessagePackSerializationException: Unexpected msgpack code 193 ((never used)) encountered.", "InvalidDataException: Invalid MessagePack: Unrecognized type byte: 0xc1"],
  ["FormatException: Messages over 2GB in size are not supported.", "InvalidDataException: Messages over 2GB in size are not supported."],
];

export const differences: Difference[] = [
  {
    exchanges: /./,
    reason:
      "Error details (sent with detailed errors on) are each server's own words: .NET names its exception types and " +
      "System.Text.Json's reader positions, hubwire names the fault in its own terms. The prefix before the detail, " +
      "which clients show and match on, is the same.",
    rewrite: eachLine((line) => detailTexts.reduce((l, [from, to]) => l.split(from).join(to), line)),
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

/** hubwire's transcript cut where the expected one stops being compared. */
export function comparable(actual: string[], expected: string[]): string[] {
  return expected.at(-1) === notComparedFurther ? [...actual.slice(0, expected.length - 1), notComparedFurther] : actual;
}
