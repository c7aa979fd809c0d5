// limits.test.js: size limits, the connection cap, the idle timeout and
// starvation by idle connections (issue 3, item 5).
//
//   body:    TC3 JSON up to 10 MiB is read, one byte more is
//            RequestSizeLimitExceeded; v1 form up to 1 MiB, one byte more is
//            RequestSizeLimitExceeded
//   headers: a 38 KB header is served; 42 KB gets a plain 431 or a close
//   URL:     a query of 32 KiB is served, one byte more is
//            RequestSizeLimitExceeded, 1 MB gets 414/431 or a close
//   --max-connections 64: what the 65th connection gets is recorded; a slot
//            freed is usable at once
//   --idle-timeout 2: an idle connection is closed after about 2 s
//   starvation: with 1,000 idle connections held open (--max-connections
//            2000) a normal client still gets answers; latency p50/p99 over
//            200 requests with and without them is printed.
"use strict";

const { test, after } = require("node:test");
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const net = require("node:net");
const L = require("./lib.js");

const { h } = L;

const servers = [];
const sockets = new Set();
after(async () => {
  for (const s of sockets) s.destroy();
  for (const s of servers) await s.stop("SIGKILL");
});

async function serverWith(args, label) {
  const dataDir = h.tmpDir(label);
  const [A] = L.makeAccounts(dataDir, 1, { extraEnis: 2 });
  const srv = await h.startServer({ dataDir, args: ["--rate-limit", "100000", "--quiet", ...args] });
  servers.push(srv);
  return { srv, port: srv.port, A, dataDir };
}

function envelopeCode(r) {
  const x = r.responses[0];
  if (!x) return `no answer (closed ${r.closedByServer}, timed out ${r.timedOut}, ${r.error || ""})`;
  if (x.status !== 200 || !(x.json && x.json.Response)) return `HTTP ${x.status}`;
  return x.json.Response.Error ? x.json.Response.Error.Code : "OK";
}

function transportRefusal(r) {
  const x = r.responses[0];
  if (x) return x.status >= 400 && !(x.json && x.json.Response);
  return r.closedByServer && !r.timedOut;
}

/** Opens an idle TCP connection; resolves the socket once connected. */
function idleSocket(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.closedAt = null;
    s.on("connect", () => {
      sockets.add(s);
      resolve(s);
    });
    s.on("error", (e) => {
      s.err = e.code;
      if (!s.connecting) return;
      reject(e);
    });
    s.on("close", () => {
      s.closedAt = Date.now();
      sockets.delete(s);
    });
    s.resume();
  });
}

/**
 * A signed v1 POST form of exactly `total` bytes (DescribeFlowLogs, padded FlowLogName).
 * The encoded signature's length depends on how many '+' and '/' it has (each becomes 3
 * bytes), so each attempt corrects the padding by the last miss and signs again with a new
 * nonce of the same length; an attempt lands when the signature is as long as the last one
 * (about one in three). 200 attempts make a miss practically impossible.
 */
function v1FormOfSize(port, A, total) {
  const host = `127.0.0.1:${port}`;
  let pad = total - 300;
  for (let attempt = 0; attempt < 200; attempt++) {
    const p = {
      Action: "DescribeFlowLogs",
      Nonce: String(crypto.randomInt(1e8, 1e9)),
      Timestamp: String(Math.floor(Date.now() / 1000)),
      Version: L.API_VERSION,
      SecretId: A.SecretId,
      Region: L.REGION,
      SignatureMethod: "HmacSHA256",
      FlowLogName: "x".repeat(Math.max(1, pad)),
    };
    p.Signature = h.v1Sign({ method: "POST", host, params: p, secretKey: A.SecretKey, signatureMethod: "HmacSHA256" }).signature;
    const body = Object.keys(p)
      .map((k) => `${k}=${h.rfc3986(p[k])}`)
      .join("&");
    if (body.length === total) {
      return L.formPost(host, body);
    }
    pad += total - body.length;
  }
  throw new Error(`could not build a form of ${total} bytes`);
}

