import { afterEach, describe, expect, it } from "vitest";
import { writeTextEnvelope } from "../../src/protocol/multiplex-frames.js";
import { heldAuthentication } from "../support/held-authentication.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { waitFor, within } from "../support/wait.js";
import { lifecycle, startMuxServer, type MuxServer } from "./mux-hubs.js";
import { rawClient } from "./raw-mux-client.js";

/**
 * A hub's admission may await (an authenticate that calls a service). When its multiplexed
 * connection began to end meanwhile, the connection's WebSocket stays open until its close
 * handshake is done (here: until the close timeout, as its client never answers), but no hub
 * may open on it any more.
 */
describe("a hub whose admission ends after its multiplexed connection began to end", () => {
  let mux: MuxServer | undefined;
  let proxy: TcpProxy | undefined;

  afterEach(async () => {
    await proxy?.close();
    await mux?.server.close();
    mux = proxy = undefined;
  });

  it("is not opened when the server closes meanwhile: its onConnected never runs", async () => {
    lifecycle.length = 0;
    const auth = heldAuthentication();
    mux = await startMuxServer({}, { authenticate: auth.authenticate }, { closeTimeout: 2_000 });
    proxy = await startTcpProxy(Number(new URL(mux.url).port));
    const client = await rawClient({ server: mux.server, url: proxy.url }, false, "rosa");

    const admissionBegun = auth.holdNext();
    // The hub's handshake comes with its open, as clients send it without waiting for `opened`.
    client.send(writeTextEnvelope(0, '{"type":"open","channel":1,"path":"/news"}') + writeTextEnvelope(1, '{"protocol":"json","version":1}\u001e'));
    const letGo = await within(admissionBegun, "the hub's admission to begin");
    // The client hears nothing more, so it never answers the server's close.
    const hole = proxy.blackHole({ only: "fromServer" });
    const closing = mux.server.close();
    await waitFor(() => hole.swallowed.fromServer > 0, "the server to begin closing the connection");
    letGo();

    await within(hole.webSocketsClosedByServer, "the server to drop the connection at its close timeout");
    await within(closing, "the server to close");
    expect(lifecycle).toEqual([]);
  });
});
