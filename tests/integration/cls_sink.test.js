// cls_sink.test.js: the CLS sink (src/sink/cls.c) end to end (issue 15 §1):
// `flowlogd replay --cls-endpoint` delivers a generated capture's records
// through UploadLog (TC3-signed, lz4, batches named for idempotency) into
// a topic made with the official SDK; SearchLog then returns exactly the
// records `flowlogd replay` prints for the same capture (one CLS log per
// record, one content per field name, time = the record's start, source =
// the host, filename = the flow log). Delivering the same windows again (a
// retry after a lost answer) stores nothing more.
"use strict";

const { describe, test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const h = require("./harness");

const FLOWGEN = process.env.FLOWGEN_BIN || path.join(path.dirname(h.BIN), "tools", "flowgen");
const NAMES = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status".split(" ");

let ctx, A, topic, pcap, dir;

function clsClient(acct) {
  const c = new (h.sdk().cls.v20201016.Client)({
    credential: { secretId: acct.SecretId, secretKey: acct.SecretKey },
    region: "ap-guangzhou",
    profile: { httpProfile: { endpoint: ctx.server.endpoint, protocol: "http://", reqTimeout: 60 } },
  });
  return new Proxy(c, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function" || !/^[A-Z]/.test(String(prop))) return v;
      return (...args) => h.withRateLimitRetry(() => v.apply(target, args));
    },
  });
}

function replay(extra, env) {
  return spawnSync(h.BIN, ["replay", "--pcap", pcap, "--capture-window", "60", "--interface-id", "eni-sink0001", "--account-id", "1234567890", ...extra],
    { encoding: "utf8", maxBuffer: 1 << 30, env: Object.assign({}, process.env, env || {}) });
}

