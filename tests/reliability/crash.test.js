// crash.test.js: crash consistency (issue 3, item 3).
//
// A server on a temporary data directory with 20 accounts (each with many
// attached ENIs) takes concurrent CreateFlowLog / DeleteFlowLog load, 32
// requests in flight across the accounts, and is killed with SIGKILL at a
// random moment 50-400 ms into each round; then it is restarted on the same
// data directory. Every request is classified:
//   answered success / answered error / no answer (connection dropped) /
//   refused (never sent).
// After every restart the store is compared with a model built from the
// answers, per (account, ENI):
//   - a create answered with success exists, with every field and all its
//     tags, unless a later delete was answered with success;
//   - a delete answered with success is gone;
//   - a request answered with an error left nothing behind (and changed
//     nothing);
//   - a request without an answer may or may not have happened, but never
//     half: the flow log is either absent or complete (name, description,
//     every tag in order);
//   - nothing else exists (no flow log on a resource nobody created one for,
//     never two on one resource).
// `flowlogd check --data DIR` runs after every kill (on the not yet recovered
// files) and at the end, and must print "ok".
//
// Beside the API load, the admin commands run against the same live data
// directory (issue 11: another process that opens and closes the database
// must never take the WAL from under the server): `account create`,
// `key create` and `inventory import`, each in a process of its own, while
// the server is killed. Every command that exited 0 is acknowledged: after
// every restart, every acknowledged account and key authenticates and every
// imported VPC is listed by DescribeVpcs.
"use strict";

const { test, after } = require("node:test");
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const L = require("./lib.js");

const { h } = L;

const ACCOUNTS = 20;
const QUOTA_LIMITED = 2; // the last accounts get a small quota: LimitExceeded answered inside the write job
const SMALL_QUOTA = 25;
const ENIS = 120;
const IN_FLIGHT = 32;
const ADMIN_IN_FLIGHT = 2; // admin commands running at once against the live data directory
const KILLS = Number(process.env.CRASH_KILLS || 40);
const TIME_BUDGET_MS = Number(process.env.CRASH_BUDGET_MS || 100000);

let server = null;
after(async () => {
  if (server) await server.stop("SIGKILL");
});

const rnd = (n) => crypto.randomInt(n);
const pick = (arr) => arr[rnd(arr.length)];
const ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const word = (n) => Array.from({ length: n }, () => ALNUM[rnd(ALNUM.length)]).join("");

/** A CreateFlowLog body for `eni` with a random name, description and 0-6 tags. */
function createBody(acct, eni) {
  const ntags = rnd(7);
  const tags = [];
  for (let i = 0; i < ntags; i++) tags.push({ Key: `k${i}-${word(6)}`, Value: word(1 + rnd(20)) });
  const body = {
    FlowLogName: `crash-${word(10)}`,
    ResourceType: "NETWORKINTERFACE",
    ResourceId: eni,
    TrafficType: pick(["ACCEPT", "REJECT", "ALL"]),
    VpcId: acct.ids.vpc,
    CloudLogId: acct.ids.clsGz,
    FlowLogDescription: word(rnd(60)),
  };
  if (tags.length) body.Tags = tags;
  return body;
}

