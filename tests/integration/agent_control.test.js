// agent_control.test.js: the data plane's control plane without a kernel:
// host bindings (inventory file, `inventory bind`, the admin API), agent keys
// (CLI and admin API), and POST /agent/v1/assignments: what it tells each host
// (its own resources only, enabled flow logs only, the coverage rules), and
// what it refuses (bad signatures, tenants' keys, a key of another host, a
// stale timestamp). The live counterpart (real capture) is tests/live/agent.test.js.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const h = require("./harness.js");

const PATH = "/agent/v1/assignments";
const SERVICE = "flowlogd-agent";

/** POSTs {"Host": host} signed with `key` (TC3, scope service `service`). */
async function assignments(port, key, host, { service = SERVICE, timestamp, body, method = "POST" } = {}) {
  const payload = body !== undefined ? body : JSON.stringify({ Host: host });
  const ts = timestamp || Math.floor(Date.now() / 1000);
  const headers = { "content-type": "application/json", host: `127.0.0.1:${port}` };
  const { authorization } = h.tc3Sign({ secretId: key.SecretId, secretKey: key.SecretKey, method, headers,
    payload: method === "POST" ? payload : "", timestamp: ts, service });
  const r = await h.send({ port, method, path: PATH, body: method === "POST" ? payload : undefined,
    headers: { "Content-Type": "application/json", Host: `127.0.0.1:${port}`, "X-TC-Timestamp": String(ts),
      Authorization: authorization } });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json && r.json.Response, r.text);
  assert.match(r.json.Response.RequestId, h.UUID_RE);
  return r.json.Response;
}

const errCode = (resp) => resp.Error && resp.Error.Code;

