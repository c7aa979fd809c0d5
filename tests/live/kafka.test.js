// kafka.test.js: a CKafka flow log end to end (issue 15 §2): the inventory's
// CkafkaInstances[].Brokers points at librdkafka's mock cluster (kmock), the
// flow log is made through the official Node SDK (StorageType ckafka), the
// agent inside `serve --capture` captures real UDP traffic between network
// namespaces this test makes, and the records consumed from the Kafka topic
// are the files sink's records of the same flow log, one for one, and count
// the traffic sent exactly.
//
//   vm1 (eni-1) --+-- host ns (forwarding) --+-- vm2 (eni-2)
//
// Every address is one the test assigns; no namespace has a route out; the
// mock cluster listens on 127.0.0.1 in the test's own namespace.
// Needs root (CAP_BPF, CAP_NET_ADMIN), `ip`, python3 and kmock: otherwise the
// test reports itself skipped with the reason, and with CI=true that fails.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const readline = require("node:readline");
const { spawn, spawnSync } = require("node:child_process");
const h = require("../integration/harness.js");

const BIN = h.BIN;
const KMOCK = process.env.KMOCK_BIN || path.join(path.dirname(BIN), "tests", "kmock");
const TRAFFIC = path.join(__dirname, "traffic.py");
const { sh, ip, inNs, sleep, children, startSink, until } = require("./lib.js");
const P = `kf${process.pid % 100000}`;
const NS = { host: `${P}h`, vm1: `${P}v1`, vm2: `${P}v2` };
const DEV = { vm1: `${P}e1`, vm2: `${P}e2` };
const A = { vm1: "10.97.1.2", vm2: "10.97.2.2" };
const WINDOW = 2;

function whyNot() {
  if (process.getuid && process.getuid() !== 0) return "needs root (CAP_BPF, CAP_NET_ADMIN)";
  for (const [cmd, args] of [["ip", ["-V"]], ["python3", ["-V"]]]) {
    const r = spawnSync(cmd, args, { encoding: "utf8" });
    if (r.error || r.status !== 0) return `needs ${cmd}`;
  }
  if (!fs.existsSync(BIN)) return `no flowlogd binary at ${BIN}`;
  if (!fs.existsSync(KMOCK)) return `no kmock at ${KMOCK} (make build/tests/kmock)`;
  const r = spawnSync("ip", ["netns", "add", `${P}probe`], { encoding: "utf8" });
  if (r.status !== 0) return `cannot make a network namespace: ${r.stderr.trim()}`;
  spawnSync("ip", ["netns", "del", `${P}probe`]);
  const probe = spawnSync(BIN, ["capture", "--help"], { encoding: "utf8" });
  if (probe.status !== 0) return "flowlogd capture is not available";
  return null;
}
const skipReason = whyNot();


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
  for (const [k, n] of [["vm1", 1], ["vm2", 2]]) {
    ip("link", "add", DEV[k], "netns", NS.host, "type", "veth", "peer", "name", "eth0", "netns", NS[k]);
    ip("-n", NS.host, "addr", "add", `10.97.${n}.1/24`, "dev", DEV[k]);
    ip("-n", NS[k], "addr", "add", `${A[k]}/24`, "dev", "eth0");
    ip("-n", NS.host, "link", "set", DEV[k], "up");
    ip("-n", NS[k], "link", "set", "eth0", "up");
    ip("-n", NS[k], "route", "add", "default", "via", `10.97.${n}.1`);
  }
  inNs(NS.host, "sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
}


async function kmock() {
  const p = spawn(KMOCK, ["--brokers", "1", "--topic", "flowlogs:2"], { stdio: ["pipe", "pipe", "pipe"] });
  children.add(p);
  const lines = [];
  let wake = null;
  readline.createInterface({ input: p.stdout }).on("line", (l) => {
    lines.push(l);
    if (wake) wake();
  });
  const next = async () => {
    while (!lines.length) {
      if (p.exitCode !== null) throw new Error("kmock exited");
      await new Promise((r) => { wake = r; setTimeout(r, 200); });
    }
    return lines.shift();
  };
  const first = await next();
  assert.match(first, /^BOOTSTRAP /);
  const cmd = async (c) => {
    p.stdin.write(c + "\n");
    const out = [];
    for (;;) {
      const l = await next();
      out.push(l);
      if (!l.startsWith("MSG ")) return out;
    }
  };
  return { p, bootstrap: first.slice(10), cmd };
}


function records(dataDir, fl) {
  const r = spawnSync(BIN, ["records", "--data", dataDir, fl], { encoding: "utf8" });
  if (r.status === 1 && /no records/.test(r.stderr)) return [];
  assert.equal(r.status, 0, `flowlogd records: ${r.stderr}`);
  return r.stdout.split("\n").filter(Boolean);
}


const FIELDS = ["version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport",
  "dstport", "protocol", "packets", "bytes", "start", "end", "action", "log-status"];

