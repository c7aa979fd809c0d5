// create_flow_log.test.js: CreateFlowLog end to end through the official SDK
// (issue 2 §4): success for the six resource types and both storage types,
// every output field, and each validation rule with its exact error code, in
// the documented order.
"use strict";

const { describe, test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./harness");

let ctx;
let S; // main account: inventory tag "aaaa"
let Q; // account with --flowlog-quota 2: tag "bbbb"
let D; // account with the default quota (100): tag "cccc"
let ids;
let client;
let nextEni;

before(async () => {
  ctx = await h.setup({
    label: "create",
    accounts: [
      { tag: "aaaa", extraEnis: 30 },
      { tag: "bbbb", quota: 2, extraEnis: 4 },
      { tag: "cccc", extraEnis: 101 },
    ],
  });
  [S, Q, D] = ctx.accounts;
  ids = S.ids;
  client = S.client();
  nextEni = h.eniPool(ids);
});
after(async () => {
  if (ctx) await ctx.server.stop();
});

/** A valid CLS request for an unused attached ENI. */
const eniReq = (over) => h.eniRequest(ids, nextEni(), over);
/** A request for the base ENI: used by the failing cases (they create nothing). */
const baseReq = (over) => h.eniRequest(ids, ids.eni, over);
const create = (req, c) => (c || client).CreateFlowLog(req);
const fails = (req, code, opts) => h.expectApiError(create(req), code, opts);

const FLOWLOG_FIELDS = [
  "VpcId",
  "FlowLogId",
  "FlowLogName",
  "ResourceType",
  "ResourceId",
  "TrafficType",
  "CloudLogId",
  "CloudLogState",
  "FlowLogDescription",
  "CreatedTime",
  "TagSet",
  "Enable",
  "StorageType",
  "FlowLogStorage",
  "CloudLogRegion",
];

/** Checks the one FlowLog of a CreateFlowLog answer against its request. */
function checkFlowLog(resp, req, { region = "ap-guangzhou" } = {}) {
  assert.match(resp.RequestId, h.UUID_RE);
  assert.ok(Array.isArray(resp.FlowLog) && resp.FlowLog.length === 1, `FlowLog: ${JSON.stringify(resp.FlowLog)}`);
  const fl = resp.FlowLog[0];
  for (const f of FLOWLOG_FIELDS) assert.ok(f in fl, `FlowLog lacks ${f}: ${JSON.stringify(fl)}`);
  assert.match(fl.FlowLogId, /^fl-[0-9a-z]{8}$/);
  h.assertCreatedTimeNow(fl.CreatedTime);
  assert.equal(fl.FlowLogName, req.FlowLogName);
  assert.equal(fl.ResourceType, req.ResourceType);
  assert.equal(fl.ResourceId, req.ResourceId);
  assert.equal(fl.TrafficType, req.TrafficType);
  if (req.ResourceType !== "CCN") assert.equal(fl.VpcId, req.VpcId);
  assert.equal(fl.FlowLogDescription, req.FlowLogDescription || "");
  assert.equal(fl.Enable, true);
  assert.equal(fl.StorageType, req.StorageType || "cls");
  assert.equal(fl.CloudLogState, "SUCCESS");
  assert.equal(fl.CloudLogRegion, req.CloudLogRegion || region);
  assert.deepEqual(fl.TagSet, req.Tags || []);
  if ((req.StorageType || "cls") === "ckafka") {
    assert.deepEqual(fl.FlowLogStorage, { StorageId: req.FlowLogStorage.StorageId, StorageTopic: req.FlowLogStorage.StorageTopic });
  } else {
    assert.deepEqual(fl.FlowLogStorage, { StorageId: "", StorageTopic: "" });
    assert.equal(fl.CloudLogId, req.CloudLogId);
  }
  if (req.ResourceType === "CCN") assert.equal(fl.Period, req.Period === undefined ? 600 : req.Period);
  else assert.ok(!("Period" in fl), `Period present for ${req.ResourceType}: ${JSON.stringify(fl)}`);
  return fl;
}

async function succeeds(req, opts) {
  const resp = await create(req);
  return checkFlowLog(resp, req, opts);
}

const ckafka = () => ({ StorageType: "ckafka", FlowLogStorage: { StorageId: ids.ckafka, StorageTopic: ids.ckafkaTopic } });

// --------------------------------------------------------------- success ---
describe("success", () => {
  test("VPC (ResourceId = VpcId), CLS, with tags", async () => {
    await succeeds({
      FlowLogName: "vpc-flowlog",
      ResourceType: "VPC",
      ResourceId: ids.vpc,
      VpcId: ids.vpc,
      TrafficType: "ALL",
      CloudLogId: ids.clsGz,
      FlowLogDescription: "whole vpc",
      Tags: [
        { Key: "city", Value: "shanghai" },
        { Key: "env", Value: "prod" },
      ],
    });
  });

  test("SUBNET, CKafka storage", async () => {
    await succeeds({
      FlowLogName: "subnet-flowlog",
      ResourceType: "SUBNET",
      ResourceId: ids.subnet,
      VpcId: ids.vpc,
      TrafficType: "REJECT",
      ...ckafka(),
    });
  });

  test("NETWORKINTERFACE, CLS, explicit StorageType cls", async () => {
    await succeeds({
      FlowLogName: "eni-flowlog",
      ResourceType: "NETWORKINTERFACE",
      ResourceId: ids.eni,
      VpcId: ids.vpc,
      TrafficType: "ACCEPT",
      CloudLogId: ids.clsGz,
      StorageType: "cls",
    });
  });

  test("NETWORKINTERFACE, CKafka storage", async () => {
    await succeeds(eniReq({ CloudLogId: undefined, ...ckafka() }));
  });

  test("CCN without VpcId: Period defaults to 600", async () => {
    await succeeds({ FlowLogName: "ccn", ResourceType: "CCN", ResourceId: ids.ccn, TrafficType: "ALL", CloudLogId: ids.clsGz });
  });

  test("CCN with Period 60, CKafka storage", async () => {
    await succeeds({ FlowLogName: "ccn60", ResourceType: "CCN", ResourceId: ids.ccn2, TrafficType: "ACCEPT", Period: 60, ...ckafka() });
  });

  test("CCN with Period 300", async () => {
    await succeeds({ FlowLogName: "ccn300", ResourceType: "CCN", ResourceId: ids.ccn3, TrafficType: "REJECT", Period: 300, CloudLogId: ids.clsGz });
  });

  test("NAT, standard (version 2) with TrafficType ALL", async () => {
    await succeeds({ FlowLogName: "nat2", ResourceType: "NAT", ResourceId: ids.natV2, VpcId: ids.vpc, TrafficType: "ALL", CloudLogId: ids.clsGz });
  });

  test("NAT, classic (version 1) without DNAT, TrafficType ACCEPT", async () => {
    await succeeds({
      FlowLogName: "nat1",
      ResourceType: "NAT",
      ResourceId: ids.natClassic,
      VpcId: ids.vpc,
      TrafficType: "ACCEPT",
      ...ckafka(),
    });
  });

  test("DCG", async () => {
    await succeeds({ FlowLogName: "dcg", ResourceType: "DCG", ResourceId: ids.dcg, VpcId: ids.vpc, TrafficType: "REJECT", CloudLogId: ids.clsGz });
  });

  test("CloudLogRegion: a CLS topic of another region", async () => {
    await succeeds(eniReq({ CloudLogId: ids.clsSh, CloudLogRegion: "ap-shanghai" }));
  });

  test("CloudLogRegion equal to the request's region", async () => {
    await succeeds(eniReq({ CloudLogRegion: "ap-guangzhou" }));
  });

  test("FlowLogName of 60 CJK characters (180 bytes) and description of 512 CJK characters", async () => {
    await succeeds(eniReq({ FlowLogName: "流".repeat(60), FlowLogDescription: "述".repeat(512) }));
  });

  test("FlowLogName of 60 characters outside the BMP (emoji: 4 bytes, 2 UTF-16 units each)", async () => {
    await succeeds(eniReq({ FlowLogName: "😀".repeat(60), FlowLogDescription: "🚀".repeat(512) }));
  });

  test("FlowLogName of 60 ASCII characters and description of 512", async () => {
    await succeeds(eniReq({ FlowLogName: "n".repeat(60), FlowLogDescription: "d".repeat(512) }));
  });

  test("50 tags", async () => {
    const Tags = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: `v${i}` }));
    await succeeds(eniReq({ Tags }));
  });

  test("tag key of 127 characters and value of 255 characters", async () => {
    await succeeds(eniReq({ Tags: [{ Key: "k".repeat(127), Value: "v".repeat(255) }] }));
  });

  test("tags with CJK, spaces and every allowed punctuation, including （）【】", async () => {
    await succeeds(
      eniReq({
        Tags: [
          { Key: "城市（主）【一】", Value: "上海 浦东（东）【二】" },
          { Key: "a+b-c=d.e_f:g/h@i(j)[k] 9", Value: "A+B-C=D.E_F:G/H@I(J)[K] 0" },
        ],
      })
    );
  });

  test("tag key that merely contains a reserved word is fine", async () => {
    await succeeds(eniReq({ Tags: [{ Key: "myqcloud", Value: "x" }, { Key: "a-tencent", Value: "y" }, { Key: "xproject", Value: "z" }] }));
  });

  test("each flow log gets its own FlowLogId", async () => {
    const a = await create(eniReq());
    const b = await create(eniReq());
    assert.notEqual(a.FlowLog[0].FlowLogId, b.FlowLog[0].FlowLogId);
  });
});

