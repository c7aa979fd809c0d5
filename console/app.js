// flowlogd console: calls the public API of the server that serves it,
// TC3-HMAC-SHA256-signed here with WebCrypto. The SecretId/SecretKey live in
// sessionStorage (this tab only) and are never sent: only signatures are.
"use strict";

const SERVICES = {
  vpc: { version: "2017-03-12" },
  tag: { version: "2018-08-13" },
  sts: { version: "2018-08-13" },
  cls: { version: "2020-10-16" },
};
const REGIONS = [
  "ap-guangzhou", "ap-shanghai", "ap-beijing", "ap-chengdu", "ap-chongqing", "ap-nanjing",
  "ap-hongkong", "ap-singapore", "ap-bangkok", "ap-jakarta", "ap-seoul", "ap-tokyo", "ap-mumbai",
  "na-siliconvalley", "na-ashburn", "eu-frankfurt", "sa-saopaulo",
];
const PAGE = 10;
const enc = new TextEncoder();
const $ = (sel) => document.querySelector(sel);

// ---------------------------------------------------------------- signing ---
const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
const sha256 = async (s) => hex(await crypto.subtle.digest("SHA-256", enc.encode(s)));
async function hmac(key, msg) {
  const k = await crypto.subtle.importKey("raw", typeof key === "string" ? enc.encode(key) : key,
    { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return crypto.subtle.sign("HMAC", k, enc.encode(msg));
}

/** Calls `action` of `service` with `params`; resolves to Response, or
 * throws {code, message, requestId} from the API's error envelope. */
async function call(service, action, params = {}) {
  const cred = credentials();
  if (!cred) throw { code: "AuthFailure", message: "not signed in" };
  const body = JSON.stringify(params);
  const ts = Math.floor(Date.now() / 1000);
  const date = new Date(ts * 1000).toISOString().slice(0, 10);
  const host = location.host;
  const ctype = "application/json; charset=utf-8";
  const canonical = ["POST", "/", "", `content-type:${ctype}\nhost:${host}\n`, "content-type;host", await sha256(body)].join("\n");
  const scope = `${date}/${service}/tc3_request`;
  const toSign = ["TC3-HMAC-SHA256", String(ts), scope, await sha256(canonical)].join("\n");
  const kDate = await hmac("TC3" + cred.secretKey, date);
  const kService = await hmac(kDate, service);
  const kSigning = await hmac(kService, "tc3_request");
  const signature = hex(await hmac(kSigning, toSign));
  const res = await fetch("/", {
    method: "POST",
    headers: {
      "Content-Type": ctype,
      Authorization: `TC3-HMAC-SHA256 Credential=${cred.secretId}/${scope}, SignedHeaders=content-type;host, Signature=${signature}`,
      "X-TC-Action": action,
      "X-TC-Version": SERVICES[service].version,
      "X-TC-Timestamp": String(ts),
      "X-TC-Region": cred.region,
      "X-TC-Language": navigator.language && navigator.language.startsWith("zh") ? "zh-CN" : "en-US",
    },
    body,
  });
  let json;
  try {
    json = await res.json();
  } catch (_) {
    throw { code: `HTTP ${res.status}`, message: "the server did not answer with the API's envelope" };
  }
  const r = json.Response || {};
  if (r.Error) throw { code: r.Error.Code, message: r.Error.Message, requestId: r.RequestId };
  return r;
}

// ------------------------------------------------------------------ state ---
function credentials() {
  try {
    return JSON.parse(sessionStorage.getItem("flowlogd.cred") || "null");
  } catch (_) {
    return null;
  }
}
const state = { page: 0, total: 0, filters: {}, current: null, uin: "" };

function show(id, on = true) {
  $(id).hidden = !on;
}
let noticeTimer;
function notice(msg) {
  const n = $("#notice");
  n.textContent = msg;
  n.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (n.hidden = true), 4000);
}
function showError(e) {
  const box = $("#error");
  box.innerHTML = "";
  const code = document.createElement("code");
  code.textContent = e.code || "Error";
  box.append(code, document.createTextNode(": " + (e.message || String(e))));
  if (e.requestId) box.append(document.createTextNode(` (RequestId ${e.requestId})`));
  box.hidden = false;
}
function clearError() {
  $("#error").hidden = true;
}
async function guarded(fn) {
  clearError();
  try {
    return await fn();
  } catch (e) {
    showError(e);
    return undefined;
  }
}

// ----------------------------------------------------------------- views ---
function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

async function listFlowLogs() {
  const p = { Offset: state.page * PAGE, Limit: PAGE };
  for (const [k, v] of Object.entries(state.filters)) {
    if (!v || k === "TagKey") continue;
    p[k] = v;
  }
  if (state.filters.TagKey) p.Filters = { Name: "tag-key", Values: [state.filters.TagKey] };
  const r = await guarded(() => call("vpc", "DescribeFlowLogs", p));
  if (!r) return;
  state.total = r.TotalNum;
  const tbody = $("#fl-table tbody");
  tbody.innerHTML = "";
  if (!r.FlowLog.length) tbody.append(el("tr", {}, el("td", { colspan: 10, class: "empty" }, "No flow logs.")));
  for (const fl of r.FlowLog) {
    const storage = fl.StorageType === "ckafka" && fl.FlowLogStorage
      ? `ckafka ${fl.FlowLogStorage.StorageId}/${fl.FlowLogStorage.StorageTopic}`
      : `cls ${fl.CloudLogId || ""}`;
    tbody.append(
      el("tr", { "data-id": fl.FlowLogId },
        el("td", {}, fl.FlowLogId),
        el("td", { class: "name" }, fl.FlowLogName),
        el("td", {}, `${fl.ResourceType} ${fl.ResourceId}`),
        el("td", {}, fl.VpcId || "–"),
        el("td", {}, fl.TrafficType),
        el("td", {}, storage),
        el("td", {}, fl.CreatedTime),
        el("td", { class: fl.Enable ? "on state" : "off state" }, fl.Enable ? "enabled" : "disabled"),
        el("td", {}, ...(fl.TagSet || []).map((t) => el("span", { class: "tag" }, `${t.Key}=${t.Value}`))),
        el("td", { class: "actions" },
          el("button", { class: "secondary", onclick: () => openDetail(fl) }, "Details"),
          fl.StorageType !== "ckafka" && fl.CloudLogId
            ? el("button", { class: "secondary records", onclick: () => openRecords(fl) }, "Records")
            : "",
          el("button", { class: "secondary toggle", onclick: () => toggle(fl) }, fl.Enable ? "Disable" : "Enable"),
          el("button", { class: "danger delete", onclick: () => remove(fl) }, "Delete")
        )
      )
    );
  }
  const pages = Math.max(1, Math.ceil(state.total / PAGE));
  $("#page-info").textContent = `page ${state.page + 1} of ${pages} · ${state.total} flow logs`;
  $("#prev").disabled = state.page === 0;
  $("#next").disabled = state.page + 1 >= pages;
}

async function toggle(fl) {
  const action = fl.Enable ? "DisableFlowLogs" : "EnableFlowLogs";
  if (await guarded(() => call("vpc", action, { FlowLogIds: [fl.FlowLogId] }))) {
    notice(`${fl.FlowLogId} ${fl.Enable ? "disabled" : "enabled"}`);
    await listFlowLogs();
  }
}

async function remove(fl) {
  if (!confirm(`Delete flow log ${fl.FlowLogId} (${fl.FlowLogName})?`)) return;
  const p = { FlowLogId: fl.FlowLogId };
  if (fl.ResourceType !== "CCN" && fl.VpcId) p.VpcId = fl.VpcId;
  if (await guarded(() => call("vpc", "DeleteFlowLog", p))) {
    notice(`${fl.FlowLogId} deleted`);
    if (state.current && state.current.FlowLogId === fl.FlowLogId) show("#detail", false);
    await listFlowLogs();
  }
}

async function openDetail(fl) {
  const p = { FlowLogId: fl.FlowLogId };
  if (fl.VpcId) p.VpcId = fl.VpcId;
  // DescribeFlowLog serves VPC flow logs; a CCN one is shown from the list
  const r = fl.ResourceType === "CCN" ? { FlowLog: [fl] } : await guarded(() => call("vpc", "DescribeFlowLog", p));
  if (!r) return;
  state.current = r.FlowLog[0];
  $("#detail-title").textContent = `Flow log ${state.current.FlowLogId}`;
  $("#detail-json").textContent = JSON.stringify(state.current, null, 2);
  $("#rename-form").FlowLogName.value = state.current.FlowLogName;
  $("#rename-form").FlowLogDescription.value = state.current.FlowLogDescription || "";
  show("#detail");
}

function resourceName(fl) {
  const region = credentials().region;
  return `qcs::vpc:${region}:uin/${state.uin}:fl/${fl.FlowLogId}`;
}

// ---------------------------------------------------------------- create ---
const PICKERS = {
  // DescribeVpcs and DescribeSubnets take Offset and Limit as strings (the spec's types)
  VPC: { action: "DescribeVpcs", list: "VpcSet", id: "VpcId", name: "VpcName", limit: "100" },
  SUBNET: { action: "DescribeSubnets", list: "SubnetSet", id: "SubnetId", name: "SubnetName", vpc: true, limit: "100" },
  NETWORKINTERFACE: { action: "DescribeNetworkInterfaces", list: "NetworkInterfaceSet", id: "NetworkInterfaceId", name: "NetworkInterfaceName", vpc: true },
  NAT: { action: "DescribeNatGateways", list: "NatGatewaySet", id: "NatGatewayId", name: "NatGatewayName", vpc: true },
  DCG: { action: "DescribeDirectConnectGateways", list: "DirectConnectGatewaySet", id: "DirectConnectGatewayId", name: "DirectConnectGatewayName", vpc: true },
  CCN: { action: "DescribeCcns", list: "CcnSet", id: "CcnId", name: "CcnName" },
};

function fill(select, items, empty) {
  select.innerHTML = "";
  if (!items.length) select.append(el("option", { value: "" }, empty));
  for (const [value, label] of items) select.append(el("option", { value }, label));
}

async function loadVpcs() {
  const r = await guarded(() => call("vpc", "DescribeVpcs", { Limit: PICKERS.VPC.limit }));
  fill($("#create-vpc"), r ? r.VpcSet.map((v) => [v.VpcId, `${v.VpcId} ${v.VpcName || ""}`]) : [], "no VPC");
}

async function loadResources() {
  const type = $("#create-type").value;
  const pk = PICKERS[type];
  const vpc = $("#create-vpc").value;
  $("#create-vpc").disabled = type === "CCN";
  show("#period-row", type === "CCN");
  if (type === "VPC") {
    fill($("#create-resource"), vpc ? [[vpc, vpc]] : [], "no VPC");
    return;
  }
  const p = { Limit: pk.limit || 100 };
  if (pk.vpc && vpc) p.Filters = [{ Name: "vpc-id", Values: [vpc] }];
  const r = await guarded(() => call("vpc", pk.action, p));
  const items = r ? (r[pk.list] || []).map((x) => [x[pk.id], `${x[pk.id]} ${x[pk.name] || ""}`]) : [];
  fill($("#create-resource"), items, `no ${type.toLowerCase()} here`);
}

async function create(ev) {
  ev.preventDefault();
  const f = ev.target;
  const type = f.ResourceType.value;
  const p = {
    FlowLogName: f.FlowLogName.value,
    ResourceType: type,
    ResourceId: f.ResourceId.value,
    TrafficType: f.TrafficType.value,
  };
  if (type !== "CCN") p.VpcId = f.VpcId.value;
  if (f.FlowLogDescription.value) p.FlowLogDescription = f.FlowLogDescription.value;
  if (f.StorageType.value === "ckafka") {
    p.StorageType = "ckafka";
    p.FlowLogStorage = { StorageId: f.StorageId.value, StorageTopic: f.StorageTopic.value };
  } else {
    p.CloudLogId = f.CloudLogId.value;
  }
  if (type === "CCN" && f.Period.value) p.Period = Number(f.Period.value);
  if (f.Tag.value) {
    const [k, ...v] = f.Tag.value.split("=");
    p.Tags = [{ Key: k, Value: v.join("=") }];
  }
  const r = await guarded(() => call("vpc", "CreateFlowLog", p));
  if (r) {
    notice(`created ${r.FlowLog[0].FlowLogId}`);
    show("#create", false);
    f.reset();
    state.page = 0;
    await listFlowLogs();
  }
}

// --------------------------------------------------------------- records ---
// A flow log whose CloudLogId is a CLS topic of this server: its records
// (SearchLog, paged with Context), bytes and packets over time (a histogram
// analysis), top talkers (group-by analyses) and rejected connections. The
// pictures are inline SVG drawn here; each mark carries its value in data-*
// attributes (what the tests read) and a <title> (what a person hovers).
const SVGNS = "http://www.w3.org/2000/svg";
const RECORD_FIELDS = ["version", "account-id", "interface-id", "srcaddr", "dstaddr", "srcport", "dstport",
  "protocol", "packets", "bytes", "start", "end", "action", "log-status"];
const PROTOCOLS = { 1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6" };
const REC_PAGE = 100;
const rec = { fl: null, context: "", shown: 0, search: "", from: 0, to: 0, columns: null };

function svg(tag, attrs = {}, ...kids) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}

function human(n, unit = "") {
  const v = Number(n) || 0;
  const steps = unit === "B" ? [[1 << 30, "Gi"], [1 << 20, "Mi"], [1 << 10, "Ki"]] : [[1e9, "G"], [1e6, "M"], [1e3, "k"]];
  for (const [d, p] of steps) if (Math.abs(v) >= d) return `${(v / d).toFixed(v / d >= 100 ? 0 : 1)} ${p}${unit}`;
  return `${Math.round(v)}${unit ? " " + unit : ""}`;
}
const pad2 = (n) => String(n).padStart(2, "0");
function localInput(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}
function shortTime(ms, span) {
  const d = new Date(ms);
  const hm = `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  return span > 2 * 86400000 ? `${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${hm}` : hm;
}
// the analysis answers times as "YYYY-MM-DD HH:MM:SS[.mmm]" in UTC
const analysisTime = (t) => Date.parse(String(t).replace(" ", "T") + (/Z$/.test(t) ? "" : "Z"));

/** Splits a query at its first '|' outside quotes: [search, analysis or ""]. */
function splitQuery(q) {
  let quote = "";
  for (let i = 0; i < q.length; i++) {
    const c = q[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "|") return [q.slice(0, i).trim(), q.slice(i + 1).trim()];
  }
  return [q.trim(), ""];
}

/** The search part, narrowed to this flow log's records (the sinks name each
 * log's file after its flow log) when the box is ticked, and to `extra`. */
function scoped(search, extra) {
  const parts = [];
  if (search && search !== "*") parts.push(`(${search})`);
  if ($("#records-own").checked) parts.push(`__FILENAME__:"${rec.fl.FlowLogId}"`);
  if (extra) parts.push(extra);
  return parts.length ? parts.join(" AND ") : "*";
}

function searchLog(query, more = {}) {
  return call("cls", "SearchLog", Object.assign({ TopicId: rec.fl.CloudLogId, From: rec.from, To: rec.to, QueryString: query, QuerySyntax: 1 }, more));
}
const analysisRows = (r) => (r.AnalysisRecords || []).map((s) => JSON.parse(s));

function openRecords(fl) {
  rec.fl = fl;
  $("#records-title").textContent = `Records of ${fl.FlowLogId} (${fl.FlowLogName})`;
  $("#records-topic").textContent = `CLS topic ${fl.CloudLogId} · SearchLog with CQL; an analysis after "|" (SQL) is shown as a table`;
  show("#records");
  setRange();
  selectTab("list");
  $("#records").scrollIntoView();
  return runSearch();
}

function setRange() {
  const v = $("#records-range").value;
  if (v === "custom") return;
  const now = Date.now();
  $("#records-from").value = localInput(now - Number(v) * 1000);
  $("#records-to").value = localInput(now + 1000);
}

function selectTab(name) {
  for (const b of document.querySelectorAll("#records-tabs button")) b.classList.toggle("active", b.dataset.tab === name);
  for (const t of document.querySelectorAll("#records .tab")) t.hidden = t.id !== `tab-${name}`;
}

async function runSearch() {
  clearError();
  setRange();
  rec.from = new Date($("#records-from").value).getTime();
  rec.to = new Date($("#records-to").value).getTime();
  if (!(rec.from < rec.to)) return showError({ code: "InvalidParameterValue", message: "the time range is empty (From must be before To)" });
  const [search, analysis] = splitQuery($("#records-query").value || "*");
  rec.search = search;
  rec.analysis = analysis;
  rec.context = "";
  rec.shown = 0;
  rec.columns = null;
  $("#records-table thead").innerHTML = "";
  $("#records-table tbody").innerHTML = "";
  $("#records-count").textContent = "searching…";
  const ok = await guarded(() => loadRecords());
  if (ok === undefined) {
    $("#records-count").textContent = "";
    return;
  }
  // the pictures: each is its own analysis; the first failure is shown
  await guarded(async () => {
    await drawTraffic();
    await drawTalkers();
    await drawRejects();
  });
  $("#records").dataset.ready = String(Date.now());
}

function recordCells(row, columns) {
  return columns.map((c) => {
    let v = row[c];
    if (v === undefined || v === null) v = "";
    if (c === "protocol" && PROTOCOLS[v]) v = `${v} ${PROTOCOLS[v]}`;
    const td = el("td", { class: `f-${c.replace(/[^a-z0-9]+/gi, "_")}` }, v);
    if (c === "action") td.classList.add(v === "REJECT" ? "off" : "on");
    return td;
  });
}

async function loadRecords() {
  const query = scoped(rec.search) + (rec.analysis ? ` | ${rec.analysis}` : "");
  const more = { Limit: REC_PAGE, Sort: "desc" };
  if (rec.context) more.Context = rec.context;
  const r = await searchLog(query, more);
  const thead = $("#records-table thead"), tbody = $("#records-table tbody");
  if (r.Analysis) {
    const cols = r.ColNames || [];
    thead.innerHTML = "";
    thead.append(el("tr", {}, ...cols.map((c) => el("th", {}, c))));
    tbody.innerHTML = "";
    const rows = analysisRows(r);
    for (const row of rows) tbody.append(el("tr", { class: "record" }, ...recordCells(row, cols)));
    $("#records-count").textContent = `analysis: ${rows.length} rows`;
    $("#records-more").hidden = true;
    return true;
  }
  const logs = (r.Results || []).map((x) => Object.assign({ __time: x.Time }, JSON.parse(x.LogJson || "{}")));
  if (!rec.columns) {
    const seen = new Set();
    for (const l of logs) for (const k of Object.keys(l)) if (k !== "__time") seen.add(k);
    const known = RECORD_FIELDS.filter((k) => seen.has(k));
    rec.columns = known.concat([...seen].filter((k) => !known.includes(k)));
    thead.append(el("tr", {}, el("th", {}, "time"), ...rec.columns.map((c) => el("th", {}, c))));
  }
  for (const l of logs) {
    tbody.append(el("tr", { class: "record" }, el("td", {}, new Date(l.__time).toLocaleString()), ...recordCells(l, rec.columns)));
  }
  rec.shown += logs.length;
  rec.context = r.Context || "";
  const over = r.ListOver || !rec.context || !logs.length;
  $("#records-more").hidden = over;
  $("#records-count").textContent = rec.shown
    ? `${rec.shown} records, newest first${over ? "" : " (more: Load more)"}`
    : "No records in this time range.";
  if (!rec.shown) tbody.append(el("tr", {}, el("td", { class: "empty", colspan: rec.columns.length + 1 }, "No records.")));
  return true;
}

/** The histogram's step: about 60 bars over the range, in whole minutes. */
function bucketMinutes() {
  const span = (rec.to - rec.from) / 60000;
  for (const m of [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440]) if (span / m <= 60) return m;
  return Math.ceil(span / 60 / 1440) * 1440;
}

async function timeSeries(search) {
  const m = bucketMinutes();
  const q = `${search} | select histogram(cast(__TIMESTAMP__ as timestamp), interval ${m} minute) as t, ` +
    "sum(bytes) as b, sum(packets) as p, count(*) as n group by t order by t limit 10000";
  const rows = analysisRows(await searchLog(q));
  const step = m * 60000;
  const byT = new Map(rows.map((x) => [analysisTime(x.t), x]));
  const out = [];
  for (let t = Math.floor(rec.from / step) * step; t < rec.to; t += step) {
    const x = byT.get(t) || {};
    out.push({ t, bytes: Number(x.b) || 0, packets: Number(x.p) || 0, records: Number(x.n) || 0 });
  }
  return { step, buckets: out };
}

/** A bar-and-line chart over time: `bars` and `line` are {key, label, unit}. */
function timeChart(box, series, bars, line) {
  const W = 1000, H = 280, L = 70, R = line ? 70 : 20, T = 28, B = 34;
  const { buckets, step } = series;
  const pw = W - L - R, ph = H - T - B;
  const maxB = Math.max(1, ...buckets.map((b) => b[bars.key]));
  const maxL = line ? Math.max(1, ...buckets.map((b) => b[line.key])) : 1;
  const bw = pw / Math.max(1, buckets.length);
  const x = (i) => L + i * bw;
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "timechart", role: "img", "data-buckets": buckets.length, "data-step-ms": step,
    ["data-total-" + bars.key]: buckets.reduce((a, b) => a + b[bars.key], 0) });
  if (line) s.setAttribute(`data-total-${line.key}`, buckets.reduce((a, b) => a + b[line.key], 0));
  s.append(svg("title", {}, `${bars.label}${line ? " and " + line.label : ""} per ${step / 60000} min`));
  for (let k = 0; k <= 4; k++) {
    const y = T + ph - (ph * k) / 4;
    s.append(svg("line", { x1: L, x2: W - R, y1: y, y2: y, class: "grid" }));
    s.append(svg("text", { x: L - 6, y: y + 4, class: "axis bars-axis", "text-anchor": "end" }, human((maxB * k) / 4, bars.unit)));
    if (line) s.append(svg("text", { x: W - R + 6, y: y + 4, class: "axis line-axis" }, human((maxL * k) / 4, line.unit)));
  }
  const span = rec.to - rec.from;
  const every = Math.max(1, Math.ceil(buckets.length / 8));
  buckets.forEach((b, i) => {
    if (i % every === 0) s.append(svg("text", { x: x(i), y: H - B + 16, class: "axis", "text-anchor": "start" }, shortTime(b.t, span)));
    const h = (ph * b[bars.key]) / maxB;
    const r = svg("rect", { class: `bar ${bars.key}`, x: x(i) + 1, y: T + ph - h, width: Math.max(1, bw - 2), height: h,
      "data-t": b.t, "data-value": b[bars.key] });
    r.append(svg("title", {}, `${new Date(b.t).toLocaleString()}: ${human(b[bars.key], bars.unit)} ${bars.label}` +
      (line ? `, ${human(b[line.key], line.unit)} ${line.label}` : "")));
    s.append(r);
  });
  if (line) {
    const pts = buckets.map((b, i) => [x(i) + bw / 2, T + ph - (ph * b[line.key]) / maxL]);
    s.append(svg("polyline", { class: `line ${line.key}`, points: pts.map((p) => p.join(",")).join(" ") }));
    buckets.forEach((b, i) => s.append(svg("circle", { class: `pt ${line.key}`, cx: pts[i][0], cy: pts[i][1], r: 2.5, "data-t": b.t, "data-value": b[line.key] })));
  }
  s.append(svg("rect", { x: L, y: 6, width: 12, height: 10, class: `bar ${bars.key} legend` }));
  s.append(svg("text", { x: L + 16, y: 15, class: "axis" }, bars.label + (bars.unit ? ` (${bars.unit})` : "")));
  if (line) {
    s.append(svg("line", { x1: L + 180, x2: L + 196, y1: 11, y2: 11, class: `line ${line.key}` }));
    s.append(svg("text", { x: L + 200, y: 15, class: "axis" }, line.label));
  }
  box.innerHTML = "";
  box.append(s);
}

/** Horizontal bars, largest first: rows are {key, label, value, title}. */
function barChart(box, rows, unit, name) {
  // the labels' column fits the longest (11 px monospace: about 6.7 px a character)
  const L = Math.max(60, Math.ceil(Math.max(0, ...rows.map((r) => r.label.length)) * 6.7) + 12);
  const W = L + 290, row = 24, R = 70, T = 6;
  const H = T * 2 + Math.max(1, rows.length) * row;
  const max = Math.max(1, ...rows.map((r) => r.value));
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "barchart", role: "img", "data-name": name, "data-items": rows.length,
    style: `max-width: ${W}px` });
  if (!rows.length) s.append(svg("text", { x: W / 2, y: T + 16, class: "axis", "text-anchor": "middle" }, "nothing in this range"));
  rows.forEach((r, i) => {
    const y = T + i * row;
    const w = ((W - L - R) * r.value) / max;
    const g = svg("g", { class: "item", "data-key": r.key, "data-value": r.value });
    g.append(svg("title", {}, r.title || `${r.label}: ${human(r.value, unit)}`));
    g.append(svg("text", { x: L - 6, y: y + 16, class: "label", "text-anchor": "end" }, r.label));
    g.append(svg("rect", { x: L, y: y + 4, width: Math.max(1, w), height: row - 8, class: "bar" }));
    g.append(svg("text", { x: L + w + 4, y: y + 16, class: "axis" }, human(r.value, unit)));
    s.append(g);
  });
  box.innerHTML = "";
  box.append(s);
}

async function drawTraffic() {
  const series = await timeSeries(scoped(rec.search));
  const tb = series.buckets.reduce((a, b) => a + b.bytes, 0), tp = series.buckets.reduce((a, b) => a + b.packets, 0);
  $("#traffic-caption").textContent = `${human(tb, "B")} and ${human(tp)} packets in ${series.buckets.reduce((a, b) => a + b.records, 0)} records; one bar per ${series.step / 60000} min`;
  timeChart($("#traffic-chart"), series, { key: "bytes", label: "bytes", unit: "B" }, { key: "packets", label: "packets", unit: "" });
}

async function drawTalkers() {
  const by = $("#talkers-by").value === "packets" ? "p" : "b";
  const unit = by === "b" ? "B" : "";
  for (const [field, box] of [["srcaddr", "#talkers-src"], ["dstaddr", "#talkers-dst"], ["dstport", "#talkers-port"]]) {
    const q = `${scoped(rec.search)} | select "${field}" as k, sum(bytes) as b, sum(packets) as p, count(*) as n ` +
      `group by k order by ${by} desc limit 10`;
    const rows = analysisRows(await searchLog(q)).filter((x) => x.k !== null && x.k !== "" && x.k !== "-");
    barChart($(box), rows.map((x) => ({ key: String(x.k), label: String(x.k), value: Number(x[by]) || 0,
      title: `${x.k}: ${human(x.b, "B")}, ${human(x.p)} packets, ${x.n} records` })), unit, field);
  }
}

async function drawRejects() {
  const search = scoped(rec.search, "action:REJECT");
  const series = await timeSeries(search);
  const n = series.buckets.reduce((a, b) => a + b.records, 0);
  $("#rejects-caption").textContent = `${n} REJECT records, ${human(series.buckets.reduce((a, b) => a + b.packets, 0))} packets refused`;
  timeChart($("#rejects-chart"), series, { key: "packets", label: "rejected packets", unit: "" }, null);
  const q = `${search} | select srcaddr, dstaddr, dstport, protocol, sum(packets) as p, count(*) as n ` +
    "group by srcaddr, dstaddr, dstport, protocol order by p desc limit 10";
  const rows = analysisRows(await searchLog(q));
  barChart($("#rejects-top"), rows.map((x) => {
    const label = `${x.srcaddr} → ${x.dstaddr}:${x.dstport} ${PROTOCOLS[x.protocol] || x.protocol}`;
    return { key: label, label, value: Number(x.p) || 0, title: `${label}: ${x.p} packets in ${x.n} records` };
  }), "", "rejects");
  const list = await searchLog(search, { Limit: 20, Sort: "desc" });
  const logs = (list.Results || []).map((x) => Object.assign({ __time: x.Time }, JSON.parse(x.LogJson || "{}")));
  const cols = ["srcaddr", "srcport", "dstaddr", "dstport", "protocol", "packets", "bytes", "interface-id"];
  $("#rejects-table thead").innerHTML = "";
  $("#rejects-table thead").append(el("tr", {}, el("th", {}, "time"), ...cols.map((c) => el("th", {}, c))));
  const tbody = $("#rejects-table tbody");
  tbody.innerHTML = "";
  for (const l of logs) tbody.append(el("tr", { class: "record" }, el("td", {}, new Date(l.__time).toLocaleString()), ...recordCells(l, cols)));
}

// ------------------------------------------------------------------ boot ---
async function signedIn() {
  const id = await guarded(() => call("sts", "GetCallerIdentity", {}));
  if (!id) {
    sessionStorage.removeItem("flowlogd.cred");
    return signInView();
  }
  state.uin = id.AccountId || id.UserId || "";
  $("#who").textContent = `account ${state.uin} · ${credentials().region}`;
  show("#signout");
  show("#signin", false);
  show("#flowlogs");
  await listFlowLogs();
}

function signInView() {
  show("#flowlogs", false);
  show("#detail", false);
  show("#create", false);
  show("#records", false);
  show("#signout", false);
  $("#who").textContent = "";
  show("#signin");
}

function init() {
  fill($("#region-select"), REGIONS.map((r) => [r, r]), "");
  $("#signin-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    sessionStorage.setItem("flowlogd.cred", JSON.stringify({ secretId: f.secretId.value.trim(), secretKey: f.secretKey.value, region: f.region.value }));
    f.secretKey.value = "";
    await signedIn();
  });
  $("#signout").addEventListener("click", () => {
    sessionStorage.removeItem("flowlogd.cred");
    signInView();
  });
  $("#filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.filters = Object.fromEntries(new FormData(ev.target).entries());
    state.page = 0;
    listFlowLogs();
  });
  $("#prev").addEventListener("click", () => { state.page--; listFlowLogs(); });
  $("#next").addEventListener("click", () => { state.page++; listFlowLogs(); });
  $("#new-flowlog").addEventListener("click", async () => {
    show("#create");
    await loadVpcs();
    await loadResources();
  });
  $("#create-close").addEventListener("click", () => show("#create", false));
  $("#detail-close").addEventListener("click", () => show("#detail", false));
  $("#create-type").addEventListener("change", loadResources);
  $("#records-close").addEventListener("click", () => show("#records", false));
  $("#records-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    runSearch();
  });
  $("#records-range").addEventListener("change", setRange);
  for (const id of ["#records-from", "#records-to"]) $(id).addEventListener("change", () => ($("#records-range").value = "custom"));
  $("#records-more").addEventListener("click", () => guarded(() => loadRecords()));
  for (const b of document.querySelectorAll("#records-tabs button")) b.addEventListener("click", () => selectTab(b.dataset.tab));
  $("#talkers-by").addEventListener("change", () => guarded(() => drawTalkers()));
  $("#create-vpc").addEventListener("change", loadResources);
  $("#create-storage").addEventListener("change", (ev) => {
    const kafka = ev.target.value === "ckafka";
    show("#cls-row", !kafka);
    document.querySelectorAll(".ckafka-row").forEach((r) => (r.hidden = !kafka));
  });
  $("#create-form").addEventListener("submit", create);
  $("#rename-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const p = { FlowLogId: state.current.FlowLogId, FlowLogName: f.FlowLogName.value, FlowLogDescription: f.FlowLogDescription.value };
    if (state.current.ResourceType !== "CCN" && state.current.VpcId) p.VpcId = state.current.VpcId;
    if (await guarded(() => call("vpc", "ModifyFlowLogAttribute", p))) {
      notice("saved");
      await listFlowLogs();
      await openDetail(state.current);
    }
  });
  $("#tags-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const p = { Resource: resourceName(state.current), ReplaceTags: [{ TagKey: f.TagKey.value, TagValue: f.TagValue.value }] };
    if (await guarded(() => call("tag", "ModifyResourceTags", p))) {
      notice("tag set");
      await listFlowLogs();
      await openDetail(state.current);
    }
  });
  $("#tag-remove").addEventListener("click", async () => {
    const f = $("#tags-form");
    const p = { Resource: resourceName(state.current), DeleteTags: [{ TagKey: f.TagKey.value }] };
    if (await guarded(() => call("tag", "ModifyResourceTags", p))) {
      notice("tag removed");
      await listFlowLogs();
      await openDetail(state.current);
    }
  });
  if (credentials()) signedIn();
  else signInView();
}

init();
