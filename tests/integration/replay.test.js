// replay.test.js: the flow engine offline (issue 14 §5, §6): `flowlogd
// replay` over captures made by tools/flowgen equals flowgen's ground truth,
// record for record and byte for byte, for several window sizes and address
// plans; NODATA for empty windows; SKIPDATA when the table is too small; a
// truncated or corrupt capture is reported with the byte offset where it
// broke, after the records read so far.
"use strict";

const { describe, test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const BIN = process.env.FLOWLOGD_BIN || path.resolve(__dirname, "../../build/flowlogd");
const FLOWGEN = process.env.FLOWGEN_BIN || path.join(path.dirname(BIN), "tools", "flowgen");

let dir;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "flowlogd-replay-"));
});
after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  return r;
}

function flowgen(name, args) {
  const pcap = path.join(dir, `${name}.pcap`);
  const r = run(FLOWGEN, ["--out", pcap, "--truth", path.join(dir, name), ...args]);
  assert.equal(r.status, 0, `flowgen: ${r.stderr}`);
  return pcap;
}

function truth(name, w) {
  return fs.readFileSync(path.join(dir, `${name}.${w}.txt`), "utf8");
}

function replay(pcap, args) {
  return run(BIN, ["replay", "--pcap", pcap, ...args]);
}

/** Record offsets in a pcap file: [start of each record header]. */
function recordOffsets(buf) {
  const offs = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    offs.push(off);
    off += 16 + buf.readUInt32LE(off + 8);
  }
  return offs;
}

const IDS = ["--interface-id", "eni-test0001", "--account-id", "1251762227"];

