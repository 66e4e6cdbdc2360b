// Expect: 100-continue, as boto3, the aws CLI and curl send it on uploads: "100 Continue" goes out
// only once the request is authenticated and authorized, so a refused client never sends its body.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { createBucket, errorCode, plainHead, signedHead, startFuzzServer, type FuzzServer } from "./fuzz-helpers.js";

/** Sends a request head and collects what the server writes until it goes quiet or closes. */
function sendHead(port: number, head: string): { text(): string; closed: Promise<void>; write(b: Buffer): void; waitFor(s: string): Promise<void> } {
  const socket = connect(port, "127.0.0.1");
  let received = "";
  const waiters: (() => void)[] = [];
  socket.on("data", (d: Buffer) => {
    received += d.toString("latin1");
    waiters.splice(0).forEach((w) => w());
  });
  socket.on("error", () => undefined);
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  socket.write(head, "latin1");
  return {
    text: () => received,
    closed,
    write: (b) => socket.write(b),
    async waitFor(s) {
      const deadline = Date.now() + 5_000;
      while (!received.includes(s)) {
        if (Date.now() > deadline || socket.destroyed) throw new Error(`no ${JSON.stringify(s)} in ${JSON.stringify(received.slice(0, 300))}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
    },
  };
}

describe("Expect: 100-continue", () => {
  let s: FuzzServer;
  const B = "continue-bucket";
  before(async () => {
    s = await startFuzzServer();
    await createBucket(s.port, B);
  });
  after(async () => {
    await s.assertAlive();
    s.assertNoInternalErrors();
    await s.server.stop();
  });

  it("refuses an anonymous upload without asking for its body, then closes", async () => {
    const head = plainHead(s.port, "PUT", `/${B}/anonymous`, { "content-length": String(1024 * 1024), expect: "100-continue" });
    const conn = sendHead(s.port, head);
    await conn.closed;
    const text = conn.text();
    assert.ok(!text.includes("100 Continue"), text.slice(0, 200));
    assert.match(text, /^HTTP\/1\.1 403 /);
    assert.equal(errorCode(text), "AccessDenied");
  });

  it("asks a signed upload for its body and stores it", async () => {
    const body = Buffer.from("sent after 100 Continue");
    const { head } = signedHead(s.port, { method: "PUT", rawPath: `/${B}/signed`, headers: { "content-length": String(body.length), expect: "100-continue" } });
    const conn = sendHead(s.port, head);
    await conn.waitFor("HTTP/1.1 100 Continue\r\n\r\n");
    assert.ok(!conn.text().includes("HTTP/1.1 200"), "answered before the body was sent");
    conn.write(body);
    await conn.closed;
    assert.match(conn.text(), /HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
  });
});