// ---------------------------------------------------------- 2. Empty etc. ---
describe("step 2: InvalidParameterValue.Empty / VpcIdNotNeededForFlowLog", () => {
  for (const field of ["FlowLogName", "ResourceType", "ResourceId", "TrafficType"]) {
    test(`${field} empty -> Empty`, async () => {
      await fails(baseReq({ [field]: "" }), "InvalidParameterValue.Empty", { mention: field });
    });
  }

  test("VpcId absent for a non-CCN type -> Empty", async () => {
    for (const [type, id] of [
      ["NETWORKINTERFACE", ids.eni],
      ["VPC", ids.vpc],
      ["SUBNET", ids.subnet],
      ["NAT", ids.natV2],
      ["DCG", ids.dcg],
    ]) {
      await fails(baseReq({ ResourceType: type, ResourceId: id, VpcId: undefined, TrafficType: "ALL" }), "InvalidParameterValue.Empty", {
        mention: "VpcId",
      });
    }
  });

  test("VpcId empty for a non-CCN type -> Empty", async () => {
    await fails(baseReq({ VpcId: "" }), "InvalidParameterValue.Empty", { mention: "VpcId" });
  });

  test("CloudLogId absent with StorageType cls (default and explicit) -> Empty", async () => {
    await fails(baseReq({ CloudLogId: undefined }), "InvalidParameterValue.Empty", { mention: "CloudLogId" });
    await fails(baseReq({ CloudLogId: undefined, StorageType: "cls" }), "InvalidParameterValue.Empty", { mention: "CloudLogId" });
  });

  test("CloudLogId empty with StorageType cls -> Empty", async () => {
    await fails(baseReq({ CloudLogId: "" }), "InvalidParameterValue.Empty", { mention: "CloudLogId" });
  });

  test("StorageType ckafka without FlowLogStorage -> Empty", async () => {
    await fails(baseReq({ CloudLogId: undefined, StorageType: "ckafka" }), "InvalidParameterValue.Empty", { mention: "FlowLogStorage" });
  });

  test("StorageType ckafka with an empty StorageId -> Empty", async () => {
    await fails(
      baseReq({ CloudLogId: undefined, StorageType: "ckafka", FlowLogStorage: { StorageId: "", StorageTopic: "flowlogs" } }),
      "InvalidParameterValue.Empty",
      { mention: "StorageId" }
    );
  });

  test("StorageType ckafka with an empty StorageTopic -> Empty", async () => {
    await fails(
      baseReq({ CloudLogId: undefined, StorageType: "ckafka", FlowLogStorage: { StorageId: ids.ckafka, StorageTopic: "" } }),
      "InvalidParameterValue.Empty",
      { mention: "StorageTopic" }
    );
  });

  test("VpcId given for CCN -> VpcIdNotNeededForFlowLog", async () => {
    await fails(
      { FlowLogName: "c", ResourceType: "CCN", ResourceId: ids.ccn, VpcId: ids.vpc, TrafficType: "ALL", CloudLogId: ids.clsGz },
      "InvalidParameterValue.VpcIdNotNeededForFlowLog"
    );
  });

  test("order: empty FlowLogName and a bad ResourceType -> Empty", async () => {
    await fails(baseReq({ FlowLogName: "", ResourceType: "BOGUS" }), "InvalidParameterValue.Empty", { mention: "FlowLogName" });
  });

  test("order: empty TrafficType and a malformed ResourceId -> Empty", async () => {
    await fails(baseReq({ TrafficType: "", ResourceId: "eni-x" }), "InvalidParameterValue.Empty");
  });

  test("order: CloudLogId absent and a bad TrafficType -> Empty", async () => {
    await fails(baseReq({ CloudLogId: undefined, TrafficType: "SOME" }), "InvalidParameterValue.Empty", { mention: "CloudLogId" });
  });

  test("order: VpcId absent and 70 tags -> Empty", async () => {
    const Tags = Array.from({ length: 70 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));
    await fails(baseReq({ VpcId: undefined, Tags }), "InvalidParameterValue.Empty", { mention: "VpcId" });
  });

  test("order: empty FlowLogName and VpcId given for CCN -> Empty (listed first)", async () => {
    await fails(
      { FlowLogName: "", ResourceType: "CCN", ResourceId: ids.ccn, VpcId: ids.vpc, TrafficType: "ALL", CloudLogId: ids.clsGz },
      "InvalidParameterValue.Empty"
    );
  });

  test("order: VpcId given for CCN and a bad TrafficType -> VpcIdNotNeededForFlowLog", async () => {
    await fails(
      { FlowLogName: "c", ResourceType: "CCN", ResourceId: ids.ccn, VpcId: ids.vpc, TrafficType: "SOME", CloudLogId: ids.clsGz },
      "InvalidParameterValue.VpcIdNotNeededForFlowLog"
    );
  });

  test("order: VpcId given for CCN and a malformed ResourceId -> VpcIdNotNeededForFlowLog", async () => {
    await fails(
      { FlowLogName: "c", ResourceType: "CCN", ResourceId: "ccn-1", VpcId: ids.vpc, TrafficType: "ALL", CloudLogId: ids.clsGz },
      "InvalidParameterValue.VpcIdNotNeededForFlowLog"
    );
  });
});

