// cls.test.js: the cls service (2020-10-16) on the same port (issue 15 §1):
// logsets and topics through the official Node SDK's cls client, UploadLog
// as the SDK's examples/cls/v20201016/upload_log.js sends it
// (CommonClient.requestOctetStream, a protobuf LogGroupList from protobufjs
// and cls.proto, plain or lz4 from the lz4 package), CLS's error codes for
// malformed and oversized bodies with nothing stored, idempotent batches,
// tenancy, a topic as a flow log's CloudLogId and DELETED once it goes.
//
// What a topic holds is counted with SearchLog (its analysis), on either
// store (SQLite, or PostgreSQL with FLOWLOGD_TEST_STORE).
"use strict";

const { describe, test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const path = require("node:path");
const h = require("./harness");

const protobuf = require("protobufjs");
let lz4 = null;
let lz4Why = "";
try {
  lz4 = require("lz4");
} catch (e) {
  lz4Why = `the npm package lz4 did not load (${e.message.split("\n")[0]})`;
}

const PROTO = path.join(h.REPO, "src", "cls", "cls.proto");
const LogGroupList = protobuf.loadSync(PROTO).lookupType("cls.LogGroupList");
// retention passes every 200 ms here (60 s by default)
process.env.FLOWLOGD_CLS_RETENTION_MS = "200";

let ctx, A, B;

before(async () => {
  ctx = await h.setup({ label: "cls", accounts: [{ tag: "aaaa", extraEnis: 2 }, { tag: "bbbb" }] });
  [A, B] = ctx.accounts;
});
after(async () => {
  if (ctx) await ctx.server.stop();
});

function clsClient(acct, region = "ap-guangzhou") {
  const Client = h.sdk().cls.v20201016.Client;
  const c = new Client({
    credential: { secretId: acct.SecretId, secretKey: acct.SecretKey },
    region,
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

// UploadLog exactly as the SDK's example sends it
function uploader(acct, topicId, { compress = "", region = "ap-guangzhou" } = {}) {
  const { CommonClient } = require("tencentcloud-sdk-nodejs/tencentcloud/common/common_client");
  const headers = { "X-CLS-TopicId": topicId };
  if (compress !== null) headers["X-CLS-CompressType"] = compress;
  const c = new CommonClient(ctx.server.endpoint, "2020-10-16", {
    credential: { secretId: acct.SecretId, secretKey: acct.SecretKey },
    region,
    profile: { httpProfile: { endpoint: ctx.server.endpoint, protocol: "http://", reqTimeout: 60, headers } },
  });
  return (body) => h.withRateLimitRetry(() => c.requestOctetStream("UploadLog", body));
}

function encode(groups) {
  return Buffer.from(LogGroupList.encode(LogGroupList.fromObject({ logGroupList: groups })).finish());
}

function lz4Block(buf) {
  const out = Buffer.alloc(lz4.encodeBound(buf.length));
  const n = lz4.encodeBlock(buf, out);
  return out.subarray(0, n);
}

function logsOf(n, t0, extra = {}) {
  const logs = [];
  for (let i = 0; i < n; i++)
    logs.push({ time: String(t0 + i), contents: Object.entries({ action: i % 2 ? "REJECT" : "ACCEPT", seq: String(i), ...extra }).map(([key, value]) => ({ key, value })) });
  return logs;
}

// the number of logs a topic holds (SearchLog's count over all time: on
// either store)
async function stored(topicId) {
  const r = await clsClient(A).SearchLog({ TopicId: topicId, From: 0, To: 4102444800000, QueryString: "* | select count(*) as c" });
  return Number(JSON.parse(r.AnalysisRecords[0]).c);
}

describe("cls", () => {
  let logsetId, topicId;

  test("CreateLogset, DescribeLogsets, a name taken, DeleteLogset of nothing", async () => {
    const c = clsClient(A);
    const r = await c.CreateLogset({ LogsetName: "flow-logs", Tags: [{ Key: "team", Value: "net" }] });
    assert.match(r.LogsetId, h.UUID_RE);
    logsetId = r.LogsetId;
    const d = await c.DescribeLogsets({ Filters: [{ Key: "logsetId", Values: [logsetId] }] });
    assert.equal(d.TotalCount, 1);
    assert.equal(d.Logsets[0].LogsetName, "flow-logs");
    assert.equal(d.Logsets[0].TopicCount, 0);
    assert.deepEqual(d.Logsets[0].Tags, [{ Key: "team", Value: "net" }]);
    assert.match(d.Logsets[0].CreateTime, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    await h.expectApiError(c.CreateLogset({ LogsetName: "flow-logs" }), "InvalidParameter.LogsetConflict");
    await h.expectApiError(c.DeleteLogset({ LogsetId: "no-such-logset" }), "ResourceNotFound.LogsetNotExist");
    await h.expectApiError(c.CreateLogset({ LogsetName: "a|b" }), "InvalidParameterValue");
    // another tenant sees none of it
    assert.equal((await clsClient(B).DescribeLogsets({})).TotalCount, 0);
    await h.expectApiError(clsClient(B).DeleteLogset({ LogsetId: logsetId }), "ResourceNotFound.LogsetNotExist");
  });

  test("CreateTopic, DescribeTopics, ModifyTopic; a logset with topics is not deleted", async () => {
    const c = clsClient(A);
    const r = await c.CreateTopic({ LogsetId: logsetId, TopicName: "vpc-flow", Period: 7 });
    assert.match(r.TopicId, h.UUID_RE);
    topicId = r.TopicId;
    await h.expectApiError(c.CreateTopic({ LogsetId: logsetId, TopicName: "vpc-flow" }), "InvalidParameter.TopicConflict");
    await h.expectApiError(c.CreateTopic({ LogsetId: "nope", TopicName: "x" }), "ResourceNotFound.LogsetNotExist");
    await h.expectApiError(c.CreateTopic({ LogsetId: logsetId, TopicName: "y", Period: 0 }), "FailedOperation.InvalidPeriod");
    let d = await c.DescribeTopics({ Filters: [{ Key: "topicId", Values: [topicId] }] });
    assert.equal(d.TotalCount, 1);
    assert.equal(d.Topics[0].TopicName, "vpc-flow");
    assert.equal(d.Topics[0].Period, 7);
    assert.equal(d.Topics[0].LogsetId, logsetId);
    assert.equal(d.Topics[0].Status, true);
    assert.equal(d.Topics[0].StorageType, "hot");
    await c.ModifyTopic({ TopicId: topicId, Period: 30, Describes: "flow records" });
    d = await c.DescribeTopics({ Filters: [{ Key: "topicName", Values: ["vpc"] }] });
    assert.equal(d.Topics[0].Period, 30);
    assert.equal(d.Topics[0].Describes, "flow records");
    assert.equal((await c.DescribeLogsets({})).Logsets[0].TopicCount, 1);
    await h.expectApiError(c.DeleteLogset({ LogsetId: logsetId }), "FailedOperation.LogsetNotEmpty");
    assert.equal((await clsClient(B).DescribeTopics({})).TotalCount, 0);
    await h.expectApiError(clsClient(B).ModifyTopic({ TopicId: topicId, Period: 1 }), "ResourceNotFound.TopicNotExist");
    // another region: none of it
    assert.equal((await clsClient(A, "ap-shanghai").DescribeTopics({})).TotalCount, 0);
  });

  test("UploadLog plain: stored, durable when answered", async () => {
    const t0 = Date.now();
    const up = uploader(A, topicId);
    const r = await up(encode([{ logs: logsOf(3, t0), source: "10.0.0.1", filename: "flow" }]));
    assert.match(r.RequestId, h.UUID_RE);
    assert.equal(await stored(topicId), 3);
  });

  test("UploadLog lz4", { skip: !lz4 && (process.env.CI === "true" ? false : lz4Why) }, async () => {
    assert.ok(lz4, lz4Why);
    const before = await stored(topicId);
    await uploader(A, topicId, { compress: "lz4" })(lz4Block(encode([{ logs: logsOf(5, Date.now()) }])));
    assert.equal(await stored(topicId), before + 5);
  });

  test("malformed and oversized bodies: CLS's errors, nothing stored", async () => {
    const before = await stored(topicId);
    const plain = uploader(A, topicId);
    const good = encode([{ logs: logsOf(2, Date.now()) }]);
    // a length that lies: the group says 127 bytes, 2 follow
    await h.expectApiError(plain(Buffer.from([0x0a, 0x7f, 0x0a, 0x02])), "InvalidParameter.Content");
    // not protobuf at all
    await h.expectApiError(plain(Buffer.from("not a protobuf body at all")), "InvalidParameter.Content");
    // a good body cut short
    await h.expectApiError(plain(good.subarray(0, good.length - 3)), "InvalidParameter.Content");
    // an empty list
    await h.expectApiError(plain(encode([])), "FailedOperation.MissingContent");
    // not lz4, said to be lz4
    await h.expectApiError(uploader(A, topicId, { compress: "lz4" })(good), "InvalidParameter.Content");
    await h.expectApiError(uploader(A, topicId, { compress: "gzip" })(good), "InvalidParameter.Content");
    // 10,001 logs in one group
    await h.expectApiError(plain(encode([{ logs: logsOf(10001, Date.now()) }])), "LimitExceeded.LogSize");
    // a value over 1 MB
    await h.expectApiError(plain(encode([{ logs: [{ time: String(Date.now()), contents: [{ key: "k", value: "x".repeat((1 << 20) + 1) }] }] }])), "LimitExceeded.LogSize");
    // over 5 MB
    const big = "y".repeat(900 << 10);
    const logs = [];
    for (let i = 0; i < 6; i++) logs.push({ time: String(Date.now()), contents: [{ key: "k", value: big }] });
    await h.expectApiError(plain(encode([{ logs }])), "LimitExceeded.LogSize");
    // over the server's 10 MB body ceiling (dropped unread by the HTTP layer): still CLS's code
    const huge = [];
    for (let i = 0; i < 12; i++) huge.push({ time: String(Date.now()), contents: [{ key: "k", value: big }] });
    const hugeBody = encode([{ logs: huge }]);
    assert.ok(hugeBody.length > 10 << 20);
    await h.expectApiError(plain(hugeBody), "LimitExceeded.LogSize");
    // a group in a valid request with one bad group: nothing of the request
    const bad = [{ logs: logsOf(2, Date.now()) }, { logs: logsOf(10001, Date.now()) }];
    await h.expectApiError(plain(encode(bad)), "LimitExceeded.LogSize");
    assert.equal(await stored(topicId), before);
  });

  test("UploadLog: a JSON body, a missing topic header, another tenant's topic", async () => {
    const before = await stored(topicId);
    const body = encode([{ logs: logsOf(1, Date.now()) }]);
    await h.expectApiError(uploader(A, "")(body), "MissingParameter");
    await h.expectApiError(uploader(A, "no-such-topic")(body), "ResourceNotFound.TopicNotExist");
    await h.expectApiError(uploader(B, topicId)(body), "ResourceNotFound.TopicNotExist");
    await h.expectApiError(uploader(A, topicId, { region: "ap-shanghai" })(body), "ResourceNotFound.TopicNotExist");
    const { CommonClient } = require("tencentcloud-sdk-nodejs/tencentcloud/common/common_client");
    const c = new CommonClient(ctx.server.endpoint, "2020-10-16", {
      credential: { secretId: A.SecretId, secretKey: A.SecretKey }, region: "ap-guangzhou",
      profile: { httpProfile: { endpoint: ctx.server.endpoint, protocol: "http://" } },
    });
    await h.expectApiError(c.request("UploadLog", { TopicId: topicId }), "UnsupportedProtocol");
    assert.equal(await stored(topicId), before);
  });

  test("a retried batch is stored once; a closed topic takes nothing", async () => {
    const c = clsClient(A);
    const before = await stored(topicId);
    const batch = encode([{ logs: logsOf(4, Date.now()), logTags: [{ key: "__flowlogd_batch__", value: "agent-1/fl-1/1700000000/0" }] }]);
    const up = uploader(A, topicId);
    await up(batch);
    await up(batch);
    assert.equal(await stored(topicId), before + 4);
    await c.ModifyTopic({ TopicId: topicId, Status: false });
    await h.expectApiError(up(encode([{ logs: logsOf(1, Date.now()) }])), "FailedOperation.TopicClosed");
    await c.ModifyTopic({ TopicId: topicId, Status: true });
    assert.equal(await stored(topicId), before + 4);
  });

  test("a topic is a CloudLogId of its region; deleted, its flow logs say DELETED", async () => {
    const c = clsClient(A);
    const t = await c.CreateTopic({ LogsetId: logsetId, TopicName: "for-flowlog" });
    const vpc = A.client();
    const fl = await vpc.CreateFlowLog(h.eniRequest(A.ids, A.ids.eni, { CloudLogId: t.TopicId }));
    const id = fl.FlowLog[0].FlowLogId;
    let d = await vpc.DescribeFlowLogs({ FlowLogId: id });
    assert.equal(d.FlowLog[0].CloudLogState, "SUCCESS");
    await uploader(A, t.TopicId)(encode([{ logs: logsOf(2, Date.now()) }]));
    await c.DeleteTopic({ TopicId: t.TopicId });
    d = await vpc.DescribeFlowLogs({ FlowLogId: id });
    assert.equal(d.FlowLog[0].CloudLogState, "DELETED");
    await h.expectApiError(stored(t.TopicId), "ResourceNotFound.TopicNotExist");
    await h.expectApiError(uploader(A, t.TopicId)(encode([{ logs: logsOf(1, Date.now()) }])), "ResourceNotFound.TopicNotExist");
    await h.expectApiError(c.DeleteTopic({ TopicId: t.TopicId }), "ResourceNotFound.TopicNotExist");
    // a topic of another region is not a CloudLogId here
    const other = clsClient(A, "ap-shanghai");
    const ls = await other.CreateLogset({ LogsetName: "sh" });
    const tsh = await other.CreateTopic({ LogsetId: ls.LogsetId, TopicName: "sh-topic" });
    const eni = h.eniPool(A.ids)();
    await h.expectApiError(vpc.CreateFlowLog(h.eniRequest(A.ids, eni, { CloudLogId: tsh.TopicId, FlowLogName: "sh" })), "ResourceNotFound", { mention: tsh.TopicId });
    // with CloudLogRegion naming its region, it is
    await vpc.CreateFlowLog(h.eniRequest(A.ids, eni, { CloudLogId: tsh.TopicId, CloudLogRegion: "ap-shanghai", FlowLogName: "sh" }));
  });

  test("Period is enforced: logs older than it are deleted in the background", async () => {
    const c = clsClient(A);
    const t = await c.CreateTopic({ LogsetId: logsetId, TopicName: "short", Period: 1 });
    const now = Date.now();
    const day = 24 * 3600 * 1000;
    await uploader(A, t.TopicId)(encode([{ logs: [
      { time: String(now - 3 * day), contents: [{ key: "age", value: "old" }] },
      { time: String(now - day / 2), contents: [{ key: "age", value: "young" }] },
      { time: String(now), contents: [{ key: "age", value: "new" }] },
    ] }]));
    let n;
    for (let i = 0; i < 100 && (n = await stored(t.TopicId)) !== 2; i++) await h.sleep(100);
    assert.equal(n, 2);
    const r = await c.SearchLog({ TopicId: t.TopicId, From: now - 10 * day, To: now + 1, Sort: "asc" });
    assert.deepEqual(r.Results.map((x) => JSON.parse(x.LogJson).age), ["young", "new"]);
  });
});