test.after(() => {
  for (const c of children) c.kill("SIGKILL");
  if (!skipReason) teardown();
});

test("serve --capture: a CKafka flow log's records reach its topic (the instance's Brokers), equal to the files sink's",
  { timeout: 240000 }, async (t) => {
    if (skipReason) {
      if (process.env.CI === "true") assert.fail(`live test cannot run in CI: ${skipReason}`);
      t.skip(skipReason);
      return;
    }
    setupNet();
    t.after(() => teardown());
    const k = await kmock();
    const host = `${P}host`;
    const tag = "kfka";
    const id = (p, n) => `${p}-${tag}${String(n).padStart(4, "0")}`;
    const ids = { vpc: id("vpc", 1), sub: id("subnet", 1), eni1: id("eni", 1), eni2: id("eni", 2), kafka: id("ckafka", 1), ins: id("ins", 1) };
    const dataDir = h.tmpDir("kafka-live");
    const acct = h.createAccount(dataDir, { sqlite: true });
    h.importInventory(dataDir, acct.Uin, {
      Vpcs: [{ VpcId: ids.vpc, CidrBlock: "10.97.0.0/16" }],
      Subnets: [{ SubnetId: ids.sub, VpcId: ids.vpc, CidrBlock: "10.97.0.0/16" }],
      Instances: [{ InstanceId: ids.ins }],
      NetworkInterfaces: [
        { NetworkInterfaceId: ids.eni1, VpcId: ids.vpc, SubnetId: ids.sub, InstanceId: ids.ins, Host: host, HostDevice: DEV.vm1, HostNetns: NS.host },
        { NetworkInterfaceId: ids.eni2, VpcId: ids.vpc, SubnetId: ids.sub, InstanceId: ids.ins, Host: host, HostDevice: DEV.vm2, HostNetns: NS.host },
      ],
      CkafkaInstances: [{ InstanceId: ids.kafka, Edition: "profession", Topics: ["flowlogs"], Brokers: k.bootstrap }],
    });
    const server = await h.startServer({
      dataDir, t, sqlite: true,
      args: ["--capture", "--capture-window", String(WINDOW), "--capture-host", host, "--quiet"],
    });
    const c = h.vpcClient({ endpoint: server.endpoint, secretId: acct.SecretId, secretKey: acct.SecretKey });
    const fl = (await c.CreateFlowLog({
      FlowLogName: "to-kafka", VpcId: ids.vpc, ResourceType: "NETWORKINTERFACE", ResourceId: ids.eni1,
      TrafficType: "ALL", StorageType: "ckafka", FlowLogStorage: { StorageId: ids.kafka, StorageTopic: "flowlogs" },
    })).FlowLog[0].FlowLogId;
    await until("the first window in the files sink", () => records(dataDir, fl).length > 0);
    await startSink(NS.vm2, A.vm2);
    sh("ip", ["netns", "exec", NS.vm1, "python3", TRAFFIC, "udp", A.vm1, "4100", A.vm2, "5100", "20", "100"]);
    await sleep(WINDOW * 2000 + 1500);

    // every record the files sink has reaches the topic (the ones of windows
    // closed so far; a window closing meanwhile may be on its way)
    const consume = async () => {
      const [cnt] = await k.cmd("count flowlogs");
      const n = Number(cnt.split(" ")[1]);
      const out = await k.cmd(`consume flowlogs ${n} 20000`);
      out.pop();
      return out.map((l) => {
        const m = /^MSG \d+ \d+ ([^\t]*)\t(.*)$/.exec(l);
        return { key: m[1], v: JSON.parse(m[2]) };
      });
    };
    const files = records(dataDir, fl);
    let msgs = [];
    await until("the files sink's records in Kafka", async () => {
      msgs = await consume();
      const got = new Set(msgs.map((m) => FIELDS.map((f) => m.v[f]).join(" ")));
      return files.every((l) => got.has(l));
    }, 150000); // a delivery that failed backs off up to 30 s; a loaded machine needs the room
    for (const m of msgs) {
      assert.equal(m.key, ids.eni1, "message key = the ENI");
      assert.match(m.v.__RECORD_ID__, new RegExp(`^${fl}:\\d+:\\d+$`));
      assert.equal(m.v["account-id"], String(acct.AppId));
    }
    // the traffic, counted exactly, in the Kafka records (de-duplicated by id)
    const byId = new Map(msgs.map((m) => [m.v.__RECORD_ID__, m.v]));
    let packets = 0, bytes = 0;
    for (const v of byId.values())
      if (v.srcport === "4100" && v.dstport === "5100" && v.action === "ACCEPT") {
        packets += Number(v.packets);
        bytes += Number(v.bytes);
      }
    assert.deepEqual({ packets, bytes }, { packets: 20, bytes: 2560 });
    k.p.stdin.end("quit\n");
  });
