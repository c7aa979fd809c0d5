// lib_resources.js: helpers of the resource, tag and lifecycle tests
// (issue 5): the official tag client, an SDK-shaped check of output
// structures, and small builders. The harness (harness.js) is not changed.
"use strict";

const assert = require("node:assert/strict");
const h = require("./harness");

const TAG_VERSION = "2018-08-13";

/**
 * The official tag client (tencentcloud.tag.v20180813.Client) pointed at the
 * same endpoint as the VPC client. region "" sends an empty X-TC-Region (the
 * tag service is global); RequestLimitExceeded is retried like vpcClient.
 */
function tagClient({ endpoint, secretId, secretKey, region = "ap-guangzhou", language, signMethod, reqMethod } = {}) {
  const TagClient = h.sdk().tag.v20180813.Client;
  const profile = { httpProfile: { endpoint, protocol: "http://", reqTimeout: 30 } };
  if (signMethod) profile.signMethod = signMethod;
  if (reqMethod) profile.httpProfile.reqMethod = reqMethod;
  if (language) profile.language = language;
  const client = new TagClient({ credential: { secretId, secretKey }, region, profile });
  return new Proxy(client, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function" || !/^[A-Z]/.test(String(prop))) return v;
      return (...args) => h.withRateLimitRetry(() => v.apply(target, args));
    },
  });
}

/** The six-segment name of a flow log; uin "" is what Terraform sends. */
const flName = (id, { region = "ap-guangzhou", uin = "" } = {}) => `qcs::vpc:${region}:uin/${uin}:fl/${id}`;

/**
 * Asserts `obj` has every member of `spec` with the JSON type given:
 * "s" string, "b" boolean, "n" integer, "a" array, "o" object, "o?" object or
 * null. Extra members are allowed.
 */
function assertShape(obj, spec, what = "object") {
  assert.ok(obj && typeof obj === "object", `${what} is not an object: ${JSON.stringify(obj)}`);
  for (const [k, t] of Object.entries(spec)) {
    assert.ok(k in obj, `${what} lacks ${k}: ${JSON.stringify(obj)}`);
    const v = obj[k];
    const ok =
      (t === "s" && typeof v === "string") ||
      (t === "b" && typeof v === "boolean") ||
      (t === "n" && Number.isInteger(v)) ||
      (t === "a" && Array.isArray(v)) ||
      (t === "o" && v && typeof v === "object" && !Array.isArray(v)) ||
      (t === "o?" && (v === null || (typeof v === "object" && !Array.isArray(v))));
    assert.ok(ok, `${what}.${k} should be ${t}, got ${JSON.stringify(v)}`);
  }
}

/* The output structures of the spec (vpc-resource-api.json objects), with
 * the members marked output_required. */
const SHAPES = {
  Vpc: {
    VpcName: "s", VpcId: "s", CidrBlock: "s", IsDefault: "b", EnableMulticast: "b", CreatedTime: "s",
    DnsServerSet: "a", DomainName: "s", DhcpOptionsId: "s", EnableDhcp: "b", Ipv6CidrBlock: "s",
    TagSet: "a", EnableRouteVpcPublish: "b", Ipv6CidrBlockSet: "a",
  },
  Subnet: {
    VpcId: "s", SubnetId: "s", SubnetName: "s", CidrBlock: "s", IsDefault: "b", EnableBroadcast: "b",
    Zone: "s", RouteTableId: "s", CreatedTime: "s", AvailableIpAddressCount: "n", Ipv6CidrBlock: "s",
    NetworkAclId: "s", IsRemoteVpcSnat: "b", TotalIpAddressCount: "n", TagSet: "a", CdcId: "s", IsCdcSubnet: "n",
  },
  NetworkInterface: {
    NetworkInterfaceId: "s", NetworkInterfaceName: "s", NetworkInterfaceDescription: "s", SubnetId: "s",
    VpcId: "s", GroupSet: "a", Primary: "b", MacAddress: "s", State: "s", PrivateIpAddressSet: "a",
    Attachment: "o?", Zone: "s", CreatedTime: "s", Ipv6AddressSet: "a", TagSet: "a", EniType: "n",
  },
  CCN: {
    CcnId: "s", CcnName: "s", CcnDescription: "s", InstanceCount: "n", CreateTime: "s", State: "s",
    QosLevel: "s", InstanceChargeType: "s", BandwidthLimitType: "s", TagSet: "a", RoutePriorityFlag: "b",
    RouteTableCount: "n", RouteTableFlag: "b", IsSecurityLock: "b", RouteBroadcastPolicyFlag: "b",
  },
  NatGateway: {
    NatGatewayId: "s", NatGatewayName: "s", CreatedTime: "s", State: "s", InternetMaxBandwidthOut: "n",
    MaxConcurrentConnection: "n", PublicIpAddressSet: "a", NetworkState: "s",
    DestinationIpPortTranslationNatRuleSet: "a", VpcId: "s", Zone: "s", DirectConnectGatewayIds: "a",
    SubnetId: "s", TagSet: "a", SecurityGroupSet: "a", SourceIpTranslationNatRuleSet: "a", IsExclusive: "b",
    ExclusiveGatewayBandwidth: "n", RestrictState: "s", NatProductVersion: "n", StrictSnatMode: "b",
    SmartScheduleMode: "b", DedicatedClusterId: "s", DeletionProtectionEnabled: "b",
  },
  DirectConnectGateway: {
    DirectConnectGatewayId: "s", DirectConnectGatewayName: "s", VpcId: "s", NetworkType: "s",
    NetworkInstanceId: "s", GatewayType: "s", CreateTime: "s", DirectConnectGatewayIp: "s", CcnId: "s",
    CcnRouteType: "s", EnableBGP: "b", EnableBGPCommunity: "b", NatGatewayId: "s", VXLANSupport: "a",
    ModeType: "s", LocalZone: "b", Zone: "s", EnableFlowDetails: "n", FlowDetailsUpdateTime: "s", NewAfc: "n",
    AccessNetworkType: "s", HaZoneList: "a",
  },
  TagResource: { TagKey: "s", TagValue: "s", ResourceId: "s", TagKeyMd5: "s", TagValueMd5: "s", ServiceType: "s" },
};

/** A CreateFlowLog request for `eniId` in `vpcId`, storing in `ids`' CLS topic. */
function eniFlowLog(ids, eniId, vpcId, over) {
  return h.eniRequest(ids, eniId, Object.assign({ VpcId: vpcId }, over || {}));
}

/** Runs `fn` over `items` with at most `n` running at once; results in order. */
async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

module.exports = { TAG_VERSION, tagClient, flName, assertShape, SHAPES, eniFlowLog, pool };
