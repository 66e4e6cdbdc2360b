// Clients that hold connections open: refused requests whose bodies trickle, connections past the
// cap, bodies slower than the minimum rate, and a process out of file descriptors. Each case runs
// against a real server on loopback with timeouts shrunk so that it takes seconds; the bounded
// attack with hundreds of connections is `npm run bench:attack`.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { execFileSync } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync } from "node:fs";
import { connect, type Socket } from "node:net";
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { createHttpServer } from "../../src/server/http.js";
import { defaultMaxConnections, readOpenFileLimit } from "../../src/config.js";
import { BodyRateGuard, EVICT_MIN_IDLE_MS } from "../../src/server/connections.js";
import { assertS3ClientError, createBucket, errorCode, parseReply, plainHead, sendRaw, sendSigned, signedHead, startFuzzServer, type FuzzServer, type RawReply } from "./fuzz-helpers.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Held {
  socket: Socket;
  /** The first answer on the connection (undefined if it closed without one). */
  reply: Promise<RawReply | undefined>;
  /** When the connection closed, how (a reset or a close), ms after it was opened. */
  closed: Promise<{ afterMs: number; error?: string }>;
  stop(): void;
}

/**
 * A client that holds a connection: writes `head` and then one byte of `trickle` every `gapMs`
 * for as long as the socket is open, ignoring the server's FIN (allowHalfOpen), as a client bent
 * on keeping the connection would. Only the server can end it (or stop()).
 */
