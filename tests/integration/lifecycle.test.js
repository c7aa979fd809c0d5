// lifecycle.test.js: issue 5 §4 at scale: paging through 1,000 flow logs in
// every order (createTime / flowLogName, ASC / DESC) with small and large
// pages, without a repeat or a gap (also in name order without VpcId over
// several VPCs, the merged plan); and all-or-nothing EnableFlowLogs /
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

describe("flowLogName order without VpcId, over several VPCs", () => {
  // 3 more VPCs made through the API, each with a VPC flow log and 4 subnet ones, and the
  // fixture's second VPC with 3 (VPC, subnet, ENI); names among the same 37: a page without
  // VpcId in name order is a merge of the account's VPCs (one ordered arm each)
  let all;
  before(async () => {
    const more = [];
    let n = 0;
    const add = async (type, id, vpc) => {
      const name = `flow-${String(n++ % 37).padStart(2, "0")}`;
      const fl = (await c.CreateFlowLog(h.eniRequest(A.ids, id, { ResourceType: type, VpcId: vpc, FlowLogName: name }))).FlowLog[0];
      more.push({ id: fl.FlowLogId, name: fl.FlowLogName, created: fl.CreatedTime });
    };
    for (let v = 0; v < 3; v++) {
      const vpc = (await c.CreateVpc({ VpcName: `merge-${v}`, CidrBlock: `10.${100 + v}.0.0/16` })).Vpc.VpcId;
      await add("VPC", vpc, vpc);
      for (let k = 0; k < 4; k++) {
        const subnet = (await c.CreateSubnet({ VpcId: vpc, SubnetName: `merge-${v}-${k}`, CidrBlock: `10.${100 + v}.${k}.0/24`, Zone: "ap-guangzhou-3" })).Subnet.SubnetId;
        await add("SUBNET", subnet, vpc);
      }
    }
    await add("VPC", A.ids.vpc2, A.ids.vpc2);
    await add("SUBNET", A.ids.subnet2, A.ids.vpc2);
    await add("NETWORKINTERFACE", A.ids.eniVpc2, A.ids.vpc2);
    all = [...flows, ...more];
  });

  for (const dir of ["ASC", "DESC"]) {
    for (const limit of [7, 100]) {
      test(`flowLogName ${dir}, Limit ${limit}: every flow log of the 5 VPCs once, in order`, async () => {
        const key = (f) => f.name;
        const want = [...all].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((f) => f.id);
        if (dir === "DESC") want.reverse();
        const ids = [];
        for (let offset = 0; ; offset += limit) {
          const r = await c.DescribeFlowLogs({ OrderField: "flowLogName", OrderDirection: dir, Offset: offset, Limit: limit });
          assert.equal(r.TotalNum, all.length);
          ids.push(...r.FlowLog.map((f) => f.FlowLogId));
          if (r.FlowLog.length < limit) break;
        }
        assert.deepEqual(ids, want);
      });
    }
  }

  test("a FlowLogName filter in name order picks the same rows from every VPC", async () => {
    const r = await c.DescribeFlowLogs({ FlowLogName: "flow-05", OrderField: "flowLogName", OrderDirection: "ASC", Limit: 100 });
    const want = all.filter((f) => f.name === "flow-05").map((f) => f.id).sort();
    assert.equal(r.TotalNum, want.length);
    assert.deepEqual(r.FlowLog.map((f) => f.FlowLogId), want);
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
