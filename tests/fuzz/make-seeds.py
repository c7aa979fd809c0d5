#!/usr/bin/env python3
"""make-seeds.py: (re)writes the seed corpora and the dictionary of the
libFuzzer targets in tests/fuzz/.

    python3 tests/fuzz/make-seeds.py [path/to/sdk-capture.json]

The capture defaults to ../shared/fixtures/sdk-capture.json (next to the
repository). Writes, under tests/fuzz/:

  corpus/fuzz_<target>/sdk-*      requests of the official SDK capture, laid
                                  out as each target reads its input
  corpus/fuzz_<target>/hostile-*  hand-written hostile inputs (below)
  api.dict                        field names of every input shape (from
                                  src/api/schema_gen.c and schema_extra.c),
                                  action names (spec_actions[] and the
                                  routing table in src/api/action_table.c),
                                  protocol tokens

Files named regress-* (crashes found by fuzzing, see docs/FUZZING.md) are
never touched. Old sdk-* and hostile-* files are removed first, so a seed
that is no longer generated does not linger. Every seed stays under 4 KB.
The output is deterministic: re-running it on the same inputs changes
nothing.
"""
import hashlib
import json
import os
import re
import sys
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SCHEMA_C = os.path.join(ROOT, "src", "api", "schema_gen.c")
CORPUS = os.path.join(HERE, "corpus")
DICT = os.path.join(HERE, "api.dict")
MAX_SEED = 4096

SECRET_KEY = "example-secret"  # the capture's fake key

# ==== the schema ====================================================


def read_schema():
    """(actions in spec_actions[] order, every field name of the generated
    and the hand-written shapes, every action the server routes)."""
    text = open(SCHEMA_C, encoding="utf-8").read()
    table = text[text.index("spec_actions[] = {"):]
    actions = re.findall(r'\{"(\w+)", "[\w-]+", "[\d-]+", &shape_\w+\}', table)
    extra = ""
    for name in ("schema_extra.c", "action_table.c"):
        path = os.path.join(ROOT, "src", "api", name)
        if os.path.exists(path):
            extra += open(path, encoding="utf-8").read()
    fields = sorted(set(re.findall(r'\{"(\w+)", FT_', text + extra)))
    routed = re.findall(r'\{"(\w+)", (?:VPC|TAG)\b', extra)
    actions_all = actions + [a for a in routed if a not in actions]
    if not actions or not fields:
        sys.exit("make-seeds.py: cannot read %s" % SCHEMA_C)
    return actions, fields, actions_all


# ==== writing =======================================================

written = {}


def seed(target, name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) >= MAX_SEED:
        sys.exit("make-seeds.py: seed %s/%s is %d bytes (limit %d)" %
                 (target, name, len(data), MAX_SEED))
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name)
    if path in written:
        sys.exit("make-seeds.py: seed %s written twice" % path)
    written[path] = True
    with open(path, "wb") as f:
        f.write(data)


def clean():
    if not os.path.isdir(CORPUS):
        return
    for target in os.listdir(CORPUS):
        d = os.path.join(CORPUS, target)
        for f in os.listdir(d):
            if f.startswith("sdk-") or f.startswith("hostile-"):
                os.remove(os.path.join(d, f))


def nul(*parts):
    return b"\0".join(p if isinstance(p, bytes) else p.encode("utf-8") for p in parts)


# ==== the SDK capture ===============================================

NOISE = {"accept", "accept-encoding", "connection", "user-agent", "x-tc-traceid",
         "content-length"}


def requests(capture):
    for sc in capture["scenarios"]:
        for c in sc.get("captured") or []:
            yield sc["label"], sc.get("action"), c


def header(c, name):
    for k, v in c["rawHeaders"]:
        if k.lower() == name:
            return v
    return None


def tc3_parts(auth):
    """(signed headers, date, service) of a TC3 Authorization value."""
    m = re.match(r"TC3-HMAC-SHA256 Credential=[^/]+/([^/]+)/([^/]+)/tc3_request, "
                 r"SignedHeaders=([^,]+), Signature=", auth)
    return (m.group(3), m.group(1), m.group(2)) if m else None


def from_capture(capture, actions):
    for label, action, c in requests(capture):
        method, query, body = c["method"], c.get("rawQuery") or "", c.get("body") or ""
        ctype = (header(c, "content-type") or "").lower()
        auth = header(c, "authorization")
        idx = actions.index(action) if action in actions else 0
        headers = [(k, v) for k, v in c["rawHeaders"] if k.lower() not in NOISE]

        # form / query decoder: raw queries and form bodies
        if query:
            seed("fuzz_form", "sdk-query-" + label, bytes([idx]) + query.encode())
        if "x-www-form-urlencoded" in ctype and body:
            seed("fuzz_form", "sdk-form-" + label, bytes([idx]) + body.encode())

        # JSON input: TC3 JSON bodies
        if "json" in ctype and body:
            seed("fuzz_json_input", "sdk-" + label, bytes([idx]) + body.encode())

        # Authorization header values
        if auth:
            seed("fuzz_authorization", "sdk-" + label, auth)

        # TC3 canonical request: method, query, signed headers, date,
        # service, timestamp, key, up to 12 headers, body
        if auth and tc3_parts(auth):
            sh, date, service = tc3_parts(auth)
            ts = header(c, "x-tc-timestamp") or ""
            hs = []
            for k, v in headers[:12]:
                hs += [k, v]
            seed("fuzz_tc3_canonical", "sdk-" + label,
                 nul(method, query, sh, date, service, ts, SECRET_KEY, *hs, body))

        # v1: host, key, then the decoded parameters in the order sent
        if not auth:
            raw = query if method == "GET" else body
            params = urllib.parse.parse_qsl(raw, keep_blank_values=True)
            flat = []
            for k, v in params:
                flat += [k, v]
            seed("fuzz_v1_sign", "sdk-" + label,
                 nul(header(c, "host") or "", SECRET_KEY, *flat))

        # the whole API: as captured (mode 0) and re-signed by the harness
        # (mode 1 for TC3, 2 for v1)
        hs = []
        for k, v in headers:
            hs += [k, v]
        seed("fuzz_api", "sdk-raw-" + label, nul("0", method, c["path"], query, *hs, body))
        mode = "1" if auth else "2"
        seed("fuzz_api", "sdk-signed-" + label, nul(mode, method, c["path"], query, *hs, body))


