// sdk_endpoints.test.js: every endpoint form a user sets, through two
// independent clients (issue 13 §1).
//
// - The official Node SDK signs the Host without its port and the endpoint's
//   first label as the service ("127", "localhost:PORT", "vpc", "tag"). It is
//   driven with endpoint 127.0.0.1:PORT, localhost:PORT, vpc.<name>:PORT and
//   tag.<name>:PORT, each with TC3 POST, TC3 GET and HmacSHA256 (v1).
// - @tencent-sdk/capi (npm, pinned in package-lock.json) signs like the Go
//   SDK: the service is the product ("vpc", "tag"), the host keeps its port.
//
// Names resolve to 127.0.0.1 through the agent's `lookup` hook (no
// /etc/hosts edit, no DNS): the Host header and what is signed are the
// names; the TCP connection goes to the server's loopback address.
"use strict";

const { describe, test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const http = require("node:http");
const h = require("./harness");

let ctx;
let A;
let port;
let nextEni;

// Every name resolves to the loopback address the server listens on.
const loopbackAgent = new http.Agent({
  keepAlive: false,
  lookup: (hostname, opts, cb) => {
    if (opts && opts.all) cb(null, [{ address: "127.0.0.1", family: 4 }]);
    else cb(null, "127.0.0.1", 4);
  },
});

before(async () => {
  ctx = await h.setup({ label: "endpoints", accounts: [{ tag: "aaaa", extraEnis: 60 }] });
  [A] = ctx.accounts;
  port = ctx.server.port;
  nextEni = h.eniPool(A.ids);
});
after(async () => {
  loopbackAgent.destroy();
  if (ctx) await ctx.server.stop();
});

function nodeClient(kind, endpoint, { signMethod, reqMethod } = {}) {
  const Client = kind === "tag" ? h.sdk().tag.v20180813.Client : h.sdk().vpc.v20170312.Client;
  const profile = { httpProfile: { endpoint, protocol: "http://", reqTimeout: 30, agent: loopbackAgent } };
  if (signMethod) profile.signMethod = signMethod;
  if (reqMethod) profile.httpProfile.reqMethod = reqMethod;
  const client = new Client({ credential: { secretId: A.SecretId, secretKey: A.SecretKey }, region: "ap-guangzhou", profile });
  return new Proxy(client, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function" || !/^[A-Z]/.test(String(prop))) return v;
      return (...args) => h.withRateLimitRetry(() => v.apply(target, args));
    },
  });
}

const flName = (id) => `qcs::vpc:ap-guangzhou:uin/:fl/${id}`;

const MODES = [
  { name: "TC3 POST", opts: {} },
  { name: "TC3 GET", opts: { reqMethod: "GET" } },
  { name: "HmacSHA256 POST", opts: { signMethod: "HmacSHA256" } },
];

describe("official Node SDK, every endpoint form", () => {
  const vpcForms = () => [`127.0.0.1:${port}`, `localhost:${port}`, `vpc.flowlogd.localhost:${port}`];

  test("vpc client: create, describe, delete in every form and signing mode", async () => {
    for (const endpoint of vpcForms()) {
      for (const m of MODES) {
        const c = nodeClient("vpc", endpoint, m.opts);
        const label = `${endpoint} ${m.name}`;
        const made = await c.CreateFlowLog(h.eniRequest(A.ids, nextEni(), { FlowLogName: "ep" }));
        const id = made.FlowLog[0].FlowLogId;
        assert.match(id, /^fl-/, label);
        const got = await c.DescribeFlowLog({ FlowLogId: id, VpcId: A.ids.vpc });
        assert.equal(got.FlowLog[0].FlowLogId, id, label);
        const list = await c.DescribeFlowLogs({ FlowLogId: id });
        assert.equal(list.TotalNum, 1, label);
        await c.DeleteFlowLog({ FlowLogId: id, VpcId: A.ids.vpc });
      }
    }
  });

  test("tag client: tag actions at 127.0.0.1, localhost and tag.<name>", async () => {
    const c = nodeClient("vpc", `127.0.0.1:${port}`);
    const id = (await c.CreateFlowLog(h.eniRequest(A.ids, nextEni(), { FlowLogName: "ep-tag" }))).FlowLog[0].FlowLogId;
    for (const endpoint of [`127.0.0.1:${port}`, `localhost:${port}`, `tag.flowlogd.localhost:${port}`]) {
      for (const m of MODES) {
        const t = nodeClient("tag", endpoint, m.opts);
        const label = `${endpoint} ${m.name}`;
        await t.ModifyResourceTags({ Resource: flName(id), ReplaceTags: [{ TagKey: "ep", TagValue: "x" }] });
        const r = await t.DescribeResourceTagsByResourceIds({
          ServiceType: "vpc",
          ResourcePrefix: "fl",
          ResourceRegion: "ap-guangzhou",
          ResourceIds: [id],
        });
        assert.ok(r.Tags.some((x) => x.TagKey === "ep" && x.TagValue === "x"), label);
        await t.UnTagResources({ ResourceList: [flName(id)], TagKeys: ["ep"] });
      }
    }
  });

  test("a host naming one service does not reach the other's actions", async () => {
    // vpc.<name> with the tag client: the tag action is not served there
    const t = nodeClient("tag", `vpc.flowlogd.localhost:${port}`);
    await h.expectApiError(
      t.DescribeResourceTagsByResourceIds({ ServiceType: "vpc", ResourcePrefix: "fl", ResourceRegion: "ap-guangzhou", ResourceIds: ["fl-00000000"] }),
      "InvalidAction"
    );
  });

  test("a wrong secret key is still refused in every form", async () => {
    for (const endpoint of vpcForms()) {
      const Client = h.sdk().vpc.v20170312.Client;
      const c = new Client({
        credential: { secretId: A.SecretId, secretKey: A.SecretKey + "x" },
        region: "ap-guangzhou",
        profile: { httpProfile: { endpoint, protocol: "http://", reqTimeout: 30, agent: loopbackAgent } },
      });
      await h.expectApiError(c.DescribeFlowLogs({}), "AuthFailure.SignatureFailure");
    }
  });
});

