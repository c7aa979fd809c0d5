// tags.test.js: the tag service (tag 2018-08-13) of issue 5 §3 through the
// official tencentcloud.tag.v20180813.Client on the same port: TagResources,
// UnTagResources, ModifyResourceTags, DescribeResourceTagsByResourceIds,
// GetResources, for flow logs (ServiceType vpc, prefix fl); the six-segment
// names, the empty uin Terraform sends, other accounts' uins never
// honoured, the same tags as CreateFlowLog / DescribeFlowLogs, the tag rules
// and their error codes (the tag service's own, issue 13 §4), and form/v1 requests.
"use strict";

const { describe, test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const h = require("./harness");
const L = require("./lib_resources");

let ctx;
let A;
let B;
let c; // A's VPC client
let t; // A's tag client
let tb; // B's tag client
let nextEni;

before(async () => {
  ctx = await h.setup({ label: "tags", accounts: [{ tag: "aaaa", extraEnis: 40 }, { tag: "bbbb", extraEnis: 2 }] });
  [A, B] = ctx.accounts;
  c = A.client();
  t = L.tagClient({ endpoint: ctx.server.endpoint, secretId: A.SecretId, secretKey: A.SecretKey });
  tb = L.tagClient({ endpoint: ctx.server.endpoint, secretId: B.SecretId, secretKey: B.SecretKey });
  nextEni = h.eniPool(A.ids);
});
after(async () => {
  if (ctx) await ctx.server.stop();
});

const fails = (p, code, opts) => h.expectApiError(p, code, opts);

/** A new flow log of A (on a fresh ENI), with `tags` set by CreateFlowLog. */
async function newFlowLog(tags) {
  const req = h.eniRequest(A.ids, nextEni(), tags ? { Tags: tags } : {});
  return (await c.CreateFlowLog(req)).FlowLog[0].FlowLogId;
}

const describeTags = (client, ids, over) =>
  client.DescribeResourceTagsByResourceIds(
    Object.assign({ ServiceType: "vpc", ResourcePrefix: "fl", ResourceRegion: "ap-guangzhou", ResourceIds: ids }, over || {})
  );

const tagSetOf = async (id) => (await c.DescribeFlowLog({ FlowLogId: id, VpcId: A.ids.vpc })).FlowLog[0].TagSet;

// -------------------------------------------------------- ModifyResourceTags ---
describe("ModifyResourceTags", () => {
  test("the tags are the flow log's: DescribeFlowLogs shows them and filters on them", async () => {
    const id = await newFlowLog([{ Key: "city", Value: "gz" }]);
    const r = await t.ModifyResourceTags({ Resource: L.flName(id), ReplaceTags: [{ TagKey: "env", TagValue: "prod" }, { TagKey: "city", TagValue: "sh" }] });
    assert.match(r.RequestId, h.UUID_RE);
    // a key present keeps its place; a new one goes last
    assert.deepEqual(await tagSetOf(id), [{ Key: "city", Value: "sh" }, { Key: "env", Value: "prod" }]);
    const f1 = await c.DescribeFlowLogs({ Filters: { Name: "tag:env", Values: ["prod"] } });
    assert.ok(f1.FlowLog.some((f) => f.FlowLogId === id));
    const f2 = await c.DescribeFlowLogs({ Filters: [{ Name: "tag-key", Values: ["env"] }, { Name: "tag:city", Values: ["sh"] }] });
    assert.ok(f2.FlowLog.some((f) => f.FlowLogId === id));
    const f3 = await c.DescribeFlowLogs({ Filters: { Name: "tag:city", Values: ["gz"] } });
    assert.ok(!f3.FlowLog.some((f) => f.FlowLogId === id), "the old value no longer matches");
    await t.ModifyResourceTags({ Resource: L.flName(id), DeleteTags: [{ TagKey: "city" }, { TagKey: "absent" }] });
    assert.deepEqual(await tagSetOf(id), [{ Key: "env", Value: "prod" }]);
    // own uin written out works too; "" value is a value
    await t.ModifyResourceTags({ Resource: L.flName(id, { uin: A.Uin }), ReplaceTags: [{ TagKey: "empty", TagValue: "" }] });
    assert.deepEqual(await tagSetOf(id), [{ Key: "env", Value: "prod" }, { Key: "empty", Value: "" }]);
  });

  test("inputs: MissingParameter, Empty, DeleteTagsParamError, TagNumPerRequest", async () => {
    const id = await newFlowLog();
    const res = L.flName(id);
    await fails(t.ModifyResourceTags({ Resource: res }), "MissingParameter");
    await fails(t.ModifyResourceTags({ Resource: res, ReplaceTags: [] }), "InvalidParameterValue", { mention: "ReplaceTags" });
    await fails(t.ModifyResourceTags({ Resource: res, DeleteTags: [] }), "InvalidParameterValue", { mention: "DeleteTags" });
    await fails(
      t.ModifyResourceTags({ Resource: res, ReplaceTags: [{ TagKey: "a", TagValue: "1" }], DeleteTags: [{ TagKey: "a" }] }),
      "InvalidParameterValue.DeleteTagsParamError",
      { mention: "a" }
    );
    await fails(
      t.ModifyResourceTags({ Resource: res, ReplaceTags: Array.from({ length: 11 }, (_, i) => ({ TagKey: `k${i}`, TagValue: "v" })) }),
      "LimitExceeded.TagNumPerRequest"
    );
    await fails(t.ModifyResourceTags({ Resource: res, ReplaceTags: [{ TagKey: "a" }] }), "MissingParameter", { mention: "TagValue" });
    await fails(t.ModifyResourceTags({ ReplaceTags: [{ TagKey: "a", TagValue: "1" }] }), "MissingParameter", { mention: "Resource" });
    assert.deepEqual(await tagSetOf(id), []);
  });

  test("the tag rules and codes of CreateFlowLog", async () => {
    const id = await newFlowLog();
    const res = L.flName(id);
    const rep = (tags) => t.ModifyResourceTags({ Resource: res, ReplaceTags: tags });
    await fails(rep([{ TagKey: "a", TagValue: "1" }, { TagKey: "a", TagValue: "2" }]), "InvalidParameterValue.TagKeyDuplicate", { mention: "ReplaceTags.1.TagKey" });
    await fails(rep([{ TagKey: "", TagValue: "1" }]), "InvalidParameterValue.TagKeyEmpty", { mention: "ReplaceTags.0.TagKey" });
    await fails(rep([{ TagKey: "k".repeat(128), TagValue: "1" }]), "InvalidParameterValue.TagKeyLengthExceeded", { mention: "ReplaceTags.0.TagKey" });
    await fails(rep([{ TagKey: "qcloud:x", TagValue: "1" }]), "InvalidParameter.ReservedTagKey", { mention: "ReplaceTags.0.TagKey" });
    await fails(rep([{ TagKey: "Project", TagValue: "1" }]), "InvalidParameter.ReservedTagKey");
    await fails(rep([{ TagKey: "a#b", TagValue: "1" }]), "InvalidParameterValue.TagKeyCharacterIllegal", { mention: "ReplaceTags.0.TagKey" });
    await fails(rep([{ TagKey: "a", TagValue: "v".repeat(256) }]), "InvalidParameterValue.TagValueLengthExceeded", { mention: "ReplaceTags.0.TagValue" });
    await fails(rep([{ TagKey: "a", TagValue: "semi;colon" }]), "InvalidParameterValue.TagValueCharacterIllegal", { mention: "ReplaceTags.0.TagValue" });
    await rep([{ TagKey: "中文 key_1.2:3/4@(5)", TagValue: "值 [x]【y】（z）+-=" }]);
    assert.deepEqual(await tagSetOf(id), [{ Key: "中文 key_1.2:3/4@(5)", Value: "值 [x]【y】（z）+-=" }]);
  });

  test("at most 50 keys after merging: LimitExceeded.ResourceAttachedTags, nothing changed", async () => {
    const forty = Array.from({ length: 45 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));
    const id = await newFlowLog(forty);
    const res = L.flName(id);
    await t.ModifyResourceTags({ Resource: res, ReplaceTags: Array.from({ length: 5 }, (_, i) => ({ TagKey: `n${i}`, TagValue: "v" })) });
    assert.equal((await tagSetOf(id)).length, 50);
    await fails(t.ModifyResourceTags({ Resource: res, ReplaceTags: [{ TagKey: "one-more", TagValue: "v" }] }), "LimitExceeded.ResourceAttachedTags");
    assert.equal((await tagSetOf(id)).length, 50);
    // replacing a value or swapping a key stays within 50
    await t.ModifyResourceTags({ Resource: res, ReplaceTags: [{ TagKey: "k0", TagValue: "w" }, { TagKey: "swap", TagValue: "v" }], DeleteTags: [{ TagKey: "k1" }] });
    const after = await tagSetOf(id);
    assert.equal(after.length, 50);
    assert.deepEqual(after[0], { Key: "k0", Value: "w" });
    assert.deepEqual(after[49], { Key: "swap", Value: "v" });
  });

  test("names: ResourceDescriptionError (form or no such flow log), UnsupportedService; another account's uin is never honoured", async () => {
    const id = await newFlowLog();
    const rep = (resource) => t.ModifyResourceTags({ Resource: resource, ReplaceTags: [{ TagKey: "a", TagValue: "1" }] });
    for (const bad of [
      `qcs::vpc:ap-guangzhou:uin/:fl`,
      `qcs::vpc:ap-guangzhou:uin/:fl/${id}:x`,
      `qcs:vpc:ap-guangzhou:uin/:fl/${id}`,
      `qcs::vpc:ap-guangzhou:uid/:fl/${id}`,
      `qcs::vpc:ap-nowhere:uin/:fl/${id}`,
      `qcs::vpc:ap-guangzhou:uin/abc:fl/${id}`,
      `qcs::vpc:ap-guangzhou:uin/:fl/fl-1`,
      `fl/${id}`,
      "",
    ]) {
      await fails(rep(bad), "InvalidParameterValue.ResourceDescriptionError");
    }
    await fails(rep(`qcs::cvm:ap-guangzhou:uin/:instance/ins-12345678`), "InvalidParameter.UnsupportedService");
    await fails(rep(`qcs::vpc:ap-guangzhou:uin/:vpc/${A.ids.vpc}`), "InvalidParameter.UnsupportedService");
    await fails(rep(L.flName("fl-zzzzzzzz")), "InvalidParameterValue.ResourceDescriptionError");
    await fails(rep(L.flName(id, { region: "ap-shanghai" })), "InvalidParameterValue.ResourceDescriptionError");
    // B names A's flow log: with A's uin, with its own, with none
    await fails(tb.ModifyResourceTags({ Resource: L.flName(id, { uin: A.Uin }), ReplaceTags: [{ TagKey: "a", TagValue: "1" }] }), "InvalidParameterValue.ResourceDescriptionError");
    await fails(tb.ModifyResourceTags({ Resource: L.flName(id, { uin: B.Uin }), ReplaceTags: [{ TagKey: "a", TagValue: "1" }] }), "InvalidParameterValue.ResourceDescriptionError");
    await fails(tb.ModifyResourceTags({ Resource: L.flName(id), ReplaceTags: [{ TagKey: "a", TagValue: "1" }] }), "InvalidParameterValue.ResourceDescriptionError");
    // A naming its own flow log under B's uin: not honoured either
    await fails(t.ModifyResourceTags({ Resource: L.flName(id, { uin: B.Uin }), ReplaceTags: [{ TagKey: "a", TagValue: "1" }] }), "InvalidParameterValue.ResourceDescriptionError");
    assert.deepEqual(await tagSetOf(id), []);
  });
});

// ------------------------------------------- TagResources / UnTagResources ---
describe("TagResources and UnTagResources", () => {
  test("several resources; the ones that fail are listed in FailedResources", async () => {
    const id1 = await newFlowLog();
    const id2 = await newFlowLog([{ Key: "keep", Value: "me" }]);
    const foreign = L.flName(id1, { uin: B.Uin });
    const r = await t.TagResources({
      ResourceList: [L.flName(id1), L.flName(id2, { uin: A.Uin }), L.flName("fl-zzzzzzzz"), foreign],
      Tags: [{ TagKey: "team", TagValue: "net" }, { TagKey: "env", TagValue: "dev" }],
    });
    assert.deepEqual(r.FailedResources.map((f) => [f.Resource, f.Code]), [
      [L.flName("fl-zzzzzzzz"), "InvalidParameterValue.ResourceDescriptionError"],
      [foreign, "InvalidParameterValue.ResourceDescriptionError"],
    ]);
    assert.ok(r.FailedResources.every((f) => typeof f.Message === "string" && f.Message.length > 0));
    assert.deepEqual(await tagSetOf(id1), [{ Key: "team", Value: "net" }, { Key: "env", Value: "dev" }]);
    assert.deepEqual(await tagSetOf(id2), [{ Key: "keep", Value: "me" }, { Key: "team", Value: "net" }, { Key: "env", Value: "dev" }]);
    const ok = await t.TagResources({ ResourceList: [L.flName(id1)], Tags: [{ TagKey: "team", TagValue: "ops" }] });
    assert.deepEqual(ok.FailedResources, []);
    assert.deepEqual(await tagSetOf(id1), [{ Key: "team", Value: "ops" }, { Key: "env", Value: "dev" }]);

    const u = await t.UnTagResources({ ResourceList: [L.flName(id1), L.flName(id2), L.flName("fl-yyyyyyyy")], TagKeys: ["team", "nope"] });
    assert.deepEqual(u.FailedResources.map((f) => f.Code), ["InvalidParameterValue.ResourceDescriptionError"]);
    assert.deepEqual(await tagSetOf(id1), [{ Key: "env", Value: "dev" }]);
    assert.deepEqual(await tagSetOf(id2), [{ Key: "keep", Value: "me" }, { Key: "env", Value: "dev" }]);
  });

  test("a resource that would pass 50 keys fails alone", async () => {
    const full = await newFlowLog(Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: "v" })));
    const other = await newFlowLog();
    const r = await t.TagResources({ ResourceList: [L.flName(full), L.flName(other)], Tags: [{ TagKey: "extra", TagValue: "v" }] });
    assert.deepEqual(r.FailedResources.map((f) => [f.Resource, f.Code]), [[L.flName(full), "LimitExceeded.ResourceAttachedTags"]]);
    assert.deepEqual(await tagSetOf(other), [{ Key: "extra", Value: "v" }]);
    assert.equal((await tagSetOf(full)).length, 50);
  });

  test("input errors answer the whole call", async () => {
    const id = await newFlowLog();
    const eleven = Array.from({ length: 11 }, () => L.flName(id));
    await fails(t.TagResources({ ResourceList: eleven, Tags: [{ TagKey: "a", TagValue: "1" }] }), "LimitExceeded.ResourceNumPerRequest");
    await fails(t.TagResources({ ResourceList: [L.flName(id)], Tags: Array.from({ length: 11 }, (_, i) => ({ TagKey: `k${i}`, TagValue: "v" })) }), "LimitExceeded.TagNumPerRequest");
    await fails(t.TagResources({ ResourceList: [], Tags: [{ TagKey: "a", TagValue: "1" }] }), "InvalidParameterValue", { mention: "ResourceList" });
    await fails(t.TagResources({ ResourceList: [L.flName(id), "bogus"], Tags: [{ TagKey: "a", TagValue: "1" }] }), "InvalidParameterValue.ResourceDescriptionError");
    await fails(t.TagResources({ ResourceList: [L.flName(id)], Tags: [{ TagKey: "tencent-x", TagValue: "1" }] }), "InvalidParameter.ReservedTagKey", { mention: "Tags.0.TagKey" });
    await fails(t.UnTagResources({ ResourceList: eleven, TagKeys: ["a"] }), "LimitExceeded.ResourceNumPerRequest");
    await fails(t.UnTagResources({ ResourceList: [L.flName(id)], TagKeys: Array.from({ length: 11 }, (_, i) => `k${i}`) }), "LimitExceeded.TagNumPerRequest");
    await fails(t.UnTagResources({ ResourceList: [L.flName(id)], TagKeys: [""] }), "InvalidParameterValue.TagKeyEmpty", { mention: "TagKeys.0" });
    await fails(t.UnTagResources({ ResourceList: [`qcs::cdn::uin/:domain/x`], TagKeys: ["a"] }), "InvalidParameter.UnsupportedService");
    assert.deepEqual(await tagSetOf(id), []);
  });
});

