// cls_query.test.js: the CLS query language end to end (issue 15 §1 "Search",
// src/cls/clsq*): logs uploaded with the official Node SDK's UploadLog, then
// SearchLog queries in CQL and Lucene (QueryString + QuerySyntax, and the
// older Query + SyntaxRule), and analyses after '|', each compared
// with the answer computed here from the uploaded logs (the ground truth),
// plus a bad query's CLS error naming its position. The library's own cases
// are in tests/unit/test_clsq.c; this checks that SearchLog hands the query
// to it and returns its answer in CLS's fields.
"use strict";

const { describe, test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const h = require("./harness");
const protobuf = require("protobufjs");

const LogGroupList = protobuf.loadSync(path.join(h.REPO, "src", "cls", "cls.proto")).lookupType("cls.LogGroupList");

let ctx, A, topic;
const T0 = Date.UTC(2026, 0, 1, 8, 0, 0); // logs at T0 + 7 s * i
const N = 400;
const truth = [];

function clsClient(acct, language) {
  const c = new (h.sdk().cls.v20201016.Client)({
    credential: { secretId: acct.SecretId, secretKey: acct.SecretKey },
    region: "ap-guangzhou",
    profile: { language, httpProfile: { endpoint: ctx.server.endpoint, protocol: "http://", reqTimeout: 60 } },
  });
  return new Proxy(c, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function" || !/^[A-Z]/.test(String(prop))) return v;
      return (...args) => h.withRateLimitRetry(() => v.apply(target, args));
    },
  });
}

function upload(acct, topicId, logs) {
  const { CommonClient } = require("tencentcloud-sdk-nodejs/tencentcloud/common/common_client");
  const c = new CommonClient(ctx.server.endpoint, "2020-10-16", {
    credential: { secretId: acct.SecretId, secretKey: acct.SecretKey },
    region: "ap-guangzhou",
    profile: { httpProfile: { endpoint: ctx.server.endpoint, protocol: "http://", reqTimeout: 60, headers: { "X-CLS-TopicId": topicId } } },
  });
  const body = Buffer.from(LogGroupList.encode(LogGroupList.fromObject({
    logGroupList: [{ source: "10.9.9.9", filename: "flow", logs: logs.map((l) => ({ time: String(l.time), contents: Object.entries(l.fields).map(([key, value]) => ({ key, value })) })) }],
  })).finish());
  return h.withRateLimitRetry(() => c.requestOctetStream("UploadLog", body));
}

// flow-log-like records; bytes is "-" on every 17th (NODATA style)
function record(i) {
  return {
    time: T0 + i * 7000,
    fields: {
      action: i % 4 === 0 ? "REJECT" : "ACCEPT",
      dstport: String([22, 80, 443, 53, 3306][i % 5]),
      srcaddr: `10.0.${i % 3}.${(i * 7) % 250 + 1}`,
      "interface-id": `eni-${String(i % 6).padStart(8, "0")}`,
      bytes: i % 17 === 0 ? "-" : String(40 + ((i * 7919) % 100000)),
      n: String(i),
    },
  };
}

const num = (s) => (/^-?\d+$/.test(s) ? Number(s) : null);
const ns = (r) => r.Results.map((x) => Number(JSON.parse(x.LogJson).n)).sort((a, b) => a - b);
const recs = (r) => r.AnalysisRecords.map((s) => JSON.parse(s));

before(async () => {
  ctx = await h.setup({ label: "clsquery", accounts: [{ tag: "aaaa" }] });
  [A] = ctx.accounts;
  const c = clsClient(A);
  const ls = await c.CreateLogset({ LogsetName: "q" });
  topic = (await c.CreateTopic({ LogsetId: ls.LogsetId, TopicName: "flows" })).TopicId;
  for (let i = 0; i < N; i++) truth.push(record(i));
  for (let i = 0; i < N; i += 100) await upload(A, topic, truth.slice(i, i + 100));
});
after(async () => {
  if (ctx) await ctx.server.stop();
});