describe("flowlogd replay equals flowgen's ground truth", () => {
  const windows = [1, 10, 60, 300];
  let pcap;
  before(() => {
    pcap = flowgen("mix", ["--packets", "30000", "--flows", "400", "--windows", windows.join(","), ...IDS]);
  });
  for (const w of windows) {
    test(`${w}-second windows`, () => {
      const r = replay(pcap, ["--capture-window", String(w), ...IDS]);
      assert.equal(r.status, 0, r.stderr);
      const want = truth("mix", w);
      assert.ok(want.split("\n").length > 100, "the truth has records");
      assert.equal(r.stdout, want);
    });
  }

  test("the capture holds every kind of traffic the issue names", () => {
    const lines = truth("mix", 60).trim().split("\n").map((l) => l.split(" "));
    const protos = new Set(lines.map((f) => f[7]));
    for (const p of ["1", "6", "17", "47", "58"]) assert.ok(protos.has(p), `protocol ${p}`);
    assert.ok(lines.some((f) => f[7] === "1" && f[6] === "2048"), "ICMP echo request: 8<<8");
    assert.ok(lines.some((f) => f[7] === "1" && f[6] === "0"), "ICMP echo reply");
    assert.ok(lines.some((f) => f[7] === "47" && f[5] === "-" && f[6] === "-"), "GRE: '-' ports");
    assert.ok(lines.some((f) => f[3].includes(":")), "IPv6");
    assert.ok(lines.some((f) => f[6] === "53" || f[5] === "53"), "DNS");
  });

  test("a different seed and address plan, 7-second windows", () => {
    const p = flowgen("plan", ["--packets", "15000", "--flows", "2000", "--seed", "42", "--windows", "7",
      "--src-net", "192.0.2.0/24", "--dst-net", "198.51.100.0/24", "--src-net6", "fd00:1::/64",
      "--dst-net6", "fd00:2::/64", "--duration", "100"]);
    const r = replay(p, ["--capture-window", "7"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, truth("plan", 7));
    assert.match(r.stdout, /^2 - - 192\.0\.2\./m);
  });

  test("first/last packet as start/end, and tcp-flags, type, flow-direction (version 5)", () => {
    const p = flowgen("ext", ["--packets", "20000", "--flows", "300", "--windows", "10,60", "--first-last", "--extended", ...IDS]);
    for (const w of [10, 60]) {
      const r = replay(p, ["--capture-window", String(w), "--first-last", "--local", "10.0.0.0/8,2001:db8:1::/64",
        "--format", "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status tcp-flags type flow-direction", ...IDS]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, truth("ext", w));
    }
    const lines = truth("ext", 60).trim().split("\n").map((l) => l.split(" "));
    assert.ok(lines.some((f) => f[14] === "19"), "a server side: SYN-ACK + FIN");
    assert.ok(lines.some((f) => f[14] === "3"), "a client side: SYN + FIN");
    assert.ok(lines.some((f) => f[10] !== f[11] && Number(f[10]) % 60 !== 0), "first/last, not the window");
  });

  test("the CCN line: regions from the attached CIDRs, '-' ports for ICMP, same counts as the ENI line", () => {
    const r = replay(pcap, ["--capture-window", "60", "--format", "ccn", "--interface-id", "ccn-2y7cs5jl",
      "--region", "ap-guangzhou", "--ccn-regions", "10.0.0.0/8=ap-guangzhou,172.16.0.0/12=ap-beijing,2001:db8:1::/64=ap-shanghai"]);
    assert.equal(r.status, 0, r.stderr);
    const got = r.stdout.trim().split("\n").map((l) => l.split(" "));
    const want = truth("mix", 60).trim().split("\n").map((l) => l.split(" "));
    assert.equal(got.length, want.length);
    const region = (a) => (a.startsWith("10.") ? "ap-guangzhou" : a.startsWith("172.") ? "ap-beijing"
      : a.startsWith("2001:db8:1:") ? "ap-shanghai" : "-");
    got.forEach((f, i) => {
      const w = want[i];
      assert.deepEqual([f[0], f[1], f[2]], ["2", "ap-guangzhou", "ccn-2y7cs5jl"]);
      assert.deepEqual([f[3], f[4], f[7], f[10], f[11], f[12], f[13]], [w[3], w[4], w[7], w[8], w[9], w[10], w[11]]);
      const ported = w[7] === "6" || w[7] === "17";
      assert.deepEqual([f[5], f[6]], ported ? [w[5], w[6]] : ["-", "-"]);
      assert.deepEqual([f[8], f[9]], [region(f[3]), region(f[4])]);
    });
    const bad = replay(pcap, ["--ccn-regions", "10.0.0.0/8"]);
    assert.equal(bad.status, 2);
  });

  test("sparse traffic: the empty windows between packets say NODATA", () => {
    const p = flowgen("sparse", ["--packets", "40", "--flows", "3", "--duration", "600", "--windows", "2,30", ...IDS]);
    for (const w of [2, 30]) {
      const r = replay(p, ["--capture-window", String(w), ...IDS]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, truth("sparse", w));
    }
    assert.match(truth("sparse", 2), /^2 1251762227 eni-test0001 - - - - - - - \d+ \d+ - NODATA$/m);
  });

  test("a table too small: the windows that overflowed say SKIPDATA, nothing else is wrong", () => {
    const r = replay(pcap, ["--capture-window", "60", "--max-flows", "50", ...IDS]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /found the table full/);
    const got = r.stdout.trim().split("\n");
    const skip = got.filter((l) => l.endsWith(" SKIPDATA"));
    assert.ok(skip.length > 0);
    // every OK record it did write is a prefix-table flow with partial counts,
    // never a flow that is not in the truth
    const keys = new Set(truth("mix", 60).trim().split("\n").map((l) => l.split(" ").slice(0, 8).concat(l.split(" ").slice(10, 12)).join(" ")));
    for (const l of got.filter((x) => x.endsWith(" OK"))) {
      const f = l.split(" ");
      assert.ok(keys.has(f.slice(0, 8).concat(f.slice(10, 12)).join(" ")), l);
    }
  });
});

describe("link types: the same packets framed differently give the same records", () => {
  let buf, offs;
  before(() => {
    flowgen("link", ["--packets", "4000", "--flows", "60", "--windows", "60", ...IDS]);
    buf = fs.readFileSync(path.join(dir, "link.pcap"));
    offs = recordOffsets(buf);
  });
  /** Rewrites every frame with fn(ethernetFrame) -> new frame, and the link type. */
  function reframe(name, linktype, fn) {
    const parts = [Buffer.from(buf.subarray(0, 24))];
    parts[0].writeUInt32LE(linktype, 20);
    for (const off of offs) {
      const cap = buf.readUInt32LE(off + 8), orig = buf.readUInt32LE(off + 12);
      const f = fn(buf.subarray(off + 16, off + 16 + cap));
      const rh = Buffer.from(buf.subarray(off, off + 16));
      rh.writeUInt32LE(f.length, 8);
      rh.writeUInt32LE(orig - cap + f.length, 12);
      parts.push(rh, f);
    }
    const p = path.join(dir, name);
    fs.writeFileSync(p, Buffer.concat(parts));
    return p;
  }
  const cases = {
    "raw IP (101)": [101, (f) => f.subarray(14)],
    "Linux cooked (113)": [113, (f) => {
      const h = Buffer.alloc(16);
      h.writeUInt16BE(0, 0); h.writeUInt16BE(1, 2); h.writeUInt16BE(6, 4);
      f.copy(h, 14, 12, 14); // protocol = the EtherType
      return Buffer.concat([h, f.subarray(14)]);
    }],
    "Linux cooked v2 (276)": [276, (f) => {
      const h = Buffer.alloc(20);
      f.copy(h, 0, 12, 14);
      h.writeUInt32BE(2, 4); h.writeUInt16BE(1, 8); h[11] = 6;
      return Buffer.concat([h, f.subarray(14)]);
    }],
    "Ethernet with a VLAN tag": [1, (f) => Buffer.concat([f.subarray(0, 12), Buffer.from([0x81, 0, 0, 42]), f.subarray(12)])],
  };
  test("pcapng (nanosecond resolution): same records; a truncated block is reported at its start", () => {
    const blocks = [];
    const block = (type, body) => {
      const pad = (4 - (body.length % 4)) % 4;
      const len = 12 + body.length + pad;
      const b = Buffer.alloc(len);
      b.writeUInt32LE(type, 0); b.writeUInt32LE(len, 4);
      body.copy(b, 8);
      b.writeUInt32LE(len, len - 4);
      return b;
    };
    const shb = Buffer.alloc(16);
    shb.writeUInt32LE(0x1a2b3c4d, 0); shb.writeUInt16LE(1, 4); shb.writeUInt16LE(0, 6);
    shb.writeBigInt64LE(-1n, 8);
    blocks.push(block(0x0a0d0d0a, shb));
    const idb = Buffer.alloc(16);
    idb.writeUInt16LE(1, 0); idb.writeUInt32LE(65535, 4);
    idb.writeUInt16LE(9, 8); idb.writeUInt16LE(1, 10); idb[12] = 9; // if_tsresol = 10^-9
    blocks.push(block(1, Buffer.concat([idb, Buffer.alloc(4)]))); // opt_endofopt
    const starts = [];
    let pos = blocks.reduce((a, b) => a + b.length, 0);
    for (const off of offs) {
      const sec = BigInt(buf.readUInt32LE(off)), ns = BigInt(buf.readUInt32LE(off + 4));
      const cap = buf.readUInt32LE(off + 8), orig = buf.readUInt32LE(off + 12);
      const ts = sec * 1000000000n + ns;
      const h = Buffer.alloc(20);
      h.writeUInt32LE(0, 0); h.writeUInt32LE(Number(ts >> 32n), 4);
      h.writeUInt32LE(Number(ts & 0xffffffffn), 8); h.writeUInt32LE(cap, 12); h.writeUInt32LE(orig, 16);
      const b = block(6, Buffer.concat([h, buf.subarray(off + 16, off + 16 + cap)]));
      starts.push(pos);
      pos += b.length;
      blocks.push(b);
    }
    const ng = Buffer.concat(blocks);
    const p = path.join(dir, "link.pcapng");
    fs.writeFileSync(p, ng);
    let r = replay(p, ["--capture-window", "60", ...IDS]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, truth("link", 60));
    const at = starts[2500];
    const cut = path.join(dir, "cut.pcapng");
    fs.writeFileSync(cut, ng.subarray(0, at + 30));
    r = replay(cut, ["--capture-window", "60", ...IDS]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`at byte ${at}\\b`));
  });

  for (const [label, [lt, fn]] of Object.entries(cases)) {
    test(label, () => {
      const p = reframe(`link-${lt}-${label.length}.pcap`, lt, fn);
      const r = replay(p, ["--capture-window", "60", ...IDS]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, truth("link", 60));
    });
  }
});