/** The CLI in a process of its own, without blocking the load: {status, stdout, stderr}. */
function cliAsync(args) {
  return new Promise((resolve) => {
    // (--data becomes --store on PostgreSQL runs, as for every store command)
    const p = spawn(process.env.FLOWLOGD_BIN, h.mapStoreArgs(args), { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (c) => (out += c));
    p.stderr.on("data", (c) => (err += c));
    p.on("close", (status, signal) => resolve({ status, signal, stdout: out, stderr: err }));
  });
}

/** The fields of a stored flow log that must equal what the create asked for. */
function sameAsRequested(fl, body) {
  const want = {
    FlowLogName: body.FlowLogName,
    ResourceType: body.ResourceType,
    ResourceId: body.ResourceId,
    TrafficType: body.TrafficType,
    VpcId: body.VpcId,
    CloudLogId: body.CloudLogId,
    FlowLogDescription: body.FlowLogDescription || "",
    TagSet: body.Tags || [],
    Enable: true,
  };
  const got = {};
  for (const k of Object.keys(want)) got[k] = fl[k];
  try {
    assert.deepEqual(got, want);
    return null;
  } catch (_) {
    return `stored ${JSON.stringify(got)} but the create asked for ${JSON.stringify(want)}`;
  }
}

test("crash consistency: SIGKILL under CreateFlowLog/DeleteFlowLog load, restart, compare", { timeout: 180000 }, async (t) => {
  const t0 = Date.now();
  const dataDir = h.tmpDir("crash");
  const accounts = L.makeAccounts(dataDir, ACCOUNTS, {
    extraEnis: ENIS,
    quota: (i) => (i >= ACCOUNTS - QUOTA_LIMITED ? SMALL_QUOTA : 100000),
  });
  accounts.forEach((a, i) => (a.limited = i >= ACCOUNTS - QUOTA_LIMITED));
  // the model: per account, per ENI
  for (const a of accounts) {
    a.model = new Map();
    for (const eni of a.ids.extraEnis) a.model.set(eni, { state: "absent", id: null, body: null, busy: false });
  }

  const stats = {
    rounds: 0,
    kills: 0,
    sent: 0,
    createOk: 0,
    createErr: 0,
    createNoAnswer: 0,
    dupCreateErr: 0,
    deleteOk: 0,
    deleteErr: 0,
    deleteNoAnswer: 0,
    refused: 0,
    noAnswerResolvedDone: 0,
    noAnswerResolvedNotDone: 0,
    checks: 0,
    startMs: [],
    adminAccounts: 0,
    adminKeys: 0,
    adminImports: 0,
  };
  // what the admin commands were acknowledged for
  const admin = { keys: [], vpcs: [] }; // keys: {SecretId, SecretKey, what}; vpcs: {key, VpcId}
  const violations = [];
  const unexpected = [];
  const violate = (round, msg) => violations.push(`round ${round}: ${msg}`);

  async function reconcile(round, port) {
    for (const a of accounts) {
      const all = await L.describeAll({ port, key: a });
      const seen = new Map();
      for (const fl of all) {
        if (!a.model.has(fl.ResourceId)) {
          violate(round, `account ${a.Uin}: flow log ${fl.FlowLogId} on ${fl.ResourceId}, which no request named`);
          continue;
        }
        if (seen.has(fl.ResourceId)) {
          violate(round, `account ${a.Uin}: two flow logs on ${fl.ResourceId}: ${seen.get(fl.ResourceId).FlowLogId} and ${fl.FlowLogId}`);
          continue;
        }
        seen.set(fl.ResourceId, fl);
      }
      for (const [eni, m] of a.model) {
        const fl = seen.get(eni);
        switch (m.state) {
          case "present":
            if (!fl) violate(round, `account ${a.Uin}: ${m.id} on ${eni} was created with success but is gone`);
            else if (fl.FlowLogId !== m.id) violate(round, `account ${a.Uin}: ${eni} holds ${fl.FlowLogId}, the acknowledged create made ${m.id}`);
            else {
              const d = sameAsRequested(fl, m.body);
              if (d) violate(round, `account ${a.Uin}: ${m.id}: ${d}`);
            }
            break;
          case "absent":
            if (fl) violate(round, `account ${a.Uin}: ${fl.FlowLogId} on ${eni} exists, but every create on it failed or it was deleted with success (${m.why || "never created"})`);
            break;
          case "maybeCreated":
            if (fl) {
              const d = sameAsRequested(fl, m.body);
              if (d) violate(round, `account ${a.Uin}: unanswered create on ${eni} left a partial flow log ${fl.FlowLogId}: ${d}`);
              m.state = "present";
              m.id = fl.FlowLogId;
              stats.noAnswerResolvedDone++;
            } else {
              m.state = "absent";
              m.why = "unanswered create that did not happen";
              stats.noAnswerResolvedNotDone++;
            }
            break;
          case "maybeDeleted":
            if (fl) {
              if (fl.FlowLogId !== m.id) violate(round, `account ${a.Uin}: ${eni} holds ${fl.FlowLogId}, expected ${m.id} or nothing`);
              else {
                const d = sameAsRequested(fl, m.body);
                if (d) violate(round, `account ${a.Uin}: unanswered delete left ${m.id} changed: ${d}`);
              }
              m.state = "present";
              stats.noAnswerResolvedNotDone++;
            } else {
              m.state = "absent";
              m.why = "unanswered delete that happened";
              stats.noAnswerResolvedDone++;
            }
            break;
          default:
            throw new Error(`bad model state ${m.state}`);
        }
      }
      if (a.limited) {
        const present = [...a.model.values()].filter((m) => m.state === "present").length;
        if (present > SMALL_QUOTA) violate(round, `account ${a.Uin}: ${present} flow logs, quota ${SMALL_QUOTA}`);
      }
    }
  }

  /** Every acknowledged admin write is there: keys authenticate, VPCs are listed. */
  async function reconcileAdmin(round, port) {
    for (const k of admin.keys) {
      const r = await L.apiCall({ port, key: k, action: "DescribeFlowLogs", body: {} });
      if (r.kind !== "ok") violate(round, `${k.what} ${k.SecretId} was acknowledged but does not authenticate: ${r.code || r.kind}`);
    }
    for (const v of admin.vpcs) {
      const r = await L.apiCall({ port, key: v.key, action: "DescribeVpcs", body: { VpcIds: [v.VpcId] } });
      if (r.kind !== "ok" || r.response.TotalCount !== 1)
        violate(round, `inventory import of ${v.VpcId} was acknowledged but DescribeVpcs says ${r.code || r.kind} ${JSON.stringify(r.response && r.response.TotalCount)}`);
    }
  }

  /** One admin command against the live data directory. */
  async function oneAdmin(round) {
    const op = rnd(3);
    if (op === 0) {
      const r = await cliAsync(["account", "create", "--data", dataDir]);
      if (r.status !== 0) return unexpected.push(`round ${round}: account create exited ${r.status}: ${r.stderr.trim()}`);
      const a = JSON.parse(r.stdout.trim().split("\n").pop());
      admin.keys.push({ SecretId: a.SecretId, SecretKey: a.SecretKey, what: `account ${a.Uin}` });
      stats.adminAccounts++;
    } else if (op === 1) {
      const a = pick(accounts);
      const r = await cliAsync(["key", "create", "--data", dataDir, "--uin", a.Uin]);
      if (r.status !== 0) return unexpected.push(`round ${round}: key create exited ${r.status}: ${r.stderr.trim()}`);
      const k = JSON.parse(r.stdout.trim().split("\n").pop());
      admin.keys.push({ SecretId: k.SecretId, SecretKey: k.SecretKey, what: `key of ${a.Uin}` });
      stats.adminKeys++;
    } else {
      const a = pick(accounts);
      const VpcId = `vpc-${word(8).toLowerCase()}`;
      const file = path.join(dataDir, `..`, `inv-${VpcId}.json`);
      fs.writeFileSync(file, JSON.stringify({ Region: "ap-guangzhou", Vpcs: [{ VpcId }] }));
      const r = await cliAsync(["inventory", "import", "--data", dataDir, "--uin", a.Uin, file]);
      fs.rmSync(file, { force: true });
      if (r.status !== 0) {
        // a clash with an id the account already has is the one refusal expected
        if (!/exist|duplicate|already/i.test(r.stderr)) unexpected.push(`round ${round}: inventory import exited ${r.status}: ${r.stderr.trim()}`);
        return;
      }
      admin.vpcs.push({ key: a, VpcId });
      stats.adminImports++;
    }
  }

  /** One operation on a random idle ENI of a random account. */
  async function oneOp(port, round) {
    const a = pick(accounts);
    const idle = [...a.model.entries()].filter(([, m]) => !m.busy);
    if (!idle.length) return;
    const [eni, m] = pick(idle);
    m.busy = true;
    try {
      if (m.state === "absent") {
        const body = createBody(a, eni);
        stats.sent++;
        const r = await L.apiCall({ port, key: a, action: "CreateFlowLog", body });
        if (r.kind === "ok") {
          stats.createOk++;
          const fl = r.response.FlowLog && r.response.FlowLog[0];
          const d = fl ? sameAsRequested(fl, body) : "no FlowLog in the answer";
          if (d) violate(round, `create answer for ${eni}: ${d}`);
          Object.assign(m, { state: "present", id: fl && fl.FlowLogId, body });
        } else if (r.kind === "error") {
          stats.createErr++;
          if (!(a.limited && r.code === "LimitExceeded")) unexpected.push(`round ${round}: CreateFlowLog ${eni} -> ${r.code}: ${r.response.Error.Message}`);
          m.why = `create answered ${r.code}`;
        } else if (r.kind === "noanswer") {
          stats.createNoAnswer++;
          Object.assign(m, { state: "maybeCreated", id: null, body });
        } else if (r.kind === "refused") {
          stats.refused++;
        } else {
          unexpected.push(`round ${round}: CreateFlowLog ${eni} -> HTTP ${r.status} ${String(r.text).slice(0, 200)}`);
        }
      } else if (m.state === "present") {
        if (rnd(100) < 15) {
          // a second create on a resource that has one: must be refused and change nothing
          const body = createBody(a, eni);
          stats.sent++;
          const r = await L.apiCall({ port, key: a, action: "CreateFlowLog", body });
          if (r.kind === "ok") violate(round, `second create on ${eni} (holding ${m.id}) succeeded: ${r.response.FlowLog[0].FlowLogId}`);
          else if (r.kind === "error") {
            stats.dupCreateErr++;
            const want = a.limited ? ["UnsupportedOperation.FlowLogInstanceExisted", "LimitExceeded"] : ["UnsupportedOperation.FlowLogInstanceExisted"];
            if (!want.includes(r.code)) unexpected.push(`round ${round}: second CreateFlowLog ${eni} -> ${r.code}`);
          } else if (r.kind === "refused") stats.refused++;
          else if (r.kind === "noanswer") stats.createNoAnswer++;
          else unexpected.push(`round ${round}: second CreateFlowLog ${eni} -> HTTP ${r.status}`);
          return;
        }
        stats.sent++;
        const r = await L.apiCall({ port, key: a, action: "DeleteFlowLog", body: { FlowLogId: m.id, VpcId: a.ids.vpc } });
        if (r.kind === "ok") {
          stats.deleteOk++;
          Object.assign(m, { state: "absent", id: null, body: null, why: "deleted with success" });
        } else if (r.kind === "error") {
          stats.deleteErr++;
          unexpected.push(`round ${round}: DeleteFlowLog ${m.id} -> ${r.code}: ${r.response.Error.Message}`);
        } else if (r.kind === "noanswer") {
          stats.deleteNoAnswer++;
          m.state = "maybeDeleted";
        } else if (r.kind === "refused") {
          stats.refused++;
        } else {
          unexpected.push(`round ${round}: DeleteFlowLog ${m.id} -> HTTP ${r.status}`);
        }
      }
    } finally {
      m.busy = false;
    }
  }

  let round = 0;
  try {
    for (; round < KILLS; round++) {
      if (round > 0 && Date.now() - t0 > TIME_BUDGET_MS) break;
      const ts = Date.now();
      server = await h.startServer({ dataDir, args: ["--rate-limit", "100000", "--quiet"] });
      stats.startMs.push(Date.now() - ts);
      const port = server.port;
      await reconcile(round, port);
      await reconcileAdmin(round, port);
      stats.rounds++;

      // load, then SIGKILL at a random moment
      let stop = false;
      const workers = [];
      for (let w = 0; w < IN_FLIGHT; w++) {
        workers.push(
          (async () => {
            while (!stop) await oneOp(port, round);
          })()
        );
      }
      const admins = [];
      for (let w = 0; w < ADMIN_IN_FLIGHT; w++) {
        admins.push(
          (async () => {
            while (!stop) await oneAdmin(round);
          })()
        );
      }
      await h.sleep(L.randInt(50, 400));
      stop = true;
      const info = await server.stop("SIGKILL");
      assert.equal(info.signal, "SIGKILL", `the server exited on its own: ${JSON.stringify(info)}`);
      stats.kills++;
      server = null;
      await Promise.all(workers);
      await Promise.all(admins);

      const c = L.storeCheck(dataDir);
      stats.checks++;
      if (c.status !== 0 || c.out !== "ok") violate(round, `flowlogd check after the kill: exit ${c.status}: ${c.out}`);
    }

    // the final restart: compare once more, check while it runs and after a clean stop
    server = await h.startServer({ dataDir, args: ["--rate-limit", "100000", "--quiet"] });
    await reconcile(round, server.port);
    await reconcileAdmin(round, server.port);
    let c = L.storeCheck(dataDir);
    assert.equal(c.out, "ok", `flowlogd check while serving: ${c.out}`);
    const present = accounts.reduce((n, a) => n + [...a.model.values()].filter((m) => m.state === "present").length, 0);
    await server.stop();
    server = null;
    c = L.storeCheck(dataDir);
    stats.checks++;
    assert.equal(c.status, 0, `flowlogd check exit ${c.status}: ${c.out}`);
    assert.equal(c.out, "ok");

    const elapsed = ((Date.now() - t0) / 1000).toFixed(1);
    t.diagnostic(
      `crash: ${stats.kills} SIGKILLs in ${elapsed} s; ${stats.sent} requests sent: ` +
        `create ok ${stats.createOk}, create error ${stats.createErr} (LimitExceeded on quota-${SMALL_QUOTA} accounts), ` +
        `second-create refused ${stats.dupCreateErr}, create no answer ${stats.createNoAnswer}, ` +
        `delete ok ${stats.deleteOk}, delete error ${stats.deleteErr}, delete no answer ${stats.deleteNoAnswer}, refused ${stats.refused}; ` +
        `unanswered requests found done ${stats.noAnswerResolvedDone}, not done ${stats.noAnswerResolvedNotDone}; ` +
        `${present} flow logs at the end; ${stats.checks} integrity checks ok; ` +
        `admin commands acknowledged: ${stats.adminAccounts} account create, ${stats.adminKeys} key create, ${stats.adminImports} inventory import; ` +
        `restart to "listening" median ${L.percentile(stats.startMs, 50)} ms, max ${Math.max(...stats.startMs)} ms`
    );
    console.log(`# crash figures ${JSON.stringify(Object.assign({}, stats, { startMs: undefined, present, elapsedS: Number(elapsed) }))}`);
  } finally {
    if (server) await server.stop("SIGKILL");
    server = null;
  }

  assert.deepEqual(violations, [], `consistency violations:\n${violations.join("\n")}`);
  assert.deepEqual(unexpected, [], `unexpected answers:\n${unexpected.join("\n")}`);
  assert.ok(stats.kills >= 20, `only ${stats.kills} kills within the time budget`);
  assert.ok(stats.createOk > 0 && stats.deleteOk > 0, "the load did not get any answered creates or deletes");
  assert.ok(stats.createNoAnswer + stats.deleteNoAnswer > 0, "no request was ever cut by a kill: the kills missed the load");
  assert.ok(stats.adminAccounts > 0 && stats.adminKeys > 0 && stats.adminImports > 0, "an admin command never ran to completion beside the load");
});
