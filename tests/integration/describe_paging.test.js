// describe_paging.test.js: the resource Describe* page in SQL when their
// filters can be handed to the store (issue 11 §4), and read and filter the
// inventory otherwise; both ways must give the same answers. A tenant with
// 250 ENIs in two VPCs (every third attached), paged through
// DescribeNetworkInterfaces with the official SDK.
"use strict";

const { describe, test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./harness");

const N = 250;
const VPC = ["vpc-dddd0001", "vpc-dddd0002"];
const SUBNET = ["subnet-dddd0001", "subnet-dddd0002"];
const INS = "ins-dddd0001";
const eniId = (i) => `eni-dddd${String(i).padStart(4, "0")}`;

let srv;
let c;
let dataDir;
let A;

before(async () => {
  dataDir = h.tmpDir("paging");
  A = h.createAccount(dataDir);
  const enis = [];
  for (let i = 0; i < N; i++) {
    const e = { NetworkInterfaceId: eniId(i), VpcId: VPC[i % 2], SubnetId: SUBNET[i % 2] };
    if (i % 3 === 0) e.InstanceId = INS;
    enis.push(e);
  }
  h.importInventory(dataDir, A.Uin, {
    Region: "ap-guangzhou",
    Vpcs: VPC.map((v) => ({ VpcId: v })),
    Subnets: SUBNET.map((s, i) => ({ SubnetId: s, VpcId: VPC[i] })),
    Instances: [{ InstanceId: INS, InstanceType: "S5.MEDIUM4" }],
    NetworkInterfaces: enis,
  });
  srv = await h.startServer({ dataDir, args: ["--rate-limit", "100000"] });
  c = h.vpcClient({ endpoint: srv.endpoint, secretId: A.SecretId, secretKey: A.SecretKey });
});
after(async () => {
  if (srv) await srv.stop();
});

const ids = (r) => r.NetworkInterfaceSet.map((e) => e.NetworkInterfaceId);

/** Every page of a query, Limit `limit`: [TotalCount of each page, all ids]. */
async function pageAll(req, limit) {
  const totals = [];
  const all = [];
  for (let off = 0; ; off += limit) {
    const r = await c.DescribeNetworkInterfaces(Object.assign({ Offset: off, Limit: limit }, req));
    totals.push(r.TotalCount);
    all.push(...ids(r));
    if (r.NetworkInterfaceSet.length < limit) break;
  }
  return { totals, all };
}

describe("resource Describe* paging", () => {
  test("a tenant's whole inventory, page by page: every ENI once, in creation order, TotalCount on every page", async () => {
    const { totals, all } = await pageAll({}, 100);
    assert.deepEqual(totals, [N, N, N]);
    assert.equal(all.length, N);
    assert.equal(new Set(all).size, N, "no ENI twice");
    // one import: one creation time, so the order is the ids'
    assert.deepEqual(all, [...all].sort());
    const past = await c.DescribeNetworkInterfaces({ Offset: N, Limit: 100 });
    assert.equal(past.TotalCount, N);
    assert.deepEqual(past.NetworkInterfaceSet, []);
    const last = await c.DescribeNetworkInterfaces({ Offset: N - 1, Limit: 100 });
    assert.deepEqual(ids(last), [all[N - 1]]);
  });

  test("the default page is 20, from the start", async () => {
    const r = await c.DescribeNetworkInterfaces({});
    assert.equal(r.TotalCount, N);
    assert.equal(r.NetworkInterfaceSet.length, 20);
    const { all } = await pageAll({}, 100);
    assert.deepEqual(ids(r), all.slice(0, 20));
  });

  // A filter with one value is handed to the store (SQL paging); the same
  // filter with a second value that matches nothing is not (the inventory is
  // read and filtered): the two must agree, page for page.
  for (const [name, value, expect] of [
    ["vpc-id", VPC[1], (i) => i % 2 === 1],
    ["subnet-id", SUBNET[0], (i) => i % 2 === 0],
    ["attachment.instance-id", INS, (i) => i % 3 === 0],
  ]) {
    test(`filter ${name}: handed to the store or not, the same pages`, async () => {
      const want = [];
      for (let i = 0; i < N; i++) if (expect(i)) want.push(eniId(i));
      const sql = await pageAll({ Filters: [{ Name: name, Values: [value] }] }, 30);
      const mem = await pageAll({ Filters: [{ Name: name, Values: [value, name === "attachment.instance-id" ? "ins-dddd9999" : value.replace(/\d{4}$/, "9999")] }] }, 30);
      assert.deepEqual(sql.all, want);
      assert.deepEqual(mem.all, want);
      assert.ok(sql.totals.every((t) => t === want.length), `TotalCount ${sql.totals} != ${want.length}`);
      assert.ok(mem.totals.every((t) => t === want.length), `TotalCount ${mem.totals} != ${want.length}`);
      const page = await c.DescribeNetworkInterfaces({ Offset: 7, Limit: 11, Filters: [{ Name: name, Values: [value] }] });
      assert.deepEqual(ids(page), want.slice(7, 18));
    });
  }

  test("an id filter with several values: handed to the store or not, the same pages", async () => {
    const some = [3, 250 - 1, 17, 100, 42, 9999].map(eniId); // the last does not exist
    const want = some.filter((x) => x !== eniId(9999)).sort();
    const sql = await pageAll({ Filters: [{ Name: "network-interface-id", Values: some }] }, 2);
    // with a second filter that matches every ENI but is not handed down (two values)
    const mem = await pageAll({ Filters: [{ Name: "network-interface-id", Values: some }, { Name: "vpc-id", Values: VPC }] }, 2);
    assert.deepEqual(sql.all, want);
    assert.deepEqual(mem.all, want);
    assert.ok(sql.totals.every((t) => t === want.length), `TotalCount ${sql.totals}`);
    assert.ok(mem.totals.every((t) => t === want.length), `TotalCount ${mem.totals}`);
    // and with a parent filter at once
    const both = await pageAll({ Filters: [{ Name: "network-interface-id", Values: some }, { Name: "vpc-id", Values: [VPC[0]] }] }, 10);
    assert.deepEqual(both.all, want.filter((x) => Number(x.slice(-4)) % 2 === 0));
  });

  test("two filters on the store's columns at once, and ids", async () => {
    const both = await pageAll(
      { Filters: [{ Name: "vpc-id", Values: [VPC[0]] }, { Name: "attachment.instance-id", Values: [INS] }] },
      40
    );
    const want = [];
    for (let i = 0; i < N; i++) if (i % 2 === 0 && i % 3 === 0) want.push(eniId(i));
    assert.deepEqual(both.all, want);
    const byId = await c.DescribeNetworkInterfaces({ NetworkInterfaceIds: [eniId(5), eniId(200), eniId(17)] });
    assert.equal(byId.TotalCount, 3);
    assert.deepEqual(ids(byId), [eniId(17), eniId(5), eniId(200)].sort());
  });

  // Last: it changes the inventory. A pager's page N+1 seeks from where
  // page N ended while nothing changed; each delete (before the pager's
  // position) and each import by another process (`inventory import`,
  // after it) must be seen, so every unfiltered page equals the same page
  // read and filtered from the whole inventory (a two-value vpc-id filter
  // that matches every ENI), asked right after it.
  test("pages with deletes and another process's imports between them: each is what Offset gives then", async () => {
    const everything = { Filters: [{ Name: "vpc-id", Values: VPC }] };
    let deleted = 0;
    let added = 0;
    for (let pass = 0; pass < 2; pass++) {
      for (let off = 0; ; off += 25) {
        const paged = await c.DescribeNetworkInterfaces({ Offset: off, Limit: 25 });
        const ref = await c.DescribeNetworkInterfaces(Object.assign({ Offset: off, Limit: 25 }, everything));
        assert.deepEqual(ids(paged), ids(ref), `pass ${pass}, Offset ${off}`);
        assert.equal(paged.TotalCount, ref.TotalCount);
        assert.equal(paged.TotalCount, N - deleted + added);
        if (paged.NetworkInterfaceSet.length < 25) break;
        const step = off / 25;
        if (step % 3 === 1) {
          // an unattached ENI the pager has passed: everything after it moves up one
          const victim = ids(paged).find((x) => Number(x.slice(-4)) % 3 !== 0);
          await c.DeleteNetworkInterface({ NetworkInterfaceId: victim });
          deleted++;
        } else if (step % 3 === 2) {
          h.importInventory(dataDir, A.Uin, {
            Region: "ap-guangzhou",
            NetworkInterfaces: [{ NetworkInterfaceId: `eni-eeee${String(added).padStart(4, "0")}`, VpcId: VPC[0], SubnetId: SUBNET[0] }],
          });
          added++;
        }
      }
    }
    assert.ok(deleted > 3 && added > 3);
  });
});
