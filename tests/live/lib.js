"use strict";
// lib.js: what the live tests share — running commands in the test's own
// network namespaces, the UDP sink of traffic.py, waiting for a condition, and
// the children to kill when a test ends. The namespaces, addresses and routes
// are each test's own (every address one the test assigns, no route out).

const path = require("node:path");
const { spawn, spawnSync } = require("node:child_process");

const TRAFFIC = path.join(__dirname, "traffic.py");

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", ...opts });
  if (r.status !== 0 && !opts.mayFail) throw new Error(`${cmd} ${args.join(" ")}: ${r.stderr || r.stdout || r.error}`);
  return r.stdout;
}
const ip = (...a) => sh("ip", a);
const inNs = (ns, cmd, args, opts) => sh("ip", ["netns", "exec", ns, cmd, ...args], opts);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// processes a test started (sinks, agents, captures): killed when it ends
const children = new Set();
function killChildren() {
  for (const c of children) c.kill("SIGKILL");
  children.clear();
}
process.on("exit", killChildren);

// traffic.py's UDP sink in namespace ns, listening on addrs; resolves once it listens
async function startSink(ns, ...addrs) {
  const p = spawn("ip", ["netns", "exec", ns, "python3", TRAFFIC, "sink", ...addrs]);
  children.add(p);
  await new Promise((resolve, reject) => {
    p.stdout.once("data", resolve);
    p.on("exit", (code) => reject(new Error(`sink exited ${code}`)));
  });
  return p;
}

// fn() until it is truthy (its value is returned), or an error after ms
async function until(what, fn, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

module.exports = { TRAFFIC, sh, ip, inNs, sleep, children, killChildren, startSink, until };