// ------------------------------------------------------------ 3. Range ---
describe("step 3: InvalidParameterValue.Range", () => {
  test("ResourceType not one of the six -> Range", async () => {
    for (const t of ["BOGUS", "vpc", "ENI", "Subnet"]) {
      await fails(baseReq({ ResourceType: t }), "InvalidParameterValue.Range", { mention: "ResourceType" });
    }
  });

  test("TrafficType not ACCEPT/REJECT/ALL -> Range", async () => {
    for (const t of ["accept", "DENY", "ANY"]) {
      await fails(baseReq({ TrafficType: t }), "InvalidParameterValue.Range", { mention: "TrafficType" });
    }
  });

  test("StorageType not cls/ckafka -> Range", async () => {
    for (const t of ["CLS", "kafka", "s3"]) {
      await fails(baseReq({ StorageType: t }), "InvalidParameterValue.Range", { mention: "StorageType" });
    }
  });

  test("Period not 60, 300 or 600 -> Range", async () => {
    for (const p of [0, 1, 120, 3600]) {
      await fails(
        { FlowLogName: "c", ResourceType: "CCN", ResourceId: ids.ccn3, TrafficType: "ALL", CloudLogId: ids.clsGz, Period: p },
        "InvalidParameterValue.Range",
        { mention: "Period" }
      );
    }
  });

  test("Period given for a type other than CCN -> Range", async () => {
    await fails(baseReq({ Period: 600 }), "InvalidParameterValue.Range", { mention: "Period" });
    await fails(
      { FlowLogName: "v", ResourceType: "VPC", ResourceId: ids.vpc, VpcId: ids.vpc, TrafficType: "ALL", CloudLogId: ids.clsGz, Period: 60 },
      "InvalidParameterValue.Range",
      { mention: "Period" }
    );
  });

  test("FlowLogName of 61 characters -> Range", async () => {
    await fails(baseReq({ FlowLogName: "n".repeat(61) }), "InvalidParameterValue.Range", { mention: "FlowLogName" });
  });

  test("FlowLogName of 61 CJK characters -> Range (characters, not bytes)", async () => {
    await fails(baseReq({ FlowLogName: "流".repeat(61) }), "InvalidParameterValue.Range", { mention: "FlowLogName" });
  });

  test("FlowLogName of 61 emoji -> Range", async () => {
    await fails(baseReq({ FlowLogName: "😀".repeat(61) }), "InvalidParameterValue.Range", { mention: "FlowLogName" });
  });

  test("FlowLogDescription of 513 characters -> Range", async () => {
    await fails(baseReq({ FlowLogDescription: "d".repeat(513) }), "InvalidParameterValue.Range", { mention: "FlowLogDescription" });
    await fails(baseReq({ FlowLogDescription: "述".repeat(513) }), "InvalidParameterValue.Range", { mention: "FlowLogDescription" });
  });

  test("CloudLogRegion not a region -> Range", async () => {
    await fails(baseReq({ CloudLogRegion: "ap-atlantis" }), "InvalidParameterValue.Range", { mention: "CloudLogRegion" });
  });

  test("order: bad ResourceType and a malformed ResourceId -> Range", async () => {
    await fails(baseReq({ ResourceType: "BOGUS", ResourceId: "bogus" }), "InvalidParameterValue.Range");
  });

  test("order: 61-character name and a malformed CloudLogId -> Range", async () => {
    await fails(baseReq({ FlowLogName: "n".repeat(61), CloudLogId: "not-a-uuid" }), "InvalidParameterValue.Range", {
      mention: "FlowLogName",
    });
  });

  test("order: bad TrafficType and 51 tags -> Range", async () => {
    const Tags = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));
    await fails(baseReq({ TrafficType: "NONE", Tags }), "InvalidParameterValue.Range");
  });
});

