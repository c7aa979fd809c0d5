// engine.test.js: issue 11 §2: the SQLite engine is chosen at start
// (`serve --sqlite-engine tuned|plain`, default tuned, or
// $FLOWLOGD_SQLITE_ENGINE); both keep the same file format, so a data
// directory written by one is served by the other; an unknown engine is
// refused before anything opens. The rest of the integration suite runs on
// whichever engine $FLOWLOGD_SQLITE_ENGINE names (scripts/test.sh runs it
// on both).
"use strict";

const { describe, test } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./harness");

// the engine named by the server's log line (stderr; it may come after the
// stdout line that startServer waits for)
const engineOf = async (srv) => {
  for (let i = 0; i < 100; i++) {
    const line = srv.logs().find((l) => /store sqlite, \w+ engine/.test(l));
    if (line) return /store sqlite, (\w+) engine/.exec(line)[1];
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
};

describe("serve --sqlite-engine", { skip: h.TEST_STORE ? "the SQLite engines; this run is on PostgreSQL" : false }, () => {
  test("the log names the engine: $FLOWLOGD_SQLITE_ENGINE, else tuned", async () => {
    const dataDir = h.tmpDir("engine-default");
    const srv = await h.startServer({ dataDir });
    try {
      assert.equal(await engineOf(srv), process.env.FLOWLOGD_SQLITE_ENGINE || "tuned", srv.logs().join("\n"));
    } finally {
      await srv.stop();
    }
  });

  test("one data directory, served by tuned, then plain, then tuned: every flow log kept", async () => {
    const ctx = await h.setup({
      label: "engine-switch",
      accounts: [{ tag: "feed", extraEnis: 30 }],
      serverArgs: ["--quiet", "--sqlite-engine", "tuned"],
    });
    const a = ctx.accounts[0];
    const next = h.eniPool(a.ids);
    let srv = ctx.server;
    const ids = [];
    for (const engine of ["tuned", "plain", "tuned"]) {
      if (engine !== "tuned" || ids.length) {
        await srv.stop();
        srv = await h.startServer({ dataDir: ctx.dataDir, args: ["--quiet", "--sqlite-engine", engine] });
      }
      assert.equal(await engineOf(srv), engine, srv.logs().join("\n"));
      const c = h.vpcClient({ endpoint: srv.endpoint, secretId: a.SecretId, secretKey: a.SecretKey });
      for (let i = 0; i < 5; i++) {
        const r = await c.CreateFlowLog(h.eniRequest(a.ids, next(), { FlowLogName: `on-${engine}` }));
        ids.push(r.FlowLog[0].FlowLogId);
      }
      const all = await c.DescribeFlowLogs({ Limit: 100 });
      assert.equal(all.TotalNum, ids.length);
      assert.deepEqual(all.FlowLog.map((f) => f.FlowLogId).sort(), [...ids].sort());
    }
    await srv.stop();
  });

  test("an unknown engine: exit 2 naming the choices, nothing created", () => {
    const dataDir = h.tmpDir("engine-bad");
    const r = h.cli(["serve", "--listen", "127.0.0.1:0", "--data", `${dataDir}/d`, "--sqlite-engine", "fast"]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /tuned/);
    assert.match(r.stderr, /plain/);
    assert.throws(() => require("node:fs").statSync(`${dataDir}/d`));
  });
});
