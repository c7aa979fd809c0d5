// migrate.test.js: `flowlogd migrate --from DIR --to postgresql://...` moves
// a SQLite data directory into PostgreSQL: the same keys sign, the same flow
// logs (fields, tags, order) come back, the quota counts what was moved,
// and a second migrate into the same store is refused with nothing changed.
// Needs FLOWLOGD_TEST_STORE (a postgresql:// URL); skips without it (with
// CI=true that is a failure).
"use strict";

const { test } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const crypto = require("node:crypto");
const h = require("../integration/harness.js");

test("a SQLite data directory migrated into PostgreSQL serves the same data", async (t) => {
  if (!h.TEST_STORE) {
    if (process.env.CI === "true") assert.fail("FLOWLOGD_TEST_STORE is not set");
    return t.skip("FLOWLOGD_TEST_STORE (a postgresql:// URL) is not set");
  }
  const dir = h.tmpDir("migrate-src");
  const sq = (args) => {
    const r = h.cli(args, { sqlite: true });
    assert.equal(r.status, 0, `${args.join(" ")}: ${r.stdout} ${r.stderr}`);
    return r.json;
  };
  // on SQLite: an account with quota 31, its inventory, 30 flow logs with tags, one deleted
  const acct = sq(["account", "create", "--data", dir, "--flowlog-quota", "31"]);
  const fx = h.inventoryFixture({ tag: "abab", extraEnis: 40 });
  const inv = path.join(h.tmpDir("migrate-inv"), "inv.json");
  fs.writeFileSync(inv, JSON.stringify(fx.inventory));
  sq(["inventory", "import", "--data", dir, "--uin", String(acct.Uin), inv]);
  const lite = await h.startServer({ dataDir: dir, sqlite: true, args: ["--rate-limit", "100000", "--quiet"] });
  let c = h.vpcClient({ endpoint: lite.endpoint, secretId: acct.SecretId, secretKey: acct.SecretKey });
  for (let i = 0; i < 30; i++) {
    const tags = i % 3 ? [{ Key: "team", Value: `t${i % 4}` }, { Key: "env", Value: "v \u4e2d(1)" }] : undefined;
    await c.CreateFlowLog(h.eniRequest(fx.ids, fx.ids.extraEnis[i], { FlowLogName: `m-${i}`, Tags: tags }));
  }
  const before = await c.DescribeFlowLogs({ Limit: 100 });
  await c.DeleteFlowLog({ FlowLogId: before.FlowLog[0].FlowLogId, VpcId: fx.ids.vpc });
  const want = await c.DescribeFlowLogs({ Limit: 100, OrderField: "flowLogName", OrderDirection: "DESC" });
  // the cls service: a logset, a topic with tags, 50 logs in it (one idempotent batch)
  let cls = clsOf(lite, acct);
  const logsetId = (await cls.CreateLogset({ LogsetName: "moved", Tags: [{ Key: "team", Value: "net" }] })).LogsetId;
  const topicId = (await cls.CreateTopic({ LogsetId: logsetId, TopicName: "flows", Period: 30, Tags: [{ Key: "k", Value: "v" }] })).TopicId;
  const t0 = Date.now() - 60000;
  const logs = [];
  for (let i = 0; i < 50; i++) logs.push({ time: String(t0 + i), contents: [{ key: "dstport", value: String(i % 5 ? 443 : 22) }, { key: "n", value: String(i) }, { key: "bin", value: "a\tb\\c\u00e9\n" }] });
  const batch = { logs, source: "10.0.0.9", logTags: [{ key: "__flowlogd_batch__", value: "b1" }] };
  await upload(lite, acct, topicId, [batch]);
  const search = (cl) => cl.SearchLog({ TopicId: topicId, From: t0 - 1, To: t0 + 1000, Query: "dstport:22", Limit: 100, Sort: "asc" });
  const wantLogs = (await search(cls)).Results.map((r) => [r.Time, r.LogJson, r.Source]);
  assert.equal(wantLogs.length, 10);
  const wantTopics = (await cls.DescribeTopics({})).Topics;
  await lite.stop();
  assert.equal(want.TotalNum, 29);

  const url = `${h.TEST_STORE}${h.TEST_STORE.includes("?") ? "&" : "?"}schema=t_mig_${crypto.randomBytes(6).toString("hex")}`;
  const m = h.cli(["migrate", "--from", dir, "--to", url], { sqlite: true, timeoutMs: 120000 });
  assert.equal(m.status, 0, m.stdout + m.stderr);
  assert.equal(m.json.Accounts, 1);
  assert.equal(m.json.FlowLogs, 29);
  assert.deepEqual([m.json.ClsLogsets, m.json.ClsTopics, m.json.ClsLogs, m.json.ClsBatches], [1, 1, 50, 1]);
  assert.equal(m.json.Check, "ok");

  // on PostgreSQL: the same key, the same answer
  const srv = await startPg(url);
  t.after(() => srv.stop());
  c = h.vpcClient({ endpoint: srv.endpoint, secretId: acct.SecretId, secretKey: acct.SecretKey });
  const got = await c.DescribeFlowLogs({ Limit: 100, OrderField: "flowLogName", OrderDirection: "DESC" });
  assert.equal(got.TotalNum, want.TotalNum);
  assert.deepEqual(
    got.FlowLog.map((f) => [f.FlowLogId, f.FlowLogName, f.ResourceId, f.CreatedTime, f.TagSet]),
    want.FlowLog.map((f) => [f.FlowLogId, f.FlowLogName, f.ResourceId, f.CreatedTime, f.TagSet])
  );
  // the cls data: the same topic, the same logs; the batch is still known,
  // new logs and topics go on after the moved ones
  cls = clsOf(srv, acct);
  assert.deepEqual((await cls.DescribeTopics({})).Topics, wantTopics);
  assert.deepEqual((await search(cls)).Results.map((r) => [r.Time, r.LogJson, r.Source]), wantLogs);
  await upload(srv, acct, topicId, [batch]);
  await upload(srv, acct, topicId, [{ logs: logs.slice(0, 5) }]);
  assert.equal((await search(cls)).Results.length, 11);
  const t2 = (await cls.CreateTopic({ LogsetId: logsetId, TopicName: "second", Period: 1 })).TopicId;
  await upload(srv, acct, t2, [{ logs: logs.slice(0, 3) }]);
  const byTag = await c.DescribeFlowLogs({ Filters: [{ Name: "tag:team", Values: ["t1"] }] });
  assert.equal(byTag.TotalNum, want.FlowLog.filter((f) => f.TagSet.some((x) => x.Key === "team" && x.Value === "t1")).length);
  // the quota (31) counts the moved flow logs: 29 + 2 more, then LimitExceeded
  await c.CreateFlowLog(h.eniRequest(fx.ids, fx.ids.extraEnis[35]));
  await c.CreateFlowLog(h.eniRequest(fx.ids, fx.ids.extraEnis[36]));
  await h.expectApiError(c.CreateFlowLog(h.eniRequest(fx.ids, fx.ids.extraEnis[37])), "LimitExceeded");
  // the resource that still has its flow log keeps it
  await h.expectApiError(c.CreateFlowLog(h.eniRequest(fx.ids, fx.ids.extraEnis[5])), "UnsupportedOperation.FlowLogInstanceExisted");

  // a second migrate into a store with accounts is refused, nothing changes
  const again = h.cli(["migrate", "--from", dir, "--to", url], { sqlite: true, timeoutMs: 120000 });
  assert.equal(again.status, 1);
  assert.match(again.stderr, /already has accounts/);
  assert.equal((await c.DescribeFlowLogs({ Limit: 1 })).TotalNum, 31);
});

