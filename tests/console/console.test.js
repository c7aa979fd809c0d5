// console.test.js: the web console (issue 17 §6) as a person uses it, in
// Debian's Chromium driven by playwright-core (the system browser, nothing
// downloaded): sign in with a key pair, create a flow log through the
// pickers, see it listed, rename it, tag it, disable it, delete it; a
// refused call shows the API's error code and message. Screenshots of each
// page go to build/console-screenshots/.
//
// Needs /usr/bin/chromium (scripts/install-deps.sh installs it with the
// test tools). Without it the test reports itself skipped, and with CI=true
// a skip is a failure.
"use strict";

const { test, before, after } = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const h = require("../integration/harness");

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = path.join(__dirname, "..", "..", "build", "console-screenshots");
const haveChromium = fs.existsSync(CHROMIUM);
const skipWhy = haveChromium ? false : `no browser at ${CHROMIUM} (apt-get install chromium)`;

let ctx, browser, page;

before(async () => {
  if (!haveChromium) {
    if (process.env.CI === "true") throw new Error(`CI=true and the console test cannot run: ${skipWhy}`);
    return;
  }
  const { chromium } = require("playwright-core");
  ctx = await h.setup({ label: "console", accounts: [{ tag: "cccc", extraEnis: 2 }] });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on("dialog", (d) => d.accept());
  fs.mkdirSync(SHOTS, { recursive: true });
});
after(async () => {
  if (browser) await browser.close();
  if (ctx) await ctx.server.stop();
});

