import { writeBinaryEnvelope, writeTextEnvelope } from "../../src/protocol/multiplex-frames.js";

// Seeded mutations of well-formed frames, for the tests that throw broken input at a live server
// or client (test/robustness/mutated-*.test.ts, test/client/mutated-*.test.ts) and for `npm run
// conformance:mutations`. The same seed gives the same cases, so a failure names a case that runs
// again as it failed.

/** A random integer in [0, n), from a seeded generator (mulberry32). */
export type Random = (n: number) => number;

export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4_294_967_296) * n);
  };
}

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[random(items.length)]!;
}

/**
 * What a JSON mutation may insert: the language's own characters and words, values at the edges
 * of what a parser reads (huge and negative numbers, escapes, deep nesting), the hub protocol's
 * property names, and text that is not ASCII (a lone surrogate included).
 */
const jsonPieces = [
  ..."{}[]\",:0123456789-.eE+ \\ntrufalsn",
  "\u001e",
  "\u0000",
  "é",
  "😀",
  "\ud800",
  "null",
  "true",
  "1e400",
  "-0",
  "99999999999999999999",
  '"\\u0000"',
  '"\\ud800"',
  "[[[[[[[[[[[[[[[[",
  "{{{{",
  '"type":',
  '"invocationId":',
  '"target":',
  '"arguments":',
  '"streamIds":',
  '"headers":',
  '"result":',
  '"error":',
  '"item":',
  '"sequenceId":',
  '"Echo"',
  '"Items"',
  "1",
  "2",
  "3",
  "4",
  "5",
  "6",
  "7",
  "8",
  "9",
];

/** `text` with one to four edits: characters replaced, inserted, deleted, repeated or cut off. */
export function mutateText(text: string, random: Random): string {
  let out = text;
  for (let edits = 1 + random(4); edits > 0; edits--) {
    const at = random(out.length + 1);
    switch (random(6)) {
      case 0: // replace a character
        out = out.slice(0, at) + pick(random, jsonPieces) + out.slice(at + 1);
        break;
      case 1: // insert
        out = out.slice(0, at) + pick(random, jsonPieces) + out.slice(at);
        break;
      case 2: // delete a run
        out = out.slice(0, at) + out.slice(at + 1 + random(8));
        break;
      case 3: {
        // repeat a run
        const end = at + 1 + random(16);
        out = out.slice(0, end) + out.slice(at, end) + out.slice(end);
        break;
      }
      case 4: // cut off
        out = out.slice(0, at);
        break;
      default: {
        // swap two characters
        const other = random(out.length + 1);
        const [a, b] = at < other ? [at, other] : [other, at];
        if (b < out.length) out = out.slice(0, a) + out[b] + out.slice(a + 1, b) + out[a] + out.slice(b + 1);
      }
    }
  }
  return out;
}

/**
 * Values a structural mutation puts where another was: every type of JSON and MessagePack,
 * empty, nested and at the edges.
 */
const values: unknown[] = [null, true, false, 0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, "", "x", "Echo", "é😀", [], [null], {}, { type: 1 }, [[[[]]]], "1", "4", "6", new Uint8Array([1, 2])];

/** Property names a structural mutation adds: the hub protocol's own, and others. */
const names = ["type", "invocationId", "target", "arguments", "streamIds", "headers", "result", "error", "item", "sequenceId", "allowReconnect", "__proto__", "constructor", "x"];

/**
 * `message` (a parsed JSON or MessagePack message) with one to three values replaced, removed or
 * added, still well-formed: what a client with a bug would send, to reach the checks beyond the
 * parser.
 */