# ==== hand-written hostile inputs ===================================


def hostile_form(actions):
    a = {name: bytes([i]) for i, name in enumerate(actions)}
    all_shape = bytes([len(actions)])  # the harness's local shape of every type
    create = a["CreateFlowLog"]
    base = b"FlowLogName=fl&ResourceType=VPC&ResourceId=vpc-aaaa0001&TrafficType=ALL"
    cases = {
        "nul-escape": create + base + b"&FlowLogDescription=a%00b",
        "raw-nul": create + base + b"&FlowLogDescription=a\0b",
        "bad-escape": create + b"FlowLogName=%G1",
        "short-escape": create + b"FlowLogName=%4",
        "trailing-percent": create + b"FlowLogName=x%",
        "overlong-utf8": create + base + b"&FlowLogDescription=%C0%AF",
        "overlong-raw": create + base + b"&FlowLogDescription=\xc0\xaf",
        "surrogate": create + b"FlowLogName=%ED%A0%80",
        "beyond-10ffff": create + b"FlowLogName=%F4%90%80%80",
        "plus-space": create + b"FlowLogName=a+b&ResourceType=+VPC+",
        "duplicate-name": create + base + b"&VpcId=a&VpcId=b",
        "duplicate-index": create + base + b"&Tags.1.Key=a&Tags.01.Key=b",
        "tags-gap": create + base + b"&Tags.3.Key=a&Tags.999999999.Key=b&Tags.0.Value=v",
        "tags-value-only": create + base + b"&Tags.3.Value=x",
        "list-scalar": create + base + b"&Tags=x",
        "list-elem-scalar": create + base + b"&Tags.0=x",
        "index-not-number": create + base + b"&Tags.x.Key=1&Tags.-1.Key=2&Tags.1e3.Key=3",
        "index-overflow": create + base + b"&Tags.18446744073709551616.Key=a",
        "after-scalar": create + base + b"&VpcId.0=a&FlowLogName.x=b",
        "object-value": create + base + b"&FlowLogStorage=x&FlowLogStorage.StorageId=a",
        "deep-name": create + b"Tags.0.Key" + b".0" * 300 + b"=x",
        "long-name": create + b"A" * 3000 + b"=1",
        "empty-segments": create + b"&&&=&a&&=b&" + base,
        "uint-huge": create + base + b"&Period=99999999999999999999",
        "uint-neg": create + base + b"&Period=-1",
        "uint-max": create + base + b"&Period=9223372036854775808",
        "common-params": create + base + b"&Action=CreateFlowLog&Version=2017-03-12"
        b"&Region=ap-guangzhou&Timestamp=1&Nonce=2&SecretId=x&Signature=y",
        "filters-both": a["DescribeFlowLogs"] + b"Filters.Name=tag-key&Filters.0.Name=tag:a"
        b"&Filters.0.Values.0=b",
        "filters-object": a["DescribeFlowLogs"] + b"Filters.Name=tag-key&Filters.Values.0=a"
        b"&Filters.Values.7=b",
        "filters-list": a["DescribeFlowLogs"] + b"Filters.1.Name=tag:k&Filters.1.Values.0=v"
        b"&Filters.0.Name=tag-key&Filters.0.Values.2=k&Offset=0&Limit=100",
        "enable-many": a["EnableFlowLogs"] + b"&".join(
            b"FlowLogIds.%d=fl-%08d" % (i, i) for i in range(0, 120)),
        "modify": a["ModifyFlowLogAttribute"] + b"FlowLogId=fl-aaaa0001&FlowLogName=%E4%B8%AD"
        b"&FlowLogDescription=&VpcId=vpc-aaaa0001",
        "all-types": all_shape + b"S=%E2%82%AC&I=-9223372036854775808&U=9223372036854775807"
        b"&B=true&F=1e308&Is.0=1&Us.5=2&Bs.0=false&Fs.0=-0.5e-3&Ss.2=&O.K=x&O.L.3=4"
        b"&Os.0.K=a&Os.0.N=-1&X.0.K=a&X.1.K=b",
        "all-bad-numbers": all_shape + b"I=+1&U=0x10&B=TRUE&F=inf&Is.0=9223372036854775808"
        b"&Fs.0=nan&Fs.1=1e999&Us.0=-0",
        "all-obj-or-list": all_shape + b"X.K=a&X.0.K=b&X.L.0=1",
    }
    for name, data in cases.items():
        seed("fuzz_form", "hostile-" + name, data)


