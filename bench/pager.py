#!/usr/bin/env python3
"""bench/pager.py: one client paging DescribeNetworkInterfaces (or another
resource Describe*) over a large inventory, one request at a time on one
keep-alive connection, for the "pager" scenario of bench/run.sh.

usage: bench/pager.py --url http://HOST:PORT --cred FILE [--seconds S]
                      [--limit 100] [--action DescribeNetworkInterfaces]

FILE holds {"SecretId": ..., "SecretKey": ...} (what `flowlogd account create`
prints). Pages Offset 0, Limit, 2 * Limit, ... up to TotalCount, then again
from 0, until --seconds passed or SIGTERM. Prints one JSON line:
{"bench":"pager", "pages": N, "rows": N, "total_count": N, "p50_us": ...,
"p99_us": ..., "max_us": ..., "errors": N, "first_error": "..."}.
TC3-HMAC-SHA256 signing as the SDKs do (hashlib/hmac of the standard library).
"""
import argparse
import hashlib
import hmac
import http.client
import json
import signal
import sys
import time
import urllib.parse

stop = False


def on_term(_sig, _frm):
    global stop
    stop = True


def sign(secret_id, secret_key, host, action, body, ts):
    # the service of the scope is the endpoint's first label, as the SDKs
    # derive it ("vpc" of vpc.tencentcloudapi.com, "127" of 127.0.0.1)
    service = host.split(":")[0].split(".")[0].lower()
    date = time.strftime("%Y-%m-%d", time.gmtime(ts))
    ct = "application/json; charset=utf-8"
    # (the host without its port, as the SDKs sign it)
    canon_headers = f"content-type:{ct}\nhost:{host.split(':')[0]}\nx-tc-action:{action.lower()}\n"
    signed = "content-type;host;x-tc-action"
    canon = "\n".join(["POST", "/", "", canon_headers, signed, hashlib.sha256(body).hexdigest()])
    scope = f"{date}/{service}/tc3_request"
    sts = "\n".join(["TC3-HMAC-SHA256", str(ts), scope, hashlib.sha256(canon.encode()).hexdigest()])

    def h(key, msg):
        return hmac.new(key, msg.encode(), hashlib.sha256).digest()

    k = h(h(h(("TC3" + secret_key).encode(), date), service), "tc3_request")
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    return {
        "Authorization": f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders={signed}, Signature={sig}",
        "Content-Type": ct,
        "Host": host,
        "X-TC-Action": action,
        "X-TC-Version": "2017-03-12",
        "X-TC-Region": "ap-guangzhou",
        "X-TC-Timestamp": str(ts),
    }


def pct(v, p):
    if not v:
        return 0
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p / 100))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--cred", required=True)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--action", default="DescribeNetworkInterfaces")
    a = ap.parse_args()
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    cred = json.load(open(a.cred))
    u = urllib.parse.urlparse(a.url)
    host = u.netloc
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    lat, pages, rows, errors, first_error, total, offset = [], 0, 0, 0, "", None, 0
    end = time.monotonic() + a.seconds
    while not stop and time.monotonic() < end:
        body = json.dumps({"Offset": offset, "Limit": a.limit}).encode()
        hdrs = sign(cred["SecretId"], cred["SecretKey"], host, a.action, body, int(time.time()))
        t0 = time.monotonic()
        try:
            conn.request("POST", "/", body=body, headers=hdrs)
            r = json.loads(conn.getresponse().read())["Response"]
        except (OSError, http.client.HTTPException, ValueError) as e:
            errors += 1
            first_error = first_error or repr(e)
            conn.close()
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
            continue
        lat.append(int((time.monotonic() - t0) * 1e6))
        if "Error" in r:
            errors += 1
            first_error = first_error or r["Error"]["Code"]
            offset = 0
            continue
        pages += 1
        total = r["TotalCount"]
        rows += len(r["NetworkInterfaceSet"] if "NetworkInterfaceSet" in r else [])
        offset += a.limit
        if offset >= total:
            offset = 0
    print(json.dumps({"bench": "pager", "action": a.action, "pages": pages, "rows": rows,
                      "total_count": total, "p50_us": pct(lat, 50), "p99_us": pct(lat, 99),
                      "max_us": max(lat) if lat else 0, "errors": errors,
                      "first_error": first_error}))
    return 0 if pages and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
