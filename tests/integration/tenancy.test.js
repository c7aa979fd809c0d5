// tenancy.test.js: accounts that cannot see each other, keys limited to some
// actions, the per-account rate limit, durability across restarts (SIGTERM and
// SIGKILL), and racing creates for one resource (issue 2 §1, §2, §4.8, §5).
"use strict";

const { describe, test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./harness");

let dataDir;
let server;
let A; // tag aaaa
let B; // tag bbbb
let nextEniA;

/** A client for `acct` (or explicit keys) bound to the current server. */
function cl(keys, opts) {
  return h.vpcClient(Object.assign({ endpoint: server.endpoint, secretId: keys.SecretId, secretKey: keys.SecretKey }, opts || {}));
}

function withInventory(tag, extraEnis) {
  const acct = h.createAccount(dataDir);
  const fx = h.inventoryFixture({ tag, extraEnis });
  h.importInventory(dataDir, acct.Uin, fx.inventory);
  return Object.assign(acct, fx);
}

before(async () => {
  dataDir = h.tmpDir("tenancy");
  // the server starts on an empty data directory; accounts, keys and
  // inventory are added while it runs
  server = await h.startServer({ dataDir });
  A = withInventory("aaaa", 20);
  B = withInventory("bbbb", 2);
  nextEniA = h.eniPool(A.ids);
});
after(async () => {
  if (server) await server.stop();
});

const countCodes = (codes) => codes.reduce((m, c) => ((m[c] = (m[c] || 0) + 1), m), {});

describe("two accounts", () => {
  test("accounts, keys and inventory added while the server runs are used at once", async () => {
    const req = h.eniRequest(A.ids, nextEniA());
    const resp = await cl(A).CreateFlowLog(req);
    assert.equal(resp.FlowLog[0].ResourceId, req.ResourceId);
    const respB = await cl(B).CreateFlowLog(h.eniRequest(B.ids, B.ids.extraEnis[0]));
    assert.equal(respB.FlowLog[0].ResourceId, B.ids.extraEnis[0]);
  });

  test("B cannot name A's resources: ResourceNotFound", async () => {
    const b = cl(B);
    const a = A.ids;
    // everything A's
    await h.expectApiError(b.CreateFlowLog(h.eniRequest(a, a.eni)), "ResourceNotFound");
    // B's VPC, A's ENI / subnet / NAT / DCG / CCN
    await h.expectApiError(b.CreateFlowLog(h.eniRequest(B.ids, a.eni)), "ResourceNotFound");
    await h.expectApiError(b.CreateFlowLog(h.eniRequest(B.ids, a.subnet, { ResourceType: "SUBNET" })), "ResourceNotFound");
    await h.expectApiError(
      b.CreateFlowLog(h.eniRequest(B.ids, a.natClassic, { ResourceType: "NAT" })),
      "ResourceNotFound"
    );
    await h.expectApiError(b.CreateFlowLog(h.eniRequest(B.ids, a.dcg, { ResourceType: "DCG" })), "ResourceNotFound");
    await h.expectApiError(
      b.CreateFlowLog({ FlowLogName: "c", ResourceType: "CCN", ResourceId: a.ccn, TrafficType: "ALL", CloudLogId: B.ids.clsGz }),
      "ResourceNotFound"
    );
    await h.expectApiError(
      b.CreateFlowLog({ FlowLogName: "v", ResourceType: "VPC", ResourceId: a.vpc, VpcId: a.vpc, TrafficType: "ALL", CloudLogId: B.ids.clsGz }),
      "ResourceNotFound"
    );
    // B's ENI, A's storage
    await h.expectApiError(b.CreateFlowLog(h.eniRequest(B.ids, B.ids.extraEnis[1], { CloudLogId: a.clsGz })), "ResourceNotFound");
    await h.expectApiError(
      b.CreateFlowLog(
        h.eniRequest(B.ids, B.ids.extraEnis[1], {
          CloudLogId: undefined,
          StorageType: "ckafka",
          FlowLogStorage: { StorageId: a.ckafka, StorageTopic: a.ckafkaTopic },
        })
      ),
      "ResourceNotFound"
    );
  });

  test("A's flow logs do not count against B (B's own resources still work)", async () => {
    const resp = await cl(B).CreateFlowLog(h.eniRequest(B.ids, B.ids.extraEnis[1]));
    assert.match(resp.FlowLog[0].FlowLogId, /^fl-[0-9a-z]{8}$/);
  });

  test("A's SecretId with B's SecretKey -> AuthFailure.SignatureFailure", async () => {
    const mixed = h.vpcClient({ endpoint: server.endpoint, secretId: A.SecretId, secretKey: B.SecretKey });
    await h.expectApiError(mixed.CreateFlowLog(h.eniRequest(A.ids, A.ids.eni)), "AuthFailure.SignatureFailure");
  });

  test("account create gives distinct accounts and keys", () => {
    assert.notEqual(A.Uin, B.Uin);
    assert.notEqual(String(A.AppId), String(B.AppId));
    assert.notEqual(A.SecretId, B.SecretId);
    assert.notEqual(A.SecretKey, B.SecretKey);
  });
});

describe("keys", () => {
  let restricted;
  let second;
  let createOnly;
  before(() => {
    restricted = h.createKey(dataDir, A.Uin, "DescribeFlowLogs");
    second = h.createKey(dataDir, A.Uin);
    createOnly = h.createKey(dataDir, A.Uin, ["DescribeFlowLogs", "CreateFlowLog"]);
  });

  test("a key limited to DescribeFlowLogs -> UnauthorizedOperation on CreateFlowLog", async () => {
    await h.expectApiError(cl(restricted).CreateFlowLog(h.eniRequest(A.ids, A.ids.extraEnis[19])), "UnauthorizedOperation");
  });

  test("the permission is checked after the signature: bad signature -> AuthFailure.SignatureFailure", async () => {
    const bad = { SecretId: restricted.SecretId, SecretKey: restricted.SecretKey + "x" };
    await h.expectApiError(cl(bad).CreateFlowLog(h.eniRequest(A.ids, A.ids.extraEnis[19])), "AuthFailure.SignatureFailure");
    const r = await h.rawCall({
      port: server.port,
      body: h.eniRequest(A.ids, A.ids.extraEnis[19]),
      secretId: restricted.SecretId,
      secretKey: restricted.SecretKey,
      timestamp: Math.floor(Date.now() / 1000) - 400,
    });
    h.expectEnvelope(r, "AuthFailure.SignatureExpire");
  });

  test("the permission is checked before the input: unknown field -> UnauthorizedOperation", async () => {
    const req = h.eniRequest(A.ids, A.ids.extraEnis[19], { Bogus: 1, FlowLogName: "" });
    await h.expectApiError(cl(restricted).CreateFlowLog(req), "UnauthorizedOperation");
  });

  test("the limited key may call its own action", async () => {
    try {
      await cl(restricted).DescribeFlowLogs({});
    } catch (e) {
      assert.ok(
        e.code !== "UnauthorizedOperation" && !String(e.code).startsWith("AuthFailure"),
        `DescribeFlowLogs with a key limited to it answered ${e.code}: ${e.message}`
      );
    }
  });

  test("a key limited to several actions, and an unlimited second key, both create for the account", async () => {
    const r1 = await cl(createOnly).CreateFlowLog(h.eniRequest(A.ids, nextEniA()));
    assert.match(r1.FlowLog[0].FlowLogId, /^fl-/);
    const r2 = await cl(second).CreateFlowLog(h.eniRequest(A.ids, nextEniA()));
    assert.match(r2.FlowLog[0].FlowLogId, /^fl-/);
    // the second key sees the account's flow logs: creating on the same resource again collides
    await h.expectApiError(
      cl(A).CreateFlowLog(h.eniRequest(A.ids, r2.FlowLog[0].ResourceId)),
      "UnsupportedOperation.FlowLogInstanceExisted"
    );
  });

  test("key create for an unknown account fails", () => {
    const r = h.cli(["key", "create", "--data", dataDir, "--uin", "999999999999"]);
    assert.notEqual(r.status, 0, `key create for an unknown uin exited 0: ${r.stdout}`);
  });
});

describe("rate limit (20/s, burst 20, per account and action)", () => {
  test("60 parallel CreateFlowLog from one account: some RequestLimitExceeded; others unaffected", async () => {
    const r1 = h.createAccount(dataDir);
    const r2 = h.createAccount(dataDir);
    // valid input that fails at the store lookup: no writes, every check runs
    const req = {
      FlowLogName: "rl",
      ResourceType: "NETWORKINTERFACE",
      ResourceId: "eni-zzzz9999",
      TrafficType: "ALL",
      VpcId: "vpc-zzzz9999",
      CloudLogId: "00000000-0000-4000-8000-000000000001",
    };
    const fire = (acct, n) =>
      Promise.all(
        Array.from({ length: n }, () =>
          h.rawCall({ port: server.port, body: req, secretId: acct.SecretId, secretKey: acct.SecretKey, retryRateLimit: false })
        )
      );
    const t0 = Date.now();
    const burst = await fire(r1, 60);
    const elapsedS = (Date.now() - t0) / 1000;
    const codes = burst.map((r) => h.expectEnvelope(r).Error && r.response.Error.Code);
    const byCode = countCodes(codes);
    const limited = byCode.RequestLimitExceeded || 0;
    const passed = codes.length - limited;
    assert.ok(limited >= 1, `no RequestLimitExceeded among 60 parallel calls in ${elapsedS}s: ${JSON.stringify(byCode)}`);
    assert.deepEqual(Object.keys(byCode).sort(), ["RequestLimitExceeded", "ResourceNotFound"], JSON.stringify(byCode));
    assert.ok(passed >= 20, `only ${passed} passed: the burst should allow 20 (${JSON.stringify(byCode)})`);
    assert.ok(passed <= 20 + Math.ceil(20 * elapsedS) + 2, `${passed} passed in ${elapsedS}s: more than 20 + 20/s`);

    // another account, same action, right now: unaffected
    const other = await fire(r2, 10);
    assert.deepEqual(countCodes(other.map((r) => h.expectEnvelope(r).Error.Code)), { ResourceNotFound: 10 });

    // the same account, another action: its own bucket
    const d = await h.rawCall({
      port: server.port,
      action: "DescribeFlowLogs",
      body: {},
      secretId: r1.SecretId,
      secretKey: r1.SecretKey,
      retryRateLimit: false,
    });
    const dresp = h.expectEnvelope(d);
    assert.ok(!dresp.Error || dresp.Error.Code !== "RequestLimitExceeded", `DescribeFlowLogs was limited by CreateFlowLog's bucket`);

    // a second later the bucket has refilled
    await h.sleep(1100);
    const again = await fire(r1, 10);
    assert.deepEqual(countCodes(again.map((r) => h.expectEnvelope(r).Error.Code)), { ResourceNotFound: 10 });
  });

  test("the SDK sees RequestLimitExceeded as an API error with a RequestId", async () => {
    const r3 = h.createAccount(dataDir);
    const c = h.vpcClient({ endpoint: server.endpoint, secretId: r3.SecretId, secretKey: r3.SecretKey, retryRateLimit: false });
    const req = h.eniRequest(A.ids, "eni-zzzz9999", { VpcId: "vpc-zzzz9999" });
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => c.CreateFlowLog(req)));
    const limited = results.filter((r) => r.status === "rejected" && r.reason.code === "RequestLimitExceeded");
    assert.ok(limited.length >= 1, `no RequestLimitExceeded: ${JSON.stringify(countCodes(results.map((r) => r.reason && r.reason.code)))}`);
    for (const r of limited) assert.match(r.reason.requestId, h.UUID_RE);
    for (const r of results) assert.equal(r.status, "rejected");
  });
});

