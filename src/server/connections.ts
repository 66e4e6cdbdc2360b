// What a connection may cost the server: how many may be open at once (ConnectionGate) and how
// slowly a request body may arrive (BodyRateGuard). Both exist so that clients who send slowly or
// not at all (on purpose or not) cannot use up the descriptors and slots that others need.
import type { Socket } from "node:net";
import type { IncomingMessage } from "node:http";
import type { Logger } from "../log.js";

/** A connection idle (or still sending its request head) this long may be evicted for a new one. */
export const EVICT_MIN_IDLE_MS = 1_000;
/** A connection admitted on a reserved slot must have sent its request head within this. */
export const RESERVED_HEAD_MS = 1_000;
/**
 * How long a refused connection is read from after its 503: closing a socket with unread request
 * bytes sends a reset, which can make the client lose the answer before reading it.
 */
export const REFUSED_LINGER_MS = 500;
const REFUSED_LINGER_MAX_BYTES = 64 * 1024;
/** Capacity warnings are logged at most this often, with counts. */
const WARN_EVERY_MS = 10_000;

const ignore = () => undefined;

type Phase = "waiting" | "idle" | "active" | "discarding" | "closing";

interface Conn {
  socket: Socket;
  /** On a reserved slot: serves one request, and only an authenticated one, unless promoted. */
  reserved: boolean;
  phase: Phase;
  /** Requests of this connection being handled (more than one only when the client pipelines). */
  inflight: number;
  since: number;
  /** socket.bytesRead when it turned idle: more since means a request head is under way. */
  bytesAtIdle: number;
  /** Whether a request has been answered on it (it is then a keep-alive connection when idle). */
  served: boolean;
  headTimer?: NodeJS.Timeout;
}

export interface GateStats {
  admitted: number;
  refused: number;
  evicted: number;
}

/** How a connection stands when a request arrives on it. */
export type Standing = "regular" | "reserved";

/**
 * Admits each accepted socket to the HTTP parser, or refuses it with S3's 503 SlowDown; at most
 * `max` connections are open.
 *
 * All but a reserve of the slots are regular. When they are full, room is made first by closing a
 * connection that no longer needs to be open: one whose answer is out and whose unread body is
 * being discarded, or one idle (keep-alive, or still sending its request head) for at least
 * EVICT_MIN_IDLE_MS, oldest first. Requests in progress are never evicted.
 *
 * When no regular slot can be freed, the socket gets a reserved slot (the last eighth): who is
 * calling is not known before the request head, so the decision waits for it. A request that
 * authenticates (SigV4 or SigV2, header or presigned) is served, on a regular slot if an idle
 * connection of any age can be closed for it; an anonymous one is answered SlowDown. A reserved
 * connection that sends no complete head within RESERVED_HEAD_MS, or that a newer socket needs the
 * slot of, is answered SlowDown and closed. So clients holding connections without credentials
 * can only displace one another, and a signed client that sends its request at once gets in.
 */
export class ConnectionGate {
  private readonly conns = new Map<Socket, Conn>();
  /** Regular idle connections, oldest first (a Map iterates in insertion order; turning idle re-inserts). */
  private readonly idle = new Map<Socket, Conn>();
  /** Regular connections already answered, only discarding a body or about to close: evicted first. */
  private readonly expendable = new Set<Socket>();
  /** Connections on reserved slots, oldest first. */
  private readonly reservedConns = new Map<Socket, Conn>();
  private readonly lingering = new Set<Socket>();
  private regular = 0;
  readonly reserve: number;
  readonly stats: GateStats = { admitted: 0, refused: 0, evicted: 0 };
  private warnedAt = -Infinity;
  private refusedSinceWarning = 0;
  /**
   * Refused connections lingering at once, an eighth of the cap: each holds a descriptor, and the
   * cap's headroom below the descriptor limit is meant for blob files. Past it a refused
   * connection is closed as soon as its 503 is written.
   */
  private readonly maxLingering: number;

  constructor(
    readonly max: number,
    /** The raw HTTP response a refused connection gets. */
    private readonly refusal: () => string,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.reserve = max < 4 ? 0 : Math.max(1, Math.floor(max / 8));
    this.maxLingering = Math.max(4, Math.min(256, Math.floor(max / 8)));
  }

  get open(): number {
    return this.conns.size;
  }

