// cls_search.test.js: SearchLog and DescribeLogContext (issue 15 §1) through
// the official Node SDK: exact results against what was uploaded (the
// ground truth kept here), [From, To) ranges, Sort, Limit, Offset, Context
// paging that neither repeats nor skips a log while logs keep arriving,
// Topics (several at once), the context of one log, tenancy, and the
// errors (a bad Context, a bad query). The query language itself is
// cls/clsq's (its own tests); the key:value cases here check that SearchLog
// hands the query to it and returns what it matches.
"use strict";

const { describe, test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const h = require("./harness");
const protobuf = require("protobufjs");

const LogGroupList = protobuf.loadSync(path.join(h.REPO, "src", "cls", "cls.proto")).lookupType("cls.LogGroupList");

let ctx, A, B, topic, topic2;
const T0 = Date.UTC(2026, 0, 1); // logs at T0 + i seconds
const truth = []; // {time, fields} uploaded before the tests
const late = []; // uploaded by the Context test while it pages

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

function upload(acct, topicId, logs, source = "10.1.1.1") {
  const { CommonClient } = require("tencentcloud-sdk-nodejs/tencentcloud/common/common_client");
  const c = new CommonClient(ctx.server.endpoint, "2020-10-16", {
    credential: { secretId: acct.SecretId, secretKey: acct.SecretKey },
    region: "ap-guangzhou",
    profile: { httpProfile: { endpoint: ctx.server.endpoint, protocol: "http://", reqTimeout: 60, headers: { "X-CLS-TopicId": topicId } } },
  });
  const body = Buffer.from(LogGroupList.encode(LogGroupList.fromObject({
    logGroupList: [{ source, filename: "flow", logs: logs.map((l) => ({ time: String(l.time), contents: Object.entries(l.fields).map(([key, value]) => ({ key, value })) })) }],
  })).finish());
  return h.withRateLimitRetry(() => c.requestOctetStream("UploadLog", body));
}

function record(i) {
  return {
    time: T0 + i * 1000,
    fields: { action: i % 3 === 0 ? "REJECT" : "ACCEPT", dstport: String([22, 80, 443][i % 3]), srcaddr: `10.0.${i % 2}.${i % 250}`, n: String(i) },
  };
}

before(async () => {
  ctx = await h.setup({ label: "clssearch", accounts: [{ tag: "aaaa" }, { tag: "bbbb" }] });
  [A, B] = ctx.accounts;
  const c = clsClient(A);
  const ls = await c.CreateLogset({ LogsetName: "s" });
  topic = (await c.CreateTopic({ LogsetId: ls.LogsetId, TopicName: "t1" })).TopicId;
  topic2 = (await c.CreateTopic({ LogsetId: ls.LogsetId, TopicName: "t2" })).TopicId;
  // 300 logs, uploaded out of time order in three requests
  const all = [];
  for (let i = 0; i < 300; i++) all.push(record(i));
  const order = [all.slice(200), all.slice(0, 100), all.slice(100, 200)];
  for (const part of order) await upload(A, topic, part);
  truth.push(...all);
  await upload(A, topic2, [record(1000), record(1001)], "10.2.2.2");
});
after(async () => {
  if (ctx) await ctx.server.stop();
});

const ns = (r) => r.Results.map((x) => Number(JSON.parse(x.LogJson).n));

describe("SearchLog", () => {
  test("everything in [From, To), newest first by default, Limit", async () => {
    const c = clsClient(A);
    const r = await c.SearchLog({ TopicId: topic, From: T0 + 10000, To: T0 + 20000, QueryString: "*", Limit: 1000 });
    assert.deepEqual(ns(r), [19, 18, 17, 16, 15, 14, 13, 12, 11, 10]);
    assert.equal(r.ListOver, true);
    assert.equal(r.Analysis, false);
    const x = r.Results[0];
    assert.equal(x.Time, T0 + 19000);
    assert.equal(x.TopicId, topic);
    assert.equal(x.TopicName, "t1");
    assert.equal(x.Source, "10.1.1.1");
    assert.equal(x.FileName, "flow");
    assert.deepEqual(JSON.parse(x.LogJson), record(19).fields);
    const asc = await c.SearchLog({ TopicId: topic, From: T0, To: T0 + 300000, Query: "", Sort: "asc", Limit: 5 });
    assert.deepEqual(ns(asc), [0, 1, 2, 3, 4]);
    assert.equal(asc.ListOver, false);
    const off = await c.SearchLog({ TopicId: topic, From: T0, To: T0 + 300000, Sort: "asc", Limit: 3, Offset: 10 });
    assert.deepEqual(ns(off), [10, 11, 12]);
  });

  test("Context pages neither repeat nor skip while logs arrive", async () => {
    const c = clsClient(A);
    const seen = [];
    let context = "";
    let pages = 0;
    let extra = 500;
    for (;;) {
      const req = { TopicId: topic, From: T0, To: T0 + 10000000, QueryString: "*", Limit: 37 };
      if (context) req.Context = context;
      const r = await c.SearchLog(req);
      seen.push(...ns(r));
      pages++;
      // new logs in the range, older and newer than the page, arrive between pages
      const more = [record(extra++), { time: T0 + 150500, fields: { n: String(extra++), action: "ACCEPT" } }];
      await upload(A, topic, more);
      late.push(...more);
      if (r.ListOver) break;
      context = r.Context;
      assert.ok(pages < 50);
    }
    const want = truth.map((x) => Number(x.fields.n)).sort((a, b) => b - a);
    assert.deepEqual(seen, want, "every log present when paging began, once, in order");
    await h.expectApiError(c.SearchLog({ TopicId: topic, From: T0, To: T0 + 5, Context: context }), "FailedOperation.InvalidContext");
    await h.expectApiError(c.SearchLog({ TopicId: topic, From: T0, To: T0 + 10000000, Limit: 37, Context: "garbage" }), "FailedOperation.InvalidContext");
  });

  test("Topics: several topics merged in time order, each with its Context", async () => {
    const c = clsClient(A);
    const r = await c.SearchLog({ Topics: [{ TopicId: topic }, { TopicId: topic2 }], From: T0 + 995000, To: T0 + 1002000, Sort: "asc", Limit: 10 });
    assert.deepEqual(ns(r), [1000, 1001]);
    assert.deepEqual(r.Results.map((x) => x.TopicId), [topic2, topic2]);
    assert.equal(r.Topics.Infos.length, 2);
    assert.deepEqual(r.Topics.Infos.map((x) => x.TopicId), [topic, topic2]);
    await h.expectApiError(c.SearchLog({ Topics: [{ TopicId: topic }, { TopicId: topic }], From: T0, To: T0 + 1000 }), "InvalidParameterValue", { mention: "Topics.1.TopicId" });
  });

  test("another tenant's topic does not exist; bad arguments", async () => {
    await h.expectApiError(clsClient(B).SearchLog({ TopicId: topic, From: T0, To: T0 + 1000 }), "ResourceNotFound.TopicNotExist");
    await h.expectApiError(clsClient(B).SearchLog({ Topics: [{ TopicId: topic2 }], From: T0, To: T0 + 1000 }), "ResourceNotFound.TopicNotExist");
    const c = clsClient(A);
    await h.expectApiError(c.SearchLog({ TopicId: topic, From: T0, To: T0, QueryString: "*" }), "InvalidParameterValue");
    await h.expectApiError(c.SearchLog({ TopicId: topic, From: T0, To: T0 + 1, Limit: 1001 }), "InvalidParameterValue");
    await h.expectApiError(c.SearchLog({ From: T0, To: T0 + 1 }), "MissingParameter");
  });

  test("DescribeLogContext: the logs around one", async () => {
    const c = clsClient(A);
    const r = await c.SearchLog({ TopicId: topic, From: T0 + 50000, To: T0 + 50001, Limit: 1 });
    const x = r.Results[0];
    const bt = new Date(x.Time + 8 * 3600 * 1000).toISOString().replace("T", " ").replace("Z", "");
    const d = await c.DescribeLogContext({ TopicId: topic, BTime: bt, PkgId: x.PkgId, PkgLogId: Number(x.PkgLogId), PrevLogs: 3, NextLogs: 2 });
    assert.deepEqual(d.LogContextInfos.map((l) => Number(JSON.parse(l.Content).n)), [47, 48, 49, 50, 51, 52]);
    assert.equal(d.LogContextInfos[3].BTime, x.Time);
    assert.equal(d.PrevOver, false);
    assert.equal(d.NextOver, false);
    await h.expectApiError(clsClient(B).DescribeLogContext({ TopicId: topic, BTime: bt, PkgId: x.PkgId, PkgLogId: 0 }), "ResourceNotFound.TopicNotExist");
    await h.expectApiError(c.DescribeLogContext({ TopicId: topic, BTime: "yesterday", PkgId: x.PkgId, PkgLogId: 0 }), "InvalidParameterValue");
  });

  test("key:value, wildcard and range queries go through clsq: exactly the matching logs", async () => {
    const c = clsClient(A);
    const all = truth.filter((x) => x.time < T0 + 300000);
    const want = (f) => all.filter((x) => f(x.fields)).map((x) => Number(x.fields.n)).sort((a, b) => b - a);
    const q = async (QueryString) => ns(await c.SearchLog({ TopicId: topic, From: T0, To: T0 + 300000, QueryString, Limit: 1000 }));
    assert.deepEqual(await q("action:REJECT AND dstport:22"), want((f) => f.action === "REJECT" && f.dstport === "22"));
    assert.deepEqual(await q("srcaddr:10.0.1.*"), want((f) => f.srcaddr.startsWith("10.0.1.")));
    assert.deepEqual(await q("dstport:443 OR dstport:80"), want((f) => f.dstport !== "22"));
    assert.deepEqual(await q("NOT action:ACCEPT"), want((f) => f.action !== "ACCEPT"));
    const lucene = ns(await c.SearchLog({ TopicId: topic, From: T0, To: T0 + 300000, Query: "action:REJECT", SyntaxRule: 0, Limit: 1000 }));
    assert.deepEqual(lucene, want((f) => f.action === "REJECT"));
    await h.expectApiError(c.SearchLog({ TopicId: topic, From: T0, To: T0 + 1000, QueryString: "action:(" }), "FailedOperation.SyntaxError");
  });

  test("analysis after |: the group-by equals the truth computed here", async () => {
    const c = clsClient(A);
    const r = await c.SearchLog({ TopicId: topic, From: T0, To: T0 + 300000, QueryString: "* | select dstport, count(*) as c group by dstport order by c desc, dstport" });
    assert.equal(r.Analysis, true);
    const counts = {};
    for (const x of truth.concat(late).filter((t) => t.time < T0 + 300000)) {
      const k = x.fields.dstport === undefined ? "null" : x.fields.dstport;
      counts[k] = (counts[k] || 0) + 1;
    }
    // dstport orders as a number (clsq compares numbers as numbers); no dstport is NULL, last
    const want = Object.entries(counts).sort((a, b) => b[1] - a[1] || Number(a[0]) - Number(b[0])).map(([p, n]) => [p, n]);
    const got = r.AnalysisRecords.map((s) => JSON.parse(s)).map((o) => [String(o.dstport), Number(o.c)]);
    assert.deepEqual(got, want);
    assert.deepEqual(r.ColNames, ["dstport", "c"]);
  });
});