def hostile_json(actions):
    a = {name: bytes([i]) for i, name in enumerate(actions)}
    create = a["CreateFlowLog"]
    ok = (b'"FlowLogName":"fl","ResourceType":"VPC","ResourceId":"vpc-aaaa0001",'
          b'"TrafficType":"ALL"')
    cases = {
        "deep-array": create + b"[" * 1000 + b"]" * 1000,
        "deep-object": create + b'{"a":' * 70 + b"1" + b"}" * 70,
        "deep-in-string": create + b'{"FlowLogName":"' + b"[" * 200 + b'",' + ok[16:] + b"}",
        "deep-64": create + b'{"Tags":' + b"[" * 62 + b"]" * 62 + b"}",
        "deep-65": create + b'{"Tags":' + b"[" * 64 + b"]" * 64 + b"}",
        "escaped-quote-bracket": create + b'{"FlowLogName":"\\"[[[[","x":[]}',
        "duplicate-key": create + b"{" + ok + b',"VpcId":"a","VpcId":"b"}',
        "nul-escape": create + b"{" + ok + b',"FlowLogDescription":"a\\u0000b"}',
        "nul-in-key": create + b'{"Flow\\u0000LogName":"x"}',
        "raw-nul": create + b'{"FlowLogName":"a\0b"}',
        "huge-int": create + b"{" + ok + b',"Period":123456789012345678901234567890}',
        "huge-real": create + b"{" + ok + b',"Period":1e400}',
        "neg-period": create + b"{" + ok + b',"Period":-1}',
        "real-period": create + b"{" + ok + b',"Period":600.0}',
        "minus-zero": create + b"{" + ok + b',"Period":-0}',
        "overlong-utf8": create + b'{"FlowLogName":"\xc0\xaf"}',
        "lone-surrogate": create + b'{"FlowLogName":"\\ud800"}',
        "surrogate-pair": create + b"{" + ok + b',"FlowLogDescription":"\\ud83d\\ude00"}',
        "bom": create + b"\xef\xbb\xbf{" + ok + b"}",
        "trailing-data": create + b"{" + ok + b"} x",
        "not-object": create + b"[1,2]",
        "scalar": create + b"42",
        "empty": create,
        "nulls": create + b"{" + ok + b',"VpcId":null,"Tags":[null]}',
        "required-null": create + b'{"FlowLogName":null}',
        "unknown-nested": create + b"{" + ok + b',"Tags":[{"Key":"a","Kee":"b"}]}',
        "wrong-types": create + b'{"FlowLogName":1,"Tags":{},"FlowLogStorage":[]}',
        "filters-object": a["DescribeFlowLogs"] + b'{"Filters":{"Name":"tag-key","Values":["a"]}}',
        "filters-list": a["DescribeFlowLogs"] + b'{"Filters":[{"Name":"tag:k","Values":["v"]},'
        b'{"Name":"tag-key","Values":[]}],"Offset":0,"Limit":18446744073709551615}',
        "enable-ids": a["EnableFlowLogs"] + b'{"FlowLogIds":["fl-aaaa0001","fl-aaaa0001",1]}',
    }
    for name, data in cases.items():
        seed("fuzz_json_input", "hostile-" + name, data)


def hostile_authorization():
    sig = "a" * 64
    good = ("TC3-HMAC-SHA256 Credential=AKIDexample/2026-11-27/vpc/tc3_request, "
            "SignedHeaders=content-type;host, Signature=" + sig)
    cases = {
        "lower-algorithm": good.replace("TC3-HMAC-SHA256", "tc3-hmac-sha256"),
        "no-space": good.replace("TC3-HMAC-SHA256 ", "TC3-HMAC-SHA256"),
        "tabs": good.replace(", ", ",\t\t"),
        "no-spaces-after-comma": good.replace(", ", ","),
        "reordered": "TC3-HMAC-SHA256 Signature=%s, SignedHeaders=content-type;host, "
        "Credential=AKIDexample/2026-11-27/vpc/tc3_request" % sig,
        "duplicate-field": good + ", Signature=" + sig,
        "trailing-comma": good + ",",
        "missing-signature": good[:good.index(", Signature")],
        "unknown-field": good + ", Foo=bar",
        "upper-signature": good.replace(sig, "A" * 64),
        "short-signature": good.replace(sig, "a" * 63),
        "unsorted-headers": good.replace("content-type;host", "host;content-type"),
        "upper-headers": good.replace("content-type;host", "Content-Type;host"),
        "empty-header-name": good.replace("content-type;host", "content-type;;host"),
        "duplicate-header": good.replace("content-type;host", "content-type;content-type;host"),
        "many-headers": good.replace("content-type;host", "a;b;c;content-type;host;x-tc-action;"
                                     "x-tc-content-sha256;x-tc-timestamp"),
        "long-headers": good.replace("content-type;host", "content-type;host;" + "z" * 500),
        "service-upper": good.replace("/vpc/", "/VPC/"),
        "service-long": good.replace("/vpc/", "/" + "v" * 64 + "/"),
        "service-empty": good.replace("/vpc/", "//"),
        "id-empty": good.replace("AKIDexample", ""),
        "id-long": good.replace("AKIDexample", "A" * 129),
        "id-space": good.replace("AKIDexample", "AKID example"),
        "date-bad": good.replace("2026-11-27", "2026/11/27"),
        "extra-slash": good.replace("/tc3_request", "/x/tc3_request"),
        "terminator": good.replace("tc3_request", "tc3_requesT"),
        "too-long": good + " " * 2100,
        "nul-inside": good[:40] + "\0" + good[40:],
        "only-algorithm": "TC3-HMAC-SHA256",
        "empty": "",
        "equals-in-id": good.replace("AKIDexample", "AKID=x"),
    }
    for name, data in cases.items():
        seed("fuzz_authorization", "hostile-" + name, data)


