// Several Stocktake processes ("nodes") sharing one metadata database and one data directory
// (issue 18): which node does a once-per-cluster job (leases), which nodes are alive (heartbeats),
// and how a change committed on one node reaches the others' caches (publish/subscribe).
// LocalCluster is the one-process case (SQLite): this node leads everything and hears only itself.
// SharedCluster keeps the rules over a ClusterStore (./postgres-cluster-store.ts on PostgreSQL).
// docs/scale-out.md has the design and the timings.
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { silentLogger, type Logger } from "../log.js";
import type { ClusterListener, ClusterNode, ClusterNotification, ClusterStore } from "../storage/cluster-store.js";

export type { ClusterNode } from "../storage/cluster-store.js";

/** Told when this node gains (true) or loses (false) a lease. */
export type LeadershipListener = (held: boolean) => void | Promise<void>;
/** Told the key that changed under a topic; undefined when anything under it may have changed. */
export type ChangeListener = (key: string | undefined) => void;

export interface Cluster {
  /** Random for each process start, so a restarted process is a new node and its old runs are dead. */
  readonly nodeId: string;
  /** For people (logs, pg_stat_activity, the nodes table): host:pid unless configured. */
  readonly label: string;
  /**
   * Contends for the lease from now on, until stop(). `onChange` hears every gain and loss, the
   * first gain included. Resolves with whether this node holds the lease after a first try, and
   * only once onChange(true) has settled when it does, so a start-up can await what the lease starts.
   */
  holdLease(name: string, onChange?: LeadershipListener): Promise<boolean>;
  /**
   * Whether this node holds the lease now. True only while no other node can have taken it: a
   * pass checks it before each step it must not share (a page, a bucket), not once at the start.
   */
  isLeader(name: string): boolean;
  /** The node holding the lease, if any. */
  leaseHolder(name: string): Promise<string | undefined>;
  /** Whether the node has heartbeaten within the timeout (false for a node that stopped cleanly). */
  isAlive(nodeId: string): Promise<boolean>;
  liveNodes(): Promise<ClusterNode[]>;
  /**
   * Tells every node's subscribers of `topic` that `key` (or, when undefined, anything) changed.
   * Call it after the change commits. This node's subscribers hear it before it returns; on failure
   * it rejects and keeps retrying in the background.
   */
  publish(topic: string, key?: string): Promise<void>;
  /** Returns the unsubscribe function. */
  subscribe(topic: string, onChange: ChangeListener): () => void;
  /**
   * Delivers every change committed before the call that has not been heard yet, at the cost of a
   * query: for a caller that must see other nodes' writes at once, not a few milliseconds later.
   */
  catchUp(): Promise<void>;
  /**
   * Leaves the cluster: releases this node's leases and makes isAlive false for it at once. Stop
   * the work done under leases first; listeners are not told of the release.
   */
  stop(): Promise<void>;
}

export function newNodeId(): string {
  return randomBytes(8).toString("hex");
}

export function defaultNodeLabel(): string {
  return `${hostname()}:${process.pid}`;
}

class Subscribers {
  private readonly byTopic = new Map<string, Set<ChangeListener>>();

  constructor(private readonly log: Logger) {}

  add(topic: string, onChange: ChangeListener): () => void {
    let set = this.byTopic.get(topic);
    if (set === undefined) {
      set = new Set();
      this.byTopic.set(topic, set);
    }
    const listener: ChangeListener = (key) => onChange(key);
    set.add(listener);
    return () => set.delete(listener);
  }

  topics(): string[] {
    return [...this.byTopic.keys()];
  }

  deliver(topic: string, key: string | undefined): void {
    for (const listener of this.byTopic.get(topic) ?? []) {
      try {
        listener(key);
      } catch (err) {
        this.log.error("a cluster change listener failed", { topic, key, error: String(err) });
      }
    }
  }
}