  /** For each accepted socket: true when it may go to the HTTP parser; otherwise it was refused. */
  admit(socket: Socket): boolean {
    if (socket.destroyed) return false;
    let reserved = false;
    if (!this.regularRoom(EVICT_MIN_IDLE_MS)) {
      if (this.reservedConns.size >= this.reserve && !this.evictWaitingReserved()) {
        this.stats.refused++;
        this.refusedSinceWarning++;
        this.warnAtCapacity();
        this.refuse(socket);
        return false;
      }
      reserved = true;
    }
    const conn: Conn = { socket, reserved, phase: reserved ? "waiting" : "idle", inflight: 0, since: this.now(), bytesAtIdle: 0, served: false };
    this.conns.set(socket, conn);
    if (reserved) {
      this.reservedConns.set(socket, conn);
      conn.headTimer = setTimeout(() => {
        if (conn.phase !== "waiting") return;
        this.forget(socket);
        this.refuse(socket);
      }, RESERVED_HEAD_MS);
    } else {
      this.regular++;
      this.idle.set(socket, conn);
    }
    socket.once("close", () => this.forget(socket));
    this.stats.admitted++;
    return true;
  }

  /** A request arrived on the socket; false when the connection is closing and must not serve it. */
  requestStarted(socket: Socket): Standing | false {
    const conn = this.conns.get(socket);
    if (conn === undefined || conn.phase === "closing") return false;
    clearTimeout(conn.headTimer);
    conn.inflight++;
    conn.phase = "active";
    this.idle.delete(socket);
    this.expendable.delete(socket);
    return conn.reserved ? "reserved" : "regular";
  }

  /**
   * For a request on a reserved slot, once it is known whether it authenticated: "regular" when
   * it moved to a regular slot, "once" when it is served but its connection closes after the
   * answer, "refused" (anonymous) when it is to be answered SlowDown.
   */
  confirm(socket: Socket, authenticated: boolean): "regular" | "once" | "refused" {
    const conn = this.conns.get(socket);
    if (conn === undefined || !conn.reserved) return "regular";
    if (!authenticated) {
      this.stats.refused++;
      this.refusedSinceWarning++;
      this.warnAtCapacity();
      return "refused";
    }
    if (this.regularRoom(0)) {
      this.reservedConns.delete(socket);
      conn.reserved = false;
      this.regular++;
      return "regular";
    }
    return "once";
  }

  /** Whether the socket holds a reserved slot (it then serves no further request). */
  isReserved(socket: Socket): boolean {
    return this.conns.get(socket)?.reserved === true;
  }

  /** The answer is out but the request's body is still arriving, to be thrown away. */
  discarding(socket: Socket): void {
    const conn = this.conns.get(socket);
    if (conn === undefined || conn.phase === "closing") return;
    conn.phase = "discarding";
    this.idle.delete(socket);
    if (!conn.reserved) this.expendable.add(socket);
  }

  /** Answer sent and body read (or discarded): the connection waits for its next request. */
  requestSettled(socket: Socket): void {
    const conn = this.conns.get(socket);
    if (conn === undefined) return;
    conn.inflight = Math.max(0, conn.inflight - 1);
    if (conn.inflight > 0 || conn.phase === "closing") return;
    if (conn.reserved) {
      this.closing(socket);
      return;
    }
    conn.phase = "idle";
    conn.served = true;
    conn.since = this.now();
    conn.bytesAtIdle = socket.bytesRead;
    this.expendable.delete(socket);
    this.idle.delete(socket);
    this.idle.set(socket, conn);
  }

  /** The connection will close once its answer is out; it serves no further request. */
  closing(socket: Socket): void {
    const conn = this.conns.get(socket);
    if (conn === undefined) return;
    conn.phase = "closing";
    this.idle.delete(socket);
    if (!conn.reserved) this.expendable.add(socket);
  }

  /**
   * Closes up to `count` connections that can go (as for a new connection at capacity); for when
   * descriptors ran out anyway. Returns how many were closed.
   */
  shed(count: number): number {
    let n = 0;
    while (n < count && this.evictRegular(EVICT_MIN_IDLE_MS)) n++;
    return n;
  }

  /** Server shutdown: refused connections still lingering are not in node's connection list. */
  destroyAll(): void {
    for (const socket of this.lingering) socket.destroy();
    for (const socket of this.conns.keys()) socket.destroy();
  }

  /** Whether a regular slot is free, or could be freed by evicting a connection idle at least `minIdleMs`. */
  private regularRoom(minIdleMs: number): boolean {
    return this.regular < this.max - this.reserve || this.evictRegular(minIdleMs);
  }

  private evictRegular(minIdleMs: number): boolean {
    for (const socket of this.expendable) {
      this.forget(socket);
      this.stats.evicted++;
      socket.destroy();
      return true;
    }
    const now = this.now();
    for (const conn of this.idle.values()) {
      // Oldest first, so once one is too young to evict, so are the rest.
      if (now - conn.since < minIdleMs) return false;
      this.evictIdle(conn);
      return true;
    }
    return false;
  }

  /** Frees a reserved slot held by a connection not serving a request (oldest first). */
  private evictWaitingReserved(): boolean {
    for (const conn of this.reservedConns.values()) {
      if (conn.phase === "active") continue;
      this.evictIdle(conn);
      return true;
    }
    return false;
  }

