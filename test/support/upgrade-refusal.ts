import WebSocket from "ws";

/**
 * Opens a WebSocket at `url` asking to hear a refusal in band (`refusal=close`), and tells how
 * the server answered: an HTTP status, or the code and reason of the close that followed the
 * upgrade (with nothing received before it).
 */
export function inBandRefusal(url: string): Promise<{ status: number } | { code: number; reason: string; received: number }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${url.replace(/^http/, "ws")}&refusal=close`);
    let received = 0;
    socket.on("message", () => received++);
    socket.on("unexpected-response", (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      socket.terminate();
    });
    socket.on("close", (code, reason) => resolve({ code, reason: reason.toString(), received }));
    socket.on("error", () => {});
  });
}
