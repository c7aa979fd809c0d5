// protocol.test.js: the API 3.0 layer (issue 2 §1): the three request forms,
// the envelope, the common parameters, signature checks, input mapping, size
// limits, languages and request logging.
"use strict";

const { describe, test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./harness");

let ctx; // {dataDir, server, accounts}
let acct; // the account, with ids / client()
let nextEni; // () => an unused attached ENI
const requestIds = []; // [{requestId, action}] seen, checked against the log at the end

before(async () => {
  ctx = await h.setup({ label: "protocol", accounts: [{ tag: "aaaa", extraEnis: 40 }] });
  acct = ctx.accounts[0];
  nextEni = h.eniPool(acct.ids);
});
after(async () => {
  if (ctx) await ctx.server.stop();
});

const port = () => ctx.server.port;
const keys = () => ({ secretId: acct.SecretId, secretKey: acct.SecretKey });
const validReq = (over) => h.eniRequest(acct.ids, nextEni(), over);
/** A request that passes every check up to the store lookup and then fails: nothing is created. */
const notFoundReq = (over) => h.eniRequest(acct.ids, "eni-zzzz9999", over);

/** Records a request whose log line is checked at the end: its action, and its error code if any. */
function remember(resp, action, code) {
  if (resp && resp.RequestId) requestIds.push({ requestId: resp.RequestId, action, code: code || (resp.Error && resp.Error.Code) });
}

function assertFlowLogOut(resp, req) {
  assert.ok(Array.isArray(resp.FlowLog), `FlowLog is not an array: ${JSON.stringify(resp)}`);
  assert.equal(resp.FlowLog.length, 1);
  const fl = resp.FlowLog[0];
  assert.match(fl.FlowLogId, /^fl-[0-9a-z]{8}$/);
  assert.equal(fl.ResourceId, req.ResourceId);
  assert.equal(fl.FlowLogName, req.FlowLogName);
  return fl;
}

describe("request forms", () => {
  test("TC3-HMAC-SHA256 POST JSON through the SDK", async () => {
    const req = validReq({ Tags: [{ Key: "city", Value: "shanghai" }] });
    const resp = await acct.client().CreateFlowLog(req);
    assert.match(resp.RequestId, h.UUID_RE);
    const fl = assertFlowLogOut(resp, req);
    assert.deepEqual(fl.TagSet, [{ Key: "city", Value: "shanghai" }]);
    remember(resp, "CreateFlowLog");
  });

  test("TC3-HMAC-SHA256 GET through the SDK (parameters flattened in the query)", async () => {
    const req = validReq({ FlowLogDescription: "描述 & more*(!)'~ +x", Tags: [{ Key: "city", Value: "上海" }] });
    const resp = await acct.client({ reqMethod: "GET" }).CreateFlowLog(req);
    const fl = assertFlowLogOut(resp, req);
    assert.equal(fl.FlowLogDescription, req.FlowLogDescription);
    assert.deepEqual(fl.TagSet, [{ Key: "city", Value: "上海" }]);
  });

  for (const signMethod of ["HmacSHA1", "HmacSHA256"]) {
    test(`${signMethod} POST form through the SDK`, async () => {
      const req = validReq({ FlowLogDescription: "a b&c=d", Tags: [{ Key: "env", Value: "prod" }] });
      const resp = await acct.client({ signMethod }).CreateFlowLog(req);
      const fl = assertFlowLogOut(resp, req);
      assert.equal(fl.FlowLogDescription, "a b&c=d");
      assert.deepEqual(fl.TagSet, [{ Key: "env", Value: "prod" }]);
    });

    test(`${signMethod} GET through the SDK`, async () => {
      const req = validReq();
      const resp = await acct.client({ signMethod, reqMethod: "GET" }).CreateFlowLog(req);
      assertFlowLogOut(resp, req);
    });

    test(`${signMethod} GET signed by hand`, async () => {
      const req = validReq({ FlowLogDescription: "中文 + space", Tags: [{ Key: "k", Value: "v" }] });
      const r = await h.rawV1Call({ port: port(), method: "GET", signatureMethod: signMethod, params: req, ...keys() });
      const resp = h.expectEnvelope(r, null);
      const fl = assertFlowLogOut(resp, req);
      assert.equal(fl.FlowLogDescription, "中文 + space");
    });

    test(`${signMethod} POST form signed by hand`, async () => {
      const req = validReq();
      const r = await h.rawV1Call({ port: port(), method: "POST", signatureMethod: signMethod, params: req, ...keys() });
      assertFlowLogOut(h.expectEnvelope(r, null), req);
    });
  }

  test("v1 form maps numbers: CCN with Period 300 through HmacSHA256 POST and HmacSHA1 GET", async () => {
    // (no Period key at all when not given: the SDK would send an undefined one as "Period=" in a query)
    const ccn = (id, Period) =>
      Object.assign({ FlowLogName: "ccn", ResourceType: "CCN", ResourceId: id, TrafficType: "ALL", CloudLogId: acct.ids.clsGz }, Period ? { Period } : {});
    const r1 = await acct.client({ signMethod: "HmacSHA256" }).CreateFlowLog(ccn(acct.ids.ccn, 300));
    assert.equal(r1.FlowLog[0].Period, 300);
    const r2 = await acct.client({ signMethod: "HmacSHA1", reqMethod: "GET" }).CreateFlowLog(ccn(acct.ids.ccn2, 60));
    assert.equal(r2.FlowLog[0].Period, 60);
    const r3 = await acct.client({ reqMethod: "GET" }).CreateFlowLog(ccn(acct.ids.ccn3, undefined));
    assert.equal(r3.FlowLog[0].Period, 600);
  });

  test("v1 without SignatureMethod means HmacSHA1", async () => {
    const req = validReq();
    const r = await h.rawV1Call({ port: port(), signatureMethod: null, params: req, ...keys() });
    assertFlowLogOut(h.expectEnvelope(r, null), req);
  });

  test("TC3 POST signed by hand, with x-tc-action among the signed headers", async () => {
    const req = validReq();
    const r = await h.rawCall({ port: port(), body: req, signedHeaders: ["content-type", "host", "x-tc-action"], ...keys() });
    assertFlowLogOut(h.expectEnvelope(r, null), req);
    remember(r.response, "CreateFlowLog");
  });

  test("TC3 signed content-type with charset is accepted", async () => {
    const req = validReq();
    const r = await h.rawCall({ port: port(), body: req, contentType: "application/json; charset=utf-8", ...keys() });
    assertFlowLogOut(h.expectEnvelope(r, null), req);
  });

  test("TC3 GET signed by hand", async () => {
    const req = validReq();
    const r = await h.rawCall({ port: port(), method: "GET", query: req, ...keys() });
    assertFlowLogOut(h.expectEnvelope(r, null), req);
  });

  test("a timestamp 290 s old is still accepted", async () => {
    const req = validReq();
    const r = await h.rawCall({ port: port(), body: req, timestamp: Math.floor(Date.now() / 1000) - 290, ...keys() });
    assertFlowLogOut(h.expectEnvelope(r, null), req);
  });

  test("several requests over one keep-alive connection", async () => {
    const http = require("node:http");
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const client = acct.client();
      // the SDK uses node-fetch's default agent; drive keep-alive explicitly with raw requests too
      for (let i = 0; i < 3; i++) {
        const body = JSON.stringify(notFoundReq());
        const ts = Math.floor(Date.now() / 1000);
        const headers = {
          host: `127.0.0.1:${port()}`,
          "content-type": "application/json",
          "x-tc-action": "CreateFlowLog",
          "x-tc-version": h.API_VERSION,
          "x-tc-region": "ap-guangzhou",
          "x-tc-timestamp": String(ts),
        };
        headers.authorization = h.tc3Sign({ ...keys(), headers, payload: body, timestamp: ts, service: "127" }).authorization;
        const res = await new Promise((resolve, reject) => {
          const rq = http.request({ host: "127.0.0.1", port: port(), method: "POST", path: "/", headers, agent }, (rs) => {
            const c = [];
            rs.on("data", (d) => c.push(d));
            rs.on("end", () => resolve({ status: rs.statusCode, text: Buffer.concat(c).toString(), sock: rq.reusedSocket }));
          });
          rq.on("error", reject);
          rq.end(body);
        });
        assert.equal(res.status, 200);
        assert.equal(JSON.parse(res.text).Response.Error.Code, "ResourceNotFound");
        if (i > 0) assert.ok(res.sock, `request ${i + 1} did not reuse the keep-alive connection`);
      }
      await h.expectApiError(client.CreateFlowLog(notFoundReq()), "ResourceNotFound");
    } finally {
      agent.destroy();
    }
  });
});