/** Never rejects: a listener's failure is logged. */
async function tell(log: Logger, name: string, listener: LeadershipListener, held: boolean): Promise<void> {
  try {
    await listener(held);
  } catch (err) {
    log.error("a lease listener failed", { lease: name, held, error: String(err) });
  }
}

/** The only node there is: it holds every lease it asks for and hears only its own publishes. */
export class LocalCluster implements Cluster {
  readonly nodeId = newNodeId();
  readonly label: string;
  private readonly held = new Set<string>();
  private readonly log: Logger;
  private readonly subscribers: Subscribers;
  private stopped = false;

  constructor(options: { label?: string; log?: Logger } = {}) {
    this.label = options.label ?? defaultNodeLabel();
    this.log = options.log ?? silentLogger;
    this.subscribers = new Subscribers(this.log);
  }

  async holdLease(name: string, onChange?: LeadershipListener): Promise<boolean> {
    if (this.stopped) return false;
    this.held.add(name);
    if (onChange) await tell(this.log, name, onChange, true);
    return true;
  }

  isLeader(name: string): boolean {
    return !this.stopped && this.held.has(name);
  }

  async leaseHolder(name: string): Promise<string | undefined> {
    return this.isLeader(name) ? this.nodeId : undefined;
  }

  async isAlive(nodeId: string): Promise<boolean> {
    return !this.stopped && nodeId === this.nodeId;
  }

  async liveNodes(): Promise<ClusterNode[]> {
    return this.stopped ? [] : [{ nodeId: this.nodeId, label: this.label, startedAt: new Date(), lastSeen: new Date() }];
  }

  publish(topic: string, key?: string): Promise<void> {
    this.subscribers.deliver(topic, key);
    return Promise.resolve();
  }

  subscribe(topic: string, onChange: ChangeListener): () => void {
    return this.subscribers.add(topic, onChange);
  }

  async catchUp(): Promise<void> {}

  async stop(): Promise<void> {
    this.stopped = true;
    this.held.clear();
  }
}

export interface SharedClusterOptions {
  label?: string;
  /** How often the node heartbeats and renews (or tries for) its leases. Default 5 s. */
  heartbeatMs?: number;
  /** A node not heard from for this long is dead, and its leases free. Default 15 s; at least 2 heartbeats. */
  nodeTimeoutMs?: number;
  /** How often generations are polled: the whole of invalidation without LISTEN, a safety net with it. Default 1 s. */
  pollMs?: number;
  /** "poll" never LISTENs, as on an engine without it; "auto" listens where the engine can. */
  notifications?: "auto" | "poll";
  log?: Logger;
}

/** Published by a node leaving with leases, so that contenders take them now, not at their next heartbeat. */
const LEASE_RELEASED_TOPIC = "stocktake.lease-released";
/** Rows of nodes dead this long are removed when a node starts. */
const PRUNE_AFTER_MS = 24 * 60 * 60 * 1000;
/** Beyond this many publishes waiting for a retry, a topic's are sent as one "anything changed". */
const MAX_UNPUBLISHED = 1000;

interface Lease {
  listeners: LeadershipListener[];
  /** performance.now() until which the lease is ours; 0 when it is not. */
  heldUntil: number;
  /** What the listeners were last told. */
  told: boolean;
  /** The listeners' handling of the latest gain or loss. */
  telling: Promise<void>;
  expiry: NodeJS.Timeout | undefined;
  attempt: Promise<void> | undefined;
}

/**
 * One node of several sharing a database. A lease's expiry is the database's clock; this node
 * counts its own holding from before it asked (on its monotonic clock, less a margin), so it
 * believes it holds a lease no longer than the database lets it: a holder that cannot renew (a
 * partition, a stalled process) stops leading before anyone else can start.
 */