describe("flowlogd replay on a broken capture", () => {
  let pcap, buf, offs;
  before(() => {
    pcap = flowgen("brk", ["--packets", "6000", "--flows", "100", "--windows", "10", ...IDS]);
    buf = fs.readFileSync(pcap);
    offs = recordOffsets(buf);
  });

  /** The truth's lines of the windows that end before time `t` (seconds). */
  function truthBefore(t) {
    return truth("brk", 10).split("\n").filter((l) => l && Number(l.split(" ")[11]) <= t);
  }

  test("truncated in the middle of a packet: records so far, then the offset", () => {
    const at = offs[4010];
    const cut = path.join(dir, "cut.pcap");
    fs.writeFileSync(cut, buf.subarray(0, at + 16 + 5));
    const r = replay(cut, ["--capture-window", "10", ...IDS]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`truncated or corrupt at byte ${at}\\b`));
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines.at(-1).split(" ").at(-1), "SKIPDATA", "the broken window says SKIPDATA");
    // windows that closed before the last whole packet's are exactly the
    // truth's; the window in progress (that packet's) ends with SKIPDATA
    const tsLast = buf.readUInt32LE(offs[4009]);
    const brokenStart = tsLast - (tsLast % 10);
    assert.equal(Number(lines.at(-1).split(" ")[10]), brokenStart);
    const done = lines.filter((l) => Number(l.split(" ")[11]) <= brokenStart);
    assert.deepEqual(done, truthBefore(brokenStart));
    assert.ok(done.length > 100);
  });

  test("truncated inside a record header", () => {
    const at = offs[1234];
    const cut = path.join(dir, "cut2.pcap");
    fs.writeFileSync(cut, buf.subarray(0, at + 7));
    const r = replay(cut, ["--capture-window", "10", ...IDS]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`at byte ${at}\\b`));
  });

  test("a corrupt record length", () => {
    const at = offs[3000];
    const bad = Buffer.from(buf);
    bad.writeUInt32LE(0xfffffff0, at + 8);
    const p = path.join(dir, "bad.pcap");
    fs.writeFileSync(p, bad);
    const r = replay(p, ["--capture-window", "10", ...IDS]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`at byte ${at}\\b`));
    assert.ok(r.stdout.length > 0, "the records before the break are printed");
  });

  test("random frames (IPv4, IPv6, VLAN, garbage headers): no crash, every frame accounted", () => {
    // a deterministic pseudo-random capture: the sanitizer build catches any overread
    let x = 7;
    const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 8) & 0xff;
    const recs = [];
    const hdr = Buffer.alloc(24);
    hdr.writeUInt32LE(0xa1b2c3d4, 0); hdr.writeUInt16LE(2, 4); hdr.writeUInt16LE(4, 6);
    hdr.writeUInt32LE(65535, 16); hdr.writeUInt32LE(1, 20);
    recs.push(hdr);
    for (let i = 0; i < 3000; i++) {
      const len = rnd() % 120;
      const f = Buffer.alloc(len);
      for (let j = 0; j < len; j++) f[j] = rnd();
      if (len >= 15) {
        const kind = i % 4;
        if (kind === 0) { f.writeUInt16BE(0x0800, 12); f[14] = 0x40 | (rnd() % 16); }
        if (kind === 1) { f.writeUInt16BE(0x86dd, 12); f[14] = 0x60; if (len > 20) f[20] = [0, 43, 44, 60, 6, 17, 58][rnd() % 7]; }
        if (kind === 2) { f.writeUInt16BE(0x8100, 12); if (len >= 18) f.writeUInt16BE(rnd() % 2 ? 0x0800 : 0x86dd, 16); }
      }
      const rh = Buffer.alloc(16);
      rh.writeUInt32LE(1700000000 + Math.floor(i / 100), 0);
      rh.writeUInt32LE(i % 100, 4);
      rh.writeUInt32LE(len, 8);
      rh.writeUInt32LE(len + (rnd() % 3 === 0 ? 1000 : 0), 12); // some "snaplen-cut" frames
      recs.push(rh, f);
    }
    const p = path.join(dir, "random.pcap");
    fs.writeFileSync(p, Buffer.concat(recs));
    const r = replay(p, ["--capture-window", "10", "--stats", "--local", "10.0.0.0/8",
      "--format", "version srcaddr dstaddr srcport dstport protocol packets bytes tcp-flags type flow-direction"]);
    assert.equal(r.status, 0, r.stderr);
    const m = r.stderr.match(/replay: (\d+) packets counted, (\d+) not IP, (\d+) late/);
    assert.ok(m, r.stderr);
    assert.equal(Number(m[1]) + Number(m[2]) + Number(m[3]), 3000);
    assert.ok(Number(m[1]) > 500, "many frames parse as IP");
  });

  test("not a capture at all; a missing file; bad options", () => {
    const p = path.join(dir, "junk.pcap");
    fs.writeFileSync(p, "this is not a pcap file, just text\n");
    let r = replay(p, []);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /junk\.pcap/);
    assert.equal(r.stdout, "");
    r = replay(path.join(dir, "absent.pcap"), []);
    assert.equal(r.status, 1);
    r = replay(pcap, ["--capture-window", "0"]);
    assert.equal(r.status, 2);
    r = replay(pcap, ["--capture-window", "601"]);
    assert.equal(r.status, 2);
    r = replay(pcap, ["--format", "version bogus"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bogus/);
    r = replay(pcap, ["--local", "10.0.0.0/33"]);
    assert.equal(r.status, 2);
  });
});

