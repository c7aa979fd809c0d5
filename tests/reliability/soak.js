#!/usr/bin/env node
// soak.js: a bounded soak run (issue 3, item 7). Not part of CI (not a
// *.test.js file):
//
//   node tests/reliability/soak.js --minutes 10 [--accounts 40] [--enis 60]
//        [--concurrency 16] [--rps 400] [--max-growth 20]
//
// Starts flowlogd (FLOWLOGD_BIN, default build/flowlogd) on a temporary data
// directory with many accounts and keeps a steady mixed load on it: creates,
// list and single describes, attribute changes and deletes, across all
// accounts, at about --rps requests per second. Every request is one the
// model says must succeed (creates only on resources without a flow log,
// deletes only of existing ones, one request per resource at a time), so
// any failure is unexpected. The server's RSS (VmRSS of /proc/<pid>/status)
// is reported at the start, every minute and at the end; at the end the
// store is compared with the model and `flowlogd check` must print ok.
//
// Exits 1 if any request failed, the store differs from the model, or RSS at
// the end is more than --max-growth percent above RSS after the first
// minute (the warm-up, in which SQLite's page caches and the thread pools
// fill up; growth from the cold start is reported too).
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const L = require("./lib.js");

const { h } = L;

function args() {
  const o = { minutes: 10, accounts: 40, enis: 60, concurrency: 16, rps: 400, maxGrowth: 20 };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const k = a[i].replace(/^--/, "").replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(k in o) || i + 1 >= a.length) {
      console.error(`usage: node tests/reliability/soak.js [--minutes N] [--accounts N] [--enis N] [--concurrency N] [--rps N] [--max-growth PCT]`);
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

async function main() {
  const o = args();
  const t0 = Date.now();
  const dataDir = h.tmpDir("soak");
  console.log(`soak: ${o.minutes} min, ${o.accounts} accounts x ${o.enis} ENIs, ${o.concurrency} in flight, ~${o.rps} req/s, binary ${h.BIN}`);
  const accounts = L.makeAccounts(dataDir, o.accounts, { extraEnis: o.enis, quota: 100000 });
  for (const a of accounts) {
    a.model = new Map(a.ids.extraEnis.map((e) => [e, { id: null, name: null, busy: false }]));
  }
  const srv = await h.startServer({ dataDir, args: ["--rate-limit", "1000000", "--quiet"] });
  const port = srv.port;
  const pid = srv.proc.pid;
  const samples = [{ minute: 0, rssKb: L.rssKb(pid) }];
  console.log(`start: RSS ${mb(samples[0].rssKb)} MB`);

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
    const s = { minute, rssKb: L.rssKb(pid), requests: counts.total, failures: failCount };
    samples.push(s);
    console.log(`minute ${minute}: RSS ${mb(s.rssKb)} MB, ${counts.total - lastTotal} requests this minute (${((counts.total - lastTotal) / 60).toFixed(0)}/s), ${failCount} unexpected failures`);
    lastTotal = counts.total;
  }
  stop = true;
  await Promise.all(workers);
  const endRss = L.rssKb(pid);
  samples.push({ minute: "end", rssKb: endRss });

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

  const startRss = samples[0].rssKb;
  const warmRss = samples.length > 2 ? samples[1].rssKb : startRss;
  const growthWarm = ((endRss - warmRss) / warmRss) * 100;
  const growthStart = ((endRss - startRss) / startRss) * 100;
  const summary = {
    minutes: o.minutes,
    elapsedS: Math.round((Date.now() - t0) / 1000),
    requests: counts.total,
    byAction: counts,
    ratePerS: Math.round(counts.total / (o.minutes * 60)),
    latencyMs: { p50: +L.percentile(lat, 50).toFixed(2), p99: +L.percentile(lat, 99).toFixed(2), max: +lat.reduce((m, v) => (v > m ? v : m), 0).toFixed(2) },
    unexpectedFailures: failCount,
    flowLogsAtEnd: present,
    rssMb: samples.map((s) => ({ minute: s.minute, mb: +mb(s.rssKb) })),
    rssGrowthFromWarmupPct: +growthWarm.toFixed(1),
    rssGrowthFromStartPct: +growthStart.toFixed(1),
    dataDirBytes: dbBytes,
    storeCheck: check.out,
  };
  console.log(`end: RSS ${mb(endRss)} MB (start ${mb(startRss)} MB, after minute 1 ${mb(warmRss)} MB: ${growthWarm.toFixed(1)} % since the warm-up, ${growthStart.toFixed(1)} % since the start)`);
  console.log(`${counts.total} requests, ${failCount} unexpected failures, latency p50 ${summary.latencyMs.p50} ms p99 ${summary.latencyMs.p99} ms; store check: ${check.out}`);
  for (const f of failures) console.log(`  failure: ${f}`);
  console.log(`soak summary ${JSON.stringify(summary)}`);
  const ok = failCount === 0 && growthWarm <= o.maxGrowth;
  if (!ok) console.log(`soak FAILED${failCount ? `: ${failCount} unexpected failures` : ""}${growthWarm > o.maxGrowth ? `: RSS grew ${growthWarm.toFixed(1)} % (> ${o.maxGrowth} %)` : ""}`);
  else console.log("soak passed");
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
