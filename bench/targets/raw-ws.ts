import type { Duplex } from "node:stream";
import * as ws from "ws";
import { WebSocket, WebSocketServer } from "ws";
import type { TargetServer } from "./target.js";

/**
 * The limit: a bare `ws` server at its best, the baseline every ratio is stated against. `ws`
 * reads the sockets (unmasking, UTF-8 checks, control frames, the close handshake); what it
 * would write per message is done as cheaply as the wire allows:
 * - the replies to the messages of one read go out in one write: each message is a frame of its
 *   own (a client of raw `ws` needs no separator), header and payload copied into one buffer;
 * - a broadcast or group send is framed once, by `ws`'s own `Sender.frame`, and the same buffer
 *   is written to every socket.
 * Frames are written to the upgraded socket whole, in one write each, so they never interleave
 * with the control frames `ws` writes to it (no compression, so `ws` queues nothing).
 * Groups are plain Sets. Per connection: a few fields on the `ws` socket, shared listeners, made
 * when it first sends.
 */
export async function startRawWs(): Promise<TargetServer> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false, clientTracking: true });
  const groups = new Map<string, Set<Peer>>();
  // An idle connection costs what ws's own costs plus one listener: its state and read listeners
  // come with its first message.
  wss.on("connection", (ws) => void ws.on("message", onMessage));

  function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
    const peer = (this as Peer)[state] ?? follow(this as Peer);
    // A frame starting with "j" joins a group; anything else is echoed.
    if (!isBinary && data[0] === 0x6a) {
      const name = data.toString("utf8", 1);
      let group = groups.get(name);
      if (!group) groups.set(name, (group = new Set()));
      group.add(this as Peer);
      if (!peer.group) this.on("close", onClose);
      peer.group = group;
      return reply(peer, joined, false);
    }
    reply(peer, data, isBinary);
  }

  function onClose(this: WebSocket): void {
    (this as Peer)[state]?.group?.delete(this as Peer);
  }

  await new Promise((resolve) => wss.once("listening", resolve));
  const writeToAll = (peers: Iterable<WebSocket>, frame: Buffer) => {
    for (const peer of peers) {
      if (peer.readyState === WebSocket.OPEN) (peer as unknown as { _socket: Duplex })._socket.write(frame);
    }
  };
  return {
    port: (wss.address() as { port: number }).port,
    connections: () => wss.clients.size,
    broadcast: (sentAt) => writeToAll(wss.clients, preparedFrame(JSON.stringify(["tick", sentAt]))),
    sendToGroup(name, sentAt) {
      const group = groups.get(name);
      if (group) writeToAll(group, preparedFrame(JSON.stringify(["tick", sentAt])));
    },
    close: () => new Promise<void>((resolve) => {
      for (const socket of wss.clients) socket.terminate();
      wss.close(() => resolve());
    }),
  };
}

const state = Symbol("peer");
interface PeerState {
  socket: WebSocket;
  stream: Duplex;
  /** Replies to the read under way: payloads, and whether each is binary. */
  replies: Array<Buffer | boolean> | undefined;
  reading: boolean;
  group: Set<Peer> | undefined;
}
type Peer = WebSocket & { [state]?: PeerState };
type PeerStream = Duplex & { [state]: PeerState };

const joined = Buffer.from("joined");

/**
 * Starts following a connection's reads. ws turns one read into messages synchronously in its
 * own "data" listener: listeners before and after it bracket the messages of one read. (The
 * read under way, which brought the first message, is not bracketed: its replies go at once.)
 */
function follow(peer: Peer): PeerState {
  const stream = (peer as unknown as { _socket: PeerStream })._socket;
  const peerState: PeerState = { socket: peer, stream, replies: undefined, reading: false, group: undefined };
  peer[state] = stream[state] = peerState;
  stream.prependListener("data", onReadStart);
  stream.on("data", onReadEnd);
  return peerState;
}

function reply(peer: PeerState, payload: Buffer, isBinary: boolean): void {
  if (peer.reading) (peer.replies ??= []).push(payload, isBinary);
  else if (peer.socket.readyState === WebSocket.OPEN) peer.stream.write(frames([payload, isBinary]));
}

function onReadStart(this: PeerStream): void {
  this[state].reading = true;
}

function onReadEnd(this: PeerStream): void {
  const peer = this[state];
  peer.reading = false;
  const replies = peer.replies;
  if (!replies) return;
  peer.replies = undefined;
  // A close frame read after the messages, or a close of ours: no data frames after it.
  if (peer.socket.readyState === WebSocket.OPEN) this.write(frames(replies));
}

/** Frames for `replies` (payload, isBinary, payload, isBinary...), one after the other in one buffer. */
function frames(replies: Array<Buffer | boolean>): Buffer {
  let size = 0;
  for (let i = 0; i < replies.length; i += 2) {
    const length = (replies[i] as Buffer).length;
    size += (length < 126 ? 2 : length < 65_536 ? 4 : 10) + length;
  }
  const out = Buffer.allocUnsafe(size);
  let offset = 0;
  for (let i = 0; i < replies.length; i += 2) {
    const payload = replies[i] as Buffer;
    const length = payload.length;
    out[offset] = replies[i + 1] ? 0x82 : 0x81; // FIN, binary or text
    if (length < 126) {
      out[offset + 1] = length;
      offset += 2;
    } else if (length < 65_536) {
      out[offset + 1] = 126;
      out.writeUInt16BE(length, offset + 2);
      offset += 4;
    } else {
      out[offset + 1] = 127;
      out.writeUInt32BE(Math.floor(length / 2 ** 32), offset + 2);
      out.writeUInt32BE(length >>> 0, offset + 6);
      offset += 10;
    }
    offset += payload.copy(out, offset);
  }
  return out;
}

// ws's framing, exported by its ESM entry as `Sender` (its types leave it out).
const { Sender } = ws as unknown as {
  Sender: { frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[] };
};

/** A text frame for `text`, framed once by ws for all its receivers. */
function preparedFrame(text: string): Buffer {
  return Buffer.concat(Sender.frame(Buffer.from(text), { fin: true, opcode: 0x1, mask: false, readOnly: false, rsv1: false }));
}
