// secrets.test.js: secrets and isolation (issue 3, item 6).
//
//  - the data directory is 0700 and every file in it (db, -wal, -shm) 0600,
//    with the usual umask and with umask 000;
//  - no SecretKey appears in any server log line (--log-level debug), in any
//    API answer, or in any `flowlogd call` error, after a run that includes a
//    failure of every authentication kind;
//  - a validly signed request whose timestamp is 301 s old fails with
//    AuthFailure.SignatureExpire (TC3 and v1), as does one 301 s ahead;
//  - flipping any single bit of a signed request (every bit of every byte of
//    the body, of each signed header value, of the Authorization header with
//    its signature, and of the query of a signed GET) never succeeds;
//  - a key limited to DescribeFlowLogs gets UnauthorizedOperation for every
//    other action;
//  - account B cannot read, modify, enable, disable or delete A's flow logs,
//    nor name A's resources in CreateFlowLog.
"use strict";

const { test, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const L = require("./lib.js");

const { h } = L;

const servers = [];
after(async () => {
  for (const s of servers) await s.stop("SIGKILL");
});

const ALL_ACTIONS = ["CreateFlowLog", "DescribeFlowLogs", "DescribeFlowLog", "ModifyFlowLogAttribute", "DeleteFlowLog", "EnableFlowLogs", "DisableFlowLogs"];

function modes(dir) {
  const out = { dir: fs.statSync(dir).mode & 0o777, files: {} };
  for (const f of fs.readdirSync(dir)) {
    const st = fs.statSync(path.join(dir, f));
    out.files[f] = { mode: st.mode & 0o777, type: st.isDirectory() ? "dir" : "file" };
  }
  return out;
}

const oct = (m) => "0" + m.toString(8);

async function fileModesWith(umask, t) {
  const parent = h.tmpDir("secrets-modes");
  const dataDir = path.join(parent, "data"); // created by flowlogd itself
  const old = process.umask(umask);
  let srv;
  try {
    const [A] = L.makeAccounts(dataDir, 1, { extraEnis: 3 });
    const afterCli = modes(dataDir);
    srv = await h.startServer({ dataDir, args: ["--rate-limit", "100000"] });
    servers.push(srv);
    await L.apiOk({ port: srv.port, key: A, action: "CreateFlowLog", body: h.eniRequest(A.ids, A.ids.extraEnis[0]) });
    const whileServing = modes(dataDir);
    await srv.stop("SIGKILL"); // leaves -wal and -shm behind
    const afterKill = modes(dataDir);
    const bad = [];
    for (const [when, m] of [
      ["after the CLI created the directory", afterCli],
      ["while serving", whileServing],
      ["after SIGKILL", afterKill],
    ]) {
      if (m.dir !== 0o700) bad.push(`${when}: data directory mode ${oct(m.dir)}`);
      for (const [f, x] of Object.entries(m.files)) {
        const want = x.type === "dir" ? 0o700 : 0o600;
        if (x.mode !== want) bad.push(`${when}: ${f} mode ${oct(x.mode)}, expected ${oct(want)}`);
      }
    }
    t.diagnostic(
      `umask ${oct(umask)}: while serving ${oct(whileServing.dir)} ${Object.entries(whileServing.files)
        .map(([f, x]) => `${f} ${oct(x.mode)}`)
        .join(", ")}`
    );
    const names = Object.keys(whileServing.files);
    assert.ok(names.some((f) => f.endsWith("-wal")), `no -wal file while serving: ${names.join(", ")}`);
    return bad;
  } finally {
    process.umask(old);
    if (srv) await srv.stop("SIGKILL");
  }
}

test("data directory 0700 and data files 0600, whatever the umask", async (t) => {
  const bad = [...(await fileModesWith(0o022, t)), ...(await fileModesWith(0o000, t))];
  assert.deepEqual(bad, []);
});

for (const fmt of ["text", "json"])
test(`no SecretKey in any log line (--log-format ${fmt}), API answer or CLI error, after failures of every auth kind`, { timeout: 60000 }, async (t) => {
  const dataDir = h.tmpDir("secrets-logs");
  const [A, B] = L.makeAccounts(dataDir, 2, { extraEnis: 4 });
  const restricted = h.createKey(dataDir, A.Uin, "DescribeFlowLogs");
  const extraKey = h.createKey(dataDir, B.Uin);
  const secrets = [A.SecretKey, B.SecretKey, restricted.SecretKey, extraKey.SecretKey];
  const srv = await h.startServer({ dataDir, args: ["--log-level", "debug", "--log-format", fmt, "--rate-limit", "100000"] });
  servers.push(srv);
  const port = srv.port;
  const texts = []; // every answer body and CLI output
  const codes = new Set();
  const record = (r) => {
    texts.push(r.raw ? r.raw.toString("utf8") : r.text || "");
    const x = r.responses ? r.responses[0] : r;
    const code = x && x.json && x.json.Response && x.json.Response.Error && x.json.Response.Error.Code;
    if (code) codes.add(code);
  };
  const tc3 = (spec) => L.serialize(L.tc3Request(Object.assign({ port, secretId: A.SecretId, secretKey: A.SecretKey, action: "DescribeFlowLogs", body: {} }, spec)));
  const send = async (bytes) => record(await L.rawExchange({ port, data: bytes }));
  const now = Math.floor(Date.now() / 1000);

  await send(tc3({})); // success
  await send(tc3({ action: "CreateFlowLog", body: h.eniRequest(A.ids, A.ids.extraEnis[0]) }));
  await send(tc3({ mutate: null, secretKey: B.SecretKey })); // signed with another account's key
  await send(tc3({ secretKey: A.SecretKey + "x" })); // SignatureFailure
  await send(tc3({ secretId: "AKIDdoesnotexist0000000000000000" })); // SecretIdNotFound
  await send(tc3({ secretId: A.SecretKey })); // the key pasted as the id
  await send(tc3({ timestamp: now - 400 })); // SignatureExpire
  await send(tc3({ timestamp: now + 400 }));
  await send(tc3({ extraHeaders: [["X-TC-Token", A.SecretKey]] })); // TokenFailure, the key as a token
  await send(tc3({ secretId: restricted.SecretId, secretKey: restricted.SecretKey, action: "DeleteFlowLog", body: { FlowLogId: "fl-00000000" } })); // Unauthorized
  const garbage = L.tc3Request({ port, secretId: A.SecretId, secretKey: A.SecretKey, action: "DescribeFlowLogs", body: {} });
  garbage.headers = garbage.headers.map(([k, v]) => (k === "Authorization" ? [k, `TC3-HMAC-SHA256 Credential=${A.SecretKey}`] : [k, v]));
  await send(L.serialize(garbage)); // InvalidAuthorization, with the key inside
  for (const [sig, extra] of [
    ["v1-wrong-key", {}],
    ["v1-no-signature", {}],
    ["v1-key-as-id", { SecretId: A.SecretKey }],
    ["v1-old", { Timestamp: String(now - 400) }],
    ["v1-token", { Token: A.SecretKey }],
  ]) {
    const r = await h.rawV1Call({
      port,
      action: "DescribeFlowLogs",
      params: {},
      secretId: A.SecretId,
      secretKey: sig === "v1-wrong-key" ? B.SecretKey : A.SecretKey,
      extra,
      retryRateLimit: false,
      tamper: sig === "v1-no-signature" ? (req) => (req.body = req.body.replace(/&?Signature=[^&]*/, "")) : undefined,
    });
    record(r);
  }
  // the CLI's `call`, failing and succeeding
  const endpoint = `http://127.0.0.1:${port}`;
  const cliRuns = [
    ["--secret-id", A.SecretId, "--secret-key", B.SecretKey, "DescribeFlowLogs", "{}"],
    ["--secret-id", "AKIDnope", "--secret-key", A.SecretKey, "DescribeFlowLogs", "{}"],
    ["--secret-id", A.SecretId, "--secret-key", A.SecretKey, "DescribeFlowLog", '{"FlowLogId":"fl-00000000","VpcId":"vpc-00000000"}'],
    ["--secret-id", A.SecretId, "--secret-key", A.SecretKey, "DescribeFlowLogs", "{not json"],
    ["--secret-id", restricted.SecretId, "--secret-key", restricted.SecretKey, "CreateFlowLog", "{}"],
    ["--secret-id", A.SecretId, "--secret-key", A.SecretKey, "DescribeFlowLogs", "{}"],
  ];
  for (const args of cliRuns) {
    const r = h.cli(["call", "--endpoint", endpoint, "--region", "ap-guangzhou", ...args]);
    texts.push(r.stdout, r.stderr);
  }
  // and a call to a port with nothing listening
  const dead = await h.freePort();
  const r = h.cli(["call", "--endpoint", `http://127.0.0.1:${dead}`, "--region", "ap-guangzhou", "--secret-id", A.SecretId, "--secret-key", A.SecretKey, "DescribeFlowLogs", "{}"]);
  texts.push(r.stdout, r.stderr);

  await srv.stop(); // flush every log line
  const logs = srv.logs();
  const wanted = [
    "AuthFailure.SignatureFailure",
    "AuthFailure.SecretIdNotFound",
    "AuthFailure.SignatureExpire",
    "AuthFailure.TokenFailure",
    "AuthFailure.InvalidAuthorization",
    "UnauthorizedOperation",
    "MissingParameter",
  ];
  for (const c of wanted) assert.ok(codes.has(c), `the run did not produce ${c} (got ${[...codes].join(", ")})`);
  if (fmt === "json") {
    // every line on stderr is one JSON object (stdout's "listening on" is the readiness line)
    const bad = logs.filter((l) => !/^listening on /.test(l)).filter((l) => {
      try {
        const j = JSON.parse(l);
        return !(j.time && j.level && typeof j.msg === "string");
      } catch (_) {
        return true;
      }
    });
    assert.deepEqual(bad, [], "log lines that are not JSON objects");
  }
  const leaks = [];
  for (const s of secrets) {
    logs.forEach((l, i) => l.includes(s) && leaks.push(`log line ${i + 1}: ${l}`));
    texts.forEach((x, i) => x && x.includes(s) && leaks.push(`answer/CLI output ${i + 1}: ${x.slice(0, 300)}`));
  }
  t.diagnostic(`${logs.length} log lines (debug level), ${texts.length} answers and CLI outputs searched for ${secrets.length} SecretKeys; error codes seen: ${[...codes].sort().join(", ")}`);
  assert.deepEqual(leaks, [], "a SecretKey leaked");
});

test("a request signed 301 s ago (or ahead) fails with AuthFailure.SignatureExpire", async () => {
  const dataDir = h.tmpDir("secrets-replay");
  const [A] = L.makeAccounts(dataDir, 1);
  const srv = await h.startServer({ dataDir, args: ["--rate-limit", "100000"] });
  servers.push(srv);
  const port = srv.port;
  const code = (r) => {
    const x = r.responses ? r.responses[0] : r;
    const resp = x && x.json && x.json.Response;
    return resp ? (resp.Error ? resp.Error.Code : "OK") : `no envelope (${x ? x.status : "no answer"})`;
  };
  const at = (ts) => L.rawExchange({ port, data: L.serialize(L.tc3Request({ port, secretId: A.SecretId, secretKey: A.SecretKey, action: "DescribeFlowLogs", body: {}, timestamp: ts })) });
  const now = Math.floor(Date.now() / 1000);
  // the capture: valid, and accepted while fresh
  assert.equal(code(await at(now - 290)), "OK", "a request 290 s old is within the window");
  assert.equal(code(await at(now - 301)), "AuthFailure.SignatureExpire");
  assert.equal(code(await at(now - 3600)), "AuthFailure.SignatureExpire");
  assert.equal(code(await at(now + 301)), "AuthFailure.SignatureExpire");
  const v1 = (ts) => h.rawV1Call({ port, action: "DescribeFlowLogs", params: {}, secretId: A.SecretId, secretKey: A.SecretKey, timestamp: ts, retryRateLimit: false });
  assert.equal(code(await v1(now - 301)), "AuthFailure.SignatureExpire", "v1");
  assert.equal(code(await v1(now + 301)), "AuthFailure.SignatureExpire", "v1");
  await srv.stop();
});

test("flipping any single bit of a signed request never succeeds", { timeout: 180000 }, async (t) => {
  const dataDir = h.tmpDir("secrets-flip");
  const [A] = L.makeAccounts(dataDir, 1, { extraEnis: 2 });
  const srv = await h.startServer({ dataDir, args: ["--rate-limit", "1000000", "--quiet"] });
  servers.push(srv);
  const port = srv.port;

  // the request under test: a CreateFlowLog with every common header signed
  const signedHeaders = ["content-type", "host", "x-tc-action", "x-tc-region", "x-tc-timestamp", "x-tc-version"];
  const body = Object.assign(h.eniRequest(A.ids, A.ids.extraEnis[0]), { FlowLogDescription: "bit flips", Tags: [{ Key: "env", Value: "prod" }] });
  const post = L.tc3Request({ port, secretId: A.SecretId, secretKey: A.SecretKey, action: "CreateFlowLog", body, signedHeaders });
  // a signed GET, for the query
  const get = L.tc3Request({
    port,
    secretId: A.SecretId,
    secretKey: A.SecretKey,
    action: "DescribeFlowLogs",
    method: "GET",
    query: "FlowLogName=test-flowlog&Limit=5&Offset=0",
    body: null,
  });

  const variants = [];
  const flip = (buf, i, bit) => {
    const c = Buffer.from(buf);
    c[i] ^= 1 << bit;
    return c;
  };
  // every bit of the body
  for (let i = 0; i < post.body.length; i++) {
    for (let bit = 0; bit < 8; bit++) variants.push({ where: `body byte ${i}`, req: Object.assign({}, post, { body: flip(post.body, i, bit) }) });
  }
  // every bit of each signed header value, and of the whole Authorization header
  let caseOnly = 0;
  let portOnly = 0;
  const isDigit = (c) => c >= 0x30 && c <= 0x39;
  for (const [name, value] of post.headers) {
    const lname = name.toLowerCase();
    if (!signedHeaders.includes(lname) && lname !== "authorization") continue;
    const vb = Buffer.from(value, "latin1");
    for (let i = 0; i < vb.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const nv = flip(vb, i, bit);
        const orig = vb[i];
        const isLetter = (orig >= 0x41 && orig <= 0x5a) || (orig >= 0x61 && orig <= 0x7a);
        if (lname !== "authorization" && bit === 5 && isLetter) {
          // TC3 signs header values lower-cased: a change of case is the same signed value
          caseOnly++;
          continue;
        }
        if (lname === "host" && i > value.lastIndexOf(":") && isDigit(orig) && isDigit(nv[i])) {
          // TC3 signs the host without its port (URL.hostname, as the SDKs do): another port is the same signed value
          portOnly++;
          continue;
        }
        const headers = post.headers.map(([k, v]) => (k === name ? [k, nv.toString("latin1")] : [k, v]));
        variants.push({ where: `${name} byte ${i} ("${value[i]}")`, req: Object.assign({}, post, { headers }) });
      }
    }
  }
  // every bit of the query of the signed GET
  const q = Buffer.from(get.path.slice(2), "latin1");
  for (let i = 0; i < q.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      variants.push({ where: `query byte ${i}`, req: Object.assign({}, get, { path: "/?" + flip(q, i, bit).toString("latin1") }), get: true });
    }
  }

  const t0 = Date.now();
  const results = await L.pool(variants, 32, async (v) => {
    const r = await L.rawExchange({ port, data: L.serialize(v.req), timeoutMs: 8000 });
    const x = r.responses[0];
    const resp = x && x.json && x.json.Response;
    let outcome;
    if (resp && !resp.Error) outcome = "SUCCESS";
    else if (resp) outcome = resp.Error.Code;
    else if (x) outcome = `HTTP ${x.status}`;
    else outcome = r.timedOut ? "no answer, not closed" : "closed";
    return { where: v.where, outcome };
  });
  const tally = {};
  for (const r of results) tally[r.outcome] = (tally[r.outcome] || 0) + 1;
  // answers that show the signature was accepted: success, or any check that comes after it
  const beforeAuth = /^(AuthFailure\..*|UnsupportedProtocol|MissingParameter|InvalidAction|NoSuchVersion|UnsupportedRegion|InvalidParameter|RequestSizeLimitExceeded|HTTP 4\d\d|closed)$/;
  const succeeded = results.filter((r) => !beforeAuth.test(r.outcome));
  t.diagnostic(
    `${variants.length} single-bit flips in ${((Date.now() - t0) / 1000).toFixed(1)} s (skipped as the same signed value: ${caseOnly} case-only flips of signed header values, ${portOnly} flips of a Host port digit to another digit): ` +
      Object.entries(tally)
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k} ${n}`)
        .join(", ")
  );
  console.log(`# bitflip figures ${JSON.stringify({ variants: variants.length, caseOnlySkipped: caseOnly, portOnlySkipped: portOnly, tally })}`);
  assert.deepEqual(succeeded.map((r) => `${r.where}: ${r.outcome}`), [], "flipped requests whose signature was accepted (or that hung)");

  // nothing was created by any flipped request; the unmodified requests still work
  assert.equal(await L.totalNum({ port, key: A }), 0, "a flipped CreateFlowLog created something");
  const ok = await L.rawExchange({ port, data: L.serialize(post) });
  assert.ok(ok.responses[0] && ok.responses[0].json.Response.FlowLog, `the unmodified request fails: ${ok.responses[0] && ok.responses[0].text}`);
  const okGet = await L.rawExchange({ port, data: L.serialize(get) });
  assert.ok(okGet.responses[0] && okGet.responses[0].json.Response.TotalNum === 1, `the unmodified GET fails: ${okGet.responses[0] && okGet.responses[0].text}`);
  await srv.stop();
});