export function mutateValue(message: unknown, random: Random): unknown {
  if (random(16) === 0) return pick(random, values);
  const out = structuredClone(message);
  for (let edits = 1 + random(3); edits > 0; edits--) {
    const containers = containersIn(out);
    if (containers.length === 0) break;
    const container = pick(random, containers);
    if (Array.isArray(container)) {
      const at = random(container.length + 1);
      if (random(3) === 0) container.splice(at, 1);
      else container[at] = structuredClone(pick(random, values));
      continue;
    }
    const keys = Object.keys(container);
    const key = keys.length === 0 || random(4) === 0 ? pick(random, names) : pick(random, keys);
    if (random(3) === 0) delete container[key];
    // An own property named `__proto__`, as JSON.parse makes one.
    else Object.defineProperty(container, key, { value: structuredClone(pick(random, values)), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Every object and array in `value`, itself first (a byte array is a value, not a container). */
function containersIn(value: unknown): Array<Record<string, unknown> | unknown[]> {
  if (typeof value !== "object" || value === null || value instanceof Uint8Array) return [];
  const found: Array<Record<string, unknown> | unknown[]> = [value as Record<string, unknown>];
  for (const child of Object.values(value)) found.push(...containersIn(child));
  return found;
}

/**
 * MessagePack bytes a mutation may write: the format's markers (nil, booleans, the sized types,
 * the marker 0xc1 that is never used, fixarray and fixmap heads, extensions) and edge values.
 */
const messagePackBytes = [0x00, 0x01, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc7, 0xca, 0xcb, 0xcf, 0xd3, 0xd4, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff];

/** `bytes` with one to four edits: bits flipped, bytes replaced, inserted, deleted, repeated or cut off. */
export function mutateBytes(bytes: Uint8Array, random: Random): Uint8Array {
  let out = Array.from(bytes);
  for (let edits = 1 + random(4); edits > 0; edits--) {
    const at = random(out.length + 1);
    switch (random(6)) {
      case 0: // flip a bit
        if (at < out.length) out[at]! ^= 1 << random(8);
        break;
      case 1: // replace a byte
        if (at < out.length) out[at] = random(2) === 0 ? pick(random, messagePackBytes) : random(256);
        break;
      case 2: // insert
        out.splice(at, 0, random(2) === 0 ? pick(random, messagePackBytes) : random(256));
        break;
      case 3: // delete a run
        out.splice(at, 1 + random(8));
        break;
      case 4: {
        // repeat a run
        const run = out.slice(at, at + 1 + random(16));
        out.splice(at + run.length, 0, ...run);
        break;
      }
      default: // cut off
        out = out.slice(0, at);
    }
  }
  return Uint8Array.from(out);
}

/** The binary framing's length prefix (a varint) of a `length`-byte message, then the message. */
export function lengthPrefixed(message: Uint8Array): Uint8Array {
  const prefix: number[] = [];
  let rest = message.length;
  do {
    const low = rest & 0x7f;
    rest >>>= 7;
    prefix.push(rest > 0 ? low | 0x80 : low);
  } while (rest > 0);
  const out = new Uint8Array(prefix.length + message.length);
  out.set(prefix);
  out.set(message, prefix.length);
  return out;
}

/** The messages of a length-prefixed binary frame, without their prefixes. */
export function splitLengthPrefixed(frame: Uint8Array): Uint8Array[] {
  const messages: Uint8Array[] = [];
  let at = 0;
  while (at < frame.length) {
    let length = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = frame[at++]!;
      length += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    messages.push(frame.subarray(at, at + length));
    at += length;
  }
  return messages;
}

/**
 * A multiplexing envelope (docs/multiplexing.md) of `payload` on `channel`, broken one of three
 * ways: the whole frame, its payload's text, or its payload's values (a JSON payload, ended by the
 * record separator or not, stays well-formed JSON).
 */
export function mutatedEnvelope(channel: number, payload: string, binary: boolean, random: Random): string | Uint8Array {
  const envelope = (text: string) => (binary ? writeBinaryEnvelope(channel, text) : writeTextEnvelope(channel, text));
  switch (random(3)) {
    case 0: {
      const whole = envelope(payload);
      return typeof whole === "string" ? mutateText(whole, random) : mutateBytes(whole, random);
    }
    case 1:
      return envelope(mutateText(payload, random));
    default: {
      if (payload === "") return envelope(payload);
      const body = payload.endsWith("\u001e") ? payload.slice(0, -1) : payload;
      return envelope(JSON.stringify(mutateValue(JSON.parse(body), random)) + (body === payload ? "" : "\u001e"));
    }
  }
}
