// Browser tests of the web console (issue 13): the native binary serves /ui, Debian's chromium (driven by
// playwright-core, never a downloaded browser) signs in and uses every page as an operator would. Through
// it all: no console errors, no failed requests, nothing fetched from another origin, no admin call before
// sign-in. Screenshots of each page go to $SCREENSHOTS when set (the README's come from this run).
// Env: GATEWAY_BIN (the binary), CHROMIUM (default /usr/bin/chromium), SCREENSHOTS (a folder, optional).
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { chromium } from 'playwright-core';

const BIN = process.env.GATEWAY_BIN;
const SHOTS = process.env.SCREENSHOTS;
const MASTER = 'console-test-master-key';
const work = mkdtempSync(join(tmpdir(), 'gw-console-'));
const gateways = [];
let browser, page, base;
const seen = { errors: [], failed: [], offsite: [], requests: [] };

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => { const { port } = server.address(); server.close(() => resolve(port)); });
  });
}

/** Starts the binary on a fresh port with a config; resolves with its base URL once /health answers. */
async function startGateway(name, config) {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'gateway.json'), JSON.stringify(config));
  writeFileSync(join(dir, 'tag.js'), 'export function onRequest(req) { req.user = "console-test"; return req; }\n');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(BIN, ['serve', '--config', 'gateway.json', '--urls', url], {
    cwd: dir, env: { ...process.env, GATEWAY_MASTER_KEY: MASTER, GATEWAY_DATA_DIR: join(dir, 'data'), GATEWAY_LOG_LEVEL: 'Warning' }, stdio: 'ignore',
  });
  gateways.push(child);
  for (let i = 0; i < 150; i++) {
    try { if ((await fetch(`${url}/health`)).ok) return url; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name}: the gateway did not answer /health`);
}

async function chat(key, model, text, extra = {}) {
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: text }], ...extra }),
  });
  await res.text();
  return res.status;
}

/** Waits until the admin API's request log holds at least n rows (the store writes in batches). */
async function logged(n) {
  for (let i = 0; i < 60; i++) {
    const res = await fetch(`${base}/admin/v1/logs?limit=${n}`, { headers: { authorization: `Bearer ${MASTER}` } });
    if ((await res.json()).data.length >= n) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the request log never held ${n} rows`);
}

const nav = (name) => page.getByRole('navigation').getByRole('link', { name, exact: true });
async function shot(name) { if (SHOTS) await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true }); }

before(async () => {
  assert.ok(BIN, 'GATEWAY_BIN names the gateway binary');
  base = await startGateway('main', {
    providers: { mock: { type: 'mock', chunks: 4, chunkDelayMs: 5 } },
    models: { chat: { deployments: [{ provider: 'mock', model: 'echo' }] } },
    pricing: { 'mock/echo': { input: 2.5, output: 10 } },
    policies: [{ file: 'tag.js', models: ['chat'] }],
  });
  // Traffic before the browser comes: answered, refused and policy-bound requests, for every page to show.
  for (let i = 0; i < 4; i++) assert.equal(await chat(MASTER, 'mock/echo', `warm up ${i}`), 200);
  assert.equal(await chat(MASTER, 'chat', 'through the group'), 200);
  assert.equal(await chat(MASTER, 'nope/model', 'unknown'), 404);
  await logged(6);
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--disable-dev-shm-usage', '--disable-gpu'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.setDefaultTimeout(10000);
  const origin = new URL(base).origin;
  page.on('console', (m) => { if (m.type() === 'error' && !seen.allow4xx) seen.errors.push(m.text()); });
  page.on('pageerror', (e) => seen.errors.push(String(e)));
  page.on('request', (r) => {
    if (!r.url().startsWith(origin)) { if (/^(https?|wss?):/.test(r.url())) seen.offsite.push(r.url()); return; }
    seen.requests.push(new URL(r.url()).pathname);
  });
  page.on('requestfailed', (r) => { if (r.url().startsWith(origin) && r.failure()?.errorText !== 'net::ERR_ABORTED') seen.failed.push(`${r.method()} ${r.url()} ${r.failure()?.errorText}`); });
  page.on('response', (r) => { if (r.url().startsWith(origin) && r.status() >= 400 && !seen.allow4xx) seen.failed.push(`${r.request().method()} ${r.url()} ${r.status()}`); });
});

// A step that failed with a dialog open must not block the next one.
beforeEach(async () => { await page?.evaluate(() => document.querySelectorAll('dialog[open]').forEach((d) => d.close())).catch(() => {}); });

