// The edge's listening servers: node's HTTP server, or its HTTPS server when a certificate is
// configured, with every connection passing the connection gate before the HTTP parser sees it,
// and a drain for shutdown (stop accepting, let requests in progress finish, then close).
import { Server as HttpServer, type IncomingMessage, type ServerOptions, type ServerResponse } from "node:http";
import { Server as HttpsServer } from "node:https";
import type { Socket } from "node:net";
import type { SecureContextOptions, TLSSocket } from "node:tls";
import type { BodyRateGuard, ConnectionGate } from "./connections.js";

/** What a connection may cost: the gate every connection passes, the guard on request bodies. */
export interface EdgeLimits {
  gate: ConnectionGate;
  bodies: BodyRateGuard;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

// requestTimeout 0: large uploads may take long (the body rate guard bounds slow ones).
// Header timeouts are checked every 5 s rather than node's 30 s, so the 30 s limit holds.
const HTTP_OPTIONS: ServerOptions = { requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 5_000, connectionsCheckingInterval: 5_000 };

/**
 * A TLS handshake must be done within this. node's default (120 s) would let a client that opens
 * connections and never speaks hold their descriptors for two minutes, outside the gate.
 */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * Hands the sockets of `event` (node's own listeners for it are the HTTP parser's; the documented
 * way to give it a socket is to emit the event) to those listeners only once the gate admits them.
 */
function admitThroughGate(server: HttpServer | HttpsServer, event: "connection" | "secureConnection", gate: ConnectionGate): void {
  const parse = server.listeners(event) as ((socket: Socket) => void)[];
  server.removeAllListeners(event);
  server.on(event, (socket: Socket) => {
    if (!gate.admit(socket)) return;
    for (const listener of parse) listener.call(server, socket);
  });
}

/**
 * The answers in progress, so that a drain can tell each to close its connection once it is
 * out: node's server.close() leaves keep-alive connections open until their idle timeout.
 */
class Answers {
  private readonly open = new Map<ServerResponse, Socket>();
  private draining = false;

  attach(server: HttpServer | HttpsServer): void {
    const track = (req: IncomingMessage, res: ServerResponse) => {
      this.open.set(res, req.socket);
      res.once("close", () => this.open.delete(res));
      if (this.draining) res.shouldKeepAlive = false;
    };
    server.on("request", track);
    server.on("checkContinue", track);
  }

  /** From now on every answer closes its connection, including those already under way. */
  drain(): void {
    this.draining = true;
    for (const [res, socket] of this.open) {
      if (!res.headersSent) res.shouldKeepAlive = false;
      else res.once("finish", () => socket.end());
    }
  }
}

/**
 * Stops accepting, lets the requests in progress finish until `deadline` (epoch ms), then closes
 * whatever connections are left. Resolves once the server is closed.
 */
function drainServer(server: HttpServer | HttpsServer, answers: Answers, deadline: number): Promise<void> {
  answers.drain();
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), Math.max(0, deadline - Date.now()));
    // node's close() also closes the connections idle at this moment.
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** node's HTTP server, with every accepted socket passing the connection gate. */
export class EdgeServer extends HttpServer {
  private readonly answers = new Answers();

  constructor(
    readonly limits: EdgeLimits,
    handler: Handler,
  ) {
    super(HTTP_OPTIONS, handler);
    admitThroughGate(this, "connection", limits.gate);
    this.answers.attach(this);
  }

  override closeAllConnections(): void {
    super.closeAllConnections();
    this.limits.gate.destroyAll();
    this.limits.bodies.stop();
  }

  drain(deadline: number): Promise<void> {
    return drainServer(this, this.answers, deadline);
  }
}

/**
 * node's HTTPS server on the same terms. The gate sees the TLS socket, once the handshake is
 * done (before it there is no way to answer even a 503); connections still in their handshake are
 * held to HANDSHAKE_TIMEOUT_MS and, with those the gate holds, to the gate's limit plus an eighth,
 * beyond which a new connection is closed at once.
 */
export class TlsEdgeServer extends HttpsServer {
  private readonly answers = new Answers();
  /** Every TCP connection accepted and not yet closed, in its handshake or past it. */
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly limits: EdgeLimits,
    tls: SecureContextOptions,
    handler: Handler,
  ) {
    super({ ...HTTP_OPTIONS, ...tls, handshakeTimeout: HANDSHAKE_TIMEOUT_MS }, handler);
    admitThroughGate(this, "secureConnection", limits.gate);
    const handshake = this.listeners("connection") as ((socket: Socket) => void)[];
    this.removeAllListeners("connection");
    const most = limits.gate.max + Math.max(1, Math.ceil(limits.gate.max / 8));
    this.on("connection", (socket: Socket) => {
      if (this.sockets.size >= most) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
      for (const listener of handshake) listener.call(this, socket);
    });
    // A failed handshake has no HTTP to answer (https would hand it to 'clientError', whose answer
    // is an HTTP error document).
    this.removeAllListeners("tlsClientError");
    this.on("tlsClientError", (_err: Error, socket: TLSSocket) => socket.destroy());
    this.answers.attach(this);
  }

  override closeAllConnections(): void {
    super.closeAllConnections();
    this.limits.gate.destroyAll();
    this.limits.bodies.stop();
    for (const socket of this.sockets) socket.destroy();
  }

  drain(deadline: number): Promise<void> {
    return drainServer(this, this.answers, deadline);
  }
}
