import { afterEach, describe, expect, it } from "vitest";
import { writeTextEnvelope } from "../../src/protocol/multiplex-frames.js";
import { heldAuthentication } from "../support/held-authentication.js";
import { waitFor, within } from "../support/wait.js";
import { lifecycle, startMuxServer, type MuxServer } from "./mux-hubs.js";
import { rawClient } from "./raw-mux-client.js";

/**
 * What a client sends on a channel before its hub is open (its handshake, sent without waiting
 * for `opened`) is held while the hub's admission runs, which may await a slow identity service.
 * It is bounded in bytes as well as in messages, or one connection could hold its hub limit
 * times eight frames of a megabyte each.
 */
describe("data held for a hub still being admitted", () => {
  let mux: MuxServer | undefined;

  afterEach(async () => {
    await mux?.server.close();
    mux = undefined;
  });

  const maximumReceiveMessageSize = 4096;
  const open = (channel: number) => writeTextEnvelope(0, `{"type":"open","channel":${channel},"path":"/news"}`);

  it("takes up to the hub's maximumReceiveMessageSize in all, and past that ends the connection as too many messages do", async () => {
    lifecycle.length = 0;
    const auth = heldAuthentication();
    mux = await startMuxServer({}, { authenticate: auth.authenticate, maximumReceiveMessageSize });
    /** A client whose hub on channel 1 is being admitted, and what lets the admission go on. */
    const heldOpen = async (user: string) => {
      const client = await rawClient(mux!, false, user);
      const admissionBegun = auth.holdNext();
      client.send(open(1));
      return { client, letGo: await within(admissionBegun, "the hub's admission to begin") };
    };

    // The handshake and a ping padded with whitespace (JSON allows it): the bound exactly.
    const olivia = await heldOpen("olivia");
    const handshake = '{"protocol":"json","version":1}\u001e';
    olivia.client.send(writeTextEnvelope(1, handshake) + writeTextEnvelope(1, '{"type":6}\u001e'.padStart(maximumReceiveMessageSize - handshake.length, " ")));
    olivia.letGo();
    await waitFor(() => olivia.client.data.some((d) => d.channel === 1 && d.payload === "{}\u001e"), "the handshake's answer");

    // Two messages, well under the count bound, one byte past the byte bound.
    const rosa = await heldOpen("rosa");
    const half = " ".repeat(maximumReceiveMessageSize / 2);
    rosa.client.send(writeTextEnvelope(1, half) + writeTextEnvelope(1, half + " "));
    expect(await within(rosa.client.closed, "the server to close the connection")).toBe(1000);
    expect(rosa.client.controls.at(-1)).toMatchObject({
      type: "error",
      code: "ERR_MUX_MALFORMED_FRAME",
      message: `More than ${maximumReceiveMessageSize} bytes arrived on channel 1 before its hub was open.`,
    });
    rosa.letGo();

    // The first connection goes on; the second's hub never opened.
    olivia.client.send(writeTextEnvelope(1, '{"type":1,"invocationId":"1","target":"Echo","arguments":["still here"]}\u001e'));
    await waitFor(() => olivia.client.data.some((d) => d.payload.includes("still here")), "the first connection's answer");
    expect(olivia.client.controls.some((c) => c.type === "error")).toBe(false);
    olivia.client.socket.close();
    await waitFor(() => lifecycle.includes("news disconnected olivia"), "the first connection's hub to end");
    expect(lifecycle).toEqual(["news connected olivia", "news disconnected olivia"]);
  });
});
