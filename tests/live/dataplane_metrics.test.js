// dataplane_metrics.test.js: the data plane's metrics on the admin listener
// (issue 17 §4), on real traffic inside network namespaces this test makes:
//
//   vm1 (eni-1) --+-- host ns (forwarding; nftables drops UDP to port 6000)
//   vm2 (eni-2) --+
//
// `serve --capture` with the admin listener; a flow log on eni-1 (captured)
// and one on eni-3 (bound to this host, but its device does not exist: its
// records say SKIPDATA). Known UDP traffic is sent and the counters must move by
// exactly that: packets and bytes by action, REJECT records, SKIPDATA
// records, windows, the files sink's deliveries and the newest delivered
// window; every scrape passes `promtool check metrics`.
//
// The same on a standalone `flowlogd agent --metrics-listen` (its own
// listener, behind a token), with a server as its control plane and its CLS
// service as a delivery sink (`--cls-endpoint`): the cls sink's windows,
// records and newest window move too. And with a CLS endpoint that refuses:
// the cls sink's failures, and its spool (the windows in the files past its
// cursor) growing.
//
// Needs root (CAP_BPF, CAP_NET_ADMIN), `ip`, `nft`, python3 and promtool:
// otherwise the test reports itself skipped with the reason, and with
// CI=true that fails.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { spawn, spawnSync } = require("node:child_process");
const h = require("../integration/harness.js");

const BIN = h.BIN;
const TRAFFIC = path.join(__dirname, "traffic.py");
const { sh, ip, inNs, sleep, children, startSink, until } = require("./lib.js");
const PROMTOOL = "/usr/bin/promtool";
const P = `dm${process.pid % 100000}`; // prefix of every name we make (ifnames <= 15)
const NS = { host: `${P}h`, vm1: `${P}v1`, vm2: `${P}v2` };
const DEV = { vm1: `${P}e1`, vm2: `${P}e2` };
const A = { vm1: "10.97.1.2", vm2: "10.97.2.2" };
const WINDOW = 2;
const TOKEN = "dataplane-metrics-" + "z".repeat(24);

function whyNot() {
  if (process.getuid && process.getuid() !== 0) return "needs root (CAP_BPF, CAP_NET_ADMIN)";
  for (const [cmd, args] of [["ip", ["-V"]], ["nft", ["--version"]], ["python3", ["-V"]]]) {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    if (r.error || r.status !== 0) return `needs ${cmd} (${r.error ? r.error.code : r.stderr.trim()})`;
  }
  if (!fs.existsSync(PROMTOOL)) return `needs ${PROMTOOL} (apt-get install prometheus)`;
  if (!fs.existsSync(BIN)) return `no flowlogd binary at ${BIN}`;
  const r = spawnSync("ip", ["netns", "add", `${P}probe`], { encoding: "utf8" });
  if (r.status !== 0) return `cannot make a network namespace: ${r.stderr.trim()}`;
  spawnSync("ip", ["netns", "del", `${P}probe`]);
  return null;
}
const skipReason = whyNot();


function teardown() {
  for (const ns of Object.values(NS)) spawnSync("ip", ["netns", "del", ns]);
}