describe("common parameters", () => {
  test("missing X-TC-Action -> MissingParameter", async () => {
    const r = await h.rawCall({ port: port(), action: null, body: notFoundReq(), ...keys() });
    h.expectEnvelope(r, "MissingParameter", { mention: "Action" });
  });

  test("unknown action -> InvalidAction", async () => {
    const r = await h.rawCall({ port: port(), action: "CreateFlowLogz", body: {}, ...keys() });
    h.expectEnvelope(r, "InvalidAction");
  });

  test("missing Action in a v1 request -> MissingParameter", async () => {
    const r = await h.rawV1Call({ port: port(), params: notFoundReq(), extra: { Action: null }, ...keys() });
    h.expectEnvelope(r, "MissingParameter", { mention: "Action" });
  });

  test("X-TC-Version other than 2017-03-12 -> NoSuchVersion", async () => {
    const r = await h.rawCall({ port: port(), version: "2020-01-01", body: notFoundReq(), ...keys() });
    h.expectEnvelope(r, "NoSuchVersion");
  });

  test("v1 Version other than 2017-03-12 -> NoSuchVersion", async () => {
    const r = await h.rawV1Call({ port: port(), version: "2018-01-01", params: notFoundReq(), ...keys() });
    h.expectEnvelope(r, "NoSuchVersion");
  });

  test("missing X-TC-Region -> MissingParameter", async () => {
    const r = await h.rawCall({ port: port(), region: null, body: notFoundReq(), ...keys() });
    h.expectEnvelope(r, "MissingParameter", { mention: "Region" });
  });

  test("missing Region through the SDK (no region configured) -> MissingParameter", async () => {
    const client = h.vpcClient({ endpoint: ctx.server.endpoint, ...keys(), region: null });
    await h.expectApiError(client.CreateFlowLog(notFoundReq()), "MissingParameter", { mention: "Region" });
  });

  test("region that does not exist -> UnsupportedRegion", async () => {
    const r = await h.rawCall({ port: port(), region: "ap-atlantis", body: notFoundReq(), ...keys() });
    h.expectEnvelope(r, "UnsupportedRegion");
  });

  test("bad region through the SDK -> UnsupportedRegion", async () => {
    const client = h.vpcClient({ endpoint: ctx.server.endpoint, ...keys(), region: "mars-1" });
    await h.expectApiError(client.CreateFlowLog(notFoundReq()), "UnsupportedRegion");
  });

  test("another real region is accepted (and has none of this region's resources)", async () => {
    const client = acct.client({ region: "ap-beijing" });
    await h.expectApiError(client.CreateFlowLog(notFoundReq({ ResourceId: acct.ids.eni })), "ResourceNotFound");
  });
});

