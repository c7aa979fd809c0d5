// admin.test.js: the test-lifecycle admin API (serve --admin-listen with
// --admin-token-file), serve --init, and their CLI twins (reset, account
// create with given credentials, backup), through the real binary; every
// effect is checked through the official Node SDK on the public port.
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { describe, test, before, after } = require("node:test");
const h = require("./harness");

const TOKEN = "admin-token-" + "x".repeat(20);

function tokenFile(dir, content = TOKEN + "\n") {
  const f = path.join(dir, "admin.token");
  fs.writeFileSync(f, content, { mode: 0o600 });
  return f;
}

/** The admin port from the server's "admin listening on HOST:PORT" line. */
async function adminPort(server) {
  for (let i = 0; i < 200; i++) {
    for (const l of server.logs()) {
      const m = /^admin listening on [^ ]*:(\d+)$/.exec(l);
      if (m) return Number(m[1]);
    }
    await h.sleep(25);
  }
  throw new Error("no admin listening line:\n" + server.logs().join("\n"));
}

/** A server with the admin API on a port of its own. */
async function adminServer({ label = "admin", dataDir, args = [], t } = {}) {
  const dir = h.tmpDir(label);
  dataDir = dataDir || path.join(dir, "data");
  const server = await h.startServer({
    dataDir,
    t,
    args: ["--admin-listen", "127.0.0.1:0", "--admin-token-file", tokenFile(dir), "--quiet", ...args],
  });
  const port = await adminPort(server);
  const call = (method, p, body, token = TOKEN) =>
    h.send({
      port,
      method,
      path: p,
      headers: Object.assign(
        { "Content-Type": "application/json" },
        token === null ? {} : { Authorization: `Bearer ${token}` }
      ),
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
  const post = async (p, body) => {
    const r = await call("POST", p, body || {});
    assert.equal(r.status, 200, `POST ${p} ${JSON.stringify(body)}: ${r.status} ${r.text}`);
    return r.json;
  };
  return { dir, dataDir, server, port, call, post };
}

/** Waits until a log line of server matches re (stderr and stdout are read apart). */
async function logLine(server, re) {
  for (let i = 0; i < 200; i++) {
    if (server.logs().some((l) => re.test(l))) return;
    await h.sleep(25);
  }
  assert.fail(`no log line ${re}:\n${server.logs().join("\n")}`);
}

function client(server, a) {
  return h.vpcClient({ endpoint: server.endpoint, secretId: a.SecretId, secretKey: a.SecretKey });
}

const KNOWN = { SecretId: "AKIDadmintestknown0000000001", SecretKey: "knownsecretkey0000000000000001", Uin: "100000000101", AppId: 1251000101 };
const KNOWN_B = { SecretId: "AKIDadmintestknown0000000002", SecretKey: "knownsecretkey0000000000000002", Uin: "100000000102" };

describe("the admin token", () => {
  let A;
  before(async () => {
    A = await adminServer({ label: "admin-token" });
  });
  after(() => A && A.server.stop());

  test("missing, wrong, longer, shorter or not Bearer: 401 with a JSON error", async () => {
    for (const token of [null, "", "wrong", TOKEN + "x", TOKEN.slice(0, -1), TOKEN.toUpperCase()]) {
      const r = await A.call("POST", "/admin/seed", { Seed: 1 }, token);
      assert.equal(r.status, 401, `token ${JSON.stringify(token)}: ${r.status}`);
      assert.equal(r.json.Error.Code, "Unauthorized");
      assert.equal(r.headers["www-authenticate"], "Bearer");
    }
    const basic = await h.send({
      port: A.port,
      path: "/admin/seed",
      headers: { Authorization: "Basic " + Buffer.from("a:" + TOKEN).toString("base64") },
      body: "{}",
    });
    assert.equal(basic.status, 401);
    assert.equal((await A.call("POST", "/admin/seed", { Seed: 1 })).status, 200);
  });

  test("the token file's first line is the token (a trailing CRLF and later lines ignored)", async (t) => {
    const dir = h.tmpDir("admin-crlf");
    const f = tokenFile(dir, "line-one-token\r\nsecond line\n");
    const server = await h.startServer({
      dataDir: path.join(dir, "data"),
      t,
      args: ["--admin-listen", "127.0.0.1:0", "--admin-token-file", f],
    });
    const port = await adminPort(server);
    const go = (tok) => h.send({ port, path: "/admin/seed", headers: { Authorization: `Bearer ${tok}` }, body: '{"Seed":3}' });
    assert.equal((await go("line-one-token")).status, 200);
    assert.equal((await go("second line")).status, 401);
  });

  test("SIGHUP reads the token file again: the new token works, the old one is refused", async (t) => {
    const dir = h.tmpDir("admin-rotate");
    const f = tokenFile(dir, "first-token\n");
    const server = await h.startServer({
      dataDir: path.join(dir, "data"),
      t,
      args: ["--admin-listen", "127.0.0.1:0", "--admin-token-file", f],
    });
    const port = await adminPort(server);
    const go = (tok) => h.send({ port, path: "/admin/seed", headers: { Authorization: `Bearer ${tok}` }, body: '{"Seed":3}' });
    assert.equal((await go("first-token")).status, 200);
    fs.writeFileSync(f, "second-token\n");
    server.proc.kill("SIGHUP");
    await logLine(server, /reloaded:/);
    assert.equal((await go("second-token")).status, 200);
    assert.equal((await go("first-token")).status, 401);
    // an empty file: the reload is refused and the token in force stays
    fs.writeFileSync(f, "\n");
    server.proc.kill("SIGHUP");
    await logLine(server, /reload refused.*admin\.token.*empty/);
    assert.equal((await go("second-token")).status, 200);
  });

  test("the timing-safe compare: a token differing early and one differing late are both refused", async () => {
    // the digest comparison leaves no length or prefix to find; what a test can
    // check is that prefixes and near-misses are all refused alike
    const near = [TOKEN.slice(0, 1), TOKEN.slice(0, TOKEN.length - 1) + "y", "y" + TOKEN.slice(1)];
    for (const tok of near) assert.equal((await A.call("POST", "/admin/seed", { Seed: 1 }, tok)).status, 401);
  });

  test("/healthz and /readyz answer without a token on the admin listener", async () => {
    for (const p of ["/healthz", "/readyz"]) {
      const r = await h.send({ port: A.port, method: "GET", path: p });
      assert.equal(r.status, 200, p);
    }
  });

  test("the admin paths are not on the public API port", async () => {
    for (const p of ["/admin/reset", "/admin/accounts", "/admin/seed", "/admin/keys", "/admin/inventory"]) {
      const r = await h.send({
        port: A.server.port,
        path: p,
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
        body: "{}",
      });
      assert.equal(r.status, 404, `${p} on the public port: ${r.status} ${r.text}`);
    }
  });

  test("errors name the problem: bad JSON, unknown member, route, method, account", async () => {
    const cases = [
      ["POST", "/admin/accounts", "{not json", 400, "InvalidJSON"],
      ["POST", "/admin/accounts", "[1]", 400, "InvalidJSON"],
      ["POST", "/admin/accounts", { SecretId: "AKIDonlyhalf" }, 400, "MissingParameter"],
      ["POST", "/admin/accounts", { Secretid: "x", SecretKey: "y" }, 400, "UnknownParameter"],
      ["POST", "/admin/accounts", { Uin: "12ab" }, 400, "InvalidParameter"],
      ["POST", "/admin/keys", {}, 400, "MissingParameter"],
      ["POST", "/admin/keys", { Uin: "999999999999" }, 404, "AccountNotFound"],
      ["POST", "/admin/reset", { Uin: "999999999999" }, 404, "AccountNotFound"],
      ["POST", "/admin/inventory", { Uin: "999999999999", Vpcs: [] }, 404, "AccountNotFound"],
      ["POST", "/admin/seed", { Seed: "x" }, 400, "MissingParameter"],
      ["POST", "/admin/nothing", {}, 404, "NotFound"],
      ["GET", "/admin/reset", undefined, 405, "MethodNotAllowed"],
    ];
    for (const [method, p, body, status, code] of cases) {
      const r = await A.call(method, p, body);
      assert.equal(r.status, status, `${method} ${p} ${JSON.stringify(body)}: ${r.status} ${r.text}`);
      assert.equal(r.json.Error.Code, code, r.text);
      assert.ok(r.json.Error.Message.length > 0);
    }
  });
});

describe("no admin listener without a token file", () => {
  test("serve without --admin-token-file has no admin listener", async (t) => {
    const dir = h.tmpDir("admin-none");
    const server = await h.startServer({ dataDir: path.join(dir, "data"), t });
    await h.sleep(200);
    assert.ok(!server.logs().some((l) => /admin (listening|API)/.test(l)), server.logs().join("\n"));
  });

  test("--admin-listen without --admin-token-file is refused", () => {
    const dir = h.tmpDir("admin-notoken");
    const r = h.cli(["serve", "--data", path.join(dir, "data"), "--admin-listen", "127.0.0.1:0"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--admin-listen needs --admin-token-file/);
  });

  test("an empty token file is refused at start-up, naming the file", async () => {
    const dir = h.tmpDir("admin-empty");
    const f = tokenFile(dir, "\n");
    await assert.rejects(
      h.startServer({ dataDir: path.join(dir, "data"), args: ["--admin-token-file", f, "--admin-listen", "127.0.0.1:0"] }),
      /admin\.token.*empty/
    );
  });
});

describe("accounts, keys and inventory through the admin API", () => {
  let A;
  before(async () => {
    A = await adminServer({ label: "admin-accounts" });
  });
  after(() => A && A.server.stop());

  test("an account with given credentials works at once through the SDK", async () => {
    const made = await A.post("/admin/accounts", KNOWN);
    assert.deepEqual(made, Object.assign({ FlowLogQuota: 100 }, KNOWN));
    const fx = h.inventoryFixture({ tag: "aaaa" });
    const imp = await A.post("/admin/inventory", Object.assign({ Uin: KNOWN.Uin }, fx.inventory));
    assert.equal(imp.Uin, KNOWN.Uin);
    assert.ok(imp.Imported > 10);
    const c = client(A.server, KNOWN);
    const id = (await c.CreateFlowLog(h.eniRequest(fx.ids))).FlowLog[0].FlowLogId;
    const d = await c.DescribeFlowLogs({});
    assert.equal(d.TotalNum, 1);
    assert.equal(d.FlowLog[0].FlowLogId, id);
    // the same credentials again: refused, nothing changes
    const again = await A.call("POST", "/admin/accounts", KNOWN);
    assert.equal(again.status, 409);
    assert.equal(again.json.Error.Code, "AlreadyExists");
    // the very file of `inventory import`, the account in the query
    const fx2 = h.inventoryFixture({ tag: "abab" });
    const q = await A.call("POST", `/admin/inventory?Uin=${KNOWN.Uin}`, fx2.inventory);
    assert.equal(q.status, 200, q.text);
    assert.equal((await c.DescribeVpcs({ VpcIds: [fx2.ids.vpc] })).TotalCount, 1);
    // a bad inventory is refused whole
    const bad = await A.call("POST", "/admin/inventory", { Uin: KNOWN.Uin, Vpcs: [{ VpcId: "nope" }] });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.Error.Code, "InvalidInventory");
  });

  test("an account without credentials gets a drawn key pair that works", async () => {
    const made = await A.post("/admin/accounts", { FlowLogQuota: 5 });
    assert.match(made.Uin, /^\d{12}$/);
    assert.match(made.SecretId, /^AKID/);
    assert.equal(made.FlowLogQuota, 5);
    assert.equal((await client(A.server, made).DescribeFlowLogs({})).TotalNum, 0);
  });

  test("keys: given and drawn, restricted to actions", async () => {
    await A.post("/admin/accounts", KNOWN_B);
    const given = await A.post("/admin/keys", { Uin: KNOWN_B.Uin, SecretId: "AKIDgivenkey0001", SecretKey: "givensecret0001", Actions: "DescribeFlowLogs" });
    assert.equal(given.SecretId, "AKIDgivenkey0001");
    const c = client(A.server, given);
    assert.equal((await c.DescribeFlowLogs({})).TotalNum, 0);
    await h.expectApiError(c.DescribeVpcs({}), "UnauthorizedOperation");
    const drawn = await A.post("/admin/keys", { Uin: KNOWN_B.Uin });
    assert.match(drawn.SecretId, /^AKID[0-9A-Za-z]{32}$/);
    assert.equal((await client(A.server, drawn).DescribeFlowLogs({})).TotalNum, 0);
    const dup = await A.call("POST", "/admin/keys", { Uin: KNOWN_B.Uin, SecretId: "AKIDgivenkey0001", SecretKey: "x" });
    assert.equal(dup.status, 409);
  });
});

describe("reset", () => {
  test("one account, then everything: old keys refused at once, other accounts untouched, durable", async (t) => {
    const A = await adminServer({ label: "admin-reset", t });
    const fa = h.inventoryFixture({ tag: "aaaa" });
    const fb = h.inventoryFixture({ tag: "bbbb" });
    await A.post("/admin/accounts", KNOWN);
    await A.post("/admin/accounts", KNOWN_B);
    await A.post("/admin/inventory", Object.assign({ Uin: KNOWN.Uin }, fa.inventory));
    await A.post("/admin/inventory", Object.assign({ Uin: KNOWN_B.Uin }, fb.inventory));
    const ca = client(A.server, KNOWN);
    const cb = client(A.server, KNOWN_B);
    await ca.CreateFlowLog(h.eniRequest(fa.ids));
    await cb.CreateFlowLog(h.eniRequest(fb.ids));
    assert.equal((await ca.DescribeFlowLogs({})).TotalNum, 1); // the key is in the credential cache now

    assert.deepEqual(await A.post("/admin/reset", { Uin: KNOWN.Uin }), { Reset: KNOWN.Uin });
    await h.expectApiError(ca.DescribeFlowLogs({}), "AuthFailure.SecretIdNotFound");
    assert.equal((await cb.DescribeFlowLogs({})).TotalNum, 1);

    // the same credentials again: a fresh, empty account
    await A.post("/admin/accounts", KNOWN);
    assert.equal((await ca.DescribeFlowLogs({})).TotalNum, 0);
    assert.equal((await ca.DescribeVpcs({ VpcIds: [fa.ids.vpc] })).TotalCount, 0);

    assert.deepEqual(await A.post("/admin/reset"), { Reset: "all" });
    await h.expectApiError(ca.DescribeFlowLogs({}), "AuthFailure.SecretIdNotFound");
    await h.expectApiError(cb.DescribeFlowLogs({}), "AuthFailure.SecretIdNotFound");

    // durable: still empty after a restart, and the store is sound
    await A.server.stop();
    const again = await h.startServer({ dataDir: A.dataDir, t });
    await h.expectApiError(client(again, KNOWN_B).DescribeFlowLogs({}), "AuthFailure.SecretIdNotFound");
    await again.stop();
    const chk = h.cli(["check", "--data", A.dataDir]);
    assert.equal(chk.status, 0, chk.stdout + chk.stderr);
  });
});

describe("seeded ids", () => {
  /** One run: seed, an account, its inventory, a VPC and a flow log. */
  async function run(t) {
    const A = await adminServer({ label: "admin-seed", t });
    await A.post("/admin/seed", { Seed: 20261207 });
    await A.post("/admin/accounts", KNOWN);
    const fx = h.inventoryFixture({ tag: "aaaa" });
    await A.post("/admin/inventory", Object.assign({ Uin: KNOWN.Uin }, fx.inventory));
    const c = client(A.server, KNOWN);
    const vpc = await c.CreateVpc({ VpcName: "seeded", CidrBlock: "10.9.0.0/16" });
    const sn = await c.CreateSubnet({ VpcId: vpc.Vpc.VpcId, SubnetName: "s", CidrBlock: "10.9.1.0/24", Zone: "ap-guangzhou-3" });
    const eni = await c.CreateNetworkInterface({ VpcId: vpc.Vpc.VpcId, SubnetId: sn.Subnet.SubnetId, NetworkInterfaceName: "e" });
    const fl = await c.CreateFlowLog(h.eniRequest(fx.ids));
    const d = await c.DescribeFlowLogs({});
    await A.server.stop();
    const ni = eni.NetworkInterface;
    return {
      vpc: vpc.Vpc.VpcId,
      subnet: sn.Subnet.SubnetId,
      eni: ni.NetworkInterfaceId,
      ip: ni.PrivateIpAddressSet.map((p) => p.PrivateIpAddress),
      fl: fl.FlowLog[0].FlowLogId,
      rids: [vpc.RequestId, sn.RequestId, eni.RequestId, fl.RequestId, d.RequestId],
    };
  }

  test("two fresh servers seeded alike make the same ids and RequestIds", async (t) => {
    const one = await run(t);
    const two = await run(t);
    assert.match(one.vpc, /^vpc-[0-9a-z]{8}$/);
    assert.match(one.fl, /^fl-[0-9a-z]{8}$/);
    for (const r of one.rids) assert.match(r, h.UUID_RE);
    assert.deepEqual(two, one);
  });

  test("an unseeded server draws its ids", async (t) => {
    const A = await adminServer({ label: "admin-noseed", t });
    await A.post("/admin/accounts", KNOWN);
    const c = client(A.server, KNOWN);
    const a = await c.CreateVpc({ VpcName: "x", CidrBlock: "10.9.0.0/16" });
    await A.post("/admin/reset");
    await A.post("/admin/accounts", KNOWN);
    const b = await c.CreateVpc({ VpcName: "x", CidrBlock: "10.9.0.0/16" });
    assert.notEqual(a.Vpc.VpcId, b.Vpc.VpcId);
  });
});

describe("state export and import", () => {
  test("export, reset, import restores exactly: the document and what the SDK sees", async (t) => {
    const A = await adminServer({ label: "admin-state", t });
    const fa = h.inventoryFixture({ tag: "aaaa" });
    const fb = h.inventoryFixture({ tag: "bbbb", region: "ap-shanghai" });
    await A.post("/admin/accounts", Object.assign({ FlowLogQuota: 7 }, KNOWN));
    await A.post("/admin/accounts", KNOWN_B);
    await A.post("/admin/keys", { Uin: KNOWN.Uin, SecretId: "AKIDrestricted01", SecretKey: "restricted01", Actions: "DescribeFlowLogs,DescribeVpcs" });
    await A.post("/admin/inventory", Object.assign({ Uin: KNOWN.Uin }, fa.inventory));
    await A.post("/admin/inventory", Object.assign({ Uin: KNOWN_B.Uin }, fb.inventory));
    const ca = client(A.server, KNOWN);
    const cb = h.vpcClient({ endpoint: A.server.endpoint, secretId: KNOWN_B.SecretId, secretKey: KNOWN_B.SecretKey, region: "ap-shanghai" });
    // resources made through the API (with their display attributes) and flow logs on them
    const vpc = (await ca.CreateVpc({ VpcName: "made", CidrBlock: "10.20.0.0/16", EnableMulticast: "true" })).Vpc.VpcId;
    const subnet = (await ca.CreateSubnet({ VpcId: vpc, SubnetName: "made-sn", CidrBlock: "10.20.1.0/24", Zone: "ap-guangzhou-3" })).Subnet.SubnetId;
    const tagged = (await ca.CreateFlowLog(h.eniRequest(fa.ids, fa.ids.eni, { FlowLogName: "tagged", Tags: [{ Key: "team", Value: "net" }, { Key: "env", Value: "ci" }] }))).FlowLog[0].FlowLogId;
    await ca.CreateFlowLog(h.eniRequest(fa.ids, null, { ResourceType: "SUBNET", ResourceId: subnet, VpcId: vpc, FlowLogName: "on-made", FlowLogDescription: "d" }));
    await ca.DisableFlowLogs({ FlowLogIds: [tagged] });
    await cb.CreateFlowLog(h.eniRequest(fb.ids, null, { CloudLogId: fb.ids.clsSh }));
    // the cls service's logsets and topics (their logs are not in the document)
    const cls = new (h.sdk().cls.v20201016.Client)({
      credential: { secretId: KNOWN.SecretId, secretKey: KNOWN.SecretKey },
      region: "ap-guangzhou",
      profile: { httpProfile: { endpoint: A.server.endpoint, protocol: "http://" } },
    });
    const logsetId = (await cls.CreateLogset({ LogsetName: "kept", Tags: [{ Key: "team", Value: "net" }] })).LogsetId;
    const topicId = (await cls.CreateTopic({ LogsetId: logsetId, TopicName: "flows", Period: 7, Describes: "d", Tags: [{ Key: "k", Value: "v" }] })).TopicId;
    await ca.CreateFlowLog(h.eniRequest(fa.ids, null, { ResourceType: "VPC", ResourceId: fa.ids.vpc, CloudLogId: topicId, FlowLogName: "to-own-topic" }));
    await cls.ModifyTopic({ TopicId: topicId, Status: false });

    const views = async () => {
      const strip = (o) => JSON.parse(JSON.stringify(o, (k, v) => (k === "RequestId" ? undefined : v)));
      return strip({
        a: await ca.DescribeFlowLogs({ OrderField: "flowLogName" }),
        av: await ca.DescribeVpcs({}),
        as: await ca.DescribeSubnets({}),
        b: await cb.DescribeFlowLogs({}),
        logsets: await cls.DescribeLogsets({}),
        topics: await cls.DescribeTopics({}),
        restricted: await h.vpcClient({ endpoint: A.server.endpoint, secretId: "AKIDrestricted01", secretKey: "restricted01" }).DescribeFlowLogs({}),
      });
    };
    const before = await views();
    assert.equal(before.a.TotalNum, 3);
    assert.equal(before.b.TotalNum, 1);
    assert.equal(before.topics.Topics[0].Status, false);
    const doc = (await A.call("GET", "/admin/state")).json;
    assert.equal(doc.flowlogd_state, 1);
    assert.equal(doc.accounts.length, 2);
    assert.equal(doc.keys.length, 3);
    assert.equal(doc.flowlogs.length, 4);
    assert.deepEqual(doc.cls_logsets.map((l) => [l.id, l.name, l.tags]), [[logsetId, "kept", [["team", "net"]]]]);
    assert.deepEqual(doc.cls_topics.map((x) => [x.id, x.logset_id, x.period, x.status, x.describes]), [[topicId, logsetId, 7, 0, "d"]]);
    assert.ok(doc.resources.some((r) => r.id === vpc && r.attrs.length > 2));
    // a CKafka instance's Kafka bootstrap list (issue 15 §2) goes along
    assert.ok(doc.resources.some((r) => r.kind === "ckafka" && r.brokers === "127.0.0.1:9092,[::1]:9092"));

    // a bad document is refused whole and changes nothing
    const bad = JSON.parse(JSON.stringify(doc));
    bad.flowlogs[0].enable = "yes";
    const refused = await A.call("PUT", "/admin/state", bad);
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.json.Error.Code, "InvalidState");
    assert.equal((await ca.DescribeFlowLogs({})).TotalNum, 3);
    for (const mutate of [
      (d) => (d.cls_topics[0].logset_id = "no-such-logset"), // a topic without its logset
      (d) => (d.cls_topics[0].period = 0),
      (d) => (d.cls_logsets[0].uin = "100000000999"),
      (d) => (d.cls_logsets = {}),
      (d) => (d.keys[0].uin = "100000000999"), // names no account of the document
      (d) => d.accounts.push(d.accounts[0]), // an account twice
      (d) => (d.resources[0].kind = "router"),
      (d) => (d.flowlogs[0].tags = [["only-key"]]),
      (d) => (d.flowlogd_state = 2),
    ]) {
      const b = JSON.parse(JSON.stringify(doc));
      mutate(b);
      const r = await A.call("PUT", "/admin/state", b);
      assert.equal(r.status, 400, `${mutate}: ${r.text}`);
      assert.equal(r.json.Error.Code, "InvalidState");
    }
    assert.deepEqual((await A.call("GET", "/admin/state")).json, doc);

    await A.post("/admin/reset");
    await h.expectApiError(ca.DescribeFlowLogs({}), "AuthFailure.SecretIdNotFound");
    const got = await A.call("PUT", "/admin/state", doc);
    assert.equal(got.status, 200, got.text);
    assert.deepEqual(got.json, { Accounts: 2, Keys: 3, TemporaryKeys: 0, Resources: doc.resources.length, FlowLogs: 4, SkippedTemporaryKeys: 0 });
    assert.deepEqual((await A.call("GET", "/admin/state")).json, doc);
    assert.deepEqual(await views(), before);
    const chk = h.cli(["check", "--data", A.dataDir]);
    assert.equal(chk.status, 0, chk.stdout + chk.stderr);

    // the CLI twins: the same document from the data directory, and into a new one
    await A.server.stop();
    assert.deepEqual(h.cliJson(["state", "export", "--data", A.dataDir]), doc);
    const file = path.join(A.dir, "state.json");
    fs.writeFileSync(file, JSON.stringify(doc));
    const other = path.join(h.tmpDir("admin-state2"), "data");
    h.createAccount(other); // replaced by the import
    const imp = h.cliJson(["state", "import", "--data", other, file]);
    assert.equal(imp.FlowLogs, 4);
    assert.deepEqual(h.cliJson(["state", "export", "--data", other]), doc);
    const s2 = await h.startServer({ dataDir: other, t });
    assert.equal((await client(s2, KNOWN).DescribeFlowLogs({})).TotalNum, 3);
    await s2.stop();
    const badFile = path.join(A.dir, "bad.json");
    fs.writeFileSync(badFile, JSON.stringify(bad));
    const r = h.cli(["state", "import", "--data", other, badFile]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /flow log .*wrong type/);
    assert.deepEqual(h.cliJson(["state", "export", "--data", other]), doc);
  });
});

function clsClientFor(server, a) {
  const c = new (h.sdk().cls.v20201016.Client)({
    credential: { secretId: a.SecretId, secretKey: a.SecretKey },
    region: "ap-guangzhou",
    profile: { httpProfile: { endpoint: server.endpoint, protocol: "http://", reqTimeout: 60 } },
  });
  return new Proxy(c, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function" || !/^[A-Z]/.test(String(prop))) return v;
      return (...args) => h.withRateLimitRetry(() => v.apply(target, args));
    },
  });
}

