// cluster.test.js: three flowlogd nodes on one PostgreSQL behind HAProxy,
// driven through the official Node SDK (issue 16).
//
//   - two nodes racing to create a flow log on one resource: exactly one wins
//   - 64 clients over 3 nodes racing past a quota of 100: exactly 100
//   - the rate limit (20/s per account and action) holds across the nodes:
//     HAProxy hashes the SecretId of the TC3 Authorization header, so every
//     request of a key reaches one node, whose bucket is then exact
//   - the rate limit per account in Redis (--rate-limit-redis): two keys of
//     one account through HAProxy round-robin over 3 nodes get 20/s in all
//     (and 3 x that without Redis, the control); Redis killed: each node
//     applies its own buckets, said in its log and its metrics; Redis back:
//     cluster-wide again
//   - SIGKILL of one node under load: no acknowledged write lost, the
//     others keep serving
//   - PostgreSQL restarted under load: the nodes reconnect by themselves,
//     requests in flight get InternalError.ModuleError (or succeed), nothing
//     is half-written, service resumes without restarting flowlogd
//
// Needs FLOWLOGD_TEST_STORE=postgresql://... (scripts/test.sh starts a
// throwaway server with scripts/pg-test-cluster.sh) and haproxy; the restart
// case also FLOWLOGD_TEST_PG_DIR (that server's folder). Without them it
// skips, saying why; with CI=true a skip is a failure.
"use strict";

const { describe, test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { spawn, spawnSync } = require("node:child_process");
const h = require("../integration/harness.js");

const PG = h.TEST_STORE;
const PG_DIR = process.env.FLOWLOGD_TEST_PG_DIR || "";
const HAPROXY = ["/usr/sbin/haproxy", "/usr/bin/haproxy"].find((p) => fs.existsSync(p));
const REDIS = ["/usr/bin/redis-server", "/usr/sbin/redis-server"].find((p) => fs.existsSync(p));
const REDIS_SCRIPT = path.join(__dirname, "../../scripts/redis-test-server.sh");
const CI = process.env.CI === "true";
const why = !PG ? "FLOWLOGD_TEST_STORE (a postgresql:// URL) is not set" : !HAPROXY ? "haproxy is not installed" : "";

function skipOrFail(t, reason) {
  if (CI) assert.fail(`cannot run under CI: ${reason}`);
  t.skip(reason);
}

/** Starts HAProxy in front of `ports`; resolves {endpoint, stop()}.
 * balance "secretid" (the default) hashes the TC3 SecretId; "roundrobin"
 * spreads every key's requests over all the nodes. */
async function startHaproxy(ports, { balance = "secretid" } = {}) {
  const dir = h.tmpDir("haproxy");
  const port = await h.freePort();
  const cfg = path.join(dir, "haproxy.cfg");
  fs.writeFileSync(
    cfg,
    [
      "global",
      "  maxconn 4096",
      "defaults",
      "  mode http",
      "  timeout connect 2s",
      "  timeout client 60s",
      "  timeout server 60s",
      "  retries 3",
      "  option redispatch",
      // only a connection that never reached a node is tried elsewhere: a
      // request a node received is never sent twice
      "  retry-on conn-failure",
      "frontend api",
      `  bind 127.0.0.1:${port}`,
      "  default_backend nodes",
      "backend nodes",
      // the SecretId of "TC3-HMAC-SHA256 Credential=<SecretId>/<date>/vpc/tc3_request, ..."
      ...(balance === "roundrobin"
        ? ["  balance roundrobin"]
        : ["  balance hash req.fhdr(authorization),field(2,=),field(1,/)", "  hash-type consistent"]),
      ...ports.map((p, i) => `  server n${i} 127.0.0.1:${p} check inter 100ms fall 1 rise 1`),
      "",
    ].join("\n")
  );
  const proc = spawn(HAPROXY, ["-db", "-f", cfg], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout.on("data", (d) => (out += d));
  proc.stderr.on("data", (d) => (out += d));
  const endpoint = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`haproxy exited: ${out}`);
    const ok = await new Promise((res) => {
      const s = require("node:net").connect(port, "127.0.0.1", () => {
        s.destroy();
        res(true);
      });
      s.on("error", () => res(false));
    });
    if (ok) break;
    await h.sleep(50);
  }
  await h.sleep(300); // the first health checks
  return {
    endpoint,
    stop: () =>
      new Promise((res) => {
        if (proc.exitCode !== null) return res();
        proc.on("exit", () => res());
        proc.kill("SIGKILL");
      }),
  };
}

