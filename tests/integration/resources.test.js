// resources.test.js: the resource actions of issue 5 §2 through the official
// Node SDK (and hand-signed v1/form and GET requests): CreateVpc, DescribeVpcs,
// DeleteVpc, CreateSubnet, DescribeSubnets, DeleteSubnet,
// CreateNetworkInterface, DescribeNetworkInterfaces, DeleteNetworkInterface,
// AttachNetworkInterface, DetachNetworkInterface, DescribeVpcTaskResult,
// CreateCcn, DescribeCcns, DeleteCcn, CreateNatGateway, DescribeNatGateways,
// DeleteNatGateway, CreateDirectConnectGateway, DescribeDirectConnectGateways,
// DeleteDirectConnectGateway; their outputs, every error code, the rules that
// bind flow logs, the store shared with `inventory import`, routing by
// service and version, and the Terraform-like sequence of §4.
"use strict";

const { describe, test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./harness");
const L = require("./lib_resources");

let ctx;
let A; // main account: inventory tag "aaaa"
let B; // another account: tag "bbbb"
let c; // A's VPC client
let cb; // B's VPC client
let tag; // A's tag client

before(async () => {
  ctx = await h.setup({ label: "resources", accounts: [{ tag: "aaaa", extraEnis: 2 }, { tag: "bbbb" }] });
  [A, B] = ctx.accounts;
  c = A.client();
  cb = B.client();
  tag = L.tagClient({ endpoint: ctx.server.endpoint, secretId: A.SecretId, secretKey: A.SecretKey });
});
after(async () => {
  if (ctx) await ctx.server.stop();
});

const fails = (p, code, opts) => h.expectApiError(p, code, opts);
let seq = 0;
const uniq = (p) => `${p}-${++seq}`;

/** A fresh VPC 10.<n>.0.0/16 with one subnet 10.<n>.1.0/24 (zone ap-guangzhou-3). */
async function vpcWithSubnet(n) {
  const v = (await c.CreateVpc({ VpcName: uniq("vpc"), CidrBlock: `10.${n}.0.0/16` })).Vpc;
  const s = (await c.CreateSubnet({ VpcId: v.VpcId, SubnetName: uniq("sub"), CidrBlock: `10.${n}.1.0/24`, Zone: "ap-guangzhou-3" })).Subnet;
  return { vpc: v.VpcId, subnet: s.SubnetId };
}

async function eniIn(net) {
  const r = await c.CreateNetworkInterface({ VpcId: net.vpc, SubnetId: net.subnet, NetworkInterfaceName: uniq("eni") });
  return r.NetworkInterface.NetworkInterfaceId;
}

// ----------------------------------------------------------------- VPCs ---
describe("VPC", () => {
  test("CreateVpc answers the Vpc structure of the spec, with what was given", async () => {
    const r = await c.CreateVpc({
      VpcName: "main-vpc",
      CidrBlock: "10.20.0.0/16",
      EnableMulticast: "true",
      DnsServers: ["1.1.1.1", "8.8.8.8"],
      DomainName: "corp.local",
      Tags: [{ Key: "ignored", Value: "x" }],
    });
    assert.match(r.RequestId, h.UUID_RE);
    L.assertShape(r.Vpc, L.SHAPES.Vpc, "Vpc");
    assert.match(r.Vpc.VpcId, /^vpc-[0-9a-z]{8}$/);
    assert.equal(r.Vpc.VpcName, "main-vpc");
    assert.equal(r.Vpc.CidrBlock, "10.20.0.0/16");
    assert.equal(r.Vpc.EnableMulticast, true);
    assert.deepEqual(r.Vpc.DnsServerSet, ["1.1.1.1", "8.8.8.8"]);
    assert.equal(r.Vpc.DomainName, "corp.local");
    assert.equal(r.Vpc.IsDefault, false);
    assert.deepEqual(r.Vpc.TagSet, []);
    h.assertCreatedTimeNow(r.Vpc.CreatedTime);
    // and DescribeVpcs shows the same object
    const d = await c.DescribeVpcs({ VpcIds: [r.Vpc.VpcId] });
    assert.equal(d.TotalCount, 1);
    assert.deepEqual(d.VpcSet[0], r.Vpc);
  });

  test("ids are of the form vpc-xxxxxxxx and unique", async () => {
    const ids = new Set();
    for (let i = 0; i < 5; i++) ids.add((await c.CreateVpc({ VpcName: "same", CidrBlock: "192.168.0.0/16" })).Vpc.VpcId);
    assert.equal(ids.size, 5);
    for (const id of ids) assert.match(id, /^vpc-[0-9a-z]{8}$/);
  });

  test("CreateVpc validation: names, CIDR syntax and range, DNS servers", async () => {
    await fails(c.CreateVpc({ VpcName: "", CidrBlock: "10.0.0.0/16" }), "InvalidParameterValue.Empty", { mention: "VpcName" });
    await fails(c.CreateVpc({ VpcName: "x".repeat(61), CidrBlock: "10.0.0.0/16" }), "InvalidParameterValue.TooLong");
    await c.CreateVpc({ VpcName: "x".repeat(60), CidrBlock: "10.0.0.0/16" });
    await fails(c.CreateVpc({ VpcName: "汉".repeat(21), CidrBlock: "10.0.0.0/16" }), "InvalidParameterValue.TooLong"); // 63 bytes
    await fails(c.CreateVpc({ VpcName: "n" }), "MissingParameter", { mention: "CidrBlock" });
    for (const bad of ["10.0.0.0", "10.0.0.0/33", "10.0.0.1/16", "abc", "10.0.0.256/24", "010.0.0.0/16"]) {
      await fails(c.CreateVpc({ VpcName: "n", CidrBlock: bad }), "InvalidParameterValue.Malformed", { mention: "CidrBlock" });
    }
    for (const bad of ["8.8.0.0/16", "10.0.0.0/8", "10.0.0.0/29", "172.32.0.0/16", "192.160.0.0/12"]) {
      await fails(c.CreateVpc({ VpcName: "n", CidrBlock: bad }), "InvalidParameterValue", { mention: "CidrBlock" });
    }
    await fails(c.CreateVpc({ VpcName: "n", CidrBlock: "172.16.0.0/12", DnsServers: ["1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4", "1.1.1.5"] }), "InvalidParameterValue.LimitExceeded");
    await fails(c.CreateVpc({ VpcName: "n", CidrBlock: "172.16.0.0/12", DnsServers: ["dns.example"] }), "InvalidParameterValue.Malformed", { mention: "DnsServers.0" });
    await fails(c.CreateVpc({ VpcName: "n", CidrBlock: "172.16.0.0/12", EnableMulticast: "maybe" }), "InvalidParameterValue.Range");
  });

  test("DescribeVpcs: ids, Filters (lists), string Offset/Limit, TotalCount", async () => {
    const names = ["alpha-one", "alpha-two", "beta"];
    const ids = [];
    for (const [i, n] of names.entries()) ids.push((await c.CreateVpc({ VpcName: n, CidrBlock: `172.${16 + i}.0.0/16` })).Vpc.VpcId);
    const byName = await c.DescribeVpcs({ Filters: [{ Name: "vpc-name", Values: ["alpha"] }] }); // fuzzy
    assert.deepEqual(byName.VpcSet.map((v) => v.VpcName).sort(), ["alpha-one", "alpha-two"]);
    assert.equal(byName.TotalCount, 2);
    const and = await c.DescribeVpcs({ Filters: [{ Name: "vpc-name", Values: ["alpha"] }, { Name: "cidr-block", Values: ["172.17.0.0/16"] }] });
    assert.deepEqual(and.VpcSet.map((v) => v.VpcId), [ids[1]]);
    const or = await c.DescribeVpcs({ Filters: [{ Name: "vpc-id", Values: [ids[0], ids[2]] }] });
    assert.deepEqual(or.VpcSet.map((v) => v.VpcId).sort(), [ids[0], ids[2]].sort());
    const notDefault = await c.DescribeVpcs({ Filters: [{ Name: "is-default", Values: ["FALSE"] }, { Name: "vpc-id", Values: [ids[0]] }] });
    assert.equal(notDefault.TotalCount, 1);
    assert.equal((await c.DescribeVpcs({ Filters: [{ Name: "is-default", Values: ["true"] }] })).TotalCount, 0);
    // resources carry no tags here
    assert.equal((await c.DescribeVpcs({ Filters: [{ Name: "tag-key", Values: ["env"] }] })).TotalCount, 0);
    assert.equal((await c.DescribeVpcs({ Filters: [{ Name: "tag:env", Values: ["prod"] }] })).TotalCount, 0);
    // paging over everything A has (the inventory's VPCs too)
    const all = await c.DescribeVpcs({ Limit: "100" });
    assert.ok(all.TotalCount >= 5 && all.VpcSet.length === all.TotalCount);
    assert.ok(all.VpcSet.some((v) => v.VpcId === A.ids.vpc), "inventory VPC listed");
    const p1 = await c.DescribeVpcs({ Offset: "1", Limit: "2" });
    assert.equal(p1.VpcSet.length, 2);
    assert.equal(p1.TotalCount, all.TotalCount);
    assert.deepEqual(p1.VpcSet.map((v) => v.VpcId), all.VpcSet.slice(1, 3).map((v) => v.VpcId));
    const dflt = await c.DescribeVpcs({});
    assert.equal(dflt.VpcSet.length, Math.min(20, all.TotalCount));
    // unknown ids: an empty answer, not an error
    const none = await c.DescribeVpcs({ VpcIds: ["vpc-zzzzzzzz"] });
    assert.equal(none.TotalCount, 0);
    assert.deepEqual(none.VpcSet, []);
    // another account sees none of them
    assert.equal((await cb.DescribeVpcs({ VpcIds: ids })).TotalCount, 0);
  });

  test("DescribeVpcs errors: Coexist, FilterInvalidKey, Malformed, Range, Empty, LimitExceeded", async () => {
    await fails(c.DescribeVpcs({ VpcIds: [A.ids.vpc], Filters: [{ Name: "vpc-name", Values: ["x"] }] }), "InvalidParameter.Coexist", { mention: "VpcIds" });
    await fails(c.DescribeVpcs({ Filters: [{ Name: "colour", Values: ["x"] }] }), "InvalidParameter.FilterInvalidKey", { mention: "colour" });
    await fails(c.DescribeVpcs({ VpcIds: ["vpc-bad"] }), "InvalidParameterValue.Malformed", { mention: "VpcIds.0" });
    await fails(c.DescribeVpcs({ Limit: "0" }), "InvalidParameterValue.Range");
    await fails(c.DescribeVpcs({ Limit: "101" }), "InvalidParameterValue.Range");
    await fails(c.DescribeVpcs({ Offset: "one" }), "InvalidParameterValue.Malformed");
    await fails(c.DescribeVpcs({ Filters: [{ Name: "vpc-name", Values: [] }] }), "InvalidParameterValue.Empty");
    await fails(c.DescribeVpcs({ VpcIds: Array.from({ length: 101 }, (_, i) => `vpc-${String(i).padStart(8, "0")}`) }), "InvalidParameterValue.LimitExceeded");
    await fails(c.DescribeVpcs({ Filters: { Name: "vpc-name", Values: ["x"] } }), "InvalidParameter"); // an object, not a list
  });

  test("DeleteVpc: unknown, malformed, another account's, in use, then gone", async () => {
    await fails(c.DeleteVpc({ VpcId: "vpc-zzzzzzzz" }), "ResourceNotFound");
    await fails(c.DeleteVpc({ VpcId: "vpc_1" }), "InvalidParameterValue.Malformed");
    await fails(cb.DeleteVpc({ VpcId: A.ids.vpc }), "ResourceNotFound");
    // the inventory's VPC has subnets, ENIs, NATs, DCGs
    await fails(c.DeleteVpc({ VpcId: A.ids.vpc }), "ResourceInUse", { mention: A.ids.subnet });
    const v = (await c.CreateVpc({ VpcName: "short-lived", CidrBlock: "10.30.0.0/16" })).Vpc.VpcId;
    await c.DeleteVpc({ VpcId: v });
    assert.equal((await c.DescribeVpcs({ VpcIds: [v] })).TotalCount, 0);
    await fails(c.DeleteVpc({ VpcId: v }), "ResourceNotFound");
  });

  test("DeleteVpc names each kind that is in the way: subnet, ENI, NAT, DCG", async () => {
    const net = await vpcWithSubnet(31);
    await fails(c.DeleteVpc({ VpcId: net.vpc }), "ResourceInUse", { mention: net.subnet });
    const eni = await eniIn(net);
    await fails(c.DeleteSubnet({ SubnetId: net.subnet }), "ResourceInUse", { mention: eni });
    await c.DeleteNetworkInterface({ NetworkInterfaceId: eni });
    await c.DeleteSubnet({ SubnetId: net.subnet });
    const nat = (await c.CreateNatGateway({ NatGatewayName: "n", VpcId: net.vpc })).NatGatewaySet[0].NatGatewayId;
    await fails(c.DeleteVpc({ VpcId: net.vpc }), "ResourceInUse", { mention: nat });
    await c.DeleteNatGateway({ NatGatewayId: nat });
    const dcg = (await c.CreateDirectConnectGateway({ DirectConnectGatewayName: "d", NetworkType: "VPC", NetworkInstanceId: net.vpc })).DirectConnectGateway.DirectConnectGatewayId;
    await fails(c.DeleteVpc({ VpcId: net.vpc }), "ResourceInUse", { mention: dcg });
    await c.DeleteDirectConnectGateway({ DirectConnectGatewayId: dcg });
    await c.DeleteVpc({ VpcId: net.vpc });
  });

  test("a VPC flow log goes with its VPC", async () => {
    const v = (await c.CreateVpc({ VpcName: "logged", CidrBlock: "10.32.0.0/16" })).Vpc.VpcId;
    const fl = (await c.CreateFlowLog({ FlowLogName: "vpc-fl", ResourceType: "VPC", ResourceId: v, VpcId: v, TrafficType: "ALL", CloudLogId: A.ids.clsGz, Tags: [{ Key: "k", Value: "v" }] })).FlowLog[0];
    await c.DeleteVpc({ VpcId: v });
    await fails(c.DescribeFlowLog({ FlowLogId: fl.FlowLogId, VpcId: v }), "ResourceNotFound");
  });
});

// -------------------------------------------------------------- subnets ---
describe("subnet", () => {
  let vpc;
  before(async () => {
    vpc = (await c.CreateVpc({ VpcName: "subnets", CidrBlock: "10.40.0.0/16" })).Vpc.VpcId;
  });

  test("CreateSubnet answers the Subnet structure, Zone kept", async () => {
    const r = await c.CreateSubnet({ VpcId: vpc, SubnetName: "web", CidrBlock: "10.40.1.0/24", Zone: "ap-guangzhou-3", Tags: [{ Key: "a" }] });
    L.assertShape(r.Subnet, L.SHAPES.Subnet, "Subnet");
    assert.match(r.Subnet.SubnetId, /^subnet-[0-9a-z]{8}$/);
    assert.equal(r.Subnet.VpcId, vpc);
    assert.equal(r.Subnet.SubnetName, "web");
    assert.equal(r.Subnet.CidrBlock, "10.40.1.0/24");
    assert.equal(r.Subnet.Zone, "ap-guangzhou-3");
    assert.equal(r.Subnet.TotalIpAddressCount, 256);
    h.assertCreatedTimeNow(r.Subnet.CreatedTime);
    const d = await c.DescribeSubnets({ SubnetIds: [r.Subnet.SubnetId] });
    assert.deepEqual(d.SubnetSet, [r.Subnet]);
    assert.equal(d.TotalCount, 1);
  });

  test("CreateSubnet validation: Empty, Malformed, SubnetRange, SubnetConflict, ResourceNotFound", async () => {
    const base = { VpcId: vpc, SubnetName: "s", CidrBlock: "10.40.9.0/24", Zone: "ap-guangzhou-3" };
    const req = (over) => Object.assign({}, base, over);
    await fails(c.CreateSubnet(req({ Zone: "" })), "InvalidParameterValue.Empty", { mention: "Zone" });
    await fails(c.CreateSubnet(req({ SubnetName: "" })), "InvalidParameterValue.Empty", { mention: "SubnetName" });
    await fails(c.CreateSubnet(req({ SubnetName: "s".repeat(61) })), "InvalidParameterValue.TooLong");
    await fails(c.CreateSubnet(req({ Zone: "z".repeat(65) })), "InvalidParameterValue.TooLong", { mention: "Zone" });
    await fails(c.CreateSubnet(req({ VpcId: "vpc-1" })), "InvalidParameterValue.Malformed", { mention: "VpcId" });
    await fails(c.CreateSubnet(req({ CidrBlock: "10.40.9.0" })), "InvalidParameterValue.Malformed", { mention: "CidrBlock" });
    await fails(c.CreateSubnet(req({ CidrBlock: "10.41.0.0/24" })), "InvalidParameterValue.SubnetRange", { mention: vpc });
    await fails(c.CreateSubnet(req({ CidrBlock: "10.40.9.0/29" })), "InvalidParameterValue.SubnetRange");
    await fails(c.CreateSubnet(req({ CidrBlock: "10.0.0.0/15" })), "InvalidParameterValue.SubnetRange");
    const first = (await c.CreateSubnet(req({ CidrBlock: "10.40.16.0/20" }))).Subnet.SubnetId;
    await fails(c.CreateSubnet(req({ CidrBlock: "10.40.17.0/24" })), "InvalidParameterValue.SubnetConflict", { mention: first });
    await fails(c.CreateSubnet(req({ CidrBlock: "10.40.0.0/16" })), "InvalidParameterValue.SubnetConflict");
    await fails(c.CreateSubnet(req({ VpcId: "vpc-zzzzzzzz" })), "ResourceNotFound");
    await fails(cb.CreateSubnet(req({})), "ResourceNotFound"); // another account's VPC
    await fails(c.CreateSubnet({ VpcId: vpc, SubnetName: "s", CidrBlock: "10.40.9.0/24" }), "MissingParameter", { mention: "Zone" });
  });

  test("DescribeSubnets: filters, string paging, Coexist, the inventory's subnets", async () => {
    await c.CreateSubnet({ VpcId: vpc, SubnetName: "db", CidrBlock: "10.40.2.0/24", Zone: "ap-guangzhou-4" });
    const inVpc = await c.DescribeSubnets({ Filters: [{ Name: "vpc-id", Values: [vpc] }], Limit: "100" });
    assert.ok(inVpc.TotalCount >= 3);
    assert.ok(inVpc.SubnetSet.every((s) => s.VpcId === vpc));
    const z4 = await c.DescribeSubnets({ Filters: [{ Name: "vpc-id", Values: [vpc] }, { Name: "zone", Values: ["ap-guangzhou-4"] }] });
    assert.deepEqual(z4.SubnetSet.map((s) => s.SubnetName), ["db"]);
    const byName = await c.DescribeSubnets({ Filters: [{ Name: "subnet-name", Values: ["web", "db"] }] });
    assert.deepEqual(byName.SubnetSet.map((s) => s.SubnetName).sort(), ["db", "web"]);
    const page = await c.DescribeSubnets({ Filters: [{ Name: "vpc-id", Values: [vpc] }], Offset: "1", Limit: "1" });
    assert.equal(page.SubnetSet.length, 1);
    assert.equal(page.SubnetSet[0].SubnetId, inVpc.SubnetSet[1].SubnetId);
    const inv = await c.DescribeSubnets({ SubnetIds: [A.ids.subnet, A.ids.subnet3] });
    assert.deepEqual(inv.SubnetSet.map((s) => s.SubnetId).sort(), [A.ids.subnet, A.ids.subnet3].sort());
    await fails(c.DescribeSubnets({ SubnetIds: [A.ids.subnet], Filters: [{ Name: "zone", Values: ["x"] }] }), "InvalidParameter.Coexist");
    await fails(c.DescribeSubnets({ Filters: [{ Name: "vpc-name", Values: ["x"] }] }), "InvalidParameter.FilterInvalidKey");
    await fails(c.DescribeSubnets({ SubnetIds: ["subnet-x"] }), "InvalidParameterValue.Malformed");
  });

  test("DeleteSubnet: ENIs in the way, flow log deleted with it", async () => {
    const s = (await c.CreateSubnet({ VpcId: vpc, SubnetName: "tmp", CidrBlock: "10.40.3.0/24", Zone: "ap-guangzhou-3" })).Subnet.SubnetId;
    const eni = (await c.CreateNetworkInterface({ VpcId: vpc, SubnetId: s, NetworkInterfaceName: "e" })).NetworkInterface.NetworkInterfaceId;
    await fails(c.DeleteSubnet({ SubnetId: s }), "ResourceInUse", { mention: eni });
    await c.DeleteNetworkInterface({ NetworkInterfaceId: eni });
    const fl = (await c.CreateFlowLog({ FlowLogName: "sub", ResourceType: "SUBNET", ResourceId: s, VpcId: vpc, TrafficType: "ALL", CloudLogId: A.ids.clsGz })).FlowLog[0];
    await c.DeleteSubnet({ SubnetId: s });
    await fails(c.DescribeFlowLog({ FlowLogId: fl.FlowLogId, VpcId: vpc }), "ResourceNotFound");
    await fails(c.DeleteSubnet({ SubnetId: s }), "ResourceNotFound");
    await fails(c.DeleteSubnet({ SubnetId: "subnet" }), "InvalidParameterValue.Malformed");
  });
});

// ----------------------------------------------------------------- ENIs ---
describe("network interface", () => {
  let net;
  before(async () => {
    net = await vpcWithSubnet(50);
  });

  test("CreateNetworkInterface: the structure, an address in the subnet, a task", async () => {
    const r = await c.CreateNetworkInterface({
      VpcId: net.vpc,
      SubnetId: net.subnet,
      NetworkInterfaceName: "nic",
      NetworkInterfaceDescription: "前端网卡",
      SecurityGroupIds: ["sg-aaaaaaaa"],
      QosLevel: "AG",
    });
    const e = r.NetworkInterface;
    L.assertShape(e, L.SHAPES.NetworkInterface, "NetworkInterface");
    assert.match(e.NetworkInterfaceId, /^eni-[0-9a-z]{8}$/);
    assert.equal(e.VpcId, net.vpc);
    assert.equal(e.SubnetId, net.subnet);
    assert.equal(e.NetworkInterfaceDescription, "前端网卡");
    assert.deepEqual(e.GroupSet, ["sg-aaaaaaaa"]);
    assert.equal(e.Zone, "ap-guangzhou-3");
    assert.equal(e.Attachment, null);
    assert.equal(e.PrivateIpAddressSet.length, 1);
    assert.equal(e.PrivateIpAddressSet[0].Primary, true);
    assert.match(e.PrivateIpAddressSet[0].PrivateIpAddress, /^10\.50\.1\.\d+$/);
    assert.match(e.MacAddress, /^([0-9A-F]{2}:){5}[0-9A-F]{2}$/);
    const t = await c.DescribeVpcTaskResult({ TaskId: r.RequestId });
    assert.equal(t.Status, "SUCCESS");
    assert.equal(typeof t.Output, "string");
  });

  test("CreateNetworkInterface with PrivateIpAddresses; validation", async () => {
    const r = await c.CreateNetworkInterface({
      VpcId: net.vpc,
      SubnetId: net.subnet,
      NetworkInterfaceName: "fixed",
      PrivateIpAddresses: [{ PrivateIpAddress: "10.50.1.10", Primary: true }, { PrivateIpAddress: "10.50.1.11" }],
    });
    assert.deepEqual(
      r.NetworkInterface.PrivateIpAddressSet.map((p) => [p.PrivateIpAddress, p.Primary]),
      [["10.50.1.10", true], ["10.50.1.11", false]]
    );
    const base = { VpcId: net.vpc, SubnetId: net.subnet, NetworkInterfaceName: "x" };
    const req = (over) => Object.assign({}, base, over);
    await fails(c.CreateNetworkInterface(req({ NetworkInterfaceName: "" })), "InvalidParameterValue.Empty");
    await fails(c.CreateNetworkInterface(req({ NetworkInterfaceDescription: "d".repeat(61) })), "InvalidParameterValue.TooLong");
    await fails(c.CreateNetworkInterface(req({ SubnetId: "subnet-1" })), "InvalidParameterValue.Malformed", { mention: "SubnetId" });
    await fails(c.CreateNetworkInterface(req({ SecurityGroupIds: ["sg1"] })), "InvalidParameterValue.Malformed");
    await fails(c.CreateNetworkInterface(req({ SecurityGroupIds: Array.from({ length: 101 }, () => "sg-aaaaaaaa") })), "InvalidParameterValue.LimitExceeded");
    await fails(c.CreateNetworkInterface(req({ QosLevel: "GOLD" })), "InvalidParameterValue.Range");
    await fails(c.CreateNetworkInterface(req({ PrivateIpAddresses: [{ PrivateIpAddress: "10.50.1" }] })), "InvalidParameterValue.Malformed");
    await fails(c.CreateNetworkInterface(req({ PrivateIpAddresses: [{ PrivateIpAddress: "10.51.1.1" }] })), "InvalidParameterValue");
    await fails(
      c.CreateNetworkInterface(req({ PrivateIpAddresses: Array.from({ length: 11 }, (_, i) => ({ PrivateIpAddress: `10.50.1.${20 + i}` })) })),
      "InvalidParameterValue.LimitExceeded"
    );
    // SecondaryPrivateIpAddressCount: that many more, drawn from the subnet, all distinct
    const more = (await c.CreateNetworkInterface(req({ NetworkInterfaceName: "more", SecondaryPrivateIpAddressCount: 3,
      PrivateIpAddresses: [{ PrivateIpAddress: "10.50.1.30", Primary: true }] }))).NetworkInterface.PrivateIpAddressSet;
    assert.equal(more.length, 4);
    assert.deepEqual([more[0].PrivateIpAddress, more[0].Primary], ["10.50.1.30", true]);
    assert.ok(more.slice(1).every((p) => /^10\.50\.1\.\d+$/.test(p.PrivateIpAddress) && p.Primary === false));
    assert.equal(new Set(more.map((p) => p.PrivateIpAddress)).size, 4);
    const drawn = (await c.CreateNetworkInterface(req({ NetworkInterfaceName: "drawn", SecondaryPrivateIpAddressCount: 2 })))
      .NetworkInterface.PrivateIpAddressSet;
    assert.deepEqual(drawn.map((p) => p.Primary), [true, false, false]);
    await fails(c.CreateNetworkInterface(req({ SecondaryPrivateIpAddressCount: 10 })), "InvalidParameterValue.LimitExceeded");
    // the subnet must be in that VPC; both must exist
    await fails(c.CreateNetworkInterface(req({ SubnetId: A.ids.subnet })), "ResourceNotFound", { mention: A.ids.subnet });
    await fails(c.CreateNetworkInterface(req({ SubnetId: "subnet-zzzzzzzz" })), "ResourceNotFound");
    await fails(c.CreateNetworkInterface(req({ VpcId: "vpc-zzzzzzzz" })), "ResourceNotFound");
    await fails(c.CreateNetworkInterface({ VpcId: net.vpc, NetworkInterfaceName: "x" }), "MissingParameter", { mention: "SubnetId" });
  });

  test("Attach / Detach: tasks, AttachmentAlreadyExists, InvalidState, ResourceNotFound", async () => {
    const eni = await eniIn(net);
    const at = await c.AttachNetworkInterface({ NetworkInterfaceId: eni, InstanceId: A.ids.ins });
    assert.equal((await c.DescribeVpcTaskResult({ TaskId: at.RequestId })).Status, "SUCCESS");
    let d = (await c.DescribeNetworkInterfaces({ NetworkInterfaceIds: [eni] })).NetworkInterfaceSet[0];
    assert.equal(d.Attachment.InstanceId, A.ids.ins);
    assert.equal(d.Attachment.InstanceAccountId, A.Uin);
    // again to the same instance: nothing to do
    await c.AttachNetworkInterface({ NetworkInterfaceId: eni, InstanceId: A.ids.ins });
    await fails(c.AttachNetworkInterface({ NetworkInterfaceId: eni, InstanceId: A.ids.insKo }), "UnsupportedOperation.AttachmentAlreadyExists", { mention: A.ids.ins });
    await fails(c.AttachNetworkInterface({ NetworkInterfaceId: eni, InstanceId: "ins-zzzzzzzz" }), "ResourceNotFound", { mention: "ins-zzzzzzzz" });
    await fails(c.AttachNetworkInterface({ NetworkInterfaceId: "eni-zzzzzzzz", InstanceId: A.ids.ins }), "ResourceNotFound");
    await fails(c.AttachNetworkInterface({ NetworkInterfaceId: eni, InstanceId: "i-1" }), "InvalidParameterValue.Malformed", { mention: "InstanceId" });
    await fails(c.AttachNetworkInterface({ NetworkInterfaceId: eni, InstanceId: A.ids.ins, AttachType: 2 }), "InvalidParameterValue.Range");
    await fails(cb.AttachNetworkInterface({ NetworkInterfaceId: eni, InstanceId: B.ids.ins }), "ResourceNotFound");
    // an attached ENI cannot be deleted
    await fails(c.DeleteNetworkInterface({ NetworkInterfaceId: eni }), "ResourceInUse", { mention: A.ids.ins });
    await fails(c.DetachNetworkInterface({ NetworkInterfaceId: eni, InstanceId: A.ids.insKo }), "UnsupportedOperation.InvalidState", { mention: A.ids.ins });
    const de = await c.DetachNetworkInterface({ NetworkInterfaceId: eni, InstanceId: A.ids.ins });
    assert.equal((await c.DescribeVpcTaskResult({ TaskId: de.RequestId })).Status, "SUCCESS");
    d = (await c.DescribeNetworkInterfaces({ NetworkInterfaceIds: [eni] })).NetworkInterfaceSet[0];
    assert.equal(d.Attachment, null);
    await fails(c.DetachNetworkInterface({ NetworkInterfaceId: eni, InstanceId: A.ids.ins }), "UnsupportedOperation.InvalidState");
    await fails(c.DetachNetworkInterface({ NetworkInterfaceId: eni, InstanceId: "ins-zzzzzzzz" }), "ResourceNotFound");
    const del = await c.DeleteNetworkInterface({ NetworkInterfaceId: eni });
    assert.equal((await c.DescribeVpcTaskResult({ TaskId: del.RequestId })).Status, "SUCCESS");
    await fails(c.DeleteNetworkInterface({ NetworkInterfaceId: eni }), "ResourceNotFound");
    await fails(c.DeleteNetworkInterface({ NetworkInterfaceId: "eni" }), "InvalidParameterValue.Malformed");
  });

  test("DescribeVpcTaskResult: unknown task, another account's task", async () => {
    const eni = await eniIn(net);
    const at = await c.AttachNetworkInterface({ NetworkInterfaceId: eni, InstanceId: A.ids.ins });
    await fails(cb.DescribeVpcTaskResult({ TaskId: at.RequestId }), "ResourceNotFound");
    await fails(c.DescribeVpcTaskResult({ TaskId: "00000000-0000-4000-8000-000000000000" }), "ResourceNotFound");
    await fails(c.DescribeVpcTaskResult({ TaskId: "" }), "InvalidParameterValue.Empty");
    await fails(c.DescribeVpcTaskResult({}), "MissingParameter");
    await c.DetachNetworkInterface({ NetworkInterfaceId: eni, InstanceId: A.ids.ins });
  });

  test("DescribeNetworkInterfaces: filters, ids, paging, Coexist", async () => {
    const e1 = await eniIn(net);
    const e2 = await eniIn(net);
    await c.AttachNetworkInterface({ NetworkInterfaceId: e2, InstanceId: A.ids.insKo });
    const inSubnet = await c.DescribeNetworkInterfaces({ Filters: [{ Name: "subnet-id", Values: [net.subnet] }], Limit: 100 });
    assert.ok(inSubnet.NetworkInterfaceSet.some((e) => e.NetworkInterfaceId === e1));
    assert.ok(inSubnet.NetworkInterfaceSet.every((e) => e.SubnetId === net.subnet));
    const onKo = await c.DescribeNetworkInterfaces({ Filters: [{ Name: "attachment.instance-id", Values: [A.ids.insKo] }] });
    assert.ok(onKo.NetworkInterfaceSet.some((e) => e.NetworkInterfaceId === e2));
    assert.ok(onKo.NetworkInterfaceSet.every((e) => e.Attachment && e.Attachment.InstanceId === A.ids.insKo));
    const ip = (await c.DescribeNetworkInterfaces({ NetworkInterfaceIds: [e1] })).NetworkInterfaceSet[0].PrivateIpAddressSet[0].PrivateIpAddress;
    const byIp = await c.DescribeNetworkInterfaces({ Filters: [{ Name: "address-ip", Values: [ip] }, { Name: "vpc-id", Values: [net.vpc] }] });
    assert.ok(byIp.NetworkInterfaceSet.some((e) => e.NetworkInterfaceId === e1));
    // the inventory's ENIs, in their VPC
    const inv = await c.DescribeNetworkInterfaces({ Filters: [{ Name: "vpc-id", Values: [A.ids.vpc] }], Limit: 100 });
    assert.ok(inv.NetworkInterfaceSet.some((e) => e.NetworkInterfaceId === A.ids.eni && e.Attachment.InstanceId === A.ids.ins));
    assert.ok(inv.NetworkInterfaceSet.some((e) => e.NetworkInterfaceId === A.ids.eniUnattached && e.Attachment === null));
    const p = await c.DescribeNetworkInterfaces({ Filters: [{ Name: "vpc-id", Values: [A.ids.vpc] }], Offset: 1, Limit: 2 });
    assert.deepEqual(p.NetworkInterfaceSet.map((e) => e.NetworkInterfaceId), inv.NetworkInterfaceSet.slice(1, 3).map((e) => e.NetworkInterfaceId));
    assert.equal(p.TotalCount, inv.TotalCount);
    await fails(c.DescribeNetworkInterfaces({ NetworkInterfaceIds: [e1], Filters: [{ Name: "vpc-id", Values: [net.vpc] }] }), "InvalidParameter.Coexist");
    await fails(c.DescribeNetworkInterfaces({ Limit: 101 }), "InvalidParameterValue.Range");
    await fails(c.DescribeNetworkInterfaces({ Filters: [{ Name: "state", Values: ["x"] }] }), "InvalidParameter.FilterInvalidKey");
    await c.DetachNetworkInterface({ NetworkInterfaceId: e2, InstanceId: A.ids.insKo });
  });

  test("deleting an ENI deletes its flow log (and the ENI can be made again)", async () => {
    const eni = await eniIn(net);
    await c.AttachNetworkInterface({ NetworkInterfaceId: eni, InstanceId: A.ids.ins });
    const fl = (await c.CreateFlowLog(L.eniFlowLog(A.ids, eni, net.vpc))).FlowLog[0];
    await c.DetachNetworkInterface({ NetworkInterfaceId: eni, InstanceId: A.ids.ins });
    await c.DeleteNetworkInterface({ NetworkInterfaceId: eni });
    await fails(c.DescribeFlowLog({ FlowLogId: fl.FlowLogId, VpcId: net.vpc }), "ResourceNotFound");
    assert.equal((await c.DescribeFlowLogs({ ResourceId: eni })).TotalNum, 0);
  });
});

// --------------------------------------------------------------- CCNs ---
describe("CCN", () => {
  test("CreateCcn: the CCN structure with its defaults, and what was given", async () => {
    const r = await c.CreateCcn({ CcnName: "backbone", CcnDescription: "d", QosLevel: "PT", InstanceChargeType: "POSTPAID", BandwidthLimitType: "INTER_REGION_LIMIT" });
    L.assertShape(r.Ccn, L.SHAPES.CCN, "Ccn");
    assert.match(r.Ccn.CcnId, /^ccn-[0-9a-z]{8}$/);
    assert.equal(r.Ccn.CcnName, "backbone");
    assert.equal(r.Ccn.CcnDescription, "d");
    assert.equal(r.Ccn.QosLevel, "PT");
    assert.equal(r.Ccn.BandwidthLimitType, "INTER_REGION_LIMIT");
    assert.equal(r.Ccn.State, "AVAILABLE");
    h.assertCreatedTimeNow(r.Ccn.CreateTime);
    const d = (await c.CreateCcn({ CcnName: "defaults" })).Ccn;
    assert.equal(d.QosLevel, "AU");
    assert.equal(d.InstanceChargeType, "POSTPAID");
    assert.equal(d.BandwidthLimitType, "OUTER_REGION_LIMIT");
  });

  test("CreateCcn validation", async () => {
    await fails(c.CreateCcn({ CcnName: "" }), "InvalidParameterValue.Empty");
    await fails(c.CreateCcn({ CcnName: "c".repeat(61) }), "InvalidParameterValue.TooLong");
    await fails(c.CreateCcn({ CcnName: "c", CcnDescription: "d".repeat(101) }), "InvalidParameterValue.TooLong");
    await fails(c.CreateCcn({ CcnName: "c", QosLevel: "CU" }), "InvalidParameterValue.Range", { mention: "QosLevel" });
    await fails(c.CreateCcn({ CcnName: "c", InstanceChargeType: "FREE" }), "InvalidParameterValue.Range");
    await fails(c.CreateCcn({ CcnName: "c", BandwidthLimitType: "NONE" }), "InvalidParameterValue.Range");
    await fails(c.CreateCcn({ CcnName: "c", InstanceMeteringType: "X" }), "InvalidParameterValue.Range");
  });

  test("DescribeCcns: OrderField / OrderDirection, filters, Coexist", async () => {
    const ids = [];
    for (const n of ["zeta", "alpha", "mid"]) ids.push((await c.CreateCcn({ CcnName: `order-${n}` })).Ccn.CcnId);
    const asc = await c.DescribeCcns({ Filters: [{ Name: "ccn-id", Values: ids }], OrderField: "CcnName", OrderDirection: "ASC" });
    assert.deepEqual(asc.CcnSet.map((x) => x.CcnName), ["order-alpha", "order-mid", "order-zeta"]);
    const desc = await c.DescribeCcns({ CcnIds: ids, OrderField: "CcnName", OrderDirection: "DESC" });
    assert.deepEqual(desc.CcnSet.map((x) => x.CcnName), ["order-zeta", "order-mid", "order-alpha"]);
    const byId = await c.DescribeCcns({ CcnIds: ids, OrderField: "CcnId" });
    assert.deepEqual(byId.CcnSet.map((x) => x.CcnId), [...ids].sort());
    const named = await c.DescribeCcns({ Filters: [{ Name: "ccn-name", Values: ["order-mid"] }, { Name: "state", Values: ["AVAILABLE"] }] });
    assert.deepEqual(named.CcnSet.map((x) => x.CcnId), [ids[2]]);
    const inv = await c.DescribeCcns({ CcnIds: [A.ids.ccn, A.ids.ccn2] });
    assert.equal(inv.TotalCount, 2);
    await fails(c.DescribeCcns({ OrderField: "Name" }), "InvalidParameterValue.Range");
    await fails(c.DescribeCcns({ OrderDirection: "UP" }), "InvalidParameterValue.Range");
    await fails(c.DescribeCcns({ CcnIds: ids, Filters: [{ Name: "state", Values: ["AVAILABLE"] }] }), "InvalidParameter.Coexist");
  });

  test("DeleteCcn: UnsupportedOperation.CcnHasFlowLog until the flow log is gone", async () => {
    const ccn = (await c.CreateCcn({ CcnName: "logged" })).Ccn.CcnId;
    const fl = (await c.CreateFlowLog({ FlowLogName: "ccn", ResourceType: "CCN", ResourceId: ccn, TrafficType: "ALL", CloudLogId: A.ids.clsGz })).FlowLog[0];
    await fails(c.DeleteCcn({ CcnId: ccn }), "UnsupportedOperation.CcnHasFlowLog", { mention: ccn });
    await c.DeleteFlowLog({ FlowLogId: fl.FlowLogId });
    await c.DeleteCcn({ CcnId: ccn });
    await fails(c.DeleteCcn({ CcnId: ccn }), "ResourceNotFound");
    await fails(c.DeleteCcn({ CcnId: "ccn-1" }), "InvalidParameterValue.Malformed");
    // the inventory's CCN with a flow log, too
    await c.CreateFlowLog({ FlowLogName: "inv", ResourceType: "CCN", ResourceId: A.ids.ccn3, TrafficType: "ALL", CloudLogId: A.ids.clsGz });
    await fails(c.DeleteCcn({ CcnId: A.ids.ccn3 }), "UnsupportedOperation.CcnHasFlowLog");
  });
});

// --------------------------------------------------------------- NATs ---
describe("NAT gateway", () => {
  let vpc;
  before(async () => {
    vpc = (await c.CreateVpc({ VpcName: "nat", CidrBlock: "10.60.0.0/16" })).Vpc.VpcId;
  });

  test("CreateNatGateway: NatGatewaySet of one and TotalCount; versions; addresses", async () => {
    const r = await c.CreateNatGateway({ NatGatewayName: "egress", VpcId: vpc, PublicIpAddresses: ["198.51.100.7"], Zone: "ap-guangzhou-3" });
    assert.equal(r.TotalCount, 1);
    assert.equal(r.NatGatewaySet.length, 1);
    const n = r.NatGatewaySet[0];
    L.assertShape(n, L.SHAPES.NatGateway, "NatGateway");
    assert.match(n.NatGatewayId, /^nat-[0-9a-z]{8}$/);
    assert.equal(n.VpcId, vpc);
    assert.equal(n.NatProductVersion, 1);
    assert.equal(n.InternetMaxBandwidthOut, 100);
    assert.equal(n.Zone, "ap-guangzhou-3");
    assert.deepEqual(n.PublicIpAddressSet.map((a) => a.PublicIpAddress), ["198.51.100.7"]);
    const v2 = (await c.CreateNatGateway({ NatGatewayName: "std", VpcId: vpc, NatProductVersion: 2, AddressCount: 2 })).NatGatewaySet[0];
    assert.equal(v2.NatProductVersion, 2);
    assert.equal(v2.PublicIpAddressSet.length, 2);
    // a standard NAT created here supports only ALL, as the inventory's do
    await fails(c.CreateFlowLog({ FlowLogName: "n", ResourceType: "NAT", ResourceId: v2.NatGatewayId, VpcId: vpc, TrafficType: "ACCEPT", CloudLogId: A.ids.clsGz }), "UnsupportedOperation.DpdkNatFlowLogOnlySupportAllTrafficType");
  });

  test("CreateNatGateway validation", async () => {
    const base = { NatGatewayName: "n", VpcId: vpc };
    const req = (over) => Object.assign({}, base, over);
    await fails(c.CreateNatGateway(req({ NatGatewayName: "" })), "InvalidParameterValue.Empty");
    await fails(c.CreateNatGateway(req({ NatProductVersion: 3 })), "InvalidParameterValue.Range", { mention: "NatProductVersion" });
    await fails(c.CreateNatGateway(req({ InternetMaxBandwidthOut: 30 })), "InvalidParameterValue.Range");
    await fails(c.CreateNatGateway(req({ MaxConcurrentConnection: 5 })), "InvalidParameterValue.Range");
    await fails(c.CreateNatGateway(req({ PublicIpAddresses: ["x"] })), "InvalidParameterValue.Malformed");
    await fails(c.CreateNatGateway(req({ VpcId: "vpc" })), "InvalidParameterValue.Malformed");
    await fails(c.CreateNatGateway(req({ VpcId: "vpc-zzzzzzzz" })), "ResourceNotFound", { mention: "vpc-zzzzzzzz" });
    await fails(cb.CreateNatGateway(req({})), "ResourceNotFound");
  });

  test("DescribeNatGateways: filters (at most 10, 5 values each), ids, Coexist", async () => {
    const n = (await c.CreateNatGateway({ NatGatewayName: "find-me", VpcId: vpc })).NatGatewaySet[0];
    const f = await c.DescribeNatGateways({ Filters: [{ Name: "vpc-id", Values: [vpc] }, { Name: "nat-gateway-name", Values: ["find-me"] }] });
    assert.deepEqual(f.NatGatewaySet.map((x) => x.NatGatewayId), [n.NatGatewayId]);
    const byId = await c.DescribeNatGateways({ NatGatewayIds: [n.NatGatewayId, A.ids.natV2] });
    assert.equal(byId.TotalCount, 2);
    assert.equal(byId.NatGatewaySet.find((x) => x.NatGatewayId === A.ids.natV2).NatProductVersion, 2);
    assert.equal((await c.DescribeNatGateways({ Filters: [{ Name: "nat-state", Values: ["AVAILABLE"] }, { Name: "nat-gateway-id", Values: [n.NatGatewayId] }] })).TotalCount, 1);
    await fails(c.DescribeNatGateways({ Filters: [{ Name: "vpc-id", Values: ["a", "b", "c", "d", "e", "f"] }] }), "InvalidParameterValue.LimitExceeded");
    await fails(c.DescribeNatGateways({ Filters: Array.from({ length: 11 }, () => ({ Name: "vpc-id", Values: [vpc] })) }), "InvalidParameterValue.LimitExceeded");
    await fails(c.DescribeNatGateways({ Filters: [{ Name: "tag:env", Values: ["x"] }] }), "InvalidParameter.FilterInvalidKey");
    await fails(c.DescribeNatGateways({ NatGatewayIds: [n.NatGatewayId], Filters: [{ Name: "vpc-id", Values: [vpc] }] }), "InvalidParameter.Coexist");
  });

  test("DeleteNatGateway deletes its flow log", async () => {
    const n = (await c.CreateNatGateway({ NatGatewayName: "gone", VpcId: vpc })).NatGatewaySet[0].NatGatewayId;
    const fl = (await c.CreateFlowLog({ FlowLogName: "nat", ResourceType: "NAT", ResourceId: n, VpcId: vpc, TrafficType: "ACCEPT", CloudLogId: A.ids.clsGz })).FlowLog[0];
    await c.DeleteNatGateway({ NatGatewayId: n, IgnoreOperationRisk: true });
    await fails(c.DescribeFlowLog({ FlowLogId: fl.FlowLogId, VpcId: vpc }), "ResourceNotFound");
    await fails(c.DeleteNatGateway({ NatGatewayId: n }), "ResourceNotFound");
    await fails(c.DeleteNatGateway({ NatGatewayId: "nat-" }), "InvalidParameterValue.Malformed");
  });
});

// ---------------------------------------------- direct connect gateways ---
describe("direct connect gateway", () => {
  let vpc;
  let ccn;
  before(async () => {
    vpc = (await c.CreateVpc({ VpcName: "dcg", CidrBlock: "10.70.0.0/16" })).Vpc.VpcId;
    ccn = (await c.CreateCcn({ CcnName: "dcg-ccn" })).Ccn.CcnId;
  });

  test("CreateDirectConnectGateway on a VPC and on a CCN", async () => {
    const r = (await c.CreateDirectConnectGateway({ DirectConnectGatewayName: "dc1", NetworkType: "VPC", NetworkInstanceId: vpc, GatewayType: "NAT" })).DirectConnectGateway;
    L.assertShape(r, L.SHAPES.DirectConnectGateway, "DirectConnectGateway");
    assert.match(r.DirectConnectGatewayId, /^dcg-[0-9a-z]{8}$/);
    assert.equal(r.VpcId, vpc);
    assert.equal(r.NetworkType, "VPC");
    assert.equal(r.NetworkInstanceId, vpc);
    assert.equal(r.GatewayType, "NAT");
    h.assertCreatedTimeNow(r.CreateTime);
    const k = (await c.CreateDirectConnectGateway({ DirectConnectGatewayName: "dc2", NetworkType: "CCN", NetworkInstanceId: ccn, ModeType: "exquisite" })).DirectConnectGateway;
    assert.equal(k.NetworkType, "CCN");
    assert.equal(k.CcnId, ccn);
    assert.equal(k.VpcId, "");
    assert.equal(k.ModeType, "exquisite");
  });

  test("CreateDirectConnectGateway validation", async () => {
    const base = { DirectConnectGatewayName: "d", NetworkType: "VPC", NetworkInstanceId: vpc };
    const req = (over) => Object.assign({}, base, over);
    await fails(c.CreateDirectConnectGateway(req({ NetworkType: "IDC" })), "InvalidParameterValue.Range", { mention: "NetworkType" });
    await fails(c.CreateDirectConnectGateway(req({ GatewayType: "BIG" })), "InvalidParameterValue.Range");
    await fails(c.CreateDirectConnectGateway(req({ NetworkType: "CCN", NetworkInstanceId: ccn, GatewayType: "NAT" })), "InvalidParameterValue.Range", { mention: "GatewayType" });
    await fails(c.CreateDirectConnectGateway(req({ NetworkInstanceId: ccn })), "InvalidParameterValue.Malformed");
    await fails(c.CreateDirectConnectGateway(req({ NetworkInstanceId: "" })), "InvalidParameterValue.Empty");
    await fails(c.CreateDirectConnectGateway(req({ NetworkInstanceId: "vpc-zzzzzzzz" })), "ResourceNotFound");
    await fails(c.CreateDirectConnectGateway(req({ NetworkType: "CCN", NetworkInstanceId: "ccn-zzzzzzzz" })), "ResourceNotFound");
    await fails(c.CreateDirectConnectGateway(req({ DirectConnectGatewayName: "" })), "InvalidParameterValue.Empty");
  });

  test("DescribeDirectConnectGateways: filters, ids", async () => {
    const all = await c.DescribeDirectConnectGateways({ Filters: [{ Name: "vpc-id", Values: [vpc] }] });
    assert.ok(all.DirectConnectGatewaySet.every((d) => d.VpcId === vpc));
    const fuzzy = await c.DescribeDirectConnectGateways({ Filters: [{ Name: "direct-connect-gateway-name", Values: ["dc"] }, { Name: "network-type", Values: ["CCN"] }] });
    assert.ok(fuzzy.TotalCount >= 1 && fuzzy.DirectConnectGatewaySet.every((d) => d.NetworkType === "CCN"));
    assert.equal((await c.DescribeDirectConnectGateways({ Filters: [{ Name: "ccn-id", Values: [ccn] }] })).TotalCount, 1);
    const inv = await c.DescribeDirectConnectGateways({ DirectConnectGatewayIds: [A.ids.dcg] });
    assert.equal(inv.DirectConnectGatewaySet[0].VpcId, A.ids.vpc);
    assert.equal(inv.DirectConnectGatewaySet[0].NetworkType, "VPC");
    await fails(c.DescribeDirectConnectGateways({ DirectConnectGatewayIds: [A.ids.dcg], Filters: [{ Name: "vpc-id", Values: [vpc] }] }), "InvalidParameter.Coexist");
    await fails(c.DescribeDirectConnectGateways({ Filters: [{ Name: "tag-key", Values: ["x"] }] }), "InvalidParameter.FilterInvalidKey");
  });

  test("DeleteDirectConnectGateway: UnsupportedOperation.DcgHasFlowLog until the flow log is gone", async () => {
    const d = (await c.CreateDirectConnectGateway({ DirectConnectGatewayName: "logged", NetworkType: "VPC", NetworkInstanceId: vpc })).DirectConnectGateway.DirectConnectGatewayId;
    const fl = (await c.CreateFlowLog({ FlowLogName: "dcg", ResourceType: "DCG", ResourceId: d, VpcId: vpc, TrafficType: "ALL", CloudLogId: A.ids.clsGz })).FlowLog[0];
    await fails(c.DeleteDirectConnectGateway({ DirectConnectGatewayId: d }), "UnsupportedOperation.DcgHasFlowLog", { mention: d });
    await c.DeleteFlowLog({ FlowLogId: fl.FlowLogId, VpcId: vpc });
    await c.DeleteDirectConnectGateway({ DirectConnectGatewayId: d });
    await fails(c.DeleteDirectConnectGateway({ DirectConnectGatewayId: d }), "ResourceNotFound");
    await fails(c.DeleteDirectConnectGateway({ DirectConnectGatewayId: "dcg" }), "InvalidParameterValue.Malformed");
  });
});

// ------------------------------------------------- the store is shared ---
describe("one store with inventory import", () => {
  test("the inventory may refer to what the API made, and the API sees what it imported", async () => {
    const v = (await c.CreateVpc({ VpcName: "api-made", CidrBlock: "10.80.0.0/16" })).Vpc.VpcId;
    h.importInventory(ctx.dataDir, A.Uin, {
      Region: "ap-guangzhou",
      Subnets: [{ SubnetId: "subnet-imp00001", VpcId: v, CidrBlock: "10.80.5.0/24" }],
      Instances: [{ InstanceId: "ins-imp00001", InstanceType: "S5.SMALL1" }],
    });
    const s = await c.DescribeSubnets({ Filters: [{ Name: "vpc-id", Values: [v] }] });
    assert.deepEqual(s.SubnetSet.map((x) => x.SubnetId), ["subnet-imp00001"]);
    // the imported subnet takes part in the rules: overlap, ENIs, delete
    await fails(c.CreateSubnet({ VpcId: v, SubnetName: "x", CidrBlock: "10.80.5.128/25", Zone: "z" }), "InvalidParameterValue.SubnetConflict", { mention: "subnet-imp00001" });
    const eni = (await c.CreateNetworkInterface({ VpcId: v, SubnetId: "subnet-imp00001", NetworkInterfaceName: "e" })).NetworkInterface.NetworkInterfaceId;
    await c.AttachNetworkInterface({ NetworkInterfaceId: eni, InstanceId: "ins-imp00001" });
    await fails(c.DeleteVpc({ VpcId: v }), "ResourceInUse");
    await c.DetachNetworkInterface({ NetworkInterfaceId: eni, InstanceId: "ins-imp00001" });
    await c.DeleteNetworkInterface({ NetworkInterfaceId: eni });
    await c.DeleteSubnet({ SubnetId: "subnet-imp00001" });
    await c.DeleteVpc({ VpcId: v });
  });
});

describe("addresses for the data plane", () => {
  test("an inventory ENI's PrivateIpAddresses answer as its PrivateIpAddressSet (the first primary) and Ipv6AddressSet", async () => {
    const v = (await c.CreateVpc({ VpcName: "addr", CidrBlock: "10.81.0.0/16" })).Vpc.VpcId;
    h.importInventory(ctx.dataDir, A.Uin, {
      Region: "ap-guangzhou",
      Subnets: [{ SubnetId: "subnet-addr0001", VpcId: v, CidrBlock: "10.81.1.0/24" }],
      NetworkInterfaces: [{ NetworkInterfaceId: "eni-addr0001", VpcId: v, SubnetId: "subnet-addr0001",
        PrivateIpAddresses: ["10.81.1.7", "10.81.1.8", "fd81:0:0:1:0:0:0:7"] }],
      Ccns: [{ CcnId: "ccn-addr0001", AttachedVpcs: [{ VpcId: v, Region: "ap-guangzhou", CidrBlock: "10.81.0.0/16" },
        { Region: "ap-beijing", CidrBlock: "10.82.0.0/16" }] }],
    });
    const e = (await c.DescribeNetworkInterfaces({ NetworkInterfaceIds: ["eni-addr0001"] })).NetworkInterfaceSet[0];
    L.assertShape(e, L.SHAPES.NetworkInterface, "NetworkInterface");
    assert.deepEqual(e.PrivateIpAddressSet.map((p) => [p.PrivateIpAddress, p.Primary]), [["10.81.1.7", true], ["10.81.1.8", false]]);
    assert.deepEqual(e.Ipv6AddressSet.map((p) => p.Address), ["fd81:0:0:1::7"]);
    const byIp = await c.DescribeNetworkInterfaces({ Filters: [{ Name: "address-ip", Values: ["10.81.1.8"] }] });
    assert.deepEqual(byIp.NetworkInterfaceSet.map((x) => x.NetworkInterfaceId), ["eni-addr0001"]);
    // a re-import with other addresses replaces them
    h.importInventory(ctx.dataDir, A.Uin, { NetworkInterfaces: [{ NetworkInterfaceId: "eni-addr0001", VpcId: v,
      SubnetId: "subnet-addr0001", PrivateIpAddresses: ["10.81.1.9"] }] });
    const e2 = (await c.DescribeNetworkInterfaces({ NetworkInterfaceIds: ["eni-addr0001"] })).NetworkInterfaceSet[0];
    assert.deepEqual(e2.PrivateIpAddressSet.map((p) => [p.PrivateIpAddress, p.Primary]), [["10.81.1.9", true]]);
    // what the file may not say
    for (const [bad, msg] of [
      [{ PrivateIpAddresses: ["10.81.1.300"] }, /PrivateIpAddresses\[0\] is not an IPv4 or IPv6 address/],
      [{ PrivateIpAddresses: "10.81.1.9" }, /PrivateIpAddresses must be a non-empty list/],
      [{ PrivateIpAddresses: ["10.81.1.9", "10.81.1.9"] }, /appears twice/],
    ]) {
      const r = h.importInventoryRaw(ctx.dataDir, A.Uin, { NetworkInterfaces: [Object.assign({ NetworkInterfaceId: "eni-addr0002",
        VpcId: v, SubnetId: "subnet-addr0001" }, bad)] });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, msg);
    }
    for (const [bad, msg] of [
      [[{ Region: "mars-1", CidrBlock: "10.0.0.0/8" }], /AttachedVpcs\[0\]\.Region/],
      [[{ Region: "ap-beijing", CidrBlock: "10.0.0.0/33" }], /AttachedVpcs\[0\]\.CidrBlock/],
      [[{ Region: "ap-beijing", CidrBlock: "10.0.0.0/8", Zone: "x" }], /unknown key "Zone"/],
    ]) {
      const r = h.importInventoryRaw(ctx.dataDir, A.Uin, { Ccns: [{ CcnId: "ccn-addr0002", AttachedVpcs: bad }] });
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, msg);
    }
    // CreateNetworkInterface keeps its addresses for the data plane too: the state export says so
    const made = (await c.CreateNetworkInterface({ VpcId: v, SubnetId: "subnet-addr0001", NetworkInterfaceName: "m",
      PrivateIpAddresses: [{ PrivateIpAddress: "10.81.1.20" }, { PrivateIpAddress: "10.81.1.21", Primary: true }] })).NetworkInterface;
    const st = h.cli(["state", "export", "--data", ctx.dataDir]);
    assert.equal(st.status, 0, st.stderr);
    const doc = JSON.parse(st.stdout);
    const row = (id) => doc.resources.find((r) => r.id === id);
    assert.equal(row("eni-addr0001").addrs, "10.81.1.9");
    assert.equal(row(made.NetworkInterfaceId).addrs, "10.81.1.21,10.81.1.20");
    assert.equal(row("ccn-addr0001").addrs, `${v} ap-guangzhou 10.81.0.0/16,- ap-beijing 10.82.0.0/16`);
    await c.DeleteNetworkInterface({ NetworkInterfaceId: made.NetworkInterfaceId });
  });
});

