// lib.js: helpers shared by the reliability tests (tests/reliability/*.test.js)
// and the soak run. Builds on tests/integration/harness.js (server start,
// CLI, inventory fixture, TC3 and v1 signers) and adds what those tests need
// beyond it: raw-socket exchanges with a small HTTP/1.1 response parser,
// TC3 requests serialised to exact bytes, a classifying API client for the
// crash test, paging over DescribeFlowLogs, percentiles and the RSS of a pid.
"use strict";

const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const http = require("node:http");
const net = require("node:net");
const { spawnSync } = require("node:child_process");

const h = require("../integration/harness.js");

const API_VERSION = "2017-03-12";
const REGION = "ap-guangzhou";

// ------------------------------------------------------------- accounts ---

/** The i-th inventory tag: 4 letters of [a-f] (the fixture's rule). */
function tagOf(i) {
  const L = "abcdef";
  let s = "";
  let n = i;
  for (let k = 0; k < 4; k++) {
    s = L[n % 6] + s;
    n = Math.floor(n / 6);
  }
  assert.ok(n === 0, `tag index ${i} out of range`);
  return s;
}

/**
 * Creates `n` accounts in `dataDir`, each with the harness inventory fixture
 * (tags tagOf(first + i)) and `extraEnis` attached ENIs. Returns
 * [{AppId, Uin, SecretId, SecretKey, ids, inventory, tag}].
 */
function makeAccounts(dataDir, n, { extraEnis = 0, quota, first = 0 } = {}) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const tag = tagOf(first + i);
    const acct = h.createAccount(dataDir, { quota: typeof quota === "function" ? quota(i) : quota });
    const fx = h.inventoryFixture({ tag, extraEnis });
    h.importInventory(dataDir, acct.Uin, fx.inventory);
    out.push(Object.assign(acct, fx, { tag }));
  }
  return out;
}

// ------------------------------------------------------- TC3 as raw bytes ---

/**
 * Builds a TC3-signed request and returns its pieces:
 * {method, path, headers: [[name, value]...] (in order), body: Buffer, sig}.
 * Options: port, action, body (object -> JSON, or string/Buffer), secretId,
 * secretKey, timestamp, region, version, method, query (raw string),
 * signedHeaders, extraHeaders ([[name, value]] sent but not signed unless
 * named in signedHeaders), contentType, service (default "127").
 * Header names are sent in the usual capitalisation; values exactly.
 */
function tc3Request({
  port,
  action = "DescribeFlowLogs",
  body = {},
  secretId,
  secretKey,
  timestamp,
  region = REGION,
  version = API_VERSION,
  method = "POST",
  query = "",
  signedHeaders = ["content-type", "host"],
  extraHeaders = [],
  contentType,
  service = "127",
  language,
  date,
}) {
  const ts = timestamp === undefined ? Math.floor(Date.now() / 1000) : timestamp;
  let payload;
  if (Buffer.isBuffer(body)) payload = body;
  else if (typeof body === "string") payload = Buffer.from(body, "utf8");
  else if (body === null || body === undefined) payload = Buffer.alloc(0);
  else payload = Buffer.from(JSON.stringify(body), "utf8");
  const headers = [
    ["Host", `127.0.0.1:${port}`],
    ["Content-Type", contentType !== undefined ? contentType : (method === "GET" ? "application/x-www-form-urlencoded" : "application/json")],
    ["X-TC-Timestamp", String(ts)],
  ];
  if (action !== null) headers.push(["X-TC-Action", action]);
  if (version !== null) headers.push(["X-TC-Version", version]);
  if (region !== null) headers.push(["X-TC-Region", region]);
  if (language) headers.push(["X-TC-Language", language]);
  for (const [k, v] of extraHeaders) headers.push([k, v]);
  const lower = {};
  for (const [k, v] of headers) lower[k.toLowerCase()] = v;
  const sig = h.tc3Sign({
    secretId,
    secretKey,
    method,
    query,
    headers: lower,
    signedHeaders,
    payload,
    timestamp: ts,
    service,
    // a timestamp that is not a time still needs a scope date
    date: date || (Number.isFinite(Number(ts)) && Math.abs(Number(ts)) < 8.64e12 && String(ts) !== "" ? undefined : h.utcDateOf(Date.now() / 1000)),
  });
  headers.push(["Authorization", sig.authorization]);
  return { method, path: query ? `/?${query}` : "/", headers, body: payload, sig, timestamp: ts };
}

