// records.test.js: the console's records pages (issue 17 §6) for a flow log
// whose CloudLogId is a topic of the server's own CLS service, in Debian's
// Chromium driven by playwright-core. A logset and topic are made with the
// official Node SDK, the flow log in the console; its records are delivered
// by `flowlogd replay --cls-endpoint` from a tools/flowgen capture (the CLS
// sink, named after the flow log) plus REJECT records put in with UploadLog.
// The console then has to show what `replay` printed (the ground truth):
// the records list paged with Context, a search in the query box, the
// bytes-and-packets chart (SVG bars and points whose values add up to the
// truth), top talkers by source, destination and port, and the rejected
// connections. A bad query shows CLS's error code. Screenshots go to
// build/console-screenshots/ (not committed).
//
// Needs /usr/bin/chromium; without it the test is skipped (with CI=true, a
// failure).
"use strict";

const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const h = require("../integration/harness");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = path.join(__dirname, "..", "..", "build", "console-screenshots");
const FLOWGEN = process.env.FLOWGEN_BIN || path.join(path.dirname(h.BIN), "tools", "flowgen");
const NAMES = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status".split(" ");
const haveChromium = fs.existsSync(CHROMIUM);
const skipWhy = haveChromium ? false : `no browser at ${CHROMIUM} (apt-get install chromium)`;

let ctx, browser, page, dir, A, topic;

function clsClient(acct) {
  return new (h.sdk().cls.v20201016.Client)({
    credential: { secretId: acct.SecretId, secretKey: acct.SecretKey },
    region: "ap-guangzhou",
    profile: { httpProfile: { endpoint: ctx.server.endpoint, protocol: "http://", reqTimeout: 60 } },
  });
}

function upload(acct, topicId, filename, logs) {
  const protobuf = require("protobufjs");
  const LogGroupList = protobuf.loadSync(path.join(h.REPO, "src", "cls", "cls.proto")).lookupType("cls.LogGroupList");
  const { CommonClient } = require("tencentcloud-sdk-nodejs/tencentcloud/common/common_client");
  const c = new CommonClient(ctx.server.endpoint, "2020-10-16", {
    credential: { secretId: acct.SecretId, secretKey: acct.SecretKey },
    region: "ap-guangzhou",
    profile: { httpProfile: { endpoint: ctx.server.endpoint, protocol: "http://", reqTimeout: 60, headers: { "X-CLS-TopicId": topicId } } },
  });
  const body = Buffer.from(LogGroupList.encode(LogGroupList.fromObject({
    logGroupList: [{ source: "10.9.9.9", filename, logs: logs.map((l) => ({ time: String(Number(l.start) * 1000), contents: NAMES.map((key) => ({ key, value: l[key] })) })) }],
  })).finish());
  return h.withRateLimitRetry(() => c.requestOctetStream("UploadLog", body));
}

