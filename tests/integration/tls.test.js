// tls.test.js: HTTPS (issue 13 §2). `flowlogd cert` makes a CA and a server
// certificate; `serve --tls-listen` serves the same API over TLS beside the
// plain listener; the official Node SDK works over https once it trusts the
// CA (through an https agent, or NODE_EXTRA_CA_CERTS as users set it) and
// refuses the server without it, with another CA, or under a name the
// certificate does not carry; bad certificate files stop the start with a
// clear message.
"use strict";

const { describe, test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const https = require("node:https");
const path = require("node:path");
const { spawn, spawnSync } = require("node:child_process");

const h = require("./harness");
const T = require("./tls_lib");

let ctx;

before(async () => {
  ctx = await T.setupTls({ label: "tls" });
});
after(async () => {
  if (ctx) await ctx.server.stop();
});

const client = (opts = {}) =>
  T.httpsVpcClient(
    Object.assign(
      { endpoint: `127.0.0.1:${ctx.tlsPort}`, secretId: ctx.acct.SecretId, secretKey: ctx.acct.SecretKey, ca: ctx.cert.caPem },
      opts
    )
  );
const plainClient = () =>
  h.vpcClient({ endpoint: ctx.server.endpoint, secretId: ctx.acct.SecretId, secretKey: ctx.acct.SecretKey });

describe("flowlogd cert", () => {
  test("keys are 0600, the certificate names the service's hosts, a second run keeps the CA", () => {
    const c = ctx.cert;
    assert.equal(fs.statSync(c.key).mode & 0o777, 0o600);
    assert.equal(fs.statSync(c.caKey).mode & 0o777, 0o600);
    assert.match(c.stdout, /DNS:|localhost/);
    const again = T.makeCert(h.tmpDir("tls-again"));
    assert.notEqual(again.caPem.toString(), c.caPem.toString(), "two data directories, two CAs");
    // a second run in the same directory: same CA, new server certificate
    const dir = h.tmpDir("tls-rerun");
    const first = T.makeCert(dir);
    const certBefore = fs.readFileSync(first.cert, "utf8");
    const second = T.makeCert(dir, { name: "example.test" });
    assert.equal(second.caPem.toString(), first.caPem.toString());
    assert.notEqual(fs.readFileSync(second.cert, "utf8"), certBefore);
    assert.match(second.stdout, /vpc\.example\.test/);
  });
});

describe("the official Node SDK over https", () => {
  test("CreateFlowLog and DescribeFlowLogs over TLS (TC3), seen on the plain listener too", async () => {
    const { ids } = ctx.acct;
    const eni = ids.extraEnis[0];
    const r = await client().CreateFlowLog(h.eniRequest(ids, eni, { FlowLogName: "over-tls" }));
    assert.match(r.RequestId, h.UUID_RE);
    const id = r.FlowLog[0].FlowLogId;
    assert.match(id, /^fl-[0-9a-z]{8}$/);
    // the same API and the same store behind both listeners
    const d = await plainClient().DescribeFlowLogs({ FlowLogId: id });
    assert.equal(d.TotalNum, 1);
    assert.equal(d.FlowLog[0].FlowLogName, "over-tls");
    const d2 = await client().DescribeFlowLog({ VpcId: ids.vpc, FlowLogId: id });
    assert.equal(d2.FlowLog[0].ResourceId, eni);
    // a create over http is seen over https
    const p = await plainClient().CreateFlowLog(h.eniRequest(ids, ids.extraEnis[1], { FlowLogName: "over-http" }));
    const d3 = await client().DescribeFlowLogs({ FlowLogId: p.FlowLog[0].FlowLogId });
    assert.equal(d3.FlowLog[0].FlowLogName, "over-http");
    // errors come in the API's envelope over TLS as well
    await h.expectApiError(client().CreateFlowLog(h.eniRequest(ids, eni)), "UnsupportedOperation.FlowLogInstanceExisted");
  });

  test("HmacSHA256 form requests (handled on a worker thread) and writes that wait for their commit", async () => {
    const { ids } = ctx.acct;
    const c = client({ signMethod: "HmacSHA256" });
    const r = await c.CreateFlowLog(h.eniRequest(ids, ids.extraEnis[2], { FlowLogName: "v1-over-tls" }));
    const id = r.FlowLog[0].FlowLogId;
    await c.ModifyFlowLogAttribute({ VpcId: ids.vpc, FlowLogId: id, FlowLogName: "renamed" });
    await client().DisableFlowLogs({ FlowLogIds: [id] });
    const d = await plainClient().DescribeFlowLogs({ FlowLogId: id });
    assert.equal(d.FlowLog[0].FlowLogName, "renamed");
    assert.equal(d.FlowLog[0].Enable, false);
    await client().DeleteFlowLog({ VpcId: ids.vpc, FlowLogId: id });
    const gone = await plainClient().DescribeFlowLogs({ FlowLogId: id });
    assert.equal(gone.TotalNum, 0);
  });

  test("many requests on kept-alive TLS connections, in parallel", async () => {
    const c = client();
    const rs = await Promise.all(Array.from({ length: 40 }, () => c.DescribeFlowLogs({ Limit: 1 })));
    for (const r of rs) assert.match(r.RequestId, h.UUID_RE);
  });

  test("with NODE_EXTRA_CA_CERTS, as a user sets it, the SDK in a fresh process trusts the server", () => {
    const r = runSdkChild({ NODE_EXTRA_CA_CERTS: ctx.cert.ca });
    assert.equal(r.ok, true, `SDK over https with NODE_EXTRA_CA_CERTS failed: ${JSON.stringify(r)}`);
    assert.equal(typeof r.result.TotalNum, "number");
  });
});

describe("every endpoint form over https (the Node SDK, @tencent-sdk/capi)", () => {
  // Every name resolves to 127.0.0.1 through the agent's lookup hook; the TLS
  // client still checks the certificate against the name it was given.
  const agent = () =>
    new https.Agent({
      ca: ctx.cert.caPem,
      keepAlive: false,
      lookup: (hostname, opts, cb) => {
        if (opts && opts.all) cb(null, [{ address: "127.0.0.1", family: 4 }]);
        else cb(null, "127.0.0.1", 4);
      },
    });
  const sdkClient = (kind, endpoint, opts = {}) => {
    const Client = kind === "tag" ? h.sdk().tag.v20180813.Client : h.sdk().vpc.v20170312.Client;
    const profile = { httpProfile: { endpoint, protocol: "https://", reqTimeout: 30, agent: agent() } };
    if (opts.signMethod) profile.signMethod = opts.signMethod;
    if (opts.reqMethod) profile.httpProfile.reqMethod = opts.reqMethod;
    const c = new Client({ credential: { secretId: ctx.acct.SecretId, secretKey: ctx.acct.SecretKey }, region: "ap-guangzhou", profile });
    return new Proxy(c, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (typeof v !== "function" || !/^[A-Z]/.test(String(prop))) return v;
        return (...args) => h.withRateLimitRetry(() => v.apply(target, args));
      },
    });
  };
  const MODES = [
    { name: "TC3 POST", opts: {} },
    { name: "TC3 GET", opts: { reqMethod: "GET" } },
    { name: "HmacSHA256 POST", opts: { signMethod: "HmacSHA256" } },
  ];

  test("vpc client at 127.0.0.1, localhost and vpc.localhost, every signing mode", async () => {
    const { ids } = ctx.acct;
    for (const endpoint of [`127.0.0.1:${ctx.tlsPort}`, `localhost:${ctx.tlsPort}`, `vpc.localhost:${ctx.tlsPort}`]) {
      for (const m of MODES) {
        const label = `${endpoint} ${m.name}`;
        const c = sdkClient("vpc", endpoint, m.opts);
        // one ENI throughout: each flow log is deleted before the next is made
        const made = await c.CreateFlowLog(h.eniRequest(ids, ids.extraEnis[4], { FlowLogName: "ep-tls" }));
        const id = made.FlowLog[0].FlowLogId;
        const got = await c.DescribeFlowLog({ FlowLogId: id, VpcId: ids.vpc });
        assert.equal(got.FlowLog[0].FlowLogId, id, label);
        await c.DeleteFlowLog({ FlowLogId: id, VpcId: ids.vpc });
      }
    }
  });

  test("tag client at tag.localhost and localhost", async () => {
    for (const endpoint of [`tag.localhost:${ctx.tlsPort}`, `localhost:${ctx.tlsPort}`]) {
      const r = await sdkClient("tag", endpoint).GetResources({});
      assert.ok(Array.isArray(r.ResourceTagMappingList), endpoint);
    }
  });

  test("@tencent-sdk/capi with protocol https and NODE_EXTRA_CA_CERTS, at 127.0.0.1 and localhost", () => {
    const script = `
      const { Capi } = require(${JSON.stringify(path.join(h.REPO, "node_modules", "@tencent-sdk", "capi"))});
      (async () => {
        const out = [];
        for (const host of process.env.HOSTS.split(",")) {
          const c = new Capi({ serviceType: "vpc", host, protocol: "https", region: "ap-guangzhou",
                               secretId: process.env.SID, secretKey: process.env.SKEY, isV3: true });
          try {
            const r = await c.request({ Action: "DescribeFlowLogs", Version: "2017-03-12" }, { isV3: true });
            out.push({ host, response: r.Response });
          } catch (e) { out.push({ host, error: String(e.message) }); }
        }
        console.log(JSON.stringify(out));
      })();`;
    const hosts = [`127.0.0.1:${ctx.tlsPort}`, `localhost:${ctx.tlsPort}`].join(",");
    const env = Object.assign({}, process.env, { SID: ctx.acct.SecretId, SKEY: ctx.acct.SecretKey, HOSTS: hosts });
    let r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 60000, env: Object.assign({}, env, { NODE_EXTRA_CA_CERTS: ctx.cert.ca }) });
    assert.equal(r.status, 0, r.stderr);
    for (const x of JSON.parse(r.stdout.trim().split("\n").pop())) {
      assert.ok(x.response && !x.response.Error && typeof x.response.TotalNum === "number", `${x.host}: ${JSON.stringify(x)}`);
    }
    r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 60000, env: Object.assign({}, env, { NODE_EXTRA_CA_CERTS: "" }) });
    assert.equal(r.status, 0, r.stderr);
    for (const x of JSON.parse(r.stdout.trim().split("\n").pop())) {
      assert.ok(x.error && /certificate/i.test(x.error), `${x.host}: capi without the CA: ${JSON.stringify(x)}`);
    }
  });
});

