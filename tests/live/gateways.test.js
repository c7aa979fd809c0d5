// gateways.test.js: the in-kernel capture of what is not an ENI's own device,
// end to end, on real traffic inside network namespaces this test makes:
//
//  1. a shared device: two ENIs behind a bridge in the host namespace, seen
//     only on the host's uplink; each packet is attributed to an ENI by its
//     source (out) or destination (in) address, and a firewall drop of their
//     traffic before the uplink is their REJECT (IPv4 and IPv6);
//  2. a CCN attachment whose rate limit is a tbf qdisc on its device: every
//     packet the qdisc drops is a REJECT record, exactly (the qdisc's own
//     `tc -s` counters are the truth), in Tencent's CCN line with the regions
//     of the attached VPCs, over the flow log's own period;
//  3. a NAT gateway's and a direct connect gateway's devices, captured like
//     ENIs, records in the ENI/NAT/DCG line with the gateway as interface-id;
//  4. the agent (serve --capture) told that two ENIs are bound to one device:
//     it watches the device by their PrivateIpAddresses; and a CCN flow log's
//     records over its Period, from the agent.
//
// Every address is one the test assigns; no namespace has a route to the
// machine's real interfaces. Every namespace (and with it every veth, bridge,
// nft table, qdisc and tc filter) is deleted afterwards, even on failure.
// Needs root (CAP_BPF, CAP_NET_ADMIN), `ip`, `tc`, `nft`, python3: otherwise
// every test reports itself skipped with the reason, and with CI=true that
// fails.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const readline = require("node:readline");
const { spawn, spawnSync } = require("node:child_process");
const h = require("../integration/harness.js");

const REPO = path.resolve(__dirname, "..", "..");
const BIN = process.env.FLOWLOGD_BIN || path.join(REPO, "build", "flowlogd");
const TRAFFIC = path.join(__dirname, "traffic.py");
const { sh, ip, inNs, sleep, children, killChildren, startSink } = require("./lib.js");
const P = `fg${process.pid % 100000}`; // prefix of every name we make (ifnames <= 15)
const APPID = "1251762227";