describe("@tencent-sdk/capi (signs like the Go SDK: service = product, host with its port)", () => {
  let Capi;
  before(() => {
    ({ Capi } = require("@tencent-sdk/capi"));
  });
  const capi = (serviceType, host, over) =>
    new Capi(
      Object.assign(
        { serviceType, host, protocol: "http", region: "ap-guangzhou", secretId: A.SecretId, secretKey: A.SecretKey, isV3: true },
        over || {}
      )
    );
  const call = async (client, data, opts) => {
    for (let i = 0; ; i++) {
      const r = await client.request(data, opts || { isV3: true });
      if (!(r && r.Response && r.Response.Error && r.Response.Error.Code === "RequestLimitExceeded") || i > 50) return r;
      await h.sleep(100);
    }
  };

  test("vpc actions at 127.0.0.1:PORT and localhost:PORT (TC3)", async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) {
      const c = capi("vpc", host);
      const made = await call(c, Object.assign({ Action: "CreateFlowLog", Version: "2017-03-12" }, h.eniRequest(A.ids, nextEni(), { FlowLogName: "capi" })));
      assert.ok(!made.Response.Error, `${host}: ${JSON.stringify(made.Response.Error)}`);
      const id = made.Response.FlowLog[0].FlowLogId;
      const got = await call(c, { Action: "DescribeFlowLogs", Version: "2017-03-12", FlowLogId: id });
      assert.ok(!got.Response.Error, `${host}: ${JSON.stringify(got.Response.Error)}`);
      assert.equal(got.Response.TotalNum, 1);
      assert.match(got.Response.RequestId, h.UUID_RE);
    }
  });

  test("tag action at 127.0.0.1:PORT (TC3, service tag)", async () => {
    const c = capi("tag", `127.0.0.1:${port}`);
    const r = await call(c, { Action: "GetResources", Version: "2018-08-13", ResourceList: [] });
    assert.ok(!r.Response.Error, JSON.stringify(r.Response.Error));
    assert.ok(Array.isArray(r.Response.ResourceTagMappingList));
  });

  test("v1 (HmacSHA256, GET) at 127.0.0.1:PORT", async () => {
    // capi's v1 takes the version from its options
    const c = capi("vpc", `127.0.0.1:${port}`, { isV3: false, signatureMethod: "sha256", version: "2017-03-12" });
    const r = await call(c, { Action: "DescribeFlowLogs" }, { isV3: false, method: "GET" });
    assert.ok(!r.Response.Error, JSON.stringify(r.Response.Error));
    assert.equal(typeof r.Response.TotalNum, "number");
  });

  test("a wrong secret key is refused", async () => {
    const c = capi("vpc", `127.0.0.1:${port}`, { secretKey: A.SecretKey + "x" });
    const r = await call(c, { Action: "DescribeFlowLogs", Version: "2017-03-12" });
    assert.equal(r.Response.Error.Code, "AuthFailure.SignatureFailure");
  });
});