test("body, header and URL size limits", { timeout: 120000 }, async (t) => {
  const { port, A } = await serverWith([], "limits-size");
  const figures = [];
  const failures = [];
  // every limit is measured even when an earlier one is wrong; the failures are reported together
  const check = (ok, msg) => {
    if (!ok) failures.push(msg);
  };
  const tc3 = (spec, ser = {}) => L.serialize(Object.assign({}, L.tc3Request(Object.assign({ port, secretId: A.SecretId, secretKey: A.SecretKey }, spec)), ser));

  // --- TC3 body: 10 MiB of valid JSON (padded with spaces) is read; one byte more is refused
  const MiB = 1 << 20;
  const json = (n) => {
    const head = '{"Limit":1}';
    return Buffer.concat([Buffer.from(head), Buffer.alloc(n - head.length, 0x20)]);
  };
  let r = await L.rawExchange({ port, data: tc3({ action: "DescribeFlowLogs", body: json(10 * MiB) }), timeoutMs: 30000 });
  figures.push(`TC3 body 10485760 B -> ${envelopeCode(r)}`);
  check(envelopeCode(r) === "OK", `a 10 MiB TC3 body must be read: expected OK, got ${envelopeCode(r)}`);
  r = await L.rawExchange({ port, data: tc3({ action: "DescribeFlowLogs", body: json(10 * MiB + 1) }), timeoutMs: 30000 });
  figures.push(`TC3 body 10485761 B -> ${envelopeCode(r)}`);
  check(envelopeCode(r) === "RequestSizeLimitExceeded", `10 MiB + 1 byte: expected RequestSizeLimitExceeded, got ${envelopeCode(r)}`);
  r = await L.rawExchange({ port, data: tc3({ action: "DescribeFlowLogs", body: json(10 * MiB + 2) }), timeoutMs: 30000 });
  figures.push(`TC3 body 10485762 B -> ${envelopeCode(r)}`);
  check(envelopeCode(r) === "RequestSizeLimitExceeded", `10 MiB + 2 bytes: expected RequestSizeLimitExceeded, got ${envelopeCode(r)}`);
  r = await L.rawExchange({ port, data: tc3({ action: "DescribeFlowLogs", body: json(64 * MiB) }), timeoutMs: 60000 });
  figures.push(`TC3 body 64 MiB -> ${envelopeCode(r)}`);
  check(envelopeCode(r) === "RequestSizeLimitExceeded" || transportRefusal(r), `64 MiB body: ${envelopeCode(r)}`);
  // a lying Content-Length of 1 GiB is not allocated up front: the server waits for the body (until the idle timeout) and lives
  r = await L.rawExchange({ port, data: tc3({ action: "DescribeFlowLogs", body: "{}" }, { contentLength: 1 << 30 }), timeoutMs: 3000 });
  figures.push(`Content-Length 1 GiB, 2 bytes sent -> ${r.responses.length ? envelopeCode(r) : r.closedByServer ? "closed" : "waiting (until the idle timeout)"}`);

  // --- v1 form body: 1 MiB is read, one byte more is refused
  r = await L.rawExchange({ port, data: v1FormOfSize(port, A, MiB), timeoutMs: 30000 });
  figures.push(`v1 form body 1048576 B -> ${envelopeCode(r)}`);
  check(envelopeCode(r) === "InvalidParameterValue.Range", `a 1 MiB form is read (and its 1 MB FlowLogName is out of range): expected InvalidParameterValue.Range, got ${envelopeCode(r)}`);
  r = await L.rawExchange({ port, data: v1FormOfSize(port, A, MiB + 1), timeoutMs: 30000 });
  figures.push(`v1 form body 1048577 B -> ${envelopeCode(r)}`);
  check(envelopeCode(r) === "RequestSizeLimitExceeded", `1 MiB + 1 byte of form: expected RequestSizeLimitExceeded, got ${envelopeCode(r)}`);

  // --- headers
  r = await L.rawExchange({ port, data: tc3({ action: "DescribeFlowLogs", body: {}, extraHeaders: [["X-Pad", "p".repeat(38000)]] }) });
  figures.push(`one 38000 B header -> ${envelopeCode(r)}`);
  check(envelopeCode(r) === "OK", `a 38 KB header is within the 40 KiB limit: expected OK, got ${envelopeCode(r)}`);
  r = await L.rawExchange({ port, data: tc3({ action: "DescribeFlowLogs", body: {}, extraHeaders: [["X-Pad", "p".repeat(42000)]] }) });
  figures.push(`one 42000 B header -> ${r.responses[0] ? `HTTP ${r.responses[0].status}` : "closed"}`);
  check(transportRefusal(r), `a 42 KB header: ${envelopeCode(r)}`);
  r = await L.rawExchange({
    port,
    data: tc3({ action: "DescribeFlowLogs", body: {}, extraHeaders: Array.from({ length: 2000 }, (_, i) => [`X-H${i}`, "v".repeat(30)]) }),
  });
  figures.push(`2000 headers of ~40 B -> ${r.responses[0] ? `HTTP ${r.responses[0].status}` : "closed"}`);
  check(transportRefusal(r), `2000 headers: ${envelopeCode(r)}`);

  // --- URL: TC3 GET query of 32 KiB is read, one byte more is refused
  const queryOf = (n) => "FlowLogName=" + "q".repeat(n - "FlowLogName=".length);
  r = await L.rawExchange({ port, data: tc3({ action: "DescribeFlowLogs", method: "GET", query: queryOf(32768), body: null }) });
  figures.push(`query 32768 B -> ${envelopeCode(r)}`);
  check(envelopeCode(r) === "InvalidParameterValue.Range", `a 32 KiB query is read (its FlowLogName is too long): expected InvalidParameterValue.Range, got ${envelopeCode(r)}`);
  r = await L.rawExchange({ port, data: tc3({ action: "DescribeFlowLogs", method: "GET", query: queryOf(32769), body: null }) });
  figures.push(`query 32769 B -> ${envelopeCode(r)}`);
  check(envelopeCode(r) === "RequestSizeLimitExceeded", `query 32769 B: expected RequestSizeLimitExceeded, got ${envelopeCode(r)}`);
  r = await L.rawExchange({ port, data: tc3({ action: "DescribeFlowLogs", method: "GET", query: queryOf(60000), body: null }) });
  figures.push(`query 60000 B -> ${r.responses[0] ? envelopeCode(r) : "closed"}`);
  check(envelopeCode(r) === "RequestSizeLimitExceeded" || transportRefusal(r), `60 KB query: ${envelopeCode(r)}`);
  r = await L.rawExchange({ port, data: tc3({ action: "DescribeFlowLogs", method: "GET", query: queryOf(1 << 20), body: null }) });
  figures.push(`query 1 MiB -> ${r.responses[0] ? (r.responses[0].status === 200 ? envelopeCode(r) : `HTTP ${r.responses[0].status}`) : "closed"}`);
  check(transportRefusal(r) || envelopeCode(r) === "RequestSizeLimitExceeded", `1 MB query: ${envelopeCode(r)}`);

  // the server is still fine
  await L.apiOk({ port, key: A, action: "DescribeFlowLogs", body: {} });
  for (const f of figures) t.diagnostic(f);
  console.log(`# size figures ${JSON.stringify(figures)}`);
  assert.deepEqual(failures, [], `size limits not as specified:\n${failures.join("\n")}`);
});

