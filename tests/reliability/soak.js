#!/usr/bin/env node
// soak.js: a bounded soak run (issue 3, item 7; issue 11 section 5). CI runs
// it for 2 minutes (`make soak`, from scripts/test.sh):
//
//   node tests/reliability/soak.js --minutes 10 [--accounts 40] [--enis 60]
//        [--concurrency 16] [--rps 400] [--max-growth 20] [--file-slack-mb 16]
//        [--wal-ceiling-mb 64]
//
// Starts flowlogd (FLOWLOGD_BIN, default build/flowlogd) on a temporary data
// directory with many accounts and keeps a steady mixed load on it: creates,
// list and single describes, attribute changes and deletes, across all
// accounts, at about --rps requests per second. Every request is one the
// model says must succeed (creates only on resources without a flow log,
// deletes only of existing ones, one request per resource at a time), so
// any failure is unexpected. The server's memory is sampled every 5 s and
// reported every minute, heap and file-backed pages apart (RssAnon; RssFile
// and Pss_File of /proc/<pid>/status and smaps_rollup), with the WAL's size
// (now and the largest seen that minute); at the end the store is compared
// with the model and `flowlogd check` must print ok.
//
// Six checks, each reported, all must pass (exit 1 otherwise):
//   requests   no request failed, the store equals the model, `check` is ok
//   heap       RssAnon at the end is at most --max-growth percent above
//              RssAnon after the first minute (the warm-up, in which SQLite's
//              page caches and the thread pools fill up)
//   file       the file-backed pages are bounded by the data: Pss_File at the
//              end is at most Pss_File at the start (the binary and its
//              libraries) plus the database and its -shm file, plus
//              --file-slack-mb. (RssFile counts a database page once per
//              connection that maps it, so it is reported, not judged.)
//   wal        the WAL never passed its ceiling (--wal-ceiling-mb, default
//              FLOWLOGD_SQLITE_WAL_MB or 64, given to the server as
//              --wal-limit-mb; 0: none, and the check is skipped)
//   wal-idle   once the load stops, the WAL file is emptied within 10 s
//   alive      the server ran to the end
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const L = require("./lib.js");

const { h } = L;

function args() {
  const envCeiling = process.env.FLOWLOGD_SQLITE_WAL_MB;
  const o = {
    minutes: 10,
    accounts: 40,
    enis: 60,
    concurrency: 16,
    rps: 400,
    maxGrowth: 20,
    fileSlackMb: 16,
    walCeilingMb: envCeiling !== undefined && envCeiling !== "" ? Number(envCeiling) : 64,
  };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const k = a[i].replace(/^--/, "").replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(k in o) || i + 1 >= a.length) {
      console.error(`usage: node tests/reliability/soak.js [--minutes N] [--accounts N] [--enis N] [--concurrency N] [--rps N] [--max-growth PCT] [--file-slack-mb MB] [--wal-ceiling-mb MB]`);
      process.exit(2);
    }
    o[k] = Number(a[++i]);
  }
  return o;
}

const rnd = (n) => crypto.randomInt(n);
const pick = (a) => a[rnd(a.length)];
const word = (n) => crypto.randomBytes(n).toString("hex").slice(0, n);
const mb = (kb) => (kb / 1024).toFixed(1);
const fileBytes = (f) => {
  try {
    return fs.statSync(f).size;
  } catch (_) {
    return 0;
  }
};