describe("state export and import: cls logsets and topics", () => {
  test("a logset, a topic (tags, period, closed) and a flow log on it survive export, reset and import (admin API and CLI)", async (t) => {
    const A = await adminServer({ label: "admin-state-cls", t });
    const fa = h.inventoryFixture({ tag: "cccc" });
    await A.post("/admin/accounts", KNOWN);
    await A.post("/admin/accounts", KNOWN_B);
    await A.post("/admin/inventory", Object.assign({ Uin: KNOWN.Uin }, fa.inventory));
    const ca = client(A.server, KNOWN);
    const cls = clsClientFor(A.server, KNOWN);
    const clsB = clsClientFor(A.server, KNOWN_B);
    const ls = (await cls.CreateLogset({ LogsetName: "flows", Tags: [{ Key: "team", Value: "net" }] })).LogsetId;
    const topic = (await cls.CreateTopic({ LogsetId: ls, TopicName: "vpc-flows", Period: 7, Describes: "the flow logs", Tags: [{ Key: "env", Value: "ci" }, { Key: "owner", Value: "me" }] })).TopicId;
    const closed = (await cls.CreateTopic({ LogsetId: ls, TopicName: "closed", Period: 30 })).TopicId;
    await cls.ModifyTopic({ TopicId: closed, Status: false });
    const lsB = (await clsB.CreateLogset({ LogsetName: "b" })).LogsetId;
    await clsB.CreateTopic({ LogsetId: lsB, TopicName: "b-topic" });
    const fl = (await ca.CreateFlowLog(h.eniRequest(fa.ids, fa.ids.eni, { FlowLogName: "to-cls", CloudLogId: topic }))).FlowLog[0].FlowLogId;

    const strip = (o) => JSON.parse(JSON.stringify(o, (k, v) => (k === "RequestId" ? undefined : v)));
    const views = async () =>
      strip({
        logsets: await cls.DescribeLogsets({}),
        topics: await cls.DescribeTopics({}),
        logsetsB: await clsB.DescribeLogsets({}),
        topicsB: await clsB.DescribeTopics({}),
        flowlogs: await ca.DescribeFlowLogs({}),
      });
    const before = await views();
    assert.equal(before.topics.Topics.length, 2);
    assert.equal(before.flowlogs.FlowLog[0].CloudLogId, topic);

    const doc = (await A.call("GET", "/admin/state")).json;
    assert.equal(doc.cls_logsets.length, 2);
    assert.equal(doc.cls_topics.length, 3);
    const dl = doc.cls_logsets.find((x) => x.id === ls);
    assert.deepEqual(dl.tags, [["team", "net"]]);
    assert.equal(dl.uin, KNOWN.Uin);
    const dt = doc.cls_topics.find((x) => x.id === topic);
    assert.equal(dt.logset_id, ls);
    assert.equal(dt.period, 7);
    assert.equal(dt.describes, "the flow logs");
    assert.deepEqual(dt.tags, [["env", "ci"], ["owner", "me"]]);
    assert.equal(doc.cls_topics.find((x) => x.id === closed).status, 0);

    // a bad cls row is refused whole, before anything is changed
    for (const mutate of [
      (d) => (d.cls_topics[0].period = 0),
      (d) => (d.cls_topics[0].tags = [["k"]]),
      (d) => (d.cls_logsets[0].uin = "100000000999"),
      (d) => (d.cls_logsets = {}),
      (d) => delete d.cls_topics[0].name,
    ]) {
      const b = JSON.parse(JSON.stringify(doc));
      mutate(b);
      const r = await A.call("PUT", "/admin/state", b);
      assert.equal(r.status, 400, `${mutate}: ${r.text}`);
      assert.equal(r.json.Error.Code, "InvalidState");
    }
    // a topic whose logset is not in the document: refused, nothing changed
    const orphan = JSON.parse(JSON.stringify(doc));
    orphan.cls_logsets = orphan.cls_logsets.filter((x) => x.id !== ls);
    const ro = await A.call("PUT", "/admin/state", orphan);
    assert.equal(ro.status, 400, ro.text);
    assert.match(ro.json.Error.Message, new RegExp(`topic.*${ls}`));
    assert.deepEqual((await A.call("GET", "/admin/state")).json, doc);

    // a reset of one account removes its cls data only; a reset of everything removes all of it
    await A.post("/admin/reset", { Uin: KNOWN_B.Uin });
    const afterB = (await A.call("GET", "/admin/state")).json;
    assert.ok(afterB.cls_logsets.every((x) => x.uin === KNOWN.Uin) && afterB.cls_logsets.length === 1);
    assert.ok(afterB.cls_topics.every((x) => x.uin === KNOWN.Uin) && afterB.cls_topics.length === 2);
    await A.post("/admin/reset");
    const empty = (await A.call("GET", "/admin/state")).json;
    assert.deepEqual([empty.cls_logsets, empty.cls_topics], [[], []]);

    const got = await A.call("PUT", "/admin/state", doc);
    assert.equal(got.status, 200, got.text);
    assert.deepEqual((await A.call("GET", "/admin/state")).json, doc);
    assert.deepEqual(await views(), before);
    // the topic is live again: the flow log still names it, it takes a new flow log, and can be deleted
    assert.equal((await ca.DescribeFlowLogs({})).FlowLog.find((x) => x.FlowLogId === fl).CloudLogId, topic);
    await ca.DeleteFlowLog({ FlowLogId: fl, VpcId: fa.ids.vpc });
    const fl2 = (await ca.CreateFlowLog(h.eniRequest(fa.ids, fa.ids.eni, { FlowLogName: "to-cls-2", CloudLogId: topic }))).FlowLog[0].FlowLogId;
    await ca.DeleteFlowLog({ FlowLogId: fl2, VpcId: fa.ids.vpc });
    await cls.DeleteTopic({ TopicId: closed });
    await assert.rejects(ca.CreateFlowLog(h.eniRequest(fa.ids, fa.ids.eni, { FlowLogName: "gone", CloudLogId: closed })), (e) => /CloudLogId|ResourceNotFound/.test(`${e.code} ${e.message}`));
    assert.ok(!(await A.call("GET", "/admin/state")).json.resources.some((r) => r.id === closed), "the deleted topic's CloudLogId is gone");

    // the CLI twins
    await A.server.stop();
    const now = h.cliJson(["state", "export", "--data", A.dataDir]);
    assert.equal(now.cls_topics.length, 2);
    const file = path.join(A.dir, "state-cls.json");
    fs.writeFileSync(file, JSON.stringify(doc));
    const other = path.join(h.tmpDir("admin-state-cls2"), "data");
    h.createAccount(other);
    h.cliJson(["state", "import", "--data", other, file]);
    assert.deepEqual(h.cliJson(["state", "export", "--data", other]), doc);
    const s2 = await h.startServer({ dataDir: other, t });
    const t2 = strip(await clsClientFor(s2, KNOWN).DescribeTopics({}));
    assert.deepEqual(t2, before.topics);
    await s2.stop();
  });
});

