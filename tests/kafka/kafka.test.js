// kafka.test.js: the CKafka sink (issue 15 §2) through the real binary,
// against librdkafka's mock cluster (tests/kafka/kmock.c): `flowlogd replay
// --kafka-brokers ... --kafka-topic ...` over a tools/flowgen capture, and
// every record consumed (by kmock's consumer, and by kcat) equals flowgen's
// ground truth; brokers down while records are produced and back: nothing
// lost; the producer killed with SIGKILL while the brokers are down and the
// spool sent after a restart: nothing lost; a full spool drops whole
// windows with one SKIPDATA record each; a corrupt spool file is reported
// and kept aside, never sent.
"use strict";

const { describe, test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const readline = require("node:readline");
const { spawn, spawnSync } = require("node:child_process");

const BIN = process.env.FLOWLOGD_BIN || path.resolve(__dirname, "../../build/flowlogd");
const FLOWGEN = process.env.FLOWGEN_BIN || path.join(path.dirname(BIN), "tools", "flowgen");
const KMOCK = process.env.KMOCK_BIN || path.join(path.dirname(BIN), "tests", "kmock");

const FIELDS = ["version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport",
  "dstport", "protocol", "packets", "bytes", "start", "end", "action", "log-status"];
const ENI = "eni-kafka001";
const IDS = ["--interface-id", ENI, "--account-id", "1251762227"];

let dir;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "flowlogd-kafka-"));
});
after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** kmock: a mock cluster and a line protocol on its stdin/stdout. */
class Kmock {
  static async start(topics, brokers = 3) {
    const k = new Kmock();
    const args = ["--brokers", String(brokers)];
    for (const t of topics) args.push("--topic", t);
    k.proc = spawn(KMOCK, args, { stdio: ["pipe", "pipe", "pipe"] });
    k.lines = [];
    k.waiters = [];
    k.stderr = "";
    k.proc.stderr.on("data", (d) => { k.stderr += d; });
    readline.createInterface({ input: k.proc.stdout }).on("line", (l) => {
      k.lines.push(l);
      for (const w of k.waiters.splice(0)) w();
    });
    const first = await k.next();
    assert.match(first, /^BOOTSTRAP /, `kmock: ${first} ${k.stderr}`);
    k.bootstrap = first.slice(10);
    return k;
  }
  async next() {
    while (this.lines.length === 0) {
      if (this.proc.exitCode !== null) throw new Error(`kmock exited: ${this.stderr}`);
      await new Promise((res) => {
        this.waiters.push(res);
        setTimeout(res, 200);
      });
    }
    return this.lines.shift();
  }
  async cmd(line) {
    this.proc.stdin.write(line + "\n");
    const out = [];
    for (;;) {
      const l = await this.next();
      out.push(l);
      if (!l.startsWith("MSG ")) return out;
    }
  }
  async down() { assert.deepEqual(await this.cmd("down all"), ["OK"]); }
  async up() { assert.deepEqual(await this.cmd("up all"), ["OK"]); }
  /** Every message of the topic: [{partition, offset, key, value}]. */
  async count(topic) {
    const [l] = await this.cmd(`count ${topic}`);
    const m = /^COUNT (-?\d+)$/.exec(l);
    assert.ok(m, l);
    return +m[1];
  }
  /** Every message of the topic (all of them: the count first). */
  async all(topic) {
    const n = await this.count(topic);
    const msgs = await this.consume(topic, n);
    assert.equal(msgs.length, n, "consumed every message the topic holds");
    return msgs;
  }
  async consume(topic, n, ms = 60000) {
    const out = await this.cmd(`consume ${topic} ${n} ${ms}`);
    const end = out.pop();
    assert.match(end, /^END \d+$/);
    return out.map((l) => {
      const m = /^MSG (\d+) (\d+) ([^\t]*)\t(.*)$/.exec(l);
      assert.ok(m, l);
      return { partition: +m[1], offset: +m[2], key: m[3], value: JSON.parse(m[4]) };
    });
  }
  async stop() {
    if (this.proc.exitCode === null) {
      this.proc.stdin.end("quit\n");
      await new Promise((res) => this.proc.once("exit", res));
    }
  }
}

