// dataplane.test.js: the in-kernel capture, end to end, on real traffic inside
// network namespaces this test makes itself.
//
//   uplink ns (10.93.0.2, fd93::2) --- host ns (forwarding; nftables plays the
//   security groups and network ACLs) --- vm1 (eni-1), vm2 (eni-2), vm3 (eni-3)
//
// Every address is one the test assigns; no namespace has a route to the
// machine's real interfaces (the namespaces start empty and the host ns has
// only the veths made here). Every namespace (and with it every veth, nft table
// and tc filter) is deleted afterwards, even on failure; the BPF objects go
// with the `flowlogd capture` process, which is killed.
//
// Needs root (CAP_BPF, CAP_NET_ADMIN), `ip`, `nft`, python3: otherwise every
// test reports itself skipped with the reason, and with CI=true that fails.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const readline = require("node:readline");
const { spawn, spawnSync } = require("node:child_process");

const REPO = path.resolve(__dirname, "..", "..");
const BIN = process.env.FLOWLOGD_BIN || path.join(REPO, "build", "flowlogd");
const TRAFFIC = path.join(__dirname, "traffic.py");
const { sh, ip, inNs, children, killChildren, startSink } = require("./lib.js");
const P = `fl${process.pid % 100000}`; // prefix of every name we make (ifnames <= 15)
const NS = { host: `${P}h`, up: `${P}u`, vm1: `${P}v1`, vm2: `${P}v2`, vm3: `${P}v3` };
const DEV = { vm1: `${P}e1`, vm2: `${P}e2`, vm3: `${P}e3`, up: `${P}up` };
const A = {
  up: "10.93.0.2", vm1: "10.93.1.2", vm2: "10.93.2.2", vm3: "10.93.3.2",
  up6: "fd93::2", vm16: "fd93:1::2", vm26: "fd93:2::2",
};

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

let skipReason = whyNot();

function maybeSkip(t) {
  if (!skipReason) return false;
  if (process.env.CI === "true") assert.fail(`live test cannot run in CI: ${skipReason}`);
  t.skip(skipReason);
  return true;
}

// ------------------------------------------------------------ helpers ---
const py = (ns, ...a) => inNs(ns, "python3", [TRAFFIC, ...a.map(String)]);

function teardown() {
  for (const ns of Object.values(NS)) spawnSync("ip", ["netns", "del", ns]);
}

/** The namespaces, veths, addresses and rules. With v6 false (and always for
 * the idle vm3) IPv6 is off, so that the kernels' own IPv6 chatter (router
 * solicitations, MLD) cannot land in a window that must be silent or full. */
function setup(v6 = true) {
  teardown();
  for (const ns of Object.values(NS)) ip("netns", "add", ns);
  for (const ns of Object.values(NS)) ip("-n", ns, "link", "set", "lo", "up");
  const vms = [["vm1", A.vm1, A.vm16, 1], ["vm2", A.vm2, A.vm26, 2], ["vm3", A.vm3, null, 3], ["up", A.up, A.up6, 0]];
  for (const [k, a4, a6_, n] of vms) {
    const ns = NS[k], dev = DEV[k], a6 = v6 ? a6_ : null;
    ip("link", "add", dev, "netns", NS.host, "type", "veth", "peer", "name", "eth0", "netns", ns);
    if (!a6) {
      inNs(ns, "sysctl", ["-qw", "net.ipv6.conf.all.disable_ipv6=1"]);
      inNs(NS.host, "sysctl", ["-qw", `net.ipv6.conf.${dev}.disable_ipv6=1`]);
    }
    ip("-n", NS.host, "addr", "add", `10.93.${n}.1/24`, "dev", dev);
    ip("-n", ns, "addr", "add", `${a4}/24`, "dev", "eth0");
    if (a6) {
      const p6 = n ? `fd93:${n}::` : "fd93::";
      ip("-n", NS.host, "addr", "add", `${p6}1/64`, "dev", dev, "nodad");
      ip("-n", ns, "addr", "add", `${a6}/64`, "dev", "eth0", "nodad");
    }
    ip("-n", NS.host, "link", "set", dev, "up");
    ip("-n", ns, "link", "set", "eth0", "up");
    ip("-n", ns, "route", "add", "default", "via", `10.93.${n}.1`);
    if (a6) ip("-n", ns, "-6", "route", "add", "default", "via", `${n ? `fd93:${n}::` : "fd93::"}1`);
  }
  inNs(NS.host, "sysctl", ["-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"]);
  // The security groups and network ACLs, as an operator's nftables ruleset:
  //  eni-1's network ACL (stateless) has no outbound ICMP echo-reply rule;
  //  eni-2's security group (stateful) allows inbound TCP 7000 and UDP 5000 only.
  const rules = `
table inet ${P}sg {
  chain fw {
    type filter hook forward priority filter; policy accept;
    iifname "${DEV.vm1}" icmp type echo-reply drop
    oifname "${DEV.vm2}" ct state established,related accept
    oifname "${DEV.vm2}" tcp dport 7000 accept
    oifname "${DEV.vm2}" udp dport 5000 accept
    oifname "${DEV.vm2}" meta l4proto { tcp, udp, icmp, ipv6-icmp } drop
  }
}`;
  sh("ip", ["netns", "exec", NS.host, "nft", "-f", "-"], { input: rules });
}