function setupNet() {
  teardown();
  for (const ns of Object.values(NS)) {
    ip("netns", "add", ns);
    ip("-n", ns, "link", "set", "lo", "up");
    inNs(ns, "sysctl", ["-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]);
  }
  for (const [k, n] of [["vm1", 1], ["vm2", 2]]) {
    ip("link", "add", DEV[k], "netns", NS.host, "type", "veth", "peer", "name", "eth0", "netns", NS[k]);
    ip("-n", NS.host, "addr", "add", `10.97.${n}.1/24`, "dev", DEV[k]);
    ip("-n", NS[k], "addr", "add", `${A[k]}/24`, "dev", "eth0");
    ip("-n", NS.host, "link", "set", DEV[k], "up");
    ip("-n", NS[k], "link", "set", "eth0", "up");
    ip("-n", NS[k], "route", "add", "default", "via", `10.97.${n}.1`);
  }
  inNs(NS.host, "sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
  sh("ip", ["netns", "exec", NS.host, "nft", "-f", "-"], {
    input: `table inet ${P}sg {\n chain fw {\n  type filter hook forward priority filter; policy accept;\n  udp dport 6000 drop\n }\n}\n`,
  });
}



function udp(vm, sport, dst, dport, count, size) {
  inNs(NS[vm], "python3", [TRAFFIC, "udp", A[vm], String(sport), dst, String(dport), String(count), String(size)]);
}

/** Parses the exposition into {"name{labels}": value}. */
function parse(text) {
  const m = {};
  for (const l of text.split("\n")) {
    if (!l || l.startsWith("#")) continue;
    const i = l.lastIndexOf(" ");
    m[l.slice(0, i)] = Number(l.slice(i + 1));
  }
  return m;
}

async function adminPort(server) {
  for (let i = 0; i < 200; i++) {
    for (const l of server.logs()) {
      const m = /^admin listening on [^ ]*:(\d+)$/.exec(l);
      if (m) return Number(m[1]);
    }
    await sleep(25);
  }
  throw new Error("no admin listening line:\n" + server.logs().join("\n"));
}


test.after(() => {
  for (const c of children) c.kill("SIGKILL");
  if (!skipReason) teardown();
});

/** GET /metrics at `port` with the token, checked by promtool; parsed. */
async function scrapeAt(port) {
  const r = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  assert.equal(r.status, 200);
  const text = await r.text();
  const p = spawnSync(PROMTOOL, ["check", "metrics"], { input: text, encoding: "utf8" });
  assert.equal(p.status, 0, `promtool check metrics: ${p.stdout}${p.stderr}\n${text}`);
  return parse(text);
}

function tokenFileFor(t, dataDir) {
  const f = path.join(dataDir, "..", `${path.basename(dataDir)}.token`);
  fs.writeFileSync(f, TOKEN + "\n", { mode: 0o600 });
  t.after(() => fs.rmSync(f, { force: true }));
  return f;
}

/** eni-1 and eni-2 bound to their veths on `host`; eni-3 bound to a device
 * that does not exist (nothing of it is seen: SKIPDATA). */
function inventoryFor(host) {
  const id = (p, n) => `${p}-eeee${String(n).padStart(4, "0")}`;
  const ids = { vpc: id("vpc", 1), sub: id("subnet", 1), ins: id("ins", 1), eni1: id("eni", 1), eni2: id("eni", 2), eni3: id("eni", 3),
    cls: "eeeeeeee-0000-4000-8000-000000000001" };
  const inv = {
    Vpcs: [{ VpcId: ids.vpc, CidrBlock: "10.97.0.0/16" }],
    Subnets: [{ SubnetId: ids.sub, VpcId: ids.vpc, CidrBlock: "10.97.0.0/16" }],
    Instances: [{ InstanceId: ids.ins }],
    NetworkInterfaces: [
      { NetworkInterfaceId: ids.eni1, VpcId: ids.vpc, SubnetId: ids.sub, InstanceId: ids.ins, Host: host, HostDevice: DEV.vm1, HostNetns: NS.host },
      { NetworkInterfaceId: ids.eni2, VpcId: ids.vpc, SubnetId: ids.sub, InstanceId: ids.ins, Host: host, HostDevice: DEV.vm2, HostNetns: NS.host },
      { NetworkInterfaceId: ids.eni3, VpcId: ids.vpc, SubnetId: ids.sub, InstanceId: ids.ins, Host: host, HostDevice: `${P}e3`, HostNetns: NS.host },
    ],
    ClsTopics: [{ TopicId: ids.cls }],
  };
  return { ids, inv };
}

/** Flow logs on eni-1 and eni-3, known traffic, and the counters' moves. */
async function trafficMovesCounters(scrape, c, ids, sinks = ["files"]) {
  for (const [name, eni] of [["eni1", ids.eni1], ["eni3-nodevice", ids.eni3]])
    await c.CreateFlowLog({ FlowLogName: name, VpcId: ids.vpc, ResourceType: "NETWORKINTERFACE", ResourceId: eni, TrafficType: "ALL", CloudLogId: ids.cls });
  await startSink(NS.vm2, A.vm2);
  // the first windows of both flow logs delivered to the files sink
  const before = await until("the first deliveries", async () => {
    const m = await scrape();
    return sinks.every((k) => m[`flowlogd_sink_windows_total{sink="${k}",result="ok"}`] >= 4) ? m : null;
  });
  assert.ok(before['flowlogd_dataplane_records_total{action="-",log_status="SKIPDATA"}'] >= 1, "eni-3's SKIPDATA");
  assert.ok(before.flowlogd_dataplane_table_capacity_flows > 0);

  udp("vm1", 4000, A.vm2, 5000, 20, 100); // accepted: 20 x 128 IP bytes
  udp("vm1", 4001, A.vm2, 6000, 7, 50); // dropped by the host's firewall: 7 x 78
  // every window the traffic fell in is drained and delivered
  const sentAt = Math.floor(Date.now() / 1000);
  const after = await until("the traffic's windows delivered", async () => {
    const m = await scrape();
    return sinks.every((k) => m[`flowlogd_sink_last_delivered_window_end_seconds{sink="${k}"}`] >= sentAt + WINDOW) ? m : null;
  });
  const d = (k) => after[k] - before[k];
  assert.equal(d('flowlogd_dataplane_packets_total{action="ACCEPT"}'), 20);
  assert.equal(d('flowlogd_dataplane_bytes_total{action="ACCEPT"}'), 2560);
  assert.equal(d('flowlogd_dataplane_packets_total{action="REJECT"}'), 7);
  assert.equal(d('flowlogd_dataplane_bytes_total{action="REJECT"}'), 546);
  assert.ok(d('flowlogd_dataplane_records_total{action="REJECT",log_status="OK"}') >= 1, "a REJECT record");
  assert.ok(d('flowlogd_dataplane_records_total{action="ACCEPT",log_status="OK"}') >= 1, "an ACCEPT record");
  assert.ok(d('flowlogd_dataplane_records_total{action="-",log_status="SKIPDATA"}') >= 1, "SKIPDATA goes on for eni-3");
  assert.ok(d("flowlogd_dataplane_windows_total") >= 1);
  for (const k of sinks) {
    assert.ok(d(`flowlogd_sink_windows_total{sink="${k}",result="ok"}`) >= 2, k);
    assert.equal(after[`flowlogd_sink_windows_total{sink="${k}",result="failed"}`], 0, k);
    assert.ok(d(`flowlogd_sink_records_total{sink="${k}"}`) >= 3, k);
    assert.ok(after[`flowlogd_sink_delivery_lag_seconds{sink="${k}"}`] >= 0, k);
    assert.equal(after[`flowlogd_sink_spool_bytes{sink="${k}"}`], 0, k);
  }
  const fill = after.flowlogd_dataplane_table_fill_ratio;
  assert.ok(fill >= 0 && fill <= 1, `fill ${fill}`);
  // nothing was lost to a full table
  assert.equal(after.flowlogd_dataplane_skipped_packets_total, 0);
}

function skipped(t) {
  if (!skipReason) return false;
  if (process.env.CI === "true") assert.fail(`live test cannot run in CI: ${skipReason}`);
  t.skip(skipReason);
  return true;
}

test("serve --capture: the data plane's and the sinks' metrics move with the traffic; promtool accepts them", { timeout: 240000 }, async (t) => {
  if (skipped(t)) return;
  setupNet();
  t.after(teardown);
  const host = `${P}host`;
  const dataDir = h.tmpDir("dp-metrics");
  const tokenFile = tokenFileFor(t, dataDir);
  const acct = h.createAccount(dataDir, { sqlite: true });
  const { ids, inv } = inventoryFor(host);
  h.importInventory(dataDir, acct.Uin, inv);
  const server = await h.startServer({
    dataDir, t, sqlite: true,
    args: ["--capture", "--capture-window", String(WINDOW), "--capture-host", host,
      "--admin-listen", "127.0.0.1:0", "--admin-token-file", tokenFile],
  });
  const port = await adminPort(server);
  // with --capture the families are there from the start
  const m0 = await scrapeAt(port);
  assert.ok("flowlogd_dataplane_windows_total" in m0);
  assert.ok('flowlogd_dataplane_packets_total{action="REJECT"}' in m0);
  const c = h.vpcClient({ endpoint: server.endpoint, secretId: acct.SecretId, secretKey: acct.SecretKey });
  await trafficMovesCounters(() => scrapeAt(port), c, ids);
});

test("flowlogd agent --metrics-listen: its own /metrics, behind its token, moves with the traffic (files and cls sinks)", { timeout: 240000 }, async (t) => {
  if (skipped(t)) return;
  setupNet();
  t.after(teardown);
  const host = `${P}h2`;
  const dataDir = h.tmpDir("dp-metrics-agent");
  const recordsDir = h.tmpDir("dp-metrics-records");
  const tokenFile = tokenFileFor(t, dataDir);
  const acct = h.createAccount(dataDir, { sqlite: true });
  const { ids, inv } = inventoryFor(host);
  h.importInventory(dataDir, acct.Uin, inv);
  const key = h.cliJson(["agent-key", "create", "--data", dataDir, "--host", host], { sqlite: true });
  const keyFile = path.join(h.tmpDir("dp-metrics-key"), "key.json");
  fs.writeFileSync(keyFile, JSON.stringify(key), { mode: 0o600 });
  const server = await h.startServer({ dataDir, t, sqlite: true }); // the control plane and CLS, no capture
  // the flow logs are stored in a topic of the server's CLS: the agent delivers there too
  const cls = new (h.sdk().cls.v20201016.Client)({
    credential: { secretId: acct.SecretId, secretKey: acct.SecretKey }, region: "ap-guangzhou",
    profile: { httpProfile: { endpoint: server.endpoint, protocol: "http://", reqTimeout: 60 } },
  });
  const ls = await cls.CreateLogset({ LogsetName: "flow" });
  ids.cls = (await cls.CreateTopic({ LogsetId: ls.LogsetId, TopicName: "flow" })).TopicId;
  const agent = spawn(BIN, ["agent", "--control", `http://${server.endpoint}`, "--host", host, "--records", recordsDir,
    "--key-file", keyFile, "--capture-window", String(WINDOW), "--poll-ms", "300", "--cls-endpoint", `http://${server.endpoint}`,
    "--metrics-listen", "127.0.0.1:0", "--metrics-token-file", tokenFile],
  { stdio: ["ignore", "pipe", "pipe"], env: Object.assign({}, process.env, { TENCENTCLOUD_SECRET_ID: acct.SecretId, TENCENTCLOUD_SECRET_KEY: acct.SecretKey }) });
  children.add(agent);
  t.after(() => agent.kill("SIGTERM"));
  let log = "";
  agent.stderr.on("data", (d) => (log += d));
  const port = await new Promise((resolve, reject) => {
    let out = "";
    agent.stdout.on("data", (d) => {
      out += d;
      const m = /metrics listening on port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    agent.on("exit", (code) => reject(new Error(`agent exited ${code}: ${out}${log}`)));
  });
  // the token is needed; only /metrics is served
  assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`)).status, 401);
  assert.equal((await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { Authorization: "Bearer nope" } })).status, 401);
  assert.equal((await fetch(`http://127.0.0.1:${port}/other`, { headers: { Authorization: `Bearer ${TOKEN}` } })).status, 404);
  const m0 = await scrapeAt(port);
  assert.equal(m0['flowlogd_build_info{version="' + fs.readFileSync(path.join(h.REPO, "VERSION"), "utf8").trim() + '"}'], 1);
  const c = h.vpcClient({ endpoint: server.endpoint, secretId: acct.SecretId, secretKey: acct.SecretKey });
  await trafficMovesCounters(() => scrapeAt(port), c, ids, ["files", "cls"]);
});

test("flowlogd agent: a CLS destination that refuses: the cls sink's failures, its spool (the windows past its cursor) grows, no lag yet", { timeout: 240000 }, async (t) => {
  if (skipped(t)) return;
  setupNet();
  t.after(teardown);
  const host = `${P}h3`;
  const dataDir = h.tmpDir("dp-metrics-down");
  const recordsDir = h.tmpDir("dp-metrics-down-records");
  const tokenFile = tokenFileFor(t, dataDir);
  const acct = h.createAccount(dataDir, { sqlite: true });
  const { ids, inv } = inventoryFor(host);
  h.importInventory(dataDir, acct.Uin, inv);
  const key = h.cliJson(["agent-key", "create", "--data", dataDir, "--host", host], { sqlite: true });
  const keyFile = path.join(h.tmpDir("dp-metrics-down-key"), "key.json");
  fs.writeFileSync(keyFile, JSON.stringify(key), { mode: 0o600 });
  const server = await h.startServer({ dataDir, t, sqlite: true });
  const dead = await h.freePort(); // nothing listens there: every UploadLog is refused
  const agent = spawn(BIN, ["agent", "--control", `http://${server.endpoint}`, "--host", host, "--records", recordsDir,
    "--key-file", keyFile, "--capture-window", String(WINDOW), "--poll-ms", "300", "--cls-endpoint", `http://127.0.0.1:${dead}`,
    "--metrics-listen", "127.0.0.1:0", "--metrics-token-file", tokenFile],
  { stdio: ["ignore", "pipe", "pipe"], env: Object.assign({}, process.env, { TENCENTCLOUD_SECRET_ID: acct.SecretId, TENCENTCLOUD_SECRET_KEY: acct.SecretKey }) });
  children.add(agent);
  t.after(() => agent.kill("SIGTERM"));
  agent.stderr.on("data", () => {});
  const port = await new Promise((resolve, reject) => {
    let out = "";
    agent.stdout.on("data", (d) => {
      out += d;
      const m = /metrics listening on port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    agent.on("exit", (code) => reject(new Error(`agent exited ${code}: ${out}`)));
  });
  const c = h.vpcClient({ endpoint: server.endpoint, secretId: acct.SecretId, secretKey: acct.SecretKey });
  await c.CreateFlowLog({ FlowLogName: "eni1", VpcId: ids.vpc, ResourceType: "NETWORKINTERFACE", ResourceId: ids.eni1, TrafficType: "ALL", CloudLogId: ids.cls });
  const first = await until("the cls sink's failures and a spool of two windows", async () => {
    const m = await scrapeAt(port);
    return m['flowlogd_sink_windows_total{sink="cls",result="failed"}'] >= 1 && m['flowlogd_sink_spool_windows{sink="cls"}'] >= 2 ? m : null;
  });
  assert.ok(first['flowlogd_sink_spool_bytes{sink="cls"}'] > 0);
  assert.equal(first['flowlogd_sink_windows_total{sink="cls",result="ok"}'], 0);
  assert.equal(first['flowlogd_sink_last_delivered_window_end_seconds{sink="cls"}'], 0);
  assert.ok(!('flowlogd_sink_delivery_lag_seconds{sink="cls"}' in first), "no lag before a first delivery");
  // the files keep every window; the cls sink's spool keeps growing with them
  assert.ok(first['flowlogd_sink_windows_total{sink="files",result="ok"}'] >= 2);
  await until("a longer spool", async () => {
    const m = await scrapeAt(port);
    return m['flowlogd_sink_spool_windows{sink="cls"}'] > first['flowlogd_sink_spool_windows{sink="cls"}'] ? m : null;
  });
});