def hostile_tc3():
    body = '{"FlowLogId":"fl-aaaa0001"}'
    base = ["POST", "", "content-type;host", "2026-11-27", "vpc", "1795817648", SECRET_KEY]
    cases = {
        "unsigned-payload": nul(*base[:2], "content-type;host;x-tc-content-sha256", *base[3:],
                                "Content-Type", "application/json", "Host", "vpc.x:443",
                                "X-TC-Content-SHA256", " UNSIGNED-PAYLOAD ", body),
        "ipv6-host": nul(*base, "host", "[::1]:8080", "content-type", "a/b", body),
        "ipv6-no-port": nul(*base, "Host", "[::1]", body),
        "host-colon": nul(*base, "Host", "example:", body),
        "host-digits": nul(*base, "Host", "12345", body),
        "values-ws": nul(*base, "Host", " \t\r\nA.B:1 \v", "Content-Type", "\t APP/JSON \n", body),
        "empty-names": nul(base[0], base[1], ";;", *base[3:], body),
        "missing-headers": nul(*base, body),
        "duplicate-headers": nul(*base, "Host", "a", "HOST", "b", "host", "c", body),
        "get-query": nul("GET", "Action=x&b=%20&c", *base[2:], "Host", "h", ""),
        "body-nuls": nul(*base, "Host", "h") + b"\0a\0b\0c\0",
        "long-key": nul(*base[:6], "k" * 600, body),
        "long-ts": nul(*base[:5], "9" * 700, SECRET_KEY, body),
        "empty-all": b"\0" * 8,
    }
    for name, data in cases.items():
        seed("fuzz_tc3_canonical", "hostile-" + name, data)


def hostile_v1():
    cases = {
        "many-params": nul("h:1", "k", "*a", "1", "b", "2", "Signature", "x", "a", "3"),
        "same-names": nul("h", "k", "a", "2", "a", "1", "a", "3", "Signature", "s", "Signature"),
        "no-value": nul("h", "k", "lonely"),
        "sha256": nul("h", "k", "SignatureMethod", "HmacSHA256", "Nonce", "1"),
        "sha256-case": nul("h", "k", "SignatureMethod", "hmacsha256"),
        "empty-key": nul("h", "", "a", "b"),
        "long-key": nul("h", "k" * 3000, "a", "b"),
        "utf8": nul("h", "k", "\u4e2d", "\u6587", "\xe9", "x"),
        "sort-bytes": nul("h", "k", "b", "1", "B", "2", "_", "3", "a", "4", "\x7f", "5"),
        "empty": b"",
    }
    for name, data in cases.items():
        seed("fuzz_v1_sign", "hostile-" + name, data)


FULL_INVENTORY = {
    "Region": "ap-guangzhou",
    "Vpcs": [{"VpcId": "vpc-aaaa0001", "VpcName": "prod", "CidrBlock": "10.0.0.0/16"},
             {"VpcId": "vpc-aaaa0002"}],
    "Subnets": [{"SubnetId": "subnet-aaaa0001", "VpcId": "vpc-aaaa0001",
                 "CidrBlock": "10.0.1.0/24", "SubnetName": "a"}],
    "Instances": [{"InstanceId": "ins-aaaa0001", "InstanceType": "S5.MEDIUM4"},
                  {"InstanceId": "ins-aaaa0002", "InstanceType": "KO1.LARGE8"}],
    "NetworkInterfaces": [
        {"NetworkInterfaceId": "eni-aaaa0001", "VpcId": "vpc-aaaa0001",
         "SubnetId": "subnet-aaaa0001", "InstanceId": "ins-aaaa0001",
         "NetworkInterfaceName": "n"},
        {"NetworkInterfaceId": "eni-aaaa0002", "VpcId": "vpc-aaaa0001",
         "SubnetId": "subnet-aaaa0001"}],
    "Ccns": [{"CcnId": "ccn-aaaa0001", "CcnName": "c"}],
    "NatGateways": [{"NatGatewayId": "nat-aaaa0001", "VpcId": "vpc-aaaa0001",
                     "NatProductVersion": 2, "HasDnatRule": False, "NatGatewayName": "n"}],
    "DirectConnectGateways": [{"DirectConnectGatewayId": "dcg-aaaa0001",
                               "VpcId": "vpc-aaaa0001", "DirectConnectGatewayName": "d"}],
    "ClsTopics": [{"TopicId": "0f8e7d6c-1111-4222-8333-444455556666", "Region": "ap-shanghai",
                   "TopicName": "t"}],
    "CkafkaInstances": [{"InstanceId": "ckafka-aaaa0001", "Edition": "profession",
                         "Topics": ["t1", "t2"], "InstanceName": "k"}],
}