// every process a test starts, killed when the test ends however it ends

/** A sink (UDP 5000, TCP 7000) on the given addresses of ns; resolves when ready. */

/** Starts `flowlogd capture` in the host ns; resolves once READY. */
function startCapture(extra = []) {
  const args = ["capture", "--netns", NS.host, "--window", "2",
    "--watch", `${DEV.vm1}=eni-1,${A.vm1},${A.vm16}`,
    "--watch", `${DEV.vm2}=eni-2,${A.vm2},${A.vm26}`,
    "--watch", `${DEV.vm3}=eni-3,${A.vm3}`, ...extra];
  const p = spawn(BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
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

/** Stops it after the windows in flight closed; returns its lines. */
async function stopCapture(c) {
  await new Promise((r) => setTimeout(r, 2600)); // the current 2-s window closes and drains
  if (c.p.exitCode === null && c.p.signalCode === null) {
    const exited = new Promise((r) => c.p.on("exit", r));
    c.p.kill("SIGTERM");
    await exited;
  }
  assert.equal(c.p.exitCode, 0, `flowlogd capture failed: ${c.stderr()}`);
  return c.lines;
}

// IPv6 neighbour discovery and MLD (ICMPv6 types 133-137, 143) and link-scope
// traffic are the kernels' own chatter on the veths, not traffic this test
// sent: left out of the comparison (they are captured like everything else).
const chatter = (f) =>
  /^fe80:/i.test(f[6]) || /^ff0/i.test(f[7]) ||
  (f[10] === "58" && [133, 134, 135, 136, 137, 143].includes(Number(f[9]) >> 8));

/** FLOW lines summed over windows: key "eni dir action src dst sport dport proto". */
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

test.after(() => {
  if (!skipReason) teardown();
});

// ------------------------------------------------------------ the tests ---
const T = { timeout: 120000 };

test("known traffic gives exact ACCEPT and REJECT flows per ENI and direction, IPv4 and IPv6", T, async (t) => {
  if (maybeSkip(t)) return;
  setup();
  let cap; // eslint-disable-line no-unused-vars
  try {
    const sink = await startSink(NS.vm2, A.vm2, A.vm26);
    const recDir = fs.mkdtempSync(path.join(os.tmpdir(), "flowlogd-live-"));
    cap = startCapture(["--records", recDir, "--account", "1251762227",
      "--flowlog", "fl-all1=eni-1", "--flowlog", "fl-rej2=eni-2:REJECT", "--flowlog", "fl-acc2=eni-2:ACCEPT",
      "--flowlog", "fl-idle3=eni-3"]);
    await cap.ready;
    // Tencent's example: an inbound ping allowed, its reply dropped by the ACL
    py(NS.up, "icmp", A.vm1, 0x1234, 4, 56);
    // eni-1 -> eni-2, allowed and denied by eni-2's security group
    py(NS.vm1, "udp", A.vm1, 4000, A.vm2, 5000, 5, 100);
    py(NS.vm1, "udp", A.vm1, 4001, A.vm2, 5001, 3, 100);
    // uplink -> eni-2, denied: seen only as a drop towards eni-2's address
    py(NS.up, "udp", A.up, 4002, A.vm2, 6000, 2, 30);
    // IPv6, allowed and denied
    py(NS.vm1, "udp", A.vm16, 4003, A.vm26, 5000, 4, 200);
    py(NS.vm1, "udp", A.vm16, 4004, A.vm26, 5001, 2, 20);
    const lines = await stopCapture(cap);
    sink.kill();
    const got = flows(lines);
    const want = new Map([
      [`eni-1 in ACCEPT ${A.up} ${A.vm1} 4660 2048 1`, { packets: 4, bytes: 336 }],
      [`eni-1 out REJECT ${A.vm1} ${A.up} 4660 0 1`, { packets: 4, bytes: 336 }],
      [`eni-1 out ACCEPT ${A.vm1} ${A.vm2} 4000 5000 17`, { packets: 5, bytes: 640 }],
      [`eni-2 in ACCEPT ${A.vm1} ${A.vm2} 4000 5000 17`, { packets: 5, bytes: 640 }],
      [`eni-1 out REJECT ${A.vm1} ${A.vm2} 4001 5001 17`, { packets: 3, bytes: 384 }],
      [`eni-2 in REJECT ${A.vm1} ${A.vm2} 4001 5001 17`, { packets: 3, bytes: 384 }],
      [`eni-2 in REJECT ${A.up} ${A.vm2} 4002 6000 17`, { packets: 2, bytes: 116 }],
      [`eni-1 out ACCEPT ${A.vm16} ${A.vm26} 4003 5000 17`, { packets: 4, bytes: 992 }],
      [`eni-2 in ACCEPT ${A.vm16} ${A.vm26} 4003 5000 17`, { packets: 4, bytes: 992 }],
      [`eni-1 out REJECT ${A.vm16} ${A.vm26} 4004 5001 17`, { packets: 2, bytes: 136 }],
      [`eni-2 in REJECT ${A.vm16} ${A.vm26} 4004 5001 17`, { packets: 2, bytes: 136 }],
    ]);
    assert.deepEqual(Object.fromEntries([...got].sort()), Object.fromEntries([...want].sort()),
      `capture output:\n${lines.join("\n")}`);
    // eni-3 saw nothing: every window says NODATA for it, and never SKIPDATA
    const w = lines.filter((l) => l.startsWith("END")).length;
    assert.ok(w >= 2, "at least two windows closed");
    assert.equal(lines.filter((l) => /^NODATA \d+ \d+ eni-3$/.test(l)).length, w);
    assert.equal(lines.filter((l) => l.startsWith("SKIPDATA")).length, 0);

    // The same windows as Tencent's records, through the record writer and the
    // files sink, filtered by each flow log's TrafficType
    const recs = (id) => {
      const r = spawnSync(BIN, ["records", "--records", recDir, id], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.split("\n").filter(Boolean).map((l) => l.split(" "));
    };
    const sum = (rows) => {
      const m = new Map();
      for (const f of rows) {
        assert.equal(f.length, 14, f.join(" "));
        assert.equal(f[0], "2");
        assert.equal(f[1], "1251762227");
        if (f[13] !== "OK") continue;
        if (/^fe80:/i.test(f[3]) || /^ff0/i.test(f[4]) ||
            (f[7] === "58" && [133, 134, 135, 136, 137, 143].includes(Number(f[6]) >> 8))) continue;
        const key = [f[2], f[3], f[4], f[5], f[6], f[7], f[12]].join(" ");
        const v = m.get(key) || { packets: 0, bytes: 0 };
        v.packets += Number(f[8]);
        v.bytes += Number(f[9]);
        m.set(key, v);
      }
      return Object.fromEntries([...m].sort());
    };
    const asRecords = (eni, action) => Object.fromEntries([...want]
      .filter(([k]) => k.startsWith(`${eni} `) && (!action || k.split(" ")[2] === action))
      .map(([k, v]) => { const f = k.split(" "); return [[f[0], f[3], f[4], f[5], f[6], f[7], f[2]].join(" "), v]; })
      .sort());
    assert.deepEqual(sum(recs("fl-all1")), asRecords("eni-1"));
    assert.deepEqual(sum(recs("fl-rej2")), asRecords("eni-2", "REJECT"));
    assert.deepEqual(sum(recs("fl-acc2")), asRecords("eni-2", "ACCEPT"));
    const idle = recs("fl-idle3");
    assert.equal(idle.length, w, "one record per window for the idle ENI");
    for (const f of idle) assert.deepEqual([f[2], ...f.slice(3, 10), f[12], f[13]],
      ["eni-3", "-", "-", "-", "-", "-", "-", "-", "-", "NODATA"]);
    fs.rmSync(recDir, { recursive: true, force: true });
  } finally {
    killChildren();
    teardown();
  }
});

test("a real TCP transfer with GSO on counts every segment and its IP bytes", T, async (t) => {
  if (maybeSkip(t)) return;
  setup();
  let cap; // eslint-disable-line no-unused-vars
  try {
    const tso = inNs(NS.vm1, "cat", ["/proc/sys/net/ipv4/tcp_timestamps"]).trim();
    const sink = await startSink(NS.vm2, A.vm2);
    cap = startCapture();
    await cap.ready;
    const info = JSON.parse(py(NS.vm1, "tcp", A.vm1, A.vm2, 7000, 4000000));
    const lines = await stopCapture(cap);
    sink.kill();
    const got = flows(lines);
    const out = got.get(`eni-1 out ACCEPT ${A.vm1} ${A.vm2} ${info.sport} 7000 6`);
    const inb = got.get(`eni-2 in ACCEPT ${A.vm1} ${A.vm2} ${info.sport} 7000 6`);
    assert.ok(out, `no flow for the transfer:\n${lines.join("\n")}`);
    // every segment the sender sent (TCP_INFO segs_out, retransmissions included)
    assert.equal(out.packets, info.segs_out);
    assert.ok(out.packets >= Math.ceil(4000000 / 1448), "counted per segment, not per GSO packet");
    // IP bytes: payload sent (with retransmissions) + 20 B IP + 32 B TCP (timestamps)
    // per segment, + 8 B of options more on the SYN
    const hdr = tso === "1" ? 52 : 40;
    assert.equal(out.bytes, info.bytes_sent + hdr * info.segs_out + 8);
    assert.deepEqual(inb, out, "eni-2 saw the same segments come in");
    const back = got.get(`eni-1 in ACCEPT ${A.vm2} ${A.vm1} 7000 ${info.sport} 6`);
    assert.equal(back.packets, info.segs_in);
  } finally {
    killChildren();
    teardown();
  }
});

// the kernel's possible CPUs (each has its own table regions), e.g. "0-1"
function possibleCpus() {
  let n = 0;
  for (const r of fs.readFileSync("/sys/devices/system/cpu/possible", "utf8").trim().split(",")) {
    const [a, b] = r.split("-").map(Number);
    n += (b === undefined ? a : b) - a + 1;
  }
  return n;
}

test("a full table skips, counts what it skipped and says SKIPDATA", T, async (t) => {
  if (maybeSkip(t)) return;
  setup(false);
  let cap; // eslint-disable-line no-unused-vars
  try {
    const sink = await startSink(NS.vm2, A.vm2);
    const recDir = fs.mkdtempSync(path.join(os.tmpdir(), "flowlogd-live-"));
    cap = startCapture(["--table", "8", "--records", recDir, "--account", "1251762227",
      "--flowlog", "fl-skip1=eni-1"]);
    await cap.ready;
    py(NS.vm1, "udpflows", A.vm1, A.vm2, 5000, 20000, 40);
    const lines = await stopCapture(cap);
    sink.kill();
    // 40 one-datagram flows out of eni-1 and into eni-2, 8 entries per CPU and
    // table half: what was counted plus what was skipped is every datagram
    let counted = { out: 0, in: 0 }, skipped = { out: 0, in: 0 };
    for (const l of lines) {
      const f = l.split(" ");
      if (f[0] === "FLOW" && !chatter(f) && f[10] === "17") {
        if (f[3] === "eni-1" && f[4] === "out") counted.out += Number(f[11]);
        if (f[3] === "eni-2" && f[4] === "in") counted.in += Number(f[11]);
      }
      if (f[0] === "SKIPDATA" && f[3] === "eni-1" && f[4] === "out") skipped.out += Number(f[5]);
      if (f[0] === "SKIPDATA" && f[3] === "eni-2" && f[4] === "in") skipped.in += Number(f[5]);
    }
    assert.ok(skipped.out > 0, `SKIPDATA for eni-1 out:\n${lines.join("\n")}`);
    assert.equal(counted.out + skipped.out, 40);
    assert.equal(counted.in + skipped.in, 40);
    assert.ok(counted.out <= possibleCpus() * 2 * 8, "never more flows than the table holds");
    // and the flow log's records for that window say so
    const r = spawnSync(BIN, ["records", "--records", recDir, "fl-skip1"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const skipLines = r.stdout.split("\n").filter((l) => / SKIPDATA$/.test(l));
    assert.ok(skipLines.length >= 1, r.stdout);
    for (const l of skipLines) assert.match(l, /^2 1251762227 eni-1 - - - - - - - \d+ \d+ - SKIPDATA$/);
    fs.rmSync(recDir, { recursive: true, force: true });
  } finally {
    killChildren();
    teardown();
  }
});

test("a capture killed without cleanup is replaced by the next one, which counts exactly", T, async (t) => {
  if (maybeSkip(t)) return;
  setup(false);
  try {
    const sink = await startSink(NS.vm2, A.vm2);
    const first = startCapture();
    await first.ready;
    const gone = new Promise((r) => first.p.on("exit", r));
    first.p.kill("SIGKILL"); // no detach: its filters stay attached
    await gone;
    const filters = () => inNs(NS.host, "tc", ["filter", "show", "dev", DEV.vm1, "ingress"])
      .split("\n").filter((l) => / bpf .*handle /.test(l));
    assert.equal(filters().length, 1, "the killed capture's filter is still there");
    const cap = startCapture();
    await cap.ready;
    assert.equal(filters().length, 1, "replaced, not added to");
    py(NS.vm1, "udp", A.vm1, 4100, A.vm2, 5000, 7, 100);
    const lines = await stopCapture(cap);
    sink.kill();
    const got = flows(lines);
    assert.deepEqual(got.get(`eni-1 out ACCEPT ${A.vm1} ${A.vm2} 4100 5000 17`), { packets: 7, bytes: 896 });
    assert.deepEqual(got.get(`eni-2 in ACCEPT ${A.vm1} ${A.vm2} 4100 5000 17`), { packets: 7, bytes: 896 });
  } finally {
    killChildren();
    teardown();
  }
});

test("capture refuses clearly where it cannot run", (t) => {
  if (maybeSkip(t)) return;
  const r = spawnSync(BIN, ["capture", "--netns", `${P}nosuch`, "--watch", "x=eni-1"], { encoding: "utf8" });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /network namespace .*nosuch: No such file/);
  // without CAP_BPF (an unprivileged user): says why, exits non-zero
  const u = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
    "--bounding-set=-all", BIN, "capture", "--watch", "lo=eni-1"], { encoding: "utf8" });
  if (u.error) return t.diagnostic(`setpriv unavailable: ${u.error.code}`);
  assert.notEqual(u.status, 0);
  assert.match(u.stderr, /cannot load the capture programs: permission denied .*CAP_BPF/);
});
