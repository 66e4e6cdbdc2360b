// Who reaches the /_stocktake/ endpoints: path-style on the service endpoint only, metrics to
// loopback clients unless a token is set, then to its bearer (compared in constant time).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { bearerMatches, isLoopback, metricsAccess, observabilityEndpoint } from "./observability.js";

describe("observabilityEndpoint", () => {
  it("names the endpoints on path-style requests, with or without a query", () => {
    assert.equal(observabilityEndpoint("/_stocktake/health/live", undefined), "live");
    assert.equal(observabilityEndpoint("/_stocktake/health/ready?verbose", undefined), "ready");
    assert.equal(observabilityEndpoint("/_stocktake/metrics", undefined), "metrics");
  });

  it("leaves S3 requests alone: other paths, and any path on a bucket's virtual host", () => {
    assert.equal(observabilityEndpoint("/_stocktake/metrics", "photos"), undefined);
    assert.equal(observabilityEndpoint("/_stocktake/other", undefined), undefined);
    assert.equal(observabilityEndpoint("/bucket/_stocktake/metrics", undefined), undefined);
    assert.equal(observabilityEndpoint("/_stocktake/metrics/", undefined), undefined);
  });
});

describe("metrics access", () => {
  it("knows loopback addresses", () => {
    for (const a of ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]) assert.equal(isLoopback(a), true, a);
    for (const a of ["10.0.0.1", "::ffff:10.0.0.1", "fe80::1", "1270::1", undefined]) assert.equal(isLoopback(a), false, String(a));
  });

  it("matches the bearer token exactly", () => {
    assert.equal(bearerMatches("Bearer s3cret", "s3cret"), true);
    assert.equal(bearerMatches("bearer s3cret", "s3cret"), true);
    assert.equal(bearerMatches("Bearer s3cre", "s3cret"), false);
    assert.equal(bearerMatches("Bearer s3cretX", "s3cret"), false);
    assert.equal(bearerMatches("Basic s3cret", "s3cret"), false);
    assert.equal(bearerMatches(undefined, "s3cret"), false);
  });

  it("without a token: loopback clients only", () => {
    const base = { token: undefined, authorization: undefined, signedByRoot: false };
    assert.equal(metricsAccess({ ...base, remoteAddress: "127.0.0.1" }), "allowed");
    assert.equal(metricsAccess({ ...base, remoteAddress: "192.0.2.7" }), "forbidden");
    assert.equal(metricsAccess({ ...base, remoteAddress: "192.0.2.7", authorization: "Bearer anything" }), "forbidden");
  });

  it("with a token: its bearer or the root account's signature, from anywhere; loopback alone is not enough", () => {
    const base = { token: "s3cret", signedByRoot: false };
    assert.equal(metricsAccess({ ...base, remoteAddress: "192.0.2.7", authorization: "Bearer s3cret" }), "allowed");
    assert.equal(metricsAccess({ ...base, remoteAddress: "192.0.2.7", authorization: undefined, signedByRoot: true }), "allowed");
    assert.equal(metricsAccess({ ...base, remoteAddress: "127.0.0.1", authorization: undefined }), "unauthorized");
    assert.equal(metricsAccess({ ...base, remoteAddress: "127.0.0.1", authorization: "Bearer wrong" }), "unauthorized");
  });
});
