// signer.test.js: the harness's own TC3 and v1 signers reproduce the published
// test vectors (common.md §3.5, §4) and every signature the official Node SDK
// produced in ../shared/fixtures/sdk-capture.json. Needs no flowlogd binary.
"use strict";

const { test } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const h = require("./harness");

const capturePath = path.join(h.SHARED, "fixtures", "sdk-capture.json");

function formDecode(s) {
  return decodeURIComponent(s.replace(/\+/g, " "));
}
function parseForm(s) {
  const out = {};
  for (const part of s.split("&")) {
    if (!part) continue;
    const i = part.indexOf("=");
    if (i < 0) out[formDecode(part)] = "";
    else out[formDecode(part.slice(0, i))] = formDecode(part.slice(i + 1));
  }
  return out;
}

test("TC3 doc vector A (content-type;host)", () => {
  const r = h.tc3Sign({
    secretId: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
    secretKey: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
    method: "POST",
    headers: { "content-type": "application/json; charset=utf-8", host: "cvm.tencentcloudapi.com" },
    payload: '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}',
    timestamp: 1551113065,
    service: "cvm",
  });
  assert.equal(h.sha256hex(r.canonicalRequest), "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031");
  assert.equal(r.signature, "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
  assert.equal(
    r.authorization,
    "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, " +
      "SignedHeaders=content-type;host, Signature=72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
  );
});

test("TC3 doc vectors B and C (masked key, x-tc-action signed)", () => {
  const base = {
    secretId: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******",
    secretKey: "Gu5t9xGARNpq86cd98joQYCN3*******",
    headers: {
      "content-type": "application/json; charset=utf-8",
      host: "cvm.tencentcloudapi.com",
      "x-tc-action": "DescribeInstances",
    },
    payload: '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}',
    timestamp: 1551113065,
    service: "cvm",
  };
  assert.equal(h.tc3Sign(base).signature, "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c");
  const c = h.tc3Sign(Object.assign({}, base, { signedHeaders: ["content-type", "host", "x-tc-action"] }));
  assert.equal(h.sha256hex(c.canonicalRequest), "7019a55be8395899b900fb5564e4200d984910f34794a27cb3fb7d10ff6a1e84");
  assert.equal(c.signature, "be4f67d323c78ab9acb7395e43c0dbcf822a9cfac32fea2449a7bc7726b770a3");
});

test("TC3 vector D (vpc, SDK style)", () => {
  const r = h.tc3Sign({
    secretId: "x",
    secretKey: "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
    headers: { "content-type": "application/json", host: "vpc.tencentcloudapi.com" },
    payload: '{"FlowLogIds":["fl-7rymh5cn"]}',
    timestamp: 1700000000,
    service: "vpc",
  });
  assert.equal(h.sha256hex(r.canonicalRequest), "8f99934fd04e54f98aa52e3d448bd702d3837a1e8ac3eb8a7945784bfbe6eb1c");
  assert.equal(r.signature, "dd562c245ee862a39274769814eea80d279ecf5bd917861c185d0c52f1ef94ec");
});

test("v1 doc vectors (HmacSHA1 and HmacSHA256)", () => {
  const params = {
    Action: "DescribeInstances",
    "InstanceIds.0": "ins-09dx96dg",
    Limit: "20",
    Nonce: "11886",
    Offset: "0",
    Region: "ap-guangzhou",
    SecretId: "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
    Timestamp: "1465185768",
    Version: "2017-03-12",
  };
  const key = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
  const s1 = h.v1Sign({ method: "GET", host: "cvm.tencentcloudapi.com", params, secretKey: key });
  assert.equal(
    s1.signStr,
    "GETcvm.tencentcloudapi.com/?Action=DescribeInstances&InstanceIds.0=ins-09dx96dg&Limit=20&Nonce=11886&Offset=0" +
      "&Region=ap-guangzhou&SecretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE&Timestamp=1465185768&Version=2017-03-12"
  );
  assert.equal(s1.signature, "EliP9YW3pW28FpsEdkXt/+WcGeI=");
  assert.equal(h.rfc3986(s1.signature), "EliP9YW3pW28FpsEdkXt%2F%2BWcGeI%3D");
  const p256 = Object.assign({}, params, { SignatureMethod: "HmacSHA256" });
  const s2 = h.v1Sign({ method: "GET", host: "cvm.tencentcloudapi.com", params: p256, secretKey: key, signatureMethod: "HmacSHA256" });
  assert.equal(s2.signature, "A8uy2/o7WBZXYCTWEFpMrVGhGBVlEGIOioeqRM+fzFs=");
});

test("flatten matches the SDK's parameter flattening", () => {
  assert.deepEqual(
    h.flatten({ Tags: [{ Key: "city", Value: "shanghai" }], FlowLogStorage: { StorageId: "ckafka-1" }, Limit: 10, On: true, X: null }),
    { "Tags.0.Key": "city", "Tags.0.Value": "shanghai", "FlowLogStorage.StorageId": "ckafka-1", Limit: "10", On: "true" }
  );
});

test("every signature captured from the Node SDK is reproduced", () => {
  const doc = JSON.parse(fs.readFileSync(capturePath, "utf8"));
  const key = doc.credentials.secretKey;
  let n = 0;
  for (const sc of doc.scenarios) {
    for (const rec of sc.captured || []) {
      n++;
      const label = `${sc.label} (${rec.method})`;
      const auth = rec.headers.authorization || "";
      if (auth.startsWith("TC3-HMAC-SHA256 ")) {
        const m = /Credential=([^/]+)\/(\d{4}-\d\d-\d\d)\/([^/]+)\/tc3_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(
          auth
        );
        assert.ok(m, `${label}: unparsable Authorization`);
        const [, secretId, date, service, signed, given] = m;
        const r = h.tc3Sign({
          secretId,
          secretKey: key,
          method: rec.method,
          uri: rec.path,
          query: rec.rawQuery,
          headers: rec.headers,
          signedHeaders: signed.split(";"),
          payload: Buffer.from(rec.body, "utf8"),
          timestamp: rec.headers["x-tc-timestamp"],
          service,
        });
        assert.equal(h.utcDateOf(rec.headers["x-tc-timestamp"]), date, `${label}: scope date`);
        assert.equal(r.signature, given, `${label}: signature`);
        assert.equal(r.authorization, auth, `${label}: Authorization header`);
        if (rec.signCheck) {
          assert.equal(r.canonicalRequest, rec.signCheck.canonicalRequest, `${label}: canonical request`);
          assert.equal(r.stringToSign, rec.signCheck.stringToSign, `${label}: string to sign`);
          assert.equal(r.signature, rec.signCheck.expected, `${label}: signCheck.expected`);
        }
        // the endpoint's first label is the service the SDK signs
        assert.equal(service, rec.headers.host.replace(/:\d+$/, "").split(".")[0], `${label}: scope service`);
      } else {
        const params = parseForm(rec.method === "GET" ? rec.rawQuery : rec.body);
        assert.ok(params.Signature, `${label}: no Signature parameter`);
        const r = h.v1Sign({
          method: rec.method,
          host: rec.headers.host,
          params,
          secretKey: key,
          signatureMethod: params.SignatureMethod,
        });
        assert.equal(r.signature, params.Signature, `${label}: v1 signature`);
        if (rec.signCheck) {
          assert.equal(r.signStr, rec.signCheck.signStr, `${label}: StringToSign`);
          assert.equal(r.signature, rec.signCheck.expected, `${label}: signCheck.expected`);
        }
      }
    }
  }
  assert.ok(n >= 20, `only ${n} captured requests found in ${capturePath}`);
});

test("raw TC3 requests carry what the SDK sends", async () => {
  // a throw-away local server records what rawCall/rawV1Call put on the wire
  const http = require("node:http");
  const got = [];
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      got.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ Response: { RequestId: "00000000-0000-4000-8000-000000000001" } }));
    });
  });
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  const port = srv.address().port;
  try {
    const ts = 1795817648;
    await h.rawCall({ port, body: { Limit: 1 }, secretId: "AKIDexample", secretKey: "example-secret", timestamp: ts, action: "DescribeFlowLogs" });
    const rec = got[0];
    assert.equal(rec.headers.host, `127.0.0.1:${port}`);
    assert.equal(rec.headers["x-tc-action"], "DescribeFlowLogs");
    assert.equal(rec.body, '{"Limit":1}');
    // same request as the fixture's tc3-post-lang-zh scenario minus the language header: same signature
    assert.match(rec.headers.authorization, /Credential=AKIDexample\/2026-11-27\/127\/tc3_request, SignedHeaders=content-type;host, Signature=6e8ce17e96950a59af7ba1ccf4064fe658ba514f03b94a3ff73308331d8ffe60$/);

    await h.rawV1Call({
      port,
      action: "DescribeFlowLogs",
      params: { Limit: 1 },
      secretId: "AKIDexample",
      secretKey: "example-secret",
      timestamp: ts,
      nonce: 58038,
      language: "en-US",
      extra: { RequestClient: "SDK_NODEJS_4.1.313" },
    });
    const v1 = got[1];
    const p = parseForm(v1.body);
    // same parameters as the fixture's HmacSHA256-post-lang-en scenario, signed with the port's host
    const fixtureHostSig = h.v1Sign({ method: "POST", host: "127.0.0.1:45175", params: p, secretKey: "example-secret", signatureMethod: "HmacSHA256" });
    assert.equal(fixtureHostSig.signature, "PGvGv/H/lXUiOPsBBlaBbW05oSXrKPPu1l5+LWBusQ8=");
    assert.equal(v1.headers["content-type"], "application/x-www-form-urlencoded");
  } finally {
    srv.close();
  }
});
