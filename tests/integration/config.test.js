// config.test.js: how an operator configures `serve` (issue 17 §3, §4): the
// INI file, FLOWLOGD_* variables and flags in that order of precedence,
// --check-config naming the bad line, SIGHUP reloading what can change
// (and refusing a bad file), --log-format json, CORS for browser clients,
// and a start-up error said once.
"use strict";

const { describe, test } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const http = require("node:http");
const { spawn } = require("node:child_process");
const h = require("./harness");

const BIN = process.env.FLOWLOGD_BIN;

/** Starts `serve` with exactly these args and env (no harness defaults). */
function serve(args, env = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(BIN, ["serve", ...args], { stdio: ["ignore", "pipe", "pipe"], env: Object.assign({}, process.env, env) });
    const lines = [];
    let done = false;
    const onLine = (l) => {
      lines.push(l);
      const m = /^listening on 127\.0\.0\.1:(\d+)$/.exec(l);
      if (m && !done) {
        done = true;
        resolve({ proc: p, port: Number(m[1]), lines });
      }
    };
    let buf = { out: "", err: "" };
    for (const [name, s] of [["out", p.stdout], ["err", p.stderr]]) {
      s.on("data", (c) => {
        buf[name] += c;
        let i;
        while ((i = buf[name].indexOf("\n")) >= 0) {
          onLine(buf[name].slice(0, i));
          buf[name] = buf[name].slice(i + 1);
        }
      });
    }
    p.on("exit", (code) => {
      if (!done) {
        done = true;
        reject(new Error(`serve exited ${code}:\n${lines.join("\n")}`));
      }
    });
    setTimeout(() => {
      if (!done) {
        done = true;
        p.kill("SIGKILL");
        reject(new Error(`serve did not start:\n${lines.join("\n")}`));
      }
    }, 10000);
  });
}

async function stop(s) {
  const exited = new Promise((r) => s.proc.on("exit", r));
  s.proc.kill("SIGTERM");
  await exited;
}

async function waitLine(s, re, ms = 5000) {
  const t0 = Date.now();
  for (;;) {
    const l = s.lines.find((x) => re.test(x));
    if (l) return l;
    if (Date.now() - t0 > ms) throw new Error(`no log line ${re} in:\n${s.lines.slice(-20).join("\n")}`);
    await h.sleep(20);
  }
}

function request(port, { method = "GET", headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: "127.0.0.1", port, method, path: "/", headers, agent: false }, (res) => {
      let b = "";
      res.on("data", (c) => (b += c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: b }));
    });
    r.on("error", reject);
    r.end(body);
  });
}