/**
 * Serialises a request to bytes. `contentLength`: a number, a string, null
 * (no header) or undefined (the body's length; omitted for an empty GET).
 */
function serialize({ method, path, headers, body = Buffer.alloc(0), httpVersion = "HTTP/1.1", contentLength }) {
  const lines = [`${method} ${path} ${httpVersion}`];
  for (const [k, v] of headers) lines.push(`${k}: ${v}`);
  if (contentLength === undefined) {
    if (body.length || method !== "GET") lines.push(`Content-Length: ${body.length}`);
  } else if (contentLength !== null) {
    lines.push(`Content-Length: ${contentLength}`);
  }
  return Buffer.concat([Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1"), body]);
}

/** A POST to / of an already encoded form body (a v1 request), as bytes. */
function formPost(host, body) {
  return serialize({
    method: "POST",
    path: "/",
    headers: [
      ["Host", host],
      ["Content-Type", "application/x-www-form-urlencoded"],
    ],
    body: Buffer.from(body, "latin1"),
  });
}

// ------------------------------------------------------ raw HTTP parsing ---

/**
 * Parses as many complete HTTP/1.x responses as `buf` holds. Returns
 * {responses: [{status, headers, body (Buffer), text, json}], rest}.
 * `eof`: the peer closed, so a response without length ends here.
 */
function parseResponses(buf, eof, noBody = false) {
  const responses = [];
  let off = 0;
  for (;;) {
    const end = buf.indexOf("\r\n\r\n", off, "latin1");
    if (end < 0) break;
    const head = buf.subarray(off, end).toString("latin1").split("\r\n");
    const m = /^HTTP\/\d\.\d (\d{3})/.exec(head[0]);
    if (!m) break;
    const headers = {};
    for (const line of head.slice(1)) {
      const i = line.indexOf(":");
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const status = Number(m[1]);
    let body;
    let next;
    const start = end + 4;
    if (noBody) {
      // the answer to HEAD: headers only, whatever Content-Length says
      body = Buffer.alloc(0);
      next = start;
    } else if (headers["transfer-encoding"] && /chunked/i.test(headers["transfer-encoding"])) {
      const parts = [];
      let p = start;
      let done = false;
      for (;;) {
        const le = buf.indexOf("\r\n", p, "latin1");
        if (le < 0) break;
        const size = parseInt(buf.subarray(p, le).toString("latin1"), 16);
        if (Number.isNaN(size)) break;
        if (size === 0) {
          const te = buf.indexOf("\r\n\r\n", le, "latin1");
          const simple = buf.subarray(le, le + 4).toString("latin1") === "\r\n\r\n";
          if (simple) {
            next = le + 4;
            done = true;
          } else if (te >= 0) {
            next = te + 4;
            done = true;
          }
          break;
        }
        if (buf.length < le + 2 + size + 2) break;
        parts.push(buf.subarray(le + 2, le + 2 + size));
        p = le + 2 + size + 2;
      }
      if (!done) break;
      body = Buffer.concat(parts);
    } else if (headers["content-length"] !== undefined) {
      const n = Number(headers["content-length"]);
      if (buf.length < start + n) break;
      body = buf.subarray(start, start + n);
      next = start + n;
    } else if (status === 204 || status === 304 || (status >= 100 && status < 200)) {
      body = Buffer.alloc(0);
      next = start;
    } else {
      if (!eof) break;
      body = buf.subarray(start);
      next = buf.length;
    }
    const text = body.toString("utf8");
    let json;
    try {
      json = JSON.parse(text);
    } catch (_) {
      json = undefined;
    }
    responses.push({ status, headers, body, text, json });
    off = next;
  }
  return { responses, rest: buf.subarray(off) };
}

/**
 * Opens a TCP connection, writes `data` (a Buffer/string, or an array of
 * {bytes, delayMs} steps written one after another), and collects what comes
 * back until the server closes, `expectResponses` complete responses have
 * arrived (then we close), or `timeoutMs` passes. Resolves
 * {responses, closedByServer, timedOut, error, elapsedMs, connectError,
 *  raw (Buffer)}. Never rejects. `head`: the request is a HEAD (answers have no body).
 */
function rawExchange({ port, data, timeoutMs = 10000, expectResponses = 1, halfClose = false, head = false }) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const chunks = [];
    let settled = false;
    let closedByServer = false;
    let timedOut = false;
    let error;
    let connectError;
    const sock = net.connect({ host: "127.0.0.1", port });
    sock.setNoDelay(true);
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const raw = Buffer.concat(chunks);
      const { responses } = parseResponses(raw, closedByServer, head);
      sock.destroy();
      resolve({ responses, closedByServer, timedOut, error, connectError, elapsedMs: Date.now() - t0, raw });
    };
    const timer = setTimeout(() => {
      timedOut = true;
      finish();
    }, timeoutMs);
    sock.on("data", (c) => {
      chunks.push(c);
      if (expectResponses > 0) {
        const { responses } = parseResponses(Buffer.concat(chunks), false, head);
        if (responses.length >= expectResponses) finish();
      }
    });
    sock.on("end", () => {
      closedByServer = true;
      finish();
    });
    sock.on("close", () => {
      closedByServer = closedByServer || !settled;
      finish();
    });
    sock.on("error", (e) => {
      if (e.code === "ECONNREFUSED") connectError = e.code;
      else error = e.code || e.message;
    });
    sock.on("connect", async () => {
      const steps = Array.isArray(data) ? data : [{ bytes: data }];
      for (const st of steps) {
        if (settled) return;
        if (st.delayMs) await h.sleep(st.delayMs);
        if (settled || sock.destroyed) return;
        try {
          sock.write(st.bytes);
        } catch (_) {
          return;
        }
      }
      if (halfClose && !settled) sock.end();
    });
  });
}