// -------------------------------------------------------- 4. Malformed ---
describe("step 4: InvalidParameterValue.Malformed", () => {
  const cases = [
    ["NETWORKINTERFACE", "eni-1234567"],
    ["NETWORKINTERFACE", "eni-123456789"],
    ["NETWORKINTERFACE", "eni-AAAA0001"],
    ["NETWORKINTERFACE", "eni_aaaa0001"],
    ["NETWORKINTERFACE", "aaaa0001"],
    ["VPC", "vpc-aaaa"],
    ["SUBNET", "subnet-aaaa00-1"],
    ["NAT", "nat-aaaa000"],
    ["DCG", "dcg-aaaa0001x"],
  ];
  for (const [type, id] of cases) {
    test(`${type} ResourceId ${id} -> Malformed`, async () => {
      await fails(baseReq({ ResourceType: type, ResourceId: id, TrafficType: "ALL" }), "InvalidParameterValue.Malformed", {
        mention: "ResourceId",
      });
    });
  }

  test("CCN ResourceId ccn-xyz -> Malformed", async () => {
    await fails(
      { FlowLogName: "c", ResourceType: "CCN", ResourceId: "ccn-xyz", TrafficType: "ALL", CloudLogId: ids.clsGz },
      "InvalidParameterValue.Malformed",
      { mention: "ResourceId" }
    );
  });

  test("prefix not matching ResourceType -> Malformed", async () => {
    const mismatches = [
      ["SUBNET", ids.eni],
      ["NETWORKINTERFACE", ids.subnet],
      ["VPC", ids.subnet],
      ["NAT", ids.dcg],
      ["DCG", ids.natV2],
    ];
    for (const [type, id] of mismatches) {
      await fails(baseReq({ ResourceType: type, ResourceId: id, TrafficType: "ALL" }), "InvalidParameterValue.Malformed", {
        mention: "ResourceId",
      });
    }
    await fails(
      { FlowLogName: "c", ResourceType: "CCN", ResourceId: ids.vpc, TrafficType: "ALL", CloudLogId: ids.clsGz },
      "InvalidParameterValue.Malformed",
      { mention: "ResourceId" }
    );
  });

  test("VpcId malformed -> Malformed", async () => {
    for (const v of ["vpc-1", "subnet-aaaa0001", "VPC-aaaa0001", "vpc-aaaa0001 "]) {
      await fails(baseReq({ VpcId: v }), "InvalidParameterValue.Malformed", { mention: "VpcId" });
    }
  });

  test("CloudLogId not a UUID -> Malformed", async () => {
    for (const c of ["not-a-uuid", "aaaaaaaa-0000-4000-8000-00000000000", "aaaaaaaa00004000800000000000000001", "gggggggg-0000-4000-8000-000000000001"]) {
      await fails(baseReq({ CloudLogId: c }), "InvalidParameterValue.Malformed", { mention: "CloudLogId" });
    }
  });

  test("CKafka StorageId malformed -> Malformed", async () => {
    await fails(
      baseReq({ CloudLogId: undefined, StorageType: "ckafka", FlowLogStorage: { StorageId: "ckafka-xyz", StorageTopic: "flowlogs" } }),
      "InvalidParameterValue.Malformed",
      { mention: "StorageId" }
    );
    await fails(
      baseReq({ CloudLogId: undefined, StorageType: "ckafka", FlowLogStorage: { StorageId: ids.vpc, StorageTopic: "flowlogs" } }),
      "InvalidParameterValue.Malformed",
      { mention: "StorageId" }
    );
  });

  test("order: malformed ResourceId and 51 tags -> Malformed", async () => {
    const Tags = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));
    await fails(baseReq({ ResourceId: "eni-1", Tags }), "InvalidParameterValue.Malformed");
  });

  test("order: malformed CloudLogId and a reserved tag key -> Malformed", async () => {
    await fails(baseReq({ CloudLogId: "nope", Tags: [{ Key: "qcloud:x", Value: "v" }] }), "InvalidParameterValue.Malformed");
  });

  test("order: malformed VpcId and an unknown ENI -> Malformed", async () => {
    await fails(baseReq({ VpcId: "vpc-1", ResourceId: "eni-zzzz9999" }), "InvalidParameterValue.Malformed");
  });
});

