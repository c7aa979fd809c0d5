// ops.test.js: what an operator and a test harness wait on (issue 17 §1):
// `flowlogd --version`, the unauthenticated /healthz and /readyz, and the
// service manager's notifications (sd_notify: READY=1, STOPPING=1, and
// WATCHDOG=1 keep-alives when WATCHDOG_USEC asks for them), received on a
// datagram socket the test binds itself, as systemd would.
"use strict";

const { describe, test } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const http = require("node:http");
const { spawn } = require("node:child_process");
const h = require("./harness");

function get(port, p, method = "GET") {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: "127.0.0.1", port, path: p, method, agent: false }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode, body, type: res.headers["content-type"] }));
    });
    r.on("error", reject);
    r.end();
  });
}

/** A unix datagram socket at `sock` (python3, which Node lacks the socket
 * type for); every message received is one JSON line on stdout. */
function notifyReceiver(sock) {
  const py = [
    "import socket, sys, json",
    "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)",
    `s.bind(${JSON.stringify(sock)})`,
    "print(json.dumps('bound'), flush=True)",
    "while True:",
    "    m = s.recv(65536).decode()",
    "    print(json.dumps(m), flush=True)",
  ].join("\n");
  const p = spawn("python3", ["-c", py], { stdio: ["ignore", "pipe", "inherit"] });
  const msgs = [];
  let buf = "";
  let bound;
  const isBound = new Promise((res) => (bound = res));
  p.stdout.on("data", (c) => {
    buf += c;
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const m = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (m === "bound") bound();
      else msgs.push(m);
    }
  });
  return { msgs, isBound, stop: () => p.kill("SIGKILL") };
}

async function waitFor(pred, ms, what) {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await h.sleep(20);
  }
}

describe("version", () => {
  test("flowlogd --version and flowlogd version print the VERSION file's version", () => {
    const want = fs.readFileSync(path.join(__dirname, "..", "..", "VERSION"), "utf8").trim();
    for (const arg of ["--version", "version"]) {
      const r = h.cli([arg]);
      assert.equal(r.status, 0);
      assert.equal(r.stdout, `flowlogd ${want}\n`);
    }
  });
});

describe("health and readiness", () => {
  test("/healthz and /readyz answer 200 without credentials once serving; other paths stay 404", async (t) => {
    const srv = await h.startServer({ dataDir: h.tmpDir("health"), t });
    for (const p of ["/healthz", "/readyz"]) {
      const r = await get(srv.port, p);
      assert.equal(r.status, 200, `${p}: ${r.body}`);
      assert.equal(r.type, "application/json");
      assert.equal(JSON.parse(r.body).status, p === "/healthz" ? "ok" : "ready");
      const hd = await get(srv.port, p, "HEAD");
      assert.equal(hd.status, 200);
      assert.equal(hd.body, "");
      const post = await get(srv.port, p, "POST");
      assert.equal(post.status, 405);
    }
    assert.equal((await get(srv.port, "/healthzz")).status, 404);
    assert.equal((await get(srv.port, "/readyz/x")).status, 404);
  });
});

describe("service manager notifications", () => {
  test("READY=1 once listening, WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1 on SIGTERM", async () => {
    const dir = h.tmpDir("notify");
    const sock = path.join(dir, "notify.sock");
    const rx = notifyReceiver(sock);
    try {
      await rx.isBound;
      const srv = await h.startServer({
        dataDir: path.join(dir, "data"),
        env: { NOTIFY_SOCKET: sock, WATCHDOG_USEC: "200000" },
      });
      await waitFor(() => rx.msgs.some((m) => /^READY=1$/m.test(m)), 5000, "READY=1");
      const ready = rx.msgs.find((m) => /^READY=1$/m.test(m));
      assert.match(ready, new RegExp(`^STATUS=listening on 127\\.0\\.0\\.1:${srv.port}$`, "m"));
      await waitFor(() => rx.msgs.filter((m) => m === "WATCHDOG=1").length >= 3, 5000, "three WATCHDOG=1");
      const info = await srv.stop("SIGTERM");
      assert.equal(info.code, 0);
      await waitFor(() => rx.msgs.some((m) => /^STOPPING=1$/m.test(m)), 5000, "STOPPING=1");
      const order = rx.msgs.map((m) => m.split("\n")[0]);
      assert.ok(order.indexOf("READY=1") < order.indexOf("STOPPING=1"), order.join(" | "));
    } finally {
      rx.stop();
    }
  });

  test("no watchdog keep-alives unless asked for, and nothing at all without NOTIFY_SOCKET", async () => {
    const dir = h.tmpDir("notify2");
    const sock = path.join(dir, "notify.sock");
    const rx = notifyReceiver(sock);
    try {
      await rx.isBound;
      const srv = await h.startServer({ dataDir: path.join(dir, "data"), env: { NOTIFY_SOCKET: sock } });
      await waitFor(() => rx.msgs.some((m) => /^READY=1$/m.test(m)), 5000, "READY=1");
      await h.sleep(300);
      assert.equal(rx.msgs.filter((m) => m === "WATCHDOG=1").length, 0);
      await srv.stop();
      const plain = await h.startServer({ dataDir: path.join(dir, "data2") });
      assert.equal((await get(plain.port, "/readyz")).status, 200);
      await plain.stop();
    } finally {
      rx.stop();
    }
  });
});
