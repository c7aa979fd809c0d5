// differences.test.js: the differences a real user meets, closed by issue 13 §4,
// through the official Node SDK:
// - DescribeFlowLog: VpcId required; VPC flow logs only (a CCN flow log ->
//   ResourceNotFound);
// - DeleteFlowLog accepts VpcId on a CCN flow log; ModifyFlowLogAttribute keeps
//   VpcIdNotNeededForFlowLog;
// - every VPC region is served (finance, Taipei, Shenzhen, Qingyuan, Tianjin,
//   edge -ec, international); a region that is none -> UnsupportedRegion;
// - zh-CN messages carry no English detail, en-US ones do.
"use strict";

const { describe, test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./harness");

let ctx;
let A;
let c;

before(async () => {
  ctx = await h.setup({ label: "differences", accounts: [{ tag: "aaaa", extraEnis: 4 }] });
  [A] = ctx.accounts;
  c = A.client();
});
after(async () => {
  if (ctx) await ctx.server.stop();
});

const fails = (p, code, opts) => h.expectApiError(p, code, opts);
const ccnFlowLog = async (ccn, name) =>
  (await c.CreateFlowLog({ FlowLogName: name, ResourceType: "CCN", ResourceId: ccn, TrafficType: "ALL", CloudLogId: A.ids.clsGz })).FlowLog[0].FlowLogId;

describe("flow logs of a CCN through the by-id actions", () => {
  test("DescribeFlowLog: VpcId required, VPC flow logs only", async () => {
    const vpcFl = (await c.CreateFlowLog(h.eniRequest(A.ids, A.ids.extraEnis[0]))).FlowLog[0].FlowLogId;
    const ccnFl = await ccnFlowLog(A.ids.ccn, "ccn-a");
    await fails(c.DescribeFlowLog({ FlowLogId: vpcFl }), "MissingParameter", { mention: "VpcId" });
    await fails(c.DescribeFlowLog({ FlowLogId: ccnFl }), "MissingParameter", { mention: "VpcId" });
    await fails(c.DescribeFlowLog({ FlowLogId: ccnFl, VpcId: A.ids.vpc }), "ResourceNotFound");
    const got = await c.DescribeFlowLog({ FlowLogId: vpcFl, VpcId: A.ids.vpc });
    assert.equal(got.FlowLog[0].FlowLogId, vpcFl);
    await fails(c.DescribeFlowLog({ FlowLogId: vpcFl, VpcId: A.ids.vpc2 }), "ResourceNotFound");
    // DescribeFlowLogs still lists the CCN one
    const list = await c.DescribeFlowLogs({ FlowLogId: ccnFl });
    assert.equal(list.TotalNum, 1);
  });

  test("ModifyFlowLogAttribute keeps VpcIdNotNeededForFlowLog; DeleteFlowLog accepts VpcId", async () => {
    const ccnFl = await ccnFlowLog(A.ids.ccn2, "ccn-b");
    await fails(c.ModifyFlowLogAttribute({ FlowLogId: ccnFl, VpcId: A.ids.vpc, FlowLogName: "x" }), "InvalidParameterValue.VpcIdNotNeededForFlowLog");
    await c.ModifyFlowLogAttribute({ FlowLogId: ccnFl, FlowLogName: "renamed" });
    await fails(c.DeleteFlowLog({ FlowLogId: ccnFl, VpcId: "vpc-1" }), "InvalidParameterValue.Malformed");
    await c.DeleteFlowLog({ FlowLogId: ccnFl, VpcId: A.ids.vpc });
    assert.equal((await c.DescribeFlowLogs({ FlowLogId: ccnFl })).TotalNum, 0);
    // and without VpcId as before
    const again = await ccnFlowLog(A.ids.ccn2, "ccn-c");
    await c.DeleteFlowLog({ FlowLogId: again });
  });
});

describe("regions", () => {
  const served = [
    "ap-beijing-fsi", "ap-shanghai-fsi", "ap-shenzhen-fsi", "ap-taipei", "ap-shenzhen", "ap-qingyuan", "ap-tianjin",
    "ap-xian-ec", "ap-hangzhou-ec", "ap-wuhan-ec", "ap-jakarta", "eu-moscow", "sa-saopaulo", "na-toronto",
  ];
  test("every VPC region is served (an empty account there)", async () => {
    for (const region of served) {
      const r = await A.client({ region }).DescribeFlowLogs({});
      assert.equal(r.TotalNum, 0, region);
    }
  });
  test("an id that is no region -> UnsupportedRegion", async () => {
    for (const region of ["ap-xian", "ap-guangzhou-3", "mars-1"]) {
      await fails(A.client({ region }).DescribeFlowLogs({}), "UnsupportedRegion");
    }
  });
});

describe("messages", () => {
  const raw = (over) => h.rawCall(Object.assign({ port: ctx.server.port, secretId: A.SecretId, secretKey: A.SecretKey }, over));
  test("zh-CN: no English detail; en-US: the detail", async () => {
    const cases = [
      { body: "{not json", code: "InvalidParameter" },
      { body: "{}", contentType: "text/plain", code: "UnsupportedProtocol" },
    ];
    for (const k of cases) {
      for (const language of ["zh-CN", "en-US"]) {
        const r = await raw({ body: k.body, language, contentType: k.contentType });
        h.expectEnvelope(r, k.code);
        const msg = r.json.Response.Error.Message;
        if (language === "zh-CN") assert.ok(!/\b(must|invalid|unexpected|near|byte|over)\b/i.test(msg), `${k.code}: ${msg}`);
        else assert.ok(/[a-z]{4}/.test(msg), `${k.code}: ${msg}`);
      }
    }
  });

  test("in-use errors keep their ids in zh-CN", async () => {
    await fails(c.DeleteVpc({ VpcId: A.ids.vpc }), "ResourceInUse", { mention: A.ids.vpc });
  });
});