// -------------------------------------------------------------- 5. tags ---
describe("step 5: tags", () => {
  test("51 tags -> LimitExceeded.TagKeyPerResourceExceeded", async () => {
    const Tags = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: "v" }));
    await fails(baseReq({ Tags }), "LimitExceeded.TagKeyPerResourceExceeded");
  });

  test("the same key twice -> TagDuplicateKey", async () => {
    await fails(
      baseReq({ Tags: [{ Key: "city", Value: "a" }, { Key: "env", Value: "x" }, { Key: "city", Value: "b" }] }),
      "InvalidParameterValue.TagDuplicateKey"
    );
  });

  test("empty key -> TagInvalidKeyLen", async () => {
    await fails(baseReq({ Tags: [{ Key: "", Value: "v" }] }), "InvalidParameterValue.TagInvalidKeyLen");
  });

  test("128-character key -> TagInvalidKeyLen", async () => {
    await fails(baseReq({ Tags: [{ Key: "k".repeat(128), Value: "v" }] }), "InvalidParameterValue.TagInvalidKeyLen");
    await fails(baseReq({ Tags: [{ Key: "键".repeat(128), Value: "v" }] }), "InvalidParameterValue.TagInvalidKeyLen");
  });

  test("127 CJK characters is a valid key length (characters, not bytes)", async () => {
    // passes the tag checks; fails later, at the unknown ENI
    await fails(baseReq({ ResourceId: "eni-zzzz9999", Tags: [{ Key: "键".repeat(127), Value: "值".repeat(255) }] }), "ResourceNotFound");
  });

  for (const key of ["qcloud", "QCloud-x", "qcloud:project", "tencent:a", "TENCENTx", "Project", "project:id", "PROJECT"]) {
    test(`reserved key prefix ${JSON.stringify(key)} -> TagSystemReservedTagKey`, async () => {
      await fails(baseReq({ Tags: [{ Key: key, Value: "v" }] }), "UnsupportedOperation.TagSystemReservedTagKey");
    });
  }

  for (const key of ["a#b", "a*b", "a,b", "a;b", "a&b", "a!b", "a<b>", "a{b}", "a\"b", "a'b", "a\\b", "a|b", "a?b", "a%b", "a$b", "a~b", "😀"]) {
    test(`key with a forbidden character ${JSON.stringify(key)} -> TagInvalidKey`, async () => {
      await fails(baseReq({ Tags: [{ Key: key, Value: "v" }] }), "InvalidParameterValue.TagInvalidKey");
    });
  }

  for (const value of ["v#", "v*", "a,b", "x&y", "😀", "50%"]) {
    test(`value with a forbidden character ${JSON.stringify(value)} -> TagInvalidVal`, async () => {
      await fails(baseReq({ Tags: [{ Key: "k", Value: value }] }), "InvalidParameterValue.TagInvalidVal");
    });
  }

  test("256-character value -> TagInvalidVal", async () => {
    await fails(baseReq({ Tags: [{ Key: "k", Value: "v".repeat(256) }] }), "InvalidParameterValue.TagInvalidVal");
    await fails(baseReq({ Tags: [{ Key: "k", Value: "值".repeat(256) }] }), "InvalidParameterValue.TagInvalidVal");
  });

  test("order: 51 tags with a duplicate key -> TagKeyPerResourceExceeded", async () => {
    const Tags = Array.from({ length: 51 }, (_, i) => ({ Key: i === 50 ? "k0" : `k${i}`, Value: "v" }));
    await fails(baseReq({ Tags }), "LimitExceeded.TagKeyPerResourceExceeded");
  });

  test("order: a duplicated reserved key -> TagDuplicateKey", async () => {
    await fails(
      baseReq({ Tags: [{ Key: "qcloud:x", Value: "a" }, { Key: "qcloud:x", Value: "b" }] }),
      "InvalidParameterValue.TagDuplicateKey"
    );
  });

  test("order: 128-character key made of forbidden characters -> TagInvalidKeyLen", async () => {
    await fails(baseReq({ Tags: [{ Key: "#".repeat(128), Value: "v" }] }), "InvalidParameterValue.TagInvalidKeyLen");
  });

  test("order: 128-character key starting with qcloud -> TagInvalidKeyLen", async () => {
    await fails(baseReq({ Tags: [{ Key: "qcloud" + "x".repeat(122), Value: "v" }] }), "InvalidParameterValue.TagInvalidKeyLen");
  });

  test("order: reserved key with a forbidden character -> TagSystemReservedTagKey", async () => {
    await fails(baseReq({ Tags: [{ Key: "qcloud#x", Value: "v" }] }), "UnsupportedOperation.TagSystemReservedTagKey");
  });

  test("order: bad tag and an unknown ENI -> the tag error", async () => {
    await fails(baseReq({ ResourceId: "eni-zzzz9999", Tags: [{ Key: "a#", Value: "v" }] }), "InvalidParameterValue.TagInvalidKey");
  });
});

