// lifecycle.test.js: issue 5 §4 at scale: paging through 1,000 flow logs in
// every order (createTime / flowLogName, ASC / DESC) with small and large
// pages, without a repeat or a gap; and all-or-nothing EnableFlowLogs /
// DisableFlowLogs (one unknown id: ResourceNotFound, nothing changed).
//
// The 1,000 ENIs come from one inventory import; the flow logs are created
// 20 at a time on a server started with --rate-limit 100000 (the default
// 20/s per account and action would make this slow, not different).
"use strict";

const { describe, test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./harness");
const L = require("./lib_resources");

const N = 1000;
let ctx;
let A;
let c;
let flows; // [{id, name, created}] of the 1,000

before(async () => {
  ctx = await h.setup({
    label: "lifecycle",
    accounts: [{ tag: "aaaa", quota: 2000, extraEnis: N + 10 }],
    serverArgs: ["--rate-limit", "100000"],
  });
  [A] = ctx.accounts;
  c = A.client();
  // names with many ties (37 distinct), so that the id tie-break matters
  const enis = A.ids.extraEnis.slice(0, N);
  flows = await L.pool(enis, 20, async (eni, i) => {
    const r = await c.CreateFlowLog(h.eniRequest(A.ids, eni, { FlowLogName: `flow-${String(i % 37).padStart(2, "0")}` }));
    const fl = r.FlowLog[0];
    return { id: fl.FlowLogId, name: fl.FlowLogName, created: fl.CreatedTime };
  });
});
after(async () => {
  if (ctx) await ctx.server.stop();
});

/** The expected order: by key, then FlowLogId, both in the direction. */
function expected(field, dir) {
  const key = field === "flowLogName" ? (f) => f.name : (f) => f.created;
  const sorted = [...flows].sort((a, b) => {
    const k = key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
    return k || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  });
  return (dir === "DESC" ? sorted.reverse() : sorted).map((f) => f.id);
}

async function pageAll(field, dir, limit) {
  const ids = [];
  for (let offset = 0; ; offset += limit) {
    const r = await c.DescribeFlowLogs({ VpcId: A.ids.vpc, OrderField: field, OrderDirection: dir, Offset: offset, Limit: limit });
    assert.equal(r.TotalNum, N);
    ids.push(...r.FlowLog.map((f) => f.FlowLogId));
    if (r.FlowLog.length < limit) break;
  }
  return ids;
}

describe("paging through 1,000 flow logs", () => {
  test("all 1,000 were created, with distinct ids", () => {
    assert.equal(flows.length, N);
    assert.equal(new Set(flows.map((f) => f.id)).size, N);
  });

  for (const field of ["createTime", "flowLogName"]) {
    for (const dir of ["ASC", "DESC"]) {
      for (const limit of [7, 100]) {
        test(`${field} ${dir}, Limit ${limit}: every flow log once, in order`, async () => {
          const ids = await pageAll(field, dir, limit);
          assert.equal(ids.length, N, "no gap");
          assert.equal(new Set(ids).size, N, "no repeat");
          assert.deepEqual(ids, expected(field, dir));
        });
      }
    }
  }

  test("the defaults (createTime DESC, Limit 10) and a tag filter page the same way", async () => {
    const r = await c.DescribeFlowLogs({ VpcId: A.ids.vpc });
    assert.equal(r.FlowLog.length, 10);
    assert.deepEqual(r.FlowLog.map((f) => f.FlowLogId), expected("createTime", "DESC").slice(0, 10));
    // tag 50 of them through the tag service, then page through the tag filter
    const tag = L.tagClient({ endpoint: ctx.server.endpoint, secretId: A.SecretId, secretKey: A.SecretKey });
    const chosen = flows.filter((_, i) => i % 20 === 0).map((f) => f.id);
    await L.pool(chosen, 10, (id) => tag.TagResources({ ResourceList: [L.flName(id)], Tags: [{ TagKey: "sample", TagValue: "yes" }] }));
    const got = [];
    for (let offset = 0; ; offset += 7) {
      const p = await c.DescribeFlowLogs({ Filters: { Name: "tag:sample", Values: ["yes"] }, OrderField: "flowLogName", OrderDirection: "ASC", Offset: offset, Limit: 7 });
      assert.equal(p.TotalNum, chosen.length);
      got.push(...p.FlowLog.map((f) => f.FlowLogId));
      if (p.FlowLog.length < 7) break;
    }
    assert.deepEqual(got, expected("flowLogName", "ASC").filter((id) => chosen.includes(id)));
  });
});

describe("EnableFlowLogs / DisableFlowLogs are all or nothing", () => {
  const enabled = async (ids) => {
    const out = [];
    for (const id of ids) out.push((await c.DescribeFlowLog({ FlowLogId: id, VpcId: A.ids.vpc })).FlowLog[0].Enable);
    return out;
  };

  test("one unknown id: ResourceNotFound naming it, and no flow log changes", async () => {
    const ids = flows.slice(0, 5).map((f) => f.id);
    await h.expectApiError(c.DisableFlowLogs({ FlowLogIds: [...ids, "fl-zzzzzzzz"] }), "ResourceNotFound", { mention: "fl-zzzzzzzz" });
    assert.deepEqual(await enabled(ids), [true, true, true, true, true]);
    await h.expectApiError(c.DisableFlowLogs({ FlowLogIds: [ids[0], "fl-zzzzzzzz", ids[1]] }), "ResourceNotFound");
    assert.deepEqual(await enabled(ids), [true, true, true, true, true]);
    await c.DisableFlowLogs({ FlowLogIds: ids });
    assert.deepEqual(await enabled(ids), [false, false, false, false, false]);
    await h.expectApiError(c.EnableFlowLogs({ FlowLogIds: [ids[2], "fl-yyyyyyyy"] }), "ResourceNotFound");
    assert.deepEqual(await enabled(ids), [false, false, false, false, false]);
    // disabling a disabled one, enabling an enabled one: not errors
    await c.DisableFlowLogs({ FlowLogIds: ids.slice(0, 2) });
    await c.EnableFlowLogs({ FlowLogIds: ids });
    await c.EnableFlowLogs({ FlowLogIds: ids });
    assert.deepEqual(await enabled(ids), [true, true, true, true, true]);
  });

  test("another account's id counts as unknown; 1 to 100 ids", async () => {
    const other = h.createAccount(ctx.dataDir);
    const fx = h.inventoryFixture({ tag: "bbbb", extraEnis: 1 });
    h.importInventory(ctx.dataDir, other.Uin, fx.inventory);
    const cb = h.vpcClient({ endpoint: ctx.server.endpoint, secretId: other.SecretId, secretKey: other.SecretKey });
    const theirs = (await cb.CreateFlowLog(h.eniRequest(fx.ids, fx.ids.extraEnis[0]))).FlowLog[0].FlowLogId;
    const mine = flows[10].id;
    await h.expectApiError(c.DisableFlowLogs({ FlowLogIds: [mine, theirs] }), "ResourceNotFound");
    assert.deepEqual(await enabled([mine]), [true]);
    assert.equal((await cb.DescribeFlowLog({ FlowLogId: theirs, VpcId: fx.ids.vpc })).FlowLog[0].Enable, true);
    const hundred = flows.slice(100, 200).map((f) => f.id);
    await c.DisableFlowLogs({ FlowLogIds: hundred });
    assert.deepEqual(await enabled(hundred.slice(97)), [false, false, false]);
    await h.expectApiError(c.DisableFlowLogs({ FlowLogIds: [...hundred, mine] }), "InvalidParameterValue.LimitExceeded");
    await h.expectApiError(c.EnableFlowLogs({ FlowLogIds: [] }), "InvalidParameterValue.Empty");
    await c.EnableFlowLogs({ FlowLogIds: hundred });
    assert.deepEqual(await enabled(hundred.slice(0, 3)), [true, true, true]);
  });
});
