// metrics.test.js: Prometheus metrics on the admin listener (issue 17 §4):
// GET /metrics needs the admin token (what Prometheus's credentials_file
// sends), counts the answers by service, action and code and their latency,
// and passes `promtool check metrics` (Debian's prometheus package). Without
// promtool the format check reports itself skipped (a failure with CI=true).
"use strict";

const { test } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const h = require("./harness");

const TOKEN = "metrics-token-" + "y".repeat(20);
const PROMTOOL = "/usr/bin/promtool";
const havePromtool = fs.existsSync(PROMTOOL);

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

test("GET /metrics: token required, answers and latency counted, promtool accepts it", async (t) => {
  const ctx = await h.setup({ label: "metrics", accounts: [{ tag: "dddd", extraEnis: 2 }], serverArgs: [] });
  t.after(() => ctx.server.stop());
  // a second server with the admin listener on the same data directory is simpler than
  // restarting: stop the first one and start again with the admin options
  await ctx.server.stop();
  const tokenFile = path.join(h.tmpDir("metrics-token"), "token");
  fs.writeFileSync(tokenFile, TOKEN + "\n", { mode: 0o600 });
  const srv = await h.startServer({ dataDir: ctx.dataDir, args: ["--admin-listen", "127.0.0.1:0", "--admin-token-file", tokenFile], t });
  const port = await adminPort(srv);
  const a = ctx.accounts[0];
  const client = h.vpcClient({ endpoint: srv.endpoint, secretId: a.SecretId, secretKey: a.SecretKey });
  await client.DescribeFlowLogs({});
  await client.DescribeFlowLogs({});
  await client.CreateFlowLog(h.eniRequest(a.ids, a.ids.eni));
  await h.expectApiError(client.DescribeFlowLog({ FlowLogId: "fl-00000000", VpcId: a.ids.vpc }), "ResourceNotFound");

  const noToken = await h.send({ port, method: "GET", path: "/metrics" });
  assert.equal(noToken.status, 401);
  const wrong = await h.send({ port, method: "GET", path: "/metrics", headers: { Authorization: "Bearer nope" } });
  assert.equal(wrong.status, 401);
  const r = await h.send({ port, method: "GET", path: "/metrics", headers: { Authorization: `Bearer ${TOKEN}` } });
  assert.equal(r.status, 200);
  const text = r.text;
  assert.match(text, /^flowlogd_build_info\{version="[0-9.]+"\} 1$/m);
  assert.match(text, /^flowlogd_requests_total\{service="vpc",action="DescribeFlowLogs",code="OK"\} 2$/m);
  assert.match(text, /^flowlogd_requests_total\{service="vpc",action="CreateFlowLog",code="OK"\} 1$/m);
  assert.match(text, /^flowlogd_requests_total\{service="vpc",action="DescribeFlowLog",code="ResourceNotFound"\} 1$/m);
  assert.match(text, /^flowlogd_request_duration_seconds_count\{service="vpc",action="DescribeFlowLogs"\} 2$/m);
  assert.match(text, /^flowlogd_request_duration_seconds_bucket\{service="vpc",action="DescribeFlowLogs",le="\+Inf"\} 2$/m);
  assert.match(text, /^flowlogd_open_connections\{listener="http"\} \d+$/m);
  // the store's writer, either backend: the create's commit timed, nothing queued now
  const store = process.env.FLOWLOGD_TEST_STORE ? "postgresql" : "sqlite";
  assert.match(text, new RegExp(`^flowlogd_store_commit_seconds_count\\{store="${store}"\\} [1-9]\\d*$`, "m"));
  assert.match(text, new RegExp(`^flowlogd_store_commit_seconds_bucket\\{store="${store}",le="\\+Inf"\\} [1-9]\\d*$`, "m"));
  assert.match(text, new RegExp(`^flowlogd_store_queue_depth\\{store="${store}"\\} 0$`, "m"));
  if (!process.env.FLOWLOGD_TEST_STORE) {
    // the SQLite store's own counters (a PostgreSQL run has none of these)
    assert.match(text, /^flowlogd_store_commits_total [1-9]\d*$/m);
    assert.match(text, /^flowlogd_store_wal_bytes \d+$/m);
    // the tuned engine sees its WAL fsyncs; SQLite's own VFS (plain) does not
    if ((process.env.FLOWLOGD_SQLITE_ENGINE || "tuned") === "tuned")
      assert.match(text, /^flowlogd_store_fsync_seconds_count\{store="sqlite"\} [1-9]\d*$/m);
    else assert.doesNotMatch(text, /flowlogd_store_fsync_seconds/);
  } else {
    assert.doesNotMatch(text, /flowlogd_store_fsync_seconds/); // PostgreSQL's own, inside COMMIT
  }
  // never on the public port
  const pub = await h.send({ port: srv.port, method: "GET", path: "/metrics", headers: { Authorization: `Bearer ${TOKEN}` } });
  assert.equal(pub.status, 404);

  if (!havePromtool) {
    if (process.env.CI === "true") assert.fail(`CI=true and no ${PROMTOOL} (apt-get install prometheus)`);
    t.skip(`no ${PROMTOOL}: the exposition format was not checked`);
    return;
  }
  const p = spawnSync(PROMTOOL, ["check", "metrics"], { input: text, encoding: "utf8" });
  assert.equal(p.status, 0, `promtool check metrics: ${p.stdout}${p.stderr}`);
});
