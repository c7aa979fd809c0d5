// harness.js: shared helpers for the flowlogd integration tests.
//
// The tests start the real binary (FLOWLOGD_BIN, default <repo>/build/flowlogd)
// on a free loopback port with a temporary data directory, administer it with
// its own CLI, and drive it with the official tencentcloud-sdk-nodejs and with
// a hand-written signer (rawCall / rawV1Call) for requests the SDK would never
// send (old timestamps, tampered bodies, missing headers...).
"use strict";

const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const fs = require("node:fs");
const http = require("node:http");
const net = require("node:net");
const os = require("node:os");
const path = require("node:path");
const readline = require("node:readline");
const { spawn, spawnSync } = require("node:child_process");

const REPO = path.resolve(__dirname, "..", "..");
const BIN = process.env.FLOWLOGD_BIN || path.join(REPO, "build", "flowlogd");
const SHARED = process.env.FLOWLOGD_SHARED || path.join(REPO, "..", "shared");

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const API_VERSION = "2017-03-12";

// ------------------------------------------------------------ bookkeeping ---
const liveProcs = new Set();
const tmpDirs = new Set();

process.on("exit", () => {
  for (const p of liveProcs) {
    try {
      p.kill("SIGKILL");
    } catch (_) {
      /* already gone */
    }
  }
  if (!process.env.FLOWLOGD_KEEP_DATA) {
    for (const d of tmpDirs) {
      try {
        fs.rmSync(d, { recursive: true, force: true });
      } catch (_) {
        /* best effort */
      }
    }
  }
});

/** A fresh temporary directory, removed when the test process exits. */
function tmpDir(label) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `flowlogd-${label || "it"}-`));
  tmpDirs.add(d);
  return d;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// ------------------------------------------------------------------- store ---
/**
 * FLOWLOGD_TEST_STORE=postgresql://... runs every test against PostgreSQL:
 * `--data DIR` (the server's and the CLI's) becomes `--store URL` with a
 * schema named after DIR, so each data directory is still its own store.
 */
const TEST_STORE = process.env.FLOWLOGD_TEST_STORE || "";

/** The store URL that stands for data directory `dir` (PostgreSQL runs only). */
function storeUrlFor(dir) {
  const name = "t_" + crypto.createHash("sha1").update(path.resolve(dir)).digest("hex").slice(0, 24);
  return `${TEST_STORE}${TEST_STORE.includes("?") ? "&" : "?"}schema=${name}`;
}

/** The subcommands whose --data names the store (cert, records and replay
 * read and write files in DIR and keep it). */
const STORE_COMMANDS = new Set(["serve", "account", "key", "agent-key", "inventory", "check", "reset", "state", "flowlog"]);

/** argv with every `--data DIR` turned into `--store URL` on PostgreSQL runs. */
function mapStoreArgs(argv) {
  if (!TEST_STORE || !STORE_COMMANDS.has(argv[0])) return argv;
  const out = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--data" && i + 1 < argv.length) {
      out.push("--store", storeUrlFor(argv[++i]));
    } else {
      out.push(argv[i]);
    }
  }
  return out;
}

function checkBinary() {
  if (!fs.existsSync(BIN)) {
    throw new Error(`flowlogd binary not found at ${BIN} (run \`make\` first or set FLOWLOGD_BIN)`);
  }
}

// ------------------------------------------------------------------ server ---
/**
 * Starts `flowlogd serve --listen 127.0.0.1:PORT --data DIR [args...]` (with
 * `env` added to the environment) and
 * resolves once it prints a line containing "listening".
 * Returns {port, endpoint, proc, stop(signal), logs(), exited}.
 * If `t` (a node:test context or suite hook) is given, the server is stopped
 * in its after hook; every server is killed at process exit anyway.
 */
async function startServer({ dataDir, args = [], t, timeoutMs = 10000, env, sqlite = false } = {}) {
  checkBinary();
  assert.ok(dataDir, "startServer needs a dataDir");
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      const srv = await spawnServer(port, dataDir, args, timeoutMs, env, sqlite);
      if (t && typeof t.after === "function") t.after(() => srv.stop());
      return srv;
    } catch (e) {
      lastErr = e;
      if (!/in use|EADDRINUSE|bind/i.test(e.message)) throw e;
    }
  }
  throw lastErr;
}