// --------------------------------------------------- 6. ResourceNotFound ---
describe("step 6: ResourceNotFound", () => {
  test("unknown VPC", async () => {
    await fails(baseReq({ VpcId: "vpc-zzzz9999" }), "ResourceNotFound");
    await fails(
      { FlowLogName: "v", ResourceType: "VPC", ResourceId: "vpc-zzzz9999", VpcId: "vpc-zzzz9999", TrafficType: "ALL", CloudLogId: ids.clsGz },
      "ResourceNotFound"
    );
  });

  test("VPC flow log whose ResourceId is not its VpcId", async () => {
    await fails(
      { FlowLogName: "v", ResourceType: "VPC", ResourceId: ids.vpc2, VpcId: ids.vpc, TrafficType: "ALL", CloudLogId: ids.clsGz },
      "ResourceNotFound"
    );
  });

  test("unknown ENI, subnet, NAT, DCG, CCN", async () => {
    await fails(baseReq({ ResourceId: "eni-zzzz9999" }), "ResourceNotFound");
    await fails(baseReq({ ResourceType: "SUBNET", ResourceId: "subnet-zzzz9999" }), "ResourceNotFound");
    await fails(baseReq({ ResourceType: "NAT", ResourceId: "nat-zzzz9999", TrafficType: "ALL" }), "ResourceNotFound");
    await fails(baseReq({ ResourceType: "DCG", ResourceId: "dcg-zzzz9999" }), "ResourceNotFound");
    await fails(
      { FlowLogName: "c", ResourceType: "CCN", ResourceId: "ccn-zzzz9999", TrafficType: "ALL", CloudLogId: ids.clsGz },
      "ResourceNotFound"
    );
  });

  test("ENI in another VPC than VpcId", async () => {
    await fails(baseReq({ VpcId: ids.vpc2 }), "ResourceNotFound");
    await fails(baseReq({ ResourceId: ids.eniVpc2 }), "ResourceNotFound");
  });

  test("subnet, NAT and DCG in another VPC than VpcId", async () => {
    await fails(baseReq({ ResourceType: "SUBNET", ResourceId: ids.subnet2 }), "ResourceNotFound");
    await fails(baseReq({ ResourceType: "NAT", ResourceId: ids.natClassic, VpcId: ids.vpc2 }), "ResourceNotFound");
    await fails(baseReq({ ResourceType: "DCG", ResourceId: ids.dcg, VpcId: ids.vpc2 }), "ResourceNotFound");
  });

  test("CLS topic unknown", async () => {
    await fails(baseReq({ CloudLogId: "00000000-0000-4000-8000-00000000dead" }), "ResourceNotFound");
  });

  test("CLS topic in another region than CloudLogRegion", async () => {
    await fails(baseReq({ CloudLogId: ids.clsSh }), "ResourceNotFound");
    await fails(baseReq({ CloudLogId: ids.clsSh, CloudLogRegion: "ap-guangzhou" }), "ResourceNotFound");
    await fails(baseReq({ CloudLogId: ids.clsGz, CloudLogRegion: "ap-shanghai" }), "ResourceNotFound");
  });

  test("CKafka instance unknown", async () => {
    await fails(
      baseReq({ CloudLogId: undefined, StorageType: "ckafka", FlowLogStorage: { StorageId: "ckafka-zzzz9999", StorageTopic: "flowlogs" } }),
      "ResourceNotFound"
    );
  });

  test("CKafka topic unknown", async () => {
    await fails(
      baseReq({ CloudLogId: undefined, StorageType: "ckafka", FlowLogStorage: { StorageId: ids.ckafka, StorageTopic: "nope" } }),
      "ResourceNotFound"
    );
  });

  test("order: unknown topic on a standard CKafka -> ResourceNotFound before OnlySupportProfessionKafka", async () => {
    await fails(
      baseReq({ CloudLogId: undefined, StorageType: "ckafka", FlowLogStorage: { StorageId: ids.ckafkaStd, StorageTopic: "nope" } }),
      "ResourceNotFound"
    );
  });

  test("order: unattached ENI named with the wrong VPC -> ResourceNotFound", async () => {
    await fails(baseReq({ ResourceId: ids.eniUnattached, VpcId: ids.vpc2 }), "ResourceNotFound");
  });

  test("order: unknown CLS topic on a DPDK NAT with ACCEPT -> ResourceNotFound", async () => {
    await fails(
      baseReq({ ResourceType: "NAT", ResourceId: ids.natV2b, CloudLogId: "00000000-0000-4000-8000-00000000dead" }),
      "ResourceNotFound"
    );
  });

  test("another account's inventory is invisible", async () => {
    await fails(h.eniRequest(Q.ids, Q.ids.extraEnis[0]), "ResourceNotFound");
    await fails(baseReq({ CloudLogId: Q.ids.clsGz }), "ResourceNotFound");
  });
});

// ---------------------------------------------- 7. UnsupportedOperation ---
describe("step 7: UnsupportedOperation.*", () => {
  test("ENI without an instance -> FlowLogsNotSupportNullInstanceEni", async () => {
    await fails(baseReq({ ResourceId: ids.eniUnattached }), "UnsupportedOperation.FlowLogsNotSupportNullInstanceEni");
  });

  test("ENI on a KO instance -> FlowLogsNotSupportKoInstanceEni", async () => {
    await fails(baseReq({ ResourceId: ids.eniKo }), "UnsupportedOperation.FlowLogsNotSupportKoInstanceEni");
  });

  test("standard (DPDK) NAT with TrafficType ACCEPT or REJECT -> DpdkNatFlowLogOnlySupportAllTrafficType", async () => {
    for (const t of ["ACCEPT", "REJECT"]) {
      await fails(
        baseReq({ ResourceType: "NAT", ResourceId: ids.natV2b, TrafficType: t }),
        "UnsupportedOperation.DpdkNatFlowLogOnlySupportAllTrafficType"
      );
    }
  });

  test("classic NAT with DNAT rules -> NatGatewayDnatAndFlowLogConflict", async () => {
    for (const t of ["ALL", "ACCEPT"]) {
      await fails(
        baseReq({ ResourceType: "NAT", ResourceId: ids.natDnat, TrafficType: t }),
        "UnsupportedOperation.NatGatewayDnatAndFlowLogConflict"
      );
    }
  });

  test("standard-edition CKafka -> OnlySupportProfessionKafka", async () => {
    await fails(
      baseReq({ ResourceId: ids.extraEnis[29], CloudLogId: undefined, StorageType: "ckafka", FlowLogStorage: { StorageId: ids.ckafkaStd, StorageTopic: "flowlogs" } }),
      "UnsupportedOperation.OnlySupportProfessionKafka"
    );
  });

  test("order: DPDK NAT that already has a flow log, asked with ACCEPT -> Dpdk error before FlowLogInstanceExisted", async () => {
    await create({ FlowLogName: "n", ResourceType: "NAT", ResourceId: ids.natV2b, VpcId: ids.vpc, TrafficType: "ALL", CloudLogId: ids.clsGz });
    await fails(
      baseReq({ ResourceType: "NAT", ResourceId: ids.natV2b, TrafficType: "ACCEPT" }),
      "UnsupportedOperation.DpdkNatFlowLogOnlySupportAllTrafficType"
    );
    await fails(baseReq({ ResourceType: "NAT", ResourceId: ids.natV2b, TrafficType: "ALL" }), "UnsupportedOperation.FlowLogInstanceExisted");
  });

  test("order: standard CKafka for a resource that already has a flow log -> OnlySupportProfessionKafka", async () => {
    const eni = nextEni();
    await create(h.eniRequest(ids, eni));
    await fails(
      h.eniRequest(ids, eni, { CloudLogId: undefined, StorageType: "ckafka", FlowLogStorage: { StorageId: ids.ckafkaStd, StorageTopic: "flowlogs" } }),
      "UnsupportedOperation.OnlySupportProfessionKafka"
    );
  });
});

