// flowlogd console: calls the public API of the server that serves it,
// TC3-HMAC-SHA256-signed here with WebCrypto. The SecretId/SecretKey live in
// sessionStorage (this tab only) and are never sent: only signatures are.
"use strict";

const SERVICES = {
  vpc: { version: "2017-03-12" },
  tag: { version: "2018-08-13" },
  sts: { version: "2018-08-13" },
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
