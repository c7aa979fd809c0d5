// tls_clients.test.js: the trust settings docs/API.md gives for clients other
// than Node, tried for real against the TLS listener: Python's `requests` (what
// the Python SDK and tccli send with) with REQUESTS_CA_BUNDLE, signing TC3 as
// the Python SDK does (host with its port, service = product); Java's
// HttpsURLConnection (what the Java SDK's OkHttp trusts the same way) with a
// trust store made by keytool from the CA; curl with --cacert. Each is refused
// without the CA. A client that is not installed is skipped, saying so.
"use strict";

const { describe, test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const h = require("./harness");
const T = require("./tls_lib");

let ctx;

before(async () => {
  ctx = await T.setupTls({ label: "tls-clients" });
});
after(async () => {
  if (ctx) await ctx.server.stop();
});

function run(cmd, args, { env, input, timeoutMs = 120000 } = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", input, timeout: timeoutMs, env: Object.assign({}, process.env, env || {}) });
  return { status: r.status, stdout: r.stdout || "", stderr: r.stderr || "", error: r.error };
}

/** The first python3 that has `requests`, or null. */
function pythonWithRequests() {
  for (const py of ["python3", "/usr/bin/python3"]) {
    const r = run(py, ["-c", "import requests"]);
    if (!r.error && r.status === 0) return py;
  }
  return null;
}

// TC3 as tencentcloud-sdk-python signs it (abstract_client.py): the Host with
// its port in the canonical headers, the product as the scope's service.
const PY_CLIENT = String.raw`
import hashlib, hmac, json, os, sys, time
import requests
host = "127.0.0.1:" + os.environ["PORT"]
sid, skey = os.environ["SID"], os.environ["SKEY"]
body = json.dumps({"Limit": 1})
ts = int(time.time())
date = time.strftime("%Y-%m-%d", time.gmtime(ts))
canon = "POST\n/\n\ncontent-type:application/json\nhost:%s\n\ncontent-type;host\n%s" % (
    host, hashlib.sha256(body.encode()).hexdigest())
scope = "%s/vpc/tc3_request" % date
sts = "TC3-HMAC-SHA256\n%d\n%s\n%s" % (ts, scope, hashlib.sha256(canon.encode()).hexdigest())
k = hmac.new(("TC3" + skey).encode(), date.encode(), hashlib.sha256).digest()
for part in ("vpc", "tc3_request"):
    k = hmac.new(k, part.encode(), hashlib.sha256).digest()
sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
headers = {
    "Content-Type": "application/json", "Host": host,
    "X-TC-Action": "DescribeFlowLogs", "X-TC-Version": "2017-03-12",
    "X-TC-Region": "ap-guangzhou", "X-TC-Timestamp": str(ts),
    "Authorization": "TC3-HMAC-SHA256 Credential=%s/%s, SignedHeaders=content-type;host, Signature=%s" % (sid, scope, sig),
}
try:
    r = requests.post("https://" + host + "/", data=body, headers=headers, timeout=30)
    print(json.dumps({"ok": True, "status": r.status_code, "json": r.json()}))
except requests.exceptions.SSLError as e:
    print(json.dumps({"ok": False, "ssl": True, "error": str(e)}))
`;

describe("Python requests (the Python SDK's and tccli's transport)", () => {
  const py = pythonWithRequests();
  const skip = py ? false : "no python3 with the requests module here (Debian: python3-requests)";

  test("REQUESTS_CA_BUNDLE=DIR/tls/ca.pem: a TC3 call signed like the Python SDK succeeds", { skip }, () => {
    const r = run(py, ["-c", PY_CLIENT], {
      env: { PORT: String(ctx.tlsPort), SID: ctx.acct.SecretId, SKEY: ctx.acct.SecretKey, REQUESTS_CA_BUNDLE: ctx.cert.ca },
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split("\n").pop());
    assert.equal(out.ok, true, JSON.stringify(out));
    assert.equal(out.status, 200);
    assert.ok(!out.json.Response.Error, JSON.stringify(out.json));
    assert.equal(typeof out.json.Response.TotalNum, "number");
  });

  test("without it (the system's CAs) the handshake is refused", { skip }, () => {
    const env = { PORT: String(ctx.tlsPort), SID: ctx.acct.SecretId, SKEY: ctx.acct.SecretKey, REQUESTS_CA_BUNDLE: "", CURL_CA_BUNDLE: "" };
    const r = run(py, ["-c", PY_CLIENT], { env });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split("\n").pop());
    assert.equal(out.ok, false, JSON.stringify(out));
    assert.match(out.error, /CERTIFICATE_VERIFY_FAILED|certificate verify failed/i);
  });
});

const JAVA_CLIENT = `
import java.io.*;
import java.net.URL;
import javax.net.ssl.HttpsURLConnection;
public class TlsProbe {
  public static void main(String[] a) throws Exception {
    HttpsURLConnection c = (HttpsURLConnection) new URL(a[0]).openConnection();
    c.setRequestMethod("POST");
    c.setDoOutput(true);
    c.setRequestProperty("Content-Type", "application/json");
    try (OutputStream o = c.getOutputStream()) { o.write("{}".getBytes("UTF-8")); }
    try (InputStream in = c.getInputStream()) {
      System.out.println("STATUS " + c.getResponseCode());
      System.out.println(new String(in.readAllBytes(), "UTF-8"));
    } catch (javax.net.ssl.SSLException e) {
      System.out.println("SSL " + e.getMessage());
    }
  }
}
`;

describe("Java (the Java SDK trusts the JVM's trust store)", () => {
  const java = run("java", ["-version"]);
  const keytool = run("keytool", ["-help"]);
  const skip = !java.error && java.status === 0 && !keytool.error ? false : "no JDK (java, keytool) here";

  test("a trust store made by keytool from ca.pem: the API answers over TLS; the default store refuses", { skip, timeout: 180000 }, () => {
    const dir = h.tmpDir("tls-java");
    const src = path.join(dir, "TlsProbe.java");
    fs.writeFileSync(src, JAVA_CLIENT);
    const jks = path.join(dir, "flowlogd.jks");
    const k = run("keytool", ["-importcert", "-noprompt", "-alias", "flowlogd", "-file", ctx.cert.ca, "-keystore", jks, "-storepass", "changeit"]);
    assert.equal(k.status, 0, k.stderr + k.stdout);
    const url = `https://localhost:${ctx.tlsPort}/`;
    let r = run("java", [`-Djavax.net.ssl.trustStore=${jks}`, "-Djavax.net.ssl.trustStorePassword=changeit", src, url]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /STATUS 200/);
    const body = JSON.parse(r.stdout.split("\n").slice(1).join("\n"));
    assert.match(body.Response.RequestId, h.UUID_RE);
    assert.ok(body.Response.Error, "an unsigned call is refused in the API's envelope");
    r = run("java", [src, url]);
    assert.notEqual(r.stdout.includes("STATUS 200"), true, `the default trust store accepted the server: ${r.stdout}`);
    assert.match(r.stdout + r.stderr, /PKIX|certification path|SSL/);
  });
});

describe("curl", () => {
  const curl = run("curl", ["--version"]);
  const skip = !curl.error && curl.status === 0 ? false : "no curl here";
  test("--cacert DIR/tls/ca.pem verifies localhost, vpc.localhost and 127.0.0.1; without it curl refuses", { skip }, () => {
    for (const host of ["localhost", "vpc.localhost", "127.0.0.1"]) {
      const r = run("curl", ["-sS", "--cacert", ctx.cert.ca, "--resolve", `${host}:${ctx.tlsPort}:127.0.0.1`, "-H", "Content-Type: application/json", "-d", "{}", `https://${host}:${ctx.tlsPort}/`]);
      assert.equal(r.status, 0, `${host}: ${r.stderr}`);
      assert.match(JSON.parse(r.stdout).Response.RequestId, h.UUID_RE);
    }
    const r = run("curl", ["-sS", "-d", "{}", `https://127.0.0.1:${ctx.tlsPort}/`], { env: { CURL_CA_BUNDLE: "", SSL_CERT_FILE: "" } });
    assert.equal(r.status, 60, `curl without the CA: exit ${r.status} ${r.stderr}`);
  });
});