// ------------------------------------------------------ 8. existing/quota ---
describe("step 8: FlowLogInstanceExisted and LimitExceeded", () => {
  test("a second flow log for the same resource -> FlowLogInstanceExisted (whatever the other fields)", async () => {
    const eni = nextEni();
    await create(h.eniRequest(ids, eni));
    await fails(h.eniRequest(ids, eni), "UnsupportedOperation.FlowLogInstanceExisted");
    await fails(h.eniRequest(ids, eni, { TrafficType: "REJECT", FlowLogName: "other" }), "UnsupportedOperation.FlowLogInstanceExisted");
    await fails(h.eniRequest(ids, eni, { CloudLogId: undefined, ...ckafka() }), "UnsupportedOperation.FlowLogInstanceExisted");
  });

  test("the VPC, subnet, CCN, NAT and DCG created above cannot get a second flow log", async () => {
    await fails(
      { FlowLogName: "v", ResourceType: "VPC", ResourceId: ids.vpc, VpcId: ids.vpc, TrafficType: "ALL", CloudLogId: ids.clsGz },
      "UnsupportedOperation.FlowLogInstanceExisted"
    );
    await fails(baseReq({ ResourceType: "SUBNET", ResourceId: ids.subnet }), "UnsupportedOperation.FlowLogInstanceExisted");
    await fails(
      { FlowLogName: "c", ResourceType: "CCN", ResourceId: ids.ccn, TrafficType: "ALL", CloudLogId: ids.clsGz },
      "UnsupportedOperation.FlowLogInstanceExisted"
    );
    await fails(baseReq({ ResourceType: "NAT", ResourceId: ids.natV2, TrafficType: "ALL" }), "UnsupportedOperation.FlowLogInstanceExisted");
    await fails(baseReq({ ResourceType: "DCG", ResourceId: ids.dcg }), "UnsupportedOperation.FlowLogInstanceExisted");
  });

  test("a flow log on a VPC does not block one on an ENI inside it (different resources)", async () => {
    // ids.vpc has a flow log (success tests); an unused ENI of that VPC still works
    await succeeds(eniReq());
  });

  test("account quota (--flowlog-quota 2) -> LimitExceeded; an existing resource still answers FlowLogInstanceExisted", async () => {
    const qc = Q.client();
    const [e1, e2, e3] = Q.ids.extraEnis.slice(1);
    await qc.CreateFlowLog(h.eniRequest(Q.ids, e1));
    await qc.CreateFlowLog(h.eniRequest(Q.ids, e2));
    await h.expectApiError(qc.CreateFlowLog(h.eniRequest(Q.ids, e3)), "LimitExceeded");
    await h.expectApiError(qc.CreateFlowLog(h.eniRequest(Q.ids, e1)), "UnsupportedOperation.FlowLogInstanceExisted");
    // a validation failure still comes first
    await h.expectApiError(qc.CreateFlowLog(h.eniRequest(Q.ids, e3, { FlowLogName: "" })), "InvalidParameterValue.Empty");
    await h.expectApiError(qc.CreateFlowLog(h.eniRequest(Q.ids, "eni-zzzz9999")), "ResourceNotFound");
  });

  test("default quota: 100 flow logs per account and region, the 101st -> LimitExceeded", async () => {
    const dc = D.client();
    for (let i = 0; i < 100; i++) await dc.CreateFlowLog(h.eniRequest(D.ids, D.ids.extraEnis[i]));
    await h.expectApiError(dc.CreateFlowLog(h.eniRequest(D.ids, D.ids.extraEnis[100])), "LimitExceeded");
  });

  test("the quota is per region: account Q can still create in ap-shanghai", async () => {
    const sh = h.inventoryFixture({ tag: "eeee", region: "ap-shanghai", extraEnis: 1 });
    h.importInventory(ctx.dataDir, Q.Uin, sh.inventory);
    const qsh = Q.client({ region: "ap-shanghai" });
    const req = h.eniRequest(sh.ids, sh.ids.extraEnis[0]);
    const resp = await qsh.CreateFlowLog(req);
    checkFlowLog(resp, req, { region: "ap-shanghai" });
  });

  test("a refused request (quota) created nothing: the resource is still free after nothing changed", async () => {
    const qc = Q.client();
    const e3 = Q.ids.extraEnis[3];
    await h.expectApiError(qc.CreateFlowLog(h.eniRequest(Q.ids, e3)), "LimitExceeded");
    await h.expectApiError(qc.CreateFlowLog(h.eniRequest(Q.ids, e3)), "LimitExceeded");
  });
});

