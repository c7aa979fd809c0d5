// agent.test.js: the data plane's agent and control plane, end to end, on real
// traffic inside network namespaces this test makes itself.
//
//   vm1 (eni-1, subnet 1) --+
//   vm2 (eni-2, subnet 2) --+-- host ns (forwarding; nftables drops UDP to port 6000)
//   vm3 (eni-3, made later) +
//
// Flow logs are made through the official Node SDK; the inventory binds each
// ENI to its veth in the host ns (Host/HostDevice/HostNetns, and `inventory
// bind` for an ENI made after the flow log); the records are read back with
// `flowlogd records` and compared exactly (packets, bytes, action) with the
// traffic sent, summed over windows (a flow may straddle two 2-s windows).
// Every address is one the test assigns; no namespace has a route out; IPv6
// is off so that the kernels' own chatter cannot land in the records.
//
// Needs root (CAP_BPF, CAP_NET_ADMIN), `ip`, `nft`, python3: otherwise every
// test reports itself skipped with the reason, and with CI=true that fails.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { spawn, spawnSync } = require("node:child_process");
const h = require("../integration/harness.js");

const BIN = h.BIN;
const TRAFFIC = path.join(__dirname, "traffic.py");
const { sh, ip, inNs, sleep, children, killChildren, startSink, until } = require("./lib.js");
const P = `ag${process.pid % 100000}`; // prefix of every name we make (ifnames <= 15)
const NS = { host: `${P}h`, vm1: `${P}v1`, vm2: `${P}v2`, vm3: `${P}v3` };
const DEV = { vm1: `${P}e1`, vm2: `${P}e2`, vm3: `${P}e3` };
const A = { vm1: "10.96.1.2", vm2: "10.96.2.2", vm3: "10.96.3.2" };
const WINDOW = 2;

// ------------------------------------------------------------ can we run? ---
function whyNot() {
  if (process.getuid && process.getuid() !== 0) return "needs root (CAP_BPF, CAP_NET_ADMIN)";
  for (const [cmd, args] of [["ip", ["-V"]], ["nft", ["--version"]], ["python3", ["-V"]]]) {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    if (r.error || r.status !== 0) return `needs ${cmd} (${r.error ? r.error.code : r.stderr.trim()})`;
  }
  if (!fs.existsSync(BIN)) return `no flowlogd binary at ${BIN}`;
  const r = spawnSync("ip", ["netns", "add", `${P}probe`], { encoding: "utf8" });
  if (r.status !== 0) return `cannot make a network namespace: ${r.stderr.trim()}`;
  spawnSync("ip", ["netns", "del", `${P}probe`]);
  return null;
}
const skipReason = whyNot();
function maybeSkip(t) {
  if (!skipReason) return false;
  if (process.env.CI === "true") assert.fail(`live test cannot run in CI: ${skipReason}`);
  t.skip(skipReason);
  return true;
}

// ------------------------------------------------------------ helpers ---

function teardown() {
  for (const ns of Object.values(NS)) spawnSync("ip", ["netns", "del", ns]);
}

