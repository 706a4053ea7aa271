// The dashboard of `sluice serve` in headless Chromium. Run by tests/e2e/dashboard_browser_test.sh,
// which makes the jobs (ok, slow, tenants, broken), starts the server with a token and passes:
//   SLUICE_URL             the server, http://127.0.0.1:PORT
//   SLUICE_TOKEN           its token
//   SLUICE_SHOTS           where the screenshots go
//   SLUICE_BROWSER_MODULES the node_modules holding playwright-core
//   SLUICE_CHROMIUM        the browser to drive
// Prints `ok: ...` / `FAIL: ...` lines; exits 1 when a check failed.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.SLUICE_BROWSER_MODULES, '/'));
const { chromium } = require('playwright-core');

const BASE = process.env.SLUICE_URL;
const TOKEN = process.env.SLUICE_TOKEN;
const SHOTS = process.env.SLUICE_SHOTS;
const LAPTOP = { width: 1366, height: 768 };
const PHONE = { width: 390, height: 844 };

let failures = 0;
const pass = (message) => console.log(`ok: ${message}`);
const fail = (message) => { console.log(`FAIL: ${message}`); failures++; };

// One named check: passes, or fails with its message (and a screenshot of the page then).
async function check(name, page, fn) {
  try {
    const note = await fn();
    pass(note ? `${name} (${note})` : name);
    return true;
  } catch (e) {
    fail(`${name}: ${e.message}`);
    if (page) {
      const file = path.join(SHOTS, `failed-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`);
      await page.screenshot({ path: file, fullPage: true }).catch(() => {});
      console.log(`  the page then: ${file}`);
      console.log(`  status "${await text(page, '#run-status')}", progress ${await page.locator('#overall-progress').evaluate((p) => p.value).catch(() => '?')}, flash "${await text(page, '#run-flash')}"`);
    }
    return false;
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

async function text(page, selector) {
  return (await page.locator(selector).first().textContent({ timeout: 2000 }).catch(() => '')).trim();
}

// Waits until fn(arg) is true in the page; the error says what was awaited.
async function waitUntil(page, what, fn, arg, timeout = 30000) {
  try {
    await page.waitForFunction(fn, arg, { timeout, polling: 100 });
  } catch {
    throw new Error(`still not ${what} after ${timeout / 1000} s`);
  }
}

// The most partitions running at one time, by the ledger's times (to the millisecond, as the
// page reads them); one that ends when another starts does not overlap it.
function mostAtOnce(partitions) {
  const ms = (t) => Date.parse(t.replace(/(\.\d{3})\d+/, '$1'));
  const edges = partitions.flatMap((p) => [[ms(p.started_at), 1], [ms(p.finished_at), -1]]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);  // an end before a start at the same time
  let now = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (now += d));
  return most;
}

// The page is no wider than a phone, and no table in it needs scrolling sideways either.
async function fitsPhone(page) {
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert(width <= PHONE.width, `the page is ${width} px wide`);
  const wide = await page.evaluate(() => [...document.querySelectorAll('.table-wrap')]
    .filter((w) => w.clientWidth > 0 && w.scrollWidth > w.clientWidth + 1)
    .map((w) => `${w.querySelector('table').id} (${w.scrollWidth} px in ${w.clientWidth})`));
  assert(wide.length === 0, `tables scroll sideways: ${wide.join(', ')}`);
}

async function api(method, route, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (method !== 'GET') headers.Authorization = `Bearer ${TOKEN}`;
  const res = await fetch(BASE + route, { method, headers, body: method === 'GET' ? undefined : JSON.stringify(body || {}) });
  return { status: res.status, data: await res.json().catch(() => null), headers: res.headers };
}

async function startRun(job) {
  const answer = await api('POST', `/api/jobs/${job}/runs`, {});
  assert(answer.status === 202, `POST /api/jobs/${job}/runs: ${answer.status} ${JSON.stringify(answer.data)}`);
  return answer.data.run_id;
}

// In the page: whether the run's status reads `want`.
function statusIs(want) {
  const s = document.querySelector('#run-status');
  return Boolean(s) && s.textContent.replace(/^Status:\s*/, '').trim() === want;
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.SLUICE_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  const context = await browser.newContext({ viewport: LAPTOP });
  const page = await context.newPage();
  // Any script error or refused resource (a CSP violation is a console error) fails the test.
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(`page error: ${e.message}`));
  // Chromium logs each answer 401 as an error: those are the token dialog's cue, expected here.
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 401/.test(m.text())) pageErrors.push(`console: ${m.text()}`);
  });
  page.setDefaultTimeout(15000);

  try {
    await check('GET / serves the page under a Content-Security-Policy, with its script, style and Chart.js', null, async () => {
      const res = await fetch(`${BASE}/`);
      assert(res.status === 200, `GET / ${res.status}`);
      assert((res.headers.get('content-security-policy') || '').includes("default-src 'self'"), 'no CSP header');
      for (const file of ['/app.js', '/app.css', '/chart.min.js']) {
        const r = await fetch(BASE + file);
        const body = await r.text();
        assert(r.status === 200 && body.length > 100, `${file}: ${r.status}, ${body.length} bytes`);
      }
    });

    // ---- 1. a run that succeeds, watched live -------------------------------------------------
    const okRun = await startRun('ok');
    await page.goto(`${BASE}/#/runs/${okRun}`);
    await check(`run ${okRun}, started through the API: its page reaches 100% and "succeeded"`, page, async () => {
      await waitUntil(page, '100% and succeeded', (want) => {
        const s = document.querySelector('#run-status');
        return document.querySelector('#overall-progress').value === 100 && s && s.textContent.includes(want);
      }, 'succeeded');
      const label = await page.locator('#overall-progress').evaluate((p) => p.labels[0].textContent);
      assert(label === 'Overall', `the overall bar's label is "${label}"`);
    });
    const okDetail = (await api('GET', `/api/runs/${okRun}`)).data;
    const okParts = okDetail.partitions.length;
    await check('the run page shows the partitions, rows and the stream bar from the ledger', page, async () => {
      await waitUntil(page, 'showing every partition committed', (n) => document.querySelector('#stat-partitions').textContent.startsWith(`${n} of ${n} committed`), okParts);
      const written = await text(page, '#stat-written');
      assert(written.replace(/\D/g, '') === String(okDetail.rows_written), `rows written "${written}", the ledger says ${okDetail.rows_written}`);
      const stream = page.locator('#stream-bars progress');
      assert(await stream.count() === 1, `${await stream.count()} stream bars`);
      assert(await stream.evaluate((p) => p.value) === 100, 'the stream bar is not at 100');
      assert((await text(page, '#stream-bars label')) === 'ok', 'the stream bar is not labelled with the stream');
      return `${okParts} partitions, ${written} rows`;
    });
    await check('the partition timeline draws one bar per partition, on worker lanes', page, async () => {
      assert(okDetail.partitions.every((p) => p.started_at && p.finished_at), 'GET /api/runs/ID gives no partition times');
      const bars = await page.locator('#timeline .tl-bar.committed').count();
      const lanes = await page.locator('#timeline .lane:not(.axis)').count();
      assert(bars === okParts, `${bars} committed bars for ${okParts} partitions`);
      // Partitions that ran at the same time go on different lanes, and no more lanes than
      // that are used: as many as the most partitions running at once in the ledger's times.
      const want = mostAtOnce(okDetail.partitions);
      if (lanes !== want) {
        const drawn = await page.locator('#timeline .lane:not(.axis)').evaluateAll((ls) => ls.map((l) => [...l.querySelectorAll('.tl-bar')].map((b) => b.title.split(',')[0]).join(' | ')));
        const times = okDetail.partitions.map((p) => `#${p.partition} ${p.started_at.slice(17)}-${p.finished_at.slice(17)}`).join(' ');
        throw new Error(`${lanes} lanes, ${want} partitions ran at once: ${drawn.join(' // ')}; the ledger: ${times}`);
      }
      return `${bars} bars on ${lanes} lanes`;
    });
    await check('the rejects viewer lists the bad row with its error', page, async () => {
      await waitUntil(page, 'showing a rejected row', () => document.querySelectorAll('#rejects-body tr').length > 0);
      const rows = await page.locator('#rejects-body tr').count();
      const row = await text(page, '#rejects-body tr');
      assert(rows === 1, `${rows} rejected rows listed, 1 expected`);
      assert(row.includes('not-a-number'), `the reject row says "${row}"`);
      assert((await text(page, '#rejects-range')).includes('of 1'), 'the pager does not say "of 1"');
    });
    await check('every form control and progress bar has a label', page, async () => {
      const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, progress, button')]
        .filter((n) => (n.tagName === 'BUTTON' ? !n.textContent.trim() : n.labels.length === 0) && !n.getAttribute('aria-label'))
        .map((n) => n.id || n.outerHTML.slice(0, 60)));
      assert(unlabelled.length === 0, `unlabelled: ${unlabelled.join(', ')}`);
    });
    await page.screenshot({ path: path.join(SHOTS, 'run-laptop.png'), fullPage: true });
    await page.setViewportSize(PHONE);
    await check('the run page fits a phone (390 px): nothing scrolls sideways, not even a table', page, async () => {
      await page.waitForTimeout(300);  // the chart resizes on the next frame
      await fitsPhone(page);
    });
    await page.screenshot({ path: path.join(SHOTS, 'run-phone.png'), fullPage: true });
    await page.setViewportSize(LAPTOP);

    // ---- 2. the jobs and runs list ------------------------------------------------------------
    await page.goto(`${BASE}/#/`);
    await check('the jobs list shows every job, the broken one with its parse error', page, async () => {
      await waitUntil(page, 'listing 4 jobs', () => document.querySelectorAll('#jobs-body tr').length === 4);
      const broken = await text(page, '#jobs-body tr.invalid');
      assert(broken.includes('broken.yaml'), `the broken job's row says "${broken}"`);
      assert(await page.locator('#jobs-body tr.invalid button').count() === 0, 'the broken job has a Start button');
      assert(await page.getByRole('button', { name: 'Start job ok' }).isEnabled(), 'no Start button for job ok');
    });
    await check('the runs list shows the run, succeeded', page, async () => {
      await waitUntil(page, `listing ${okRun}`, (id) => [...document.querySelectorAll('#runs-body tr')].some((r) => r.textContent.includes(id) && r.textContent.includes('succeeded')), okRun);
    });
    await page.screenshot({ path: path.join(SHOTS, 'home-laptop.png'), fullPage: true });
    await page.setViewportSize(PHONE);
    await check('the jobs and runs page fits a phone (390 px): nothing scrolls sideways, the Start buttons show', page, async () => {
      await fitsPhone(page);
      const box = await page.getByRole('button', { name: 'Start job ok' }).boundingBox();
      assert(box && box.x + box.width <= PHONE.width, `the Start button is at ${JSON.stringify(box)}`);
    });
    await page.screenshot({ path: path.join(SHOTS, 'home-phone.png'), fullPage: true });
    await page.setViewportSize(LAPTOP);

    // ---- 3. stop from the page: the token dialog, a wrong token, then the right one ---------
    const slowRun = await startRun('slow');
    await page.goto(`${BASE}/#/runs/${slowRun}`);
    await check('the slow run shows live progress: committed partitions, rows/s and the chart', page, async () => {
      await waitUntil(page, 'running with a committed partition and a progress event', () => {
        const parts = document.querySelector('#stat-partitions').textContent;
        const chart = window.Chart && window.Chart.getChart('rate-chart');
        const rate = document.querySelector('#stat-rate').textContent;
        return !/^0 of/.test(parts) && /\d/.test(parts) && /\d/.test(rate) && chart && chart.data.datasets[0].data.length > 0;
      });
      assert(await page.locator('#stop-button').isVisible(), 'no Stop button while it runs');
      const rate = await text(page, '#stat-rate');
      const bar = await page.locator('#overall-progress').evaluate((p) => p.value);
      assert(bar < 100, `the bar is at ${bar} while it runs`);
      // Live, without a reload: the committed partitions and the bar move on.
      const committed = Number((await text(page, '#stat-partitions')).split(' ')[0]);
      await waitUntil(page, 'moving on', ([n, v]) => Number(document.querySelector('#stat-partitions').textContent.split(' ')[0]) > n
        && document.querySelector('#overall-progress').value > v, [committed, bar]);
      return `rows/s ${rate}, ${bar}% and on`;
    });
    await page.screenshot({ path: path.join(SHOTS, 'live-run-laptop.png'), fullPage: true });
    const stopped = await check('Stop asks for the token, refuses a wrong one, stops the run with the right one', page, async () => {
      await page.locator('#stop-button').click();
      const dialog = page.getByRole('dialog', { name: 'Server token' });
      await dialog.waitFor({ state: 'visible' });
      assert(await page.locator('#token-error').isHidden(), 'the dialog says "refused" before any try');
      await page.getByLabel('Token', { exact: true }).fill('not-the-token');
      await page.locator('#token-submit').click();
      await waitUntil(page, 'saying the token was refused', () => document.querySelector('#token-dialog').open && !document.querySelector('#token-error').hidden);
      await page.getByLabel('Token', { exact: true }).fill(TOKEN);
      await page.keyboard.press('Enter');  // the form submits from the keyboard too
      await dialog.waitFor({ state: 'hidden' });
      await waitUntil(page, 'showing "stopped"', statusIs, 'stopped', 60000);
      const run = (await api('GET', `/api/runs/${slowRun}`)).data;
      assert(run.status === 'stopped', `the ledger says ${run.status}`);
      const committed = run.partitions.filter((p) => p.status === 'committed').length;
      assert(committed < run.partitions.length, 'every partition committed: it was not stopped midway');
      return `${committed} of ${run.partitions.length} partitions committed`;
    });
    await check('a stopped run offers Resume and no Stop; the token is kept for the tab', page, async () => {
      await page.locator('#resume-button').waitFor({ state: 'visible' });
      assert(await page.locator('#stop-button').isHidden(), 'Stop is still offered');
      const bar = await page.locator('#overall-progress').evaluate((p) => p.value);
      assert(bar < 100, `a stopped run's bar is at ${bar}`);
      assert(await page.evaluate(() => sessionStorage.getItem('sluice.token')) === TOKEN, 'the token is not in sessionStorage');
      assert(await page.locator('#token-state').isVisible(), 'the header does not say a token is saved');
    });

    if (stopped) await check('Resume continues the stopped run under its id, and the page follows it live again', page, async () => {
      const before = Number((await text(page, '#stat-partitions')).split(' ')[0]);
      await page.locator('#resume-button').click();
      await waitUntil(page, 'running again', statusIs, 'running');
      await waitUntil(page, 'committing more partitions', (n) => Number(document.querySelector('#stat-partitions').textContent.split(' ')[0]) > n, before);
      assert(page.url().endsWith(`#/runs/${slowRun}`), `the page went to ${page.url()}`);
      const stop = await api('POST', `/api/runs/${slowRun}/stop`, {});
      assert(stop.status === 202, `POST stop: ${stop.status}`);
      await waitUntil(page, 'stopped again', statusIs, 'stopped');
      return `${before} committed partitions before, more after`;
    });

    // ---- 4. a job started from the jobs list, one tenant fails -----------------------------------
    await page.goto(`${BASE}/#/`);
    let tenantsRun = '';
    const started = await check('Start on the jobs list starts the job (the saved token, no dialog) and opens its run', page, async () => {
      await page.getByRole('button', { name: 'Start job tenants' }).click();
      await page.waitForURL(/#\/runs\/[^/]+$/);
      tenantsRun = decodeURIComponent(page.url().split('#/runs/')[1]);
      assert(await page.locator('#token-dialog').evaluate((d) => !d.open), 'the token dialog opened');
      return tenantsRun;
    });
    if (started) await check('the failed tenant and its message appear; the other tenant is complete', page, async () => {
      await waitUntil(page, 'ended partial', statusIs, 'partial');
      await page.locator('#failures').waitFor({ state: 'visible' });
      const failures = await text(page, '#failure-list');
      assert(failures.includes('tenant b'), `the failures do not name tenant b: "${failures}"`);
      assert(failures.includes('country b is closed for loading'), `the failures lack the target's message: "${failures}"`);
      assert(!failures.includes('tenant a'), 'tenant a is listed as failed');
      const a = await page.locator('#tenant-bars progress[data-name="tenant-a"]').evaluate((p) => p.value);
      const b = page.locator('#tenant-bars progress[data-name="tenant-b"]');
      assert(a === 100, `tenant a's bar is at ${a}`);
      assert(await b.evaluate((p) => p.classList.contains('failed')), "tenant b's bar is not marked failed");
      const run = (await api('GET', `/api/runs/${tenantsRun}`)).data;
      assert(run.status === 'partial', `the ledger says ${run.status}`);
      assert(await page.locator('#resume-button').isVisible(), 'no Resume for a partial run');
    });
    await page.screenshot({ path: path.join(SHOTS, 'failed-run-laptop.png'), fullPage: true });
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(SHOTS, 'failed-run-phone.png'), fullPage: true });

    // ---- 5. what the jobs above do not make: a retried partition, the ledger's older time form
    await page.setViewportSize(LAPTOP);
    await check('a retried partition is marked, and times in the ledger\'s text form are read (a routed answer)', page, async () => {
      const t = (s) => `2026-12-04 21:30:${s}+00`;  // the form before ISO 8601
      const failure = 'stream s, partition 2: inserting into t: disk I/O error';
      const run = {
        run_id: 'r-routed', job: 'routed', status: 'failed', started_at: t('00.000000'), finished_at: t('03.000000'),
        rows_read: 10, rows_written: 10, rows_rejected: 0, error: failure, stop_requested: false, superseded_by: '', owner: 'h:1', live: false,
        partitions: [
          { stream: 's', partition: 1, tenant: '', lower_bound: '', upper_bound: '100', status: 'committed', attempts: 2, rows: 10, rows_read: 10, bytes: 1, worker: 'h:1', error: '', started_at: t('00.100000'), finished_at: t('01.500000') },
          { stream: 's', partition: 2, tenant: '', lower_bound: '100', upper_bound: '', status: 'failed', attempts: 1, rows: 0, rows_read: 0, bytes: 0, worker: 'h:1', error: failure, started_at: t('00.200000'), finished_at: t('02.000000') },
        ],
      };
      await page.route(/\/api\/runs\/r-routed$/, (r) => r.fulfill({ json: run }));
      await page.route(/\/api\/runs\/r-routed\/rejects/, (r) => r.fulfill({ json: { rejects: [], total: 0 } }));
      await page.route(/\/api\/runs\/r-routed\/events$/, (r) => r.fulfill({
        contentType: 'text/event-stream', body: `data: ${JSON.stringify({ ...run, partitions: undefined, event: 'run_status' })}\n\n` }));
      await page.goto(`${BASE}/#/runs/r-routed`);
      await waitUntil(page, 'showing the routed run failed', statusIs, 'failed');
      assert(await page.locator('#timeline .tl-bar.committed.retried').count() === 1, 'the retried partition is not marked in the timeline');
      assert(await page.locator('#timeline .tl-bar.failed').count() === 1, 'no failed bar');
      assert(await page.locator('#timeline .lane:not(.axis)').count() === 2, 'the two partitions that overlap are not on two lanes');
      const table = await text(page, '#partitions-body');
      assert(table.includes('2 (retried)'), `the partitions table says "${table}"`);
      assert((await text(page, '#stream-bars')).includes('1 retry'), 'the stream bar does not count the retry');
      const failures = await page.locator('#failure-list li').allTextContents();
      assert(failures.length === 1 && failures[0].includes('disk I/O error'), `failures listed: ${JSON.stringify(failures)}`);
      assert(await page.locator('#resume-button').isVisible(), 'no Resume for a failed run');
      const started = await page.locator('#run-meta time').first().getAttribute('datetime');
      assert(started === '2026-12-04T21:30:00.000Z', `the start reads ${started}`);
    });

    await check('no script error or refused resource (CSP) in the page', null, async () => {
      assert(pageErrors.length === 0, pageErrors.join('; '));
    });
  } finally {
    await browser.close();
  }
}

main().then(() => {
  process.exit(failures ? 1 : 0);
}, (e) => {
  fail(`the browser test broke: ${e.stack || e}`);
  process.exit(1);
});
