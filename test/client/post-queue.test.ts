import { describe, expect, it } from "vitest";
import { PostQueue } from "../../client/transports/post-queue.js";
import { waitFor } from "../support/wait.js";

// The sends of long polling and Server-Sent Events: one POST at a time, in order, what came
// meanwhile joined into the next.

/** A POST function the test answers by hand, recording each body. */
function manualPosts() {
  const bodies: Array<string | Uint8Array> = [];
  const answers: Array<{ resolve(): void; reject(error: Error): void }> = [];
  const post = (body: string | Uint8Array) =>
    new Promise<void>((resolve, reject) => {
      bodies.push(body);
      answers.push({ resolve, reject });
    });
  return { bodies, answers, post };
}

describe("PostQueue", () => {
  it("posts one body at a time; what is sent meanwhile goes, in order and joined, in the next", async () => {
    const { bodies, answers, post } = manualPosts();
    const queue = new PostQueue(post);
    const first = queue.send("a\u001e");
    const second = queue.send("b\u001e");
    const third = queue.send("c\u001e");
    expect(bodies).toEqual(["a\u001e"]); // the others wait for its answer
    answers[0]!.resolve();
    await first;
    await waitFor(() => bodies.length === 2, "the second POST");
    expect(bodies).toEqual(["a\u001e", "b\u001ec\u001e"]);
    answers[1]!.resolve();
    await Promise.all([second, third]);
    queue.send("d\u001e").catch(() => {});
    await waitFor(() => bodies.length === 3, "the third POST");
    expect(bodies[2]).toBe("d\u001e");
  });

  it("joins text and bytes as bytes, and fails every send of a POST that failed", async () => {
    const { bodies, answers, post } = manualPosts();
    const queue = new PostQueue(post);
    void queue.send("x");
    const handshake = queue.send('{"protocol":"messagepack","version":1}\u001e');
    const call = queue.send(new Uint8Array([2, 0x91, 0x06]));
    answers[0]!.resolve();
    await waitFor(() => bodies.length === 2, "the second POST");
    expect(bodies[1]).toEqual(new Uint8Array([...Buffer.from('{"protocol":"messagepack","version":1}\u001e'), 2, 0x91, 0x06]));
    answers[1]!.reject(new Error("gone"));
    await expect(handshake).rejects.toThrow("gone");
    await expect(call).rejects.toThrow("gone");
  });

  it("joins no more than 256 K characters in one POST; a larger send goes alone", async () => {
    const { bodies, answers, post } = manualPosts();
    const queue = new PostQueue(post);
    void queue.send("first");
    const sends = ["a".repeat(200 * 1024), "b".repeat(100 * 1024), "c".repeat(300 * 1024), "d"].map((data) => queue.send(data));
    for (let n = 1; n <= 4; n++) {
      answers[n - 1]!.resolve();
      await waitFor(() => bodies.length === n + 1, `POST ${n + 1}`);
    }
    answers[4]!.resolve();
    await Promise.all(sends);
    expect(bodies.map((body) => body.length)).toEqual([5, 200 * 1024, 100 * 1024, 300 * 1024, 1]);
  });
});