describe("signature", () => {
  const now = () => Math.floor(Date.now() / 1000);

  test("timestamp 301 s old -> AuthFailure.SignatureExpire", async () => {
    const r = await h.rawCall({ port: port(), body: notFoundReq(), timestamp: now() - 301, ...keys() });
    h.expectEnvelope(r, "AuthFailure.SignatureExpire");
  });

  test("timestamp 301 s in the future -> AuthFailure.SignatureExpire", async () => {
    const r = await h.rawCall({ port: port(), body: notFoundReq(), timestamp: now() + 301, ...keys() });
    h.expectEnvelope(r, "AuthFailure.SignatureExpire");
  });

  test("v1 Timestamp 301 s old -> AuthFailure.SignatureExpire", async () => {
    const r = await h.rawV1Call({ port: port(), params: notFoundReq(), timestamp: now() - 301, ...keys() });
    h.expectEnvelope(r, "AuthFailure.SignatureExpire");
  });

  test("malformed Authorization -> AuthFailure.InvalidAuthorization", async () => {
    for (const authorization of [
      "TC3-HMAC-SHA256 garbage",
      "Bearer abc",
      `TC3-HMAC-SHA256 Credential=${acct.SecretId}/2020-01-01/127/tc3_request, Signature=abc`,
    ]) {
      const r = await h.rawCall({ port: port(), body: notFoundReq(), authorization, ...keys() });
      h.expectEnvelope(r, "AuthFailure.InvalidAuthorization");
    }
  });

  test("unknown SecretId -> AuthFailure.SecretIdNotFound", async () => {
    const r = await h.rawCall({ port: port(), body: notFoundReq(), secretId: "AKIDnosuchkey0000000000000000000000", secretKey: "x" });
    h.expectEnvelope(r, "AuthFailure.SecretIdNotFound");
    const sdk = h.vpcClient({ endpoint: ctx.server.endpoint, secretId: "AKIDnosuchkey", secretKey: "x" });
    await h.expectApiError(sdk.CreateFlowLog(notFoundReq()), "AuthFailure.SecretIdNotFound");
  });

  test("v1 unknown SecretId -> AuthFailure.SecretIdNotFound", async () => {
    const r = await h.rawV1Call({ port: port(), params: notFoundReq(), secretId: "AKIDnosuchkey", secretKey: "x" });
    h.expectEnvelope(r, "AuthFailure.SecretIdNotFound");
  });

  test("wrong secret key -> AuthFailure.SignatureFailure (SDK, TC3 and v1)", async () => {
    const bad = { secretId: acct.SecretId, secretKey: acct.SecretKey + "x" };
    const r = await h.rawCall({ port: port(), body: notFoundReq(), ...bad });
    h.expectEnvelope(r, "AuthFailure.SignatureFailure");
    for (const signMethod of [undefined, "HmacSHA1", "HmacSHA256"]) {
      const c = h.vpcClient({ endpoint: ctx.server.endpoint, ...bad, signMethod });
      await h.expectApiError(c.CreateFlowLog(notFoundReq()), "AuthFailure.SignatureFailure");
    }
  });

  test("one flipped bit in the body -> AuthFailure.SignatureFailure", async () => {
    const r = await h.rawCall({
      port: port(),
      body: notFoundReq({ FlowLogName: "abc" }),
      ...keys(),
      tamper: (req) => {
        req.body = req.body.replace('"abc"', '"abb"'); // 'c' ^ 0x01 = 'b'
      },
    });
    h.expectEnvelope(r, "AuthFailure.SignatureFailure");
  });

  test("a changed query in a TC3 GET -> AuthFailure.SignatureFailure", async () => {
    const r = await h.rawCall({
      port: port(),
      method: "GET",
      query: notFoundReq({ FlowLogName: "abc" }),
      ...keys(),
      tamper: (req) => {
        req.path = req.path.replace("FlowLogName=abc", "FlowLogName=abd");
      },
    });
    h.expectEnvelope(r, "AuthFailure.SignatureFailure");
  });

  test("a changed parameter in a v1 form -> AuthFailure.SignatureFailure", async () => {
    const r = await h.rawV1Call({
      port: port(),
      params: notFoundReq({ FlowLogName: "abc" }),
      ...keys(),
      tamper: (req) => {
        req.body = req.body.replace("FlowLogName=abc", "FlowLogName=abd");
      },
    });
    h.expectEnvelope(r, "AuthFailure.SignatureFailure");
  });

  test("service in the credential scope: the product or the host's first label, nothing else", async () => {
    // the Go/Python SDKs sign the product ("vpc"), the Node SDK the host's first label ("127")
    for (const service of ["vpc", "127"]) {
      const r = await h.rawCall({ port: port(), body: notFoundReq(), service, ...keys() });
      h.expectEnvelope(r, "ResourceNotFound");
    }
    // self-consistent signatures for a service this request is not for
    for (const service of ["tag", "sts", "cvm", "12", "127:" + port()]) {
      const r = await h.rawCall({ port: port(), body: notFoundReq(), service, ...keys() });
      h.expectEnvelope(r, "AuthFailure.SignatureFailure");
    }
  });

  test("scope date that is not the UTC date of the timestamp -> AuthFailure.SignatureFailure", async () => {
    const r = await h.rawCall({ port: port(), body: notFoundReq(), date: "2001-01-01", ...keys() });
    h.expectEnvelope(r, "AuthFailure.SignatureFailure");
  });

  test("host signed with its port (TC3, as the Go SDK signs it) is accepted; with another port, refused", async () => {
    const ts = Math.floor(Date.now() / 1000);
    const body = JSON.stringify(notFoundReq());
    const r = await h.rawCall({
      port: port(),
      body,
      ...keys(),
      timestamp: ts,
      tamper: (req) => {
        req.headers.authorization = h.tc3Sign({
          ...keys(),
          headers: req.headers,
          payload: body,
          timestamp: ts,
          service: "127",
          hostKeepsPort: true,
        }).authorization;
      },
    });
    h.expectEnvelope(r, "ResourceNotFound");
    // the same signature over another port than the one sent: refused
    const r2 = await h.rawCall({
      port: port(),
      body,
      ...keys(),
      timestamp: ts,
      tamper: (req) => {
        req.headers.authorization = h.tc3Sign({
          ...keys(),
          headers: Object.assign({}, req.headers, { host: `127.0.0.1:${port() + 1}` }),
          payload: body,
          timestamp: ts,
          service: "vpc",
          hostKeepsPort: true,
        }).authorization;
      },
    });
    h.expectEnvelope(r2, "AuthFailure.SignatureFailure");
  });

  test("v1 StringToSign with the host without its port -> AuthFailure.SignatureFailure", async () => {
    const r = await h.rawV1Call({ port: port(), params: notFoundReq(), signHost: "127.0.0.1", ...keys() });
    h.expectEnvelope(r, "AuthFailure.SignatureFailure");
  });

  test("a signed header changed after signing -> AuthFailure.SignatureFailure", async () => {
    const r = await h.rawCall({
      port: port(),
      body: notFoundReq(),
      signedHeaders: ["content-type", "host", "x-tc-action"],
      ...keys(),
      tamper: (req) => {
        req.headers["content-type"] = "application/json; charset=utf-8";
      },
    });
    h.expectEnvelope(r, "AuthFailure.SignatureFailure");
  });

  test("X-TC-Token with a long-term key -> AuthFailure.TokenFailure", async () => {
    const r = await h.rawCall({ port: port(), body: notFoundReq(), token: "some-session-token", ...keys() });
    h.expectEnvelope(r, "AuthFailure.TokenFailure");
    const c = h.vpcClient({ endpoint: ctx.server.endpoint, ...keys(), token: "example-session-token" });
    await h.expectApiError(c.CreateFlowLog(notFoundReq()), "AuthFailure.TokenFailure");
  });

  test("v1 Token with a long-term key -> AuthFailure.TokenFailure", async () => {
    const r = await h.rawV1Call({ port: port(), params: notFoundReq(), token: "some-session-token", ...keys() });
    h.expectEnvelope(r, "AuthFailure.TokenFailure");
  });
});