test("--max-connections 64: the 65th connection, and a freed slot", { timeout: 60000 }, async (t) => {
  const { port, A, srv } = await serverWith(["--max-connections", "64", "--idle-timeout", "30"], "limits-cap");
  const held = [];
  for (let i = 0; i < 64; i++) held.push(await idleSocket(port));
  await h.sleep(300);
  const stillOpen = () => held.filter((s) => s.closedAt === null).length;
  assert.equal(stillOpen(), 64, "the server closed some of the first 64 connections");

  const req = L.serialize(L.tc3Request({ port, secretId: A.SecretId, secretKey: A.SecretKey, action: "DescribeFlowLogs", body: {} }));
  // the 65th, 66th, ...: a full request each, 3 s to see what happens
  const extra = await Promise.all(Array.from({ length: 4 }, () => L.rawExchange({ port, data: req, timeoutMs: 3000 })));
  const outcome = (r) =>
    r.responses.length ? `answered ${envelopeCode(r)}` : r.connectError ? `refused (${r.connectError})` : r.closedByServer ? `closed without an answer after ${r.elapsedMs} ms${r.error ? ` (${r.error})` : ""}` : "waiting (no answer in 3 s)";
  const seen = extra.map(outcome);
  t.diagnostic(`with 64 idle connections held, connections 65-68 were: ${seen.join("; ")}`);
  for (const r of extra) assert.equal(r.responses.length, 0, `a connection beyond the cap was served: ${outcome(r)}`);
  assert.equal(stillOpen(), 64, "held connections were dropped to make room");

  // free one slot: a new connection is served at once
  held[0].destroy();
  await h.sleep(200);
  const t0 = Date.now();
  const r = await L.rawExchange({ port, data: req, timeoutMs: 5000 });
  t.diagnostic(`after one held connection closed, a new one was ${outcome(r)} in ${Date.now() - t0} ms`);
  assert.equal(envelopeCode(r), "OK", "a freed slot is usable");
  for (const s of held) s.destroy();
  await h.sleep(200);
  await L.apiOk({ port, key: A, action: "DescribeFlowLogs", body: {} });
  assert.equal(srv.proc.exitCode, null);
  console.log(`# cap figures ${JSON.stringify({ beyondCap: seen, afterFree: outcome(r) })}`);
});