function hold(port: number, head: string, gapMs: number, trickle = "x"): Held {
  const socket = connect({ port, host: "127.0.0.1", allowHalfOpen: true });
  const opened = Date.now();
  const received: Buffer[] = [];
  let timer: NodeJS.Timeout | undefined;
  let resolveReply!: (r: RawReply | undefined) => void;
  const reply = new Promise<RawReply | undefined>((r) => (resolveReply = r));
  const closed = new Promise<{ afterMs: number; error?: string }>((resolve) => {
    let error: string | undefined;
    socket.on("error", (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on("close", () => {
      clearInterval(timer);
      resolveReply(parseFirst(Buffer.concat(received)));
      resolve({ afterMs: Date.now() - opened, ...(error ? { error } : {}) });
    });
  });
  socket.on("data", (d: Buffer) => {
    received.push(d);
    const r = parseFirst(Buffer.concat(received));
    if (r) resolveReply(r);
  });
  socket.on("connect", () => {
    socket.write(head, "latin1");
    timer = setInterval(() => {
      if (!socket.destroyed && socket.writable) socket.write(trickle);
    }, gapMs);
  });
  return { socket, reply, closed, stop: () => socket.destroy() };
}

/** The first complete Content-Length-delimited answer in `data`, with the bytes it took. */
function parseFirst(data: Buffer): (RawReply & { length: number }) | undefined {
  const r = parseReply(data);
  return r?.complete ? { status: r.status, headers: r.headers, body: r.body, length: r.length! } : undefined;
}

/** Reads answers off a keep-alive connection, one per call. */
function answers(socket: Socket): () => Promise<RawReply> {
  let buffered = Buffer.alloc(0);
  const waiting: (() => void)[] = [];
  socket.on("data", (d: Buffer) => {
    buffered = Buffer.concat([buffered, d]);
    waiting.splice(0).forEach((w) => w());
  });
  socket.on("close", () => waiting.splice(0).forEach((w) => w()));
  return async () => {
    for (;;) {
      const r = parseFirst(buffered);
      if (r) {
        buffered = buffered.subarray(r.length);
        return r;
      }
      if (socket.destroyed) throw new Error("connection closed before an answer");
      await new Promise<void>((w) => waiting.push(w));
    }
  };
}

/** A request head without Connection: close, so the connection can serve another request. */
function keepAlive(head: string): string {
  return head.replace("connection: close\r\n", "");
}

describe("connections", () => {
  describe("refused requests and slow bodies", () => {
    const IDLE_MS = 1_000;
    let s: FuzzServer;
    const B = "conn-bucket";
    before(async () => {
      s = await startFuzzServer({ bodyIdleTimeoutMs: IDLE_MS, bodyRateWindowMs: 1_000, minBodyBytesPerSecond: 256 });
      await createBucket(s.port, B);
    });
    after(async () => {
      await s.assertAlive();
      s.assertNoInternalErrors();
      await s.server.stop();
    });

    it("closes a refused anonymous PUT whose body trickles, instead of draining it at the client's pace", async () => {
      // Declared sizes the old drain accepted (up to 8 MiB): it read them for as long as the client
      // kept sending, a byte per 100 ms never tripping the idle timeout.
      for (const declared of ["1000", "8000000"]) {
        const c = hold(s.port, keepAlive(plainHead(s.port, "PUT", `/${B}/anon`, { "content-length": declared })), 100);
        const reply = await c.reply;
        assert.ok(reply, `declared ${declared}: no answer`);
        assertS3ClientError(reply, ["AccessDenied"], `declared ${declared}`);
        const closed = await Promise.race([c.closed, sleep(8_000).then(() => undefined)]);
        c.stop();
        assert.ok(closed, `declared ${declared}: still open after 8 s of trickling`);
        // At most the drain deadline (2 s) or the linger after a close (1 s), plus scheduling.
        assert.ok(closed.afterMs < 4_000, `declared ${declared}: closed after ${closed.afterMs} ms`);
      }
    });

    it("answers a refused PUT declaring 100 MB, then closes the connection within a second or so", async () => {
      const c = hold(s.port, keepAlive(plainHead(s.port, "PUT", `/${B}/anon-big`, { "content-length": String(100 * 1024 * 1024) })), 50, "y".repeat(1024));
      const reply = await c.reply;
      assert.ok(reply, "no answer");
      assertS3ClientError(reply, ["AccessDenied"]);
      assert.equal(reply.headers.connection, "close");
      const closed = await Promise.race([c.closed, sleep(8_000).then(() => undefined)]);
      c.stop();
      assert.ok(closed && closed.afterMs < 3_000, `closed: ${JSON.stringify(closed)}`);
    });

    it("still reads and discards a small refused body that arrives at once, and serves the next request on the connection", async () => {
      const socket = connect(s.port, "127.0.0.1");
      await new Promise((r) => socket.once("connect", r));
      const next = answers(socket);
      try {
        socket.write(keepAlive(plainHead(s.port, "PUT", `/${B}/anon-small`, { "content-length": "5000" })), "latin1");
        socket.write(Buffer.alloc(5000, 7));
        assertS3ClientError(await next(), ["AccessDenied"]);
        socket.write(signedHead(s.port, { method: "GET", rawPath: "/" }).head, "latin1");
        const second = await next();
        assert.equal(second.status, 200, second.body);
        assert.ok(second.body.includes("<ListAllMyBucketsResult"), second.body);
      } finally {
        socket.destroy();
      }
    });

    it("cuts off a body that trickles one byte just inside each idle period, with RequestTimeout", async () => {
      // A byte every 0.4 s never leaves the connection idle for the 1 s idle timeout; at 2.5 bytes/s
      // it is far below the 256 bytes/s minimum and is cut once a 1 s window has passed.
      const head = signedHead(s.port, { method: "PUT", rawPath: `/${B}/trickled`, headers: { "content-length": "1000" } }).head;
      const c = hold(s.port, keepAlive(head), 400);
      const outcome = await Promise.race([c.reply, sleep(8_000).then(() => "none" as const)]);
      c.stop();
      if (outcome === "none") assert.fail("no answer after 8 s: the trickle was not cut off");
      assert.ok(outcome, "closed without an answer");
      assertS3ClientError(outcome, ["RequestTimeout"]);
      assert.equal(outcome.headers.connection, "close");
      const closed = await c.closed;
      assert.ok(closed.afterMs < 5_000, `closed after ${closed.afterMs} ms`);
      assert.equal((await sendSigned(s.port, { method: "GET", rawPath: `/${B}/trickled` })).status, 404, "nothing of the cut-off PUT was stored");
    });

    it("lets a slow body above the minimum rate finish, and a large upload at full speed", async () => {
      // 24 pieces of 1 KiB, 100 ms apart: 10 KiB/s over 2.4 s, several windows long.
      const pieces = Array.from({ length: 24 }, (_, i) => Buffer.alloc(1024, i));
      const body = Buffer.concat(pieces);
      const head = signedHead(s.port, { method: "PUT", rawPath: `/${B}/slow-ok`, headers: { "content-length": String(body.length) } }).head;
      const slow = await sendRaw(s.port, head, pieces, { gapMs: 100, timeoutMs: 15_000 });
      assert.equal(slow.status, 200, slow.body);
      const big = Buffer.alloc(32 * 1024 * 1024, 3);
      const put = await sendSigned(s.port, { method: "PUT", rawPath: `/${B}/large`, body: big }, 60_000);
      assert.equal(put.status, 200, put.body);
      const head2 = await sendRaw(s.port, signedHead(s.port, { method: "HEAD", rawPath: `/${B}/large` }).head);
      assert.equal(head2.headers["content-length"], String(big.length));
    });
  });

  describe("the connection cap", () => {
    const CAP = 20;
    let s: FuzzServer;
    const B = "cap-bucket";
    before(async () => {
      s = await startFuzzServer({ maxConnections: CAP, bodyIdleTimeoutMs: 5_000 });
      await createBucket(s.port, B);
    });
    after(async () => {
      await s.assertAlive();
      s.assertNoInternalErrors();
      await s.server.stop();
    });

    it("answers connections past the cap 503 SlowDown (not a reset, not 500), and signed clients still get in", async () => {
      // 40 connections that send a request head a byte at a time and never finish it.
      const slowHead = `GET /${B} HTTP/1.1\r\nhost: 127.0.0.1:${s.port}\r\nx-pad: `;
      const first = Array.from({ length: 2 * CAP }, () => hold(s.port, slowHead, 200, "a"));
      const extra: Held[] = [];
      try {
        const replies = await Promise.all(first.map((c) => Promise.race([c.reply, sleep(1_500).then(() => "open" as const)])));
        const held = replies.filter((r) => r === "open").length;
        assert.ok(held <= CAP, `${held} connections held open, over the cap of ${CAP}`);
        assert.ok(2 * CAP - held >= CAP, `only ${2 * CAP - held} of ${2 * CAP} refused`);
        for (const r of replies) {
          if (r === "open") continue;
          assert.ok(r, "a refused connection closed without an answer");
          assert.equal(r.status, 503, r.body);
          assert.equal(errorCode(r.body), "SlowDown");
          assert.equal(r.headers.connection, "close");
        }

        // The attack goes on: every connection the server closes is replaced at once, so the
        // server stays at its limit with connections younger than the eviction age.
        let attacking = true;
        const replace = (c: Held): void => {
          void c.closed.then(() => {
            if (!attacking) return;
            const n = hold(s.port, slowHead, 200, "a");
            extra.push(n);
            replace(n);
          });
        };
        first.forEach(replace);
        const statuses: number[] = [];
        for (let i = 0; i < 15; i++) {
          const key = `obj-${i}`;
          const put = await sendSigned(s.port, { method: "PUT", rawPath: `/${B}/${key}`, body: `body ${i}` });
          const get = await sendSigned(s.port, { method: "GET", rawPath: `/${B}/${key}` });
          statuses.push(put.status, get.status);
          assert.equal(get.body, `body ${i}`);
        }
        attacking = false;
        assert.deepEqual(statuses, statuses.map(() => 200), `signed requests during the attack: ${statuses.join(",")}`);
        const answered = (await Promise.all([...first, ...extra].map((c) => Promise.race([c.reply, sleep(50).then(() => undefined)])))).filter((r) => r !== undefined);
        for (const r of answered) {
          assert.ok(r.status === 503 || r.status === 400, `an attacking connection got ${r.status}: ${r.body}`);
          if (r.status === 503) assert.equal(errorCode(r.body), "SlowDown");
        }
      } finally {
        for (const c of [...first, ...extra]) c.stop();
      }
    });

    it("refuses only what is past the cap: concurrent requests below it are all served", async () => {
      await sleep(300);
      const replies = await Promise.all(Array.from({ length: CAP - 2 }, (_, i) => sendSigned(s.port, { method: "PUT", rawPath: `/${B}/burst-${i}`, body: `burst ${i}` })));
      assert.deepEqual(replies.map((r) => r.status), replies.map(() => 200));
    });
  });

  describe("reserved slots at the limit", () => {
    // 8 connections: 7 regular slots and 1 reserved for whoever turns out to be signed.
    const CAP = 8;
    let s: FuzzServer;
    const B = "reserve-bucket";
    before(async () => {
      s = await startFuzzServer({ maxConnections: CAP });
      await createBucket(s.port, B);
      assert.equal((await sendSigned(s.port, { method: "PUT", rawPath: `/${B}/k`, body: "kept" })).status, 200);
    });
    after(async () => {
      await s.assertAlive();
      s.assertNoInternalErrors();
      await s.server.stop();
    });

    it("with the regular slots held by fresh connections, answers an anonymous request SlowDown and serves a signed one", async () => {
      await sleep(100);
      const slowHead = `GET /${B} HTTP/1.1\r\nhost: 127.0.0.1:${s.port}\r\nx-pad: `;
      const holders = Array.from({ length: CAP - 1 }, () => hold(s.port, slowHead, 100, "a"));
      try {
        await sleep(100);
        // Too young to be evicted for a stranger: the anonymous request gets the reserved slot,
        // and is refused there once it shows no credentials.
        const anonymous = await sendRaw(s.port, plainHead(s.port, "GET", `/${B}/k`));
        assert.equal(anonymous.status, 503, anonymous.body);
        assert.equal(errorCode(anonymous.body), "SlowDown");
        // A signed request on the reserved slot is served; a holder is closed to make room.
        const signed = await sendSigned(s.port, { method: "GET", rawPath: `/${B}/k` });
        assert.equal(signed.status, 200, signed.body);
        assert.equal(signed.body, "kept");
        const answered = (await Promise.all(holders.map((c) => Promise.race([c.reply, sleep(200).then(() => undefined)])))).filter((r) => r !== undefined);
        assert.ok(answered.length >= 1, "no holder was closed for the signed request");
        for (const r of answered) assert.equal(errorCode(r.body), "SlowDown");
      } finally {
        for (const c of holders) c.stop();
      }
    });
  });

  describe("running out of file descriptors", () => {
    const canLower = process.platform === "linux" && existsSync("/proc/self/fd") && hasPrlimit();
    let s: FuzzServer;
    const B = "fd-bucket";
    before(async () => {
      // A cap far above the descriptor limit, so that the process really runs out.
      s = await startFuzzServer({ maxConnections: 100_000 });
      await createBucket(s.port, B);
    });
    after(async () => {
      await s.assertAlive();
      s.assertNoInternalErrors();
      await s.server.stop();
    });

    it("keeps serving when an accept fails: the listening socket's EMFILE is logged, not thrown", async () => {
      // libuv usually absorbs EMFILE on accept itself (it closes a reserved descriptor, accepts and
      // drops the connection); when it cannot, node emits 'error' on the server, which with no
      // listener throws and stops the process. A second edge on the same context shows the listener.
      const edge = createHttpServer(s.server.context, async () => undefined);
      await new Promise<void>((r) => edge.listen(0, "127.0.0.1", r));
      try {
        const port = (edge.address() as AddressInfo).port;
        edge.emit("error", Object.assign(new Error("accept EMFILE"), { code: "EMFILE", errno: -24, syscall: "accept" }));
        edge.emit("error", Object.assign(new Error("accept ENFILE"), { code: "ENFILE", errno: -23, syscall: "accept" }));
        const reply = await sendRaw(port, plainHead(port, "GET", `/${B}/x`));
        assertS3ClientError(reply, ["AccessDenied"]);
      } finally {
        await new Promise<void>((r) => {
          edge.close(() => r());
          edge.closeAllConnections();
        });
      }
    });

    it("keeps serving when the process runs out of descriptors, and answers an upload that cannot open its file 503 SlowDown", { skip: !canLower && "needs Linux and prlimit" }, async () => {
      const original = readOpenFileLimit()!;
      // An upload under way before descriptors run out: its blob file is opened once more than
      // the inline threshold (64 KiB) has arrived.
      const upload = connect(s.port, "127.0.0.1");
      await new Promise((r) => upload.once("connect", r));
      const next = answers(upload);
      const size = 200 * 1024;
      upload.write(signedHead(s.port, { method: "PUT", rawPath: `/${B}/no-fd`, headers: { "content-length": String(size) } }).head, "latin1");
      upload.write(Buffer.alloc(1024, 1));
      await sleep(100);

      const filler: number[] = [];
      const clients: Socket[] = [];
      const fill = () => {
        for (;;) {
          try {
            filler.push(openSync("/dev/null", "r"));
          } catch {
            return;
          }
        }
      };
      prlimit(readdirSync("/proc/self/fd").length + 64);
      try {
        fill();
        // Each new connection takes the descriptor just freed, so the server's accept finds none.
        let acceptsRefused = 0;
        for (let i = 0; i < 5; i++) {
          closeSync(filler.pop()!);
          const client = connect(s.port, "127.0.0.1");
          clients.push(client);
          const outcome = await new Promise<string>((resolve) => {
            client.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
            client.on("close", () => resolve("closed"));
            client.on("data", () => resolve("answered"));
            setTimeout(() => resolve("open"), 300);
          });
          if (outcome !== "open" && outcome !== "answered") acceptsRefused++;
          fill();
        }
        assert.ok(acceptsRefused > 0, "no accept failed: the test did not exhaust descriptors");
        fill();
        upload.write(Buffer.alloc(size - 1024, 2));
        const reply = await next();
        assert.equal(reply.status, 503, reply.body);
        assert.equal(errorCode(reply.body), "SlowDown");
      } finally {
        for (const fd of filler) closeSync(fd);
        for (const c of clients) c.destroy();
        upload.destroy();
        prlimit(original);
      }
      await sleep(100);
      const put = await sendSigned(s.port, { method: "PUT", rawPath: `/${B}/after`, body: Buffer.alloc(size, 5) });
      assert.equal(put.status, 200, put.body);
    });
  });

  describe("units", () => {
    it("sizes the default cap at half the open-file limit less a reserve, at most 1,024", () => {
      assert.equal(defaultMaxConnections(20_000), 1024);
      assert.equal(defaultMaxConnections(1024), 480);
      assert.equal(defaultMaxConnections(256), 96);
      assert.equal(defaultMaxConnections(40), 16);
      assert.equal(defaultMaxConnections(undefined), 1024);
    });

    it("does not count time the server was not reading against a body, and cuts one that is slow while it was", async () => {
      const socket = { bytesRead: 0, destroyed: false, paused: true, isPaused() { return this.paused; } };
      const req = Object.assign(new EventEmitter(), { complete: false, socket, headers: { "content-length": "100000" } }) as unknown as IncomingMessage;
      const guard = new BodyRateGuard(1000, 100);
      let slow = 0;
      guard.watch(req, () => slow++);
      try {
        // Paused (its handler or the answers behind) for three windows: not the client's fault.
        await sleep(350);
        assert.equal(slow, 0);
        socket.paused = false;
        // Reading again, enough bytes for a while ...
        for (let i = 0; i < 4; i++) {
          socket.bytesRead += 200;
          await sleep(50);
        }
        assert.equal(slow, 0);
        // ... then nothing: cut once a window has passed.
        await sleep(300);
        assert.equal(slow, 1);
      } finally {
        guard.stop();
      }
    });
  });
});

function hasPrlimit(): boolean {
  try {
    execFileSync("prlimit", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Sets this process's soft open-file limit (the hard limit stays). */
function prlimit(soft: number): void {
  execFileSync("prlimit", ["--pid", String(process.pid), `--nofile=${soft}:`], { stdio: "ignore" });
}