// ------------------------------------------------------------ can we run? ---
function whyNot() {
  if (process.getuid && process.getuid() !== 0) return "needs root (CAP_BPF, CAP_NET_ADMIN)";
  for (const [cmd, args] of [["ip", ["-V"]], ["tc", ["-V"]], ["nft", ["--version"]], ["python3", ["-V"]]]) {
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
const py = (ns, ...a) => inNs(ns, "python3", [TRAFFIC, ...a.map(String)]);

const made = new Set();
function mkns(...names) {
  for (const ns of names) {
    spawnSync("ip", ["netns", "del", ns]);
    ip("netns", "add", ns);
    made.add(ns);
    ip("-n", ns, "link", "set", "lo", "up");
  }
}
function teardown() {
  for (const ns of made) spawnSync("ip", ["netns", "del", ns]);
  made.clear();
}

/** A veth from the host namespace (dev) to ns (eth0), addresses on both. */
function link(host, dev, ns, hostAddrs, nsAddrs, v6) {
  ip("link", "add", dev, "netns", host, "type", "veth", "peer", "name", "eth0", "netns", ns);
  if (!v6) {
    inNs(ns, "sysctl", ["-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
    inNs(host, "sysctl", ["-qw", `net.ipv6.conf.${dev}.disable_ipv6=1`]);
  }
  for (const a of hostAddrs) ip("-n", host, "addr", "add", a, "dev", dev, ...(a.includes(":") ? ["nodad"] : []));
  for (const a of nsAddrs) ip("-n", ns, "addr", "add", a, "dev", "eth0", ...(a.includes(":") ? ["nodad"] : []));
  ip("-n", host, "link", "set", dev, "up");
  ip("-n", ns, "link", "set", "eth0", "up");
}


/** A sink (UDP 5000, TCP 7000) on the given addresses of ns; resolves when ready. */

/** Starts `flowlogd capture` with args; resolves once READY. */
function startCapture(args) {
  const p = spawn(BIN, ["capture", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.add(p);
  const lines = [];
  let stderr = "";
  p.stderr.on("data", (d) => (stderr += d));
  const rl = readline.createInterface({ input: p.stdout });
  const ready = new Promise((resolve, reject) => {
    rl.on("line", (l) => {
      lines.push(l);
      if (l.startsWith("READY")) resolve();
    });
    p.on("exit", (code) => reject(new Error(`flowlogd capture exited ${code}: ${stderr}`)));
  });
  return { p, lines, ready, stderr: () => stderr };
}


/** Waits until a window ending at or after `t` (epoch s) was printed, then stops it. */
async function stopCaptureAfter(c, t) {
  for (let i = 0; i < 400; i++) {
    if (c.lines.some((l) => l.startsWith("END ") && Number(l.split(" ")[2]) >= t)) break;
    if (c.p.exitCode !== null) break;
    await sleep(50);
  }
  if (c.p.exitCode === null && c.p.signalCode === null) {
    const exited = new Promise((r) => c.p.on("exit", r));
    c.p.kill("SIGTERM");
    await exited;
  }
  assert.equal(c.p.exitCode, 0, `flowlogd capture failed: ${c.stderr()}`);
  return c.lines;
}
const nowS = () => Date.now() / 1000;

// IPv6 neighbour discovery, MLD and link-scope traffic: the kernels' own
// chatter, left out of the comparison
const chatter = (f) =>
  /^fe80:/i.test(f[6]) || /^ff0/i.test(f[7]) ||
  (f[10] === "58" && [133, 134, 135, 136, 137, 143].includes(Number(f[9]) >> 8));

/** FLOW lines summed over windows: key "id dir action src dst sport dport proto". */
function flows(lines) {
  const m = new Map();
  for (const l of lines) {
    const f = l.split(" ");
    if (f[0] !== "FLOW" || chatter(f)) continue;
    const key = f.slice(3, 11).join(" ");
    const v = m.get(key) || { packets: 0, bytes: 0 };
    v.packets += Number(f[11]);
    v.bytes += Number(f[12]);
    m.set(key, v);
  }
  return m;
}
const sorted = (m) => Object.fromEntries([...m].sort());

function records(dir, id) {
  const r = spawnSync(BIN, ["records", "--records", dir, id], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split("\n").filter(Boolean).map((l) => l.split(" "));
}

test.after(() => {
  if (!skipReason) teardown();
});

const T = { timeout: 120000 };

// ------------------------------------------------------------ 1. shared ---
/** Two ENIs behind a bridge in the host namespace, seen only on its uplink. */
function sharedNames() {
  return {
    H: `${P}h`, U: `${P}u`, V4: `${P}v4`, V5: `${P}v5`, BR: `${P}br`, UP: `${P}up`,
    A: { vm4: "10.94.0.4", vm5: "10.94.0.5", up: "10.94.9.2", vm46: "fd94::4", vm56: "fd94::5", up6: "fd94:9::2" },
  };
}

/** The namespaces, the bridge, the uplink and the operator's firewall: eni-5
 * refuses UDP 5001 inbound; eni-4 may not send to UDP 5002. */
function sharedSetup() {
  const { H, U, V4, V5, BR, UP, A } = sharedNames();
  mkns(H, U, V4, V5);
  ip("-n", H, "link", "add", BR, "type", "bridge");
  ip("-n", H, "addr", "add", "10.94.0.1/24", "dev", BR);
  ip("-n", H, "addr", "add", "fd94::1/64", "dev", BR, "nodad");
  ip("-n", H, "link", "set", BR, "up");
  for (const [ns, port, a4, a6] of [[V4, `${P}p4`, A.vm4, A.vm46], [V5, `${P}p5`, A.vm5, A.vm56]]) {
    link(H, port, ns, [], [`${a4}/24`, `${a6}/64`], true);
    ip("-n", H, "link", "set", port, "master", BR);
    ip("-n", ns, "route", "add", "default", "via", "10.94.0.1");
    ip("-n", ns, "-6", "route", "add", "default", "via", "fd94::1");
  }
  link(H, UP, U, ["10.94.9.1/24", "fd94:9::1/64"], [`${A.up}/24`, `${A.up6}/64`], true);
  ip("-n", U, "route", "add", "10.94.0.0/24", "via", "10.94.9.1");
  ip("-n", U, "-6", "route", "add", "fd94::/64", "via", "fd94:9::1");
  inNs(H, "sysctl", ["-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"]);
  // the operator's firewall: eni-5 refuses UDP 5001 inbound; eni-4 may not send to UDP 5002
  const rules = `
table inet ${P}sg {
  chain fw {
  type filter hook forward priority filter; policy accept;
  ip daddr ${A.vm5} udp dport 5001 drop
  ip saddr ${A.vm4} udp dport 5002 drop
  ip6 saddr ${A.vm46} udp dport 5002 drop
  }
}`;
  sh("ip", ["netns", "exec", H, "nft", "-f", "-"], { input: rules });
}

test("a shared uplink attributes each packet to its ENI by address; drops before it are REJECT by address", T, async (t) => {
  if (maybeSkip(t)) return;
  const { H, U, V4, V5, UP, A } = sharedNames();
  try {
    sharedSetup();
    const sinks = [await startSink(U, A.up, A.up6), await startSink(V5, A.vm5)];
    // the first packets of each path resolve neighbours before the capture starts
    py(V4, "udp", A.vm4, 3999, A.up, 5000, 1, 1);
    py(V4, "udp", A.vm46, 3999, A.up6, 5000, 1, 1);
    py(U, "udp", A.up, 3999, A.vm5, 5000, 1, 1);
    await sleep(1000); // a packet waiting for neighbour discovery leaves late: let them go
    const recDir = fs.mkdtempSync(path.join(os.tmpdir(), "flowlogd-live-"));
    const cap = startCapture(["--netns", H, "--window", "2", "--shared", UP,
      "--by-address", `eni-4=${A.vm4},${A.vm46}`, "--by-address", `eni-5=${A.vm5},${A.vm56}`,
      "--records", recDir, "--account", APPID, "--flowlog", "fl-4=eni-4:format=version,interface-id,srcaddr,dstaddr,srcport,dstport,protocol,packets,bytes,action,flow-direction,type,log-status"]);
    await cap.ready;
    py(V4, "udp", A.vm4, 4000, A.up, 5000, 5, 100); // out of eni-4, over the uplink
    py(U, "udp", A.up, 4001, A.vm5, 5000, 3, 100); // into eni-5
    py(U, "udp", A.up, 4002, A.vm5, 5001, 2, 30); // into eni-5, dropped after the uplink
    py(V4, "udp", A.vm4, 4003, A.up, 5002, 4, 50); // out of eni-4, dropped before the uplink
    py(V4, "udp", A.vm46, 4005, A.up6, 5000, 2, 60);
    py(V4, "udp", A.vm46, 4006, A.up6, 5002, 2, 10);
    py(V4, "udp", A.vm4, 4007, A.vm5, 5000, 3, 10); // bridged eni-4 -> eni-5: never on the uplink
    const lines = await stopCaptureAfter(cap, nowS() + 0.5);
    for (const s of sinks) s.kill();
    const want = new Map([
      [`eni-4 out ACCEPT ${A.vm4} ${A.up} 4000 5000 17`, { packets: 5, bytes: 640 }],
      [`eni-5 in ACCEPT ${A.up} ${A.vm5} 4001 5000 17`, { packets: 3, bytes: 384 }],
      [`eni-5 in REJECT ${A.up} ${A.vm5} 4002 5001 17`, { packets: 2, bytes: 116 }],
      [`eni-4 out REJECT ${A.vm4} ${A.up} 4003 5002 17`, { packets: 4, bytes: 312 }],
      [`eni-4 out ACCEPT ${A.vm46} ${A.up6} 4005 5000 17`, { packets: 2, bytes: 216 }],
      [`eni-4 out REJECT ${A.vm46} ${A.up6} 4006 5002 17`, { packets: 2, bytes: 116 }],
    ]);
    const got = new Map([...flows(lines)].filter(([k]) => k.split(" ")[5] !== "3999")); // warm-up
    assert.deepEqual(sorted(got), sorted(want), `capture output:\n${lines.join("\n")}`);
    // eni-4's flow log, in a format with AWS's flow-direction and type
    const recs = new Map();
    for (const f of records(recDir, "fl-4")) {
      assert.equal(f.length, 13, f.join(" "));
      assert.deepEqual([f[0], f[1]], ["5", "eni-4"]);
      if (f[12] !== "OK" || f[4] === "3999") continue;
      assert.equal(f[10], "egress");
      assert.equal(f[11], f[2].includes(":") ? "IPv6" : "IPv4");
      const key = `eni-4 out ${f[9]} ${f.slice(2, 7).join(" ")}`;
      const v = recs.get(key) || { packets: 0, bytes: 0 };
      v.packets += Number(f[7]);
      v.bytes += Number(f[8]);
      recs.set(key, v);
    }
    assert.deepEqual(sorted(recs), sorted(new Map([...want].filter(([k]) => k.startsWith("eni-4 ")))));
    fs.rmSync(recDir, { recursive: true, force: true });
  } finally {
    killChildren();
    teardown();
  }
});

test("serve --capture: two ENIs bound to one uplink are watched by their PrivateIpAddresses; a VPC flow log has each one's records", T, async (t) => {
  if (maybeSkip(t)) return;
  const { H, U, V4, V5, UP, A } = sharedNames();
  try {
    sharedSetup();
    const host = `${P}host`;
    const dataDir = h.tmpDir("shared-agent");
    const acct = h.createAccount(dataDir, { sqlite: true });
    const ids = { vpc: "vpc-shared01", sub: "subnet-shared01", eni4: "eni-shared04", eni5: "eni-shared05" };
    h.importInventory(dataDir, acct.Uin, {
      Vpcs: [{ VpcId: ids.vpc, CidrBlock: "10.94.0.0/16" }],
      Subnets: [{ SubnetId: ids.sub, VpcId: ids.vpc, CidrBlock: "10.94.0.0/24" }],
      NetworkInterfaces: [
        { NetworkInterfaceId: ids.eni4, VpcId: ids.vpc, SubnetId: ids.sub, PrivateIpAddresses: [A.vm4, A.vm46],
          Host: host, HostDevice: UP, HostNetns: H },
        { NetworkInterfaceId: ids.eni5, VpcId: ids.vpc, SubnetId: ids.sub, PrivateIpAddresses: [A.vm5, A.vm56],
          Host: host, HostDevice: UP, HostNetns: H },
      ],
      ClsTopics: [{ TopicId: "5aaaaaaa-0000-4000-8000-000000000001" }],
    });
    const sinks = [await startSink(U, A.up, A.up6), await startSink(V5, A.vm5)];
    py(V4, "udp", A.vm4, 3999, A.up, 5000, 1, 1); // neighbours resolved before
    py(U, "udp", A.up, 3999, A.vm5, 5000, 1, 1);
    await sleep(1000);
    const server = await h.startServer({
      dataDir, t, sqlite: true, args: ["--capture", "--capture-window", "2", "--capture-host", host, "--quiet"],
    });
    const c = h.vpcClient({ endpoint: server.endpoint, secretId: acct.SecretId, secretKey: acct.SecretKey });
    const fl = (await c.CreateFlowLog({ FlowLogName: "shared", VpcId: ids.vpc, ResourceType: "VPC", ResourceId: ids.vpc,
      TrafficType: "ALL", CloudLogId: "5aaaaaaa-0000-4000-8000-000000000001" })).FlowLog[0].FlowLogId;
    const recs = () => {
      const r = spawnSync(BIN, ["records", "--data", dataDir, fl], { encoding: "utf8" });
      return r.status === 0 ? r.stdout.split("\n").filter(Boolean).map((l) => l.split(" ")) : [];
    };
    for (let i = 0; i < 100 && new Set(recs().map((f) => f[2])).size < 2; i++) await sleep(200);
    const t0 = nowS();
    py(V4, "udp", A.vm4, 4000, A.up, 5000, 5, 100); // out of eni-4, over the uplink
    py(U, "udp", A.up, 4001, A.vm5, 5000, 3, 100); // into eni-5
    py(U, "udp", A.up, 4002, A.vm5, 5001, 2, 30); // into eni-5, dropped after the uplink
    py(V4, "udp", A.vm4, 4003, A.up, 5002, 4, 50); // out of eni-4, dropped before the uplink
    await sleep(2 * 2000 + 1500);
    for (const s of sinks) s.kill();
    const got = {};
    for (const f of recs()) {
      if (f[13] !== "OK" || Number(f[11]) <= t0 - 2 || f[5] === "3999") continue;
      const key = [f[2], f[3], f[4], f[5], f[6], f[7], f[12]].join(" ");
      got[key] = got[key] || { packets: 0, bytes: 0 };
      got[key].packets += Number(f[8]);
      got[key].bytes += Number(f[9]);
    }
    assert.deepEqual(sorted(new Map(Object.entries(got))), sorted(new Map([
      [`${ids.eni4} ${A.vm4} ${A.up} 4000 5000 17 ACCEPT`, { packets: 5, bytes: 640 }],
      [`${ids.eni5} ${A.up} ${A.vm5} 4001 5000 17 ACCEPT`, { packets: 3, bytes: 384 }],
      [`${ids.eni5} ${A.up} ${A.vm5} 4002 5001 17 REJECT`, { packets: 2, bytes: 116 }],
      [`${ids.eni4} ${A.vm4} ${A.up} 4003 5002 17 REJECT`, { packets: 4, bytes: 312 }],
    ])), recs().map((f) => f.join(" ")).join("\n"));
  } finally {
    killChildren();
    teardown();
  }
});

// ------------------------------------------------------------ 2./3. gateways ---
/** host ns with a VM (vpc side, 10.95.1.2) and three gateway devices:
 * a CCN attachment to another region (10.95.2.2), a NAT gateway (10.95.3.2,
 * behind it 10.95.30.2) and a direct connect gateway (10.95.4.2). IPv6 off,
 * neighbours static: nothing but the test's packets crosses the devices. */
function gatewaysSetup() {
  const N = { host: `${P}g`, vm: `${P}gv`, ccn: `${P}gc`, nat: `${P}gn`, dcg: `${P}gd` };
  const D = { vm: `${P}ve`, ccn: `${P}cc`, nat: `${P}nt`, dcg: `${P}dc` };
  const A = { vm: "10.95.1.2", ccn: "10.95.2.2", nat: "10.95.3.2", inet: "10.95.30.2", dcg: "10.95.4.2" };
  mkns(...Object.values(N));
  const nets = [["vm", 1], ["ccn", 2], ["nat", 3], ["dcg", 4]];
  for (const [k, n] of nets) {
    link(N.host, D[k], N[k], [`10.95.${n}.1/24`], [`${A[k]}/24`], false);
    ip("-n", N[k], "route", "add", "default", "via", `10.95.${n}.1`);
  }
  ip("-n", N.nat, "addr", "add", `${A.inet}/32`, "dev", "lo"); // "the internet" behind the NAT
  ip("-n", N.host, "route", "add", `${A.inet}/32`, "via", A.nat);
  inNs(N.host, "sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
  for (const [k, n] of nets) {
    const mac = (ns, dev) => JSON.parse(sh("ip", ["-n", ns, "-j", "link", "show", dev]))[0].address;
    ip("-n", N.host, "neigh", "replace", A[k], "lladdr", mac(N[k], "eth0"), "dev", D[k], "nud", "permanent");
    ip("-n", N[k], "neigh", "replace", `10.95.${n}.1`, "lladdr", mac(N.host, D[k]), "dev", "eth0", "nud", "permanent");
  }
  return { N, D, A };
}

test("a CCN's rate limit (a tbf qdisc) drops are its REJECT records, exactly, in the CCN line over its period", T, async (t) => {
  if (maybeSkip(t)) return;
  try {
    const { N, D, A } = gatewaysSetup();
    // the CCN's bandwidth limit towards the other region: 1 Mbit/s, a 3000-byte queue
    sh("ip", ["netns", "exec", N.host, "tc", "qdisc", "add", "dev", D.ccn, "root", "tbf",
      "rate", "1mbit", "burst", "3000", "limit", "3000"]);
    const sinks = [await startSink(N.ccn, A.ccn), await startSink(N.vm, A.vm)];
    const recDir = fs.mkdtempSync(path.join(os.tmpdir(), "flowlogd-live-"));
    const cap = startCapture(["--netns", N.host, "--window", "1", "--watch", `${D.ccn}=ccn-1`,
      "--records", recDir, "--account", APPID, "--region", "ap-guangzhou",
      "--attached-vpc", "10.95.1.0/24=ap-guangzhou", "--attached-vpc", "10.95.2.0/24=ap-beijing",
      "--flowlog", "fl-ccn=ccn-1:ALL:format=ccn:period=4", "--flowlog", "fl-ccnrej=ccn-1:REJECT:format=ccn:period=4"]);
    await cap.ready;
    // about 4 Mbit/s for 0.6 s through a 1 Mbit/s limit: most are dropped
    py(N.vm, "udp", A.vm, 4000, A.ccn, 5000, 300, 1000);
    py(N.ccn, "udp", A.ccn, 4001, A.vm, 5000, 3, 100); // the other way: no limit there
    const end = Math.ceil(nowS() / 4) * 4; // the period in progress
    const lines = await stopCaptureAfter(cap, end);
    for (const s of sinks) s.kill();
    // the qdisc's own counters are the truth
    const st = inNs(N.host, "tc", ["-s", "qdisc", "show", "dev", D.ccn]);
    const m = /Sent (\d+) bytes (\d+) pkt \(dropped (\d+)/.exec(st);
    assert.ok(m, st);
    const [sentBytes, sent, dropped] = [Number(m[1]), Number(m[2]), Number(m[3])];
    assert.ok(dropped > 0, `the limit dropped nothing:\n${st}`);
    assert.equal(sent + dropped, 300, `only the test's datagrams crossed the qdisc:\n${st}`);
    const got = flows(lines);
    // tc egress of the CCN's device is "in" (towards the other side)
    assert.deepEqual(sorted(got), sorted(new Map([
      [`ccn-1 in ACCEPT ${A.vm} ${A.ccn} 4000 5000 17`, { packets: sent, bytes: sentBytes - 14 * sent }],
      [`ccn-1 in REJECT ${A.vm} ${A.ccn} 4000 5000 17`, { packets: dropped, bytes: dropped * 1028 }],
      [`ccn-1 out ACCEPT ${A.ccn} ${A.vm} 4001 5000 17`, { packets: 3, bytes: 384 }],
    ])), `capture output:\n${lines.join("\n")}\n${st}`);

    // Tencent's CCN line, windows of the flow log's period (4 s here)
    const sum = (rows) => {
      const s = new Map();
      for (const f of rows) {
        assert.equal(f.length, 16, f.join(" "));
        assert.deepEqual([f[0], f[1], f[2]], ["2", "ap-guangzhou", "ccn-1"]);
        const [start, stop] = [Number(f[12]), Number(f[13])];
        assert.equal(stop - start, 4, f.join(" "));
        assert.equal(start % 4, 0, f.join(" "));
        if (f[15] !== "OK") {
          assert.match(f.join(" "), /^2 ap-guangzhou ccn-1 - - - - - - - - - \d+ \d+ - (NODATA|SKIPDATA)$/);
          continue;
        }
        const key = [f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[14]].join(" ");
        const v = s.get(key) || { packets: 0, bytes: 0 };
        v.packets += Number(f[10]);
        v.bytes += Number(f[11]);
        s.set(key, v);
      }
      return sorted(s);
    };
    const acc = { packets: sent, bytes: sentBytes - 14 * sent };
    const rej = { packets: dropped, bytes: dropped * 1028 };
    assert.deepEqual(sum(records(recDir, "fl-ccn")), sorted(new Map([
      [`${A.vm} ${A.ccn} 4000 5000 17 ap-guangzhou ap-beijing ACCEPT`, acc],
      [`${A.vm} ${A.ccn} 4000 5000 17 ap-guangzhou ap-beijing REJECT`, rej],
      [`${A.ccn} ${A.vm} 4001 5000 17 ap-beijing ap-guangzhou ACCEPT`, { packets: 3, bytes: 384 }],
    ])));
    assert.deepEqual(sum(records(recDir, "fl-ccnrej")), sorted(new Map([
      [`${A.vm} ${A.ccn} 4000 5000 17 ap-guangzhou ap-beijing REJECT`, rej],
    ])));
    fs.rmSync(recDir, { recursive: true, force: true });
  } finally {
    killChildren();
    teardown();
  }
});

test("serve --capture: a CCN flow log's records span its Period (60 s) in the CCN line, its tbf drops exactly REJECT, its attached VPCs the regions", { timeout: 300000 }, async (t) => {
  if (maybeSkip(t)) return;
  try {
    const { N, D, A } = gatewaysSetup();
    sh("ip", ["netns", "exec", N.host, "tc", "qdisc", "add", "dev", D.ccn, "root", "tbf",
      "rate", "1mbit", "burst", "3000", "limit", "3000"]);
    const host = `${P}host`;
    const dataDir = h.tmpDir("ccn-agent");
    const acct = h.createAccount(dataDir, { sqlite: true });
    h.importInventory(dataDir, acct.Uin, {
      Ccns: [{ CcnId: "ccn-period01", Host: host, HostDevice: D.ccn, HostNetns: N.host,
        AttachedVpcs: [{ Region: "ap-guangzhou", CidrBlock: "10.95.1.0/24" }, { Region: "ap-beijing", CidrBlock: "10.95.2.0/24" }] }],
      ClsTopics: [{ TopicId: "5aaaaaaa-0000-4000-8000-000000000002" }],
    });
    const sinks = [await startSink(N.ccn, A.ccn)];
    const server = await h.startServer({
      dataDir, t, sqlite: true, args: ["--capture", "--capture-window", "2", "--capture-host", host, "--quiet"],
    });
    const c = h.vpcClient({ endpoint: server.endpoint, secretId: acct.SecretId, secretKey: acct.SecretKey });
    const fl = (await c.CreateFlowLog({ FlowLogName: "ccn", ResourceType: "CCN", ResourceId: "ccn-period01",
      TrafficType: "ALL", Period: 60, CloudLogId: "5aaaaaaa-0000-4000-8000-000000000002" })).FlowLog[0].FlowLogId;
    const attached = () => / bpf /.test(inNs(N.host, "tc", ["filter", "show", "dev", D.ccn, "egress"], { mayFail: true }));
    for (let i = 0; i < 100 && !attached(); i++) await sleep(200);
    assert.ok(attached(), "the agent watches the CCN's device");
    await sleep(2500); // the window it was attached in has closed: the next ones are whole
    const before = inNs(N.host, "tc", ["-s", "qdisc", "show", "dev", D.ccn]);
    const counts = (st) => { const m = /Sent (\d+) bytes (\d+) pkt \(dropped (\d+)/.exec(st); return m.slice(1).map(Number); };
    const t0 = nowS();
    py(N.vm, "udp", A.vm, 4000, A.ccn, 5000, 300, 1000);
    const t1 = nowS();
    // read the counters once the tbf's queue is empty: a packet still queued is neither
    // sent nor dropped yet (its first match is the tbf's own backlog)
    const tbf = () => inNs(N.host, "tc", ["-s", "qdisc", "show", "dev", D.ccn]);
    let after = tbf();
    for (let i = 0; i < 100 && !/backlog 0b 0p/.test(/backlog \S+ \S+/.exec(after)[0]); i++) {
      await sleep(50);
      after = tbf();
    }
    const [b0, p0, d0] = counts(before), [b1, p1, d1] = counts(after);
    const [acceptedPkts, acceptedBytes, dropped] = [p1 - p0, b1 - b0 - 14 * (p1 - p0), d1 - d0];
    assert.ok(dropped > 0, after);
    assert.equal(acceptedPkts + dropped, 300, `${before}\n${after}`);
    const periodEnd = Math.floor(t1 / 60) * 60 + 60; // the last period the traffic is in
    const recs = () => {
      const r = spawnSync(BIN, ["records", "--data", dataDir, fl], { encoding: "utf8" });
      return r.status === 0 ? r.stdout.split("\n").filter(Boolean).map((l) => l.split(" ")) : [];
    };
    for (let i = 0; i < 400 && !recs().some((f) => Number(f[13]) >= periodEnd); i++) await sleep(250);
    for (const s of sinks) s.kill();
    // the periods the traffic fell in (one, or two when it crossed a minute)
    const lines = recs().filter((f) => Number(f[12]) <= t1 && Number(f[13]) > t0 - 2);
    assert.ok(lines.length > 0, `no record of the period ending ${periodEnd}:\n${recs().map((f) => f.join(" ")).join("\n")}`);
    const got = {};
    for (const f of lines) {
      assert.equal(f.length, 16, f.join(" "));
      assert.deepEqual([f[0], f[1], f[2], Number(f[13]) - Number(f[12])], ["2", "ap-guangzhou", "ccn-period01", 60]);
      if (f[15] !== "OK") continue;
      const k = f.slice(3, 10).concat(f[14]).join(" ");
      got[k] = got[k] || { packets: 0, bytes: 0 };
      got[k].packets += Number(f[10]);
      got[k].bytes += Number(f[11]);
    }
    assert.deepEqual(got, {
      [`${A.vm} ${A.ccn} 4000 5000 17 ap-guangzhou ap-beijing ACCEPT`]: { packets: acceptedPkts, bytes: acceptedBytes },
      [`${A.vm} ${A.ccn} 4000 5000 17 ap-guangzhou ap-beijing REJECT`]: { packets: dropped, bytes: dropped * 1028 },
    });
  } finally {
    killChildren();
    teardown();
  }
});

test("NAT and direct connect gateways' devices give ENI-format records with the gateway as interface-id", T, async (t) => {
  if (maybeSkip(t)) return;
  try {
    const { N, D, A } = gatewaysSetup();
    // the DCG's peer refuses UDP 5001 (the host's firewall)
    sh("ip", ["netns", "exec", N.host, "nft", "-f", "-"], { input: `
table inet ${P}gw {
  chain fw {
    type filter hook forward priority filter; policy accept;
    oifname "${D.dcg}" udp dport 5001 drop
  }
}` });
    const sinks = [await startSink(N.nat, A.inet), await startSink(N.dcg, A.dcg)];
    const recDir = fs.mkdtempSync(path.join(os.tmpdir(), "flowlogd-live-"));
    const cap = startCapture(["--netns", N.host, "--window", "2",
      "--watch", `${D.nat}=nat-1`, "--watch", `${D.dcg}=dcg-1,${A.dcg}`,
      "--records", recDir, "--account", APPID, "--flowlog", "fl-nat=nat-1", "--flowlog", "fl-dcg=dcg-1"]);
    await cap.ready;
    py(N.vm, "udp", A.vm, 4000, A.inet, 5000, 4, 100); // through the NAT gateway
    py(N.vm, "udp", A.vm, 4001, A.dcg, 5000, 3, 200); // to the IDC over the DCG
    py(N.vm, "udp", A.vm, 4002, A.dcg, 5001, 2, 20); // refused on the way to it
    const lines = await stopCaptureAfter(cap, nowS() + 0.5);
    for (const s of sinks) s.kill();
    const want = new Map([
      [`nat-1 in ACCEPT ${A.vm} ${A.inet} 4000 5000 17`, { packets: 4, bytes: 512 }],
      [`dcg-1 in ACCEPT ${A.vm} ${A.dcg} 4001 5000 17`, { packets: 3, bytes: 684 }],
      [`dcg-1 in REJECT ${A.vm} ${A.dcg} 4002 5001 17`, { packets: 2, bytes: 96 }],
    ]);
    assert.deepEqual(sorted(flows(lines)), sorted(want), `capture output:\n${lines.join("\n")}`);
    const sum = (rows, id) => {
      const s = new Map();
      for (const f of rows) {
        assert.equal(f.length, 14, f.join(" "));
        assert.deepEqual([f[0], f[1], f[2]], ["2", APPID, id]);
        if (f[13] !== "OK") continue;
        const key = `${id} in ${f[12]} ${f.slice(3, 8).join(" ")}`;
        const v = s.get(key) || { packets: 0, bytes: 0 };
        v.packets += Number(f[8]);
        v.bytes += Number(f[9]);
        s.set(key, v);
      }
      return s;
    };
    const recs = new Map([...sum(records(recDir, "fl-nat"), "nat-1"), ...sum(records(recDir, "fl-dcg"), "dcg-1")]);
    assert.deepEqual(sorted(recs), sorted(want));
    fs.rmSync(recDir, { recursive: true, force: true });
  } finally {
    killChildren();
    teardown();
  }
});
