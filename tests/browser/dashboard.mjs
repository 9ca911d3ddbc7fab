// tests/browser/dashboard.mjs DEMO SCREENSHOT — the dashboard in Debian's
// Chromium, driven by playwright-core (run by run.sh, which installs it).
//
// Starts the demo with the dashboard on an ephemeral port and a token, reads
// the URL it prints, and checks as a person would: the page shows the demo's
// supervision tree with its named actors; a restart made through the API
// shows on the page (the actor's restart count goes up); the breaker and the
// message-rate sparkline are there. Then a screenshot, and the demo must end
// cleanly on SIGTERM (exit 0: its own count check passed).
//
// Every wait is a hang guard (HANG_MS, far beyond a sane run), never a timing
// assertion: what is asserted is what the page shows, whenever it shows it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';

const require = createRequire(path.join(process.env.TROUPE_NPM_DIR, 'package.json'));
const { chromium } = require('playwright-core');

const [demoExe, screenshot] = process.argv.slice(2);
const TOKEN = 'browser-test-token';
const HANG_MS = 60_000;
const NAMES = ['aggregator', 'producer-0', 'producer-1', 'producer-2', 'reporter', 'flaky'];

function ok(what) { console.log(`ok - ${what}`); }

// The demo, and the URL it prints ("dashboard: http://127.0.0.1:PORT/").
function startDemo() {
  const proc = spawn(demoExe, ['--forever', '--http-port', '0', '--token', TOKEN],
                     { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => proc.on('exit', (code, sig) => resolve({ code, sig })));
  const url = new Promise((resolve, reject) => {
    let seen = '';
    proc.stdout.on('data', (chunk) => {
      seen += chunk;
      const m = /dashboard: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(seen);
      if (m) resolve(m[1]);
    });
    exited.then(({ code }) => reject(new Error(`demo exited (${code}) before its URL:\n${seen}`)));
  });
  return { proc, url, exited };
}

// The restart count the page shows for `name`.
async function shownRestarts(page, name) {
  const text = await page.textContent(`.actor[data-name="${name}"] [data-field="restarts"]`);
  return Number(text);
}

async function post(url, token) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const r = await fetch(url, { method: 'POST', headers });
  return { status: r.status, body: await r.json() };
}

async function checkTree(page) {
  for (const name of NAMES)
    await page.waitForSelector(`.actor[data-name="${name}"]`, { timeout: HANG_MS });
  ok(`the tree shows the named actors: ${NAMES.join(', ')}`);
  for (const sup of ['pipeline', 'faults'])
    assert.equal(await page.locator(`[data-sup="${sup}"]`).count(), 1, `supervisor ${sup}`);
  const under = await page.locator('[data-sup="pipeline"] + .kids .actor').evaluateAll(
    (rows) => rows.map((r) => r.dataset.name));
  assert.deepEqual(under.sort(), NAMES.filter((n) => n !== 'flaky').sort());
  ok('pipeline supervises the aggregator, the producers and the reporter; faults has flaky');
}

// flaky panics once by itself (2 s in): wait for that restart first, so the
// next increment can only be ours.
async function checkRestart(page, base) {
  await page.waitForFunction(() => Number(document.querySelector(
    '.actor[data-name="flaky"] [data-field="restarts"]')?.textContent) >= 1, null,
    { timeout: HANG_MS });
  const before = await shownRestarts(page, 'flaky');
  const denied = await post(`${base}api/actors/flaky/restart`, 'wrong');
  assert.equal(denied.status, 401);
  const res = await post(`${base}api/actors/flaky/restart`, TOKEN);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  assert.equal(res.body.action, 'restart');
  await page.waitForFunction((n) => Number(document.querySelector(
    '.actor[data-name="flaky"] [data-field="restarts"]')?.textContent) > n, before,
    { timeout: HANG_MS });
  ok(`a restart through the API shows on the page (flaky: ${before} -> ${await shownRestarts(page, 'flaky')})`);
}

async function checkPanels(page) {
  await page.waitForSelector('tr[data-breaker="reporter->aggregator"] .badge.closed', { timeout: HANG_MS });
  ok('the breaker panel shows reporter->aggregator, closed');
  // ten refreshes: the sparkline has points and the rate is a number
  await page.waitForFunction(() => (document.querySelector('#spark polyline')
    ?.getAttribute('points') || '').split(' ').length >= 10, null, { timeout: HANG_MS });
  assert.match(await page.textContent('#rate'), /^[\d.]+( [kM])? msg\/s$/);
  assert.match(await page.textContent('#conn-text'), /^live/);
  ok('the message-rate sparkline is drawn and the page is live');
  // the demo has no pools configured: one pool, "default", with every worker
  await page.waitForSelector('#pools tr[data-pool="default"]', { timeout: HANG_MS });
  const row = await page.locator('#pools tr[data-pool="default"] td').allTextContents();
  assert.equal(row[1], await page.textContent('#s-workers'), `default pool's workers: ${row}`);
  assert.match(row[2], /^(\d+(-\d+)?)(,\d+(-\d+)?)*$|^-$/, `a CPU set: ${row[2]}`);
  assert.match(row[3], /^\d+$/);
  assert.match(row[4], /^\d+$/);
  ok(`the pools panel shows the default pool (${row.join(' | ')})`);
}

