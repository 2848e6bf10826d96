import { Buffer } from "node:buffer";
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { readBodyInPieces, type PiecesResult } from "../../src/transports/body-pieces.js";
import { waitFor } from "../support/wait.js";
import { PausableConnection } from "../support/piece-reader.js";

// A POST's body read in pieces of whole hub messages, on a real HTTP server, the client writing
// the body in the chunks a test gives.

const RS = "\u001e";
const records = (from: number, count: number) => Array.from({ length: count }, (_, i) => `{"n":${from + i}}${RS}`).join("");

describe("readBodyInPieces: a POST read as it arrives, in pieces of whole hub messages", () => {
  let server: Server | undefined;
  afterEach(() => void server?.close());

  /** A POST to a server that reads its body in pieces: the test writes the body's chunks and ends it. */
  async function post(connection: PausableConnection, limit: number, framing: "text" | "binary" = "text") {
    const pieces: string[] = [];
    let result: PiecesResult | undefined;
    let received: IncomingMessage | undefined;
    server = createServer((req, res) => {
      received = req;
      void readBodyInPieces(req, limit, framing, connection, (piece) => pieces.push(piece.toString("latin1"))).then((r) => {
        result = r;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const client = request({ host: "127.0.0.1", port, method: "POST", path: "/" });
    client.on("error", () => {});
    client.on("response", (res) => res.resume());
    return {
      pieces,
      write: (chunk: string | Buffer) => new Promise<void>((resolve) => client.write(chunk, () => resolve())),
      end: () => client.end(),
      result: () => result,
      received: () => received,
    };
  }

  it("hands on the hub messages each read makes whole, the rest of one held for the next", async () => {
    const connection = new PausableConnection();
    const body = records(0, 50);
    const run = await post(connection, 1024);
    for (let at = 0; at < body.length; at += 37) {
      await run.write(body.slice(at, at + 37));
      await waitFor(() => run.pieces.join("").length >= body.slice(0, at + 37).lastIndexOf(RS) + 1, "the whole messages so far");
    }
    run.end();
    await waitFor(() => run.result() !== undefined, "the body's end");
    expect(run.result()).toEqual({ done: true });
    expect(run.pieces.join("")).toBe(body);
    for (const piece of run.pieces) expect(piece.endsWith(RS)).toBe(true);
  });

  it("past the limit, reads nothing more while the connection takes no data; before it, reads on as a body read whole is", async () => {
    const connection = new PausableConnection();
    const run = await post(connection, 20); // a record is 8 bytes
    connection.receivingPaused = true;
    await run.write(records(0, 2));
    await waitFor(() => run.pieces.length === 1, "the first piece, under the limit");
    await run.write(records(2, 2));
    await waitFor(() => run.pieces.length === 2, "the piece that passed the limit");
    // The read that passed the limit found the connection paused, and paused the request.
    expect(run.received()!.isPaused()).toBe(true);
    await run.write(records(4, 2));
    expect(run.pieces).toHaveLength(2);
    connection.resume();
    await waitFor(() => run.pieces.join("") === records(0, 6), "the rest, once it takes data again");
    run.end();
    await waitFor(() => run.result() !== undefined, "the body's end");
  });

  it("stops with tooLarge when a hub message does not end within the limit", async () => {
    const run = await post(new PausableConnection(), 100);
    await run.write(`${records(0, 1)}{"pad":"${"x".repeat(200)}`);
    await waitFor(() => run.result() !== undefined, "the refusal");
    expect(run.result()).toEqual({ tooLarge: true });
    expect(run.pieces).toEqual([records(0, 1)]);
  });

  it("hands on as it comes what follows a hub message whose end cannot be read, for the hub to refuse", async () => {
    const run = await post(new PausableConnection(), 1000, "binary");
    const whole = Buffer.from([3, 0x61, 0x62, 0x63]);
    const broken = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02]);
    await run.write(Buffer.concat([whole, broken]));
    await run.write(Buffer.from([0x03]));
    run.end();
    await waitFor(() => run.result() !== undefined, "the body's end");
    expect(run.result()).toEqual({ done: true });
    expect(Buffer.from(run.pieces.join(""), "latin1")).toEqual(Buffer.concat([whole, broken, Buffer.from([0x03])]));
    expect(run.pieces).toHaveLength(2); // the read that broke, whole, then the next as it came
  });

  it("hands on a hub message left unfinished at the body's end as it is, and stops reading once the connection ends", async () => {
    const ends = await post(new PausableConnection(), 1000);
    await ends.write(`${records(0, 1)}{"n":`);
    ends.end();
    await waitFor(() => ends.result() !== undefined, "the body's end");
    expect(ends.pieces).toEqual([records(0, 1), '{"n":']);
    server!.close();

    const connection = new PausableConnection();
    const closes = await post(connection, 1000);
    await closes.write(records(0, 1));
    await waitFor(() => closes.pieces.length === 1, "the first piece");
    connection.isClosed = true;
    await closes.write(records(1, 1));
    await waitFor(() => closes.result() !== undefined, "the read to stop");
    expect(closes.result()).toEqual({ done: true });
  });
});