test("a key limited to DescribeFlowLogs cannot call any other action", async (t) => {
  const dataDir = h.tmpDir("secrets-restricted");
  const [A] = L.makeAccounts(dataDir, 1, { extraEnis: 3 });
  const ro = h.createKey(dataDir, A.Uin, "DescribeFlowLogs");
  const two = h.createKey(dataDir, A.Uin, ["DescribeFlowLogs", "DescribeFlowLog"]);
  const srv = await h.startServer({ dataDir, args: ["--rate-limit", "100000"] });
  servers.push(srv);
  const port = srv.port;
  const fl = (await L.apiOk({ port, key: A, action: "CreateFlowLog", body: h.eniRequest(A.ids, A.ids.extraEnis[0]) })).FlowLog[0];
  await L.apiOk({ port, key: A, action: "DisableFlowLogs", body: { FlowLogIds: [fl.FlowLogId] } });
  const before = await L.describeAll({ port, key: A });

  const inputs = {
    CreateFlowLog: h.eniRequest(A.ids, A.ids.extraEnis[1]),
    DescribeFlowLog: { FlowLogId: fl.FlowLogId, VpcId: A.ids.vpc },
    ModifyFlowLogAttribute: { FlowLogId: fl.FlowLogId, VpcId: A.ids.vpc, FlowLogName: "changed" },
    DeleteFlowLog: { FlowLogId: fl.FlowLogId, VpcId: A.ids.vpc },
    EnableFlowLogs: { FlowLogIds: [fl.FlowLogId] },
    DisableFlowLogs: { FlowLogIds: [fl.FlowLogId] },
  };
  const bad = [];
  for (const [action, body] of Object.entries(inputs)) {
    for (const [label, b] of [
      ["valid input", body],
      ["invalid input", { Bogus: 1 }],
    ]) {
      const r = await L.apiCall({ port, key: ro, action, body: b });
      if (r.code !== "UnauthorizedOperation") bad.push(`TC3 ${action} (${label}) with the DescribeFlowLogs key: ${r.kind} ${r.code || ""}`);
    }
    const v = await h.rawV1Call({ port, action, params: body, secretId: ro.SecretId, secretKey: ro.SecretKey, retryRateLimit: false });
    const vc = v.response && v.response.Error && v.response.Error.Code;
    if (vc !== "UnauthorizedOperation") bad.push(`v1 ${action} with the DescribeFlowLogs key: ${vc || "success"}`);
    if (action !== "DescribeFlowLog") {
      const r2 = await L.apiCall({ port, key: two, action, body });
      if (r2.code !== "UnauthorizedOperation") bad.push(`${action} with the two-action key: ${r2.kind} ${r2.code || ""}`);
    }
  }
  // every other action the spec files name, wherever the server serves it already
  let probed = 0;
  for (const [file, version] of [
    ["vpc-flowlog-api.json", L.API_VERSION],
    ["vpc-resource-api.json", L.API_VERSION],
    ["tag-api.json", "2018-08-13"],
  ]) {
    let spec;
    try {
      spec = JSON.parse(fs.readFileSync(path.join(h.SHARED, "spec", file), "utf8"));
    } catch (_) {
      continue;
    }
    for (const action of Object.keys(spec.actions || {})) {
      if (action === "DescribeFlowLogs") continue;
      const full = await L.apiCall({ port, key: A, action, body: {}, version });
      if (full.code === "InvalidAction" || full.code === "NoSuchVersion") continue; // not served (yet)
      probed++;
      const r = await L.apiCall({ port, key: ro, action, body: {}, version });
      if (r.code !== "UnauthorizedOperation") bad.push(`${action} (${version}) with the DescribeFlowLogs key: ${r.kind} ${r.code || ""}`);
    }
  }
  t.diagnostic(`restricted key: the 6 other flow-log actions (TC3 and v1, valid and invalid input) and the ${probed} actions of the spec files that the server serves (probed with {}): all UnauthorizedOperation`);
  assert.ok(probed >= 6, `only ${probed} other actions probed`);
  assert.deepEqual(bad, []);
  // what the keys may do, they can
  assert.equal((await L.apiOk({ port, key: ro, action: "DescribeFlowLogs", body: {} })).TotalNum, 1);
  assert.equal((await L.apiOk({ port, key: two, action: "DescribeFlowLog", body: inputs.DescribeFlowLog })).FlowLog[0].FlowLogId, fl.FlowLogId);
  assert.deepEqual(await L.describeAll({ port, key: A }), before, "a refused call changed something");
  await srv.stop();
});