describe("state import: all or nothing; temporary keys and rate limits carried", () => {
  test("a document the store refuses after the reset leaves the state as it was", async (t) => {
    const A = await adminServer({ label: "admin-state-atomic", t });
    const fa = h.inventoryFixture({ tag: "abcd" });
    await A.post("/admin/accounts", KNOWN);
    await A.post("/admin/inventory", Object.assign({ Uin: KNOWN.Uin }, fa.inventory));
    const ca = client(A.server, KNOWN);
    await ca.CreateFlowLog(h.eniRequest(fa.ids, fa.ids.eni, { FlowLogName: "kept" }));
    const doc = (await A.call("GET", "/admin/state")).json;

    // valid in itself (every check before the reset passes), refused by the
    // store half-way: the second account's key has the first one's SecretId
    const next = JSON.parse(JSON.stringify(doc));
    next.accounts.push({ app_id: 1251000777, uin: "100000000777", flowlog_quota: 100, rate_limit: 0 });
    next.keys.push({ secret_id: "AKIDfresh000000000000000001", secret_key: "fresh", uin: "100000000777", actions: "", token: "", expires: 0 });
    next.keys.push({ secret_id: KNOWN.SecretId, secret_key: "dup", uin: "100000000777", actions: "", token: "", expires: 0 });
    next.flowlogs = [];
    const r = await A.call("PUT", "/admin/state", next);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.Error.Code, "InvalidState");
    assert.match(r.json.Error.Message, /key.*nothing changed: the state before the import is back/);
    assert.deepEqual((await A.call("GET", "/admin/state")).json, doc, "the old state, exactly");
    const d = await ca.DescribeFlowLogs({});
    assert.equal(d.TotalNum, 1);
    assert.equal(d.FlowLog[0].FlowLogName, "kept");
    await h.expectApiError(
      h.vpcClient({ endpoint: A.server.endpoint, secretId: "AKIDfresh000000000000000001", secretKey: "fresh" }).DescribeFlowLogs({}),
      "AuthFailure.SecretIdNotFound"
    );
    await logLine(A.server, /state import refused after the reset; the state before it is back/);
  });

  test("a temporary key and an account's own rate limit survive export, reset and import", async (t) => {
    const A = await adminServer({ label: "admin-state-tmp", t });
    await A.post("/admin/accounts", KNOWN);
    const doc = (await A.call("GET", "/admin/state")).json;
    const token = "T".repeat(32) + "0123456789abcdef0123456789abcdef";
    const expires = Math.floor(Date.now() / 1000) + 3600;
    doc.keys.push({ secret_id: "AKIDtemporary0000000000000001", secret_key: "tmpsecret", uin: KNOWN.Uin, actions: "", token, expires });
    doc.accounts[0].rate_limit = 3;
    const put = await A.call("PUT", "/admin/state", doc);
    assert.equal(put.status, 200, put.text);
    assert.equal(put.json.Keys, 2);
    assert.equal(put.json.TemporaryKeys, 1);
    // exported as imported, and again after a reset and an import of the export
    const out = (await A.call("GET", "/admin/state")).json;
    assert.deepEqual(out, doc);
    await A.post("/admin/reset");
    assert.equal((await A.call("PUT", "/admin/state", out)).status, 200);
    assert.deepEqual((await A.call("GET", "/admin/state")).json, doc);
    // the temporary key works with its token, and not without it
    const tmp = h.vpcClient({ endpoint: A.server.endpoint, secretId: "AKIDtemporary0000000000000001", secretKey: "tmpsecret", token, retryRateLimit: false });
    await tmp.DescribeFlowLogs({});
    await h.expectApiError(
      h.vpcClient({ endpoint: A.server.endpoint, secretId: "AKIDtemporary0000000000000001", secretKey: "tmpsecret" }).DescribeFlowLogs({}),
      "AuthFailure.TokenFailure"
    );
    // the account's limit (3/s), not the server's 20/s
    const c = h.vpcClient({ endpoint: A.server.endpoint, secretId: KNOWN.SecretId, secretKey: KNOWN.SecretKey, retryRateLimit: false });
    const rs = await Promise.allSettled(Array.from({ length: 10 }, () => c.DescribeVpcs({})));
    const ok = rs.filter((x) => x.status === "fulfilled").length;
    assert.ok(ok >= 3 && ok < 10, `${ok} of 10 passed a limit of 3/s`);
    assert.ok(rs.some((x) => x.status === "rejected" && x.reason.code === "RequestLimitExceeded"));
  });
});