function spawnServer(port, dataDir, args, timeoutMs, env, sqlite) {
  return new Promise((resolve, reject) => {
    const raw = ["serve", "--listen", `127.0.0.1:${port}`, "--data", dataDir, ...args];
    const argv = sqlite ? raw : mapStoreArgs(raw);
    const proc = spawn(BIN, argv, { stdio: ["ignore", "pipe", "pipe"], env: Object.assign({}, process.env, env || {}) });
    liveProcs.add(proc);
    const lines = [];
    let ready = false;
    let stopping = false;
    let exitInfo = null;
    const exited = new Promise((res) => {
      proc.on("exit", (code, signal) => {
        liveProcs.delete(proc);
        exitInfo = { code, signal };
        if (ready && !stopping) {
          // a crash: every later test of the file fails with a connection error, so say why once
          setTimeout(() => {
            process.stderr.write(
              `\n# flowlogd (port ${port}) exited unexpectedly (code ${code}, signal ${signal}); last log lines:\n` +
                lines.slice(-60).map((l) => `#   ${l}`).join("\n") +
                "\n"
            );
          }, 50);
        }
        res(exitInfo);
      });
    });
    const onLine = (line) => {
      lines.push(line);
      if (!ready && /listening/i.test(line)) {
        ready = true;
        clearTimeout(timer);
        resolve(srv);
      }
    };
    readline.createInterface({ input: proc.stdout }).on("line", onLine);
    readline.createInterface({ input: proc.stderr }).on("line", onLine);
    proc.on("error", (e) => {
      if (!ready) {
        clearTimeout(timer);
        reject(new Error(`cannot start ${BIN}: ${e.message}`));
      }
    });
    exited.then((info) => {
      if (!ready) {
        clearTimeout(timer);
        // give readline a moment to flush the last lines
        setTimeout(
          () =>
            reject(
              new Error(
                `flowlogd serve exited before "listening" (code ${info.code}, signal ${info.signal}):\n` +
                  lines.join("\n")
              )
            ),
          50
        );
      }
    });
    const timer = setTimeout(() => {
      if (!ready) {
        proc.kill("SIGKILL");
        reject(new Error(`flowlogd serve did not print "listening" within ${timeoutMs} ms:\n${lines.join("\n")}`));
      }
    }, timeoutMs);

    const srv = {
      port,
      endpoint: `127.0.0.1:${port}`,
      url: `http://127.0.0.1:${port}`,
      proc,
      exited,
      logs: () => lines.slice(),
      /** Sends `signal` (default SIGTERM) and waits for the exit (SIGKILL after graceMs). */
      async stop(signal = "SIGTERM", graceMs = 5000) {
        if (exitInfo) return exitInfo;
        stopping = true;
        try {
          proc.kill(signal);
        } catch (_) {
          /* gone */
        }
        const t = setTimeout(() => {
          try {
            proc.kill("SIGKILL");
          } catch (_) {
            /* gone */
          }
        }, graceMs);
        const info = await exited;
        clearTimeout(t);
        // let readline deliver the last lines
        await sleep(20);
        return info;
      },
    };
  });
}

// --------------------------------------------------------------------- cli ---
/**
 * Runs the binary synchronously. Returns {status, signal, stdout, stderr, json}
 * where json is stdout parsed as JSON (the whole of it, or else its last line
 * that parses), or undefined.
 */
function cli(args, { input, timeoutMs = 30000, env, sqlite = false } = {}) {
  checkBinary();
  const r = spawnSync(BIN, sqlite ? args : mapStoreArgs(args), {
    encoding: "utf8",
    input,
    timeout: timeoutMs,
    env: Object.assign({}, process.env, env || {}),
  });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, json: parseJsonOutput(r.stdout) };
}

function parseJsonOutput(s) {
  if (!s) return undefined;
  const t = s.trim();
  try {
    return JSON.parse(t);
  } catch (_) {
    /* try line by line */
  }
  const lines = t.split("\n").reverse();
  for (const l of lines) {
    try {
      return JSON.parse(l);
    } catch (_) {
      /* next */
    }
  }
  return undefined;
}