  private evictIdle(conn: Conn): void {
    this.forget(conn.socket);
    this.stats.evicted++;
    // A client whose request is (or is about to be) on its way gets an answer it can retry on; a
    // keep-alive connection between requests gets a plain close, as when its keep-alive time runs
    // out; one already answered is just closed.
    const awaitingAnswer =
      conn.phase === "waiting" || (conn.phase === "idle" && (!conn.served || conn.socket.bytesRead > conn.bytesAtIdle));
    if (awaitingAnswer) this.refuse(conn.socket);
    else conn.socket.destroy();
  }

  private forget(socket: Socket): void {
    const conn = this.conns.get(socket);
    if (conn === undefined) return;
    clearTimeout(conn.headTimer);
    this.conns.delete(socket);
    this.idle.delete(socket);
    this.expendable.delete(socket);
    if (!this.reservedConns.delete(socket)) this.regular--;
  }

  private refuse(socket: Socket): void {
    socket.on("error", ignore);
    if (socket.destroyed) return;
    socket.end(this.refusal());
    if (this.lingering.size >= this.maxLingering) {
      // The answer usually went to the kernel at once (a fresh socket's write is tried there and
      // then); the client then reads it before the reset that closing unread bytes may cause.
      if (socket.writableLength === 0) socket.destroy();
      else socket.once("finish", () => socket.destroy());
      return;
    }
    this.lingering.add(socket);
    let received = 0;
    const timer = setTimeout(() => socket.destroy(), REFUSED_LINGER_MS);
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received > REFUSED_LINGER_MAX_BYTES) socket.destroy();
    });
    socket.once("end", () => socket.destroy());
    socket.once("close", () => {
      clearTimeout(timer);
      this.lingering.delete(socket);
    });
    socket.resume();
  }

  private warnAtCapacity(): void {
    const now = this.now();
    if (now - this.warnedAt < WARN_EVERY_MS) return;
    this.log.warn("at the connection limit: new connections and anonymous requests answered 503 SlowDown", {
      maxConnections: this.max,
      refused: this.refusedSinceWarning,
    });
    this.warnedAt = now;
    this.refusedSinceWarning = 0;
  }
}

interface Watched {
  socket: Socket;
  bytes: number;
  at: number;
  onSlow: () => void;
}

/**
 * Cuts off request bodies that arrive slower than `minBytesPerSecond`, measured over each window
 * of `windowMs` (the first one starts when the request head has arrived). Time during which the
 * server itself was not reading (node pauses the socket when the handler or the answers fall
 * behind) does not count against the client: the window starts again after it. Bytes are the
 * socket's, framing included, so aws-chunked bodies are measured the same way as plain ones.
 */
/** Whether a request carries a body at all (GET, HEAD and most DELETEs do not). */
function hasBody(req: IncomingMessage): boolean {
  if (req.headers["transfer-encoding"] !== undefined) return true;
  const length = req.headers["content-length"];
  return length !== undefined && length !== "0";
}

export class BodyRateGuard {
  private readonly bodies = new Map<IncomingMessage, Watched>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly minBytesPerSecond: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Watches `req`'s body until it is complete; `onSlow` runs (once) if it falls below the rate. */
  watch(req: IncomingMessage, onSlow: () => void): void {
    if (this.minBytesPerSecond <= 0 || this.windowMs <= 0 || req.complete || !hasBody(req)) return;
    this.bodies.set(req, { socket: req.socket, bytes: req.socket.bytesRead, at: this.now(), onSlow });
    const done = () => this.unwatch(req);
    req.once("end", done);
    req.once("close", done);
    if (this.timer === undefined) {
      // A quarter window keeps the measured time within a quarter window of the real one.
      this.timer = setInterval(() => this.check(), Math.max(25, Math.min(1_000, this.windowMs / 4)));
      this.timer.unref();
    }
  }

  stop(): void {
    this.bodies.clear();
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private unwatch(req: IncomingMessage): void {
    // The timer stays (unref'd, cheap when there is nothing to check): starting and stopping one
    // per request would cost more than it saves.
    this.bodies.delete(req);
  }

  private check(): void {
    const now = this.now();
    for (const [req, w] of this.bodies) {
      if (req.complete || w.socket.destroyed) {
        this.unwatch(req);
        continue;
      }
      const bytes = w.socket.bytesRead;
      if (w.socket.isPaused()) {
        w.bytes = bytes;
        w.at = now;
        continue;
      }
      const elapsed = now - w.at;
      if (elapsed < this.windowMs) continue;
      if ((bytes - w.bytes) * 1000 < this.minBytesPerSecond * elapsed) {
        this.unwatch(req);
        w.onSlow();
        continue;
      }
      w.bytes = bytes;
      w.at = now;
    }
  }
}