describe("messages", () => {
  test("business errors name the parameter or resource, in zh-CN and en-US", async () => {
    const zh = await fails(baseReq({ TrafficType: "NONE" }), "InvalidParameterValue.Range", { mention: "TrafficType" });
    assert.ok(h.hasCjk(zh.message), zh.message);
    const en = await h.expectApiError(
      S.client({ language: "en-US" }).CreateFlowLog(baseReq({ TrafficType: "NONE" })),
      "InvalidParameterValue.Range",
      { mention: "TrafficType" }
    );
    assert.ok(h.isAscii(en.message), en.message);
    const ex = await fails(baseReq({ ResourceType: "SUBNET", ResourceId: ids.subnet }), "UnsupportedOperation.FlowLogInstanceExisted");
    assert.ok(ex.message.includes(ids.subnet), `message should name ${ids.subnet}: ${ex.message}`);
  });
});

// --------------------------------------------------- 9. the store fails ---
// Fault injection: a tiny LD_PRELOAD shim makes pwrite/fsync fail with EIO
// while a trigger file exists, so SQLite's commit fails under the server.
const FAULT_SHIM = `
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>
static int failing(void) {
  const char *f = getenv("FLOWLOGD_FAULT_FILE");
  return f && access(f, F_OK) == 0;
}
#define WRAP_WRITE(name, offt)                                               \\
  ssize_t name(int fd, const void *b, size_t n, offt o) {                    \\
    static ssize_t (*real)(int, const void *, size_t, offt);                 \\
    if (!real) real = (ssize_t (*)(int, const void *, size_t, offt))dlsym(RTLD_NEXT, #name); \\
    if (failing()) { errno = EIO; return -1; }                               \\
    return real(fd, b, n, o);                                                \\
  }
WRAP_WRITE(pwrite, off_t)
WRAP_WRITE(pwrite64, off64_t)
#define WRAP_SYNC(name)                                                      \\
  int name(int fd) {                                                         \\
    static int (*real)(int);                                                 \\
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, #name);                 \\
    if (failing()) { errno = EIO; return -1; }                               \\
    return real(fd);                                                         \\
  }
WRAP_SYNC(fsync)
WRAP_SYNC(fdatasync)
`;

describe("step 9: the store fails -> InternalError.ModuleError, nothing written", () => {
  const fs = require("node:fs");
  const path = require("node:path");
  const { spawnSync } = require("node:child_process");
  let srv;
  let F;
  let trigger;
  let shimOk = false;

  before(async () => {
    const dir = h.tmpDir("fault");
    const src = path.join(dir, "fault.c");
    const so = path.join(dir, "fault.so");
    fs.writeFileSync(src, FAULT_SHIM);
    const cc = spawnSync(process.env.CC || "cc", ["-shared", "-fPIC", "-O1", "-o", so, src, "-ldl"], { encoding: "utf8" });
    if (cc.status !== 0) return; // no C compiler: the tests below skip
    shimOk = true;
    trigger = path.join(dir, "fail-now");
    const dataDir = h.tmpDir("fault-data");
    F = h.createAccount(dataDir);
    const fx = h.inventoryFixture({ tag: "dddd", extraEnis: 4 });
    h.importInventory(dataDir, F.Uin, fx.inventory);
    Object.assign(F, fx);
    // (a sanitizer build refuses a preload ahead of its runtime unless told not to check)
    const asan = [process.env.ASAN_OPTIONS, "verify_asan_link_order=0"].filter(Boolean).join(":");
    srv = await h.startServer({ dataDir, env: { LD_PRELOAD: so, FLOWLOGD_FAULT_FILE: trigger, ASAN_OPTIONS: asan } });
  });
  after(async () => {
    if (srv) await srv.stop();
  });

  test("a failed commit answers InternalError.ModuleError; the same create succeeds once the disk is back", async (t) => {
    if (h.TEST_STORE) return t.skip("PostgreSQL store: the fsync that fails here runs in the database server");
    if (!shimOk) return t.skip("no C compiler for the fault-injection shim");
    const c = h.vpcClient({ endpoint: srv.endpoint, secretId: F.SecretId, secretKey: F.SecretKey });
    await c.CreateFlowLog(h.eniRequest(F.ids, F.ids.extraEnis[0])); // the disk works
    fs.writeFileSync(trigger, "");
    let failed;
    try {
      failed = await h.expectApiError(c.CreateFlowLog(h.eniRequest(F.ids, F.ids.extraEnis[1])), "InternalError.ModuleError");
    } finally {
      fs.unlinkSync(trigger);
    }
    // the client is told nothing more; the operator's log names the cause with the
    // request's id, account and action
    assert.ok(failed.requestId, "the error carries its RequestId");
    // (the server wrote it before it answered, but its stderr pipe may be read after the answer)
    const findLine = () => srv.logs().find((l) => l.includes(`id=${failed.requestId}`) && /store failed/.test(l));
    for (let i = 0; i < 100 && !findLine(); i++) await h.sleep(20);
    const line = findLine();
    assert.ok(line, `no "store failed" log line for ${failed.requestId}:\n${srv.logs().slice(-20).join("\n")}`);
    assert.match(line, / ERROR /);
    assert.match(line, /disk I\/O error/i, `the log line names the cause: ${line}`);
    assert.ok(line.includes(`account=${F.Uin}`), line);
    assert.ok(line.includes("action=CreateFlowLog"), line);
    t.diagnostic(line);
    // nothing was written: the resource is still free, and the server still works
    const resp = await c.CreateFlowLog(h.eniRequest(F.ids, F.ids.extraEnis[1]));
    assert.equal(resp.FlowLog[0].ResourceId, F.ids.extraEnis[1]);
    await h.expectApiError(c.CreateFlowLog(h.eniRequest(F.ids, F.ids.extraEnis[0])), "UnsupportedOperation.FlowLogInstanceExisted");
  });
});