// ---------------------------------------------------- API calls over http ---

/**
 * Sends one TC3-signed API call with node's http client and classifies it:
 * {kind: "ok" | "error" | "noanswer" | "refused", code, response, ms, err}.
 *  ok:       HTTP 200 envelope without Error
 *  error:    HTTP 200 envelope with Error (code = Error.Code)
 *  noanswer: the connection was set up but no complete answer came back
 *  refused:  the connection was refused: the request was never sent
 * Anything else (another status, no envelope) is "bad" with the text.
 */
function apiCall({ port, action, body, key, timeoutMs = 30000, agent = false, region = REGION, version = API_VERSION }) {
  const req = tc3Request({ port, action, body, secretId: key.SecretId, secretKey: key.SecretKey, region, version });
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
    let done = false;
    const settle = (r) => {
      if (done) return;
      done = true;
      r.ms = ms();
      resolve(r);
    };
    const headers = {};
    for (const [k, v] of req.headers) headers[k] = v;
    headers["Content-Length"] = String(req.body.length);
    const cr = http.request(
      { host: "127.0.0.1", port, method: "POST", path: "/", headers, agent, setHost: false },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json;
          try {
            json = JSON.parse(text);
          } catch (_) {
            json = undefined;
          }
          if (res.statusCode === 200 && json && json.Response) {
            const e = json.Response.Error;
            settle(e ? { kind: "error", code: e.Code, response: json.Response } : { kind: "ok", response: json.Response });
          } else if (!res.complete) {
            settle({ kind: "noanswer", err: "incomplete response" });
          } else {
            settle({ kind: "bad", status: res.statusCode, text });
          }
        });
        res.on("aborted", () => settle({ kind: "noanswer", err: "response aborted" }));
        res.on("error", (e) => settle({ kind: "noanswer", err: e.code || e.message }));
      }
    );
    cr.setTimeout(timeoutMs, () => cr.destroy(new Error("timeout")));
    cr.on("error", (e) => {
      if (e.code === "ECONNREFUSED") settle({ kind: "refused", err: e.code });
      else settle({ kind: "noanswer", err: e.code || e.message });
    });
    cr.end(req.body);
  });
}