describe("flowlogd call over https", () => {
  test("--cacert, or SSL_CERT_FILE as for Go and Terraform; refused without", () => {
    const args = (ep, extra = []) => ["call", "--endpoint", ep, ...extra, "--secret-id", ctx.acct.SecretId, "--secret-key", ctx.acct.SecretKey, "--region", "ap-guangzhou", "DescribeFlowLogs", "{}"];
    let r = h.cli(args(`https://127.0.0.1:${ctx.tlsPort}`, ["--cacert", ctx.cert.ca]));
    assert.equal(r.status, 0, r.stderr);
    assert.equal(typeof r.json.TotalNum, "number");
    r = h.cli(args(`https://localhost:${ctx.tlsPort}`), { env: { SSL_CERT_FILE: ctx.cert.ca } });
    assert.equal(r.status, 0, r.stderr);
    r = h.cli(args(`https://127.0.0.1:${ctx.tlsPort}`), { env: { SSL_CERT_FILE: "" } });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /certificate|SSL/i);
  });
});

describe("a client that does not trust the certificate refuses the server", () => {
  test("no CA: the SDK fails before anything is sent", async () => {
    const before = await plainClient().DescribeFlowLogs({});
    await assert.rejects(
      client({ ca: null }).CreateFlowLog(h.eniRequest(ctx.acct.ids, ctx.acct.ids.extraEnis[3])),
      (e) => /certificate/i.test(e.message) && e.code === undefined
    );
    const r = runSdkChild({ NODE_EXTRA_CA_CERTS: "" });
    assert.equal(r.ok, false);
    assert.match(r.message, /certificate/i);
    const afterIt = await plainClient().DescribeFlowLogs({});
    assert.equal(afterIt.TotalNum, before.TotalNum, "the refused create must not have reached the server");
  });

  test("another data directory's CA does not verify this server", async () => {
    const other = T.makeCert(h.tmpDir("tls-other"));
    await assert.rejects(client({ ca: other.caPem }).DescribeFlowLogs({}), (e) => /certificate/i.test(e.message));
    const r = runSdkChild({ NODE_EXTRA_CA_CERTS: other.ca });
    assert.equal(r.ok, false);
    assert.match(r.message, /certificate/i);
  });

  test("names: localhost, 127.0.0.1, vpc.localhost, tag.localhost verify; a name not in the certificate does not", async () => {
    for (const name of [undefined, "localhost", "vpc.localhost", "tag.localhost", "sts.localhost"]) {
      const r = await T.handshake(ctx.tlsPort, { servername: name, ca: ctx.cert.caPem });
      assert.equal(r.authorized, true, `name ${name || "127.0.0.1"}: ${r.error}`);
      assert.match(r.protocol, /^TLSv1\.[23]$/);
    }
    const bad = await T.handshake(ctx.tlsPort, { servername: "vpc.example.org", ca: ctx.cert.caPem });
    assert.equal(bad.authorized, false);
    assert.equal(bad.error, "ERR_TLS_CERT_ALTNAME_INVALID");
    const noCa = await T.handshake(ctx.tlsPort, { servername: "localhost" });
    assert.equal(noCa.authorized, false);
  });

  test("a certificate for --name example.test serves vpc.example.test and tag.example.test", async (t) => {
    const dataDir = h.tmpDir("tls-name");
    const c = T.makeCert(dataDir, { name: "example.test", hosts: "10.20.30.40" });
    const port = await h.freePort();
    await h.startServer({ dataDir, args: T.tlsArgs(c, port), t });
    for (const name of ["vpc.example.test", "tag.example.test", "example.test", "localhost"]) {
      const r = await T.handshake(port, { servername: name, ca: c.caPem });
      assert.equal(r.authorized, true, `${name}: ${r.error}`);
    }
    const r = await T.handshake(port, { servername: "vpc.localhost.example", ca: c.caPem });
    assert.equal(r.authorized, false);
  });

  test("TLS 1.1 is refused, plain HTTP on the TLS port gets no API answer", async () => {
    const tls = require("node:tls");
    const err = await new Promise((resolve) => {
      const s = tls.connect({ host: "127.0.0.1", port: ctx.tlsPort, ca: ctx.cert.caPem, servername: "localhost", minVersion: "TLSv1", maxVersion: "TLSv1.1" }, () => {
        s.destroy();
        resolve(null);
      });
      s.on("error", (e) => resolve(e));
    });
    assert.ok(err, "a TLS 1.1 handshake must fail");
    const r = await h.send({ port: ctx.tlsPort, body: "{}", headers: { "content-type": "application/json" } }).catch((e) => e);
    assert.ok(r instanceof Error || !(r.json && r.json.Response), `plain HTTP on the TLS port answered the API: ${JSON.stringify(r)}`);
  });
});