describe("configuration file, environment, flags", () => {
  test("--check-config accepts a good file and names the line of a bad one", () => {
    const dir = h.tmpDir("cfg");
    const good = path.join(dir, "good.conf");
    fs.writeFileSync(good, `# flowlogd\n[serve]\nlisten = 127.0.0.1:0\ndata = ${dir}/data\nrate-limit = 50\nquiet = true\nlog-format = json\n`);
    let r = h.cli(["serve", "--config", good, "--check-config"]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `configuration OK: ${good}\n`);
    const cases = [
      ["[serve]\nlisten = 127.0.0.1:0\n[other]\nx = 1\n", /bad\.conf:4: unknown section \[other\] \(options go in \[serve\]\)/],
      ["[serve]\ndata = /tmp/x\nworkerz = 4\n", /bad\.conf:3: unknown option workerz/],
      ["[serve]\ndata = /tmp/x\n\nrate-limit = fast\n", /bad\.conf:4: rate-limit must be a number/],
      ["[serve]\nlog-level = loud\n", /bad\.conf:2: log-level is one of debug,info,warn,error, not loud/],
      ["[serve]\nquiet = maybe\n", /bad\.conf:2: quiet = maybe: a flag is/],
      ["listen = 127.0.0.1:0\n", /bad\.conf:1: listen outside a \[serve\] section/],
      ["[serve]\nconfig = /etc/other\n", /bad\.conf:2: unknown option config/],
      ["[serve]\nthis line has no equals sign\n", /bad\.conf:2: not a "name = value" line/],
      ["[serve]\ndata = /tmp/x\nrate-limit-redis = http://redis:6379\n", /--rate-limit-redis wants redis:\/\/\[:PASSWORD@\]HOST\[:PORT\]\[\/DB\] or unix:PATH/],
    ];
    for (const [text, re] of cases) {
      const bad = path.join(dir, "bad.conf");
      fs.writeFileSync(bad, text);
      r = h.cli(["serve", "--config", bad, "--check-config"]);
      assert.equal(r.status, 2, `${text}: ${r.stdout}`);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.split("\n").filter((l) => l.trim()).length, 1, `said once: ${r.stderr}`);
    }
    r = h.cli(["serve", "--config", path.join(dir, "missing.conf"), "--check-config"]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /missing\.conf: No such file/);
    r = h.cli(["serve", "--check-config", "--data", dir], { env: { FLOWLOGD_RATE_LIMIT: "many" } });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /FLOWLOGD_RATE_LIMIT must be a number/);
  });

  test("flags win over FLOWLOGD_* variables, which win over the file", async () => {
    const dir = h.tmpDir("prec");
    const ports = [await h.freePort(), await h.freePort(), await h.freePort()];
    const conf = path.join(dir, "f.conf");
    fs.writeFileSync(conf, `[serve]\nlisten = 127.0.0.1:${ports[0]}\ndata = ${dir}/data\n`);
    let s = await serve(["--config", conf]);
    assert.equal(s.port, ports[0]);
    await stop(s);
    s = await serve(["--config", conf], { FLOWLOGD_LISTEN: `127.0.0.1:${ports[1]}` });
    assert.equal(s.port, ports[1]);
    await stop(s);
    s = await serve(["--config", conf, "--listen", `127.0.0.1:${ports[2]}`], { FLOWLOGD_LISTEN: `127.0.0.1:${ports[1]}` });
    assert.equal(s.port, ports[2]);
    await stop(s);
    // FLOWLOGD_CONFIG names the file when --config does not
    s = await serve([], { FLOWLOGD_CONFIG: conf });
    assert.equal(s.port, ports[0]);
    await stop(s);
  });

  test("a start-up error is said once, with what to do", async () => {
    const dir = h.tmpDir("once");
    const s = await serve(["--listen", "127.0.0.1:0", "--data", `${dir}/a`]);
    const r = h.cli(["serve", "--listen", `127.0.0.1:${s.port}`, "--data", `${dir}/b`]);
    await stop(s);
    assert.equal(r.status, 1);
    const lines = r.stderr.split("\n").filter((l) => l.trim());
    assert.equal(lines.length, 1, r.stderr);
    assert.equal((lines[0].match(/cannot listen/g) || []).length, 1, lines[0]);
    assert.match(lines[0], /Address already in use.*choose another --listen/);
  });
});