// Every live actor, not only the tree: the demo's plain troupe_spawn actors
// (the persistent "ledger" and an unnamed "idler") are listed; the search
// box and the type filter narrow the list.
async function checkActorList(page) {
  await page.waitForSelector('tr.listed[data-actor="ledger"]', { timeout: HANG_MS });
  await page.waitForSelector('tr.listed[data-type="idler"]', { timeout: HANG_MS });
  ok('the actor list shows the plain actors: ledger and an unnamed idler');
  for (const name of NAMES)
    assert.equal(await page.locator(`tr.listed[data-actor="${name}"]`).count(), 1, `listed: ${name}`);
  await page.fill('#q', 'produc');
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('tr.listed')];
    return rows.length === 3 && rows.every((r) => r.dataset.actor.startsWith('producer-'));
  }, null, { timeout: HANG_MS });
  ok('searching "produc" leaves the three producers');
  await page.fill('#q', '');
  await page.selectOption('#f-type', 'ledger');
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('tr.listed')];
    return rows.length === 1 && rows[0].dataset.actor === 'ledger';
  }, null, { timeout: HANG_MS });
  ok('the type filter "ledger" leaves the ledger alone');
  await page.selectOption('#f-type', '');
  await page.waitForFunction(() => document.querySelectorAll('tr.listed').length >= 8, null, { timeout: HANG_MS });
}

// Clicking flaky opens its panel: its facts, a depth sparkline, and its
// own failure and restarts from the event log.
async function checkActorPanel(page) {
  await page.click('tr.listed[data-actor="flaky"]');
  await page.waitForSelector('#detail-box[data-actor="flaky"]:not([hidden])', { timeout: HANG_MS });
  await page.waitForSelector('#d-events tr[data-kind="failure"]', { timeout: HANG_MS });
  assert.match(await page.textContent('#d-facts'), /restarts \d+/);
  assert.match(await page.textContent('#d-events'), /simulated fault/);
  ok('the panel of flaky opens with its facts and its failure');
  await page.click('#d-close');
  await page.waitForSelector('#detail-box[hidden]', { state: 'attached', timeout: HANG_MS });
}

// The event log shows flaky's panic and its restart, and the flag set at
// the start; the journal panel counts the ledger's commits.
async function checkEventsAndJournal(page) {
  await page.waitForSelector('#events tr[data-kind="failure"][data-actor="flaky"]', { timeout: HANG_MS });
  await page.waitForSelector('#events tr[data-kind="restart"][data-actor="flaky"]', { timeout: HANG_MS });
  await page.waitForSelector('#events tr[data-kind="flag"][data-actor="demo.started"]', { timeout: HANG_MS });
  ok('the event log shows the failure of flaky, its restart and the flag change');
  await page.waitForFunction(() => Number(document.querySelector('#journal tr[data-field="commits"] td:nth-child(2)')
    ?.textContent) > 0, null, { timeout: HANG_MS });
  ok(`the journal panel shows commits: ${await page.textContent('#journal tr[data-field="commits"]')}`);
}

// No mailbox bar is drawn above 100 %, and no count above its capacity.
async function checkFill(page) {
  const bad = await page.evaluate(() => {
    const out = [];
    for (const b of document.querySelectorAll('.bar')) {
      const w = parseFloat(b.querySelector('i')?.style.width || '0');
      const m = /^(\d+)\/(\d+)/.exec(b.querySelector('span')?.textContent || '');
      if (w > 100 || (m && Number(m[2]) > 0 && Number(m[1]) > Number(m[2]))) out.push(b.textContent + ' ' + w);
    }
    return out;
  });
  assert.deepEqual(bad, [], 'no fill above 100 %');
  ok('no mailbox fill above 100 %');
}

async function main() {
  const demo = startDemo();
  process.on('exit', () => demo.proc.kill('SIGKILL')); // never leave it running
  const profile = mkdtempSync(path.join(tmpdir(), 'troupe-chromium-'));
  let ctx;
  try {
    const base = await demo.url;
    ok(`the demo serves the dashboard at ${base}`);
    ctx = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      viewport: { width: 1400, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = ctx.pages()[0] || await ctx.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(base, { timeout: HANG_MS });
    await checkTree(page);
    await checkRestart(page, base);
    await checkPanels(page);
    await checkActorList(page);
    await checkActorPanel(page);
    await checkEventsAndJournal(page);
    await checkFill(page);
    assert.deepEqual(errors, [], 'no script errors on the page');
    await page.screenshot({ path: screenshot, fullPage: true });
    ok(`screenshot: ${screenshot}`);
  } finally {
    if (ctx) await ctx.close();
    rmSync(profile, { recursive: true, force: true });
    demo.proc.kill('SIGTERM');
  }
  const end = await demo.exited;
  assert.deepEqual(end, { code: 0, sig: null }, 'the demo ends cleanly, its counts checked');
  ok('the demo ended cleanly on SIGTERM');
}

const guard = setTimeout(() => { console.error('hang guard: the browser test ran 5 minutes'); process.exit(1); },
                         300_000);
main().then(() => clearTimeout(guard), (e) => { console.error(`not ok - ${e.stack || e}`); process.exit(1); });