/** Polls until the locator matches exactly n elements. */
async function count(locator, n) {
  for (let i = 0; i < 100; i++) {
    if ((await locator.count()) === n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(await locator.count(), n);
}

after(async () => {
  await browser?.close();
  for (const g of gateways) g.kill('SIGTERM');
  rmSync(work, { recursive: true, force: true });
});

test('the console is served from the binary: html, assets with ETags, a favicon, a strict CSP', async () => {
  const res = await fetch(`${base}/ui`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/html/);
  assert.match(res.headers.get('content-security-policy'), /default-src 'self'/);
  const js = await fetch(`${base}/ui/app.js`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(js.status, 200);
  assert.equal(js.headers.get('content-encoding'), 'gzip');
  const again = await fetch(`${base}/ui/app.js`, { headers: { 'if-none-match': js.headers.get('etag') } });
  assert.equal(again.status, 304);
  assert.equal((await fetch(`${base}/favicon.ico`)).headers.get('content-type'), 'image/svg+xml');
  assert.equal((await fetch(`${base}/ui/nothing-here.js`)).status, 404);
  assert.equal((await fetch(`${base}/ui`, { method: 'POST' })).status, 405);
});

test('sign in: a wrong key is refused on the page, the admin key gets in, and nothing called the admin API before', async () => {
  await page.goto(`${base}/ui`);
  await page.getByLabel('Admin key').waitFor();
  assert.deepEqual(seen.requests.filter((p) => p.startsWith('/admin/')), [], 'no admin call before sign-in');
  seen.allow4xx = true; // the wrong key's 401 is the point of this step
  await page.getByLabel('Admin key').fill('not-a-key');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();
  seen.allow4xx = false;
  await page.getByLabel('Admin key').fill(MASTER);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  assert.equal(await page.getByLabel('Admin key').count(), 0);
});

test('overview: totals and four charts over the stored requests', async () => {
  await nav('Overview').click();
  await page.locator('.card').filter({ hasText: 'Requests' }).getByText('6', { exact: true }).waitFor();
  await page.locator('.chart svg').nth(3).waitFor();
  assert.equal(await page.locator('.chart svg').count(), 4);
  assert.ok(await page.locator('.chart svg rect.s1').count() > 0, 'the requests chart has bars');
  await page.getByRole('cell', { name: 'mock/echo' }).first().waitFor();
  await shot('overview');
});

let secret = '';
test('keys: create one with a budget, see its secret once, use it, revoke it', async () => {
  await nav('Keys').click();
  await page.getByRole('button', { name: 'Create key' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name').fill('browser-made');
  await dialog.getByLabel('Models').fill('mock/*');
  await dialog.getByLabel('Budget (USD)').fill('5');
  await dialog.getByRole('button', { name: 'Create key' }).click();
  secret = await page.getByTestId('new-key').inputValue();
  assert.match(secret, /^gw-/);
  const row = page.getByRole('row').filter({ hasText: 'browser-made' });
  await row.getByText('active').waitFor();
  await row.getByText('$0 / $5.00').waitFor();
  await shot('keys');
  assert.equal(await chat(secret, 'mock/echo', 'from the new key'), 200);
  assert.equal(await chat(secret, 'chat', 'not allowed'), 403);
  await page.getByRole('button', { name: 'Dismiss' }).click();
  assert.equal(await page.getByTestId('new-key').count(), 0, 'the secret is gone once dismissed');
  await row.getByRole('button', { name: 'Revoke browser-made' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
  await row.getByText('revoked').waitFor();
  seen.allow4xx = true;
  assert.equal(await chat(secret, 'mock/echo', 'after revoking'), 401);
  seen.allow4xx = false;
});

test('tenants and teams: create both with a budget, edit the team, see spend against the limit', async () => {
  await nav('Tenants & teams').click();
  await page.getByRole('button', { name: 'New tenant' }).click();
  let dialog = page.getByRole('dialog');
  await dialog.getByLabel('ID').fill('acme');
  await dialog.getByLabel('Display').fill('Acme Corp');
  await dialog.getByLabel('Budget (USD)').fill('100');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('row').filter({ hasText: 'Acme Corp' }).waitFor();
  await page.getByRole('button', { name: 'New team' }).click();
  dialog = page.getByRole('dialog');
  await dialog.getByLabel('ID').fill('search');
  await dialog.getByLabel('Tenant').selectOption('acme');
  await dialog.getByLabel('Requests per minute').fill('60');
  await dialog.getByRole('button', { name: 'Save' }).click();
  const team = page.getByRole('row').filter({ hasText: 'search' });
  await team.getByText('60 rpm').waitFor();
  await team.getByRole('button', { name: 'Edit team search' }).click();
  dialog = page.getByRole('dialog');
  await dialog.getByLabel('Budget (USD)').fill('20');
  await dialog.getByLabel('Budget period').selectOption('1d');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await team.getByText('$0 / $20.00').waitFor();
  await shot('teams');
});

test('logs: the table lists requests, filters by key, and a row opens its timings, policies, tokens and cost', async () => {
  await logged(9);
  await nav('Logs').click();
  const logs = page.getByTestId('logs-table');
  await logs.filter({ hasText: 'mock/echo' }).waitFor();
  await page.getByLabel('Key').selectOption({ label: 'browser-made' });
  await page.getByRole('button', { name: 'Filter' }).click();
  await logs.getByText('model_not_allowed').waitFor();
  await count(logs.getByRole('row'), 1 + 2); // the two requests made with that key (the revoked one had no key)
  await page.getByLabel('Key').selectOption({ label: 'All keys' });
  await page.getByLabel('Model').fill('chat');
  await page.getByLabel('Status').fill('200');
  await page.getByRole('button', { name: 'Filter' }).click();
  await count(logs.getByRole('row'), 1 + 1); // the one answered request to the group
  await shot('logs');
  await logs.getByRole('row').nth(1).press('Enter'); // keyboard opens the detail too
  const detail = page.getByRole('dialog');
  await detail.getByText('Gateway overhead').waitFor();
  assert.equal(await detail.locator('dt:text-is("Policies") + dd').textContent(), 'tag');
  assert.equal(await detail.locator('dt:text-is("Deployment") + dd').textContent(), 'mock/echo');
  assert.match(await detail.locator('dt:text-is("Cost") + dd').textContent(), /^\$/);
  await page.keyboard.press('Escape');
  await detail.waitFor({ state: 'detached' });
});

test('usage: totals per model and per key, the slowest and costliest requests', async () => {
  await nav('Usage').click();
  const byGroup = page.locator('section').filter({ has: page.getByRole('heading', { name: 'By model' }) });
  await byGroup.getByRole('cell', { name: 'mock/echo' }).waitFor();
  await page.getByRole('heading', { name: 'Slowest requests' }).waitFor();
  await page.getByLabel('Group by').selectOption('key');
  await page.locator('section').filter({ has: page.getByRole('heading', { name: 'By key' }) }).getByRole('cell', { name: 'browser-made' }).waitFor();
  await shot('usage');
});

test('providers: the mock provider, the group and its deployment with a closed breaker, refreshed live', async () => {
  await nav('Providers').click();
  await page.getByRole('cell', { name: 'mock', exact: true }).first().waitFor();
  const group = page.locator('section').filter({ has: page.getByRole('heading', { name: /^chat · / }) });
  await group.getByRole('cell', { name: 'mock/echo' }).waitFor();
  await group.getByText('closed').waitFor();
  await shot('providers');
});

test('policies: the configured policy with its calls', async () => {
  await nav('Policies').click();
  const row = page.getByRole('row').filter({ hasText: 'tag.js' });
  await row.waitFor();
  assert.match(await row.textContent(), /onRequest/);
  assert.ok(Number((await row.locator('td').nth(7).textContent()).replace(/\D/g, '')) >= 1, 'the policy ran');
});

test('playground: streams an answer from the model, with its timings, and keeps the conversation', async () => {
  await nav('Playground').click();
  await page.getByLabel('Model').fill('mock/echo');
  await page.getByRole('textbox', { name: 'Message' }).fill('hello from the browser');
  const streamed = page.waitForResponse((r) => r.url().endsWith('/v1/chat/completions') && /text\/event-stream/.test(r.headers()['content-type'] ?? ''));
  await page.getByRole('button', { name: 'Send' }).click();
  await streamed;
  await page.getByTestId('playground-output').filter({ hasText: 'hello from the browser' }).waitFor();
  await page.getByText(/first token .* total/).waitFor();
  await page.getByRole('textbox', { name: 'Message' }).fill('second turn');
  await page.getByRole('textbox', { name: 'Message' }).press('Control+Enter');
  await page.getByTestId('playground-output').filter({ hasText: 'second turn' }).waitFor();
  assert.equal(await page.getByTestId('playground-output').count(), 2);
  await shot('playground');
});

test('keyboard: Tab reaches the navigation and Enter follows a link', async () => {
  await page.goto(`${base}/ui#/overview`);
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Keys');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Keys' }).waitFor();
});

test('phone: at 390 px wide every page fits without sideways scrolling of the page', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  for (const name of ['Overview', 'Keys', 'Logs', 'Playground']) {
    await nav(name).click();
    await page.getByRole('heading', { name }).waitFor();
    await page.waitForTimeout(150);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 1, `${name} is ${overflow} px wider than the phone`);
  }
  await shot('phone');
  await page.setViewportSize({ width: 1280, height: 860 });
});

test('signing out forgets the key and the playground conversation', async () => {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Admin key').waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('gateway.console.adminKey')), null);
  await page.getByLabel('Admin key').fill(MASTER);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await nav('Playground').click();
  await page.getByRole('textbox', { name: 'Message' }).waitFor();
  assert.equal(await page.getByTestId('playground-output').count(), 0);
});

test('server.console false: /ui is a 404', async () => {
  const off = await startGateway('off', { server: { console: false } });
  assert.equal((await fetch(`${off}/ui`)).status, 404);
  assert.equal((await fetch(`${off}/health`)).status, 200);
});

test('through it all: no console errors, no failed requests, nothing fetched from another origin', () => {
  assert.deepEqual(seen.errors, []);
  assert.deepEqual(seen.failed, []);
  assert.deepEqual(seen.offsite, []);
});