const shot = (name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

test("the console's files are served from the binary", { skip: skipWhy }, async () => {
  for (const [p, type] of [["/console/", "text/html"], ["/console", "text/html"], ["/console/app.js", "text/javascript"], ["/console/app.css", "text/css"]]) {
    const r = await fetch(`${ctx.server.url}${p}`);
    assert.equal(r.status, 200, p);
    assert.ok(r.headers.get("content-type").startsWith(type), `${p}: ${r.headers.get("content-type")}`);
    assert.ok((await r.text()).length > 100);
  }
  assert.equal((await fetch(`${ctx.server.url}/console/nope.js`)).status, 404);
  assert.equal((await fetch(`${ctx.server.url}/console/`, { method: "POST" })).status, 405);
});

test("sign in, create, list, rename, tag, disable, delete; errors show code and message", { skip: skipWhy, timeout: 120000 }, async () => {
  const acct = ctx.accounts[0];
  const ids = acct.ids;
  await page.goto(`${ctx.server.url}/console/`);
  await page.waitForSelector("#signin:not([hidden])");
  await shot("1-signin");

  // a wrong key: the API's own error is shown
  await page.fill("input[name=secretId]", acct.SecretId);
  await page.fill("input[name=secretKey]", "wrong-secret-key-0000000000000000");
  await page.selectOption("#region-select", "ap-guangzhou");
  await page.click("#signin-form button[type=submit]");
  await page.waitForSelector("#error:not([hidden])");
  assert.match(await page.textContent("#error"), /AuthFailure\.SignatureFailure/);
  await shot("2-signin-error");

  await page.fill("input[name=secretKey]", acct.SecretKey);
  await page.click("#signin-form button[type=submit]");
  await page.waitForSelector("#flowlogs:not([hidden])");
  assert.match(await page.textContent("#who"), new RegExp(acct.Uin));
  assert.match(await page.textContent("#fl-table tbody"), /No flow logs/);
  // the key was never stored in the page in the clear outside sessionStorage's credential
  assert.equal(await page.inputValue("input[name=secretKey]"), "");

  // create through the pickers
  await page.click("#new-flowlog");
  await page.waitForSelector("#create:not([hidden])");
  await page.selectOption("#create-vpc", ids.vpc);
  await page.selectOption("#create-type", "NETWORKINTERFACE");
  await page.waitForSelector(`#create-resource option[value="${ids.eni}"]`, { state: "attached" });
  await page.selectOption("#create-resource", ids.eni);
  await page.fill("#create-form input[name=FlowLogName]", "console-web");
  await page.fill("#create-form input[name=CloudLogId]", ids.clsGz);
  await page.fill("#create-form input[name=Tag]", "team=web");
  await shot("3-create");
  await page.click("#create-form button[type=submit]");
  await page.waitForSelector("#fl-table tbody tr[data-id]");
  const row = page.locator("#fl-table tbody tr[data-id]").first();
  const id = await row.getAttribute("data-id");
  assert.match(id, /^fl-[0-9a-z]{8}$/);
  assert.equal(await row.locator("td.name").textContent(), "console-web");
  assert.match(await row.textContent(), /team=web/);
  assert.match(await row.textContent(), new RegExp(ids.eni));
  await shot("4-list");

  // the server agrees
  const listed = await acct.client().DescribeFlowLogs({ FlowLogId: id });
  assert.equal(listed.FlowLog[0].FlowLogName, "console-web");

  // a second create on the same ENI: refused, with the code shown
  await page.click("#new-flowlog");
  await page.selectOption("#create-vpc", ids.vpc);
  await page.waitForSelector(`#create-resource option[value="${ids.eni}"]`, { state: "attached" });
  await page.selectOption("#create-resource", ids.eni);
  await page.fill("#create-form input[name=FlowLogName]", "second");
  await page.fill("#create-form input[name=CloudLogId]", ids.clsGz);
  await page.click("#create-form button[type=submit]");
  await page.waitForSelector("#error:not([hidden])");
  assert.match(await page.textContent("#error"), /FlowLogInstanceExisted/);
  await shot("5-create-error");
  await page.click("#create-close");

  // details, rename and a tag
  await row.locator("button", { hasText: "Details" }).click();
  await page.waitForSelector("#detail:not([hidden])");
  assert.match(await page.textContent("#detail-json"), new RegExp(id));
  await page.fill("#rename-form input[name=FlowLogName]", "console-renamed");
  await page.click("#rename-form button[type=submit]");
  await page.waitForFunction(() => document.querySelector("#fl-table tbody td.name")?.textContent === "console-renamed");
  await page.fill("#tags-form input[name=TagKey]", "env");
  await page.fill("#tags-form input[name=TagValue]", "test");
  await page.click("#tags-form button[type=submit]");
  await page.waitForFunction(() => /env=test/.test(document.querySelector("#fl-table tbody").textContent));
  await shot("6-detail");

  // disable, then enable again, then disable
  await row.locator("button.toggle").click();
  await page.waitForFunction(() => document.querySelector("#fl-table tbody td.state")?.textContent === "disabled");
  let d = await acct.client().DescribeFlowLogs({ FlowLogId: id });
  assert.equal(d.FlowLog[0].Enable, false);
  assert.equal(d.FlowLog[0].FlowLogName, "console-renamed");
  const tags = d.FlowLog[0].TagSet.slice().sort((a, b) => a.Key.localeCompare(b.Key));
  assert.deepEqual(tags, [{ Key: "env", Value: "test" }, { Key: "team", Value: "web" }]);
  await shot("7-disabled");

  // filters: a name that matches nothing, then back
  await page.fill("#filters input[name=FlowLogName]", "no-such-name");
  await page.click("#filters button[type=submit]");
  await page.waitForFunction(() => /No flow logs/.test(document.querySelector("#fl-table tbody").textContent));
  await page.fill("#filters input[name=FlowLogName]", "");
  await page.click("#filters button[type=submit]");
  await page.waitForSelector("#fl-table tbody tr[data-id]");

  // delete
  await page.locator("#fl-table tbody tr[data-id] button.delete").first().click();
  await page.waitForFunction(() => /No flow logs/.test(document.querySelector("#fl-table tbody").textContent));
  d = await acct.client().DescribeFlowLogs({});
  assert.equal(d.TotalNum, 0);
  await shot("8-deleted");
});