describe("input mapping", () => {
  test("body that is not JSON -> InvalidParameter", async () => {
    const r = await h.rawCall({ port: port(), body: '{"FlowLogName": "x",', ...keys() });
    h.expectEnvelope(r, "InvalidParameter");
  });

  test("body that is a JSON array -> InvalidParameter", async () => {
    const r = await h.rawCall({ port: port(), body: "[]", ...keys() });
    h.expectEnvelope(r, "InvalidParameter");
    const r2 = await h.rawCall({ port: port(), body: '"a string"', ...keys() });
    h.expectEnvelope(r2, "InvalidParameter");
  });

  test("unknown field -> UnknownParameter naming it", async () => {
    const r = await h.rawCall({ port: port(), body: notFoundReq({ Bogus: 1 }), ...keys() });
    h.expectEnvelope(r, "UnknownParameter", { mention: "Bogus" });
    await h.expectApiError(acct.client().CreateFlowLog(notFoundReq({ Bogus: "x" })), "UnknownParameter", { mention: "Bogus" });
  });

  test("unknown field inside a Tag -> UnknownParameter", async () => {
    const r = await h.rawCall({ port: port(), body: notFoundReq({ Tags: [{ Key: "a", Value: "b", Colour: "red" }] }), ...keys() });
    h.expectEnvelope(r, "UnknownParameter", { mention: "Colour" });
  });

  test("unknown parameter in a v1 form -> UnknownParameter", async () => {
    const r = await h.rawV1Call({ port: port(), params: notFoundReq({ Bogus: "1" }), ...keys() });
    h.expectEnvelope(r, "UnknownParameter", { mention: "Bogus" });
  });

  test("wrong JSON type -> InvalidParameter naming the field", async () => {
    const cases = [
      { FlowLogName: 5 },
      { FlowLogName: true },
      { Tags: { Key: "a", Value: "b" } },
      { Tags: ["a"] },
      { Period: "600" },
      { FlowLogStorage: "ckafka-aaaa0001" },
    ];
    for (const over of cases) {
      const field = Object.keys(over)[0];
      const r = await h.rawCall({ port: port(), body: notFoundReq(over), ...keys() });
      h.expectEnvelope(r, "InvalidParameter", { mention: field });
    }
  });

  test("wrong type through the SDK -> InvalidParameter", async () => {
    await h.expectApiError(acct.client().CreateFlowLog(notFoundReq({ FlowLogName: 5 })), "InvalidParameter", { mention: "FlowLogName" });
  });

  test("missing required field -> MissingParameter naming it", async () => {
    for (const field of ["FlowLogName", "ResourceType", "ResourceId", "TrafficType"]) {
      const req = notFoundReq();
      delete req[field];
      const r = await h.rawCall({ port: port(), body: req, ...keys() });
      h.expectEnvelope(r, "MissingParameter", { mention: field });
    }
  });

  test("missing required field of a Tag -> MissingParameter", async () => {
    const r = await h.rawCall({ port: port(), body: notFoundReq({ Tags: [{ Value: "b" }] }), ...keys() });
    h.expectEnvelope(r, "MissingParameter", { mention: "Key" });
  });

  test("missing required field in a v1 form and in a TC3 GET -> MissingParameter", async () => {
    const req = notFoundReq();
    delete req.TrafficType;
    h.expectEnvelope(await h.rawV1Call({ port: port(), params: req, ...keys() }), "MissingParameter", { mention: "TrafficType" });
    h.expectEnvelope(await h.rawCall({ port: port(), method: "GET", query: req, ...keys() }), "MissingParameter", {
      mention: "TrafficType",
    });
  });

  test("non-numeric Period in a v1 form -> InvalidParameter", async () => {
    const r = await h.rawV1Call({ port: port(), params: notFoundReq({ Period: "six" }), ...keys() });
    h.expectEnvelope(r, "InvalidParameter", { mention: "Period" });
  });
});