// ------------------------------------------- encodings, keys, routing ---
describe("encodings, permission and routing", () => {
  test("v1 form POST (HmacSHA256), v1 GET (HmacSHA1), TC3 GET and SDK v1 reach the resource actions", async () => {
    const keys = { port: ctx.server.port, secretId: A.SecretId, secretKey: A.SecretKey };
    const r1 = await h.rawV1Call(Object.assign({ action: "CreateVpc", params: { VpcName: "form", CidrBlock: "10.90.0.0/16", DnsServers: ["1.0.0.1"] } }, keys));
    const vpc = h.expectEnvelope(r1, null).Vpc;
    assert.deepEqual(vpc.DnsServerSet, ["1.0.0.1"]);
    const r2 = await h.rawV1Call(Object.assign({ action: "DescribeVpcs", method: "GET", signatureMethod: "HmacSHA1", params: { Filters: [{ Name: "vpc-id", Values: [vpc.VpcId] }], Limit: "5" } }, keys));
    const d = h.expectEnvelope(r2, null);
    assert.equal(d.TotalCount, 1);
    assert.equal(d.VpcSet[0].VpcName, "form");
    const r3 = await h.rawV1Call(Object.assign({ action: "CreateSubnet", params: { VpcId: vpc.VpcId, SubnetName: "f", CidrBlock: "10.90.1.0/24", Zone: "ap-guangzhou-3" } }, keys));
    const sub = h.expectEnvelope(r3, null).Subnet;
    const r4 = await h.rawV1Call(Object.assign({ action: "DescribeSubnets", params: { SubnetIds: [sub.SubnetId], Filters: [{ Name: "zone", Values: ["x"] }] } }, keys));
    h.expectEnvelope(r4, "InvalidParameter.Coexist");
    const r5 = await h.rawCall(Object.assign({ action: "DescribeNetworkInterfaces", method: "GET", query: { Filters: [{ Name: "vpc-id", Values: [A.ids.vpc] }], Limit: 3 } }, keys));
    assert.equal(h.expectEnvelope(r5, null).NetworkInterfaceSet.length, 3);
    const getClient = A.client({ reqMethod: "GET" });
    assert.equal((await getClient.DescribeCcns({ CcnIds: [A.ids.ccn] })).CcnSet[0].CcnId, A.ids.ccn);
    const v1Client = A.client({ signMethod: "HmacSHA256" });
    const nat = (await v1Client.CreateNatGateway({ NatGatewayName: "v1", VpcId: vpc.VpcId, PublicIpAddresses: ["198.51.100.9"] })).NatGatewaySet[0];
    assert.equal(nat.PublicIpAddressSet[0].PublicIpAddress, "198.51.100.9");
    await v1Client.DeleteNatGateway({ NatGatewayId: nat.NatGatewayId });
    const en = (await c.DescribeVpcs({ VpcIds: ["vpc-bad"] }).catch((e) => e));
    assert.equal(en.code, "InvalidParameterValue.Malformed");
    const english = A.client({ language: "en-US" });
    await h.expectApiError(english.DeleteVpc({ VpcId: A.ids.vpc }), "ResourceInUse", { mention: "still contains" });
  });

  test("a key limited to some actions; the rate limit applies per action", async () => {
    const k = h.createKey(ctx.dataDir, A.Uin, ["DescribeVpcs"]);
    const limited = h.vpcClient({ endpoint: ctx.server.endpoint, secretId: k.SecretId, secretKey: k.SecretKey });
    await limited.DescribeVpcs({});
    await fails(limited.CreateVpc({ VpcName: "n", CidrBlock: "10.0.0.0/16" }), "UnauthorizedOperation", { mention: "CreateVpc" });
    const raw = A.client({ retryRateLimit: false });
    const results = await Promise.allSettled(Array.from({ length: 40 }, () => raw.DescribeCcns({ Limit: 1 })));
    const limitedCount = results.filter((r) => r.status === "rejected" && r.reason.code === "RequestLimitExceeded").length;
    assert.ok(limitedCount > 0, "40 calls at once pass the 20/s limit");
  });

  test("routing: by Version, and by the service a host names", async () => {
    const keys = { port: ctx.server.port, secretId: A.SecretId, secretKey: A.SecretKey };
    // a vpc action under the tag version, and the reverse
    h.expectEnvelope(await h.rawCall(Object.assign({ action: "DescribeVpcs", version: L.TAG_VERSION, body: {} }, keys)), "NoSuchVersion");
    h.expectEnvelope(await h.rawCall(Object.assign({ action: "GetResources", version: "2017-03-12", body: {} }, keys)), "NoSuchVersion");
    // a host naming the tag service does not serve vpc actions, and vice versa
    const asTag = { headers: { host: `tag.tencentcloudapi.com:${ctx.server.port}` }, service: "tag" };
    h.expectEnvelope(await h.rawCall(Object.assign({ action: "DescribeVpcs", body: {} }, keys, asTag)), "InvalidAction");
    h.expectEnvelope(await h.rawCall(Object.assign({ action: "GetResources", version: L.TAG_VERSION, body: {} }, keys, asTag)), null);
    const asVpc = { headers: { host: `vpc.tencentcloudapi.com:${ctx.server.port}` }, service: "vpc" };
    h.expectEnvelope(await h.rawCall(Object.assign({ action: "DescribeVpcs", body: {} }, keys, asVpc)), null);
    h.expectEnvelope(await h.rawCall(Object.assign({ action: "GetResources", version: L.TAG_VERSION, body: {} }, keys, asVpc)), "InvalidAction");
    // Region: required for vpc, optional for tag
    h.expectEnvelope(await h.rawCall(Object.assign({ action: "DescribeVpcs", region: null, body: {} }, keys)), "MissingParameter");
    h.expectEnvelope(await h.rawCall(Object.assign({ action: "GetResources", version: L.TAG_VERSION, region: null, body: {} }, keys)), null);
    h.expectEnvelope(await h.rawCall(Object.assign({ action: "GetResources", version: L.TAG_VERSION, region: "", body: {} }, keys)), null);
    h.expectEnvelope(await h.rawCall(Object.assign({ action: "GetResources", version: L.TAG_VERSION, region: "mars-1", body: {} }, keys)), "UnsupportedRegion");
  });
});