/** n nodes on one store (the same data directory maps to one schema). */
async function startNodes(dataDir, n, args) {
  const nodes = [];
  for (let i = 0; i < n; i++) nodes.push(await h.startServer({ dataDir, args: ["--quiet", ...args] }));
  return nodes;
}

function client(endpoint, acct) {
  return h.vpcClient({ endpoint, secretId: acct.SecretId, secretKey: acct.SecretKey, retryRateLimit: false });
}

/** Every flow log of acct, read through `endpoint`: a Map id -> flow log. */
async function allFlowLogs(endpoint, acct) {
  const c = client(endpoint, acct);
  const out = new Map();
  for (let offset = 0; ; offset += 100) {
    const r = await c.DescribeFlowLogs({ Limit: 100, Offset: offset });
    for (const fl of r.FlowLog) out.set(fl.FlowLogId, fl);
    if (r.FlowLog.length < 100) return { map: out, total: r.TotalNum };
  }
}

describe("a 3-node cluster on PostgreSQL", () => {
  const nodes = [];
  let dataDir;
  before(async () => {
    if (why) return;
    dataDir = h.tmpDir("cluster");
  });
  after(async () => {
    for (const n of nodes) await n.stop().catch(() => {});
  });

  test("two nodes racing for one resource: exactly one wins", async (t) => {
    if (why) return skipOrFail(t, why);
    const acct = h.createAccount(dataDir, { quota: 1000 });
    const fx = h.inventoryFixture({ tag: "aaaa", extraEnis: 50 });
    h.importInventory(dataDir, acct.Uin, fx.inventory);
    nodes.push(...(await startNodes(dataDir, 3, ["--rate-limit", "100000"])));
    const [a, b] = [client(nodes[0].endpoint, acct), client(nodes[1].endpoint, acct)];
    let wins = 0;
    for (const eni of fx.ids.extraEnis) {
      const rs = await Promise.allSettled([
        a.CreateFlowLog(h.eniRequest(fx.ids, eni)),
        b.CreateFlowLog(h.eniRequest(fx.ids, eni)),
      ]);
      const ok = rs.filter((r) => r.status === "fulfilled").length;
      const lost = rs.filter((r) => r.status === "rejected");
      assert.equal(ok, 1, `${eni}: ${ok} creates succeeded`);
      for (const l of lost) assert.equal(l.reason.code, "UnsupportedOperation.FlowLogInstanceExisted", String(l.reason));
      wins += ok;
    }
    assert.equal(wins, fx.ids.extraEnis.length);
    const { total } = await allFlowLogs(nodes[2].endpoint, acct);
    assert.equal(total, fx.ids.extraEnis.length);
  });

  test("64 clients over 3 nodes past a quota of 100: exactly 100", async (t) => {
    if (why) return skipOrFail(t, why);
    const acct = h.createAccount(dataDir, { quota: 100 });
    const fx = h.inventoryFixture({ tag: "bbbb", extraEnis: 300 });
    h.importInventory(dataDir, acct.Uin, fx.inventory);
    const clients = nodes.map((n) => client(n.endpoint, acct));
    const queue = fx.ids.extraEnis.slice();
    let ok = 0, limit = 0;
    const other = [];
    await Promise.all(
      Array.from({ length: 64 }, async (_, i) => {
        const c = clients[i % clients.length];
        for (let eni; (eni = queue.shift()); ) {
          try {
            await c.CreateFlowLog(h.eniRequest(fx.ids, eni));
            ok++;
          } catch (e) {
            if (e.code === "LimitExceeded") limit++;
            else other.push(String(e));
          }
        }
      })
    );
    assert.deepEqual(other, []);
    assert.equal(ok, 100);
    assert.equal(limit, 200);
    for (const n of nodes) assert.equal((await allFlowLogs(n.endpoint, acct)).total, 100);
  });

  test("SIGKILL of one node under load: no acknowledged write lost, the others keep serving", async (t) => {
    if (why) return skipOrFail(t, why);
    const lb = await startHaproxy(nodes.map((n) => Number(n.endpoint.split(":")[1])));
    t.after(() => lb.stop());
    // six accounts: their keys hash onto the nodes
    const accts = [];
    for (let i = 0; i < 6; i++) {
      const acct = h.createAccount(dataDir, { quota: 5000 });
      const fx = h.inventoryFixture({ tag: "cdef".charAt(i % 4).repeat(3) + "abcdef".charAt(i), extraEnis: 400 });
      h.importInventory(dataDir, acct.Uin, fx.inventory);
      accts.push(Object.assign(acct, fx, { queue: fx.ids.extraEnis.slice(), acked: new Set() }));
    }
    const victim = nodes[1];
    let killedAt = 0, afterKill = 0, errors = 0;
    const stopAt = Date.now() + 4000;
    const killer = (async () => {
      await h.sleep(1200);
      killedAt = Date.now();
      await victim.stop("SIGKILL");
    })();
    await Promise.all(
      Array.from({ length: 32 }, async (_, i) => {
        const acct = accts[i % accts.length];
        const c = client(lb.endpoint, acct);
        for (let eni; Date.now() < stopAt && (eni = acct.queue.shift()); ) {
          try {
            await c.CreateFlowLog(h.eniRequest(acct.ids, eni));
            acct.acked.add(eni);
            if (killedAt && Date.now() > killedAt + 1000) afterKill++;
          } catch (e) {
            errors++; // a request in flight on the killed node
          }
        }
      })
    );
    await killer;
    nodes.splice(1, 1);
    assert.ok(afterKill > 0, "the other nodes kept serving after the kill");
    let acked = 0;
    for (const acct of accts) {
      const { map } = await allFlowLogs(nodes[0].endpoint, acct);
      const stored = new Set([...map.values()].map((fl) => fl.ResourceId));
      for (const eni of acct.acked) assert.ok(stored.has(eni), `acknowledged create on ${eni} is missing`);
      acked += acct.acked.size;
    }
    t.diagnostic(`SIGKILL: ${acked} acknowledged creates all present; ${errors} requests failed around the kill; ${afterKill} succeeded later than 1 s after it`);
  });

  test("PostgreSQL restarted under load: nodes reconnect, in-flight requests get a clear error, nothing half-written", async (t) => {
    if (why) return skipOrFail(t, why);
    if (!PG_DIR) return skipOrFail(t, "FLOWLOGD_TEST_PG_DIR (the test server's folder) is not set");
    const acct = h.createAccount(dataDir, { quota: 5000 });
    const fx = h.inventoryFixture({ tag: "eeee", extraEnis: 2000 });
    h.importInventory(dataDir, acct.Uin, fx.inventory);
    const clients = nodes.map((n) => client(n.endpoint, acct));
    const queue = fx.ids.extraEnis.slice();
    const acked = new Set(), failed = new Map();
    const codes = {};
    let restartedAt = 0, afterRestart = 0, restartDone = false;
    const stopAt = Date.now() + 6000;
    const restarter = (async () => {
      await h.sleep(1000);
      const r = spawnSync(path.join(__dirname, "../../scripts/pg-test-cluster.sh"), ["restart", PG_DIR], { encoding: "utf8" });
      restartDone = true;
      assert.equal(r.status, 0, `pg restart: ${r.stderr}`);
      restartedAt = Date.now();
    })();
    await Promise.all(
      Array.from({ length: 24 }, async (_, i) => {
        const c = clients[i % clients.length];
        // creates while there are ENIs left, then reads: the load lasts until stopAt
        // whatever the machine's speed (a quick one runs out of ENIs before the restart),
        // and at least 4 s past the restart's end (a loaded one restarts slowly)
        const more = () => Date.now() < stopAt ||
          (Date.now() < stopAt + 60000 && (!restartDone || Date.now() < restartedAt + 4000));
        while (more()) {
          const eni = queue.shift();
          try {
            if (eni) {
              await c.CreateFlowLog(h.eniRequest(fx.ids, eni));
              acked.add(eni);
            } else {
              await c.DescribeFlowLogs({ Limit: 1 });
            }
            if (restartedAt && Date.now() > restartedAt + 1500) afterRestart++;
          } catch (e) {
            codes[e.code] = (codes[e.code] || 0) + 1;
            if (eni) failed.set(eni, e.code);
            else await h.sleep(20);
          }
        }
      })
    );
    await restarter;
    for (const code of Object.keys(codes)) assert.equal(code, "InternalError.ModuleError", `unexpected error ${code}`);
    assert.ok(afterRestart > 0, "service resumed after the restart without restarting flowlogd");
    const { map } = await allFlowLogs(nodes[0].endpoint, acct);
    const stored = new Map([...map.values()].map((fl) => [fl.ResourceId, fl]));
    for (const eni of acked) assert.ok(stored.has(eni), `acknowledged create on ${eni} is missing`);
    for (const [eni] of failed) assert.ok(!stored.has(eni), `a create answered with an error exists: ${eni}`);
    assert.equal(stored.size, acked.size);
    const chk = h.cli(["check", "--data", dataDir], { timeoutMs: 60000 });
    assert.equal(chk.status, 0, chk.stdout + chk.stderr);
    t.diagnostic(`PostgreSQL restart: ${acked.size} acknowledged, ${failed.size} answered ${JSON.stringify(codes)}, ${afterRestart} succeeded later than 1.5 s after it`);
  });
});