export class SharedCluster implements Cluster {
  readonly nodeId = newNodeId();
  readonly label: string;
  private readonly heartbeatMs: number;
  private readonly ttlMs: number;
  private readonly marginMs: number;
  private readonly pollMs: number;
  private readonly log: Logger;
  private readonly leases = new Map<string, Lease>();
  private readonly subscribers: Subscribers;
  /** Per topic, the generation up to which every change has been delivered here. */
  private readonly known = new Map<string, number>();
  private readonly unpublished = new Map<string, { topic: string; key: string | undefined }>();
  private listener: ClusterListener | undefined;
  private beatTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private beating: Promise<void> = Promise.resolve();
  private polling: Promise<void> = Promise.resolve();
  private heartbeatFailing = false;
  private pollFailing = false;
  private stopped = false;

  private constructor(
    private readonly store: ClusterStore,
    private readonly options: SharedClusterOptions,
  ) {
    this.label = options.label ?? defaultNodeLabel();
    this.heartbeatMs = options.heartbeatMs ?? 5_000;
    this.ttlMs = options.nodeTimeoutMs ?? 15_000;
    this.pollMs = options.pollMs ?? 1_000;
    this.marginMs = Math.min(1_000, this.ttlMs / 10);
    this.log = options.log ?? silentLogger;
    this.subscribers = new Subscribers(this.log);
    if (!(this.heartbeatMs > 0 && this.ttlMs >= 2 * this.heartbeatMs)) {
      throw new Error(`the node timeout (${this.ttlMs} ms) must be at least two heartbeats (${this.heartbeatMs} ms)`);
    }
  }

  /** Joins the cluster over `store`, which it owns from now on (stop() closes it). */
  static async start(store: ClusterStore, options: SharedClusterOptions = {}): Promise<SharedCluster> {
    let cluster: SharedCluster | undefined;
    try {
      cluster = new SharedCluster(store, options);
      await cluster.join();
      return cluster;
    } catch (err) {
      await cluster?.listener?.close();
      await store.close();
      throw err;
    }
  }

  /** Whether publishes reach other nodes by push (LISTEN/NOTIFY) or only through polling. */
  get pushed(): boolean {
    return this.listener !== undefined;
  }

  private async join(): Promise<void> {
    await this.store.heartbeat(this.nodeId, this.label);
    await this.store.pruneNodes(PRUNE_AFTER_MS);
    if (this.options.notifications !== "poll") {
      // Before reading generations: a publish in between is then heard, or found by the next poll.
      this.listener = await this.store.listen({
        onNotification: (n) => this.heard(n),
        onReconnect: () => void this.reconnected(),
        onConnectionLost: (err) => this.log.warn("lost the cluster's notification connection; reconnecting", { error: String(err) }),
      });
      if (!this.listener) this.log.warn("the metadata database has no LISTEN/NOTIFY: other nodes' changes are polled for", { pollMs: this.pollMs });
    }
    for (const [topic, generation] of await this.store.generations()) this.advance(topic, generation);
    this.subscribers.add(LEASE_RELEASED_TOPIC, (name) => {
      for (const [leaseName, lease] of this.leases) if (name === undefined || name === leaseName) void this.tryLease(leaseName, lease);
    });
    this.scheduleBeat();
    this.schedulePoll();
  }

  async holdLease(name: string, onChange?: LeadershipListener): Promise<boolean> {
    if (this.stopped) return false;
    let lease = this.leases.get(name);
    if (lease === undefined) {
      lease = { listeners: [], heldUntil: 0, told: false, telling: Promise.resolve(), expiry: undefined, attempt: undefined };
      this.leases.set(name, lease);
    }
    let gained: Promise<void> | undefined;
    if (onChange) {
      lease.listeners.push(onChange);
      if (lease.told) gained = tell(this.log, name, onChange, true);
    }
    const toldBefore = lease.told;
    await this.tryLease(name, lease);
    if (!toldBefore && lease.told) gained = lease.telling;
    await gained;
    return this.isLeader(name);
  }

  isLeader(name: string): boolean {
    const lease = this.leases.get(name);
    return !this.stopped && lease !== undefined && performance.now() < lease.heldUntil;
  }