// ------------------------------------------ the Terraform-like sequence ---
describe("Terraform-like sequence (issue 5 §4)", () => {
  test("VPC, subnet, ENI, attach, flow log, tag it, describe, modify, disable, enable, delete, ENI and VPC gone", async () => {
    const vpc = (await c.CreateVpc({ VpcName: "tf-vpc", CidrBlock: "172.20.0.0/16" })).Vpc.VpcId;
    const subnet = (await c.CreateSubnet({ VpcId: vpc, SubnetName: "tf-subnet", CidrBlock: "172.20.1.0/24", Zone: "ap-guangzhou-3" })).Subnet.SubnetId;
    const eniResp = await c.CreateNetworkInterface({ VpcId: vpc, SubnetId: subnet, NetworkInterfaceName: "tf-eni" });
    const eni = eniResp.NetworkInterface.NetworkInterfaceId;
    assert.equal((await c.DescribeVpcTaskResult({ TaskId: eniResp.RequestId })).Status, "SUCCESS");
    // the instance comes from the inventory
    const att = await c.AttachNetworkInterface({ NetworkInterfaceId: eni, InstanceId: A.ids.ins });
    assert.equal((await c.DescribeVpcTaskResult({ TaskId: att.RequestId })).Status, "SUCCESS");
    const created = await c.CreateFlowLog({
      FlowLogName: "tf-flowlog",
      ResourceType: "NETWORKINTERFACE",
      ResourceId: eni,
      VpcId: vpc,
      TrafficType: "ALL",
      CloudLogId: A.ids.clsGz,
      FlowLogDescription: "made by terraform",
    });
    const id = created.FlowLog[0].FlowLogId;
    // tencentcloud_vpc_flow_log sets its tags through the tag service
    await tag.ModifyResourceTags({ Resource: L.flName(id), ReplaceTags: [{ TagKey: "env", TagValue: "test" }, { TagKey: "owner", TagValue: "tf" }] });
    const tags = await tag.DescribeResourceTagsByResourceIds({ ServiceType: "vpc", ResourcePrefix: "fl", ResourceRegion: "ap-guangzhou", ResourceIds: [id], Limit: 20, Offset: 0 });
    assert.deepEqual(tags.Tags.map((t) => [t.TagKey, t.TagValue]), [["env", "test"], ["owner", "tf"]]);
    // read back by id and by VpcId
    let one = (await c.DescribeFlowLog({ FlowLogId: id, VpcId: vpc })).FlowLog[0];
    assert.deepEqual(one.TagSet, [{ Key: "env", Value: "test" }, { Key: "owner", Value: "tf" }]);
    const byVpc = await c.DescribeFlowLogs({ VpcId: vpc });
    assert.deepEqual(byVpc.FlowLog.map((f) => f.FlowLogId), [id]);
    const byTag = await c.DescribeFlowLogs({ Filters: { Name: "tag:owner", Values: ["tf"] } });
    assert.ok(byTag.FlowLog.some((f) => f.FlowLogId === id));
    // modify: name, description, tags
    await c.ModifyFlowLogAttribute({ FlowLogId: id, VpcId: vpc, FlowLogName: "tf-flowlog-2", FlowLogDescription: "changed" });
    await tag.ModifyResourceTags({ Resource: L.flName(id), ReplaceTags: [{ TagKey: "env", TagValue: "prod" }], DeleteTags: [{ TagKey: "owner" }] });
    one = (await c.DescribeFlowLog({ FlowLogId: id, VpcId: vpc })).FlowLog[0];
    assert.equal(one.FlowLogName, "tf-flowlog-2");
    assert.equal(one.FlowLogDescription, "changed");
    assert.deepEqual(one.TagSet, [{ Key: "env", Value: "prod" }]);
    // tencentcloud_vpc_flow_log_config: disable, enable
    await c.DisableFlowLogs({ FlowLogIds: [id] });
    assert.equal((await c.DescribeFlowLog({ FlowLogId: id, VpcId: vpc })).FlowLog[0].Enable, false);
    await c.EnableFlowLogs({ FlowLogIds: [id] });
    assert.equal((await c.DescribeFlowLog({ FlowLogId: id, VpcId: vpc })).FlowLog[0].Enable, true);
    // destroy, in Terraform's order
    await c.DeleteFlowLog({ FlowLogId: id, VpcId: vpc });
    await fails(c.DescribeFlowLog({ FlowLogId: id, VpcId: vpc }), "ResourceNotFound");
    const gone = await tag.DescribeResourceTagsByResourceIds({ ServiceType: "vpc", ResourcePrefix: "fl", ResourceRegion: "ap-guangzhou", ResourceIds: [id], Limit: 20, Offset: 0 });
    assert.deepEqual(gone.Tags, []);
    const det = await c.DetachNetworkInterface({ NetworkInterfaceId: eni, InstanceId: A.ids.ins });
    assert.equal((await c.DescribeVpcTaskResult({ TaskId: det.RequestId })).Status, "SUCCESS");
    await c.DeleteNetworkInterface({ NetworkInterfaceId: eni });
    await c.DeleteSubnet({ SubnetId: subnet });
    await c.DeleteVpc({ VpcId: vpc });
    assert.equal((await c.DescribeVpcs({ VpcIds: [vpc] })).TotalCount, 0);
    assert.equal((await c.DescribeNetworkInterfaces({ NetworkInterfaceIds: [eni] })).TotalCount, 0);
  });
});