describe("flowlogd replay formats", () => {
  test("extended fields: flow-direction from --local, type, tcp-flags", () => {
    const p = flowgen("fmt", ["--packets", "3000", "--flows", "50", "--windows", "60"]);
    const r = replay(p, ["--capture-window", "60", "--local", "10.0.0.0/8,2001:db8:1::/64",
      "--format", "${version} ${srcaddr} ${dstaddr} ${protocol} ${tcp-flags} ${flow-direction} ${type}"]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split("\n").map((l) => l.split(" "));
    assert.ok(lines.length > 50);
    for (const f of lines) {
      assert.equal(f[0], "5");
      const fromLocal = f[1].startsWith("10.") || f[1].startsWith("2001:db8:1:");
      assert.equal(f[5], fromLocal ? "egress" : "ingress", f.join(" "));
      assert.equal(f[6], f[1].includes(":") ? "IPv6" : "IPv4");
      if (f[3] !== "6") assert.equal(f[4], "-");
    }
    // a client's SYN side never shows ACK; the server side shows SYN-ACK (18)
    const tcp = lines.filter((f) => f[3] === "6");
    assert.ok(tcp.some((f) => (Number(f[4]) & 0x12) === 0x12 && f[5] === "ingress"));
    assert.ok(tcp.every((f) => f[5] !== "egress" || (Number(f[4]) & 0x10) === 0));
  });
});

describe("flowlogd records (the files sink's reader)", () => {
  test("prints a flow log's windows in order, bounded by --since/--until", () => {
    const data = path.join(dir, "data");
    const fl = path.join(data, "records", "fl-rec00001");
    fs.mkdirSync(fl, { recursive: true });
    fs.writeFileSync(path.join(fl, "1700000100-1700000160.log"), "w2\n");
    fs.writeFileSync(path.join(fl, "1700000040-1700000100.log"), "w1\n");
    fs.writeFileSync(path.join(fl, "1700000040-1700000100.1.log"), "w1 again\n");
    fs.writeFileSync(path.join(fl, ".tmp-1700000160-1-0"), "half written\n");
    let r = run(BIN, ["records", "--data", data, "fl-rec00001"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "w1\nw1 again\nw2\n");
    r = run(BIN, ["records", "--records", path.join(data, "records"), "fl-rec00001", "--since", "1700000100"]);
    assert.equal(r.stdout, "w2\n");
    r = run(BIN, ["records", "--data", data, "fl-rec00001", "--until", "2023-11-14T22:15:00Z"]);
    assert.equal(r.stdout, "w1\nw1 again\n"); // 1700000100
    r = run(BIN, ["records", "--data", data, "fl-nothing0"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no records for fl-nothing0/);
    r = run(BIN, ["records", "--data", data, "../etc"]);
    assert.equal(r.status, 2);
    r = run(BIN, ["records", "--data", data, "fl-rec00001", "--since", "yesterday"]);
    assert.equal(r.status, 2);
  });
});