/** Runs the CLI, asserts exit 0 and JSON output, returns the parsed JSON. */
function cliJson(args, opts) {
  const r = cli(args, opts);
  assert.equal(r.status, 0, `flowlogd ${args.join(" ")} exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.ok(r.json !== undefined, `flowlogd ${args.join(" ")} printed no JSON: ${r.stdout}`);
  return r.json;
}

/** `account create`: {AppId, Uin, SecretId, SecretKey} (Uin as a string). */
function createAccount(dataDir, { quota, sqlite = false } = {}) {
  const args = ["account", "create", "--data", dataDir];
  if (quota !== undefined) args.push("--flowlog-quota", String(quota));
  const a = cliJson(args, { sqlite });
  for (const k of ["AppId", "Uin", "SecretId", "SecretKey"]) {
    assert.ok(a[k] !== undefined && a[k] !== "", `account create output lacks ${k}: ${JSON.stringify(a)}`);
  }
  a.Uin = String(a.Uin);
  return a;
}

/** `key create`: {SecretId, SecretKey}. */
function createKey(dataDir, uin, actions) {
  const args = ["key", "create", "--data", dataDir, "--uin", String(uin)];
  if (actions) args.push("--actions", Array.isArray(actions) ? actions.join(",") : actions);
  const k = cliJson(args);
  assert.ok(k.SecretId && k.SecretKey, `key create output: ${JSON.stringify(k)}`);
  return k;
}

/** Writes `inv` (object or raw string) to a temp file and runs `inventory import`. */
function importInventoryRaw(dataDir, uin, inv) {
  const dir = tmpDir("inv");
  const file = path.join(dir, "inventory.json");
  fs.writeFileSync(file, typeof inv === "string" ? inv : JSON.stringify(inv, null, 2));
  return cli(["inventory", "import", "--data", dataDir, "--uin", String(uin), file]);
}

function importInventory(dataDir, uin, inv) {
  const r = importInventoryRaw(dataDir, uin, inv);
  assert.equal(r.status, 0, `inventory import exited ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

// --------------------------------------------------------------- inventory ---
/**
 * An inventory with one of each resource. `tag` is 4 characters of [a-f]
 * (hex, so that the CLS topic ids stay UUIDs); ids are prefix + tag + 4 digits,
 * e.g. vpc-aaaa0001. `extraEnis` more attached ENIs: eni-<tag>1000 ...
 *
 *   vpc-T0001 (10.0.0.0/16), vpc-T0002 (10.1.0.0/16)
 *   subnet-T0001, subnet-T0003 in vpc-T0001; subnet-T0002 in vpc-T0002
 *   ins-T0001 S5.MEDIUM4; ins-T0002 KO1.LARGE8
 *   eni-T0001 (vpc1, attached ins-T0001), eni-T0002 (vpc1, unattached),
 *   eni-T0003 (vpc1, on the KO instance), eni-T0004 (vpc2, attached ins-T0001)
 *   ccn-T0001..3; nat-T0001 (v2), nat-T0002 (v1, DNAT), nat-T0003 (v1, no DNAT),
 *   nat-T0004 (v2); dcg-T0001, dcg-T0002 in vpc1
 *   CLS topics: cls.gz (file region), cls.sh (ap-shanghai)
 *   ckafka-T0001 profession, topic "flowlogs"; ckafka-T0002 standard, topic "flowlogs"
 */
function inventoryFixture({ tag = "aaaa", region = "ap-guangzhou", extraEnis = 0 } = {}) {
  assert.match(tag, /^[a-f]{4}$/, "inventory tag must be 4 of [a-f]");
  const id = (p, n) => `${p}-${tag}${String(n).padStart(4, "0")}`;
  const ids = {
    vpc: id("vpc", 1),
    vpc2: id("vpc", 2),
    subnet: id("subnet", 1),
    subnet2: id("subnet", 2),
    subnet3: id("subnet", 3),
    ins: id("ins", 1),
    insKo: id("ins", 2),
    eni: id("eni", 1),
    eniUnattached: id("eni", 2),
    eniKo: id("eni", 3),
    eniVpc2: id("eni", 4),
    ccn: id("ccn", 1),
    ccn2: id("ccn", 2),
    ccn3: id("ccn", 3),
    natV2: id("nat", 1),
    natDnat: id("nat", 2),
    natClassic: id("nat", 3),
    natV2b: id("nat", 4),
    dcg: id("dcg", 1),
    dcg2: id("dcg", 2),
    clsGz: `${tag}${tag}-0000-4000-8000-000000000001`,
    clsSh: `${tag}${tag}-0000-4000-8000-000000000002`,
    ckafka: id("ckafka", 1),
    ckafkaStd: id("ckafka", 2),
    ckafkaTopic: "flowlogs",
    extraEnis: [],
  };
  for (let i = 0; i < extraEnis; i++) ids.extraEnis.push(id("eni", 1000 + i));
  const eni = (eniId, vpc, subnet, ins) =>
    Object.assign({ NetworkInterfaceId: eniId, VpcId: vpc, SubnetId: subnet }, ins ? { InstanceId: ins } : {});
  const inventory = {
    Region: region,
    Vpcs: [
      { VpcId: ids.vpc, VpcName: "prod", CidrBlock: "10.0.0.0/16" },
      { VpcId: ids.vpc2, VpcName: "other", CidrBlock: "10.1.0.0/16" },
    ],
    Subnets: [
      { SubnetId: ids.subnet, VpcId: ids.vpc, CidrBlock: "10.0.1.0/24" },
      { SubnetId: ids.subnet2, VpcId: ids.vpc2, CidrBlock: "10.1.1.0/24" },
      { SubnetId: ids.subnet3, VpcId: ids.vpc, CidrBlock: "10.0.3.0/24" },
    ],
    Instances: [
      { InstanceId: ids.ins, InstanceType: "S5.MEDIUM4" },
      { InstanceId: ids.insKo, InstanceType: "KO1.LARGE8" },
    ],
    NetworkInterfaces: [
      eni(ids.eni, ids.vpc, ids.subnet, ids.ins),
      eni(ids.eniUnattached, ids.vpc, ids.subnet, null),
      eni(ids.eniKo, ids.vpc, ids.subnet, ids.insKo),
      eni(ids.eniVpc2, ids.vpc2, ids.subnet2, ids.ins),
      ...ids.extraEnis.map((e) => eni(e, ids.vpc, ids.subnet, ids.ins)),
    ],
    Ccns: [{ CcnId: ids.ccn }, { CcnId: ids.ccn2 }, { CcnId: ids.ccn3 }],
    NatGateways: [
      { NatGatewayId: ids.natV2, VpcId: ids.vpc, NatProductVersion: 2, HasDnatRule: false },
      { NatGatewayId: ids.natDnat, VpcId: ids.vpc, NatProductVersion: 1, HasDnatRule: true },
      { NatGatewayId: ids.natClassic, VpcId: ids.vpc, NatProductVersion: 1, HasDnatRule: false },
      { NatGatewayId: ids.natV2b, VpcId: ids.vpc, NatProductVersion: 2, HasDnatRule: false },
    ],
    DirectConnectGateways: [
      { DirectConnectGatewayId: ids.dcg, VpcId: ids.vpc },
      { DirectConnectGatewayId: ids.dcg2, VpcId: ids.vpc },
    ],
    ClsTopics: [{ TopicId: ids.clsGz, Region: region }, { TopicId: ids.clsSh, Region: "ap-shanghai" }],
    CkafkaInstances: [
      { InstanceId: ids.ckafka, Edition: "profession", Topics: [ids.ckafkaTopic], Brokers: "127.0.0.1:9092,[::1]:9092" },
      { InstanceId: ids.ckafkaStd, Edition: "standard", Topics: [ids.ckafkaTopic] },
    ],
  };
  return { inventory, ids };
}

/** Hands out the extra ENIs of a fixture one at a time. */
function eniPool(ids) {
  let i = 0;
  return () => {
    assert.ok(i < ids.extraEnis.length, "inventory fixture ran out of extra ENIs");
    return ids.extraEnis[i++];
  };
}

/** A valid CreateFlowLog request for an (attached) ENI of the fixture. */
function eniRequest(ids, eniId, over) {
  return Object.assign(
    {
      FlowLogName: "test-flowlog",
      ResourceType: "NETWORKINTERFACE",
      ResourceId: eniId || ids.eni,
      TrafficType: "ACCEPT",
      VpcId: ids.vpc,
      CloudLogId: ids.clsGz,
    },
    over || {}
  );
}

/**
 * A server on a fresh data dir with one account per entry of `accounts`
 * ({tag, quota, extraEnis, before: true to create it before the server starts}).
 * Returns {dataDir, server, accounts: [{...account, ids, inventory, client()}]}.
 */
async function setup({ label, accounts = [{}], serverArgs = [], t } = {}) {
  const dataDir = tmpDir(label);
  const made = accounts.map(() => null);
  const make = (i) => {
    const spec = accounts[i];
    const acct = createAccount(dataDir, { quota: spec.quota });
    const fx = inventoryFixture({ tag: spec.tag || "abcd".charAt(i).repeat(4), extraEnis: spec.extraEnis || 0 });
    importInventory(dataDir, acct.Uin, fx.inventory);
    made[i] = Object.assign(acct, fx);
  };
  accounts.forEach((s, i) => s.before !== false && make(i));
  const server = await startServer({ dataDir, args: serverArgs, t });
  accounts.forEach((s, i) => s.before === false && make(i));
  for (const a of made) {
    a.client = (opts) =>
      vpcClient(Object.assign({ endpoint: server.endpoint, secretId: a.SecretId, secretKey: a.SecretKey }, opts || {}));
  }
  return { dataDir, server, accounts: made };
}

// --------------------------------------------------------------------- SDK ---
let tencentcloud;
function sdk() {
  if (!tencentcloud) tencentcloud = require("tencentcloud-sdk-nodejs");
  return tencentcloud;
}

/**
 * The official VPC client pointed at the service. Unless retryRateLimit is
 * false, calls answered RequestLimitExceeded are retried after a short pause
 * (what SDK users do; nothing was done by the refused call), so that tests
 * that fire many requests are not disturbed by the 20/s default limit.
 */
function vpcClient({
  endpoint,
  secretId,
  secretKey,
  token,
  region = "ap-guangzhou",
  language,
  signMethod,
  reqMethod,
  retryRateLimit = true,
} = {}) {
  const VpcClient = sdk().vpc.v20170312.Client;
  const profile = { httpProfile: { endpoint, protocol: "http://", reqTimeout: 30 } };
  if (signMethod) profile.signMethod = signMethod;
  if (reqMethod) profile.httpProfile.reqMethod = reqMethod;
  if (language) profile.language = language;
  const credential = { secretId, secretKey };
  if (token) credential.token = token;
  const client = new VpcClient({ credential, region, profile });
  if (!retryRateLimit) return client;
  return new Proxy(client, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function" || !/^[A-Z]/.test(String(prop))) return v;
      return (...args) => withRateLimitRetry(() => v.apply(target, args));
    },
  });
}

