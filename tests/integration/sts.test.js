// sts.test.js: temporary credentials and the caller's identity (issue 13 §3).
//
// `flowlogd key create --temporary --duration S` prints the shape STS returns
// ({TmpSecretId, TmpSecretKey, Token, ExpiredTime}); the official Node SDK
// with {secretId, secretKey, token} uses it (TC3: X-TC-Token; v1: Token).
// A missing, wrong or expired token, a token with a permanent key, and an
// expired key -> AuthFailure.TokenFailure. The sts service (2018-08-13) on
// the same port answers GetCallerIdentity. `flowlogd call` takes the
// credential, token and region from TENCENTCLOUD_* when the flags are absent.
"use strict";

const { describe, test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const http = require("node:http");
const h = require("./harness");

let ctx;
let A;
let port;

const loopbackAgent = new http.Agent({
  lookup: (hostname, opts, cb) => {
    if (opts && opts.all) cb(null, [{ address: "127.0.0.1", family: 4 }]);
    else cb(null, "127.0.0.1", 4);
  },
});

before(async () => {
  ctx = await h.setup({ label: "sts", accounts: [{ tag: "aaaa", extraEnis: 10 }] });
  [A] = ctx.accounts;
  port = ctx.server.port;
});
after(async () => {
  loopbackAgent.destroy();
  if (ctx) await ctx.server.stop();
});

function tempKey({ duration, actions } = {}) {
  const args = ["key", "create", "--data", ctx.dataDir, "--uin", A.Uin, "--temporary"];
  if (duration !== undefined) args.push("--duration", String(duration));
  if (actions) args.push("--actions", actions);
  return h.cliJson(args);
}

function client(kind, cred, { endpoint, signMethod } = {}) {
  const Client = { vpc: h.sdk().vpc.v20170312.Client, sts: h.sdk().sts.v20180813.Client }[kind];
  const profile = { httpProfile: { endpoint: endpoint || `127.0.0.1:${port}`, protocol: "http://", reqTimeout: 30, agent: loopbackAgent } };
  if (signMethod) profile.signMethod = signMethod;
  return new Client({ credential: cred, region: "ap-guangzhou", profile });
}

const tmpCred = (k, token) => ({ secretId: k.TmpSecretId, secretKey: k.TmpSecretKey, token: token === undefined ? k.Token : token });

describe("key create --temporary", () => {
  test("prints TmpSecretId, TmpSecretKey, Token, ExpiredTime (default 1800 s)", () => {
    const now = Math.floor(Date.now() / 1000);
    const k = tempKey();
    assert.deepEqual(Object.keys(k).sort(), ["ExpiredTime", "TmpSecretId", "TmpSecretKey", "Token"]);
    assert.match(k.TmpSecretId, /^AKID[0-9A-Za-z]{32}$/);
    assert.match(k.TmpSecretKey, /^[0-9A-Za-z]{32}$/);
    assert.match(k.Token, /^[0-9A-Za-z]{64}$/);
    assert.equal(typeof k.ExpiredTime, "number");
    assert.ok(Math.abs(k.ExpiredTime - (now + 1800)) <= 5, `ExpiredTime ${k.ExpiredTime}, now ${now}`);
    const k2 = tempKey({ duration: 60 });
    assert.ok(Math.abs(k2.ExpiredTime - (now + 60)) <= 5);
  });

  test("bad usage: --duration without --temporary, out of range, not a number", () => {
    for (const extra of [["--duration", "60"], ["--temporary", "--duration", "0"], ["--temporary", "--duration", "43201"], ["--temporary", "--duration", "1h"]]) {
      const r = h.cli(["key", "create", "--data", ctx.dataDir, "--uin", A.Uin, ...extra]);
      assert.equal(r.status, 2, `${extra.join(" ")}: exit ${r.status} ${r.stdout} ${r.stderr}`);
    }
  });
});

describe("temporary credentials through the Node SDK", () => {
  test("TC3 and HmacSHA256 with the token: accepted", async () => {
    const k = tempKey();
    for (const signMethod of [undefined, "HmacSHA256"]) {
      const c = client("vpc", tmpCred(k), { signMethod });
      const r = await h.withRateLimitRetry(() => c.DescribeFlowLogs({}));
      assert.equal(typeof r.TotalNum, "number");
      const made = await h.withRateLimitRetry(() => c.CreateFlowLog(h.eniRequest(A.ids, A.ids.extraEnis[signMethod ? 1 : 0])));
      assert.match(made.FlowLog[0].FlowLogId, /^fl-/);
    }
  });

  test("missing, wrong or another key's token -> AuthFailure.TokenFailure", async () => {
    const k = tempKey();
    const other = tempKey();
    for (const signMethod of [undefined, "HmacSHA256"]) {
      for (const token of [null, k.Token.slice(0, -1) + (k.Token.endsWith("a") ? "b" : "a"), other.Token, k.Token + "x"]) {
        const cred = tmpCred(k, token);
        if (token === null) delete cred.token;
        await h.expectApiError(client("vpc", cred, { signMethod }).DescribeFlowLogs({}), "AuthFailure.TokenFailure");
      }
    }
  });

  test("a permanent key with a token -> AuthFailure.TokenFailure", async () => {
    const k = tempKey();
    await h.expectApiError(
      client("vpc", { secretId: A.SecretId, secretKey: A.SecretKey, token: k.Token }).DescribeFlowLogs({}),
      "AuthFailure.TokenFailure"
    );
  });

  test("an expired key is refused, with or without its token", async () => {
    const k = tempKey({ duration: 1 });
    await h.sleep(Math.max(0, k.ExpiredTime * 1000 - Date.now()) + 1200);
    const err = await h.expectApiError(client("vpc", tmpCred(k)).DescribeFlowLogs({}), "AuthFailure.TokenFailure");
    assert.ok(/过期/.test(err.message), err.message);
    const cred = tmpCred(k);
    delete cred.token;
    await h.expectApiError(client("vpc", cred).DescribeFlowLogs({}), "AuthFailure.TokenFailure");
  });

  test("--actions limits a temporary key too", async () => {
    const k = tempKey({ actions: "DescribeFlowLogs" });
    const c = client("vpc", tmpCred(k));
    await h.withRateLimitRetry(() => c.DescribeFlowLogs({}));
    await h.expectApiError(c.CreateFlowLog(h.eniRequest(A.ids, A.ids.extraEnis[5])), "UnauthorizedOperation");
  });
});

describe("sts GetCallerIdentity", () => {
  test("a permanent key: the root account", async () => {
    for (const endpoint of [`127.0.0.1:${port}`, `sts.flowlogd.localhost:${port}`]) {
      const r = await client("sts", { secretId: A.SecretId, secretKey: A.SecretKey }, { endpoint }).GetCallerIdentity({});
      assert.equal(r.AccountId, A.Uin);
      assert.equal(r.UserId, A.Uin);
      assert.equal(r.PrincipalId, A.Uin);
      assert.equal(r.Arn, `qcs::cam::uin/${A.Uin}:uin/${A.Uin}`);
      assert.equal(r.Type, "RootAccount");
      assert.match(r.RequestId, h.UUID_RE);
    }
  });

  test("a temporary key: a federated identity of the account", async () => {
    const k = tempKey();
    const r = await client("sts", tmpCred(k)).GetCallerIdentity({});
    assert.equal(r.AccountId, A.Uin);
    assert.equal(r.PrincipalId, A.Uin);
    assert.equal(r.UserId, `${A.Uin}:flowlogd`);
    assert.equal(r.Arn, `qcs::sts:${A.Uin}:federated-user/${A.Uin}:flowlogd`);
    assert.equal(r.Type, "FederatedUser");
  });

  test("vpc actions are not served at sts.<name>, nor GetCallerIdentity at vpc.<name>", async () => {
    const Vpc = h.sdk().vpc.v20170312.Client;
    const v = new Vpc({
      credential: { secretId: A.SecretId, secretKey: A.SecretKey },
      region: "ap-guangzhou",
      profile: { httpProfile: { endpoint: `sts.flowlogd.localhost:${port}`, protocol: "http://", agent: loopbackAgent } },
    });
    await h.expectApiError(v.DescribeFlowLogs({}), "InvalidAction");
    await h.expectApiError(
      client("sts", { secretId: A.SecretId, secretKey: A.SecretKey }, { endpoint: `vpc.flowlogd.localhost:${port}` }).GetCallerIdentity({}),
      "InvalidAction"
    );
  });

  test("an unknown parameter -> UnknownParameter", async () => {
    await h.expectApiError(client("sts", { secretId: A.SecretId, secretKey: A.SecretKey }).GetCallerIdentity({ Foo: "x" }), "UnknownParameter");
  });
});

describe("flowlogd call with TENCENTCLOUD_* variables", () => {
  const call = (args, env) => h.cli(["call", "--endpoint", ctx.server.url, ...args], { env });
  const clean = { TENCENTCLOUD_SECRET_ID: "", TENCENTCLOUD_SECRET_KEY: "", TENCENTCLOUD_SESSION_TOKEN: "", TENCENTCLOUD_SECURITY_TOKEN: "", TENCENTCLOUD_REGION: "" };

  test("credential and region from the environment", () => {
    const r = call(["DescribeFlowLogs", "{}"], Object.assign({}, clean, {
      TENCENTCLOUD_SECRET_ID: A.SecretId,
      TENCENTCLOUD_SECRET_KEY: A.SecretKey,
      TENCENTCLOUD_REGION: "ap-guangzhou",
    }));
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(typeof r.json.TotalNum, "number");
  });

  test("a temporary credential with its session token", () => {
    const k = tempKey();
    const env = Object.assign({}, clean, {
      TENCENTCLOUD_SECRET_ID: k.TmpSecretId,
      TENCENTCLOUD_SECRET_KEY: k.TmpSecretKey,
      TENCENTCLOUD_SESSION_TOKEN: k.Token,
    });
    const r = call(["--version", "2018-08-13", "GetCallerIdentity"], env);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.json.Type, "FederatedUser");
    assert.equal(r.json.AccountId, A.Uin);
    // without the token: refused
    const r2 = call(["--version", "2018-08-13", "GetCallerIdentity"], Object.assign({}, env, { TENCENTCLOUD_SESSION_TOKEN: "" }));
    assert.equal(r2.status, 1);
    assert.match(r2.stdout, /AuthFailure\.TokenFailure/);
    // Terraform's variable name for the token works too
    const r3 = call(["--version", "2018-08-13", "GetCallerIdentity"], Object.assign({}, env, { TENCENTCLOUD_SESSION_TOKEN: "", TENCENTCLOUD_SECURITY_TOKEN: k.Token }));
    assert.equal(r3.status, 0, r3.stdout + r3.stderr);
  });

  test("flags win over the environment", () => {
    const r = call(["--secret-id", A.SecretId, "--secret-key", A.SecretKey, "--region", "ap-guangzhou", "DescribeFlowLogs", "{}"], Object.assign({}, clean, {
      TENCENTCLOUD_SECRET_ID: "AKIDnotakey",
      TENCENTCLOUD_SECRET_KEY: "nope",
      TENCENTCLOUD_REGION: "ap-nowhere",
    }));
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  test("no credential anywhere: usage error, exit 2", () => {
    const r = call(["DescribeFlowLogs", "{}"], clean);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /TENCENTCLOUD_SECRET_ID/);
  });

  test("no region for a vpc action -> MissingParameter", () => {
    const r = call(["DescribeFlowLogs", "{}"], Object.assign({}, clean, { TENCENTCLOUD_SECRET_ID: A.SecretId, TENCENTCLOUD_SECRET_KEY: A.SecretKey }));
    assert.equal(r.status, 1);
    assert.match(r.stdout, /MissingParameter/);
  });
});