test("the cls logsets, topics and logs move too: SearchLog finds what was uploaded, uploads go on", async (t) => {
  if (!h.TEST_STORE) {
    if (process.env.CI === "true") assert.fail("FLOWLOGD_TEST_STORE is not set");
    return t.skip("FLOWLOGD_TEST_STORE (a postgresql:// URL) is not set");
  }
  const protobuf = require("protobufjs");
  const LogGroupList = protobuf.loadSync(path.join(h.REPO, "src", "cls", "cls.proto")).lookupType("cls.LogGroupList");
  const dir = h.tmpDir("migrate-cls");
  const r0 = h.cli(["account", "create", "--data", dir], { sqlite: true });
  assert.equal(r0.status, 0, r0.stdout + r0.stderr);
  const acct = r0.json;
  const fx = h.inventoryFixture({ tag: "cdcd" });
  const inv = path.join(h.tmpDir("migrate-cls-inv"), "inv.json");
  fs.writeFileSync(inv, JSON.stringify(fx.inventory));
  const ri = h.cli(["inventory", "import", "--data", dir, "--uin", String(acct.Uin), inv], { sqlite: true });
  assert.equal(ri.status, 0, ri.stdout + ri.stderr);
  const clients = (endpoint) => {
    const o = { credential: { secretId: acct.SecretId, secretKey: acct.SecretKey }, region: "ap-guangzhou" };
    const cls = new (h.sdk().cls.v20201016.Client)(Object.assign({ profile: { httpProfile: { endpoint, protocol: "http://", reqTimeout: 60 } } }, o));
    const { CommonClient } = require("tencentcloud-sdk-nodejs/tencentcloud/common/common_client");
    const upload = (topicId, logs) => {
      const c = new CommonClient(endpoint, "2020-10-16", Object.assign({ profile: { httpProfile: { endpoint, protocol: "http://", reqTimeout: 60, headers: { "X-CLS-TopicId": topicId } } } }, o));
      const body = Buffer.from(LogGroupList.encode(LogGroupList.fromObject({
        logGroupList: [{ source: "10.9.9.9", filename: "flow", logs: logs.map((l) => ({ time: String(l.time), contents: Object.entries(l.fields).map(([key, value]) => ({ key, value })) })) }],
      })).finish());
      return h.withRateLimitRetry(() => c.requestOctetStream("UploadLog", body));
    };
    return { cls, upload, vpc: h.vpcClient({ endpoint, secretId: acct.SecretId, secretKey: acct.SecretKey }) };
  };
  const T0 = Date.UTC(2026, 0, 1);
  const rec = (i) => ({ time: T0 + i * 1000, fields: { action: i % 2 ? "ACCEPT" : "REJECT", n: String(i), note: "\u4e2d\t\\x" } });
  const lite = await h.startServer({ dataDir: dir, sqlite: true, args: ["--rate-limit", "100000", "--quiet"] });
  let c = clients(lite.endpoint);
  const ls = (await c.cls.CreateLogset({ LogsetName: "m", Tags: [{ Key: "k", Value: "v" }] })).LogsetId;
  const topic = (await c.cls.CreateTopic({ LogsetId: ls, TopicName: "t", Period: 3600, Tags: [{ Key: "a", Value: "b" }] })).TopicId;
  const other = (await c.cls.CreateTopic({ LogsetId: ls, TopicName: "u", Period: 3600 })).TopicId;
  await c.vpc.CreateFlowLog(h.eniRequest(fx.ids, fx.ids.eni, { CloudLogId: topic }));
  for (let b = 0; b < 4; b++) await c.upload(b % 2 ? other : topic, Array.from({ length: 25 }, (_, i) => rec(b * 25 + i)));
  const search = async (cl, id) =>
    (await cl.SearchLog({ TopicId: id, From: T0, To: T0 + 1000000, QueryString: "*", Limit: 1000, Sort: "asc" })).Results.map((x) => [x.Time, x.LogJson, x.Source]);
  const want = { t: await search(c.cls, topic), u: await search(c.cls, other), rejects: (await c.cls.SearchLog({ TopicId: topic, From: T0, To: T0 + 1000000, QueryString: "action:REJECT", Limit: 1000 })).Results.length };
  const strip = (o) => JSON.parse(JSON.stringify(o, (k, v) => (k === "RequestId" ? undefined : v)));
  const wantTopics = strip(await c.cls.DescribeTopics({}));
  const wantLogsets = strip(await c.cls.DescribeLogsets({}));
  await lite.stop();
  assert.equal(want.t.length, 50);
  assert.equal(want.u.length, 50);
  assert.equal(want.rejects, 26); // the even n of 0..24 and 50..74

  const url = `${h.TEST_STORE}${h.TEST_STORE.includes("?") ? "&" : "?"}schema=t_migcls_${crypto.randomBytes(6).toString("hex")}`;
  const m = h.cli(["migrate", "--from", dir, "--to", url], { sqlite: true, timeoutMs: 120000 });
  assert.equal(m.status, 0, m.stdout + m.stderr);
  assert.deepEqual([m.json.ClsLogsets, m.json.ClsTopics, m.json.ClsLogs, m.json.FlowLogs], [1, 2, 100, 1]);
  assert.ok(Number.isInteger(m.json.ClsBatches), m.stdout);
  assert.equal(m.json.Check, "ok");

  const srv = await startPg(url);
  t.after(() => srv.stop());
  c = clients(srv.endpoint);
  assert.deepEqual(strip(await c.cls.DescribeTopics({})), wantTopics);
  assert.deepEqual(strip(await c.cls.DescribeLogsets({})), wantLogsets);
  assert.deepEqual(await search(c.cls, topic), want.t);
  assert.deepEqual(await search(c.cls, other), want.u);
  assert.equal((await c.cls.SearchLog({ TopicId: topic, From: T0, To: T0 + 1000000, QueryString: "action:REJECT", Limit: 1000 })).Results.length, want.rejects);
  assert.equal((await c.vpc.DescribeFlowLogs({})).FlowLog[0].CloudLogId, topic);
  // uploads go on after the moved ones (the seq counter came along), and a new topic gets a tnum of its own
  await c.upload(topic, [rec(200)]);
  const after = await search(c.cls, topic);
  assert.equal(after.length, 51);
  assert.deepEqual(after.slice(0, 50), want.t);
  const fresh = (await c.cls.CreateTopic({ LogsetId: ls, TopicName: "new", Period: 3600 })).TopicId;
  await c.upload(fresh, [rec(300)]);
  assert.equal((await search(c.cls, fresh)).length, 1);
  assert.deepEqual(await search(c.cls, other), want.u);
});