async function withRateLimitRetry(fn, { attempts = 60, pauseMs = 100 } = {}) {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e && e.code === "RequestLimitExceeded") || i >= attempts) throw e;
      await sleep(pauseMs);
    }
  }
}

/**
 * Awaits `promise`, which must reject with the SDK's API error `code` (a string,
 * or an array of acceptable codes). Also checks the requestId is a UUID and,
 * if `mention` is given, that the message contains it. Returns the error.
 */
async function expectApiError(promise, code, { mention } = {}) {
  let value;
  let err;
  try {
    value = await promise;
  } catch (e) {
    err = e;
  }
  const want = Array.isArray(code) ? code.join(" or ") : code;
  if (!err) assert.fail(`expected error ${want}, but the call succeeded: ${JSON.stringify(value)}`);
  const ok = Array.isArray(code) ? code.includes(err.code) : err.code === code;
  assert.ok(
    ok,
    `expected error ${want}, got ${err.code === undefined ? "(no code)" : err.code}: ${err.message}` +
      (err.httpCode ? ` (HTTP ${err.httpCode})` : "")
  );
  assert.match(String(err.requestId), UUID_RE, `requestId is not a UUID: ${err.requestId}`);
  if (mention !== undefined) {
    assert.ok(String(err.message).includes(mention), `message should mention "${mention}": ${err.message}`);
  }
  return err;
}

