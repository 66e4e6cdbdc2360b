// What the cluster's coordination needs from the shared database, apart from how it is asked: the
// SQL lives in an engine's implementation (./postgres-cluster-store.ts), the rules in ./cluster.ts.
// Every instant here is the database's clock, never a node's: nodes' clocks may disagree, and a
// lease taken over on one node's clock could still be running on its holder's.

export interface ClusterNode {
  nodeId: string;
  /** For people: host:pid unless given. */
  label: string;
  startedAt: Date;
  lastSeen: Date;
}

/** One publish as another node's listener receives it. */
export interface ClusterNotification {
  topic: string;
  /** Undefined: anything under the topic may have changed. */
  key: string | undefined;
  /** The publishing node, so a node can skip its own publishes (delivered locally already). */
  origin: string;
  /** The topic's generation this publish raised it to; consecutive ones arrive in order. */
  generation: number;
}

export interface ClusterListenHandlers {
  onNotification(notification: ClusterNotification): void;
  /** The connection came back: whatever was published while it was down was never received. */
  onReconnect(): void;
  onConnectionLost(err: unknown): void;
}

export interface ClusterListener {
  close(): Promise<void>;
}

export interface ClusterStore {
  /** Records the node as alive now; the first call also records when it started. */
  heartbeat(nodeId: string, label: string): Promise<void>;
  /** The node is gone on purpose: isAlive answers false at once, not after the timeout. */
  removeNode(nodeId: string): Promise<void>;
  /** Rows of nodes not seen for `olderThanMs` go; they are dead and no one asks about them any more. */
  pruneNodes(olderThanMs: number): Promise<void>;
  isAlive(nodeId: string, timeoutMs: number): Promise<boolean>;
  liveNodes(timeoutMs: number): Promise<ClusterNode[]>;

  /**
   * Takes the lease when it is free or expired, or renews it when `nodeId` holds it, until `ttlMs`
   * from now; true when `nodeId` holds it afterwards. One conditional statement, so two nodes
   * cannot both win.
   */
  takeLease(name: string, nodeId: string, ttlMs: number): Promise<boolean>;
  /** Gives up every lease `nodeId` holds (all of them when `names` is absent). */
  releaseLeases(nodeId: string, names?: readonly string[]): Promise<void>;
  /** Who holds the lease now, if anyone (an expired holder holds nothing). */
  leaseHolder(name: string): Promise<string | undefined>;

  /**
   * Raises the topic's generation by one and, when `notify`, tells listening nodes in the same
   * commit. Returns the new generation.
   */
  publish(topic: string, key: string | undefined, origin: string, notify: boolean): Promise<number>;
  /** Every topic's generation: a node that sees one above what it has received missed something. */
  generations(): Promise<Map<string, number>>;
  /**
   * Receives publishes on a connection of its own, reconnecting for as long as it is open.
   * Undefined when the engine has no push notifications (it must be polled through generations()).
   */
  listen(handlers: ClusterListenHandlers): Promise<ClusterListener | undefined>;

  close(): Promise<void>;
}