function clsOf(srv, acct) {
  return new (h.sdk().cls.v20201016.Client)({
    credential: { secretId: acct.SecretId, secretKey: acct.SecretKey },
    region: "ap-guangzhou",
    profile: { httpProfile: { endpoint: srv.endpoint, protocol: "http://", reqTimeout: 60 } },
  });
}

/** UploadLog of `groups` (a protobuf LogGroupList, as the SDK sends it). */
async function upload(srv, acct, topicId, groups) {
  const protobuf = require("protobufjs");
  const { CommonClient } = require("tencentcloud-sdk-nodejs/tencentcloud/common/common_client");
  const T = protobuf.loadSync(path.join(h.REPO, "src", "cls", "cls.proto")).lookupType("cls.LogGroupList");
  const body = Buffer.from(T.encode(T.fromObject({ logGroupList: groups })).finish());
  const c = new CommonClient(srv.endpoint, "2020-10-16", {
    credential: { secretId: acct.SecretId, secretKey: acct.SecretKey },
    region: "ap-guangzhou",
    profile: { httpProfile: { endpoint: srv.endpoint, protocol: "http://", reqTimeout: 60, headers: { "X-CLS-TopicId": topicId } } },
  });
  return c.requestOctetStream("UploadLog", body);
}

/** A server on the PostgreSQL store at `url`. */
async function startPg(url) {
  // startServer takes a data directory; give it the URL through --store instead
  const { spawn } = require("node:child_process");
  const port = await h.freePort();
  const proc = spawn(h.BIN, ["serve", "--listen", `127.0.0.1:${port}`, "--store", url, "--rate-limit", "100000", "--quiet"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" from flowlogd: ${out}`)), 15000);
    const on = (d) => {
      out += d;
      if (/listening/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout.on("data", on);
    proc.stderr.on("data", on);
    proc.on("exit", (code) => reject(new Error(`flowlogd exited ${code}: ${out}`)));
  });
  return {
    endpoint: `127.0.0.1:${port}`,
    stop: () =>
      new Promise((res) => {
        if (proc.exitCode !== null) return res();
        proc.on("exit", () => res());
        proc.kill("SIGTERM");
      }),
  };
}