def hostile_inventory():
    def j(o):
        return json.dumps(o, ensure_ascii=False, separators=(",", ":"))

    def with_(key, value):
        o = dict(FULL_INVENTORY)
        o[key] = value
        return j(o)

    readme = ('{ "Region": "ap-guangzhou",\n'
              '  "Vpcs": [{"VpcId": "vpc-1a2b3c4d"}],\n'
              '  "Subnets": [{"SubnetId": "subnet-1a2b3c4d", "VpcId": "vpc-1a2b3c4d"}],\n'
              '  "Instances": [{"InstanceId": "ins-1a2b3c4d", "InstanceType": "S5.MEDIUM4"}],\n'
              '  "NetworkInterfaces": [{"NetworkInterfaceId": "eni-1a2b3c4d", '
              '"VpcId": "vpc-1a2b3c4d",\n'
              '                         "SubnetId": "subnet-1a2b3c4d", '
              '"InstanceId": "ins-1a2b3c4d"}],\n'
              '  "ClsTopics": [{"TopicId": "0f8e7d6c-1111-4222-8333-444455556666"}] }\n')
    cases = {
        "readme": readme,
        "full": j(FULL_INVENTORY),
        "empty-lists": j({k: [] for k in FULL_INVENTORY if k != "Region"}),
        "unknown-key": with_("Vpc", []),
        "unknown-entry-key": with_("Vpcs", [{"VpcId": "vpc-aaaa0001", "Cidr": "x"}]),
        "duplicate-key": '{"Vpcs":[],"Vpcs":[]}',
        "duplicate-id": with_("Vpcs", [{"VpcId": "vpc-aaaa0001"}, {"VpcId": "vpc-aaaa0001"}]),
        "dangling-vpc": with_("Subnets", [{"SubnetId": "subnet-aaaa0009", "VpcId": "vpc-zzzz9999"}]),
        "eni-wrong-vpc": with_("NetworkInterfaces", [
            {"NetworkInterfaceId": "eni-aaaa0003", "VpcId": "vpc-aaaa0002",
             "SubnetId": "subnet-aaaa0001"}]),
        "bad-id-form": with_("Vpcs", [{"VpcId": "vpc-AAAA0001"}]),
        "id-too-long": with_("Vpcs", [{"VpcId": "vpc-aaaa00011"}]),
        "name-too-long": with_("Vpcs", [{"VpcId": "vpc-aaaa0001", "VpcName": "n" * 300},
                                        {"VpcId": "vpc-aaaa0002"}]),
        "name-utf8": with_("Ccns", [{"CcnId": "ccn-aaaa0001", "CcnName": "\u4e2d" * 100}]),
        "nat-version": with_("NatGateways", [{"NatGatewayId": "nat-aaaa0001",
                                              "VpcId": "vpc-aaaa0001", "NatProductVersion": 3}]),
        "nat-version-real": with_("NatGateways", [{"NatGatewayId": "nat-aaaa0001",
                                                   "VpcId": "vpc-aaaa0001",
                                                   "NatProductVersion": 2.0}]),
        "dnat-string": with_("NatGateways", [{"NatGatewayId": "nat-aaaa0001",
                                              "VpcId": "vpc-aaaa0001", "HasDnatRule": "yes"}]),
        "topic-bad-uuid": with_("ClsTopics", [{"TopicId": "0f8e7d6c-1111-4222-8333-44445555666"}]),
        "topic-bad-region": with_("ClsTopics", [{"TopicId": "0f8e7d6c-1111-4222-8333-444455556666",
                                                 "Region": "mars-1"}]),
        "topic-long-region": with_("ClsTopics", [{"TopicId": "0f8e7d6c-1111-4222-8333-444455556666",
                                                  "Region": "r" * 40}]),
        "ckafka-topic-slash": with_("CkafkaInstances", [{"InstanceId": "ckafka-aaaa0001",
                                                         "Topics": ["a/b"]}]),
        "ckafka-topic-128": with_("CkafkaInstances", [{"InstanceId": "ckafka-aaaa0001",
                                                       "Topics": ["t" * 128, "u" * 129]}]),
        "ckafka-topic-dup": with_("CkafkaInstances", [{"InstanceId": "ckafka-aaaa0001",
                                                       "Topics": ["t", "t"]}]),
        "ckafka-edition": with_("CkafkaInstances", [{"InstanceId": "ckafka-aaaa0001",
                                                     "Edition": "basic"}]),
        "ckafka-topics-type": with_("CkafkaInstances", [{"InstanceId": "ckafka-aaaa0001",
                                                         "Topics": "t"}]),
        "region-unknown": with_("Region", "ap-nowhere"),
        "region-number": with_("Region", 1),
        "section-object": with_("Vpcs", {"VpcId": "vpc-aaaa0001"}),
        "entry-not-object": with_("Vpcs", ["vpc-aaaa0001"]),
        "id-not-string": with_("Vpcs", [{"VpcId": 1}]),
        "nul-in-id": '{"Vpcs":[{"VpcId":"vpc-aaaa\\u00000001"}]}',
        "deep": '{"Vpcs":' + "[" * 1500 + "]" * 1500 + "}",
        "not-object": "[]",
        "invalid-utf8": b'{"Vpcs":[{"VpcId":"vpc-aaaa0001","VpcName":"\xc0\xaf"}]}',
        "truncated": j(FULL_INVENTORY)[:200],
        "huge-number": '{"NatGateways":[{"NatGatewayId":"nat-aaaa0001","VpcId":"vpc-aaaa0001",'
                       '"NatProductVersion":1e400}],"Vpcs":[{"VpcId":"vpc-aaaa0001"}]}',
    }
    for name, data in cases.items():
        seed("fuzz_inventory", "hostile-" + name, data)