// ---------------------------------------- DescribeResourceTagsByResourceIds ---
describe("DescribeResourceTagsByResourceIds", () => {
  test("rows per resource and tag, with MD5s; paging as Terraform does it", async () => {
    const id1 = await newFlowLog(Array.from({ length: 25 }, (_, i) => ({ Key: `key${String(i).padStart(2, "0")}`, Value: `v${i}` })));
    const id2 = await newFlowLog([{ Key: "solo", Value: "1" }]);
    const r = await describeTags(t, [id2, id1, "fl-zzzzzzzz"], { Limit: 100 });
    assert.equal(r.TotalCount, 26);
    assert.equal(r.Offset, 0);
    assert.equal(r.Limit, 100);
    for (const row of r.Tags) L.assertShape(row, L.SHAPES.TagResource, "TagResource");
    assert.deepEqual(r.Tags[0], {
      TagKey: "solo",
      TagValue: "1",
      ResourceId: id2,
      TagKeyMd5: crypto.createHash("md5").update("solo").digest("hex"),
      TagValueMd5: crypto.createHash("md5").update("1").digest("hex"),
      ServiceType: "vpc",
      Category: "Custom",
    });
    assert.ok(r.Tags.slice(1).every((row) => row.ResourceId === id1));
    // Terraform: Limit 20, Offset += page length while a page is full
    const seen = [];
    let offset = 0;
    for (;;) {
      const page = await describeTags(t, [id1], { Limit: 20, Offset: offset });
      assert.equal(page.TotalCount, 25);
      seen.push(...page.Tags.map((x) => x.TagKey));
      if (page.Tags.length < 20) break;
      offset += page.Tags.length;
    }
    assert.deepEqual(seen, Array.from({ length: 25 }, (_, i) => `key${String(i).padStart(2, "0")}`));
    // the default page is 15
    assert.equal((await describeTags(t, [id1])).Tags.length, 15);
    assert.equal((await describeTags(t, [id1], { Category: "System" })).TotalCount, 0);
    assert.equal((await describeTags(t, [id1], { Category: "All" })).TotalCount, 25);
    // the same tags CreateFlowLog set, seen through the tag service; B sees none of them
    assert.equal((await describeTags(tb, [id1, id2])).TotalCount, 0);
    assert.equal((await describeTags(t, [id1], { ResourceRegion: "ap-shanghai" })).TotalCount, 0);
  });

  test("errors: ServiceTypeInvalid, ResourcePrefixInvalid, RegionInvalid, ResourceIdInvalid, LimitExceeded", async () => {
    const id = await newFlowLog();
    await fails(describeTags(t, [id], { ServiceType: "cvm" }), "InvalidParameterValue.ServiceTypeInvalid");
    await fails(describeTags(t, [id], { ResourcePrefix: "flowlog" }), "InvalidParameterValue.ResourcePrefixInvalid");
    await fails(describeTags(t, [id], { ResourceRegion: "moon-1" }), "InvalidParameterValue.RegionInvalid");
    await fails(describeTags(t, [id], { ResourceRegion: "" }), "InvalidParameterValue.RegionInvalid");
    await fails(describeTags(t, ["fl_123"]), "InvalidParameterValue.ResourceIdInvalid");
    await fails(describeTags(t, Array.from({ length: 51 }, () => id)), "InvalidParameterValue", { mention: "ResourceIds" });
    await fails(describeTags(t, []), "InvalidParameterValue", { mention: "ResourceIds" });
    await fails(describeTags(t, [id], { Limit: 0 }), "InvalidParameterValue", { mention: "Limit" });
    await fails(describeTags(t, [id], { Category: "Other" }), "InvalidParameterValue", { mention: "Category" });
  });
});