test("the control plane tells each host what it watches, and refuses what it should", async (t) => {
  const dataDir = h.tmpDir("agentctl");
  const tokenDir = h.tmpDir("agentctl-token");
  const tokenFile = path.join(tokenDir, "token");
  fs.writeFileSync(tokenFile, "admin-token-for-agent-test\n", { mode: 0o600 });
  const a = h.createAccount(dataDir);
  const b = h.createAccount(dataDir);
  const fx = h.inventoryFixture({ tag: "aaaa" });
  const fxb = h.inventoryFixture({ tag: "bbbb" });
  // tenant a: eni 1 (vpc 1, subnet 1) on hx; eni 4 (vpc 2) on hx; nat 1 on hx
  const eni = (inv, id, host, dev, ns) => {
    const e = inv.NetworkInterfaces.find((x) => x.NetworkInterfaceId === id);
    Object.assign(e, { Host: host, HostDevice: dev }, ns ? { HostNetns: ns } : {});
  };
  eni(fx.inventory, fx.ids.eni, "hx", "vx1", "nsx");
  eni(fx.inventory, fx.ids.eniVpc2, "hx", "vx4");
  Object.assign(fx.inventory.NatGateways.find((n) => n.NatGatewayId === fx.ids.natV2), { Host: "hx", HostDevice: "natx" });
  h.importInventory(dataDir, a.Uin, fx.inventory);
  eni(fxb.inventory, fxb.ids.eni, "hx", "vbx1");
  h.importInventory(dataDir, b.Uin, fxb.inventory);

  // bad bindings are refused whole
  const bad = JSON.parse(JSON.stringify(fx.inventory));
  bad.NetworkInterfaces[1].HostDevice = "no/slash";
  const rb = h.importInventoryRaw(dataDir, a.Uin, bad);
  assert.notEqual(rb.status, 0);
  assert.match(rb.stderr, /HostDevice/);
  const bad2 = JSON.parse(JSON.stringify(fx.inventory));
  bad2.NetworkInterfaces[1].Host = "hz";
  delete bad2.NetworkInterfaces[1].HostDevice;
  assert.match(h.importInventoryRaw(dataDir, a.Uin, bad2).stderr, /need a HostDevice/);

  // the CLI binds the unattached eni 2 to hy
  const bind = h.cli(["inventory", "bind", "--data", dataDir, "--uin", a.Uin, fx.ids.eniUnattached, "--host", "hy", "--device", "vy2"]);
  assert.equal(bind.status, 0, bind.stderr);
  assert.equal(bind.json.HostDevice, "vy2");
  const nf = h.cli(["inventory", "bind", "--data", dataDir, "--uin", b.Uin, fx.ids.eniUnattached, "--host", "hy", "--device", "x"]);
  assert.equal(nf.status, 1);
  assert.match(nf.stderr, /has no ENI/);

  const anyKey = h.cliJson(["agent-key", "create", "--data", dataDir]);
  const hxKey = h.cliJson(["agent-key", "create", "--data", dataDir, "--host", "hx"]);
  assert.match(anyKey.SecretId, /^AKAG/);
  assert.equal(hxKey.Host, "hx");
  const listed = h.cliJson(["agent-key", "list", "--data", dataDir]).AgentKeys;
  assert.equal(listed.length, 2);
  assert.ok(listed.every((k) => k.SecretKey === undefined), "list shows no secret");

  const adminPort = await h.freePort();
  const server = await h.startServer({ dataDir, t, args: ["--admin-token-file", tokenFile, "--admin-listen", `127.0.0.1:${adminPort}`] });
  for (let i = 0; i < 50 && !/admin listening/.test(server.logs().join("\n")); i++) await h.sleep(100);
  const admin = (method, p, body) => h.send({ port: adminPort, method, path: p, body: body && JSON.stringify(body),
    headers: { Authorization: "Bearer admin-token-for-agent-test", "Content-Type": "application/json" } });
  const ca = a.client ? a.client() : h.vpcClient({ endpoint: server.endpoint, secretId: a.SecretId, secretKey: a.SecretKey });
  const cb = h.vpcClient({ endpoint: server.endpoint, secretId: b.SecretId, secretKey: b.SecretKey });
  const mk = async (c, ids, name, ResourceType, ResourceId, VpcId, TrafficType = "ALL") =>
    (await c.CreateFlowLog({ FlowLogName: name, VpcId, ResourceType, ResourceId, TrafficType, CloudLogId: ids.clsGz }))
      .FlowLog[0].FlowLogId;
  const flVpc = await mk(ca, fx.ids, "vpc1", "VPC", fx.ids.vpc, fx.ids.vpc);
  const flSub = await mk(ca, fx.ids, "sub1", "SUBNET", fx.ids.subnet, fx.ids.vpc, "REJECT");
  const flEni4 = await mk(ca, fx.ids, "eni4", "NETWORKINTERFACE", fx.ids.eniVpc2, fx.ids.vpc2);
  const flNat = await mk(ca, fx.ids, "nat", "NAT", fx.ids.natV2, fx.ids.vpc);
  const flOther = await mk(ca, fx.ids, "dcg", "DCG", fx.ids.dcg, fx.ids.vpc); // bound nowhere
  const flB = await mk(cb, fxb.ids, "b", "VPC", fxb.ids.vpc, fxb.ids.vpc);

  const port = server.port;
  const x = await assignments(port, anyKey, "hx");
  assert.equal(x.Host, "hx");
  assert.match(x.Generation, /^[0-9a-f]{64}$/);
  const devs = Object.fromEntries(x.Devices.map((d) => [d.ResourceId, d]));
  assert.deepEqual(Object.keys(devs).sort(), [fx.ids.eni, fx.ids.eniVpc2, fx.ids.natV2, fxb.ids.eni].sort());
  assert.deepEqual([devs[fx.ids.eni].Device, devs[fx.ids.eni].Netns, devs[fx.ids.eni].Kind], ["vx1", "nsx", "eni"]);
  assert.equal(devs[fx.ids.natV2].Kind, "nat");
  const fls = Object.fromEntries(x.FlowLogs.map((f) => [f.FlowLogId, f]));
  assert.deepEqual(Object.keys(fls).sort(), [flVpc, flSub, flEni4, flNat, flB].sort(), "the DCG is bound nowhere");
  assert.ok(!fls[flOther]);
  assert.deepEqual(fls[flVpc].Resources, [fx.ids.eni], "the VPC's flow log covers its ENIs of this host, not the NAT");
  assert.deepEqual(fls[flSub].Resources, [fx.ids.eni]);
  assert.equal(fls[flSub].TrafficType, "REJECT");
  assert.deepEqual(fls[flEni4].Resources, [fx.ids.eniVpc2]);
  assert.deepEqual(fls[flNat].Resources, [fx.ids.natV2]);
  assert.deepEqual(fls[flB].Resources, [fxb.ids.eni]);
  assert.equal(fls[flVpc].AppId, String(a.AppId));
  assert.equal(fls[flB].AppId, String(b.AppId));
  assert.equal(fls[flVpc].CloudLogId, fx.ids.clsGz);
  assert.equal(fls[flVpc].Format, "default");
  assert.match(fls[flVpc].Fields, /^version account-id interface-id .* log-status$/);

  // hy: eni 2 only, covered by the VPC's and subnet 1's flow logs
  const y = await assignments(port, anyKey, "hy");
  assert.deepEqual(y.Devices.map((d) => d.ResourceId), [fx.ids.eniUnattached]);
  assert.deepEqual(y.FlowLogs.map((f) => f.FlowLogId).sort(), [flVpc, flSub].sort());
  assert.ok(y.FlowLogs.every((f) => f.Resources.join() === fx.ids.eniUnattached));
  assert.ok(!y.FlowLogs.some((f) => f.FlowLogId === flB), "another tenant's flow log is not hy's");
  const none = await assignments(port, anyKey, "nowhere");
  assert.deepEqual([none.Devices, none.FlowLogs], [[], []]);

  // disabling a flow log takes it (and a device only it needed) out; the generation changes
  await ca.DisableFlowLogs({ FlowLogIds: [flEni4] });
  const x2 = await assignments(port, anyKey, "hx");
  assert.notEqual(x2.Generation, x.Generation);
  assert.ok(!x2.FlowLogs.some((f) => f.FlowLogId === flEni4));
  assert.ok(!x2.Devices.some((d) => d.ResourceId === fx.ids.eniVpc2), "a device no enabled flow log needs is not watched");
  assert.equal((await assignments(port, anyKey, "hx")).Generation, x2.Generation, "nothing changed, same generation");

  // the admin API binds too: eni 4 moves to hy
  const ab = await admin("POST", "/admin/inventory/bind", { Uin: a.Uin, ResourceId: fx.ids.eniVpc2, Host: "hy", HostDevice: "vy4" });
  assert.equal(ab.status, 200, ab.text);
  await ca.EnableFlowLogs({ FlowLogIds: [flEni4] });
  assert.ok((await assignments(port, anyKey, "hy")).Devices.some((d) => d.ResourceId === fx.ids.eniVpc2));
  assert.equal((await admin("POST", "/admin/inventory/bind", { Uin: a.Uin, ResourceId: "eni-zzzz9999", HostDevice: "q" })).status, 404);
  assert.equal((await admin("POST", "/admin/inventory/bind", { Uin: a.Uin, ResourceId: fx.ids.vpc, HostDevice: "q" })).status, 404);
  assert.equal((await admin("POST", "/admin/inventory/bind", { Uin: a.Uin, ResourceId: fx.ids.eni, HostDevice: "way-too-long-device" })).status, 400);

  // refusals
  assert.equal(errCode(await assignments(port, hxKey, "hy")), "UnauthorizedOperation", "a key for hx asks for hy");
  assert.equal((await assignments(port, hxKey, "hx")).Host, "hx");
  assert.equal(errCode(await assignments(port, { SecretId: a.SecretId, SecretKey: a.SecretKey }, "hx")),
    "AuthFailure.SecretIdNotFound", "a tenant's key is no agent key");
  assert.equal(errCode(await assignments(port, { SecretId: anyKey.SecretId, SecretKey: "wrong" }, "hx")),
    "AuthFailure.SignatureFailure");
  assert.equal(errCode(await assignments(port, anyKey, "hx", { service: "vpc" })), "AuthFailure.SignatureFailure");
  assert.equal(errCode(await assignments(port, anyKey, "hx", { timestamp: Math.floor(Date.now() / 1000) - 3600 })),
    "AuthFailure.SignatureExpire");
  assert.equal(errCode(await assignments(port, anyKey, "hx", { body: "{}" })), "MissingParameter");
  assert.equal(errCode(await assignments(port, anyKey, "hx", { body: "not json" })), "MissingParameter");
  assert.equal(errCode(await assignments(port, anyKey, "hx", { method: "GET" })), "UnsupportedOperation");
  const unsigned = await h.send({ port, method: "POST", path: PATH, body: "{}", headers: { "Content-Type": "application/json" } });
  assert.equal(unsigned.json.Response.Error.Code, "AuthFailure.InvalidAuthorization");
  // an agent key calls no API action
  await h.expectApiError(h.vpcClient({ endpoint: server.endpoint, secretId: anyKey.SecretId, secretKey: anyKey.SecretKey })
    .DescribeFlowLogs({}), "AuthFailure.SecretIdNotFound");

  // agent keys over the admin API; a deleted key is refused at once
  const made = await admin("POST", "/admin/agent-keys", { Host: "hq" });
  assert.equal(made.status, 200, made.text);
  assert.equal(made.json.Host, "hq");
  const list = await admin("GET", "/admin/agent-keys");
  assert.equal(list.json.AgentKeys.length, 3);
  assert.equal((await admin("POST", "/admin/agent-keys/delete", { SecretId: hxKey.SecretId })).status, 200);
  assert.equal((await admin("POST", "/admin/agent-keys/delete", { SecretId: hxKey.SecretId })).status, 404);
  assert.equal(errCode(await assignments(port, hxKey, "hx")), "AuthFailure.SecretIdNotFound");

  // the state export carries the bindings, and an import brings them back
  const st = await admin("GET", "/admin/state");
  const bound = st.json.resources.filter((r) => r.host_device);
  assert.ok(bound.some((r) => r.id === fx.ids.eni && r.host === "hx" && r.host_device === "vx1" && r.host_netns === "nsx"));
  assert.ok(bound.some((r) => r.id === fx.ids.eniVpc2 && r.host === "hy"));
  const before = await assignments(port, anyKey, "hx");
  const imp = await admin("PUT", "/admin/state", st.json);
  assert.equal(imp.status, 200, imp.text);
  const again = await assignments(port, anyKey, "hx");
  assert.deepEqual(again.Devices, before.Devices);
  assert.deepEqual(again.FlowLogs.map((f) => f.FlowLogId).sort(), before.FlowLogs.map((f) => f.FlowLogId).sort());
});