/** apiCall that must succeed; returns the Response. */
async function apiOk(opts) {
  const r = await apiCall(opts);
  assert.equal(
    r.kind,
    "ok",
    `${opts.action} ${JSON.stringify(opts.body).slice(0, 200)} -> ${r.kind} ${r.code || ""} ${r.err || ""} ${
      r.response ? JSON.stringify(r.response.Error) : r.text || ""
    }`
  );
  return r.response;
}

/** Every flow log of `key`'s account in `region`, paging by 100 (ordered by id). */
async function describeAll({ port, key, region = REGION, filters = {} }) {
  const all = [];
  let total;
  for (let offset = 0; ; offset += 100) {
    const resp = await apiOk({
      port,
      key,
      region,
      action: "DescribeFlowLogs",
      body: Object.assign({ Offset: offset, Limit: 100 }, filters),
    });
    total = resp.TotalNum;
    all.push(...resp.FlowLog);
    if (resp.FlowLog.length < 100 || all.length >= total) break;
  }
  assert.equal(all.length, total, `paging returned ${all.length} flow logs, TotalNum says ${total}`);
  return all;
}

/** TotalNum of DescribeFlowLogs for the account (no filter). */
async function totalNum({ port, key, region = REGION }) {
  const resp = await apiOk({ port, key, region, action: "DescribeFlowLogs", body: { Limit: 1 } });
  return resp.TotalNum;
}

// ------------------------------------------------------------------ misc ---

/** p-th percentile (0..100) of numbers, nearest rank. */
function percentile(values, p) {
  if (!values.length) return NaN;
  const s = values.slice().sort((a, b) => a - b);
  const rank = Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length)));
  return s[rank - 1];
}

/** VmRSS of a pid in KiB, or NaN. */
function rssKb(pid) {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : NaN;
  } catch (_) {
    return NaN;
  }
}

/**
 * Memory of a process in kB, split by kind: VmRSS, RssAnon (the heap and
 * stacks), RssFile (file-backed pages, counted once per mapping: every
 * SQLite connection maps the database), RssShmem, and Pss_File (each
 * resident file page once, shared with the mappings that hold it).
 * NaN members when the process is gone.
 */
function procMem(pid) {
  const out = { rss: NaN, anon: NaN, file: NaN, shmem: NaN, pssFile: NaN };
  const grab = (text, name) => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, "m").exec(text);
    return m ? Number(m[1]) : NaN;
  };
  try {
    const st = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    out.rss = grab(st, "VmRSS");
    out.anon = grab(st, "RssAnon");
    out.file = grab(st, "RssFile");
    out.shmem = grab(st, "RssShmem");
    out.pssFile = grab(fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"), "Pss_File");
  } catch (_) {
    /* gone */
  }
  return out;
}

/** Open file descriptor limit of this process (as its children inherit it). */
function fdLimit() {
  const r = spawnSync("sh", ["-c", "ulimit -n"], { encoding: "utf8" });
  const v = r.stdout.trim();
  return v === "unlimited" ? Infinity : Number(v);
}

/** Runs `flowlogd check --data DIR`: {status, out}. */
function storeCheck(dataDir) {
  const r = h.cli(["check", "--data", dataDir], { timeoutMs: 60000 });
  return { status: r.status, out: (r.stdout + r.stderr).trim() };
}

/** Runs `fn` over `items` with at most `n` in flight; resolves the results in order. */
async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  const workers = [];
  for (let w = 0; w < Math.min(n, items.length); w++) {
    workers.push(
      (async () => {
        for (;;) {
          const i = next++;
          if (i >= items.length) return;
          out[i] = await fn(items[i], i);
        }
      })()
    );
  }
  await Promise.all(workers);
  return out;
}

const randInt = (lo, hi) => lo + crypto.randomInt(hi - lo + 1);

module.exports = {
  h,
  API_VERSION,
  REGION,
  tagOf,
  makeAccounts,
  tc3Request,
  serialize,
  formPost,
  parseResponses,
  rawExchange,
  apiCall,
  apiOk,
  describeAll,
  totalNum,
  percentile,
  rssKb,
  procMem,
  fdLimit,
  storeCheck,
  pool,
  randInt,
};