describe("CLS queries through SearchLog", () => {
  const all = { From: T0, To: T0 + N * 7000 };

  test("search: key:value, wildcards, ranges, boolean operators (CQL and Lucene)", async () => {
    const c = clsClient(A);
    const cases = [
      ["action:REJECT AND dstport:22", 1, (f) => f.action === "REJECT" && f.dstport === "22"],
      ["srcaddr:10.0.1.*", 1, (f) => f.srcaddr.startsWith("10.0.1.")],
      ["bytes:>50000", 1, (f) => num(f.bytes) !== null && num(f.bytes) > 50000],
      ["bytes:[1000 TO 2000]", 0, (f) => num(f.bytes) !== null && num(f.bytes) >= 1000 && num(f.bytes) <= 2000],
      ["(dstport:22 OR dstport:443) AND NOT action:ACCEPT", 1, (f) => ["22", "443"].includes(f.dstport) && f.action !== "ACCEPT"],
      ["dstport:53 && -action:REJECT", 0, (f) => f.dstport === "53" && f.action !== "REJECT"],
      ["interface-id:eni-00000003", 1, (f) => f["interface-id"] === "eni-00000003"],
      ["REJECT", 1, (f) => f.action === "REJECT"],
    ];
    for (const [q, rule, pred] of cases) {
      const r = await c.SearchLog({ TopicId: topic, ...all, QueryString: q, QuerySyntax: rule, Limit: 1000 });
      const want = truth.filter((x) => pred(x.fields)).map((x) => Number(x.fields.n)).sort((a, b) => a - b);
      assert.ok(want.length > 0, q);
      assert.deepEqual(ns(r), want, q);
      assert.equal(r.Analysis, false);
    }
  });

  test("analysis: the issue's top ports by bytes, equal to the truth", async () => {
    const c = clsClient(A);
    const r = await c.SearchLog({ TopicId: topic, ...all, QueryString: "* | select dstport, sum(bytes) as b group by dstport order by b desc limit 5", QuerySyntax: 1 });
    assert.equal(r.Analysis, true);
    assert.deepEqual(r.ColNames, ["dstport", "b"]);
    assert.deepEqual(r.Columns.map((x) => [x.Name, x.Type]), [["dstport", "varchar"], ["b", "bigint"]]);
    const sums = {};
    for (const x of truth) if (num(x.fields.bytes) !== null) sums[x.fields.dstport] = (sums[x.fields.dstport] || 0) + num(x.fields.bytes);
    const want = Object.entries(sums).sort((a, b) => b[1] - a[1]).slice(0, 5).map(([dstport, b]) => ({ dstport, b }));
    assert.deepEqual(recs(r), want);
    assert.deepEqual(r.AnalysisResults.map((x) => x.Data.map((d) => [d.Key, d.Value])), want.map((w) => [["dstport", w.dstport], ["b", String(w.b)]]));
  });

  test("analysis: count, distinct, where, histogram per minute", async () => {
    const c = clsClient(A);
    let r = await c.SearchLog({ TopicId: topic, ...all, QueryString: "action:REJECT | select count(*) as c, count(distinct srcaddr) as u", QuerySyntax: 1 });
    const rej = truth.filter((x) => x.fields.action === "REJECT");
    assert.deepEqual(recs(r), [{ c: rej.length, u: new Set(rej.map((x) => x.fields.srcaddr)).size }]);

    r = await c.SearchLog({ TopicId: topic, ...all, QueryString: "* | select count(*) as c where bytes > 90000 and dstport in (22, 80)", QuerySyntax: 1 });
    assert.deepEqual(recs(r), [{ c: truth.filter((x) => num(x.fields.bytes) > 90000 && ["22", "80"].includes(x.fields.dstport)).length }]);

    r = await c.SearchLog({ TopicId: topic, ...all, QueryString: "* | select histogram(cast(__TIMESTAMP__ as timestamp), interval 1 minute) as t, count(*) as pv group by t order by t limit 1000", QuerySyntax: 1 });
    const per = new Map();
    for (const x of truth) {
      const m = Math.floor(x.time / 60000) * 60000;
      per.set(m, (per.get(m) || 0) + 1);
    }
    const fmt = (ms) => new Date(ms).toISOString().replace("T", " ").replace("Z", "");
    assert.deepEqual(recs(r), [...per.entries()].sort((a, b) => a[0] - b[0]).map(([m, pv]) => ({ t: fmt(m), pv })));
  });

  test("a bad query is CLS's error naming its position", async () => {
    const c = clsClient(A, "en-US"); // the en-US message carries the parser's detail
    // the old pair, Query + SyntaxRule (0: Lucene), takes the same language
    const r = await c.SearchLog({ TopicId: topic, ...all, Query: "dstport:53 && -action:REJECT", SyntaxRule: 0, Limit: 1000 });
    assert.deepEqual(ns(r), truth.filter((x) => x.fields.dstport === "53" && x.fields.action !== "REJECT").map((x) => Number(x.fields.n)));
    await assert.rejects(c.SearchLog({ TopicId: topic, ...all, QueryString: "action:REJECT AND (dstport:22", QuerySyntax: 1 }), (err) => {
      assert.equal(err.code, "FailedOperation.SyntaxError");
      assert.match(err.message, /offset 18/);
      return true;
    });
    await assert.rejects(c.SearchLog({ TopicId: topic, ...all, QueryString: "* | select nosuch(bytes)", QuerySyntax: 1 }), (err) => {
      assert.equal(err.code, "FailedOperation.QueryError");
      assert.match(err.message, /offset 11/);
      return true;
    });
  });
});