describe("racing creates", () => {
  test("two simultaneous creates for one resource: exactly one wins, the other gets FlowLogInstanceExisted", async () => {
    for (let round = 0; round < 5; round++) {
      const eni = nextEniA();
      const c1 = cl(A);
      const c2 = cl(A);
      const results = await Promise.allSettled([
        c1.CreateFlowLog(h.eniRequest(A.ids, eni, { FlowLogName: "racer-1" })),
        c2.CreateFlowLog(h.eniRequest(A.ids, eni, { FlowLogName: "racer-2", TrafficType: "REJECT" })),
      ]);
      const ok = results.filter((r) => r.status === "fulfilled");
      const bad = results.filter((r) => r.status === "rejected");
      assert.equal(ok.length, 1, `round ${round}: ${ok.length} winners: ${JSON.stringify(results.map((r) => r.value || r.reason.code))}`);
      assert.equal(bad[0].reason.code, "UnsupportedOperation.FlowLogInstanceExisted", `round ${round}: ${bad[0].reason.message}`);
    }
  });

  test("eight simultaneous creates for one resource: exactly one wins", async () => {
    const eni = nextEniA();
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => cl(A).CreateFlowLog(h.eniRequest(A.ids, eni, { FlowLogName: `racer-${i}` })))
    );
    const ok = results.filter((r) => r.status === "fulfilled");
    assert.equal(ok.length, 1, JSON.stringify(results.map((r) => (r.value ? "ok" : r.reason.code))));
    for (const r of results.filter((x) => x.status === "rejected")) {
      assert.equal(r.reason.code, "UnsupportedOperation.FlowLogInstanceExisted");
    }
  });

  test("a VPC and an ENI of that VPC created at the same time both succeed (different resources)", async () => {
    const eni = nextEniA();
    const [v, e] = await Promise.all([
      cl(A).CreateFlowLog({ FlowLogName: "v", ResourceType: "VPC", ResourceId: A.ids.vpc2, VpcId: A.ids.vpc2, TrafficType: "ALL", CloudLogId: A.ids.clsGz }),
      cl(A).CreateFlowLog(h.eniRequest(A.ids, eni)),
    ]);
    assert.notEqual(v.FlowLog[0].FlowLogId, e.FlowLog[0].FlowLogId);
  });
});