describe("start-up", () => {
  test("only --tls-listen: HTTPS alone, no plain listener", async () => {
    const port = await h.freePort();
    const lines = await runUntilListening(["serve", "--data", ctx.dataDir, ...T.tlsArgs(ctx.cert, port)]);
    const listening = lines.filter((l) => /^listening on/.test(l));
    assert.deepEqual(listening, [`listening on 127.0.0.1:${port} (https)`]);
  });

  test("bad certificate files stop the start with a message naming the file", () => {
    const other = T.makeCert(h.tmpDir("tls-bad"));
    const junk = path.join(h.tmpDir("tls-junk"), "junk.pem");
    fs.writeFileSync(junk, "not a certificate\n");
    const cases = [
      { name: "key of another certificate", cert: ctx.cert.cert, key: other.key, status: 1, want: /does not belong/ },
      { name: "missing certificate", cert: "/nonexistent/cert.pem", key: ctx.cert.key, status: 1, want: /cannot read \/nonexistent\/cert\.pem/ },
      { name: "missing key", cert: ctx.cert.cert, key: "/nonexistent/key.pem", status: 1, want: /cannot read \/nonexistent\/key\.pem/ },
      { name: "junk certificate", cert: junk, key: ctx.cert.key, status: 1, want: new RegExp(`--tls-cert ${junk}: no PEM certificate`) },
      { name: "certificate as key", cert: ctx.cert.cert, key: ctx.cert.cert, status: 1, want: /--tls-key .*no PEM private key/ },
    ];
    for (const c of cases) {
      const r = spawnSync(h.BIN, ["serve", "--listen", "127.0.0.1:0", "--data", ctx.dataDir, "--tls-listen", "127.0.0.1:0", "--tls-cert", c.cert, "--tls-key", c.key], { encoding: "utf8", timeout: 20000 });
      assert.equal(r.status, c.status, `${c.name}: exit ${r.status} ${r.signal || ""}\n${r.stdout}${r.stderr}`);
      assert.match(r.stderr, c.want, `${c.name}: ${r.stderr}`);
      assert.doesNotMatch(r.stdout, /listening/, `${c.name}: it must not start`);
    }
    for (const args of [["--tls-listen", "127.0.0.1:0"], ["--tls-cert", ctx.cert.cert], ["--tls-listen", "127.0.0.1:0", "--tls-cert", ctx.cert.cert]]) {
      const r = spawnSync(h.BIN, ["serve", "--listen", "127.0.0.1:0", "--data", ctx.dataDir, ...args], { encoding: "utf8", timeout: 20000 });
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /--tls-listen, --tls-cert and --tls-key go together/);
    }
  });
});