  leaseHolder(name: string): Promise<string | undefined> {
    return this.store.leaseHolder(name);
  }

  isAlive(nodeId: string): Promise<boolean> {
    return this.store.isAlive(nodeId, this.ttlMs);
  }

  liveNodes(): Promise<ClusterNode[]> {
    return this.store.liveNodes(this.ttlMs);
  }

  async publish(topic: string, key?: string): Promise<void> {
    this.subscribers.deliver(topic, key);
    try {
      await this.send(topic, key);
    } catch (err) {
      this.keepForRetry(topic, key);
      throw err;
    }
  }

  subscribe(topic: string, onChange: ChangeListener): () => void {
    return this.subscribers.add(topic, onChange);
  }

  async catchUp(): Promise<void> {
    const done = this.polling.then(() => this.poll(true));
    this.polling = done.catch(() => undefined);
    await done;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    const held = [...this.leases.keys()].filter((name) => this.isLeader(name));
    this.stopped = true;
    clearTimeout(this.beatTimer);
    clearTimeout(this.pollTimer);
    for (const lease of this.leases.values()) clearTimeout(lease.expiry);
    await Promise.all([this.beating, this.polling, ...[...this.leases.values()].map((l) => l.attempt)]);
    await this.listener?.close();
    try {
      await this.store.releaseLeases(this.nodeId);
      for (const name of held) await this.store.publish(LEASE_RELEASED_TOPIC, name, this.nodeId, this.pushed);
      await this.store.removeNode(this.nodeId);
      await this.retryUnpublished();
    } catch (err) {
      // The leases run out and the node is dead after the timeout anyway.
      this.log.warn("could not leave the cluster cleanly", { error: String(err) });
    } finally {
      await this.store.close();
    }
  }

  private scheduleBeat(): void {
    if (this.stopped) return;
    this.beatTimer = setTimeout(() => {
      this.beating = this.beat().finally(() => this.scheduleBeat());
    }, this.heartbeatMs);
    this.beatTimer.unref();
  }

  private schedulePoll(): void {
    if (this.stopped) return;
    this.pollTimer = setTimeout(() => {
      const done = this.polling.then(() => this.poll());
      this.polling = done;
      void done.finally(() => this.schedulePoll());
    }, this.pollMs);
    this.pollTimer.unref();
  }

  private async beat(): Promise<void> {
    try {
      await this.store.heartbeat(this.nodeId, this.label);
      if (this.heartbeatFailing) this.log.info("cluster heartbeats recovered");
      this.heartbeatFailing = false;
    } catch (err) {
      if (!this.heartbeatFailing) this.log.warn("cluster heartbeat failed; other nodes will take this node for dead if it goes on", { error: String(err) });
      this.heartbeatFailing = true;
    }
    await Promise.all([...this.leases].map(([name, lease]) => this.tryLease(name, lease)));
  }

  /** One try at a time per lease: the heartbeat's, holdLease's and a release notice's share it. */
  private tryLease(name: string, lease: Lease): Promise<void> {
    lease.attempt ??= this.takeOrRenew(name, lease).finally(() => {
      lease.attempt = undefined;
    });
    return lease.attempt;
  }

  private async takeOrRenew(name: string, lease: Lease): Promise<void> {
    if (this.stopped) return;
    const askedAt = performance.now();
    try {
      const won = await this.store.takeLease(name, this.nodeId, this.ttlMs);
      if (this.stopped) return;
      if (won) {
        lease.heldUntil = askedAt + this.ttlMs - this.marginMs;
        this.armExpiry(name, lease);
      } else {
        lease.heldUntil = 0;
      }
    } catch (err) {
      // Not renewed: still ours until heldUntil, when the expiry timer tells the listeners.
      this.log.warn("could not take or renew a lease", { lease: name, error: String(err) });
    }
    this.settle(name, lease);
  }