// ------------------------------------------------------------- TC3 signer ---
const sha256hex = (data) => crypto.createHash("sha256").update(data).digest("hex");
const hmac256 = (key, msg, enc) => crypto.createHmac("sha256", key).update(msg).digest(enc);

/** UTC date (YYYY-MM-DD) of a UNIX timestamp in seconds. */
function utcDateOf(ts) {
  return new Date(Number(ts) * 1000).toISOString().slice(0, 10);
}

/**
 * TC3-HMAC-SHA256. `headers` maps lower-case names to values (the values that
 * are sent); `signedHeaders` lists the names to sign (host is signed without
 * its port, as the SDKs sign URL.hostname). Returns every intermediate value.
 */
function tc3Sign({
  secretId,
  secretKey,
  method = "POST",
  uri = "/",
  query = "",
  headers,
  signedHeaders = ["content-type", "host"],
  payload = "",
  timestamp,
  service,
  date,
  hostKeepsPort = false,
}) {
  const names = signedHeaders.map((h) => h.toLowerCase()).sort();
  let canonicalHeaders = "";
  for (const name of names) {
    let v = String(headers[name] === undefined ? "" : headers[name]).trim().toLowerCase();
    if (name === "host" && !hostKeepsPort) v = v.replace(/:\d+$/, "");
    canonicalHeaders += `${name}:${v}\n`;
  }
  const signedList = names.join(";");
  const canonicalRequest = [method, uri, query, canonicalHeaders, signedList, sha256hex(payload)].join("\n");
  const d = date || utcDateOf(timestamp);
  const scope = `${d}/${service}/tc3_request`;
  const stringToSign = ["TC3-HMAC-SHA256", String(timestamp), scope, sha256hex(canonicalRequest)].join("\n");
  const kDate = hmac256("TC3" + secretKey, d);
  const kService = hmac256(kDate, service);
  const kSigning = hmac256(kService, "tc3_request");
  const signature = hmac256(kSigning, stringToSign, "hex");
  const authorization = `TC3-HMAC-SHA256 Credential=${secretId}/${scope}, SignedHeaders=${signedList}, Signature=${signature}`;
  return { canonicalRequest, stringToSign, signature, authorization, scope };
}