describe("size limits", () => {
  const MiB = 1024 * 1024;

  test("TC3 body over 10 MB -> RequestSizeLimitExceeded", async () => {
    const body = JSON.stringify(notFoundReq({ FlowLogDescription: "x".repeat(10 * MiB + 1024) }));
    const r = await h.rawCall({ port: port(), body, ...keys() });
    h.expectEnvelope(r, "RequestSizeLimitExceeded");
  });

  test("TC3 body of 9.5 MB is read and checked normally", async () => {
    const body = JSON.stringify(notFoundReq({ FlowLogDescription: "x".repeat(9500000) }));
    const r = await h.rawCall({ port: port(), body, ...keys() });
    h.expectEnvelope(r, "InvalidParameterValue.Range", { mention: "FlowLogDescription" });
  });

  test("v1 form body over 1 MB -> RequestSizeLimitExceeded", async () => {
    const r = await h.rawV1Call({ port: port(), params: notFoundReq({ FlowLogDescription: "x".repeat(MiB + 1024) }), ...keys() });
    h.expectEnvelope(r, "RequestSizeLimitExceeded");
  });

  test("v1 form body of 0.95 MB is read and checked normally", async () => {
    const r = await h.rawV1Call({ port: port(), params: notFoundReq({ FlowLogDescription: "x".repeat(950000) }), ...keys() });
    h.expectEnvelope(r, "InvalidParameterValue.Range", { mention: "FlowLogDescription" });
  });

  test("GET query over 32 KB -> RequestSizeLimitExceeded (v1 and TC3)", async () => {
    const big = notFoundReq({ FlowLogDescription: "x".repeat(33 * 1024) });
    h.expectEnvelope(await h.rawV1Call({ port: port(), method: "GET", params: big, ...keys() }), "RequestSizeLimitExceeded");
    h.expectEnvelope(await h.rawCall({ port: port(), method: "GET", query: big, ...keys() }), "RequestSizeLimitExceeded");
  });

  test("GET query of 30000 bytes is read and checked normally", async () => {
    const req = notFoundReq({ FlowLogDescription: "x".repeat(29000) });
    const r = await h.rawV1Call({ port: port(), method: "GET", params: req, ...keys() });
    h.expectEnvelope(r, "InvalidParameterValue.Range", { mention: "FlowLogDescription" });
  });
});