  /**
   * Tells the listeners when the lease runs out unrenewed. A timer counts whole milliseconds of
   * the event loop's clock, so it can fire up to a millisecond before heldUntil by
   * performance.now() (about one time in ten): it then waits out the rest. Settling early would
   * find the lease still held and tell nothing, leaving the loss to be told at the end of the next
   * renewal attempt, which a hung database connection can put off indefinitely.
   */
  private armExpiry(name: string, lease: Lease): void {
    clearTimeout(lease.expiry);
    lease.expiry = setTimeout(() => {
      if (this.stopped) return;
      if (performance.now() < lease.heldUntil) this.armExpiry(name, lease);
      else this.settle(name, lease);
    }, lease.heldUntil - performance.now() + 1);
    lease.expiry.unref();
  }

  private settle(name: string, lease: Lease): void {
    const held = this.isLeader(name);
    if (this.stopped || held === lease.told) return;
    lease.told = held;
    this.log.info(held ? "lease taken" : "lease lost", { lease: name, node: this.nodeId });
    lease.telling = Promise.all(lease.listeners.map((listener) => tell(this.log, name, listener, held))).then(() => undefined);
  }

  private async send(topic: string, key: string | undefined): Promise<void> {
    const generation = await this.store.publish(topic, key, this.nodeId, this.pushed);
    // Only our own raise is accounted for: anyone else's in between is still to be heard.
    if (generation === (this.known.get(topic) ?? 0) + 1) this.known.set(topic, generation);
  }

  private keepForRetry(topic: string, key: string | undefined): void {
    if (this.unpublished.size >= MAX_UNPUBLISHED) {
      for (const [id, p] of this.unpublished) if (p.topic === topic) this.unpublished.delete(id);
      key = undefined;
    }
    this.unpublished.set(`${topic}\n${key ?? ""}\n${key === undefined}`, { topic, key });
  }

  private async retryUnpublished(): Promise<void> {
    for (const [id, { topic, key }] of this.unpublished) {
      await this.send(topic, key);
      this.unpublished.delete(id);
    }
  }

  private advance(topic: string, generation: number): void {
    if (generation > (this.known.get(topic) ?? 0)) this.known.set(topic, generation);
  }

  private heard(n: ClusterNotification): void {
    if (this.stopped) return;
    const known = this.known.get(n.topic) ?? 0;
    if (n.generation > known + 1) {
      // Notifications arrive in commit order: a publish before this one never arrived.
      this.known.set(n.topic, n.generation);
      this.subscribers.deliver(n.topic, undefined);
      return;
    }
    if (n.generation === known + 1) this.known.set(n.topic, n.generation);
    // Our own publishes were delivered here when made.
    if (n.origin !== this.nodeId) this.subscribers.deliver(n.topic, n.key);
  }

  private async reconnected(): Promise<void> {
    this.log.info("the cluster's notification connection is back; caches start over");
    let generations: Map<string, number> | undefined;
    try {
      generations = await this.store.generations();
    } catch {
      // The poll finds the generations later, and delivers again: harmless.
    }
    if (this.stopped) return;
    for (const topic of this.subscribers.topics()) this.subscribers.deliver(topic, undefined);
    for (const [topic, generation] of generations ?? []) this.advance(topic, generation);
  }

  /** Delivers "anything changed" for each topic whose generation is past what this node heard. */
  private async poll(rethrow = false): Promise<void> {
    if (this.stopped) return;
    await this.retryUnpublished().catch((err: unknown) => this.log.warn("could not publish a change to the cluster; retrying", { error: String(err) }));
    try {
      for (const [topic, generation] of await this.store.generations()) {
        if (generation <= (this.known.get(topic) ?? 0)) continue;
        this.known.set(topic, generation);
        this.subscribers.deliver(topic, undefined);
      }
      if (this.pollFailing) this.log.info("cluster polling recovered");
      this.pollFailing = false;
    } catch (err) {
      if (rethrow) throw err;
      if (!this.pollFailing) this.log.warn("could not poll the cluster's generations", { error: String(err) });
      this.pollFailing = true;
    }
  }
}