// -------------------------------------------------------------- v1 signer ---
/** RFC 3986 percent-encoding (UTF-8, upper-case hex, unreserved kept). */
function rfc3986(s) {
  return encodeURIComponent(String(s)).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Flattens action parameters the way the SDKs do: Tags.0.Key, FlowLogStorage.StorageId. */
function flatten(obj, prefix = "", out = {}) {
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    if (v === null || v === undefined) continue;
    if (typeof v === "object") flatten(v, `${prefix}${k}.`, out);
    else out[prefix + k] = typeof v === "boolean" ? (v ? "true" : "false") : String(v);
  }
  return out;
}

/** HmacSHA1 / HmacSHA256 StringToSign and signature over raw (decoded) params. */
function v1Sign({ method, host, params, secretKey, signatureMethod }) {
  const keys = Object.keys(params)
    .filter((k) => k !== "Signature")
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const signStr = `${method.toUpperCase()}${host}/?` + keys.map((k) => `${k}=${params[k]}`).join("&");
  const algo = signatureMethod === "HmacSHA256" ? "sha256" : "sha1";
  const signature = crypto.createHmac(algo, secretKey).update(Buffer.from(signStr, "utf8")).digest("base64");
  return { signStr, signature };
}

// ----------------------------------------------------------- raw requests ---
/**
 * Sends one HTTP request to 127.0.0.1:port and resolves
 * {status, headers, text, json} (json undefined unless the body parses).
 * Tolerates the server answering before the whole body was sent.
 */
function send({ port, method = "POST", path: p = "/", headers = {}, body }) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const req = http.request(
      { host: "127.0.0.1", port, method, path: p, headers, agent: false, setHost: !hasHeader(headers, "host") },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          settled = true;
          const text = Buffer.concat(chunks).toString("utf8");
          let json;
          try {
            json = JSON.parse(text);
          } catch (_) {
            json = undefined;
          }
          resolve({ status: res.statusCode, headers: res.headers, text, json });
        });
        res.on("error", (e) => !settled && reject(e));
      }
    );
    req.setTimeout(60000, () => req.destroy(new Error("request timed out")));
    req.on("error", (e) => {
      // EPIPE/ECONNRESET after an early answer are handled by the response path
      setTimeout(() => !settled && reject(e), 200);
    });
    if (body !== undefined && body !== null) req.end(body);
    else req.end();
  });
}

function hasHeader(headers, name) {
  return Object.keys(headers).some((k) => k.toLowerCase() === name);
}

/**
 * A TC3-signed API call built by hand. Options:
 *  port, action (null: no X-TC-Action), body (object -> JSON, or string/Buffer),
 *  secretId, secretKey, timestamp, region (null: none), version, language, token,
 *  method (POST|GET), query (object or raw string, for GET), contentType,
 *  service ("127" = first label of 127.0.0.1, as the SDK signs), date (scope date),
 *  signedHeaders, headers (overrides before signing; null deletes),
 *  tamper({headers, body, path}) to change the request after signing,
 *  authorization (replaces the header outright), retryRateLimit (default true).
 * Resolves {status, headers, text, json, response (= json.Response)}.
 */