test("--idle-timeout 2: idle connections are closed after about 2 s", { timeout: 60000 }, async (t) => {
  const { port, A } = await serverWith(["--idle-timeout", "2"], "limits-idle");
  const measure = (data) => L.rawExchange({ port, data, timeoutMs: 10000, expectResponses: 0 });
  const req = L.serialize(L.tc3Request({ port, secretId: A.SecretId, secretKey: A.SecretKey, action: "DescribeFlowLogs", body: {} }));
  const [silent, half, afterAnswer] = await Promise.all([
    measure([{ bytes: Buffer.alloc(0) }]),
    measure(req.subarray(0, 40)),
    measure(req), // answered, then kept alive and idle
  ]);
  const fig = {
    silentMs: silent.elapsedMs,
    halfRequestMs: half.elapsedMs,
    afterAnswerMs: afterAnswer.elapsedMs,
  };
  t.diagnostic(
    `idle timeout 2 s: a connection that sent nothing was closed after ${fig.silentMs} ms, ` +
      `one that sent 40 bytes of a request after ${fig.halfRequestMs} ms, a kept-alive one ${fig.afterAnswerMs} ms after connecting (answered first)`
  );
  for (const [n, r] of [
    ["silent", silent],
    ["half a request", half],
    ["kept alive after an answer", afterAnswer],
  ]) {
    assert.ok(r.closedByServer && !r.timedOut, `${n}: not closed by the server within 10 s`);
    assert.ok(r.elapsedMs >= 1500 && r.elapsedMs <= 4500, `${n}: closed after ${r.elapsedMs} ms, expected about 2000`);
  }
  assert.equal(envelopeCode(afterAnswer), "OK");
  console.log(`# idle figures ${JSON.stringify(fig)}`);
});

test("1,000 idle connections do not starve a normal client", { timeout: 120000 }, async (t) => {
  const limit = L.fdLimit();
  const want = 1000;
  const n = Math.min(want, limit - 100);
  if (n < want) {
    t.diagnostic(`open-file limit is ${limit}: holding ${n} idle connections instead of ${want} (run with \`ulimit -n 4096\` or more for the full test)`);
  }
  assert.ok(n >= 100, `open-file limit ${limit} is too low for this test`);
  const { port, A, srv } = await serverWith(["--max-connections", "2000"], "limits-starve");
  const body = { Limit: 10 };
  const N = 200;

  async function measure(agentKeepAlive) {
    const agent = agentKeepAlive ? new (require("node:http").Agent)({ keepAlive: true, maxSockets: 1 }) : false;
    const lat = [];
    for (let i = 0; i < N; i++) {
      const r = await L.apiCall({ port, key: A, action: "DescribeFlowLogs", body, agent, timeoutMs: 10000 });
      assert.equal(r.kind, "ok", `request ${i}: ${r.kind} ${r.code || r.err || ""}`);
      lat.push(r.ms);
    }
    if (agent) agent.destroy();
    return { p50: L.percentile(lat, 50), p99: L.percentile(lat, 99), max: Math.max(...lat) };
  }
  // warm up, then the baseline
  for (let i = 0; i < 20; i++) await L.apiOk({ port, key: A, action: "DescribeFlowLogs", body });
  const baseFresh = await measure(false);
  const baseKeep = await measure(true);

  const held = [];
  const tOpen = Date.now();
  for (let i = 0; i < n; i += 100) {
    held.push(...(await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => idleSocket(port)))));
  }
  const openMs = Date.now() - tOpen;
  await h.sleep(500);
  const heldFresh = await measure(false);
  const heldKeep = await measure(true);
  const open = held.filter((s) => s.closedAt === null).length;
  for (const s of held) s.destroy();

  const f = (m) => `p50 ${m.p50.toFixed(2)} ms, p99 ${m.p99.toFixed(2)} ms, max ${m.max.toFixed(2)} ms`;
  t.diagnostic(`no idle connections:   new connection per request: ${f(baseFresh)}; one kept-alive connection: ${f(baseKeep)}`);
  t.diagnostic(`${n} idle connections (opened in ${openMs} ms, ${open} still open at the end): new connection per request: ${f(heldFresh)}; kept-alive: ${f(heldKeep)}`);
  console.log(`# starvation figures ${JSON.stringify({ idle: n, stillOpen: open, baseFresh, baseKeep, heldFresh, heldKeep })}`);
  assert.equal(open, n, "the server dropped idle connections it should have held (idle timeout 60 s, cap 2000)");
  assert.ok(heldFresh.p99 < 250 && heldKeep.p99 < 250, "p99 latency with idle connections held is over 250 ms");
  assert.equal(srv.proc.exitCode, null);
});