describe("not API calls", () => {
  test("GET /foo -> plain 404, not the envelope", async () => {
    const r = await h.send({ port: port(), method: "GET", path: "/foo" });
    assert.equal(r.status, 404);
    assert.ok(!(r.json && r.json.Response), `404 should not carry the API envelope: ${r.text}`);
  });

  test("POST /foo -> plain 404, not the envelope", async () => {
    const r = await h.send({ port: port(), method: "POST", path: "/foo", headers: { "content-type": "application/json" }, body: "{}" });
    assert.equal(r.status, 404);
    assert.ok(!(r.json && r.json.Response), `404 should not carry the API envelope: ${r.text}`);
  });

  test("odd API calls (POST / or GET /) still get an HTTP 200 error envelope", async () => {
    const odd = [
      { method: "POST", headers: { "content-type": "text/plain" }, body: "hello" },
      { method: "POST", headers: {}, body: "{}" },
      { method: "GET", headers: {} },
      { method: "POST", headers: { "content-type": "application/json", "x-tc-action": "CreateFlowLog" }, body: "{}" },
    ];
    for (const o of odd) {
      const r = await h.send({ port: port(), path: "/", ...o });
      const resp = h.expectEnvelope(r);
      assert.ok(resp.Error && resp.Error.Code, `${o.method} / ${JSON.stringify(o.headers)}: expected an error, got ${r.text}`);
    }
    const nonNumericTs = await h.rawCall({ port: port(), body: notFoundReq(), headers: { "x-tc-timestamp": "soon" }, ...keys() });
    assert.ok(h.expectEnvelope(nonNumericTs).Error, "a non-numeric X-TC-Timestamp was accepted");
  });

  test("Authorization: SKIP (the SDK's unsigned mode) is refused with AuthFailure", async () => {
    const r = await h.rawCall({ port: port(), body: notFoundReq(), authorization: "SKIP", ...keys() });
    const resp = h.expectEnvelope(r);
    assert.ok(resp.Error && resp.Error.Code.startsWith("AuthFailure"), `SKIP answered ${JSON.stringify(resp)}`);
  });

  test("PUT / and DELETE / -> 405 or 404, not the envelope", async () => {
    for (const method of ["PUT", "DELETE"]) {
      const r = await h.send({ port: port(), method, path: "/", headers: { "content-type": "application/json" }, body: "{}" });
      assert.ok([404, 405].includes(r.status), `${method} / answered HTTP ${r.status}: ${r.text.slice(0, 200)}`);
      assert.ok(!(r.json && r.json.Response), `${method} / should not carry the API envelope: ${r.text}`);
    }
  });
});

