import { Buffer } from "node:buffer";
import { printableAscii } from "../protocol/json-protocol.js";
import { MessageType, type CompletionMessage, type HubMessage } from "../protocol/messages.js";
import { RECORD_SEPARATOR_CODE } from "../protocol/text-framing.js";
import { copyInto } from "../protocol/typed-array-access.js";

/**
 * The JSON record of `message` as UTF-8 bytes, for the messages written here (a plain
 * Completion, see {@link writePlainCompletionUtf8}); undefined for the others, which
 * `JsonHubProtocol.writeMessage` writes as text. Kept out of the protocol, which runs in browsers
 * too: the string is written with Node's native Latin-1 copy.
 */
export function writeJsonMessageUtf8(message: HubMessage): Uint8Array | undefined {
  return message.type === MessageType.Completion ? writePlainCompletionUtf8(message) : undefined;
}

/**
 * Writes the record most replies are, a Completion without headers whose result (or error) is
 * null, a boolean, a number or a short string of printable ASCII, as UTF-8 bytes, RS included,
 * byte for byte what `JsonHubProtocol.writeMessage` writes as text. The text goes from a
 * template to a joined string, which the transport flattens, measures in UTF-8 and encodes
 * again; here the record is sized first and written once: the fixed parts copied whole, the id
 * a character at a time, a string result checked by a regular expression and copied by Node.
 * (A loop over `charCodeAt` that checks and writes each character cost about 60 instructions a
 * character of a sliced string, the kind a parsed argument is: about twice both native steps.)
 *
 * Returns undefined for anything else (another value, a long string, one with a character JSON
 * escapes or outside ASCII), which the text writer writes.
 */
export function writePlainCompletionUtf8(message: CompletionMessage): Buffer | undefined {
  const { invocationId } = message;
  if (message.headers !== undefined || invocationId.length > MAX_STRING) return undefined;
  let key: Uint8Array | undefined;
  let keyLength = 0;
  let value: unknown;
  if (message.error !== undefined) {
    key = ERROR_KEY;
    keyLength = ERROR_KEY_LENGTH;
    value = message.error;
  } else if (message.hasResult) {
    key = RESULT_KEY;
    keyLength = RESULT_KEY_LENGTH;
    value = message.result ?? null;
  }
  // A number or boolean is written as its JSON text; a string as its characters in quotes.
  let text: string | undefined;
  let quoted = false;
  if (key !== undefined) {
    switch (typeof value) {
      case "string":
        if (value.length > MAX_STRING || !printableAscii.test(value)) return undefined;
        text = value;
        quoted = true;
        break;
      case "number":
        text = Number.isFinite(value) ? String(value) : "null"; // as JSON.stringify writes it
        break;
      case "boolean":
        text = value ? "true" : "false";
        break;
      default:
        if (value !== null) return undefined;
        text = "null";
    }
  }

  const length =
    HEAD_LENGTH + invocationId.length + 1 + (key === undefined ? 0 : keyLength + text!.length + (quoted ? 2 : 0)) + TAIL_LENGTH;
  const record = Buffer.allocUnsafe(length);
  // The fixed parts are copied whole: the engine checks the arrays once a copy, not once a byte.
  copyInto.call(record, HEAD, 0);
  let at = writePrintable(record, HEAD_LENGTH, invocationId);
  if (at < 0) return undefined;
  record[at++] = QUOTE;
  if (key !== undefined) {
    copyInto.call(record, key, at);
    at += keyLength;
    if (quoted) {
      record[at++] = QUOTE;
      at += record.write(text!, at, "latin1");
      record[at++] = QUOTE;
    } else {
      // Digits, sign, point, exponent or a literal: ASCII that JSON writes as it is.
      for (let i = 0; i < text!.length; i++) record[at++] = text!.charCodeAt(i);
    }
  }
  record[at++] = 0x7d; // }
  record[at] = RECORD_SEPARATOR_CODE;
  return record;
}

/** Strings up to this many characters are written here; longer ones by the text writer. */
const MAX_STRING = 255;

const QUOTE = 0x22;

function ascii(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

const HEAD = ascii(`{"type":3,"invocationId":"`);
const RESULT_KEY = ascii(`,"result":`);
const ERROR_KEY = ascii(`,"error":`);
// Lengths as numbers (see typed-array-access.ts for why a Buffer's are not read as properties).
const HEAD_LENGTH = HEAD.length;
const RESULT_KEY_LENGTH = RESULT_KEY.length;
const ERROR_KEY_LENGTH = ERROR_KEY.length;
/** `}` and RS. */
const TAIL_LENGTH = 2;

/**
 * Writes `text` (an id: a few characters) if every character is printable ASCII but `"` and
 * `\` (what JSON writes as it is); returns the index after it, or -1 at the first other
 * character. Checked while writing, to read the string once.
 */
function writePrintable(record: Uint8Array, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code > 0x7e || code === QUOTE || code === 0x5c) return -1;
    record[at++] = code;
  }
  return at;
}