before(async () => {
  ctx = await h.setup({ label: "clssink", accounts: [{ tag: "aaaa" }] });
  [A] = ctx.accounts;
  const c = clsClient(A);
  const ls = await c.CreateLogset({ LogsetName: "sink" });
  topic = (await c.CreateTopic({ LogsetId: ls.LogsetId, TopicName: "flow" })).TopicId;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "flowlogd-clssink-"));
  pcap = path.join(dir, "c.pcap");
  const g = spawnSync(FLOWGEN, ["--out", pcap, "--packets", "20000", "--flows", "300", "--duration", "240", "--start", "1700000000"], { encoding: "utf8" });
  assert.equal(g.status, 0, g.stderr);
});
after(async () => {
  if (ctx) await ctx.server.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function everything() {
  const c = clsClient(A);
  const out = [];
  let context = "";
  for (;;) {
    const req = { TopicId: topic, From: 1699990000000, To: 1700010000000, QueryString: "*", Sort: "asc", Limit: 1000 };
    if (context) req.Context = context;
    const r = await c.SearchLog(req);
    out.push(...r.Results);
    if (r.ListOver) return out;
    context = r.Context;
  }
}

describe("the CLS sink", () => {
  test("replay --cls-endpoint: SearchLog returns exactly the records replay prints", async () => {
    const printed = replay([]);
    assert.equal(printed.status, 0, printed.stderr);
    const lines = printed.stdout.split("\n").filter(Boolean);
    assert.ok(lines.length > 300, `only ${lines.length} records`);
    const env = { TENCENTCLOUD_SECRET_ID: A.SecretId, TENCENTCLOUD_SECRET_KEY: A.SecretKey };
    const sent = replay(["--cls-endpoint", ctx.server.endpoint, "--cls-topic", topic, "--flowlog-id", "fl-sink0001", "--agent-id", "host-1"], env);
    assert.equal(sent.status, 0, sent.stderr);
    assert.match(sent.stderr, new RegExp(`${lines.length} records in \\d+ windows delivered`));
    const got = await everything();
    assert.equal(got.length, lines.length);
    const want = lines.map((l) => Object.fromEntries(l.split(" ").map((v, i) => [NAMES[i], v])));
    const key = (o) => NAMES.map((n) => o[n]).join(" ");
    assert.deepEqual(got.map((x) => key(JSON.parse(x.LogJson))).sort(), want.map(key).sort());
    for (const x of got) {
      const f = JSON.parse(x.LogJson);
      assert.equal(x.Time, Number(f.start) * 1000);
      assert.equal(x.FileName, "fl-sink0001");
      assert.equal(x.Source, os.hostname());
      assert.deepEqual(Object.keys(f), NAMES);
    }
    // the same windows again (a retry): stored once
    const again = replay(["--cls-endpoint", ctx.server.endpoint, "--cls-topic", topic, "--flowlog-id", "fl-sink0001", "--agent-id", "host-1"], env);
    assert.equal(again.status, 0, again.stderr);
    assert.equal((await everything()).length, lines.length);
  });

  test("a wrong topic or credential fails loudly", async () => {
    const env = { TENCENTCLOUD_SECRET_ID: A.SecretId, TENCENTCLOUD_SECRET_KEY: A.SecretKey };
    const r = replay(["--cls-endpoint", ctx.server.endpoint, "--cls-topic", "no-such-topic"], env);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /ResourceNotFound\.TopicNotExist/);
    const k = replay(["--cls-endpoint", ctx.server.endpoint, "--cls-topic", topic], { TENCENTCLOUD_SECRET_ID: A.SecretId, TENCENTCLOUD_SECRET_KEY: "wrong" });
    assert.equal(k.status, 1);
    assert.match(k.stderr, /AuthFailure\.SignatureFailure/);
  });

  test("an agent key uploads into a topic an enabled flow log delivers to, and nowhere else", async () => {
    const c = clsClient(A);
    const ls = await c.CreateLogset({ LogsetName: "agent" });
    const t = (await c.CreateTopic({ LogsetId: ls.LogsetId, TopicName: "agent-flow" })).TopicId;
    const ak = h.cliJson(["agent-key", "create", "--data", ctx.dataDir, "--host", "host-a"]);
    const env = { TENCENTCLOUD_SECRET_ID: ak.SecretId, TENCENTCLOUD_SECRET_KEY: ak.SecretKey };
    const args = ["--cls-endpoint", ctx.server.endpoint, "--cls-topic", t, "--flowlog-id", "fl-agent001", "--agent-id", "host-a"];
    // no flow log delivers to the topic yet: the agent key is no credential here
    let r = replay(args, env);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /AuthFailure\.SecretIdNotFound/);
    const vpc = A.client();
    const fl = (await vpc.CreateFlowLog(h.eniRequest(A.ids, A.ids.eni, { CloudLogId: t, FlowLogName: "agent" }))).FlowLog[0].FlowLogId;
    r = replay(args, env);
    assert.equal(r.status, 0, r.stderr);
    const n = replay([]).stdout.split("\n").filter(Boolean).length;
    let total = 0, context = "";
    for (;;) {
      const req = { TopicId: t, From: 1699990000000, To: 1700010000000, Limit: 1000 };
      if (context) req.Context = context;
      const p = await c.SearchLog(req);
      total += p.Results.length;
      if (p.ListOver) break;
      context = p.Context;
    }
    assert.equal(total, n);
    // the agent key does nothing else, and not once the flow log is disabled
    await h.expectApiError(new (h.sdk().cls.v20201016.Client)({ credential: { secretId: ak.SecretId, secretKey: ak.SecretKey }, region: "ap-guangzhou",
      profile: { httpProfile: { endpoint: ctx.server.endpoint, protocol: "http://" } } }).DescribeTopics({}), "AuthFailure.SecretIdNotFound");
    await vpc.DisableFlowLogs({ FlowLogIds: [fl] });
    r = replay(args, env);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /AuthFailure\.SecretIdNotFound/);
  });
});