async function main() {
  const o = args();
  const t0 = Date.now();
  const dataDir = h.tmpDir("soak");
  console.log(`soak: ${o.minutes} min, ${o.accounts} accounts x ${o.enis} ENIs, ${o.concurrency} in flight, ~${o.rps} req/s, binary ${h.BIN}`);
  const accounts = L.makeAccounts(dataDir, o.accounts, { extraEnis: o.enis, quota: 100000 });
  for (const a of accounts) {
    a.model = new Map(a.ids.extraEnis.map((e) => [e, { id: null, name: null, busy: false }]));
  }
  const srv = await h.startServer({ dataDir, args: ["--rate-limit", "1000000", "--quiet", "--wal-limit-mb", String(o.walCeilingMb)] });
  const port = srv.port;
  const pid = srv.proc.pid;
  const db = path.join(dataDir, "flowlogd.db");
  const disk = () => ({ walBytes: fileBytes(`${db}-wal`), dbBytes: fileBytes(db), shmBytes: fileBytes(`${db}-shm`) });
  const sample = (minute) => Object.assign({ minute, mem: L.procMem(pid) }, disk());
  const samples = [sample(0)];
  let walMaxMinute = samples[0].walBytes;
  let walMax = walMaxMinute;
  const walTimer = setInterval(() => {
    const w = fileBytes(`${db}-wal`);
    if (w > walMaxMinute) walMaxMinute = w;
    if (w > walMax) walMax = w;
  }, 5000);
  const memLine = (x) =>
    `RssAnon ${mb(x.mem.anon)} MB, RssFile ${mb(x.mem.file)} MB (Pss_File ${mb(x.mem.pssFile)} MB), VmRSS ${mb(x.mem.rss)} MB; ` +
    `WAL ${(x.walBytes / 1048576).toFixed(1)} MB, database ${(x.dbBytes / 1048576).toFixed(1)} MB`;
  console.log(`start: ${memLine(samples[0])}`);

  const counts = { total: 0, create: 0, delete: 0, list: 0, one: 0, modify: 0 };
  const failures = [];
  let failCount = 0;
  const fail = (msg) => {
    failCount++;
    if (failures.length < 20) failures.push(msg);
  };
  const lat = [];
  const call = async (key, action, body) => {
    const r = await L.apiCall({ port, key, action, body, timeoutMs: 30000 });
    counts.total++;
    if (lat.length < 200000) lat.push(r.ms);
    if (r.kind !== "ok") {
      fail(`${action} ${JSON.stringify(body).slice(0, 120)} -> ${r.kind} ${r.code || r.err || r.status || ""} ${r.response ? r.response.Error.Message : ""}`);
      return null;
    }
    return r.response;
  };

  async function op() {
    const a = pick(accounts);
    const entries = [...a.model.entries()].filter(([, m]) => !m.busy);
    if (!entries.length) return;
    const [eni, m] = pick(entries);
    m.busy = true;
    try {
      const x = rnd(100);
      if (m.id === null) {
        if (x < 70) {
          const name = `soak-${word(8)}`;
          const resp = await call(a, "CreateFlowLog", Object.assign(h.eniRequest(a.ids, eni), { FlowLogName: name, Tags: [{ Key: "soak", Value: word(6) }] }));
          counts.create++;
          if (resp) Object.assign(m, { id: resp.FlowLog[0].FlowLogId, name });
        } else {
          const resp = await call(a, "DescribeFlowLogs", { ResourceId: eni });
          counts.list++;
          if (resp && resp.TotalNum !== 0) fail(`DescribeFlowLogs ResourceId ${eni}: expected nothing, got ${resp.TotalNum}`);
        }
      } else if (x < 30) {
        const resp = await call(a, "DeleteFlowLog", { FlowLogId: m.id, VpcId: a.ids.vpc });
        counts.delete++;
        if (resp) Object.assign(m, { id: null, name: null });
      } else if (x < 60) {
        const resp = await call(a, "DescribeFlowLog", { FlowLogId: m.id, VpcId: a.ids.vpc });
        counts.one++;
        if (resp && resp.FlowLog[0].FlowLogName !== m.name) fail(`DescribeFlowLog ${m.id}: name ${resp.FlowLog[0].FlowLogName}, expected ${m.name}`);
      } else if (x < 75) {
        const name = `soak-m-${word(6)}`;
        const resp = await call(a, "ModifyFlowLogAttribute", { FlowLogId: m.id, VpcId: a.ids.vpc, FlowLogName: name });
        counts.modify++;
        if (resp) m.name = name;
      } else {
        const resp = await call(a, "DescribeFlowLogs", { Limit: 100, Offset: rnd(2) * 100, Filters: { Name: "tag-key", Values: ["soak"] } });
        counts.list++;
        if (resp && !Array.isArray(resp.FlowLog)) fail("DescribeFlowLogs without FlowLog");
      }
    } finally {
      m.busy = false;
    }
  }

  const endAt = Date.now() + o.minutes * 60000;
  const perWorkerGapMs = (1000 * o.concurrency) / o.rps;
  let stop = false;
  const workers = Array.from({ length: o.concurrency }, async (_, w) => {
    let next = Date.now() + (w * perWorkerGapMs) / o.concurrency;
    while (!stop) {
      const wait = next - Date.now();
      if (wait > 0) await h.sleep(wait);
      next += perWorkerGapMs;
      if (next < Date.now() - 1000) next = Date.now(); // fell behind: do not burst to catch up
      await op();
    }
  });
  let minute = 0;
  let lastTotal = 0;
  while (Date.now() < endAt) {
    await h.sleep(Math.min(60000, endAt - Date.now()));
    if (srv.proc.exitCode !== null || srv.proc.signalCode !== null) {
      fail(`the server exited: ${srv.proc.exitCode} ${srv.proc.signalCode}`);
      break;
    }
    minute++;
    const s = Object.assign(sample(minute), { requests: counts.total, failures: failCount, walMaxBytes: walMaxMinute });
    samples.push(s);
    console.log(
      `minute ${minute}: ${memLine(s)} (largest this minute ${(walMaxMinute / 1048576).toFixed(1)} MB); ` +
        `${counts.total - lastTotal} requests (${((counts.total - lastTotal) / 60).toFixed(0)}/s), ${failCount} unexpected failures`
    );
    walMaxMinute = s.walBytes;
    lastTotal = counts.total;
  }
  stop = true;
  await Promise.all(workers);
  clearInterval(walTimer);
  const end = sample("end");
  if (end.walBytes > walMax) walMax = end.walBytes;
  samples.push(end);
  const alive = srv.proc.exitCode === null && srv.proc.signalCode === null;

  // after the burst: the idle server empties its WAL
  const idleT0 = Date.now();
  let walIdle = fileBytes(`${db}-wal`);
  while (alive && walIdle > 0 && Date.now() - idleT0 < 10000) {
    await h.sleep(250);
    walIdle = fileBytes(`${db}-wal`);
  }
  const walIdleMs = Date.now() - idleT0;

  // the store against the model
  let present = 0;
  for (const a of accounts) {
    const all = await L.describeAll({ port, key: a });
    const byRes = new Map(all.map((f) => [f.ResourceId, f]));
    for (const [eni, m] of a.model) {
      const f = byRes.get(eni);
      if (m.id === null && f) fail(`end: ${f.FlowLogId} on ${eni} should not exist`);
      if (m.id !== null) {
        present++;
        if (!f) fail(`end: ${m.id} on ${eni} is missing`);
        else if (f.FlowLogId !== m.id || f.FlowLogName !== m.name) fail(`end: ${eni} holds ${f.FlowLogId} "${f.FlowLogName}", expected ${m.id} "${m.name}"`);
      }
    }
    if (all.length !== [...a.model.values()].filter((m) => m.id !== null).length) fail(`end: account ${a.Uin} has ${all.length} flow logs`);
  }
  await srv.stop();
  const check = L.storeCheck(dataDir);
  if (check.out !== "ok") fail(`flowlogd check: ${check.out}`);
  let dbBytes = 0;
  for (const f of fs.readdirSync(dataDir)) dbBytes += fs.statSync(path.join(dataDir, f)).size;

  const start = samples[0];
  const warm = samples.length > 2 ? samples[1] : start;
  const heapGrowth = ((end.mem.anon - warm.mem.anon) / warm.mem.anon) * 100;
  const rssGrowthWarm = ((end.mem.rss - warm.mem.rss) / warm.mem.rss) * 100;
  const fileBoundKb = start.mem.pssFile + (end.dbBytes + end.shmBytes) / 1024 + o.fileSlackMb * 1024;
  const checks = [
    ["requests", failCount === 0, `${failCount} unexpected failures`],
    ["heap", heapGrowth <= o.maxGrowth, `RssAnon ${mb(warm.mem.anon)} -> ${mb(end.mem.anon)} MB since the warm-up: ${heapGrowth.toFixed(1)} % (limit ${o.maxGrowth} %)`],
    ["file", end.mem.pssFile <= fileBoundKb, `Pss_File ${mb(end.mem.pssFile)} MB, bound ${mb(fileBoundKb)} MB (start ${mb(start.mem.pssFile)} + database ${mb(end.dbBytes / 1024)} + shm ${mb(end.shmBytes / 1024)} + ${o.fileSlackMb}); RssFile ${mb(start.mem.file)} -> ${mb(end.mem.file)} MB`],
    ["wal", o.walCeilingMb === 0 || walMax <= o.walCeilingMb * 1048576, `largest WAL ${(walMax / 1048576).toFixed(1)} MB, ceiling ${o.walCeilingMb ? `${o.walCeilingMb} MB` : "none (not judged)"}`],
    ["wal-idle", o.walCeilingMb === 0 || walIdle === 0, `WAL ${(walIdle / 1048576).toFixed(1)} MB ${walIdleMs} ms after the load stopped${o.walCeilingMb ? "" : " (no ceiling: not judged)"}`],
    ["alive", alive, alive ? "the server ran to the end" : "the server exited"],
  ];
  const summary = {
    minutes: o.minutes,
    elapsedS: Math.round((Date.now() - t0) / 1000),
    requests: counts.total,
    byAction: counts,
    ratePerS: Math.round(counts.total / (o.minutes * 60)),
    latencyMs: { p50: +L.percentile(lat, 50).toFixed(2), p99: +L.percentile(lat, 99).toFixed(2), max: +lat.reduce((m, v) => (v > m ? v : m), 0).toFixed(2) },
    unexpectedFailures: failCount,
    flowLogsAtEnd: present,
    memoryMb: samples.map((x) => ({
      minute: x.minute,
      rssAnon: +mb(x.mem.anon),
      rssFile: +mb(x.mem.file),
      pssFile: +mb(x.mem.pssFile),
      vmRss: +mb(x.mem.rss),
      walMb: +(x.walBytes / 1048576).toFixed(1),
      walMaxMb: x.walMaxBytes !== undefined ? +(x.walMaxBytes / 1048576).toFixed(1) : undefined,
      dbMb: +(x.dbBytes / 1048576).toFixed(1),
    })),
    heapGrowthFromWarmupPct: +heapGrowth.toFixed(1),
    rssGrowthFromWarmupPct: +rssGrowthWarm.toFixed(1),
    walMaxMb: +(walMax / 1048576).toFixed(1),
    walAfterIdleBytes: walIdle,
    dataDirBytes: dbBytes,
    storeCheck: check.out,
  };
  console.log(`end: ${memLine(end)}; VmRSS ${rssGrowthWarm.toFixed(1)} % since the warm-up (reported, not judged)`);
  console.log(`${counts.total} requests, ${failCount} unexpected failures, latency p50 ${summary.latencyMs.p50} ms p99 ${summary.latencyMs.p99} ms; store check: ${check.out}`);
  for (const f of failures) console.log(`  failure: ${f}`);
  console.log(`soak summary ${JSON.stringify(summary)}`);
  for (const [name, ok, what] of checks) console.log(`${ok ? "ok" : "FAILED"} ${name}: ${what}`);
  const failed = checks.filter(([, ok]) => !ok).length;
  console.log(`${checks.length - failed} passed, ${failed} failed`);
  console.log(failed ? "soak FAILED" : "soak passed");
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