describe("SIGHUP", () => {
  test("reloads log format and rate limit; a bad file is refused and the old configuration stays", async () => {
    const dir = h.tmpDir("hup");
    const acct = h.createAccount(path.join(dir, "data"), { sqlite: true }) /* the configuration names a data directory */;
    const conf = path.join(dir, "f.conf");
    fs.writeFileSync(conf, `[serve]\nlisten = 127.0.0.1:0\ndata = ${dir}/data\nrate-limit = 1000\n`);
    const s = await serve(["--config", conf]);
    try {
      const client = h.vpcClient({ endpoint: `127.0.0.1:${s.port}`, secretId: acct.SecretId, secretKey: acct.SecretKey, retryRateLimit: false });
      for (let i = 0; i < 5; i++) await client.DescribeFlowLogs({});

      fs.writeFileSync(conf, `[serve]\nlisten = 127.0.0.1:0\ndata = ${dir}/data\nrate-limit = 1\nlog-format = json\nworkers = 8\n`);
      s.proc.kill("SIGHUP");
      await waitLine(s, /"msg":"reloaded: log-level info, log-format json, rate-limit 1/);
      await waitLine(s, /reload: workers changed; it takes effect at the next start/);
      // the new rate: a burst of 1 per second
      let limited = 0;
      for (let i = 0; i < 5; i++) {
        try {
          await client.DescribeFlowLogs({});
        } catch (e) {
          if (e.code === "RequestLimitExceeded") limited++;
          else throw e;
        }
      }
      assert.ok(limited >= 3, `only ${limited} of 5 were limited after the reload`);
      // JSON lines: request lines carry their fields
      const req = await waitLine(s, /"event":"request"/);
      const j = JSON.parse(req);
      assert.equal(j.level, "INFO");
      assert.equal(j.action, "DescribeFlowLogs");
      assert.equal(j.account, acct.Uin);
      assert.match(j.id, /^[0-9a-f-]{36}$/);
      assert.ok(j.time && j.msg.startsWith("request "));

      fs.writeFileSync(conf, `[serve]\nrate-limit = 1000\nbogus = 1\n`);
      s.proc.kill("SIGHUP");
      const refused = await waitLine(s, /reload refused/);
      assert.match(refused, /f\.conf:3: unknown option bogus/);
      limited = 0;
      for (let i = 0; i < 4; i++) {
        try {
          await client.DescribeFlowLogs({});
        } catch (e) {
          if (e.code === "RequestLimitExceeded") limited++;
        }
      }
      assert.ok(limited >= 2, "the refused file's rate-limit 1000 must not apply");
      // still serving on the same socket
      assert.equal((await request(s.port, { method: "GET" })).status, 200);
    } finally {
      await stop(s);
    }
  });
});

describe("CORS", () => {
  test("an allowed origin gets the preflight and its name on answers; others get neither", async () => {
    const dir = h.tmpDir("cors");
    const acct = h.createAccount(path.join(dir, "data"), { sqlite: true }) /* the configuration names a data directory */;
    const s = await serve(["--listen", "127.0.0.1:0", "--data", `${dir}/data`, "--cors-origins", "http://app.example, http://other.example"]);
    try {
      const pre = await request(s.port, {
        method: "OPTIONS",
        headers: { Origin: "http://app.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type,x-tc-action" },
      });
      assert.equal(pre.status, 204);
      assert.equal(pre.headers["access-control-allow-origin"], "http://app.example");
      assert.match(pre.headers["access-control-allow-headers"], /Authorization/);
      assert.match(pre.headers["access-control-allow-headers"], /X-TC-Action/);
      assert.match(pre.headers["access-control-allow-headers"], /Content-Type/);
      assert.match(pre.headers["access-control-allow-methods"], /POST/);
      assert.equal(pre.headers.vary, "Origin");

      const denied = await request(s.port, { method: "OPTIONS", headers: { Origin: "http://evil.example", "Access-Control-Request-Method": "POST" } });
      assert.equal(denied.headers["access-control-allow-origin"], undefined);

      // a signed call from the allowed origin: the answer names it (a create is deferred to its commit)
      const ts = Math.floor(Date.now() / 1000);
      const body = "{}";
      const signed = { "content-type": "application/json; charset=utf-8", host: `127.0.0.1:${s.port}` };
      const sig = h.tc3Sign({ secretId: acct.SecretId, secretKey: acct.SecretKey, headers: signed, payload: body, timestamp: ts, service: "vpc" });
      const req = {
        body,
        headers: {
          "Content-Type": signed["content-type"],
          Authorization: sig.authorization,
          "X-TC-Action": "DescribeFlowLogs",
          "X-TC-Version": "2017-03-12",
          "X-TC-Timestamp": String(ts),
          "X-TC-Region": "ap-guangzhou",
        },
      };
      const r = await request(s.port, { method: "POST", headers: Object.assign({ Origin: "http://other.example" }, req.headers), body: req.body });
      assert.equal(r.status, 200);
      assert.ok(JSON.parse(r.body).Response.TotalNum !== undefined, r.body);
      assert.equal(r.headers["access-control-allow-origin"], "http://other.example");
      const r2 = await request(s.port, { method: "POST", headers: Object.assign({ Origin: "http://evil.example" }, req.headers), body: req.body });
      assert.equal(r2.headers["access-control-allow-origin"], undefined);
    } finally {
      await stop(s);
    }
  });
});