// -------------------------------------------------------------- over TLS ---

/** A TLS connection to port, handshake done, then idle; resolves the socket
 * (or {error} when the handshake fails or does not end within ms). */
function idleTls(port, ca, ms = 5000) {
  const tls = require("node:tls");
  return new Promise((resolve) => {
    const s = tls.connect({ host: "127.0.0.1", port, ca, servername: "localhost" });
    s.closedAt = null;
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ error: "handshake not done" });
    }, ms);
    s.on("secureConnect", () => {
      clearTimeout(timer);
      sockets.add(s);
      resolve(s);
    });
    s.on("error", (e) => {
      clearTimeout(timer);
      s.err = e.code || e.message;
      resolve({ error: s.err });
    });
    s.on("close", () => {
      s.closedAt = Date.now();
      sockets.delete(s);
    });
    s.resume();
  });
}

/** A server with a TLS listener (see tls_lib.setupTls); ctx.client(keepAlive)
 * is the SDK over https trusting its CA. */
async function tlsServerWith(args, label) {
  const T = require("../integration/tls_lib.js");
  const ctx = await T.setupTls({ label, serverArgs: ["--rate-limit", "100000", "--quiet", ...args], extraEnis: 2 });
  servers.push(ctx.server);
  ctx.client = (keepAlive = true) =>
    T.httpsVpcClient({ endpoint: `127.0.0.1:${ctx.tlsPort}`, secretId: ctx.acct.SecretId, secretKey: ctx.acct.SecretKey, ca: ctx.cert.caPem, keepAlive });
  return ctx;
}

test("TLS: --max-connections 16 holds on the TLS listener too, a freed slot is usable, the plain listener has its own", { timeout: 60000 }, async (t) => {
  const ctx = await tlsServerWith(["--max-connections", "16", "--idle-timeout", "30"], "limits-tls-cap");
  const ca = ctx.cert.caPem;
  const held = [];
  for (let i = 0; i < 16; i++) {
    const s = await idleTls(ctx.tlsPort, ca);
    assert.ok(!s.error, `connection ${i + 1}: ${s.error}`);
    held.push(s);
  }
  await h.sleep(300);
  const extra = await Promise.all(Array.from({ length: 3 }, () => idleTls(ctx.tlsPort, ca, 3000)));
  t.diagnostic(`with 16 TLS connections held, connections 17-19: ${extra.map((s) => s.error || "handshake done").join("; ")}`);
  for (const s of extra) assert.ok(s.error, "a TLS connection beyond the cap completed its handshake");
  assert.equal(held.filter((s) => s.closedAt === null).length, 16, "held connections were dropped to make room");
  // the plain listener is not held up by the TLS one
  await L.apiOk({ port: ctx.server.port, key: ctx.acct, action: "DescribeFlowLogs", body: {} });
  held[0].destroy();
  await h.sleep(300);
  const r = await ctx.client(false).DescribeFlowLogs({});
  assert.equal(typeof r.TotalNum, "number", "a freed TLS slot is usable");
  for (const s of held) s.destroy();
  assert.equal(ctx.server.proc.exitCode, null);
});