async function rawCall(opts) {
  return retryRateLimited(opts, rawCallOnce);
}

/* Runs once(opts) again (up to 60 times, 100 ms apart) while the answer is
 * RequestLimitExceeded, unless opts.retryRateLimit === false. */
async function retryRateLimited(opts, once) {
  if (opts.retryRateLimit === false) return once(opts);
  for (let i = 0; ; i++) {
    const r = await once(opts);
    const code = r.json && r.json.Response && r.json.Response.Error && r.json.Response.Error.Code;
    if (code !== "RequestLimitExceeded" || i >= 60) return r;
    await sleep(100);
  }
}

async function rawCallOnce({
  port,
  action = "CreateFlowLog",
  body = {},
  secretId,
  secretKey,
  timestamp,
  region = "ap-guangzhou",
  version = API_VERSION,
  language,
  token,
  method = "POST",
  query,
  contentType,
  service = "127",
  date,
  signedHeaders = ["content-type", "host"],
  headers: overrides = {},
  tamper,
  authorization,
}) {
  const ts = timestamp === undefined ? Math.floor(Date.now() / 1000) : timestamp;
  let payload = "";
  let qs = "";
  if (method === "GET") {
    if (query !== undefined) qs = typeof query === "string" ? query : encodeQuery(flatten(query));
  } else if (Buffer.isBuffer(body) || typeof body === "string") {
    payload = body;
  } else {
    payload = JSON.stringify(body);
  }
  const headers = {
    host: `127.0.0.1:${port}`,
    "content-type": contentType || (method === "GET" ? "application/x-www-form-urlencoded" : "application/json"),
    "x-tc-timestamp": String(ts),
    "x-tc-version": version,
  };
  if (action !== null && action !== undefined) headers["x-tc-action"] = action;
  if (region !== null && region !== undefined) headers["x-tc-region"] = region;
  if (language) headers["x-tc-language"] = language;
  if (token) headers["x-tc-token"] = token;
  if (version === null) delete headers["x-tc-version"];
  for (const [k, v] of Object.entries(overrides)) {
    if (v === null) delete headers[k.toLowerCase()];
    else headers[k.toLowerCase()] = String(v);
  }
  const sig = tc3Sign({
    secretId,
    secretKey,
    method,
    query: qs,
    headers,
    signedHeaders,
    payload,
    timestamp: ts,
    service,
    date,
  });
  headers.authorization = authorization !== undefined ? authorization : sig.authorization;
  if (authorization === null) delete headers.authorization;
  const req = { headers, body: method === "GET" ? undefined : payload, path: qs ? `/?${qs}` : "/" };
  if (tamper) tamper(req);
  const r = await send({ port, method, path: req.path, headers: req.headers, body: req.body });
  r.response = r.json && r.json.Response;
  return r;
}

function encodeQuery(flat) {
  return Object.keys(flat)
    .map((k) => `${k}=${rfc3986(flat[k])}`)
    .join("&");
}

/**
 * A v1-signed (HmacSHA1 / HmacSHA256) call: POST form (default) or GET.
 *  params: the action's parameters (nested objects are flattened);
 *  signatureMethod: "HmacSHA256", "HmacSHA1" or null (parameter absent: SHA1);
 *  signHost: the Host string used in StringToSign (default 127.0.0.1:PORT, as the SDK does);
 *  extra: more raw parameters (null deletes a common one); tamper({params, body, path, headers}).
 */
async function rawV1Call(opts) {
  return retryRateLimited(opts, rawV1CallOnce);
}