function flowgen(name, args) {
  const pcap = path.join(dir, `${name}.pcap`);
  const r = spawnSync(FLOWGEN, ["--out", pcap, "--truth", path.join(dir, name),
    "--account-id", "1251762227", "--interface-id", ENI, ...args], { encoding: "utf8" });
  assert.equal(r.status, 0, `flowgen: ${r.stderr}`);
  return pcap;
}

function truthLines(name, w) {
  return fs.readFileSync(path.join(dir, `${name}.${w}.txt`), "utf8").split("\n").filter(Boolean);
}

/** A record's JSON back as its text line (the field order of the line). */
function toLine(v) {
  return FIELDS.map((f) => {
    assert.equal(typeof v[f], "string", `field ${f} of ${JSON.stringify(v)}`);
    return v[f];
  }).join(" ");
}

/** Runs flowlogd (async); resolves {status, signal, stderr}. `onErr` sees stderr. */
function runAsync(args, onErr) {
  const p = spawn(BIN, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  p.stderr.on("data", (d) => {
    stderr += d;
    if (onErr) onErr(stderr);
  });
  p.done = new Promise((res) => p.on("exit", (status, signal) => res({ status, signal, stderr })));
  return p;
}

function spoolFiles(spool, ext = ".win") {
  return fs.existsSync(spool) ? fs.readdirSync(spool).filter((f) => f.endsWith(ext)) : [];
}

/** Checks messages against the truth lines. With `dedupe`, a record may
 * come more than once (at-least-once) but always with the same id and the
 * same content. Returns the unique records. */
function checkAgainstTruth(msgs, truth, { dedupe = false } = {}) {
  const byId = new Map();
  for (const m of msgs) {
    const id = m.value.__RECORD_ID__;
    assert.match(id, /^[^:]+:\d+:\d+$/, `record id ${id}`);
    assert.equal(m.key, m.value["interface-id"], "message key = the resource id");
    assert.deepEqual(Object.keys(m.value), [...FIELDS, "__RECORD_ID__"]);
    const line = toLine(m.value);
    if (byId.has(id)) {
      assert.ok(dedupe, `record ${id} delivered twice`);
      assert.equal(byId.get(id), line, `record ${id}: two contents`);
    }
    byId.set(id, line);
  }
  const got = [...byId.values()].sort();
  assert.equal(got.length, truth.length, "records consumed vs ground truth");
  assert.deepEqual(got, [...truth].sort());
  return byId;
}

function kcatPath() {
  for (const d of (process.env.PATH || "").split(":")) {
    const p = path.join(d, "kcat");
    if (fs.existsSync(p)) return p;
  }
  return null;
}

describe("CKafka sink against librdkafka's mock cluster", () => {
  test("every record consumed equals the ground truth (kmock's consumer and kcat)", async (t) => {
    const pcap = flowgen("basic", ["--windows", "60", "--packets", "20000", "--flows", "300"]);
    const truth = truthLines("basic", 60);
    const k = await Kmock.start(["flowlog:4"]);
    try {
      const spool = path.join(dir, "spool-basic");
      const r = spawnSync(BIN, ["replay", "--pcap", pcap, "--capture-window", "60", ...IDS,
        "--kafka-brokers", k.bootstrap, "--kafka-topic", "flowlog", "--spool", spool,
        "--flowlog-id", "fl-basic001", "--stats"], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, "", "records go to Kafka, not to standard output");
      assert.match(r.stderr, new RegExp(`${truth.length} records\\)`));
      assert.deepEqual(spoolFiles(spool), [], "the spool is empty once Kafka has everything");
      const msgs = await k.all("flowlog");
      const ids = checkAgainstTruth(msgs, truth);
      // ids: flow log, window start, index in the window
      for (const [id, line] of ids) {
        const [fl, start] = id.split(":");
        assert.equal(fl, "fl-basic001");
        assert.equal(start, line.split(" ")[10]);
      }
      // one ENI: one key, so one partition, in order within each window
      assert.equal(new Set(msgs.map((m) => m.partition)).size, 1);

      const kcat = kcatPath();
      if (!kcat) {
        if (process.env.CI === "true") assert.fail("kcat is not installed (Debian package kcat)");
        t.skip("kcat is not installed (Debian package kcat)");
        return;
      }
      const kc = spawnSync(kcat, ["-b", k.bootstrap, "-C", "-t", "flowlog", "-o", "beginning",
        "-e", "-f", "%k\t%s\n"], { encoding: "utf8", timeout: 60000, maxBuffer: 1 << 28 });
      assert.equal(kc.status, 0, `kcat: ${kc.status} ${kc.signal} ${kc.error} ${kc.stderr}`);
      const kmsgs = kc.stdout.split("\n").filter(Boolean).map((l) => {
        const [key, value] = l.split("\t");
        return { key, value: JSON.parse(value) };
      });
      checkAgainstTruth(kmsgs, truth);
    } finally {
      await k.stop();
    }
  });

  test("brokers down while records are produced, then back: nothing lost", async () => {
    const pcap = flowgen("down", ["--windows", "10", "--packets", "40000", "--flows", "400"]);
    const truth = truthLines("down", 10);
    const k = await Kmock.start(["flowlog:4"]);
    try {
      const spool = path.join(dir, "spool-down");
      let spooled;
      const allSpooled = new Promise((res) => { spooled = res; });
      await k.down();
      const p = runAsync(["replay", "--pcap", pcap, "--capture-window", "10", ...IDS,
        "--kafka-brokers", k.bootstrap, "--kafka-topic", "flowlog", "--spool", spool,
        "--stats"], (e) => { if (/windows in the spool/.test(e)) spooled(); });
      await allSpooled;
      // the windows wait on disk while no broker answers
      await new Promise((res) => setTimeout(res, 1500));
      assert.ok(spoolFiles(spool).length > 0, "windows wait in the spool");
      assert.equal(p.exitCode, null, "replay waits for Kafka");
      await k.up();
      const r = await p.done;
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(spoolFiles(spool), []);
      const msgs = await k.all("flowlog");
      // nothing had reached a broker before they went down: no repeat either
      checkAgainstTruth(msgs, truth);
    } finally {
      await k.stop();
    }
  });

  test("brokers taken down mid-stream (some windows acknowledged, others in flight), then back: nothing lost",
    async () => {
      const pcap = flowgen("mid", ["--windows", "10", "--packets", "40000", "--flows", "400"]);
      const truth = truthLines("mid", 10);
      const k = await Kmock.start(["flowlog:4"]);
      try {
        const spool = path.join(dir, "spool-mid");
        // slow brokers, so that the stream is still going when they go down
        assert.deepEqual(await k.cmd("rtt all 100"), ["OK"]);
        let spooled;
        const allSpooled = new Promise((res) => { spooled = res; });
        const p = runAsync(["replay", "--pcap", pcap, "--capture-window", "10", ...IDS,
          "--kafka-brokers", k.bootstrap, "--kafka-topic", "flowlog", "--spool", spool,
          "--stats"], (e) => { if (/windows in the spool/.test(e)) spooled(); });
        await allSpooled;
        const total = spoolFiles(spool).length;
        let n = total;
        for (let i = 0; i < 3000 && n >= total && p.exitCode === null; i++) {
          await new Promise((res) => setTimeout(res, 5));
          n = spoolFiles(spool).length;
        }
        assert.equal(p.exitCode, null, "replay still sending when the brokers go down");
        await k.down();
        assert.ok(spoolFiles(spool).length > 0, "windows left to send when the brokers went down");
        await new Promise((res) => setTimeout(res, 1500));
        await k.up();
        assert.deepEqual(await k.cmd("rtt all 0"), ["OK"]);
        const r = await p.done;
        assert.equal(r.status, 0, r.stderr);
        const msgs = await k.all("flowlog");
        // a request whose answer was lost with the broker is sent again by
        // librdkafka; a real broker drops the idempotent producer's repeat,
        // librdkafka's mock keeps it (its log append checks sequence numbers
        // for transactional producers only): at-least-once, same record id
        checkAgainstTruth(msgs, truth, { dedupe: true });
      } finally {
        await k.stop();
      }
    });

  test("brokers down, producer killed with SIGKILL, restarted: nothing lost (spool)", async () => {
    const pcap = flowgen("kill", ["--windows", "10", "--packets", "30000", "--flows", "300"]);
    const truth = truthLines("kill", 10);
    const k = await Kmock.start(["flowlog:4"]);
    try {
      const spool = path.join(dir, "spool-kill");
      let spooled;
      const allSpooled = new Promise((res) => { spooled = res; });
      await k.down();
      const p = runAsync(["replay", "--pcap", pcap, "--capture-window", "10", ...IDS,
        "--kafka-brokers", k.bootstrap, "--kafka-topic", "flowlog", "--spool", spool],
      (e) => { if (/windows in the spool/.test(e)) spooled(); });
      await allSpooled;
      await new Promise((res) => setTimeout(res, 500));
      p.kill("SIGKILL");
      const r = await p.done;
      assert.equal(r.signal, "SIGKILL");
      const left = spoolFiles(spool).length;
      assert.ok(left > 0, "the killed producer's windows are in the spool");
      await k.up();
      // a new process takes the spool up and sends it
      const s = spawnSync(BIN, ["kafka-send", "--spool", spool, "--timeout", "120"],
        { encoding: "utf8" });
      assert.equal(s.status, 0, s.stderr);
      assert.match(s.stderr, new RegExp(`${left} windows sent`));
      assert.deepEqual(spoolFiles(spool), []);
      const msgs = await k.all("flowlog");
      checkAgainstTruth(msgs, truth, { dedupe: true });
    } finally {
      await k.stop();
    }
  });

  test("killed while sending, restarted: at-least-once, duplicates carry the same record id",
    async () => {
      const pcap = flowgen("resend", ["--windows", "10", "--packets", "30000", "--flows", "300"]);
      const truth = truthLines("resend", 10);
      const k = await Kmock.start(["flowlog:4"]);
      try {
        const spool = path.join(dir, "spool-resend");
        // spool everything with the brokers down, then kill once some
        // windows were acknowledged and others not
        await k.down();
        let spooled;
        const allSpooled = new Promise((res) => { spooled = res; });
        const p = runAsync(["replay", "--pcap", pcap, "--capture-window", "10", ...IDS,
          "--kafka-brokers", k.bootstrap, "--kafka-topic", "flowlog", "--spool", spool],
        (e) => { if (/windows in the spool/.test(e)) spooled(); });
        await allSpooled;
        const before = spoolFiles(spool).length;
        await k.up();
        for (let i = 0; i < 400 && spoolFiles(spool).length === before; i++) {
          await new Promise((res) => setTimeout(res, 5));
        }
        p.kill("SIGKILL");
        await p.done;
        const s = spawnSync(BIN, ["kafka-send", "--spool", spool, "--timeout", "120"],
          { encoding: "utf8" });
        assert.equal(s.status, 0, s.stderr);
        const msgs = await k.all("flowlog");
        checkAgainstTruth(msgs, truth, { dedupe: true });
      } finally {
        await k.stop();
      }
    });

  test("a full spool drops whole windows: one SKIPDATA record each, logged and counted",
    async () => {
      const pcap = flowgen("full", ["--windows", "10", "--packets", "30000", "--flows", "300"]);
      const truth = truthLines("full", 10);
      const byWindow = new Map();
      for (const l of truth) {
        const s = l.split(" ")[10];
        if (!byWindow.has(s)) byWindow.set(s, []);
        byWindow.get(s).push(l);
      }
      const k = await Kmock.start(["flowlog:4"]);
      try {
        const spool = path.join(dir, "spool-full");
        await k.down();
        let spooled;
        const allSpooled = new Promise((res) => { spooled = res; });
        // room for a few windows only
        const bound = Math.floor(fs.statSync(path.join(dir, "full.10.txt")).size / byWindow.size * 3.5);
        const p = runAsync(["replay", "--pcap", pcap, "--capture-window", "10", ...IDS,
          "--kafka-brokers", k.bootstrap, "--kafka-topic", "flowlog", "--spool", spool,
          "--spool-max-bytes", String(bound)], (e) => { if (/windows in the spool/.test(e)) spooled(); });
        await allSpooled;
        await k.up();
        const r = await p.done;
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stderr, /spool full .* dropped \(\d+ records\), a SKIPDATA record sent/);
        const m = /(\d+) dropped whole for a full spool \((\d+) records/.exec(r.stderr);
        assert.ok(m, r.stderr);
        const dropped = +m[1];
        assert.ok(dropped > 0 && dropped < byWindow.size, `dropped ${dropped} of ${byWindow.size}`);
        const msgs = await k.all("flowlog");
        const got = new Map();
        for (const msg of msgs) {
          const s = msg.value.start;
          if (!got.has(s)) got.set(s, []);
          got.get(s).push(toLine(msg.value));
        }
        let skips = 0;
        for (const [start, lines] of byWindow) {
          const g = got.get(start) || [];
          if (g.length === 1 && g[0].endsWith(" SKIPDATA")) {
            skips++;
            const w = g[0].split(" ");
            assert.deepEqual(w.slice(0, 3), ["2", "1251762227", ENI]);
            assert.deepEqual(w.slice(3, 10), ["-", "-", "-", "-", "-", "-", "-"]);
            assert.equal(+w[11] - +w[10], 10, "the window's bounds");
            assert.equal(w[12], "-");
          } else {
            assert.deepEqual(g.sort(), [...lines].sort(), `window ${start}: whole`);
          }
        }
        assert.equal(skips, dropped);
        assert.equal(+m[2], truth.length - msgs.length + dropped);
      } finally {
        await k.stop();
      }
    });

  test("a corrupt spool file is reported and kept aside as .bad, never sent", async () => {
    const k = await Kmock.start(["flowlog:1"], 1);
    try {
      const spool = path.join(dir, "spool-bad");
      fs.mkdirSync(spool);
      fs.writeFileSync(path.join(spool, "00000000000000000007.win"),
        'FLSPOOL1\n{"flowlog":"fl-x","start":1,"end":2,"topic":"flowlog","brokers":"' +
        k.bootstrap + '","key":"","fields":"version","n":1,"len":100,"sum":"0"}\n2\n');
      const s = spawnSync(BIN, ["kafka-send", "--spool", spool, "--timeout", "30"],
        { encoding: "utf8" });
      assert.equal(s.status, 0, s.stderr);
      assert.match(s.stderr, /truncated: the header says 100 bytes of records, the file has 2/);
      assert.match(s.stderr, /1 \.bad files kept/);
      assert.deepEqual(spoolFiles(spool, ".bad"), ["00000000000000000007.bad"]);
      assert.deepEqual(await k.cmd("count flowlog"), ["COUNT 0"]);
    } finally {
      await k.stop();
    }
  });

  test("--kafka-topic without --kafka-brokers is refused", () => {
    const r = spawnSync(BIN, ["replay", "--pcap", "/nonexistent", "--kafka-topic", "t"],
      { encoding: "utf8" });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--kafka-brokers and --kafka-topic go together/);
  });
});