test("TLS: --idle-timeout 2 closes silent, mid-handshake and idle kept-alive TLS connections", { timeout: 60000 }, async (t) => {
  const T = require("../integration/tls_lib.js");
  const ctx = await tlsServerWith(["--idle-timeout", "2"], "limits-tls-idle");
  const hello = await T.captureClientHello();
  const measure = (data) => L.rawExchange({ port: ctx.tlsPort, data, timeoutMs: 10000, expectResponses: 0 });
  const afterHandshake = (async () => {
    const t0 = Date.now();
    const s = await idleTls(ctx.tlsPort, ctx.cert.caPem);
    assert.ok(!s.error, s.error);
    while (s.closedAt === null && Date.now() - t0 < 10000) await h.sleep(50);
    return { closedByServer: s.closedAt !== null, timedOut: s.closedAt === null, elapsedMs: Date.now() - t0 };
  })();
  const [silent, halfHello, idle] = await Promise.all([measure([{ bytes: Buffer.alloc(0) }]), measure(hello.subarray(0, 60)), afterHandshake]);
  const fig = { silentMs: silent.elapsedMs, halfHelloMs: halfHello.elapsedMs, afterHandshakeMs: idle.elapsedMs };
  t.diagnostic(`TLS, idle timeout 2 s: closed after ${fig.silentMs} ms (sent nothing), ${fig.halfHelloMs} ms (half a ClientHello), ${fig.afterHandshakeMs} ms (handshake done, then idle)`);
  for (const [n, r] of [["silent", silent], ["half a ClientHello", halfHello], ["idle after the handshake", idle]]) {
    assert.ok(r.closedByServer && !r.timedOut, `${n}: not closed by the server within 10 s`);
  }
  console.log(`# tls idle figures ${JSON.stringify(fig)}`);
});

test("TLS: 300 idle TLS connections and 300 silent TCP connections do not starve a normal https client", { timeout: 120000 }, async (t) => {
  const limit = L.fdLimit();
  const n = Math.min(300, Math.floor((limit - 100) / 2));
  assert.ok(n >= 50, `open-file limit ${limit} is too low for this test`);
  const ctx = await tlsServerWith(["--max-connections", "2000"], "limits-tls-starve");
  const N = 100;
  const measure = async (keepAlive) => {
    const c = ctx.client(keepAlive);
    const lat = [];
    for (let i = 0; i < N; i++) {
      const s = Date.now();
      await c.DescribeFlowLogs({ Limit: 10 });
      lat.push(Date.now() - s);
    }
    return { p50: L.percentile(lat, 50), p99: L.percentile(lat, 99), max: Math.max(...lat) };
  };
  const base = await measure(true);
  const baseFresh = await measure(false);
  const held = [];
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => idleTls(ctx.tlsPort, ctx.cert.caPem, 20000)));
    for (const s of batch) assert.ok(!s.error, `an idle TLS connection failed: ${s.error}`);
    held.push(...batch);
    held.push(...(await Promise.all(Array.from({ length: Math.min(50, n - i) }, () => idleSocket(ctx.tlsPort)))));
  }
  await h.sleep(300);
  const loaded = await measure(true);
  const loadedFresh = await measure(false);
  const open = held.filter((s) => s.closedAt === null).length;
  for (const s of held) s.destroy();
  const f = (m) => `p50 ${m.p50} ms, p99 ${m.p99} ms, max ${m.max} ms`;
  t.diagnostic(`https DescribeFlowLogs, kept-alive: ${f(base)} alone; ${f(loaded)} with ${n} idle TLS and ${n} silent TCP connections on the TLS port (${open} of ${2 * n} still open)`);
  t.diagnostic(`https DescribeFlowLogs, a handshake per call: ${f(baseFresh)} alone; ${f(loadedFresh)} with them`);
  console.log(`# tls starvation figures ${JSON.stringify({ idle: n, open, base, loaded, baseFresh, loadedFresh })}`);
  assert.equal(ctx.server.proc.exitCode, null);
});