describe("the rate limit across nodes", () => {
  const nodes = [];
  after(async () => {
    for (const n of nodes) await n.stop().catch(() => {});
  });

  test("20 requests/s per (account, action) holds through HAProxy over 3 nodes", async (t) => {
    if (why) return skipOrFail(t, why);
    const dataDir = h.tmpDir("cluster-rl");
    const acct = h.createAccount(dataDir, {});
    const fx = h.inventoryFixture({ tag: "ffff" });
    h.importInventory(dataDir, acct.Uin, fx.inventory);
    nodes.push(...(await startNodes(dataDir, 3, ["--rate-limit", "20"])));
    const lb = await startHaproxy(nodes.map((n) => Number(n.endpoint.split(":")[1])));
    t.after(() => lb.stop());
    const c = client(lb.endpoint, acct);
    const t0 = Date.now();
    const rs = await Promise.allSettled(Array.from({ length: 90 }, () => c.DescribeFlowLogs({ Limit: 1 })));
    const secs = (Date.now() - t0) / 1000;
    const ok = rs.filter((r) => r.status === "fulfilled").length;
    const limited = rs.filter((r) => r.status === "rejected" && r.reason.code === "RequestLimitExceeded").length;
    assert.equal(ok + limited, 90, JSON.stringify(rs.filter((r) => r.status === "rejected").map((r) => String(r.reason)).slice(0, 3)));
    // burst 20 plus 20/s while the requests ran, never 3 x that
    assert.ok(ok >= 20 && ok <= 20 + Math.ceil(20 * secs) + 1, `${ok} of 90 admitted in ${secs} s`);
    t.diagnostic(`rate limit: ${ok} of 90 admitted in ${secs.toFixed(2)} s (3 nodes, limit 20/s)`);
  });
});