// -------------------------------------------------------------- GetResources ---
describe("GetResources", () => {
  let mine;
  before(async () => {
    // a second region for A, with its own inventory
    const sh = h.inventoryFixture({ tag: "dddd", region: "ap-shanghai", extraEnis: 2 });
    h.importInventory(ctx.dataDir, A.Uin, sh.inventory);
    const csh = A.client({ region: "ap-shanghai" });
    const shId = (await csh.CreateFlowLog(h.eniRequest(sh.ids, sh.ids.extraEnis[0], { Tags: [{ Key: "gr", Value: "x" }] }))).FlowLog[0].FlowLogId;
    mine = {
      a: await newFlowLog([{ Key: "gr", Value: "x" }, { Key: "tier", Value: "web" }]),
      b: await newFlowLog([{ Key: "gr", Value: "y" }, { Key: "tier", Value: "db" }]),
      c: await newFlowLog([{ Key: "gr", Value: "x" }]),
      none: await newFlowLog(),
      sh: shId,
    };
    // B has tagged flow logs too: never in A's answers
    await B.client().CreateFlowLog(h.eniRequest(B.ids, B.ids.extraEnis[0], { Tags: [{ Key: "gr", Value: "x" }] }));
  });

  const names = (r) => r.ResourceTagMappingList.map((m) => m.Resource);

  test("TagFilters: keys AND, values OR, a key alone; every region; untagged not listed", async () => {
    const x = await t.GetResources({ TagFilters: [{ TagKey: "gr", TagValue: ["x"] }], MaxResults: 200 });
    const xs = names(x);
    assert.ok(xs.includes(L.flName(mine.a, { uin: A.Uin })));
    assert.ok(xs.includes(L.flName(mine.c, { uin: A.Uin })));
    assert.ok(xs.includes(L.flName(mine.sh, { uin: A.Uin, region: "ap-shanghai" })));
    assert.ok(!xs.includes(L.flName(mine.b, { uin: A.Uin })));
    assert.ok(xs.every((n) => n.includes(`:uin/${A.Uin}:fl/`)), "only A's");
    const m = x.ResourceTagMappingList.find((e) => e.Resource === L.flName(mine.a, { uin: A.Uin }));
    assert.deepEqual(m.Tags.map((g) => [g.TagKey, g.TagValue]), [["gr", "x"], ["tier", "web"]]);
    assert.equal(x.PaginationToken, "");
    const xy = names(await t.GetResources({ TagFilters: [{ TagKey: "gr", TagValue: ["x", "y"] }, { TagKey: "tier" }], MaxResults: 200 }));
    assert.deepEqual(xy.filter((n) => [mine.a, mine.b, mine.c].some((id) => n.endsWith(id))).sort(), [L.flName(mine.a, { uin: A.Uin }), L.flName(mine.b, { uin: A.Uin })].sort());
    const all = names(await t.GetResources({ MaxResults: 200 }));
    assert.ok(!all.includes(L.flName(mine.none, { uin: A.Uin })), "a flow log without tags is not a tagged resource");
    assert.ok(all.includes(L.flName(mine.sh, { uin: A.Uin, region: "ap-shanghai" })));
  });

  test("pages by PaginationToken without a repeat or a gap", async () => {
    const all = names(await t.GetResources({ MaxResults: 200 }));
    assert.ok(all.length >= 5);
    const seen = [];
    let token = "";
    for (let i = 0; i < 100; i++) {
      const p = await t.GetResources({ PaginationToken: token, MaxResults: 2 });
      assert.ok(p.ResourceTagMappingList.length <= 2);
      seen.push(...names(p));
      token = p.PaginationToken;
      if (!token) break;
    }
    assert.deepEqual(seen, all);
    assert.equal(new Set(seen).size, seen.length);
  });

  test("ResourceList: the ones named that exist and carry tags", async () => {
    const r = await t.GetResources({
      ResourceList: [L.flName(mine.a), L.flName(mine.none), L.flName("fl-zzzzzzzz"), L.flName(mine.sh, { region: "ap-shanghai" }), L.flName(mine.b, { uin: B.Uin })],
      MaxResults: 1,
    });
    assert.deepEqual(names(r).sort(), [L.flName(mine.a, { uin: A.Uin }), L.flName(mine.sh, { uin: A.Uin, region: "ap-shanghai" })].sort());
    assert.equal(r.PaginationToken, "");
    const f = await t.GetResources({ ResourceList: [L.flName(mine.a), L.flName(mine.c)], TagFilters: [{ TagKey: "tier" }] });
    assert.deepEqual(names(f), [L.flName(mine.a, { uin: A.Uin })]);
  });

  test("errors: PaginationTokenInvalid, MaxResults, counts, duplicate keys, names", async () => {
    await fails(t.GetResources({ PaginationToken: "garbage" }), "InvalidParameter.PaginationTokenInvalid");
    await fails(t.GetResources({ PaginationToken: "ap-nowhere/fl-aaaaaaaa" }), "InvalidParameter.PaginationTokenInvalid");
    await fails(t.GetResources({ MaxResults: 201 }), "InvalidParameterValue", { mention: "MaxResults" });
    await fails(t.GetResources({ MaxResults: 0 }), "InvalidParameterValue", { mention: "MaxResults" });
    await fails(t.GetResources({ TagFilters: Array.from({ length: 7 }, (_, i) => ({ TagKey: `k${i}` })) }), "LimitExceeded.TagNumPerRequest");
    await fails(t.GetResources({ TagFilters: [{ TagKey: "k", TagValue: Array.from({ length: 11 }, (_, i) => `v${i}`) }] }), "LimitExceeded.TagNumPerRequest");
    await fails(t.GetResources({ TagFilters: [{ TagKey: "k" }, { TagKey: "k" }] }), "InvalidParameterValue.TagKeyDuplicate", { mention: "TagFilters.1.TagKey" });
    await fails(t.GetResources({ TagFilters: [{ TagKey: "" }] }), "InvalidParameterValue.TagKeyEmpty", { mention: "TagFilters.0.TagKey" });
    await fails(t.GetResources({ ResourceList: Array.from({ length: 11 }, () => L.flName(mine.a)) }), "LimitExceeded.ResourceNumPerRequest");
    await fails(t.GetResources({ ResourceList: ["qcs::vpc:ap-guangzhou:uin/:fl"] }), "InvalidParameterValue.ResourceDescriptionError");
  });
});