def hostile_api():
    """Requests that the harness signs (modes 1, 2) with the inventory of
    fuzz_api.c, so the handlers' success paths are in the corpus."""
    host = "vpc.tencentcloudapi.com"

    def tc3(action, body, region="ap-guangzhou", extra=(), service="vpc"):
        version = "2018-08-13" if service == "tag" else "2017-03-12"
        return nul("1", "POST", "/", "", "Host", service + ".tencentcloudapi.com",
                   "Content-Type", "application/json", "X-TC-Action", action,
                   "X-TC-Version", version, "X-TC-Region", region, *extra, body)

    def tag(action, body):
        return tc3(action, body, service="tag")

    fl1 = "qcs::vpc:ap-guangzhou:uin/:fl/fl-aaaa0001"
    fl2 = "qcs::vpc:ap-guangzhou:uin/:fl/fl-aaaa0002"

    def v1(action, params, method="GET"):
        q = "Action=%s&Version=2017-03-12&Region=ap-guangzhou&%s" % (action, params)
        if method == "GET":
            return nul("2", "GET", "/", q, "Host", host)
        return nul("2", "POST", "/", "", "Host", host, "Content-Type",
                   "application/x-www-form-urlencoded", q)

    create = {"FlowLogName": "web", "ResourceType": "NETWORKINTERFACE",
              "ResourceId": "eni-aaaa0001", "TrafficType": "ALL", "VpcId": "vpc-aaaa0001",
              "CloudLogId": "0f8e7d6c-1111-4222-8333-444455556666",
              "Tags": [{"Key": "team", "Value": "web"}]}
    cases = {
        "create-eni": tc3("CreateFlowLog", json.dumps(create)),
        "create-vpc": tc3("CreateFlowLog", json.dumps(dict(create, ResourceType="VPC",
                                                           ResourceId="vpc-aaaa0001"))),
        "create-ccn": tc3("CreateFlowLog", json.dumps(
            {"FlowLogName": "c", "ResourceType": "CCN", "ResourceId": "ccn-aaaa0001",
             "TrafficType": "ALL", "CloudLogId": "0f8e7d6c-1111-4222-8333-444455556666",
             "Period": 5})),
        "create-nat-dpdk": tc3("CreateFlowLog", json.dumps(
            dict(create, ResourceType="NAT", ResourceId="nat-aaaa0001", TrafficType="ACCEPT"))),
        "create-ckafka": tc3("CreateFlowLog", json.dumps(
            dict(create, ResourceType="SUBNET", ResourceId="subnet-aaaa0001",
                 StorageType="ckafka", CloudLogId=None,
                 FlowLogStorage={"StorageId": "ckafka-aaaa0001", "StorageTopic": "t1"}))),
        "describe-all": tc3("DescribeFlowLogs", '{"Limit":100,"OrderField":"flowLogName",'
                            '"OrderDirection":"ASC"}'),
        "describe-filters": tc3("DescribeFlowLogs", '{"Filters":[{"Name":"tag-key","Values":'
                                '["team"]},{"Name":"tag:team","Values":["web"]}]}'),
        # fl-aaaa0001 (ENI), fl-aaaa0002 (CCN), fl-aaaa0003 (subnet, ckafka) are
        # the fixed flow logs fuzz_api.c keeps in its store
        "describe-one": tc3("DescribeFlowLog", '{"FlowLogId":"fl-aaaa0001","VpcId":"vpc-aaaa0001"}'),
        "describe-ccn": tc3("DescribeFlowLog", '{"FlowLogId":"fl-aaaa0002"}'),
        "describe-id": tc3("DescribeFlowLogs", '{"FlowLogId":"fl-aaaa0003","VpcId":"vpc-aaaa0001"}'),
        "modify": tc3("ModifyFlowLogAttribute", '{"FlowLogId":"fl-aaaa0001","VpcId":"vpc-aaaa0001",'
                      '"FlowLogName":"x","FlowLogDescription":"d"}'),
        "modify-ccn": tc3("ModifyFlowLogAttribute", '{"FlowLogId":"fl-aaaa0002","Period":60}'),
        "enable": tc3("EnableFlowLogs", '{"FlowLogIds":["fl-aaaa0001"]}'),
        "disable": tc3("DisableFlowLogs", '{"FlowLogIds":["fl-aaaa0001","fl-aaaa0002"]}'),
        "delete": tc3("DeleteFlowLog", '{"FlowLogId":"fl-aaaa0001","VpcId":"vpc-aaaa0001"}'),
        "delete-ccn": tc3("DeleteFlowLog", '{"FlowLogId":"fl-aaaa0002"}'),
        "lang-en": tc3("DescribeFlowLogs", "{}", extra=("X-TC-Language", "en-US")),
        "token": tc3("DescribeFlowLogs", "{}", extra=("X-TC-Token", "t")),
        "other-region": tc3("DescribeFlowLogs", "{}", region="ap-shanghai"),
        "bad-region": tc3("DescribeFlowLogs", "{}", region="mars-1"),
        "unknown-action": tc3("CreateVpc", "{}"),
        # the other VPC resources and the tag service
        "create-vpc-res": tc3("CreateVpc", '{"VpcName":"v","CidrBlock":"10.8.0.0/16",'
                              '"Tags":[{"Key":"a","Value":"b"}],"DnsServers":["1.1.1.1"]}'),
        "describe-vpcs": tc3("DescribeVpcs", '{"Filters":[{"Name":"vpc-name","Values":'
                             '["prod"]}],"Offset":"0","Limit":"20"}'),
        "describe-vpcs-ids": tc3("DescribeVpcs", '{"VpcIds":["vpc-aaaa0001","vpc-aaaa0002"]}'),
        "delete-vpc": tc3("DeleteVpc", '{"VpcId":"vpc-aaaa0002"}'),
        "create-subnet": tc3("CreateSubnet", '{"VpcId":"vpc-aaaa0001","SubnetName":"s",'
                             '"CidrBlock":"10.0.9.0/24","Zone":"ap-guangzhou-3"}'),
        "describe-subnets": tc3("DescribeSubnets", '{"Filters":[{"Name":"vpc-id","Values":'
                                '["vpc-aaaa0001"]}]}'),
        "delete-subnet": tc3("DeleteSubnet", '{"SubnetId":"subnet-aaaa0001"}'),
        "create-eni": tc3("CreateNetworkInterface", '{"VpcId":"vpc-aaaa0001","SubnetId":'
                          '"subnet-aaaa0001","NetworkInterfaceName":"n","PrivateIpAddresses":'
                          '[{"PrivateIpAddress":"10.0.1.9","Primary":true}],'
                          '"SecondaryPrivateIpAddressCount":1}'),
        "describe-enis": tc3("DescribeNetworkInterfaces", '{"NetworkInterfaceIds":'
                             '["eni-aaaa0001"]}'),
        "attach-eni": tc3("AttachNetworkInterface", '{"NetworkInterfaceId":"eni-aaaa0002",'
                          '"InstanceId":"ins-aaaa0001"}'),
        "detach-eni": tc3("DetachNetworkInterface", '{"NetworkInterfaceId":"eni-aaaa0001",'
                          '"InstanceId":"ins-aaaa0001"}'),
        "delete-eni": tc3("DeleteNetworkInterface", '{"NetworkInterfaceId":"eni-aaaa0003"}'),
        "task-result": tc3("DescribeVpcTaskResult", '{"TaskId":"1"}'),
        "create-ccn-res": tc3("CreateCcn", '{"CcnName":"c","QosLevel":"AU",'
                              '"InstanceChargeType":"POSTPAID"}'),
        "describe-ccns": tc3("DescribeCcns", '{"CcnIds":["ccn-aaaa0001"],"OrderField":'
                             '"CreateTime","OrderDirection":"DESC"}'),
        "delete-ccn-res": tc3("DeleteCcn", '{"CcnId":"ccn-aaaa0001"}'),
        "create-nat": tc3("CreateNatGateway", '{"NatGatewayName":"n","VpcId":"vpc-aaaa0001",'
                          '"InternetMaxBandwidthOut":100,"MaxConcurrentConnection":1000000,'
                          '"AddressCount":1,"NatProductVersion":2}'),
        "describe-nats": tc3("DescribeNatGateways", '{"NatGatewayIds":["nat-aaaa0001"]}'),
        "delete-nat": tc3("DeleteNatGateway", '{"NatGatewayId":"nat-aaaa0002"}'),
        "create-dcg": tc3("CreateDirectConnectGateway", '{"DirectConnectGatewayName":"d",'
                          '"NetworkType":"VPC","NetworkInstanceId":"vpc-aaaa0001",'
                          '"GatewayType":"NORMAL"}'),
        "describe-dcgs": tc3("DescribeDirectConnectGateways", '{"Filters":[{"Name":'
                             '"direct-connect-gateway-name","Values":["d"]}]}'),
        "delete-dcg": tc3("DeleteDirectConnectGateway", '{"DirectConnectGatewayId":'
                          '"dcg-aaaa0001"}'),
        "tag-resources": tag("TagResources", json.dumps(
            {"ResourceList": [fl1, fl2], "Tags": [{"TagKey": "k", "TagValue": "v"}]})),
        "untag-resources": tag("UnTagResources", json.dumps(
            {"ResourceList": [fl1], "TagKeys": ["team"]})),
        "modify-resource-tags": tag("ModifyResourceTags", json.dumps(
            {"Resource": fl1, "ReplaceTags": [{"TagKey": "env", "TagValue": "prod"}],
             "DeleteTags": [{"TagKey": "team"}]})),
        "describe-resource-tags": tag("DescribeResourceTagsByResourceIds", json.dumps(
            {"ServiceType": "vpc", "ResourcePrefix": "fl", "ResourceIds": ["fl-aaaa0001"],
             "ResourceRegion": "ap-guangzhou", "Limit": 10})),
        "get-resources": tag("GetResources", json.dumps(
            {"TagFilters": [{"TagKey": "team", "TagValue": ["web"]}], "MaxResults": 5})),
        "get-resources-page": tag("GetResources", json.dumps(
            {"ResourceList": [fl1, fl2], "PaginationToken": "ap-guangzhou/fl-aaaa0001",
             "MaxResults": 1})),
        "create-eni-ips": tc3("CreateNetworkInterface", '{"VpcId":"vpc-aaaa0001","SubnetId":'
                              '"subnet-aaaa0001","NetworkInterfaceName":"m"}'),
        "v1-get-describe": v1("DescribeFlowLogs", "Limit=10&Filters.0.Name=tag-key"
                              "&Filters.0.Values.0=team"),
        "v1-post-create": v1("CreateFlowLog", "FlowLogName=v1&ResourceType=VPC"
                             "&ResourceId=vpc-aaaa0002&TrafficType=REJECT&Tags.0.Key=a"
                             "&SignatureMethod=HmacSHA256", method="POST"),
        "v1-json": nul("2", "POST", "/", "", "Host", host, "Content-Type", "application/json",
                       '{"Action":"DescribeFlowLogs"}'),
        "not-found": nul("0", "GET", "/x", ""),
        "bad-method": nul("0", "PUT", "/", ""),
        "no-content-type": nul("1", "POST", "/", "", "Host", host, "X-TC-Action",
                               "DescribeFlowLogs", "{}"),
        "long-query": nul("0", "GET", "/", "a=" + "b" * 3000),
    }
    for name, data in cases.items():
        seed("fuzz_api", "hostile-" + name, data)