function setupNet() {
  teardown();
  for (const ns of Object.values(NS)) ip("netns", "add", ns);
  for (const ns of Object.values(NS)) {
    ip("-n", ns, "link", "set", "lo", "up");
    inNs(ns, "sysctl", ["-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]);
  }
  for (const [k, n] of [["vm1", 1], ["vm2", 2], ["vm3", 3]]) {
    ip("link", "add", DEV[k], "netns", NS.host, "type", "veth", "peer", "name", "eth0", "netns", NS[k]);
    ip("-n", NS.host, "addr", "add", `10.96.${n}.1/24`, "dev", DEV[k]);
    ip("-n", NS[k], "addr", "add", `${A[k]}/24`, "dev", "eth0");
    ip("-n", NS.host, "link", "set", DEV[k], "up");
    ip("-n", NS[k], "link", "set", "eth0", "up");
    ip("-n", NS[k], "route", "add", "default", "via", `10.96.${n}.1`);
  }
  inNs(NS.host, "sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
  // the "security group": nothing may reach UDP port 6000 (a REJECT)
  const rules = `
table inet ${P}sg {
  chain fw {
    type filter hook forward priority filter; policy accept;
    udp dport 6000 drop
  }
}`;
  sh("ip", ["netns", "exec", NS.host, "nft", "-f", "-"], { input: rules });
}



/** COUNT datagrams of SIZE payload bytes from vm SRC:SPORT to DST:DPORT. */
function udp(vm, sport, dst, dport, count, size) {
  inNs(NS[vm], "python3", [TRAFFIC, "udp", A[vm], String(sport), dst, String(dport), String(count), String(size)]);
}

/** The inventory: a VPC, two subnets, an instance, eni-1 and eni-2 bound to
 * their veths on `host`, a CLS topic. */
function inventory(tag, host) {
  const id = (p, n) => `${p}-${tag}${String(n).padStart(4, "0")}`;
  const ids = {
    vpc: id("vpc", 1), sub1: id("subnet", 1), sub2: id("subnet", 2), ins: id("ins", 1),
    eni1: id("eni", 1), eni2: id("eni", 2), cls: `${tag}${tag}-0000-4000-8000-000000000001`,
  };
  const inv = {
    Vpcs: [{ VpcId: ids.vpc, CidrBlock: "10.96.0.0/16" }],
    Subnets: [
      { SubnetId: ids.sub1, VpcId: ids.vpc, CidrBlock: "10.96.1.0/24" },
      { SubnetId: ids.sub2, VpcId: ids.vpc, CidrBlock: "10.96.2.0/24" },
    ],
    Instances: [{ InstanceId: ids.ins }],
    NetworkInterfaces: [
      { NetworkInterfaceId: ids.eni1, VpcId: ids.vpc, SubnetId: ids.sub1, InstanceId: ids.ins,
        PrivateIpAddresses: [A.vm1], Host: host, HostDevice: DEV.vm1, HostNetns: NS.host },
      { NetworkInterfaceId: ids.eni2, VpcId: ids.vpc, SubnetId: ids.sub2, InstanceId: ids.ins,
        PrivateIpAddresses: [A.vm2], Host: host, HostDevice: DEV.vm2, HostNetns: NS.host },
    ],
    ClsTopics: [{ TopicId: ids.cls }],
  };
  return { ids, inv };
}

/** A flow log's record lines: `flowlogd records` over a data dir or a records dir. */
function records(where, fl) {
  const args = ["records", where.data ? "--data" : "--records", where.data || where.records, fl];
  const r = spawnSync(BIN, args, { encoding: "utf8" });
  if (r.status === 1 && /no records/.test(r.stderr)) return [];
  assert.equal(r.status, 0, `flowlogd records: ${r.stderr}`);
  return r.stdout.split("\n").filter(Boolean).map((l) => l.split(" "));
}

/** Flow records summed over windows: "iface src dst sport dport proto action" -> {packets, bytes}. */
function sums(lines) {
  const m = new Map();
  for (const f of lines) {
    if (f[13] !== "OK") continue;
    const key = [f[2], f[3], f[4], f[5], f[6], f[7], f[12]].join(" ");
    const v = m.get(key) || { packets: 0, bytes: 0 };
    v.packets += Number(f[8]);
    v.bytes += Number(f[9]);
    m.set(key, v);
  }
  return Object.fromEntries([...m.entries()].sort());
}

/** Waits until fn() is truthy (checked every 200 ms). */

/** The window starts of a flow log's records. */
const windows = (lines) => [...new Set(lines.map((f) => Number(f[10])))].sort((a, b) => a - b);

async function readyz(endpoint) {
  try {
    const r = await fetch(`http://${endpoint}/readyz`);
    return r.status;
  } catch {
    return 0;
  }
}


test.after(() => {
  killChildren();
  if (!skipReason) teardown();
});

const T = { timeout: 240000 };

// ------------------------------------------------------------ the tests ---
test("serve --capture: flow logs made through the SDK get exact records; disable/enable; a VPC flow log covers an ENI made after it", T, async (t) => {
  if (maybeSkip(t)) return;
  setupNet();
  t.after(() => {
    killChildren();
    teardown();
  });
  const host = `${P}host`;
  const dataDir = h.tmpDir("agent-serve");
  const acct = h.createAccount(dataDir, { sqlite: true });
  const { ids, inv } = inventory("aaaa", host);
  h.importInventory(dataDir, acct.Uin, inv);
  const server = await h.startServer({
    dataDir, t, sqlite: true,
    args: ["--capture", "--capture-window", String(WINDOW), "--capture-host", host, "--quiet"],
  });
  for (let i = 0; i < 50 && (await readyz(server.endpoint)) !== 200; i++) await sleep(100);
  assert.equal(await readyz(server.endpoint), 200, "/readyz once the agent has its assignment");
  const c = h.vpcClient({ endpoint: server.endpoint, secretId: acct.SecretId, secretKey: acct.SecretKey });
  const mk = async (name, ResourceType, ResourceId, TrafficType) =>
    (await c.CreateFlowLog({ FlowLogName: name, VpcId: ids.vpc, ResourceType, ResourceId, TrafficType, CloudLogId: ids.cls }))
      .FlowLog[0].FlowLogId;
  const flEni = await mk("eni1", "NETWORKINTERFACE", ids.eni1, "ALL");
  const flVpc = await mk("vpc", "VPC", ids.vpc, "ALL");
  const flSub = await mk("sub1-reject", "SUBNET", ids.sub1, "REJECT");
  const where = { data: dataDir };
  // the agent has attached both devices once every flow log has a window
  await until("the first windows", () => [flEni, flVpc, flSub].every((f) => records(where, f).length > 0));
  await startSink(NS.vm2, A.vm2);

  const t0 = Math.floor(Date.now() / 1000);
  udp("vm1", 4000, A.vm2, 5000, 20, 100); // accepted: 20 x 128 IP bytes
  udp("vm1", 4001, A.vm2, 6000, 7, 50); // dropped by the host's firewall: 7 x 78
  await sleep(WINDOW * 2000 + 1500);
  const after = (f) => records(where, f).filter((r) => Number(r[10]) + WINDOW > t0 - WINDOW);
  const e1 = `${A.vm1} ${A.vm2}`;
  assert.deepEqual(sums(after(flEni)), {
    [`${ids.eni1} ${e1} 4000 5000 17 ACCEPT`]: { packets: 20, bytes: 2560 },
    [`${ids.eni1} ${e1} 4001 6000 17 REJECT`]: { packets: 7, bytes: 546 },
  });
  assert.deepEqual(sums(after(flVpc)), {
    [`${ids.eni1} ${e1} 4000 5000 17 ACCEPT`]: { packets: 20, bytes: 2560 },
    [`${ids.eni1} ${e1} 4001 6000 17 REJECT`]: { packets: 7, bytes: 546 },
    [`${ids.eni2} ${e1} 4000 5000 17 ACCEPT`]: { packets: 20, bytes: 2560 },
    // dropped before eni-2's device: attributed to it by its address (PrivateIpAddresses)
    [`${ids.eni2} ${e1} 4001 6000 17 REJECT`]: { packets: 7, bytes: 546 },
  });
  assert.deepEqual(sums(after(flSub)), { [`${ids.eni1} ${e1} 4001 6000 17 REJECT`]: { packets: 7, bytes: 546 } });
  // account-id is the AppId; a window without traffic says NODATA
  const any = records(where, flEni);
  assert.ok(any.every((f) => f[0] === "2" && f[1] === String(acct.AppId)));
  assert.ok(any.some((f) => f[13] === "NODATA"), "an idle window gives NODATA");

  // disabled: its records stop within a poll and a window; enabled: they come back
  await c.DisableFlowLogs({ FlowLogIds: [flEni] });
  const off = Date.now() / 1000;
  await sleep(WINDOW * 3000 + 1500);
  const late = records(where, flEni).filter((f) => Number(f[10]) >= off + WINDOW + 1.5);
  assert.deepEqual(late, [], "no record of a window begun after the flow log was disabled");
  // (waited for, not read once: after the fixed sleep above, the window that
  // shows it may not be written yet, depending on where `off` fell in a window)
  await until("the VPC's flow log going on", () => records(where, flVpc).some((f) => Number(f[10]) >= off + WINDOW + 1.5));
  await c.EnableFlowLogs({ FlowLogIds: [flEni] });
  const on = Date.now() / 1000;
  await until("records again after EnableFlowLogs", () => records(where, flEni).some((f) => Number(f[10]) >= on));

  // an ENI made (and bound) after the VPC's flow log is covered by it
  const eni3 = (await c.CreateNetworkInterface({ VpcId: ids.vpc, SubnetId: ids.sub1, NetworkInterfaceName: "late" }))
    .NetworkInterface.NetworkInterfaceId;
  const b = spawnSync(BIN, ["inventory", "bind", "--data", dataDir, "--uin", acct.Uin, eni3, "--host", host,
    "--device", DEV.vm3, "--netns", NS.host], { encoding: "utf8" });
  assert.equal(b.status, 0, b.stderr);
  await until("eni-3 in the VPC's records", () => records(where, flVpc).some((f) => f[2] === eni3));
  const t3 = Math.floor(Date.now() / 1000);
  udp("vm3", 4003, A.vm2, 5000, 5, 10);
  await sleep(WINDOW * 2000 + 1500);
  const v3 = sums(records(where, flVpc).filter((f) => f[2] === eni3 && Number(f[10]) + WINDOW > t3 - WINDOW));
  assert.deepEqual(v3, { [`${eni3} ${A.vm3} ${A.vm2} 4003 5000 17 ACCEPT`]: { packets: 5, bytes: 190 } });
  // the ENI's own flow log (NETWORKINTERFACE eni-1) never sees eni-3
  assert.ok(records(where, flEni).every((f) => f[2] === ids.eni1));

  // the admin's record format: the windows after it carry the AWS fields
  const fmt = "version,interface-id,srcaddr,dstaddr,dstport,packets,action,flow-direction,type,vpc-id,subnet-id,instance-id,log-status";
  const ff = spawnSync(BIN, ["flowlog", "format", "--data", dataDir, "--uin", acct.Uin, flSub, fmt], { encoding: "utf8" });
  assert.equal(ff.status, 0, ff.stderr);
  await until("records in the new format", () => records(where, flSub).some((f) => f.length === 13));
  udp("vm1", 4006, A.vm2, 6000, 3, 10);
  await sleep(WINDOW * 2000 + 1500);
  const custom = records(where, flSub).filter((f) => f.length === 13 && f[12] === "OK");
  const got = {};
  for (const f of custom) got[f.join(" ").replace(/ \d+ REJECT /, " N REJECT ")] = (got[f.join(" ").replace(/ \d+ REJECT /, " N REJECT ")] || 0) + Number(f[5]);
  assert.deepEqual(got, {
    [`5 ${ids.eni1} ${A.vm1} ${A.vm2} 6000 N REJECT egress IPv4 ${ids.vpc} ${ids.sub1} ${ids.ins} OK`]: 3,
  });
});

/** Starts `flowlogd agent`; returns {p, log()}. */
function startAgent(control, host, recordsDir, keyFile, extra = [], env = {}) {
  const p = spawn(BIN, ["agent", "--control", control, "--host", host, "--records", recordsDir, "--key-file", keyFile,
    "--capture-window", String(WINDOW), "--poll-ms", "300", ...extra],
  { stdio: ["ignore", "pipe", "pipe"], env: Object.assign({}, process.env, env) });
  children.add(p);
  let log = "";
  p.stdout.on("data", (d) => (log += d));
  p.stderr.on("data", (d) => (log += d));
  return { p, log: () => log };
}

/** `serve` on a given port (to restart the control plane where the agent looks). */
async function serveOn(dataDir, port) {
  const p = spawn(BIN, ["serve", "--data", dataDir, "--listen", `127.0.0.1:${port}`, "--quiet"], { stdio: ["ignore", "pipe", "pipe"] });
  children.add(p);
  let out = "";
  await new Promise((resolve, reject) => {
    p.stdout.on("data", (d) => {
      out += d;
      if (/listening/.test(out)) resolve();
    });
    p.on("exit", (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
  return p;
}

test("flowlogd agent + control plane: a control-plane restart loses nothing; an agent SIGKILL says SKIPDATA", T, async (t) => {
  if (maybeSkip(t)) return;
  setupNet();
  t.after(() => {
    killChildren();
    teardown();
  });
  const host = `${P}h2`;
  const dataDir = h.tmpDir("agent-remote");
  const recordsDir = h.tmpDir("agent-records");
  const acct = h.createAccount(dataDir, { sqlite: true });
  const { ids, inv } = inventory("bbbb", host);
  h.importInventory(dataDir, acct.Uin, inv);
  const key = h.cliJson(["agent-key", "create", "--data", dataDir, "--host", host], { sqlite: true });
  assert.match(key.SecretId, /^AKAG/);
  const keyFile = path.join(h.tmpDir("agent-key"), "key.json");
  fs.writeFileSync(keyFile, JSON.stringify(key), { mode: 0o600 });
  const port = await h.freePort();
  const control = `http://127.0.0.1:${port}`;
  let serve = await serveOn(dataDir, port);
  const c = h.vpcClient({ endpoint: `127.0.0.1:${port}`, secretId: acct.SecretId, secretKey: acct.SecretKey });
  const fl = (await c.CreateFlowLog({ FlowLogName: "eni1", VpcId: ids.vpc, ResourceType: "NETWORKINTERFACE",
    ResourceId: ids.eni1, TrafficType: "ALL", CloudLogId: ids.cls })).FlowLog[0].FlowLogId;

  // a key for another host is refused; the agent's own key is not a tenant's
  const other = h.cliJson(["agent-key", "create", "--data", dataDir, "--host", "elsewhere"], { sqlite: true });
  const otherFile = `${keyFile}.other`;
  fs.writeFileSync(otherFile, JSON.stringify(other), { mode: 0o600 });
  const wrong = startAgent(control, host, h.tmpDir("agent-wrong"), otherFile);
  await until("the refusal in the agent's log", () => /UnauthorizedOperation/.test(wrong.log()));
  wrong.p.kill("SIGKILL");
  await h.expectApiError(
    h.vpcClient({ endpoint: `127.0.0.1:${port}`, secretId: key.SecretId, secretKey: key.SecretKey }).DescribeFlowLogs({}),
    ["AuthFailure.SecretIdNotFound"]);

  const where = { records: recordsDir };
  let agent = startAgent(control, host, recordsDir, keyFile);
  await until("the agent's first windows", () => records(where, fl).length > 0);
  // a first-ever start (no marker) begins inside a window: that window says
  // SKIPDATA, never a silent partial window
  const first = windows(records(where, fl))[0];
  assert.ok(records(where, fl).some((f) => Number(f[10]) === first && f[13] === "SKIPDATA"),
    `the first window ${first} says SKIPDATA: ${JSON.stringify(records(where, fl))}`);
  await startSink(NS.vm2, A.vm2);

  // the control plane goes away (SIGKILL) and comes back: the agent captures on
  serve.kill("SIGKILL");
  await new Promise((r) => serve.on("exit", r));
  const t0 = Math.floor(Date.now() / 1000);
  udp("vm1", 4100, A.vm2, 5000, 15, 100);
  await sleep(WINDOW * 1000 + 500);
  udp("vm1", 4101, A.vm2, 5000, 4, 100);
  serve = await serveOn(dataDir, port);
  await sleep(WINDOW * 2000 + 1500);
  const since = (x) => records(where, fl).filter((f) => Number(f[10]) + WINDOW > x - WINDOW);
  assert.deepEqual(sums(since(t0)), {
    [`${ids.eni1} ${A.vm1} ${A.vm2} 4100 5000 17 ACCEPT`]: { packets: 15, bytes: 1920 },
    [`${ids.eni1} ${A.vm1} ${A.vm2} 4101 5000 17 ACCEPT`]: { packets: 4, bytes: 512 },
  });
  assert.ok(since(t0).every((f) => f[13] !== "SKIPDATA" || Number(f[10]) === first), "nothing was lost while the control plane was down");
  const ws = windows(records(where, fl));
  for (let i = 1; i < ws.length; i++) assert.equal(ws[i] - ws[i - 1], WINDOW, `a window is missing after ${ws[i - 1]}`);

  // the agent is killed mid-window: the window it was in says SKIPDATA
  const w = Math.floor(Date.now() / 1000 / WINDOW) * WINDOW;
  agent.p.kill("SIGKILL");
  await new Promise((r) => agent.p.on("exit", r));
  agent = startAgent(control, host, recordsDir, keyFile);
  await sleep(WINDOW * 3000 + 1500);
  const atKill = records(where, fl).filter((f) => Number(f[10]) === w);
  assert.ok(atKill.some((f) => f[13] === "SKIPDATA"), `window ${w} (the agent was killed in it) says SKIPDATA: ${JSON.stringify(atKill)}`);
  const after = windows(records(where, fl));
  for (let i = 1; i < after.length; i++) assert.equal(after[i] - after[i - 1], WINDOW, `a window is missing after ${after[i - 1]}`);

  // a crash after a window was written and before the next window's marker:
  // the marker still names that window; the restarted agent must not report
  // it lost (a second file, START-END.1.log, of SKIPDATA)
  agent.p.kill("SIGKILL");
  await new Promise((r) => agent.p.on("exit", r));
  const marker = path.join(recordsDir, ".agent", "open.json");
  const m = JSON.parse(fs.readFileSync(marker, "utf8"));
  const last = windows(records(where, fl)).at(-1);
  assert.ok(last < m.WindowStart, `the last window written (${last}) is before the open one (${m.WindowStart})`);
  m.WindowStart = last;
  fs.writeFileSync(marker, JSON.stringify(m));
  agent = startAgent(control, host, recordsDir, keyFile);
  await until("the restarted agent's windows", () => windows(records(where, fl)).at(-1) > m.WindowStart + WINDOW * 2);
  const dir = path.join(recordsDir, fl);
  assert.ok(fs.existsSync(path.join(dir, `${last}-${last + WINDOW}.log`)));
  assert.ok(!fs.existsSync(path.join(dir, `${last}-${last + WINDOW}.1.log`)),
    `window ${last} was whole: not reported again (${fs.readdirSync(dir).join(" ")})`);
  // the window after it (the agent was in it at the crash) says SKIPDATA
  assert.ok(records(where, fl).some((f) => Number(f[10]) === last + WINDOW && f[13] === "SKIPDATA"));
  agent.p.kill("SIGTERM");
  serve.kill("SIGTERM");
});

test("where BPF cannot be loaded, flowlogd agent and serve --capture say why and exit non-zero", T, async (t) => {
  if (maybeSkip(t)) return;
  // a user namespace: root inside it, but no CAP_BPF over the machine's kernel
  const probe = spawnSync("unshare", ["-Ur", "true"], { encoding: "utf8" });
  if (probe.status !== 0) {
    if (process.env.CI === "true") assert.fail(`unshare -Ur: ${probe.stderr}`);
    t.skip(`needs unshare -Ur (user namespaces): ${probe.stderr.trim()}`);
    return;
  }
  const dir = h.tmpDir("agent-nobpf");
  const keyFile = path.join(dir, "key.json");
  fs.writeFileSync(keyFile, JSON.stringify({ SecretId: "AKAGx", SecretKey: "y" }));
  const a = spawnSync("unshare", ["-Ur", BIN, "agent", "--control", "http://127.0.0.1:9", "--host", "h",
    "--records", path.join(dir, "rec"), "--key-file", keyFile], { encoding: "utf8", timeout: 30000 });
  assert.equal(a.status, 1, a.stderr);
  assert.match(a.stderr, /cannot load the capture programs: .*CAP_BPF/);
  assert.ok(!fs.existsSync(path.join(dir, "rec")), "nothing is written");
  const data = path.join(dir, "data");
  h.createAccount(data, { sqlite: true });
  const s = spawnSync("unshare", ["-Ur", BIN, "serve", "--data", data, "--listen", "127.0.0.1:0", "--capture"],
    { encoding: "utf8", timeout: 30000 });
  assert.equal(s.status, 1, s.stdout + s.stderr);
  assert.match(s.stdout + s.stderr, /capture: cannot load the capture programs: .*CAP_BPF/);
});

test("a CCN flow log through the agent: its Period, its attached VPCs' regions, exact counts", T, async (t) => {
  if (maybeSkip(t)) return;
  setupNet();
  t.after(() => {
    killChildren();
    teardown();
  });
  const host = `${P}h3`;
  const dataDir = h.tmpDir("agent-ccn");
  const acct = h.createAccount(dataDir, { sqlite: true });
  const ccn = "ccn-cccc0001", cls = "cccccccc-0000-4000-8000-000000000001";
  h.importInventory(dataDir, acct.Uin, {
    Ccns: [{ CcnId: ccn, Host: host, HostDevice: DEV.vm3, HostNetns: NS.host,
      AttachedVpcs: [{ Region: "ap-guangzhou", CidrBlock: "10.96.1.0/24" }, { Region: "ap-beijing", CidrBlock: "10.96.3.0/24" }] }],
    ClsTopics: [{ TopicId: cls }],
  });
  const server = await h.startServer({ dataDir, t, sqlite: true,
    args: ["--capture", "--capture-window", String(WINDOW), "--capture-host", host, "--quiet"] });
  const c = h.vpcClient({ endpoint: server.endpoint, secretId: acct.SecretId, secretKey: acct.SecretKey });
  const fl = (await c.CreateFlowLog({ FlowLogName: "ccn", ResourceType: "CCN", ResourceId: ccn, TrafficType: "ALL",
    CloudLogId: cls, Period: 60 })).FlowLog[0].FlowLogId;
  await startSink(NS.vm1, A.vm1);
  await sleep(3000); // the agent's next poll attaches the CCN's device
  if (Date.now() / 1000 % 60 > 50) await sleep((61 - (Date.now() / 1000 % 60)) * 1000);
  const period = Math.floor(Date.now() / 1000 / 60) * 60;
  udp("vm3", 4300, A.vm1, 5000, 9, 100);
  const where = { data: dataDir };
  const lines = await until("the period's records", () => {
    const r = records(where, fl).filter((f) => Number(f[12]) === period);
    return r.length ? r : null;
  }, 80000);
  const flows = lines.filter((f) => f[15] === "OK");
  assert.deepEqual(flows, [["2", "ap-guangzhou", ccn, A.vm3, A.vm1, "4300", "5000", "17", "ap-beijing", "ap-guangzhou",
    "9", "1152", String(period), String(period + 60), "ACCEPT", "OK"]]);
  assert.ok(records(where, fl).every((f) => Number(f[13]) - Number(f[12]) === 60 && Number(f[12]) % 60 === 0),
    "every record spans its 60-s period");
});

test("the agent's CLS delivery: every record in the topic once, also across the CLS service's restart", T, async (t) => {
  if (maybeSkip(t)) return;
  setupNet();
  t.after(() => {
    killChildren();
    teardown();
  });
  const host = `${P}h5`;
  const dataDir = h.tmpDir("agent-cls");
  const recordsDir = h.tmpDir("agent-cls-records");
  const acct = h.createAccount(dataDir, { sqlite: true });
  const port = await h.freePort();
  const endpoint = `127.0.0.1:${port}`;
  let serve = await serveOn(dataDir, port);
  const cls = new (h.sdk().cls.v20201016.Client)({
    credential: { secretId: acct.SecretId, secretKey: acct.SecretKey }, region: "ap-guangzhou",
    profile: { httpProfile: { endpoint, protocol: "http://", reqTimeout: 60 } },
  });
  const ls = await cls.CreateLogset({ LogsetName: "flow" });
  const topic = (await cls.CreateTopic({ LogsetId: ls.LogsetId, TopicName: "flow" })).TopicId;
  const { ids, inv } = inventory("eeee", host);
  inv.ClsTopics = [{ TopicId: topic }];
  h.importInventory(dataDir, acct.Uin, inv);
  const key = h.cliJson(["agent-key", "create", "--data", dataDir, "--host", host], { sqlite: true });
  const keyFile = path.join(h.tmpDir("agent-cls-key"), "key.json");
  fs.writeFileSync(keyFile, JSON.stringify(key), { mode: 0o600 });
  const c = h.vpcClient({ endpoint, secretId: acct.SecretId, secretKey: acct.SecretKey });
  const fl = (await c.CreateFlowLog({ FlowLogName: "eni1", VpcId: ids.vpc, ResourceType: "NETWORKINTERFACE",
    ResourceId: ids.eni1, TrafficType: "ALL", CloudLogId: topic })).FlowLog[0].FlowLogId;
  startAgent(`http://${endpoint}`, host, recordsDir, keyFile, ["--cls-endpoint", `http://${endpoint}`],
    { TENCENTCLOUD_SECRET_ID: acct.SecretId, TENCENTCLOUD_SECRET_KEY: acct.SecretKey });
  const where = { records: recordsDir };
  await until("the agent's first windows", () => records(where, fl).length > 0);
  await startSink(NS.vm2, A.vm2);
  udp("vm1", 4500, A.vm2, 5000, 6, 100);
  await sleep(WINDOW * 2000 + 500);
  // the CLS service (the whole server) goes away and comes back: delivery resumes from the files
  serve.kill("SIGKILL");
  await new Promise((r) => serve.on("exit", r));
  udp("vm1", 4501, A.vm2, 5000, 3, 100);
  await sleep(WINDOW * 2000 + 500);
  serve = await serveOn(dataDir, port);
  await sleep(WINDOW * 2000 + 500);
  const search = async () => {
    const out = [];
    let context = "";
    for (;;) {
      const req = { TopicId: topic, From: 0, To: Date.now() + 3600000, QueryString: "*", Sort: "asc", Limit: 1000 };
      if (context) req.Context = context;
      const r = await cls.SearchLog(req);
      out.push(...r.Results);
      if (r.ListOver) return out;
      context = r.Context;
    }
  };
  // every record the files hold up to a delivered window, in CLS once
  let got, files;
  for (let i = 0; i < 60; i++) {
    got = (await search()).map((x) => JSON.parse(x.LogJson));
    const lastStart = Math.max(...got.map((f) => Number(f.start)));
    files = records(where, fl).filter((f) => Number(f[10]) <= lastStart);
    if (got.length === files.length && got.some((f) => f.srcport === "4501")) break;
    await sleep(500);
  }
  const key2 = (f) => [f["interface-id"], f.srcaddr, f.dstaddr, f.srcport, f.dstport, f.protocol, f.packets, f.bytes, f.start, f.action, f["log-status"]].join(" ");
  const keyF = (f) => [f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[12], f[13]].join(" ");
  assert.deepEqual(got.map(key2).sort(), files.map(keyF).sort(), "the topic holds exactly the files' records");
  const sums = (rows) => rows.filter((f) => f.action === "ACCEPT" && f.dstport === "5000")
    .reduce((m, f) => ({ ...m, [f.srcport]: (m[f.srcport] || 0) + Number(f.packets) }), {});
  assert.deepEqual(sums(got), { 4500: 6, 4501: 3 });
});

// Shared devices (issue 14 §1): two ENIs bound to one host device (a VM's
// interface carrying both ENIs' addresses) are watched by address: each
// ENI's records hold its own addresses' traffic only, ACCEPT and REJECT,
// never the other's; an ENI alone on its device is watched as before.
test("serve --capture: two ENIs on one device are told apart by their addresses", T, async (t) => {
  if (maybeSkip(t)) return;
  setupNet();
  t.after(() => {
    killChildren();
    teardown();
  });
  const B1 = "10.96.1.3"; // eni-3's address, on vm1's eth0 beside eni-1's
  ip("-n", NS.vm1, "addr", "add", `${B1}/24`, "dev", "eth0");
  const host = `${P}host`;
  const dataDir = h.tmpDir("agent-shared");
  const acct = h.createAccount(dataDir, { sqlite: true });
  const { ids, inv } = inventory("dddd", host);
  const eni3 = "eni-dddd0003";
  inv.NetworkInterfaces.push({ NetworkInterfaceId: eni3, VpcId: ids.vpc, SubnetId: ids.sub1, InstanceId: ids.ins,
    PrivateIpAddresses: [B1], Host: host, HostDevice: DEV.vm1, HostNetns: NS.host });
  h.importInventory(dataDir, acct.Uin, inv);
  const server = await h.startServer({ dataDir, t, sqlite: true,
    args: ["--capture", "--capture-window", String(WINDOW), "--capture-host", host] });
  const c = h.vpcClient({ endpoint: server.endpoint, secretId: acct.SecretId, secretKey: acct.SecretKey });
  const mk = async (name, rid) => (await c.CreateFlowLog({ FlowLogName: name, VpcId: ids.vpc,
    ResourceType: "NETWORKINTERFACE", ResourceId: rid, TrafficType: "ALL", CloudLogId: ids.cls })).FlowLog[0].FlowLogId;
  const fl1 = await mk("eni1", ids.eni1);
  const fl3 = await mk("eni3", eni3);
  const fl2 = await mk("eni2", ids.eni2);
  const where = { data: dataDir };
  await until("the first windows", () => [fl1, fl3, fl2].every((f) => records(where, f).length > 0));
  const logs = server.logs().join("\n");
  assert.match(logs, new RegExp(`watching ${DEV.vm1} in ${NS.host} as ${ids.eni1} \\(slot \\d+, shared`), logs);
  assert.match(logs, new RegExp(`watching ${DEV.vm1} in ${NS.host} as ${eni3} \\(slot \\d+, shared`), logs);
  assert.match(logs, new RegExp(`watching ${DEV.vm2} in ${NS.host} as ${ids.eni2} \\(slot \\d+\\)`), logs);
  await startSink(NS.vm2, A.vm2);
  const t0 = Math.floor(Date.now() / 1000);
  udp("vm1", 4000, A.vm2, 5000, 10, 100); // eni-1: accepted, 10 x 128 IP bytes
  inNs(NS.vm1, "python3", [TRAFFIC, "udp", B1, "4100", A.vm2, "5000", "6", "100"]); // eni-3: 6 x 128
  inNs(NS.vm1, "python3", [TRAFFIC, "udp", B1, "4101", A.vm2, "6000", "3", "50"]); // eni-3: dropped, 3 x 78
  await sleep(WINDOW * 2000 + 1500);
  const after = (f) => records(where, f).filter((r) => Number(r[10]) + WINDOW > t0 - WINDOW);
  assert.deepEqual(sums(after(fl1)), {
    [`${ids.eni1} ${A.vm1} ${A.vm2} 4000 5000 17 ACCEPT`]: { packets: 10, bytes: 1280 },
  });
  assert.deepEqual(sums(after(fl3)), {
    [`${eni3} ${B1} ${A.vm2} 4100 5000 17 ACCEPT`]: { packets: 6, bytes: 768 },
    [`${eni3} ${B1} ${A.vm2} 4101 6000 17 REJECT`]: { packets: 3, bytes: 234 },
  });
  assert.deepEqual(sums(after(fl2)), {
    [`${ids.eni2} ${A.vm1} ${A.vm2} 4000 5000 17 ACCEPT`]: { packets: 10, bytes: 1280 },
    [`${ids.eni2} ${B1} ${A.vm2} 4100 5000 17 ACCEPT`]: { packets: 6, bytes: 768 },
    [`${ids.eni2} ${B1} ${A.vm2} 4101 6000 17 REJECT`]: { packets: 3, bytes: 234 },
  });
});