// Agent keys are no tenant's: `reset` keeps them (an agent goes on being
// recognized across a reset of the tenants' state); `state export` carries
// them, secret included, and `state import` makes them the store's (an older
// document without `agent_keys` leaves them as they are).
test("agent keys: kept by reset, carried by state export and import", async () => {
  const dataDir = h.tmpDir("agentkeys");
  h.createAccount(dataDir);
  const k1 = h.cliJson(["agent-key", "create", "--data", dataDir, "--host", "hx"]);
  const k2 = h.cliJson(["agent-key", "create", "--data", dataDir]);
  const listed = () => h.cliJson(["agent-key", "list", "--data", dataDir]).AgentKeys.map((k) => k.SecretId).sort();
  assert.deepEqual(listed(), [k1.SecretId, k2.SecretId].sort());

  const doc = h.cliJson(["state", "export", "--data", dataDir]);
  assert.deepEqual(doc.agent_keys.map((k) => [k.secret_id, k.secret_key, k.host]).sort(),
    [[k1.SecretId, k1.SecretKey, "hx"], [k2.SecretId, k2.SecretKey, ""]].sort());
  assert.ok(doc.agent_keys.every((k) => Number.isInteger(k.created_at) && k.created_at > 0));

  // reset (everything) keeps the agent keys
  const r = h.cli(["reset", "--data", dataDir]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(listed(), [k1.SecretId, k2.SecretId].sort());

  // into a fresh data directory: the same keys, and the control plane takes them
  const other = h.tmpDir("agentkeys-other");
  const file = path.join(h.tmpDir("agentkeys-doc"), "state.json");
  fs.writeFileSync(file, JSON.stringify(doc));
  const imp = h.cliJson(["state", "import", "--data", other, file]);
  assert.equal(imp.AgentKeys, 2);
  assert.deepEqual(h.cliJson(["state", "export", "--data", other]), doc);
  const server = await h.startServer({ dataDir: other });
  try {
    assert.equal((await assignments(server.port, k1, "hx")).Host, "hx");
    assert.equal(errCode(await assignments(server.port, k1, "hy")), "UnauthorizedOperation", "its host came along");
  } finally {
    await server.stop();
  }

  // a document with one agent key: the other is gone; one without agent_keys: kept as is
  const one = { ...doc, agent_keys: doc.agent_keys.filter((k) => k.secret_id === k1.SecretId) };
  fs.writeFileSync(file, JSON.stringify(one));
  assert.equal(h.cliJson(["state", "import", "--data", dataDir, file]).AgentKeys, 1);
  assert.deepEqual(listed(), [k1.SecretId]);
  const old = { ...doc };
  delete old.agent_keys;
  fs.writeFileSync(file, JSON.stringify(old));
  assert.equal(h.cliJson(["state", "import", "--data", dataDir, file]).AgentKeys, 0);
  assert.deepEqual(listed(), [k1.SecretId]);

  // a bad agent key refuses the whole document, nothing changed
  for (const bad of [{ secret_id: "", secret_key: "x", host: "", created_at: 1 }, "nope",
    { secret_id: "AKAGx", secret_key: "x", host: "h".repeat(64), created_at: 1 }]) {
    fs.writeFileSync(file, JSON.stringify({ ...doc, agent_keys: [bad] }));
    const rb = h.cli(["state", "import", "--data", dataDir, file]);
    assert.notEqual(rb.status, 0);
    assert.match(rb.stdout + rb.stderr, /InvalidState|agent key/);
  }
  fs.writeFileSync(file, JSON.stringify({ ...doc, agent_keys: [doc.agent_keys[0], doc.agent_keys[0]] }));
  assert.match(h.cli(["state", "import", "--data", dataDir, file]).stderr + "", /twice/);
  assert.deepEqual(listed(), [k1.SecretId]);
});
