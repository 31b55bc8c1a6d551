// security.test.js — CSRF, request limits and encoding, error pages, headers, redirects and escaping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { BASE, Client, makeUser } from '../lib/client.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

// Error pages and other answers must not leak SQL, source locations or stack traces.
function assertNoInternals(text) {
  assert.doesNotMatch(text, /SELECT|INSERT INTO|UPDATE \w+ SET/);
  assert.doesNotMatch(text, /sql|postgres|libpq|sqlstate/i);
  assert.doesNotMatch(text, /Traceback|backtrace|stack trace|\.c:\d+|\bat \S+ \(/i);
}

function assertHtml(res) {
  assert.match(res.headers.get('content-type') || '', /^text\/html/);
}

// An anonymous client holding a CSRF token for the login form.
async function anonWithToken() {
  const c = new Client({ lang: 'en' });
  const page = await c.get('/login');
  const token = Client.csrfOf(page.text);
  assert.ok(token, 'login page carries a CSRF token');
  return { c, token };
}

async function loggedIn(prefix) {
  const u = makeUser(prefix);
  const c = new Client({ lang: 'en' });
  await c.login(u.username, u.password);
  return { u, c };
}

// --- CSRF -----------------------------------------------------------------------------------

test('POST /logout without a CSRF token is refused with 403 and the session survives', async () => {
  const { c } = await loggedIn('cs');
  const res = await c.post('/logout', {}, { csrf: false });
  assert.equal(res.status, 403);
  assertHtml(res);
  assertNoInternals(res.text);
  assert.equal((await c.get('/')).status, 200);
});

test('POST /login without a CSRF token is refused with 403', async () => {
  const u = makeUser('cl');
  const c = new Client({ lang: 'en' });
  await c.get('/login'); // has the anonymous cookie, but sends no token
  const res = await c.post('/login', { username: u.username, password: u.password }, { csrf: false });
  assert.equal(res.status, 403);
  assert.equal(c.cookies.has('kx_session'), false);
});

test('POST /login without any cookie or token is refused with 403', async () => {
  const u = makeUser('cn');
  const res = await fetch(`${BASE}/login`, {
    method: 'POST', redirect: 'manual', headers: FORM,
    body: new URLSearchParams({ username: u.username, password: u.password }).toString(),
  });
  assert.equal(res.status, 403);
  assert.equal(res.headers.getSetCookie().some((s) => s.startsWith('kx_session=')), false);
});

test('a CSRF token from another session is refused with 403', async () => {
  const a = await loggedIn('ca');
  const b = await loggedIn('cb');
  const tokenA = Client.csrfOf((await a.c.get('/')).text);
  const tokenB = Client.csrfOf((await b.c.get('/')).text);
  assert.ok(tokenA && tokenB);
  assert.notEqual(tokenA, tokenB);
  const res = await b.c.request('POST', '/logout', {
    body: new URLSearchParams({ _csrf: tokenA }).toString(), headers: FORM,
  });
  assert.equal(res.status, 403);
  assert.equal((await b.c.get('/')).status, 200, 'B is still signed in');
});

test('a CSRF token of another anonymous visitor is refused on /login', async () => {
  const u = makeUser('cv');
  const other = await anonWithToken();
  const me = await anonWithToken();
  const res = await me.c.request('POST', '/login', {
    body: new URLSearchParams({ _csrf: other.token, username: u.username, password: u.password }).toString(),
    headers: FORM,
  });
  assert.equal(res.status, 403);
});

// --- size limits ----------------------------------------------------------------------------

test('a body over 10 MiB is refused with 413', async () => {
  const { c, token } = await anonWithToken();
  const body = `_csrf=${token}&username=x&password=${'a'.repeat(11 * 1024 * 1024)}`;
  const res = await c.request('POST', '/login', { body, headers: FORM });
  assert.equal(res.status, 413);
  assertNoInternals(res.text);
});

test('more than 1000 fields in a form body are refused with 413', async () => {
  const { c, token } = await anonWithToken();
  const fields = Array.from({ length: 1001 }, (_, i) => `f${i}=1`).join('&');
  const res = await c.request('POST', '/login', { body: `_csrf=${token}&${fields}`, headers: FORM });
  assert.equal(res.status, 413);
  assertHtml(res);
  assertNoInternals(res.text);
});

test('more than 1000 fields in a query string are refused with 413', async () => {
  const c = new Client({ lang: 'en' });
  const fields = Array.from({ length: 1001 }, (_, i) => `f${i}=1`).join('&');
  const res = await c.get(`/login?${fields}`);
  assert.equal(res.status, 413);
});

test('exactly 1000 fields are still accepted', async () => {
  const c = new Client({ lang: 'en' });
  const fields = Array.from({ length: 1000 }, (_, i) => `f${i}=1`).join('&');
  const res = await c.get(`/login?${fields}`);
  assert.equal(res.status, 200);
});

test('a single field value over 256 KiB is refused with 413', async () => {
  const { c, token } = await anonWithToken();
  const res = await c.request('POST', '/login', {
    body: `_csrf=${token}&password=x&username=${'a'.repeat(300 * 1024)}`, headers: FORM,
  });
  assert.equal(res.status, 413);
  assertNoInternals(res.text);
});

test('a field name over 256 bytes is refused with 413', async () => {
  const res = await new Client().get(`/login?${'n'.repeat(300)}=1`);
  assert.equal(res.status, 413);
});

// --- encoding -------------------------------------------------------------------------------

test('malformed percent-encoding in the query is refused with 400', async () => {
  const res = await new Client({ lang: 'en' }).get('/login?x=%zz');
  assert.equal(res.status, 400);
  assertHtml(res);
  assert.match(res.text, /Bad request/);
  assertNoInternals(res.text);
});

test('a truncated percent-escape in the query is refused with 400', async () => {
  const res = await new Client().get('/login?x=%4');
  assert.equal(res.status, 400);
});

test('invalid UTF-8 in the query is refused with 400', async () => {
  const res = await new Client().get('/login?x=%ff%fe');
  assert.equal(res.status, 400);
});

test('an escaped NUL in the query is refused with 400', async () => {
  const res = await new Client().get('/login?x=a%00b');
  assert.equal(res.status, 400);
});

test('an escaped NUL in a field name is refused with 400', async () => {
  const res = await new Client().get('/login?a%00b=1');
  assert.equal(res.status, 400);
});

for (const [what, bad] of [
  ['malformed percent-encoding', 'x=%zz'],
  ['invalid UTF-8', 'x=%ff%fe'],
  ['an escaped NUL', 'x=a%00b'],
]) {
  test(`${what} in a form body is refused with 400`, async () => {
    const { c, token } = await anonWithToken();
    const res = await c.request('POST', '/login', {
      body: `_csrf=${token}&username=a&password=b&${bad}`, headers: FORM,
    });
    assert.equal(res.status, 400);
    assertHtml(res);
    assertNoInternals(res.text);
  });
}

test('invalid UTF-8 in the path is refused with 400', async () => {
  const res = await new Client().get('/%ff%fe');
  assert.equal(res.status, 400);
});

// --- routing errors -------------------------------------------------------------------------

test('an unknown path answers a 404 HTML page without internals', async () => {
  const res = await new Client({ lang: 'en' }).get('/no/such/page');
  assert.equal(res.status, 404);
  assertHtml(res);
  assert.match(res.text, /Page not found/);
  assert.match(res.text, /<html lang="en">/);
  assertNoInternals(res.text);
});

test('an unknown path with HTML in it is only echoed escaped', async () => {
  const res = await new Client({ lang: 'en' }).get('/%3Cscript%3Ealert(1)%3C/script%3E%22');
  assert.equal(res.status, 404);
  assert.doesNotMatch(res.text, /<script>alert/);
  assert.doesNotMatch(res.text, /alert\(1\)<\/script>"/);
});

for (const [method, path, allow] of [
  ['PUT', '/login', ['GET', 'POST']],
  ['DELETE', '/login', ['GET', 'POST']],
  ['GET', '/logout', ['POST']],
  ['POST', '/healthz', ['GET']],
]) {
  test(`${method} ${path} answers 405 with Allow: ${allow.join(', ')}`, async () => {
    const c = new Client({ lang: 'en' });
    const res = await c.request(method, path);
    assert.equal(res.status, 405);
    const got = (res.headers.get('allow') || '').split(',').map((s) => s.trim()).filter(Boolean).sort();
    assert.deepEqual(got, [...allow].sort());
    assertHtml(res);
    assertNoInternals(res.text);
  });
}

test('error pages in Chinese contain no internals either', async () => {
  const c = new Client({ lang: 'zh-CN' });
  for (const url of ['/nope', '/login?x=%zz', '/logout']) {
    const res = await c.get(url);
    assert.ok([400, 404, 405].includes(res.status), `${url}: ${res.status}`);
    assert.match(res.text, /<html lang="zh-CN">/);
    assertNoInternals(res.text);
  }
});

// --- headers --------------------------------------------------------------------------------

function assertSecurityHeaders(res) {
  const csp = res.headers.get('content-security-policy');
  assert.ok(csp, 'Content-Security-Policy present');
  const directives = Object.fromEntries(csp.split(';').map((d) => d.trim()).filter(Boolean)
    .map((d) => { const [k, ...v] = d.split(/\s+/); return [k.toLowerCase(), v]; }));
  const scriptSrc = directives['script-src'] || directives['default-src'];
  assert.ok(scriptSrc, 'script-src or default-src present');
  assert.ok(!scriptSrc.includes("'unsafe-inline'"), "no 'unsafe-inline' for scripts");
  assert.ok(!scriptSrc.includes("'unsafe-eval'"), "no 'unsafe-eval' for scripts");
  assert.deepEqual(directives['frame-ancestors'], ["'none'"]);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.ok(res.headers.get('referrer-policy'), 'Referrer-Policy present');
  const server = res.headers.get('server');
  if (server) assert.doesNotMatch(server, /\d/, `no version in Server: ${server}`);
}

test('a dynamic page carries the security headers and no server version', async () => {
  const res = await new Client().get('/login');
  assert.equal(res.status, 200);
  assertSecurityHeaders(res);
});

test('an error page carries the security headers', async () => {
  const res = await new Client().get('/no-such-page');
  assert.equal(res.status, 404);
  assertSecurityHeaders(res);
});

test('dynamic pages are not cached', async () => {
  const res = await new Client().get('/login');
  assert.match(res.headers.get('cache-control') || '', /no-store/);
});

test('a static file carries the security headers and no server version', async () => {
  const res = await new Client().get('/static/css/app.css');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/css/);
  assertSecurityHeaders(res);
});

test('nginx\'s own 404 for a missing static file has no server version', async () => {
  const res = await new Client().get('/static/css/missing.css');
  assert.equal(res.status, 404);
  assert.doesNotMatch(res.text, /nginx\/\d/);
  const server = res.headers.get('server');
  if (server) assert.doesNotMatch(server, /\d/);
});

test('static files are cached for a long time', async () => {
  const res = await new Client().get('/static/css/app.css');
  const expires = Date.parse(res.headers.get('expires'));
  assert.ok(expires > Date.now() + 7 * 24 * 3600 * 1000, `Expires far ahead: ${res.headers.get('expires')}`);
  const m = /max-age=(\d+)/.exec(res.headers.get('cache-control') || '');
  assert.ok(m, `Cache-Control with max-age: ${res.headers.get('cache-control')}`);
  assert.ok(Number(m[1]) >= 7 * 24 * 3600);
});

test('static files are gzip-compressed when the client accepts it', async () => {
  const res = await fetch(`${BASE}/static/css/app.css`, { headers: { 'accept-encoding': 'gzip' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-encoding'), 'gzip');
  const css = await res.text(); // fetch decodes it
  assert.ok(css.length > 100);
});

test('static files are sent uncompressed when the client does not accept gzip', async () => {
  const res = await fetch(`${BASE}/static/css/app.css`, { headers: { 'accept-encoding': 'identity' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-encoding'), null);
});

// A GET with the path sent exactly as written (fetch would normalise the dots).
function rawGet(rawPath) {
  return new Promise((resolve, reject) => {
    const req = http.get(BASE, { path: rawPath }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: body }));
    });
    req.on('error', reject);
  });
}

for (const p of ['/static/../scripts/stack.sh', '/static/..%2fscripts/stack.sh', '/static/%2e%2e/scripts/stack.sh',
  '/static../scripts/stack.sh', '/static/..%2f..%2fetc/passwd', '/static/%2e%2e%2f%2e%2e%2fetc%2fpasswd']) {
  test(`no file outside static/ is served for ${p}`, async () => {
    const res = await rawGet(p);
    assert.notEqual(res.status, 200);
    assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
    assert.doesNotMatch(res.text, /#!\/usr\/bin\/env bash|root:x:0:0/);
  });
}

// --- open redirects -------------------------------------------------------------------------

let redirectAccount;
// One account for all redirect checks: each check signs in from a fresh browser.
function redirectUser() {
  redirectAccount ||= makeUser('or');
  return redirectAccount;
}

for (const next of ['//evil.example', 'http://evil.example', 'https://evil.example/x',
  '/\\evil.example', '\\\\evil.example', 'javascript:alert(1)', '/login?next=//evil.example']) {
  test(`login with next=${next} redirects to / instead`, async () => {
    const u = redirectUser();
    const c = new Client();
    const res = await c.post('/login', { username: u.username, password: u.password, next },
      { from: `/login?next=${encodeURIComponent(next)}` });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/');
  });
}

test('login with a local next redirects there', async () => {
  const u = redirectUser();
  const c = new Client();
  const res = await c.post('/login', { username: u.username, password: u.password, next: '/account/password' },
    { from: '/login?next=%2Faccount%2Fpassword' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/account/password');
});

test('GET /login?next=//evil.example when signed in redirects to /', async () => {
  const { c } = await loggedIn('og');
  const res = await c.get('/login?next=%2F%2Fevil.example');
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/');
});

test('the next value on the login form is HTML-escaped', async () => {
  const res = await new Client().get(`/login?next=${encodeURIComponent('/x"><script>alert(1)</script>')}`);
  assert.equal(res.status, 200);
  assert.doesNotMatch(res.text, /<script>alert/);
});

// --- escaping -------------------------------------------------------------------------------

test('a forged flash cookie is shown escaped', async () => {
  const c = new Client();
  c.cookies.set('kx_flash', 'ok:%3Cscript%3Ealert(1)%3C%2Fscript%3E');
  const res = await c.get('/login');
  assert.equal(res.status, 200);
  assert.doesNotMatch(res.text, /<script>alert/);
  assert.match(res.text, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
});

test('a display name with HTML is shown escaped on the start page', async () => {
  const evil = `<script>alert(1)</script>"'&`;
  const u = makeUser('xs', ['--display', evil]);
  const c = new Client({ lang: 'en' });
  await c.login(u.username, u.password);
  const res = await c.get('/');
  assert.equal(res.status, 200);
  assert.doesNotMatch(res.text, /<script>alert/);
  assert.doesNotMatch(res.text, /"'&</);
  assert.match(res.text, /&lt;script&gt;alert\(1\)&lt;\/script&gt;(&quot;|&#34;)(&#39;|&#x27;|&apos;)&amp;/);
});
