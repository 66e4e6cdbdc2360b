// Leases, liveness and invalidation between nodes sharing a throwaway PostgreSQL
// (test/helpers/postgres.ts), on timeouts short enough that a failover takes well under a second;
// and LocalCluster, the single-process case.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { LocalCluster, SharedCluster, type Cluster, type SharedClusterOptions } from "./cluster.js";
import type { ClusterStore } from "../storage/cluster-store.js";
import { createClusterTables, PostgresClusterStore } from "../storage/postgres-cluster-store.js";
import { postgresUnavailable, startPostgres, type TestPostgres } from "../../test/helpers/postgres.js";

const skip = postgresUnavailable();
let server: Promise<TestPostgres> | undefined;
const database = async (): Promise<string> => {
  const url = await (await (server ??= startPostgres())).newDatabase();
  await createClusterTables(url);
  return url;
};
after(async () => {
  if (server) await (await server).stop();
});

/** Dead after half a second; polling slow enough that only LISTEN/NOTIFY can explain a quick delivery. */
const FAST: SharedClusterOptions = { heartbeatMs: 100, nodeTimeoutMs: 500, pollMs: 10_000 };

/** A store that can be cut off from the database, as by a partition or a frozen process. */
function cuttable(store: ClusterStore): { store: ClusterStore; cut(on: boolean): void } {
  let cut = false;
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => (cut && prop !== "close" ? Promise.reject(new Error("cut off from the database")) : (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
  return { store: wrapped, cut: (on) => (cut = on) };
}

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 2_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The most nodes that believed at once that they hold the lease, sampled every couple of ms. */
function watchLeaders(nodes: Cluster[], lease: string): { most(): number; stop(): void } {
  let most = 0;
  const timer = setInterval(() => {
    most = Math.max(most, nodes.filter((n) => n.isLeader(lease)).length);
  }, 2);
  return { most: () => most, stop: () => clearInterval(timer) };
}

function recorder(cluster: Cluster, topic: string): (string | undefined)[] {
  const heard: (string | undefined)[] = [];
  cluster.subscribe(topic, (key) => heard.push(key));
  return heard;
}

describe("SharedCluster on PostgreSQL", { skip }, () => {
  const started: SharedCluster[] = [];
  const node = async (url: string, options: SharedClusterOptions = {}, store: ClusterStore = PostgresClusterStore.open(url, { reconnectDelayMs: 20 })) => {
    const cluster = await SharedCluster.start(store, { ...FAST, ...options });
    started.push(cluster);
    return cluster;
  };
  after(async () => {
    await Promise.all(started.map((c) => c.stop()));
  });

  it("gives a lease to exactly one of three contenders, for as long as it renews, and the database agrees", async () => {
    const url = await database();
    const nodes = await Promise.all([node(url), node(url), node(url)]);
    const told = nodes.map(() => [] as boolean[]);
    const watch = watchLeaders(nodes, "lifecycle");
    const won = await Promise.all(nodes.map((n, i) => n.holdLease("lifecycle", (held) => void told[i]!.push(held))));
    assert.equal(won.filter(Boolean).length, 1);
    const leader = nodes[won.indexOf(true)]!;
    // Past the lease's time to live: it is renewed by heartbeats, not taken by the others.
    await new Promise((r) => setTimeout(r, 700));
    watch.stop();
    assert.equal(watch.most(), 1);
    assert.deepEqual(nodes.map((n) => n.isLeader("lifecycle")), nodes.map((n) => n === leader));
    assert.deepEqual(told, nodes.map((n) => (n === leader ? [true] : [])));
    assert.equal(await nodes[1]!.leaseHolder("lifecycle"), leader.nodeId);
    // Leases are independent of one another.
    assert.equal(nodes.filter((n) => n.isLeader("tiering")).length, 0);
    await Promise.all(nodes.map((n) => n.holdLease("tiering")));
    assert.equal(nodes.filter((n) => n.isLeader("tiering")).length, 1);
  });

  it("tells the holder of every lease that ran out unrenewed, though the renewal hangs and the expiry timer fires early", async (t) => {
    const url = await database();
    const hanging: ((won: boolean) => void)[] = [];
    const taken = new Set<string>();
    let done = false;
    // Each lease is taken once; every renewal after that hangs, as on a connection that died
    // without an error, so only the expiry timer can tell the holder.
    const store = PostgresClusterStore.open(url);
    const renewalsHang = new Proxy(store, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== "function") return value;
        if (prop !== "takeLease") return value.bind(target);
        return (name: string, ...rest: unknown[]) => {
          if (done) return Promise.resolve(false);
          if (taken.has(name)) return new Promise<boolean>((resolve) => hanging.push(resolve));
          taken.add(name);
          return (value as (...a: unknown[]) => Promise<boolean>).call(target, name, ...rest);
        };
      },
    });
    const a = await node(url, {}, renewalsHang);
    t.after(() => {
      done = true;
      hanging.forEach((resolve) => resolve(false));
    });
    // A timer set for a moment fires up to a millisecond before it by performance.now() (it counts
    // in whole milliseconds of the loop's clock), about one time in ten here; with 30 leases,
    // nearly every run has one.
    const names = Array.from({ length: 30 }, (_, i) => `lease-${i}`);
    const told = new Map(names.map((n) => [n, [] as boolean[]]));
    for (const name of names) assert.equal(await a.holdLease(name, (held) => void told.get(name)!.push(held)), true);
    await until("the leases run out", () => names.every((n) => !a.isLeader(n)), 1_000);
    await until("every holder is told", () => names.every((n) => told.get(n)!.length === 2), 300).catch(() => undefined);
    assert.deepEqual(
      names.filter((n) => told.get(n)!.join() !== "true,false"),
      [],
      "leases whose holder was not told of the loss",
    );
  });

  it("moves a lease to another node when its holder stops heartbeating, never to two at once", async () => {
    const url = await database();
    const partitioned = cuttable(PostgresClusterStore.open(url));
    const a = await node(url, {}, partitioned.store);
    const b = await node(url);
    const toldA: boolean[] = [];
    const toldB: boolean[] = [];
    assert.equal(await a.holdLease("inventory", (held) => void toldA.push(held)), true);
    assert.equal(await b.holdLease("inventory", (held) => void toldB.push(held)), false);
    const watch = watchLeaders([a, b], "inventory");
    const cutAt = performance.now();
    partitioned.cut(true);
    await until("b leads", () => b.isLeader("inventory"));
    const failover = performance.now() - cutAt;
    watch.stop();
    assert.equal(watch.most(), 1);
    assert.equal(a.isLeader("inventory"), false);
    // isLeader turns false at the lease's end; the listener hears it from a timer set for that
    // moment, which a busy event loop can run a little later.
    await until("a is told it lost the lease", () => toldA.length === 2, 1_000);
    assert.deepEqual(toldA, [true, false]);
    assert.deepEqual(toldB, [true]);
    // The time to live, plus at most a heartbeat for b to try again.
    assert.ok(failover < 500 + 100 + 400, `failover took ${failover} ms`);
    // Liveness is not the lease: a heartbeat sent just before the cut can land after a's last
    // renewal, so a is taken for dead a little after b leads (by a heartbeat's interval, give or take).
    await until("a is taken for dead", async () => !(await b.isAlive(a.nodeId)), 1_000);
    assert.equal(await b.isAlive(b.nodeId), true);
    // Back in touch, a finds the lease taken and stays a follower.
    partitioned.cut(false);
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(a.isLeader("inventory"), false);
    assert.equal(await a.leaseHolder("inventory"), b.nodeId);
  });

  it("releases a lease at once on a clean stop, and the node is dead at once", async () => {
    const url = await database();
    // Long timeouts: only the release (and its notice) can explain a quick takeover.
    const slow = { heartbeatMs: 1_000, nodeTimeoutMs: 5_000 };
    const a = await node(url, slow);
    const b = await node(url, slow);
    assert.equal(await a.holdLease("replication"), true);
    assert.equal(await b.holdLease("replication"), false);
    const stoppedAt = performance.now();
    await a.stop();
    assert.equal(a.isLeader("replication"), false);
    assert.equal(await b.isAlive(a.nodeId), false);
    assert.notEqual(await b.leaseHolder("replication"), a.nodeId);
    await until("b leads", () => b.isLeader("replication"), 500);
    assert.ok(performance.now() - stoppedAt < 500);
  });

  it("hands a released lease over by polling where there is no LISTEN", async () => {
    const url = await database();
    const slow = { heartbeatMs: 1_000, nodeTimeoutMs: 5_000, notifications: "poll" as const, pollMs: 50 };
    const a = await node(url, slow);
    const b = await node(url, slow);
    assert.equal(a.pushed, false);
    assert.equal(await a.holdLease("tiering"), true);
    assert.equal(await b.holdLease("tiering"), false);
    await a.stop();
    await until("b leads", () => b.isLeader("tiering"), 500);
  });

  it("resolves holdLease once what the gained lease starts has settled", async () => {
    const url = await database();
    const a = await node(url);
    let started = false;
    const held = await a.holdLease("inventory", async (gained) => {
      await new Promise((r) => setTimeout(r, 50));
      started = gained;
    });
    assert.equal(held, true);
    assert.equal(started, true);
    // A second listener on a lease already held hears the gain too, before holdLease resolves.
    let alsoStarted = false;
    await a.holdLease("inventory", async () => {
      await new Promise((r) => setTimeout(r, 20));
      alsoStarted = true;
    });
    assert.equal(alsoStarted, true);
  });

  it("lists the live nodes", async () => {
    const url = await database();
    const a = await node(url, { label: "host-a:1" });
    const b = await node(url, { label: "host-b:2" });
    const live = await a.liveNodes();
    assert.deepEqual(live.map((n) => n.nodeId).sort(), [a.nodeId, b.nodeId].sort());
    assert.deepEqual(live.map((n) => n.label).sort(), ["host-a:1", "host-b:2"]);
    assert.ok(live.every((n) => n.lastSeen.getTime() >= n.startedAt.getTime()));
    assert.equal(await a.isAlive("0123456789abcdef"), false);
    assert.notEqual(a.nodeId, b.nodeId);
  });

  it("delivers a publish on one node to another node's subscribers by NOTIFY, and to its own at once", async () => {
    const url = await database();
    const a = await node(url);
    const b = await node(url);
    assert.equal(a.pushed, true);
    const onA = recorder(a, "bucket-caches");
    const onB = recorder(b, "bucket-caches");
    const otherTopic = recorder(b, "kms-keys");
    const published = a.publish("bucket-caches", "photos");
    assert.deepEqual(onA, ["photos"], "the publishing node's own caches are dropped before the publish returns");
    await published;
    await until("b hears it", () => onB.length > 0, 1_000);
    await b.publish("bucket-caches");
    await until("a hears b's", () => onA.length > 1, 1_000);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(onA, ["photos", undefined]);
    assert.deepEqual(onB, ["photos", undefined]);
    assert.deepEqual(otherTopic, []);
  });

  it("delivers by polling where there is no LISTEN, and catchUp() delivers at once", async () => {
    const url = await database();
    const a = await node(url, { notifications: "poll", pollMs: 30 });
    const b = await node(url, { notifications: "poll", pollMs: 30 });
    const c = await node(url, { notifications: "poll", pollMs: 60_000 });
    const onA = recorder(a, "bucket-caches");
    const onB = recorder(b, "bucket-caches");
    const onC = recorder(c, "bucket-caches");
    await a.publish("bucket-caches", "photos");
    // Polling knows only that something changed under the topic.
    await until("b hears it", () => onB.length > 0, 1_000);
    assert.deepEqual(onB, [undefined]);
    await c.catchUp();
    assert.deepEqual(onC, [undefined]);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(onA, ["photos"], "a node does not hear its own publish again from the poll");
    assert.deepEqual(onB, [undefined]);
  });

  it("tells every subscriber that anything may have changed after the listening connection comes back", async () => {
    const url = await database();
    const a = await node(url);
    const b = await node(url);
    const settings = recorder(a, "bucket-caches");
    const keys = recorder(a, "kms-keys");
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const killed = await admin.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'stocktake cluster listener' AND datname = current_database()",
      );
      assert.equal(killed.rowCount, 2);
    } finally {
      await admin.end();
    }
    await until("a starts over", () => settings.length > 0 && keys.length > 0, 1_500);
    assert.deepEqual(settings, [undefined]);
    assert.deepEqual(keys, [undefined]);
    // Listening again: a key published now arrives as itself.
    await until("b hears again", async () => {
      await b.publish("bucket-caches", "after");
      return settings.some((key) => key === "after");
    }, 1_500);
  });

  it("keeps a publish that failed and sends it once the database is back", async () => {
    const url = await database();
    const partitioned = cuttable(PostgresClusterStore.open(url));
    const a = await node(url, { pollMs: 30 }, partitioned.store);
    const b = await node(url);
    const onB = recorder(b, "bucket-caches");
    partitioned.cut(true);
    await assert.rejects(a.publish("bucket-caches", "photos"), /cut off/);
    partitioned.cut(false);
    await until("b hears it", () => onB.includes("photos"), 1_000);
  });

  it("refuses a node timeout shorter than two heartbeats", async () => {
    const url = await database();
    await assert.rejects(SharedCluster.start(PostgresClusterStore.open(url), { heartbeatMs: 100, nodeTimeoutMs: 150 }), /at least two heartbeats/);
  });
});