describe("serve --init DIR", () => {
  function initDir(files) {
    const d = h.tmpDir("admin-init");
    for (const [name, doc] of Object.entries(files)) fs.writeFileSync(path.join(d, name), JSON.stringify(doc));
    return d;
  }

  test("applies the account and inventory files to an empty store before serving, once", async (t) => {
    const fx = h.inventoryFixture({ tag: "cccc" });
    const dir = initDir({
      "10-ci.account.json": KNOWN,
      "20-other.account.json": { SecretId: KNOWN_B.SecretId, SecretKey: KNOWN_B.SecretKey },
      "ci.inventory.json": Object.assign({ Uin: KNOWN.Uin }, fx.inventory),
      "README.txt": "not applied",
    });
    const dataDir = path.join(h.tmpDir("admin-init-data"), "data");
    const server = await h.startServer({ dataDir, args: ["--init", dir], t });
    // once /readyz says 200 (what a CI job waits on), the files are in
    let ready = 0;
    for (let i = 0; i < 400 && ready !== 200; i++) {
      ready = (await h.send({ port: server.port, method: "GET", path: "/readyz" })).status;
      if (ready !== 200) await h.sleep(25);
    }
    assert.equal(ready, 200);
    const c = client(server, KNOWN);
    assert.equal((await c.DescribeVpcs({ VpcIds: [fx.ids.vpc] })).TotalCount, 1);
    await c.CreateFlowLog(h.eniRequest(fx.ids));
    assert.equal((await client(server, KNOWN_B).DescribeFlowLogs({})).TotalNum, 0);
    await logLine(server, /init: applied .*10-ci\.account\.json/);
    await server.stop();
    // a store with accounts is left alone (the files would now conflict)
    const again = await h.startServer({ dataDir, args: ["--init", dir], t });
    assert.equal((await client(again, KNOWN).DescribeFlowLogs({})).TotalNum, 1);
    await logLine(again, /left it alone/);
    await again.stop();
  });

  test("a bad file stops the start-up, naming the file and the problem", async () => {
    const dir = initDir({ "bad.account.json": { SecretId: "AKIDhalf" } });
    await assert.rejects(
      h.startServer({ dataDir: path.join(h.tmpDir("admin-init-bad"), "data"), args: ["--init", dir] }),
      /bad\.account\.json: SecretId and SecretKey go together/
    );
    const dir2 = initDir({ "x.inventory.json": { Uin: "100000000999", Vpcs: [] } });
    await assert.rejects(
      h.startServer({ dataDir: path.join(h.tmpDir("admin-init-bad2"), "data"), args: ["--init", dir2] }),
      /x\.inventory\.json: no account with Uin 100000000999/
    );
  });
});

