// console.test.js: the admin console of referral-gw in headless Chromium
// (Debian's /usr/bin/chromium), driven by playwright-core. Run by
// tests/integration/gateway-browser.sh, which starts the nodes and the
// gateway, makes a dead letter and the admin token, and gives:
//   GW_URL, ADMIN_TOKEN, REFERRAL_ID (the dead letter's referral),
//   OUT_DIR (screenshots), PLAYWRIGHT_CORE (the installed package), CHROMIUM.
// The flows: a failed and a good login through the form; the queues; the
// referral's timeline; a forged requeue refused; the requeue through its
// confirmation page; log out; and, with JavaScript off, the queues still.
// Every screenshot is checked not to be blank. Prints ok/FAIL lines like
// tests/lib.sh; exits 1 on a failure.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const env = process.env;
const GW = env.GW_URL;
const OUT = env.OUT_DIR;
const RID = env.REFERRAL_ID;
let checks = 0, failed = 0;

function ok(what) { checks++; console.log('ok - ' + what); }
function notOk(what) { checks++; failed++; console.log('FAIL - ' + what); }
function check(what, cond, detail) {
  if (cond) ok(what); else notOk(what + (detail ? ': ' + detail : ''));
  return cond;
}
function expectEq(what, want, got) {
  return check(what, want === got, `expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
}

// A PNG's pixels' distinct colours (8-bit RGB or RGBA, not interlaced:
// what Chromium writes), read with node's zlib only.
function pngColours(buf) {
  const sig = '89504e470d0a1a0a';
  if (buf.subarray(0, 8).toString('hex') !== sig) throw new Error('not a PNG');
  let off = 8, w = 0, h = 0, depth = 0, ctype = 0, interlace = 0;
  const idat = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      w = data.readUInt32BE(0); h = data.readUInt32BE(4);
      depth = data[8]; ctype = data[9]; interlace = data[12];
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  const bpp = { 2: 3, 6: 4 }[ctype];
  if (depth !== 8 || !bpp || interlace) throw new Error(`PNG of depth ${depth}, colour type ${ctype}, interlace ${interlace}`);
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = w * bpp;
  let prev = Buffer.alloc(stride), pos = 0;
  const colours = new Set();
  for (let y = 0; y < h; y++) {
    const f = raw[pos++];
    const line = Buffer.from(raw.subarray(pos, pos + stride));
    pos += stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? line[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
      let p;
      switch (f) {
        case 0: p = 0; break;
        case 1: p = a; break;
        case 2: p = b; break;
        case 3: p = (a + b) >> 1; break;
        case 4: {
          const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c);
          p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: throw new Error('PNG filter ' + f);
      }
      line[i] = (line[i] + p) & 255;
    }
    for (let x = 0; x < stride; x += bpp) colours.add(line.readUIntBE(x, 3));
    prev = line;
  }
  return { w, h, colours: colours.size };
}

// A full-page screenshot, checked not blank: a page of text in a style
// sheet's colours has hundreds of colours (anti-aliased glyphs); a blank
// or single-colour page has one or two.
async function shot(page, name) {
  const file = path.join(OUT, name + '.png');
  const buf = await page.screenshot({ path: file, fullPage: true });
  let info;
  try { info = pngColours(buf); } catch (e) { notOk(`${name}.png decodes: ${e.message}`); return; }
  check(`${name}.png is not blank (${info.w}x${info.h}, ${info.colours} colours, ${buf.length} bytes)`,
    info.colours >= 16 && buf.length > 5000 && info.w > 0 && info.h > 0);
}

// The number in the overview's queue table on the row named `label`.
async function depth(page, label) {
  const cell = page.locator('main table.kv tr', { has: page.locator('th', { hasText: new RegExp('^' + label + '$') }) }).locator('td');
  if (await cell.count() !== 1) return null;
  return (await cell.textContent()).trim();
}

async function login(page, token) {
  await page.goto(GW + '/console/');
  await page.locator('#token').fill(token);
  const [resp] = await Promise.all([
    page.waitForNavigation(),
    page.getByRole('button', { name: 'Log in' }).click(),
  ]);
  return resp;
}

async function main() {
  for (const v of ['GW_URL', 'ADMIN_TOKEN', 'REFERRAL_ID', 'OUT_DIR', 'PLAYWRIGHT_CORE', 'CHROMIUM']) {
    if (!env[v]) { notOk(`${v} is not set: run through tests/integration/gateway-browser.sh`); return; }
  }
  if (!fs.existsSync(env.CHROMIUM)) {
    notOk(`${env.CHROMIUM} is missing: apt-get install chromium (scripts/deps.sh installs it)`);
    return;
  }
  const { chromium } = require(env.PLAYWRIGHT_CORE);
  // This machine's network is closed: nothing of Chromium's own may call
  // out, and nothing is kept between runs.
  const browser = await chromium.launch({
    executablePath: env.CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
      '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    timeout: 60000,
  });
  try {
    await flows(browser);
    await noScript(browser);
  } finally {
    await browser.close();
  }
}

async function flows(browser) {
  const ctx = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(20000);
  const scriptErrors = [];
  page.on('pageerror', (e) => scriptErrors.push(e.message));

  // Without a session: the login form.
  let resp = await page.goto(GW + '/console/');
  expectEq('/console/ without a session lands on the login form', GW + '/console/login', page.url());
  check('the form asks for the token', await page.locator('form[action="/console/login"] input#token[type=password]').count() === 1);
  await shot(page, '01-login');

  // One wrong token: the form again, with the reason.
  resp = await login(page, 'rgw_not-a-token');
  expectEq('a wrong token: 401', 401, resp.status());
  check('with "That token was not accepted."', (await page.locator('p.error').textContent() || '').includes('not accepted'));

  // The admin token: the overview.
  resp = await login(page, env.ADMIN_TOKEN);
  expectEq('the admin token logs in: the overview', GW + '/console/', page.url());
  expectEq('the overview answers 200', 200, resp.status());
  const cookies = await ctx.cookies();
  const sess = cookies.find((c) => c.name === 'refgw_session');
  check('a session cookie, HttpOnly, SameSite=Strict, for /console/',
    sess && sess.httpOnly && sess.sameSite === 'Strict' && sess.path === '/console/', JSON.stringify(cookies));
  check('the page names who is logged in', (await page.locator('header .who').textContent()).includes('admin-01'));
  check('the queues are shown', await page.getByRole('heading', { name: 'Queues and store' }).count() === 1);
  const dead = await depth(page, 'Dead letters');
  const pending = await depth(page, 'Outbox pending');
  const inbox = await depth(page, 'Inbox');
  expectEq('the dead-letter depth is 1', '1', dead);
  expectEq('the outbox has nothing pending', '0', pending);
  check('the inbox depth is a number', /^\d+$/.test(inbox || ''), String(inbox));
  check('the audit chain is shown intact', (await page.locator('main').textContent()).includes('Chain intact'));
  await shot(page, '02-overview');

  // The dead letters, and the referral's timeline.
  await page.locator('main').getByRole('link', { name: 'Dead letters' }).click();
  expectEq('the dead-letter page', GW + '/console/dead', page.url());
  const row = page.locator('main table tr', { has: page.locator(`a[href="/console/referral?id=${RID}"]`) });
  expectEq('it lists the dead referral, once', 1, await row.count());
  check('with why it died (STALE)', ((await row.textContent()) || '').includes('STALE'), await row.textContent());
  await shot(page, '03-dead');
  await row.locator(`a[href="/console/referral?id=${RID}"]`).click();
  expectEq('the referral page', `${GW}/console/referral?id=${RID}`, page.url());
  check('titled with its id', (await page.locator('h1').textContent()).includes(RID));
  const steps = page.locator('main ol.timeline').first().locator('li');
  check('its timeline has its steps', await steps.count() >= 1, String(await steps.count()));
  check('the first step is REQUESTED, signed by Shishi',
    /REQUESTED[\s\S]*signed by node 350581/.test(await steps.first().textContent()), await steps.first().textContent());
  check('its audit trail is shown', await page.getByRole('heading', { name: 'Audit trail' }).count() === 1 &&
    await page.locator('main table:has(th:text-is("Event")) tr').count() > 1);
  check('it says the message is a dead letter', (await page.locator('p.note').textContent() || '').includes('dead letter'));
  await shot(page, '04-referral');

  // A requeue not sent from the console's own form (no CSRF token) is
  // refused, and nothing is requeued.
  const forged = await ctx.request.post(GW + '/console/requeue', {
    form: { id: RID }, maxRedirects: 0,
  });
  expectEq('a requeue without the form\'s CSRF token: 403', 403, forged.status());
  check('"nothing was requeued"', (await forged.text()).includes('nothing was requeued'));
  await page.goto(GW + '/console/');
  expectEq('the dead letter is still there', '1', await depth(page, 'Dead letters'));

  // The requeue, through its confirmation page.
  await page.goto(`${GW}/console/referral?id=${RID}`);
  await page.locator('p.note').getByRole('link', { name: /Requeue/ }).click();
  expectEq('the confirmation page', `${GW}/console/requeue?id=${RID}`, page.url());
  expectEq('titled "Requeue a dead letter"', 'Requeue a dead letter', (await page.locator('h1').textContent()).trim());
  check('it asks first, naming the referral', (await page.locator('main p').first().textContent()).includes(RID));
  check('and can be cancelled', await page.locator('main a[href="/console/dead"]', { hasText: 'Cancel' }).count() === 1);
  await shot(page, '05-requeue-confirm');
  resp = await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Requeue' }).click()]).then((a) => a[0]);
  expectEq('requeued: 200', 200, resp.status());
  expectEq('the result page', 'Requeued', (await page.locator('h1').textContent()).trim());
  const sent = page.locator('main table tr td');
  check('it names the dead message and the one sent in its place',
    await sent.count() === 2 && /^[0-9a-f]{32}$/.test((await sent.nth(1).textContent()).trim()),
    await page.locator('main').textContent());
  await shot(page, '06-requeued');
  await page.locator('nav').getByRole('link', { name: 'Dead letters' }).click();
  check('no dead letters left', (await page.locator('main').textContent()).includes('No dead letters.'));
  await page.goto(GW + '/console/');
  expectEq('the overview\'s dead-letter depth is 0', '0', await depth(page, 'Dead letters'));

  // Log out: the session is gone.
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Log out' }).click()]);
  expectEq('logged out: the login form', GW + '/console/login', page.url());
  await page.goto(GW + '/console/dead');
  expectEq('the old session opens nothing', GW + '/console/login', page.url());
  check('no script ran or failed on any page', scriptErrors.length === 0, scriptErrors.join('; '));
  await ctx.close();
}

// JavaScript off: the console is plain HTML forms and links.
async function noScript(browser) {
  const ctx = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1000, height: 800 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(20000);
  const resp = await login(page, env.ADMIN_TOKEN);
  expectEq('with JavaScript off, the form logs in', GW + '/console/', page.url());
  expectEq('and the overview answers 200', 200, resp.status());
  check('the queues are shown', await page.getByRole('heading', { name: 'Queues and store' }).count() === 1);
  expectEq('the dead-letter depth (0)', '0', await depth(page, 'Dead letters'));
  check('the outbox depth is a number', /^\d+$/.test((await depth(page, 'Outbox pending')) || ''));
  await shot(page, '07-nojs-overview');
  await ctx.close();
}

const t0 = Date.now();
main().catch((e) => notOk('the browser test stopped: ' + (e && e.stack || e)))
  .finally(() => {
    console.log(`# console.test.js: ${checks} checks, ${failed} failed, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    process.exitCode = failed || !checks ? 1 : 0;
  });