async function rawV1CallOnce({
  port,
  action = "CreateFlowLog",
  params = {},
  secretId,
  secretKey,
  method = "POST",
  signatureMethod = "HmacSHA256",
  timestamp,
  nonce,
  region = "ap-guangzhou",
  version = API_VERSION,
  language,
  token,
  signHost,
  extra = {},
  tamper,
}) {
  const p = flatten(params);
  const common = {
    Action: action,
    Nonce: String(nonce === undefined ? 1 + crypto.randomInt(1 << 30) : nonce),
    Timestamp: String(timestamp === undefined ? Math.floor(Date.now() / 1000) : timestamp),
    Version: version,
    SecretId: secretId,
    Region: region,
  };
  if (signatureMethod) common.SignatureMethod = signatureMethod;
  if (language) common.Language = language;
  if (token) common.Token = token;
  Object.assign(p, common);
  for (const [k, v] of Object.entries(extra)) {
    if (v === null) delete p[k];
    else p[k] = String(v);
  }
  for (const k of Object.keys(p)) if (p[k] === undefined || p[k] === null) delete p[k];
  const host = signHost || `127.0.0.1:${port}`;
  const { signature } = v1Sign({ method, host, params: p, secretKey, signatureMethod: p.SignatureMethod });
  p.Signature = signature;
  const encoded = encodeQuery(p);
  const req = { params: p, headers: {}, path: "/", body: undefined };
  if (method === "GET") {
    req.path = `/?${encoded}`;
  } else {
    req.headers["content-type"] = "application/x-www-form-urlencoded";
    req.body = encoded;
  }
  if (tamper) tamper(req);
  const r = await send({ port, method, path: req.path, headers: req.headers, body: req.body });
  r.response = r.json && r.json.Response;
  return r;
}

/**
 * Asserts a raw answer is HTTP 200 with the API envelope, a UUID RequestId,
 * and (if code given) Error.Code === code (code null: success, no Error).
 * Returns the Response object.
 */
function expectEnvelope(r, code, { mention } = {}) {
  assert.equal(r.status, 200, `HTTP status ${r.status}, body: ${r.text.slice(0, 500)}`);
  assert.ok(r.json && typeof r.json === "object" && r.json.Response, `not an API envelope: ${r.text.slice(0, 500)}`);
  const resp = r.json.Response;
  assert.match(String(resp.RequestId), UUID_RE, `RequestId is not a UUID: ${resp.RequestId}`);
  if (code === null) {
    assert.ok(!resp.Error, `expected success, got ${JSON.stringify(resp.Error)}`);
  } else if (code !== undefined) {
    assert.ok(resp.Error, `expected error ${code}, got success: ${JSON.stringify(resp).slice(0, 500)}`);
    assert.equal(typeof resp.Error.Message, "string", "Error.Message missing");
    const ok = Array.isArray(code) ? code.includes(resp.Error.Code) : resp.Error.Code === code;
    assert.ok(ok, `expected error ${Array.isArray(code) ? code.join(" or ") : code}, got ${resp.Error.Code}: ${resp.Error.Message}`);
    if (mention !== undefined) {
      assert.ok(resp.Error.Message.includes(mention), `message should mention "${mention}": ${resp.Error.Message}`);
    }
  }
  return resp;
}

// ------------------------------------------------------------------ checks ---
/** Asserts `CreatedTime` ("YYYY-MM-DD HH:MM:SS", UTC+8) is within `slackS` of now. */
function assertCreatedTimeNow(s, slackS = 60) {
  assert.match(s, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/, `CreatedTime format: ${s}`);
  const asUtc = Date.parse(s.replace(" ", "T") + "Z"); // the wall clock of UTC+8, read as UTC
  const actual = asUtc - 8 * 3600 * 1000;
  const diff = Math.abs(actual - Date.now()) / 1000;
  assert.ok(diff <= slackS, `CreatedTime ${s} is ${Math.round(diff)} s away from now in UTC+8`);
}

const isAscii = (s) => /^[\x00-\x7f]*$/.test(s);
const hasCjk = (s) => /[\u3400-\u9fff]/.test(s);

module.exports = {
  REPO,
  BIN,
  TEST_STORE,
  storeUrlFor,
  mapStoreArgs,
  SHARED,
  UUID_RE,
  API_VERSION,
  sleep,
  tmpDir,
  freePort,
  startServer,
  cli,
  cliJson,
  createAccount,
  createKey,
  importInventory,
  importInventoryRaw,
  inventoryFixture,
  eniPool,
  eniRequest,
  setup,
  sdk,
  vpcClient,
  withRateLimitRetry,
  expectApiError,
  expectEnvelope,
  tc3Sign,
  v1Sign,
  utcDateOf,
  sha256hex,
  rfc3986,
  flatten,
  send,
  rawCall,
  rawV1Call,
  assertCreatedTimeNow,
  isAscii,
  hasCjk,
};