describe("the CLI twins", () => {
  test("account create --secret-id/--secret-key/--uin/--app-id, reset --uin, reset", async (t) => {
    const dataDir = path.join(h.tmpDir("admin-cli"), "data");
    const a = h.cliJson(["account", "create", "--data", dataDir, "--secret-id", KNOWN.SecretId, "--secret-key", KNOWN.SecretKey, "--uin", KNOWN.Uin, "--app-id", String(KNOWN.AppId)]);
    assert.deepEqual(a, { AppId: KNOWN.AppId, Uin: KNOWN.Uin, SecretId: KNOWN.SecretId, SecretKey: KNOWN.SecretKey });
    const dup = h.cli(["account", "create", "--data", dataDir, "--secret-id", KNOWN.SecretId, "--secret-key", "x"]);
    assert.equal(dup.status, 1);
    assert.match(dup.stderr, /SecretId .* exists/);
    const half = h.cli(["account", "create", "--data", dataDir, "--secret-id", "AKIDx"]);
    assert.equal(half.status, 2);
    const b = h.createAccount(dataDir);
    const server = await h.startServer({ dataDir, t });
    assert.equal((await client(server, KNOWN).DescribeFlowLogs({})).TotalNum, 0);
    await server.stop();

    let r = h.cli(["reset", "--data", dataDir, "--uin", KNOWN.Uin]);
    assert.equal(r.status, 0, r.stderr);
    r = h.cli(["reset", "--data", dataDir, "--uin", KNOWN.Uin]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no account with Uin/);
    const s2 = await h.startServer({ dataDir, t });
    await h.expectApiError(client(s2, KNOWN).DescribeFlowLogs({}), "AuthFailure.SecretIdNotFound");
    assert.equal((await client(s2, b).DescribeFlowLogs({})).TotalNum, 0);
    await s2.stop();
    r = h.cli(["reset", "--data", dataDir]);
    assert.equal(r.status, 0, r.stderr);
    const s3 = await h.startServer({ dataDir, t });
    await h.expectApiError(client(s3, b).DescribeFlowLogs({}), "AuthFailure.SecretIdNotFound");
    await s3.stop();
  });

  test("backup while serving: the file opens with sqlite3 and passes flowlogd check", { skip: h.TEST_STORE ? "SQLite only (PostgreSQL: pg_dump)" : false }, async (t) => {
    const A = await adminServer({ label: "admin-backup", t });
    await A.post("/admin/accounts", KNOWN);
    const fx = h.inventoryFixture({ tag: "dddd", extraEnis: 40 });
    await A.post("/admin/inventory", Object.assign({ Uin: KNOWN.Uin }, fx.inventory));
    const c = client(A.server, KNOWN);
    // writes go on while the backup runs
    let writing = true;
    let created = 0;
    const writer = (async () => {
      for (const eni of fx.ids.extraEnis) {
        if (!writing) break;
        await c.CreateFlowLog(h.eniRequest(fx.ids, eni, { FlowLogName: `b-${created}` }));
        created++;
      }
    })();
    while (created < 5) await h.sleep(10);
    const out = path.join(A.dir, "backup.db");
    const r = h.cli(["backup", "--data", A.dataDir, "--to", out], { sqlite: true });
    writing = false;
    await writer;
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.statSync(out).mode & 0o777, 0o600);
    const q = spawnSync("sqlite3", [out, "PRAGMA integrity_check; SELECT count(*) FROM flowlogs; SELECT secret_key FROM keys WHERE secret_id = '" + KNOWN.SecretId + "';"], { encoding: "utf8" });
    assert.equal(q.status, 0, q.stderr);
    const [integrity, count, key] = q.stdout.trim().split("\n");
    assert.equal(integrity, "ok");
    assert.ok(Number(count) >= 5 && Number(count) <= created, `${count} of ${created}`);
    assert.equal(key, KNOWN.SecretKey);
    // served from a directory of its own, it is the store as it was
    const dir = path.join(h.tmpDir("admin-restore"), "data");
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.copyFileSync(out, path.join(dir, "flowlogd.db"));
    const chk = h.cli(["check", "--data", dir], { sqlite: true });
    assert.equal(chk.status, 0, chk.stdout + chk.stderr);
    assert.equal(chk.stdout.trim(), "ok");
    const s2 = await h.startServer({ dataDir: dir, t, sqlite: true });
    assert.equal((await client(s2, KNOWN).DescribeFlowLogs({})).TotalNum, Number(count));
    await s2.stop();
    // a bad source: an error, no file
    const bad = h.cli(["backup", "--data", path.join(A.dir, "nothing"), "--to", path.join(A.dir, "x.db")], { sqlite: true });
    assert.equal(bad.status, 1);
    assert.ok(!fs.existsSync(path.join(A.dir, "x.db")));
  });
});