# ==== the dictionary ================================================

TOKENS = [
    # TC3 and v1 signing
    "TC3-HMAC-SHA256", "Credential=", "SignedHeaders=", "Signature=", "tc3_request",
    "content-type", "host", "content-type;host", "x-tc-content-sha256", "UNSIGNED-PAYLOAD",
    "HmacSHA1", "HmacSHA256", ", ", "/2026-11-27/", "/vpc/", "AKIDexample",
    # headers and common parameters
    "Authorization", "Host", "Content-Type", "X-TC-Action", "X-TC-Version", "X-TC-Region",
    "X-TC-Timestamp", "X-TC-Token", "X-TC-Language", "X-TC-RequestClient",
    "Action", "Version", "Region", "Timestamp", "Nonce", "SecretId", "SignatureMethod",
    "Token", "Language", "RequestClient", "en-US", "zh-CN", "2017-03-12", "2018-08-13",
    "application/json", "application/x-www-form-urlencoded", "GET", "POST",
    "vpc.tencentcloudapi.com", "127.0.0.1:45175",
    # encodings and hostile bits
    "%00", "\\u0000", "%25", "%2B", "%26", "%3D", "%C0%AF", "%ED%A0%80", "\\ud800",
    b"\xc0\xaf", b"\xef\xbb\xbf", "1e400", "-0", "9223372036854775808",
    "18446744073709551616", "null", "true", "false", ".0.", "=", "&", "[[[[", "{\"",
    # values the handlers look for
    "ap-guangzhou", "ap-shanghai", "VPC", "SUBNET", "NETWORKINTERFACE", "CCN", "NAT", "DCG",
    "ACCEPT", "REJECT", "ALL", "cls", "ckafka", "ASC", "DESC", "flowLogName", "createTime",
    "tag-key", "tag:", "SUCCESS", "FAILED",
    # ids of the fuzz_api inventory
    "vpc-aaaa0001", "vpc-aaaa0002", "subnet-aaaa0001", "eni-aaaa0001", "eni-aaaa0002",
    "eni-aaaa0003", "ins-aaaa0001", "ccn-aaaa0001", "nat-aaaa0001", "nat-aaaa0002",
    "dcg-aaaa0001", "ckafka-aaaa0001", "ckafka-aaaa0002", "fl-", "fl-aaaa0001", "fl-aaaa0002",
    "fl-aaaa0003",
    "0f8e7d6c-1111-4222-8333-444455556666",
    # inventory file keys
    "Vpcs", "Subnets", "Instances", "NetworkInterfaces", "Ccns", "NatGateways",
    "DirectConnectGateways", "ClsTopics", "CkafkaInstances", "VpcName", "CidrBlock",
    "SubnetName", "InstanceType", "NetworkInterfaceName", "CcnName", "NatProductVersion",
    "HasDnatRule", "NatGatewayName", "DirectConnectGatewayName", "TopicId", "TopicName",
    "Edition", "Topics", "InstanceName", "profession", "standard", "KO1.LARGE8",
    # the tag service and resource names
    "tag.tencentcloudapi.com", "qcs::vpc:ap-guangzhou:uin/:fl/", "qcs::", ":uin/", "fl/",
    "vpc-name", "vpc-id", "subnet-id", "ap-guangzhou-3", "10.0.0.0/16",
]