describe("errors are HTTP 200 envelopes, in both languages", () => {
  test("every error above came as HTTP 200 with Error.Code, Error.Message and a UUID RequestId", async () => {
    // (checked by expectEnvelope in each test); here: the envelope has exactly Error and RequestId
    const r = await h.rawCall({ port: port(), body: notFoundReq(), ...keys() });
    const resp = h.expectEnvelope(r, "ResourceNotFound");
    assert.deepEqual(Object.keys(resp).sort(), ["Error", "RequestId"]);
    assert.deepEqual(Object.keys(resp.Error).sort(), ["Code", "Message"]);
    assert.match(r.headers["content-type"] || "", /application\/json/);
    remember(resp, "CreateFlowLog");
  });

  test("RequestIds are unique", async () => {
    const ids = new Set();
    for (let i = 0; i < 5; i++) {
      const r = await h.rawCall({ port: port(), body: notFoundReq(), ...keys() });
      ids.add(h.expectEnvelope(r, "ResourceNotFound").RequestId);
    }
    assert.equal(ids.size, 5);
  });

  test("en-US through the SDK: English (ASCII) message naming the parameter", async () => {
    const req = notFoundReq();
    delete req.FlowLogName;
    const e = await h.expectApiError(acct.client({ language: "en-US" }).CreateFlowLog(req), "MissingParameter", {
      mention: "FlowLogName",
    });
    assert.ok(h.isAscii(e.message), `en-US message is not English: ${e.message}`);
    remember({ RequestId: e.requestId }, "CreateFlowLog", e.code);
  });

  test("default language is zh-CN: Chinese message naming the parameter", async () => {
    const req = notFoundReq();
    delete req.FlowLogName;
    const e = await h.expectApiError(acct.client().CreateFlowLog(req), "MissingParameter", { mention: "FlowLogName" });
    assert.ok(h.hasCjk(e.message), `default message is not Chinese: ${e.message}`);
    const e2 = await h.expectApiError(acct.client({ language: "zh-CN" }).CreateFlowLog(req), "MissingParameter");
    assert.ok(h.hasCjk(e2.message), `zh-CN message is not Chinese: ${e2.message}`);
  });

  test("en-US for authentication and business errors too", async () => {
    const r = await h.rawCall({ port: port(), body: notFoundReq(), secretId: acct.SecretId, secretKey: "wrong", language: "en-US" });
    const resp = h.expectEnvelope(r, "AuthFailure.SignatureFailure");
    assert.ok(h.isAscii(resp.Error.Message), resp.Error.Message);
    const e = await h.expectApiError(acct.client({ language: "en-US" }).CreateFlowLog(notFoundReq()), "ResourceNotFound");
    assert.ok(h.isAscii(e.message), e.message);
    const e2 = await h.expectApiError(
      acct.client({ language: "en-US" }).CreateFlowLog(notFoundReq({ FlowLogName: "" })),
      "InvalidParameterValue.Empty",
      { mention: "FlowLogName" }
    );
    assert.ok(h.isAscii(e2.message), e2.message);
  });

  test("v1 Language=en-US gives English", async () => {
    const req = notFoundReq();
    delete req.ResourceId;
    for (const signMethod of ["HmacSHA256", "HmacSHA1"]) {
      const e = await h.expectApiError(
        acct.client({ signMethod, language: "en-US" }).CreateFlowLog(req),
        "MissingParameter",
        { mention: "ResourceId" }
      );
      assert.ok(h.isAscii(e.message), e.message);
    }
  });

  test("zh-CN for authentication errors", async () => {
    const r = await h.rawCall({ port: port(), body: notFoundReq(), secretId: acct.SecretId, secretKey: "wrong" });
    const resp = h.expectEnvelope(r, "AuthFailure.SignatureFailure");
    assert.ok(h.hasCjk(resp.Error.Message), resp.Error.Message);
  });
});