describe("a flow log's record format (admin)", () => {
  test("set through the admin API and the CLI, read back, kept by the state export, refused when wrong", async (t) => {
    const A = await adminServer({ label: "admin-format", t });
    const f = h.inventoryFixture({ tag: "cccc" });
    await A.post("/admin/accounts", KNOWN);
    await A.post("/admin/inventory", Object.assign({ Uin: KNOWN.Uin }, f.inventory));
    const c = client(A.server, KNOWN);
    const id = (await c.CreateFlowLog(h.eniRequest(f.ids, f.ids.eni))).FlowLog[0].FlowLogId;
    const cli = (...args) => h.cli(["flowlog", "format", "--data", A.dataDir, "--uin", KNOWN.Uin, id, ...args]);
    let r = cli();
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { FlowLogId: id, Format: "default", Version: 2 });
    // AWS-style fields, written ${name}, commas or spaces: stored canonical
    const set = await A.post("/admin/flowlog-format", { Uin: KNOWN.Uin, FlowLogId: id,
      Format: "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status},tcp-flags,flow-direction,pkt-srcaddr,pkt-dstaddr,type,vpc-id,subnet-id,instance-id,region" });
    const canon = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags flow-direction pkt-srcaddr pkt-dstaddr type vpc-id subnet-id instance-id region";
    assert.deepEqual(set, { FlowLogId: id, Format: canon, Version: 5 });
    r = cli();
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { FlowLogId: id, Format: canon, Version: 5 });
    // not on the wire: DescribeFlowLog answers Tencent's structure as before
    const d = await c.DescribeFlowLog({ VpcId: f.ids.vpc, FlowLogId: id });
    assert.equal(JSON.stringify(d).includes("record"), false);
    // the state export carries it, and an import brings it back
    const doc = (await A.call("GET", "/admin/state")).json;
    assert.equal(doc.flowlogs.find((x) => x.id === id).record_format, canon);
    const back = await A.call("PUT", "/admin/state", doc);
    assert.equal(back.status, 200, back.text);
    assert.deepEqual(JSON.parse(cli().stdout).Format, canon);
    // refusals: an unknown field, another account's or no flow log, unknown members
    let bad = await A.call("POST", "/admin/flowlog-format", { Uin: KNOWN.Uin, FlowLogId: id, Format: "version bogus" });
    assert.equal(bad.status, 400, bad.text);
    assert.match(bad.json.Error.Message, /unknown record field 'bogus'/);
    bad = await A.call("POST", "/admin/flowlog-format", { Uin: KNOWN.Uin, FlowLogId: "fl-00000000", Format: "default" });
    assert.equal(bad.status, 404, bad.text);
    bad = await A.call("POST", "/admin/flowlog-format", { Uin: KNOWN.Uin, FlowLogId: id, Fields: "x" });
    assert.equal(bad.status, 400, bad.text);
    r = cli("version,nope");
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /unknown record field 'nope'/);
    // and back to Tencent's line
    r = cli("default");
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { FlowLogId: id, Format: "default", Version: 2 });
  });
});
