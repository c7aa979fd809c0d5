// tls_lib.js: helpers for the HTTPS tests (integration and reliability):
// `flowlogd cert` into a data directory, a server with both listeners, the
// official SDK over https, and raw TLS exchanges.
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const https = require("node:https");
const path = require("node:path");
const tls = require("node:tls");

const h = require("./harness");

/**
 * Runs `flowlogd cert --data dataDir [--name name] [--host hosts]`, checks
 * what it prints (the CA path and the variable of each client) and returns
 * {dir, ca, caKey, cert, key, caPem, stdout}.
 */
function makeCert(dataDir, { name, hosts } = {}) {
  const args = ["cert", "--data", dataDir];
  if (name) args.push("--name", name);
  if (hosts) args.push("--host", hosts);
  const r = h.cli(args);
  assert.equal(r.status, 0, `flowlogd cert exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const dir = path.join(fs.realpathSync(dataDir), "tls");
  const out = {
    dir,
    ca: path.join(dir, "ca.pem"),
    caKey: path.join(dir, "ca-key.pem"),
    cert: path.join(dir, "server.pem"),
    key: path.join(dir, "server-key.pem"),
    stdout: r.stdout,
  };
  for (const v of ["SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE"]) {
    assert.ok(r.stdout.includes(`${v}=${out.ca}`), `flowlogd cert does not print ${v}=${out.ca}:\n${r.stdout}`);
  }
  out.caPem = fs.readFileSync(out.ca);
  return out;
}

/** The serve arguments of a TLS listener on 127.0.0.1:port with `c`'s pair. */
function tlsArgs(c, port) {
  return ["--tls-listen", `127.0.0.1:${port}`, "--tls-cert", c.cert, "--tls-key", c.key];
}

/**
 * A server on a fresh data dir with a certificate, one account with the
 * inventory fixture, listening on plain HTTP (server.port) and HTTPS
 * (tlsPort). Returns {dataDir, server, tlsPort, cert, acct}.
 */
async function setupTls({ label = "tls", serverArgs = [], tag = "aaaa", extraEnis = 8, t } = {}) {
  const dataDir = h.tmpDir(label);
  const cert = makeCert(dataDir);
  const acct = h.createAccount(dataDir);
  Object.assign(acct, h.inventoryFixture({ tag, extraEnis }));
  h.importInventory(dataDir, acct.Uin, acct.inventory);
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const tlsPort = await h.freePort();
    try {
      const server = await h.startServer({ dataDir, args: [...tlsArgs(cert, tlsPort), ...serverArgs], t });
      // both listeners are up before the first "listening" line; the https
      // one is printed right after it
      const want = `listening on 127.0.0.1:${tlsPort} (https)`;
      for (let i = 0; i < 100 && !server.logs().some((l) => l.includes(want)); i++) await h.sleep(50);
      if (!server.logs().some((l) => l.includes(want))) {
        await server.stop();
        assert.fail(`no "${want}" line:\n${server.logs().join("\n")}`);
      }
      return { dataDir, server, tlsPort, cert, acct };
    } catch (e) {
      lastErr = e;
      if (!/in use|EADDRINUSE|bind/i.test(e.message)) throw e;
    }
  }
  throw lastErr;
}

/**
 * The official VPC client over https. `ca`: the PEM to trust (an https
 * agent that trusts only it); `ca: null`: node's default trust store.
 * keepAlive false: a new connection (and handshake) per call. Calls
 * answered RequestLimitExceeded are retried like the harness does.
 */
function httpsVpcClient({ endpoint, secretId, secretKey, ca, signMethod, region = "ap-guangzhou", keepAlive = true }) {
  const VpcClient = h.sdk().vpc.v20170312.Client;
  const httpProfile = { endpoint, protocol: "https://", reqTimeout: 30 };
  if (ca) httpProfile.agent = new https.Agent({ ca, keepAlive });
  const profile = { httpProfile };
  if (signMethod) profile.signMethod = signMethod;
  const client = new VpcClient({ credential: { secretId, secretKey }, region, profile });
  return new Proxy(client, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function" || !/^[A-Z]/.test(String(prop))) return v;
      return (...args) => h.withRateLimitRetry(() => v.apply(target, args));
    },
  });
}

/**
 * A TLS handshake with 127.0.0.1:port; resolves {authorized, error, cert}
 * (the peer certificate's subjectaltname) and closes. servername: the SNI
 * and the name checked; ca: the trust.
 */
function handshake(port, { servername, ca, timeoutMs = 20000 } = {}) {
  return new Promise((resolve) => {
    const opts = { host: "127.0.0.1", port, ca, rejectUnauthorized: false };
    if (servername) opts.servername = servername;
    const s = tls.connect(opts, () => {
      let error = s.authorized ? null : String(s.authorizationError);
      if (!error) {
        const e = tls.checkServerIdentity(servername || "127.0.0.1", s.getPeerCertificate());
        if (e) error = e.code || e.message;
      }
      const cert = s.getPeerCertificate();
      const protocol = s.getProtocol();
      s.destroy();
      resolve({ authorized: !error, error, san: cert && cert.subjectaltname, protocol });
    });
    s.setTimeout(timeoutMs, () => {
      s.destroy();
      resolve({ authorized: false, error: "timeout" });
    });
    s.on("error", (e) => resolve({ authorized: false, error: e.code || e.message }));
  });
}

/**
 * One HTTP/1.1 request over TLS to 127.0.0.1:port trusting `ca`; resolves
 * {status, text, json}. Rejects on a TLS or socket error.
 */
function httpsSend({ port, ca, method = "POST", path: p = "/", headers = {}, body, timeoutMs = 30000 }) {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: "127.0.0.1", port, method, path: p, headers, ca, agent: false, servername: "localhost" },
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
          resolve({ status: res.statusCode, headers: res.headers, text, json });
        });
        res.on("error", reject);
      }
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

module.exports = { makeCert, tlsArgs, setupTls, httpsVpcClient, handshake, httpsSend };

/**
 * The bytes of a real ClientHello (node's TLS client, SNI `servername`),
 * caught by a local TCP server that then hangs up.
 */
function captureClientHello(servername = "localhost") {
  const net = require("node:net");
  return new Promise((resolve, reject) => {
    const srv = net.createServer((sock) => {
      const chunks = [];
      let need = -1;
      sock.on("data", (c) => {
        chunks.push(c);
        const all = Buffer.concat(chunks);
        if (need < 0 && all.length >= 5) need = 5 + all.readUInt16BE(3); // one TLS record
        if (need > 0 && all.length >= need) {
          sock.destroy();
          srv.close();
          resolve(all.subarray(0, need));
        }
      });
      sock.on("error", () => {});
    });
    srv.listen(0, "127.0.0.1", () => {
      const c = tls.connect({ host: "127.0.0.1", port: srv.address().port, servername, rejectUnauthorized: false });
      c.on("error", () => {});
    });
    srv.on("error", reject);
  });
}

module.exports.captureClientHello = captureClientHello;