// ------------------------------------------------- encodings and routing ---
describe("encodings and routing", () => {
  test("form/v1 (POST and GET) and TC3 GET requests; no Region; English messages", async () => {
    const id = await newFlowLog();
    const keys = { port: ctx.server.port, secretId: A.SecretId, secretKey: A.SecretKey, version: L.TAG_VERSION };
    const r1 = await h.rawV1Call(Object.assign({ action: "ModifyResourceTags", params: { Resource: L.flName(id), ReplaceTags: [{ TagKey: "via", TagValue: "form" }] } }, keys));
    h.expectEnvelope(r1, null);
    const r2 = await h.rawV1Call(Object.assign({ action: "DescribeResourceTagsByResourceIds", method: "GET", signatureMethod: "HmacSHA1", params: { ServiceType: "vpc", ResourcePrefix: "fl", ResourceRegion: "ap-guangzhou", ResourceIds: [id] } }, keys));
    assert.deepEqual(h.expectEnvelope(r2, null).Tags.map((x) => [x.TagKey, x.TagValue]), [["via", "form"]]);
    const r3 = await h.rawV1Call(Object.assign({ action: "TagResources", region: null, params: { ResourceList: [L.flName(id)], Tags: [{ TagKey: "no", TagValue: "region" }] } }, keys));
    assert.deepEqual(h.expectEnvelope(r3, null).FailedResources, []);
    const r4 = await h.rawCall(Object.assign({ action: "UnTagResources", method: "GET", query: { ResourceList: [L.flName(id)], TagKeys: ["no"] } }, keys));
    assert.deepEqual(h.expectEnvelope(r4, null).FailedResources, []);
    // the SDK with an empty region, with v1 signing, with GET
    const noRegion = L.tagClient({ endpoint: ctx.server.endpoint, secretId: A.SecretId, secretKey: A.SecretKey, region: "" });
    await noRegion.ModifyResourceTags({ Resource: L.flName(id), ReplaceTags: [{ TagKey: "sdk", TagValue: "1" }] });
    const v1 = L.tagClient({ endpoint: ctx.server.endpoint, secretId: A.SecretId, secretKey: A.SecretKey, signMethod: "HmacSHA256" });
    assert.equal((await describeTags(v1, [id])).TotalCount, 2);
    const get = L.tagClient({ endpoint: ctx.server.endpoint, secretId: A.SecretId, secretKey: A.SecretKey, reqMethod: "GET" });
    assert.equal((await describeTags(get, [id])).TotalCount, 2);
    assert.deepEqual(await tagSetOf(id), [{ Key: "via", Value: "form" }, { Key: "sdk", Value: "1" }]);
    const en = L.tagClient({ endpoint: ctx.server.endpoint, secretId: A.SecretId, secretKey: A.SecretKey, language: "en-US" });
    await fails(en.ModifyResourceTags({ Resource: "nope", ReplaceTags: [{ TagKey: "a", TagValue: "b" }] }), "InvalidParameterValue.ResourceDescriptionError", { mention: "six-segment" });
    const tr = await en.TagResources({ ResourceList: [L.flName("fl-zzzzzzzz")], Tags: [{ TagKey: "a", TagValue: "b" }] });
    assert.match(tr.FailedResources[0].Message, /does not exist/);
  });

  test("keys limited to some actions, and the tag actions' own rate limit", async () => {
    const k = h.createKey(ctx.dataDir, A.Uin, ["GetResources"]);
    const limited = L.tagClient({ endpoint: ctx.server.endpoint, secretId: k.SecretId, secretKey: k.SecretKey });
    await limited.GetResources({});
    await fails(limited.ModifyResourceTags({ Resource: L.flName("fl-zzzzzzzz"), DeleteTags: [{ TagKey: "a" }] }), "UnauthorizedOperation");
  });
});