describe("LocalCluster", () => {
  it("holds every lease it asks for, at once", async () => {
    const cluster = new LocalCluster();
    const told: boolean[] = [];
    assert.equal(cluster.isLeader("lifecycle"), false);
    assert.equal(
      await cluster.holdLease("lifecycle", async (held) => {
        await new Promise((r) => setTimeout(r, 10));
        told.push(held);
      }),
      true,
    );
    assert.deepEqual(told, [true]);
    assert.equal(cluster.isLeader("lifecycle"), true);
    assert.equal(cluster.isLeader("tiering"), false);
    assert.equal(await cluster.leaseHolder("lifecycle"), cluster.nodeId);
    await cluster.stop();
    assert.equal(cluster.isLeader("lifecycle"), false);
    assert.equal(await cluster.holdLease("tiering"), false);
  });

  it("knows only itself to be alive, and a new process is a new node", async () => {
    const cluster = new LocalCluster({ label: "here:1" });
    const previous = new LocalCluster();
    assert.notEqual(cluster.nodeId, previous.nodeId);
    assert.match(cluster.nodeId, /^[0-9a-f]{16}$/);
    assert.equal(await cluster.isAlive(cluster.nodeId), true);
    assert.equal(await cluster.isAlive(previous.nodeId), false);
    assert.deepEqual((await cluster.liveNodes()).map((n) => [n.nodeId, n.label]), [[cluster.nodeId, "here:1"]]);
    await cluster.stop();
    assert.equal(await cluster.isAlive(cluster.nodeId), false);
  });

  it("delivers a publish to its subscribers before publish returns, a failing one not stopping the rest", async () => {
    const cluster = new LocalCluster();
    const heard: (string | undefined)[] = [];
    cluster.subscribe("bucket-caches", () => {
      throw new Error("a broken subscriber");
    });
    const unsubscribe = cluster.subscribe("bucket-caches", (key) => heard.push(key));
    void cluster.publish("bucket-caches", "photos");
    void cluster.publish("bucket-caches");
    void cluster.publish("kms-keys", "k");
    assert.deepEqual(heard, ["photos", undefined]);
    unsubscribe();
    await cluster.publish("bucket-caches", "later");
    assert.deepEqual(heard, ["photos", undefined]);
    await cluster.catchUp();
  });
});