describe("restart keeps everything", () => {
  let restricted;
  let createdBefore;

  test("SIGTERM: graceful exit, then the same data directory serves the same state", async () => {
    restricted = h.createKey(dataDir, A.Uin, "DescribeFlowLogs");
    const req = h.eniRequest(A.ids, nextEniA());
    createdBefore = (await cl(A).CreateFlowLog(req)).FlowLog[0];
    const info = await server.stop("SIGTERM", 8000);
    assert.notEqual(info.signal, "SIGKILL", "flowlogd did not exit within 8 s of SIGTERM");
    assert.ok(info.code === 0 || info.signal === "SIGTERM", `exit after SIGTERM: ${JSON.stringify(info)}`);

    server = await h.startServer({ dataDir });
    await h.expectApiError(cl(A).CreateFlowLog(req), "UnsupportedOperation.FlowLogInstanceExisted");
    // keys of both accounts still work, the limited key is still limited
    const resp = await cl(A).CreateFlowLog(h.eniRequest(A.ids, nextEniA()));
    assert.notEqual(resp.FlowLog[0].FlowLogId, createdBefore.FlowLogId);
    await h.expectApiError(cl(B).CreateFlowLog(h.eniRequest(B.ids, B.ids.extraEnis[1])), "UnsupportedOperation.FlowLogInstanceExisted");
    await h.expectApiError(cl(restricted).CreateFlowLog(h.eniRequest(A.ids, nextEniA())), "UnauthorizedOperation");
    // and the inventory: B still cannot see A's
    await h.expectApiError(cl(B).CreateFlowLog(h.eniRequest(A.ids, A.ids.eni)), "ResourceNotFound");
  });

  test("SIGKILL right after the answers: every acknowledged create is on disk", async () => {
    const enis = [nextEniA(), nextEniA(), nextEniA()];
    const acks = await Promise.all(enis.map((e) => cl(A).CreateFlowLog(h.eniRequest(A.ids, e))));
    assert.equal(acks.length, 3);
    const info = await server.stop("SIGKILL");
    assert.equal(info.signal, "SIGKILL");

    server = await h.startServer({ dataDir });
    for (const e of enis) {
      await h.expectApiError(cl(A).CreateFlowLog(h.eniRequest(A.ids, e)), "UnsupportedOperation.FlowLogInstanceExisted");
    }
    // the flow logs made before the SIGTERM restart are still there too
    await h.expectApiError(
      cl(A).CreateFlowLog(h.eniRequest(A.ids, createdBefore.ResourceId)),
      "UnsupportedOperation.FlowLogInstanceExisted"
    );
    await h.expectApiError(cl(restricted).CreateFlowLog(h.eniRequest(A.ids, A.ids.eni)), "UnauthorizedOperation");
  });
});