describe("logging", () => {
  test("one log line per request with its RequestId and action; no secret in the logs", async () => {
    // a few more requests of known outcome
    const ok = await acct.client().CreateFlowLog(validReq());
    remember(ok, "CreateFlowLog");
    const e = await h.expectApiError(acct.client().CreateFlowLog(notFoundReq()), "ResourceNotFound");
    remember({ RequestId: e.requestId }, "CreateFlowLog", e.code);
    const r = await h.rawCall({ port: port(), action: "CreateFlowLogz", body: {}, ...keys() });
    remember(h.expectEnvelope(r, "InvalidAction"), "CreateFlowLogz");
    const bad = await h.rawCall({ port: port(), body: notFoundReq(), secretId: acct.SecretId, secretKey: "wrong" });
    remember(h.expectEnvelope(bad, "AuthFailure.SignatureFailure"), "CreateFlowLog");
    const v1 = await acct.client({ signMethod: "HmacSHA1" }).CreateFlowLog(validReq());
    remember(v1, "CreateFlowLog");
    await h.sleep(300); // let the log lines arrive
    const logs = ctx.server.logs();
    assert.ok(requestIds.length >= 5, "too few RequestIds collected");
    for (const { requestId, action, code } of requestIds) {
      const lines = logs.filter((l) => l.includes(requestId));
      assert.equal(lines.length, 1, `RequestId ${requestId} appears on ${lines.length} log lines:\n${lines.join("\n")}`);
      assert.ok(lines[0].includes(action), `log line lacks the action ${action}: ${lines[0]}`);
      if (code) assert.ok(lines[0].includes(code), `log line lacks the result code ${code}: ${lines[0]}`);
      // the account is known once the request is authenticated (an unknown action may be refused before)
      if (!code || !(code.startsWith("AuthFailure") || code === "InvalidAction")) {
        assert.ok(lines[0].includes(acct.Uin) || lines[0].includes(String(acct.AppId)), `log line lacks the account: ${lines[0]}`);
      }
    }
    const all = logs.join("\n");
    assert.ok(!all.includes(acct.SecretKey), "the account's SecretKey appears in the server log");
  });
});