before(async () => {
  if (skipWhy) {
    if (process.env.CI === "true") throw new Error(`CI=true and the console test cannot run: ${skipWhy}`);
    return;
  }
  const { chromium } = require("playwright-core");
  ctx = await h.setup({ label: "console-records", accounts: [{ tag: "dddd" }] });
  [A] = ctx.accounts;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "flowlogd-console-records-"));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on("dialog", (d) => d.accept());
  fs.mkdirSync(SHOTS, { recursive: true });
});
after(async () => {
  if (browser) await browser.close();
  if (ctx) await ctx.server.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const shot = (name) => page.screenshot({ path: path.join(SHOTS, `records-${name}.png`), fullPage: true });
const num = (s) => (/^\d+$/.test(s) ? Number(s) : 0);
const ready = async (before) => page.waitForFunction((b) => {
  const r = document.querySelector("#records");
  return r && r.dataset.ready && r.dataset.ready !== b;
}, before, { timeout: 60000 });
const readyMark = () => page.evaluate(() => document.querySelector("#records").dataset.ready || "");
function top(rows, key, by) {
  const m = new Map();
  for (const r of rows) m.set(r[key], (m.get(r[key]) || 0) + num(r[by]));
  return [...m.entries()].sort((a, b) => b[1] - a[1]);
}

test("a flow log's records, chart, top talkers and rejected connections", { skip: skipWhy, timeout: 300000 }, async () => {
  const ids = A.ids;
  const cls = clsClient(A);
  const ls = await cls.CreateLogset({ LogsetName: "console" });
  topic = (await cls.CreateTopic({ LogsetId: ls.LogsetId, TopicName: "flowlogs" })).TopicId;

  // sign in and create the flow log in the console, pointing at the topic
  await page.goto(`${ctx.server.url}/console/`);
  await page.waitForSelector("#signin:not([hidden])");
  await page.fill("input[name=secretId]", A.SecretId);
  await page.fill("input[name=secretKey]", A.SecretKey);
  await page.selectOption("#region-select", "ap-guangzhou");
  await page.click("#signin-form button[type=submit]");
  await page.waitForSelector("#flowlogs:not([hidden])");
  await page.click("#new-flowlog");
  await page.waitForSelector("#create:not([hidden])");
  await page.selectOption("#create-vpc", ids.vpc);
  await page.selectOption("#create-type", "NETWORKINTERFACE");
  await page.waitForSelector(`#create-resource option[value="${ids.eni}"]`, { state: "attached" });
  await page.selectOption("#create-resource", ids.eni);
  await page.fill("#create-form input[name=FlowLogName]", "web-records");
  await page.fill("#create-form input[name=CloudLogId]", topic);
  await page.click("#create-form button[type=submit]");
  await page.waitForSelector("#fl-table tbody tr[data-id]");
  const row = page.locator("#fl-table tbody tr[data-id]").first();
  const flId = await row.getAttribute("data-id");

  // records: a capture made by flowgen half an hour ago, delivered by the CLS sink
  const start = Math.floor(Date.now() / 1000 / 60) * 60 - 1800;
  const pcap = path.join(dir, "c.pcap");
  const g = spawnSync(FLOWGEN, ["--out", pcap, "--packets", "20000", "--flows", "150", "--duration", "600", "--start", String(start)], { encoding: "utf8" });
  assert.equal(g.status, 0, g.stderr);
  const replay = (extra, env) => spawnSync(h.BIN, ["replay", "--pcap", pcap, "--capture-window", "60", "--interface-id", ids.eni,
    "--account-id", String(A.AppId), ...extra], { encoding: "utf8", maxBuffer: 1 << 28, env: Object.assign({}, process.env, env || {}) });
  const printed = replay([]);
  assert.equal(printed.status, 0, printed.stderr);
  const truth = printed.stdout.split("\n").filter(Boolean).map((l) => Object.fromEntries(l.split(" ").map((v, i) => [NAMES[i], v])));
  assert.ok(truth.length > 150, `only ${truth.length} records`);
  const sent = replay(["--cls-endpoint", ctx.server.endpoint, "--cls-topic", topic, "--flowlog-id", flId, "--agent-id", "host-1"],
    { TENCENTCLOUD_SECRET_ID: A.SecretId, TENCENTCLOUD_SECRET_KEY: A.SecretKey });
  assert.equal(sent.status, 0, sent.stderr);
  // rejected connections: 3 sources refused on port 22, one on 3389, in three windows
  const rejects = [];
  for (let i = 0; i < 12; i++) {
    const w = start + 60 * (i % 3);
    rejects.push({ version: "2", "account-id": String(A.AppId), "interface-id": ids.eni, srcaddr: `203.0.113.${(i % 4) + 1}`,
      dstaddr: "10.0.0.5", srcport: String(40000 + i), dstport: i % 4 === 3 ? "3389" : "22", protocol: "6",
      packets: String(i % 4 === 0 ? 50 : 3 + i), bytes: String(60 * (i % 4 === 0 ? 50 : 3 + i)), start: String(w), end: String(w + 60),
      action: "REJECT", "log-status": "OK" });
  }
  await upload(A, topic, flId, rejects);
  // and one record of another flow log in the same topic: not this flow log's
  await upload(A, topic, "fl-other001", [Object.assign({}, rejects[0], { srcaddr: "198.51.100.99" })]);
  const all = truth.concat(rejects);

  // the records page: every record, newest first, paged with Context
  let mark = await readyMark();
  await row.locator("button.records").click();
  await page.waitForSelector("#records:not([hidden])");
  await ready(mark);
  await shot("1-list");
  while (await page.isVisible("#records-more")) {
    const n = await page.locator("#records-table tbody tr.record").count();
    await page.click("#records-more");
    await page.waitForFunction((k) => document.querySelectorAll("#records-table tbody tr.record").length > k, n);
  }
  assert.equal(await page.locator("#records-table tbody tr.record").count(), all.length);
  assert.equal(await page.locator("#records-table tbody td.f-srcaddr", { hasText: "198.51.100.99" }).count(), 0);
  const starts = await page.$$eval("#records-table tbody td.f-start", (tds) => tds.map((t) => Number(t.textContent)));
  assert.deepEqual(starts, starts.slice().sort((a, b) => b - a), "newest first");

  // the query box: one source's records on one port
  const ported = truth.filter((r) => /^\d+$/.test(r.dstport));
  const [src] = top(ported, "srcaddr", "bytes")[0];
  const port = ported.find((r) => r.srcaddr === src).dstport;
  const want = truth.filter((r) => r.srcaddr === src && r.dstport === port);
  mark = await readyMark();
  await page.fill("#records-query", `srcaddr:"${src}" AND dstport:${port}`);
  await page.click("#records-form button[type=submit]");
  await ready(mark);
  const got = await page.$$eval("#records-table tbody tr.record", (trs) => trs.map((tr) =>
    ["srcaddr", "dstaddr", "srcport", "dstport", "start", "packets", "bytes"].map((f) => tr.querySelector(`td.f-${f}`).textContent).join(" ")));
  const key = (r) => ["srcaddr", "dstaddr", "srcport", "dstport", "start", "packets", "bytes"].map((f) => r[f]).join(" ");
  assert.deepEqual(got.sort(), want.map(key).sort());
  await shot("2-search");

  // back to everything, then the pictures
  mark = await readyMark();
  await page.fill("#records-query", "*");
  await page.click("#records-form button[type=submit]");
  await ready(mark);

  await page.click("#records-tabs button[data-tab=traffic]");
  const chart = page.locator("#traffic-chart svg.timechart");
  assert.equal(Number(await chart.getAttribute("data-total-bytes")), all.reduce((a, r) => a + num(r.bytes), 0));
  assert.equal(Number(await chart.getAttribute("data-total-packets")), all.reduce((a, r) => a + num(r.packets), 0));
  const bars = await page.$$eval("#traffic-chart rect.bar.bytes:not(.legend)", (rs) => rs.map((r) => [Number(r.dataset.t), Number(r.dataset.value)]));
  assert.equal(bars.length, Number(await chart.getAttribute("data-buckets")));
  const step = Number(await chart.getAttribute("data-step-ms"));
  const perBucket = new Map();
  for (const r of all) {
    const b = Math.floor((Number(r.start) * 1000) / step) * step;
    perBucket.set(b, (perBucket.get(b) || 0) + num(r.bytes));
  }
  for (const [t, v] of bars) assert.equal(v, perBucket.get(t) || 0, `bucket ${new Date(t).toISOString()}`);
  assert.ok(bars.filter(([, v]) => v > 0).length >= 600000 / step, "ten minutes of traffic drawn");
  const points = await page.locator("#traffic-chart circle.pt.packets").count();
  assert.equal(points, bars.length);
  await shot("3-traffic");

  await page.click("#records-tabs button[data-tab=talkers]");
  for (const [field, box] of [["srcaddr", "#talkers-src"], ["dstaddr", "#talkers-dst"], ["dstport", "#talkers-port"]]) {
    const items = await page.$$eval(`${box} g.item`, (gs) => gs.map((g) => [g.dataset.key, Number(g.dataset.value)]));
    const expect = top(all, field, "bytes").slice(0, 10);
    assert.equal(items.length, expect.length, field);
    assert.deepEqual(items.map((x) => x[1]), expect.map((x) => x[1]), field);
    // the largest is one of those with the largest value (ties may come in either order)
    assert.ok(expect.filter((x) => x[1] === expect[0][1]).some((x) => x[0] === items[0][0]), field);
    assert.equal(await page.locator(`${box} g.item rect.bar`).count(), items.length);
  }
  await shot("4-talkers");

  await page.click("#records-tabs button[data-tab=rejects]");
  const rchart = page.locator("#rejects-chart svg.timechart");
  assert.equal(Number(await rchart.getAttribute("data-total-packets")), rejects.reduce((a, r) => a + num(r.packets), 0));
  const topRejected = await page.$$eval("#rejects-top g.item", (gs) => gs.map((g) => [g.dataset.key, Number(g.dataset.value)]));
  const conn = new Map();
  for (const r of rejects) {
    const k = `${r.srcaddr} → ${r.dstaddr}:${r.dstport} TCP`;
    conn.set(k, (conn.get(k) || 0) + num(r.packets));
  }
  assert.deepEqual(topRejected, [...conn.entries()].sort((a, b) => b[1] - a[1]));
  assert.equal(topRejected[0][0], "203.0.113.1 → 10.0.0.5:22 TCP");
  assert.equal(await page.locator("#rejects-table tbody tr.record").count(), rejects.length);
  await shot("5-rejects");

  // the query box narrows the pictures too: only port 3389's refusals
  mark = await readyMark();
  await page.fill("#records-query", "dstport:3389");
  await page.click("#records-form button[type=submit]");
  await ready(mark);
  assert.equal(await page.locator("#rejects-table tbody tr.record").count(), rejects.filter((r) => r.dstport === "3389").length);

  // an analysis in the box is answered as a table
  mark = await readyMark();
  await page.fill("#records-query", "action:REJECT | select dstport, count(*) as c group by dstport order by c desc");
  await page.click("#records-form button[type=submit]");
  await ready(mark);
  await page.click("#records-tabs button[data-tab=list]");
  const arows = await page.$$eval("#records-table tbody tr.record", (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
  assert.deepEqual(arows, [["22", "9"], ["3389", "3"]]);

  // a bad query: CLS's error, with its code
  await page.fill("#records-query", "action:REJECT AND (dstport:22");
  await page.click("#records-form button[type=submit]");
  await page.waitForSelector("#error:not([hidden])");
  assert.match(await page.textContent("#error"), /FailedOperation\.SyntaxError/);
  await shot("6-error");
});