/* The SDK in a child process (NODE_EXTRA_CA_CERTS is read at start only):
 * DescribeFlowLogs over https; returns {ok, result} or {ok: false, message}. */
function runSdkChild(env) {
  const script = `
    const tc = require(${JSON.stringify(path.join(h.REPO, "node_modules", "tencentcloud-sdk-nodejs"))});
    const c = new tc.vpc.v20170312.Client({
      credential: { secretId: process.env.SID, secretKey: process.env.SKEY },
      region: "ap-guangzhou",
      profile: { httpProfile: { endpoint: process.env.EP, protocol: "https://", reqTimeout: 30 } },
    });
    c.DescribeFlowLogs({}).then(
      (r) => console.log(JSON.stringify({ ok: true, result: r })),
      (e) => console.log(JSON.stringify({ ok: false, message: String(e.message), code: e.code })));`;
  const r = spawnSync(process.execPath, ["-e", script], {
    encoding: "utf8",
    timeout: 60000,
    env: Object.assign({}, process.env, { SID: ctx.acct.SecretId, SKEY: ctx.acct.SecretKey, EP: `127.0.0.1:${ctx.tlsPort}` }, env),
  });
  assert.equal(r.status, 0, `child exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop());
}

/* Starts flowlogd with argv, collects its lines until one says listening
 * (or it exits), stops it, returns the lines. */
function runUntilListening(argv) {
  return new Promise((resolve, reject) => {
    const p = spawn(h.BIN, argv, { stdio: ["ignore", "pipe", "pipe"] });
    const lines = [];
    let buf = "";
    let done = false;
    const timer = setTimeout(() => finish(new Error(`no "listening" in 20 s:\n${lines.join("\n")}`)), 20000);
    let exited = false;
    const finish = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const settle = () => (err ? reject(err) : resolve(lines));
      if (exited) return settle();
      p.on("exit", settle);
      p.kill("SIGTERM");
    };
    p.stdout.on("data", (d) => {
      buf += d;
      let i;
      while ((i = buf.indexOf("\n")) >= 0) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
      // both listeners print their line together; give the second a moment
      if (lines.some((l) => /listening/.test(l))) setTimeout(() => finish(null), 300);
    });
    p.on("exit", (code) => {
      exited = true;
      finish(new Error(`exited ${code} before "listening": ${lines.join("\n")}`));
    });
  });
}

describe("SIGHUP reloads the certificate and key", () => {
  /** A kept-open TLS connection; resolves {sock, fp} (the peer's SHA-256 fingerprint). */
  function connect(port) {
    return new Promise((resolve, reject) => {
      const s = require("node:tls").connect({ host: "127.0.0.1", port, rejectUnauthorized: false, servername: "localhost" }, () =>
        resolve({ sock: s, fp: s.getPeerCertificate().fingerprint256 })
      );
      s.on("error", reject);
    });
  }
  /** GET /healthz on an open TLS connection; resolves the status line. */
  function healthz(sock) {
    return new Promise((resolve, reject) => {
      let got = "";
      const onData = (d) => {
        got += d;
        if (got.includes("\r\n\r\n")) {
          sock.off("data", onData);
          resolve(got.split("\r\n")[0]);
        }
      };
      sock.on("data", onData);
      sock.on("error", reject);
      sock.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
    });
  }
  const fpOf = (pemFile) => new (require("node:crypto").X509Certificate)(fs.readFileSync(pemFile)).fingerprint256;
  async function waitLine(server, re, after) {
    for (let i = 0; i < 200; i++) {
      const l = server.logs().slice(after).find((x) => re.test(x));
      if (l) return l;
      await h.sleep(25);
    }
    assert.fail(`no line ${re}:\n${server.logs().slice(after).join("\n")}`);
  }

  test("new connections get the new certificate, open ones keep theirs; a bad or mismatched pair is refused and the old one stays", async (t) => {
    const a = T.makeCert(h.tmpDir("tls-reload-a"));
    const b = T.makeCert(h.tmpDir("tls-reload-b"));
    const live = h.tmpDir("tls-reload-live");
    const cert = path.join(live, "server.pem"), key = path.join(live, "server-key.pem");
    const put = (c, k) => {
      fs.copyFileSync(c, cert);
      fs.copyFileSync(k, key);
    };
    put(a.cert, a.key);
    const port = await h.freePort();
    const server = await h.startServer({ dataDir: h.tmpDir("tls-reload"), args: ["--tls-listen", `127.0.0.1:${port}`, "--tls-cert", cert, "--tls-key", key], t });
    for (let i = 0; i < 100 && !server.logs().some((l) => l.includes(`127.0.0.1:${port} (https)`)); i++) await h.sleep(50);
    const fpA = fpOf(a.cert), fpB = fpOf(b.cert);
    assert.notEqual(fpA, fpB);

    const old = await connect(port);
    t.after(() => old.sock.destroy());
    assert.equal(old.fp, fpA);
    assert.match(await healthz(old.sock), / 200 /);

    // renewed files at the same paths, then SIGHUP
    put(b.cert, b.key);
    let mark = server.logs().length;
    server.proc.kill("SIGHUP");
    await waitLine(server, /reload: TLS certificate .* in use for new connections/, mark);
    const fresh = await connect(port);
    assert.equal(fresh.fp, fpB, "a new connection gets the new certificate");
    assert.match(await healthz(fresh.sock), / 200 /);
    fresh.sock.destroy();
    // verified against the new CA by a client that trusts it
    const r = await T.httpsSend({ port, ca: b.caPem, method: "GET", path: "/healthz" });
    assert.equal(r.status, 200);
    // the connection opened before keeps its session and still answers
    assert.match(await healthz(old.sock), / 200 /);
    assert.equal(old.sock.getPeerCertificate().fingerprint256, fpA);

    // a junk certificate: refused, said, the new one stays
    fs.writeFileSync(cert, "not a certificate\n");
    mark = server.logs().length;
    server.proc.kill("SIGHUP");
    assert.match(await waitLine(server, /reload refused, the configuration in force stays/, mark), /TLS certificate or key/);
    assert.ok(server.logs().slice(mark).some((l) => /no PEM certificate/.test(l)), server.logs().slice(mark).join("\n"));
    assert.equal((await connect(port)).fp, fpB);

    // a key of another certificate: refused as well
    put(a.cert, b.key);
    mark = server.logs().length;
    server.proc.kill("SIGHUP");
    await waitLine(server, /reload refused/, mark);
    assert.ok(server.logs().slice(mark).some((l) => /does not belong/.test(l)), server.logs().slice(mark).join("\n"));
    const still = await connect(port);
    assert.equal(still.fp, fpB);
    assert.match(await healthz(still.sock), / 200 /);
    still.sock.destroy();
  });
});