def dict_escape(s):
    out = []
    for b in s.encode("utf-8") if isinstance(s, str) else s:
        if b == 0x5C:
            out.append("\\\\")
        elif b == 0x22:
            out.append('\\"')
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append("\\x%02X" % b)
    return "".join(out)


def write_dict(actions, fields):
    seen, lines = set(), ["# api.dict: generated by tests/fuzz/make-seeds.py; do not edit.",
                          "# Field names of every input shape (src/api/schema_gen.c), action",
                          "# names and protocol tokens.", ""]

    def add(prefix, s):
        if s in seen:
            return
        seen.add(s)
        raw = s.encode("utf-8") if isinstance(s, str) else s
        key = prefix + "_" + hashlib.sha1(raw).hexdigest()[:8]
        lines.append('%s="%s"' % (key, dict_escape(s)))

    lines.append("# field names")
    for f in fields:
        add("field", f)
        add("json", '"%s":' % f)
    lines.append("# action names")
    for a in actions:
        add("action", a)
    lines.append("# tokens")
    for t in TOKENS:
        add("token", t)
    with open(DICT, "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")


# ==== main ==========================================================


# ==== UploadLog's body (fuzz_cls_body) ==============================

def pb_varint(v):
    out = bytearray()
    while True:
        b = v & 0x7f
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def pb_field(num, data):
    """A length-delimited field; an int is a varint field."""
    if isinstance(data, int):
        return pb_varint(num << 3) + pb_varint(data)
    if isinstance(data, str):
        data = data.encode("utf-8")
    return pb_varint(num << 3 | 2) + pb_varint(len(data)) + data


def pb_log(t, kv):
    return pb_field(1, t) + b"".join(pb_field(2, pb_field(1, k) + pb_field(2, v)) for k, v in kv)


def lz4_literals(data):
    """One lz4 block of literals only (valid: the last sequence has no match)."""
    n = len(data)
    if n < 15:
        return bytes([n << 4]) + data
    out = bytearray([0xf0])
    n -= 15
    while n >= 255:
        out.append(255)
        n -= 255
    out.append(n)
    return bytes(out) + data


def cls_body():
    flow = [("version", "2"), ("account-id", "1234567890"), ("interface-id", "eni-1a2b3c4d"),
            ("srcaddr", "10.0.1.5"), ("dstaddr", "172.16.0.9"), ("srcport", "51234"),
            ("dstport", "22"), ("protocol", "6"), ("packets", "10"), ("bytes", "840"),
            ("start", "1700000000"), ("end", "1700000060"), ("action", "REJECT"),
            ("log-status", "OK")]
    group = (pb_field(1, pb_log(1700000000123, flow)) + pb_field(1, pb_log(1700000001, flow[:3])) +
             pb_field(3, "fl-1a2b3c4d") + pb_field(4, "10.0.0.1") +
             pb_field(5, pb_field(1, "__flowlogd_batch__") + pb_field(2, "host/fl-1/0-60/0")))
    body = pb_field(1, group)
    seed("fuzz_cls_body", "hostile-plain-flow", b"\0" + body)
    seed("fuzz_cls_body", "hostile-lz4-flow", b"\1" + lz4_literals(body))
    seed("fuzz_cls_body", "hostile-two-groups", b"\0" + body + pb_field(1, pb_field(1, pb_log(5, [("a", "b")]))))
    seed("fuzz_cls_body", "hostile-lying-length", b"\0\x0a\x7f\x0a\x02")
    seed("fuzz_cls_body", "hostile-empty-list", b"\0")
    seed("fuzz_cls_body", "hostile-no-time", b"\0" + pb_field(1, pb_field(1, pb_field(2, b""))))
    seed("fuzz_cls_body", "hostile-lz4-truncated", b"\1" + lz4_literals(body)[:-5])


def main():
    capture_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        ROOT, "..", "shared", "fixtures", "sdk-capture.json")
    capture = json.load(open(capture_path, encoding="utf-8"))
    actions, fields, actions_all = read_schema()
    clean()
    from_capture(capture, actions)
    hostile_form(actions)
    hostile_json(actions)
    hostile_authorization()
    hostile_tc3()
    hostile_v1()
    hostile_inventory()
    hostile_api()
    cls_body()
    write_dict(actions_all, fields)
    counts = {}
    for p in written:
        t = os.path.basename(os.path.dirname(p))
        counts[t] = counts.get(t, 0) + 1
    for t in sorted(counts):
        print("%-22s %3d seeds" % (t, counts[t]))
    print("api.dict %d entries" % sum(1 for l in open(DICT) if "=" in l and not l.startswith("#")))


if __name__ == "__main__":
    main()