/** The node's admin port, from its "admin listening on" line. */
async function adminPort(server) {
  for (let i = 0; i < 200; i++) {
    for (const l of server.logs()) {
      const m = /^admin listening on [^ ]*:(\d+)$/.exec(l);
      if (m) return Number(m[1]);
    }
    await h.sleep(25);
  }
  throw new Error("no admin listening line:\n" + server.logs().join("\n"));
}

/** One sample of a node's /metrics: the value of `name` (with its labels). */
async function metric(node, token, name) {
  const r = await h.send({ port: node.adminPort, method: "GET", path: "/metrics", headers: { Authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  const line = String(r.text).split("\n").find((l) => l.startsWith(name + " "));
  assert.ok(line, `no ${name} in /metrics`);
  return Number(line.slice(name.length + 1));
}

/**
 * Hammers DescribeFlowLogs with every client in `clients` (8 requests in
 * flight each) for `ms`; counts the answers. Any answer other than success
 * or RequestLimitExceeded fails the test. Resolves {ok, limited, secs}, secs
 * from the first request sent to the last answer received: every decision
 * of the limiter fell inside it.
 */
async function hammer(clients, ms) {
  const t0 = Date.now();
  const stopAt = t0 + ms;
  let ok = 0, limited = 0;
  const other = [];
  await Promise.all(
    clients.flatMap((c) =>
      Array.from({ length: 8 }, async () => {
        while (Date.now() < stopAt) {
          try {
            await c.DescribeFlowLogs({ Limit: 1 });
            ok++;
          } catch (e) {
            if (e.code === "RequestLimitExceeded") limited++;
            else other.push(String(e));
          }
        }
      })
    )
  );
  assert.deepEqual(other.slice(0, 3), []);
  return { ok, limited, secs: (Date.now() - t0) / 1000 };
}

describe("the rate limit per account in Redis, over 3 nodes behind round-robin", () => {
  const nodes = [];
  let redisDir = "", redisUrl = "";
  const TOKEN = "cluster-rl-token-" + "z".repeat(16);
  const RATE = 20;
  // a window's admitted requests: the burst, then RATE/s, +1 for the
  // rounding of the last period; nothing about the machine's speed
  const bound = (secs) => RATE + Math.ceil(RATE * secs) + 1;
  after(async () => {
    for (const n of nodes) await n.stop().catch(() => {});
    if (redisDir) spawnSync(REDIS_SCRIPT, ["stop", redisDir]);
  });

  async function startRlNodes(dataDir, extra) {
    const tokenFile = path.join(h.tmpDir("cluster-rl-token"), "token");
    fs.writeFileSync(tokenFile, TOKEN + "\n", { mode: 0o600 });
    const out = [];
    for (let i = 0; i < 3; i++) {
      const n = await h.startServer({
        dataDir,
        args: ["--quiet", "--rate-limit", String(RATE), "--admin-listen", "127.0.0.1:0", "--admin-token-file", tokenFile, ...extra],
      });
      n.adminPort = await adminPort(n);
      out.push(n);
    }
    nodes.push(...out);
    return out;
  }
  async function stopAll(list) {
    for (const n of list) {
      await n.stop();
      nodes.splice(nodes.indexOf(n), 1);
    }
  }

  test("two keys of one account: 20/s in all across the cluster; Redis killed: each node alone; back: cluster-wide", async (t) => {
    if (why) return skipOrFail(t, why);
    if (!REDIS) return skipOrFail(t, "redis-server is not installed");
    redisDir = fs.mkdtempSync("/tmp/flowlogd-redis-cluster-");
    const r = spawnSync(REDIS_SCRIPT, ["start", redisDir], { encoding: "utf8" });
    assert.equal(r.status, 0, `redis-test-server start: ${r.stderr}`);
    redisUrl = r.stdout.trim();

    const dataDir = h.tmpDir("cluster-rl-redis");
    const acct = h.createAccount(dataDir, {});
    const key2 = h.createKey(dataDir, acct.Uin);
    const fx = h.inventoryFixture({ tag: "abab" });
    h.importInventory(dataDir, acct.Uin, fx.inventory);
    const keys = [acct, key2];

    // the control: the nodes' own buckets under round-robin give ~3 x the limit
    let list = await startRlNodes(dataDir, []);
    let lb = await startHaproxy(list.map((n) => n.port), { balance: "roundrobin" });
    let w = await hammer(keys.map((k) => client(lb.endpoint, k)), 2000);
    t.diagnostic(`without Redis: ${w.ok} admitted in ${w.secs.toFixed(2)} s (bound of one bucket ${bound(w.secs)})`);
    assert.ok(w.ok > bound(w.secs), `the control should exceed one bucket: ${w.ok} <= ${bound(w.secs)}`);
    await lb.stop();
    await stopAll(list);

    // the same with the buckets in Redis: one bucket per (account, action)
    list = await startRlNodes(dataDir, ["--rate-limit-redis", redisUrl]);
    lb = await startHaproxy(list.map((n) => n.port), { balance: "roundrobin" });
    t.after(() => lb.stop());
    w = await hammer(keys.map((k) => client(lb.endpoint, k)), 3000);
    t.diagnostic(`with Redis: ${w.ok} admitted, ${w.limited} limited in ${w.secs.toFixed(2)} s (bound ${bound(w.secs)})`);
    assert.ok(w.ok >= RATE, `at least the burst: ${w.ok}`);
    assert.ok(w.ok <= bound(w.secs), `${w.ok} admitted in ${w.secs} s over 3 nodes: more than ${bound(w.secs)}`);
    for (const n of list) {
      assert.equal(await metric(n, TOKEN, "flowlogd_ratelimit_shared_up"), 1);
      assert.ok((await metric(n, TOKEN, 'flowlogd_ratelimit_shared_decisions_total{outcome="pass"}')) > 0, "each node asked Redis");
    }

    // Redis killed: still served, each node applies its own buckets (at most
    // 3 x one bucket), said once in each node's log and in its metrics
    spawnSync(REDIS_SCRIPT, ["kill", redisDir]);
    w = await hammer(keys.map((k) => client(lb.endpoint, k)), 2000);
    t.diagnostic(`Redis down: ${w.ok} admitted in ${w.secs.toFixed(2)} s (3 buckets: at most ${3 * bound(w.secs)})`);
    assert.ok(w.ok >= RATE, `service goes on while Redis is down: ${w.ok}`);
    assert.ok(w.ok <= 3 * bound(w.secs), `each node's own bucket: ${w.ok} > ${3 * bound(w.secs)}`);
    for (const n of list) {
      assert.equal(await metric(n, TOKEN, "flowlogd_ratelimit_shared_up"), 0);
      assert.ok((await metric(n, TOKEN, 'flowlogd_ratelimit_shared_decisions_total{outcome="local"}')) > 0);
      const warned = n.logs().filter((l) => / WARN rate limit: Redis at redis:\/\/127\.0\.0\.1:\d+\/0 is unavailable/.test(l));
      assert.equal(warned.length, 1, `one warning per outage:\n${n.logs().join("\n")}`);
    }

    // Redis back (empty): after the nodes' 1 s pause, cluster-wide again
    const rr = spawnSync(REDIS_SCRIPT, ["restart", redisDir], { encoding: "utf8" });
    assert.equal(rr.status, 0, `redis restart: ${rr.stderr}`);
    await h.sleep(1500);
    w = await hammer(keys.map((k) => client(lb.endpoint, k)), 2000);
    t.diagnostic(`Redis back: ${w.ok} admitted in ${w.secs.toFixed(2)} s (bound ${bound(w.secs)})`);
    assert.ok(w.ok <= bound(w.secs), `cluster-wide again: ${w.ok} > ${bound(w.secs)}`);
    for (const n of list) {
      assert.equal(await metric(n, TOKEN, "flowlogd_ratelimit_shared_up"), 1);
      assert.ok(n.logs().some((l) => /INFO rate limit: Redis at .* answers again/.test(l)));
    }
  });
});