test("account B cannot read, modify, enable, disable or delete A's flow logs, nor name A's resources", async () => {
  const dataDir = h.tmpDir("secrets-tenancy");
  const [A, B] = L.makeAccounts(dataDir, 2, { extraEnis: 4 });
  const srv = await h.startServer({ dataDir, args: ["--rate-limit", "100000"] });
  servers.push(srv);
  const port = srv.port;
  const a = A.ids;
  const mk = async (key, body) => (await L.apiOk({ port, key, action: "CreateFlowLog", body })).FlowLog[0];
  const aEni = await mk(A, Object.assign(h.eniRequest(a, a.eni), { Tags: [{ Key: "owner", Value: "A" }] }));
  const aCcn = await mk(A, { FlowLogName: "a-ccn", ResourceType: "CCN", ResourceId: a.ccn, TrafficType: "ALL", CloudLogId: a.clsGz });
  const aVpc = await mk(A, { FlowLogName: "a-vpc", ResourceType: "VPC", ResourceId: a.vpc, VpcId: a.vpc, TrafficType: "ALL", CloudLogId: a.clsGz });
  await L.apiOk({ port, key: A, action: "DisableFlowLogs", body: { FlowLogIds: [aVpc.FlowLogId] } });
  const bOwn = await mk(B, h.eniRequest(B.ids, B.ids.eni));
  const beforeA = await L.describeAll({ port, key: A });
  const beforeB = await L.describeAll({ port, key: B });

  const bad = [];
  const expectCode = async (label, action, body, code) => {
    const r = await L.apiCall({ port, key: B, action, body });
    if (r.code !== code) bad.push(`${label}: expected ${code}, got ${r.kind} ${r.code || ""} ${r.kind === "ok" ? JSON.stringify(r.response).slice(0, 200) : ""}`);
  };
  const expectEmpty = async (label, body) => {
    const r = await L.apiCall({ port, key: B, action: "DescribeFlowLogs", body });
    if (r.kind !== "ok" || r.response.TotalNum !== 0) bad.push(`${label}: expected nothing, got ${r.kind} ${r.code || JSON.stringify(r.response).slice(0, 300)}`);
  };
  for (const [fl, vpc] of [
    [aEni, a.vpc],
    [aCcn, undefined],
    [aVpc, a.vpc],
  ]) {
    const idv = Object.assign({ FlowLogId: fl.FlowLogId }, vpc ? { VpcId: vpc } : {});
    // DescribeFlowLog requires VpcId (issue 13 §4): for the CCN one, any VPC of B's
    await expectCode(`DescribeFlowLog ${fl.ResourceType}`, "DescribeFlowLog", Object.assign({ VpcId: B.ids.vpc }, idv), "ResourceNotFound");
    await expectEmpty(`DescribeFlowLogs FlowLogId ${fl.ResourceType}`, { FlowLogId: fl.FlowLogId });
    await expectCode(`ModifyFlowLogAttribute ${fl.ResourceType}`, "ModifyFlowLogAttribute", Object.assign({ FlowLogName: "by-B", FlowLogDescription: "by B" }, idv), "ResourceNotFound");
    await expectCode(`EnableFlowLogs ${fl.ResourceType}`, "EnableFlowLogs", { FlowLogIds: [fl.FlowLogId] }, "ResourceNotFound");
    await expectCode(`DisableFlowLogs ${fl.ResourceType}`, "DisableFlowLogs", { FlowLogIds: [fl.FlowLogId] }, "ResourceNotFound");
    await expectCode(`EnableFlowLogs B's and A's ${fl.ResourceType}`, "EnableFlowLogs", { FlowLogIds: [bOwn.FlowLogId, fl.FlowLogId] }, "ResourceNotFound");
    await expectCode(`DisableFlowLogs B's and A's ${fl.ResourceType}`, "DisableFlowLogs", { FlowLogIds: [bOwn.FlowLogId, fl.FlowLogId] }, "ResourceNotFound");
    await expectCode(`DeleteFlowLog ${fl.ResourceType}`, "DeleteFlowLog", idv, "ResourceNotFound");
    if (vpc) await expectCode(`DeleteFlowLog ${fl.ResourceType} with B's VpcId`, "DeleteFlowLog", { FlowLogId: fl.FlowLogId, VpcId: B.ids.vpc }, "ResourceNotFound");
  }
  await expectEmpty("DescribeFlowLogs VpcId of A's", { VpcId: a.vpc });
  await expectEmpty("DescribeFlowLogs ResourceId of A's", { ResourceId: a.eni });
  await expectEmpty("DescribeFlowLogs tag of A's", { Filters: { Name: "tag:owner", Values: ["A"] } });
  await expectEmpty("DescribeFlowLogs CloudLogId of A's", { CloudLogId: a.clsGz });
  const all = await L.apiOk({ port, key: B, action: "DescribeFlowLogs", body: { Limit: 100 } });
  if (all.TotalNum !== 1 || all.FlowLog[0].FlowLogId !== bOwn.FlowLogId) bad.push(`B's own list: ${JSON.stringify(all).slice(0, 300)}`);

  // naming A's resources in CreateFlowLog
  const bi = B.ids;
  const base = (over) => Object.assign(h.eniRequest(bi, bi.extraEnis[0]), over);
  const refs = [
    ["A's VPC and ENI", base({ VpcId: a.vpc, ResourceId: a.extraEnis[0] })],
    ["B's VPC, A's ENI", base({ ResourceId: a.extraEnis[0] })],
    ["A's VPC, B's ENI", base({ VpcId: a.vpc })],
    ["A's CLS topic", base({ CloudLogId: a.clsGz })],
    ["A's subnet", base({ ResourceType: "SUBNET", ResourceId: a.subnet, VpcId: a.vpc })],
    ["A's subnet in B's VPC", base({ ResourceType: "SUBNET", ResourceId: a.subnet })],
    ["A's VPC (VPC flow log)", base({ ResourceType: "VPC", ResourceId: a.vpc2, VpcId: a.vpc2 })],
    ["A's NAT", base({ ResourceType: "NAT", ResourceId: a.natClassic, VpcId: a.vpc, TrafficType: "ALL" })],
    ["A's DCG", base({ ResourceType: "DCG", ResourceId: a.dcg2, VpcId: a.vpc })],
    ["A's CCN", { FlowLogName: "x", ResourceType: "CCN", ResourceId: a.ccn2, TrafficType: "ALL", CloudLogId: bi.clsGz }],
    ["A's CKafka", Object.assign(base({ StorageType: "ckafka", FlowLogStorage: { StorageId: a.ckafka, StorageTopic: "flowlogs" } }), { CloudLogId: undefined })],
  ];
  for (const [label, body] of refs) {
    if (body.CloudLogId === undefined) delete body.CloudLogId;
    await expectCode(`CreateFlowLog naming ${label}`, "CreateFlowLog", body, "ResourceNotFound");
  }
  assert.deepEqual(bad, []);
  assert.deepEqual(await L.describeAll({ port, key: A }), beforeA, "A's flow logs changed");
  assert.deepEqual(await L.describeAll({ port, key: B }), beforeB, "B's flow logs changed");
  await srv.stop();
});
