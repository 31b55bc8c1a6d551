// account.test.js — changing one's password, the login throttle, session timeouts and rotation,
// and disabled accounts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, kexin, makeUser, sql } from '../lib/client.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

async function signedIn(prefix) {
  const u = makeUser(prefix);
  const c = new Client({ lang: 'en' });
  await c.login(u.username, u.password);
  return { u, c };
}

// The error message shown under one field of a rendered form, or null.
function fieldError(html, name) {
  const m = new RegExp(`<p class="field-error" id="f-${name}-err">([^<]*)</p>`).exec(html);
  return m ? m[1] : null;
}

function userId(username) {
  return sql(`SELECT id FROM users WHERE username = '${username}'`)[0][0];
}

function clearFailures(username) {
  sql(`DELETE FROM login_failures WHERE lower(username) = lower('${username}')`);
}

// A login attempt from a fresh browser; returns the response.
async function tryLogin(username, password) {
  const c = new Client({ lang: 'en' });
  const res = await c.post('/login', { username, password }, { from: '/login' });
  return { c, res };
}

function changePassword(c, current, next, confirm = next) {
  return c.post('/account/password', { current, new: next, confirm }, { from: '/account/password' });
}

// --- change password ------------------------------------------------------------------------

test('the change-password form is shown to a signed-in user', async () => {
  const { c } = await signedIn('pf');
  const res = await c.get('/account/password');
  assert.equal(res.status, 200);
  for (const f of ['current', 'new', 'confirm']) {
    assert.match(res.text, new RegExp(`<input type="password" id="f-${f}" name="${f}" value=""`));
  }
});

test('the change-password form needs a session', async () => {
  const res = await new Client().get('/account/password');
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/login?next=%2Faccount%2Fpassword');
});

test('a wrong current password is refused with 422, a message on that field, and no echo', async () => {
  const { u, c } = await signedIn('pw');
  const res = await changePassword(c, 'wrong-current-pw', 'Brand-new-pw-1');
  assert.equal(res.status, 422);
  assert.equal(fieldError(res.text, 'current'), 'The current password is not correct.');
  assert.equal(fieldError(res.text, 'new'), null);
  assert.equal(fieldError(res.text, 'confirm'), null);
  assert.match(res.text, /Please correct the marked fields/);
  assert.match(res.text, /id="f-current"[^>]*aria-invalid="true"/);
  for (const secret of ['wrong-current-pw', 'Brand-new-pw-1', u.password]) {
    assert.ok(!res.text.includes(secret), `password ${secret} not echoed`);
  }
  const again = await tryLogin(u.username, u.password);
  assert.equal(again.res.status, 303, 'the password did not change');
});

test('a new password that is too short is refused with 422 on the new-password field', async () => {
  const { u, c } = await signedIn('ps');
  const res = await changePassword(c, u.password, 'short7!');
  assert.equal(res.status, 422);
  assert.equal(fieldError(res.text, 'new'), 'The password must have at least 8 characters.');
  assert.ok(!res.text.includes('short7!'));
  assert.ok(!res.text.includes(u.password));
});

test('a new password equal to the user name is refused with 422', async () => {
  const { u, c } = await signedIn('pn');
  const res = await changePassword(c, u.password, u.username.toUpperCase());
  assert.equal(res.status, 422);
  assert.equal(fieldError(res.text, 'new'), 'The password must not be the user name.');
});

test('a mismatched confirmation is refused with 422 on the confirmation field', async () => {
  const { u, c } = await signedIn('pm');
  const res = await changePassword(c, u.password, 'Brand-new-pw-1', 'Brand-new-pw-2');
  assert.equal(res.status, 422);
  assert.equal(fieldError(res.text, 'confirm'), 'The two new passwords differ.');
  assert.equal(fieldError(res.text, 'new'), null);
  for (const secret of ['Brand-new-pw-1', 'Brand-new-pw-2', u.password]) assert.ok(!res.text.includes(secret));
});

test('empty fields are refused with 422 and a required message on each', async () => {
  const { c } = await signedIn('pe');
  const res = await changePassword(c, '', '', '');
  assert.equal(res.status, 422);
  for (const f of ['current', 'new', 'confirm']) assert.equal(fieldError(res.text, f), 'This field is required.');
});

test('a password change without a CSRF token is refused with 403', async () => {
  const { u, c } = await signedIn('px');
  const res = await c.post('/account/password', { current: u.password, new: 'Brand-new-pw-1', confirm: 'Brand-new-pw-1' },
    { csrf: false });
  assert.equal(res.status, 403);
  assert.equal((await tryLogin(u.username, u.password)).res.status, 303);
});

test('a successful change redirects home with a one-time flash, swaps the passwords and ends other sessions', async () => {
  const u = makeUser('pc');
  const other = new Client({ lang: 'en' });
  await other.login(u.username, u.password);
  assert.equal((await other.get('/')).status, 200);
  const c = new Client({ lang: 'en' });
  await c.login(u.username, u.password);
  const oldToken = c.cookies.get('kx_session');

  const res = await changePassword(c, u.password, 'Brand-new-pw-1');
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/');
  assert.notEqual(c.cookies.get('kx_session'), oldToken, 'this browser got a fresh session');

  const home = await c.get('/');
  assert.equal(home.status, 200);
  assert.match(home.text, /Your password has been changed\. Other sessions were signed out\./);
  const again = await c.get('/');
  assert.equal(again.status, 200);
  assert.doesNotMatch(again.text, /Your password has been changed/, 'the flash is shown once');

  const kicked = await other.get('/');
  assert.equal(kicked.status, 303, 'the other session is signed out');
  assert.equal(kicked.headers.get('location'), '/login?next=%2F');
  const replay = new Client();
  replay.cookies.set('kx_session', oldToken);
  assert.equal((await replay.get('/')).status, 303, 'the old token of this browser is dead too');

  try {
    const oldPw = await tryLogin(u.username, u.password);
    assert.equal(oldPw.res.status, 422, 'the old password no longer works');
    const newPw = await tryLogin(u.username, 'Brand-new-pw-1');
    assert.equal(newPw.res.status, 303, 'the new password works');
  } finally {
    clearFailures(u.username);
  }
  const rows = sql(`SELECT count(*) FROM sessions WHERE user_id = ${userId(u.username)}`);
  assert.equal(rows[0][0], '2', 'the changing browser and the new login');
});

// --- login throttle -------------------------------------------------------------------------

test('after 5 failures the account is refused with 429 and Retry-After, even with the right password', async () => {
  const u = makeUser('th');
  try {
    for (let i = 1; i <= 5; i++) {
      const { res } = await tryLogin(u.username, `wrong-${i}`);
      assert.equal(res.status, 422, `failure ${i} is an ordinary wrong password`);
    }
    // Fetch the form first, then make the five failures "just now": the wait after the fifth
    // is 1 s, so the refused attempt must not depend on how long the failures above took.
    const c = new Client({ lang: 'en' });
    const token = Client.csrfOf((await c.get('/login')).text);
    sql(`UPDATE login_failures SET at = now() WHERE lower(username) = lower('${u.username}')`);
    const res = await c.request('POST', '/login', {
      body: new URLSearchParams({ _csrf: token, username: u.username, password: u.password }).toString(),
      headers: FORM,
    });
    assert.equal(res.status, 429);
    const retry = res.headers.get('retry-after');
    assert.match(retry || '', /^[1-9]\d*$/, `Retry-After: ${retry}`);
    assert.match(res.text, /Too many failed sign-in attempts/);
    assert.ok(!res.text.includes(u.password), 'the password is not echoed');
    assert.equal(c.cookies.has('kx_session'), false, 'no session was created');

    // The wait is over once the failures are old: the real password works again.
    sql(`UPDATE login_failures SET at = at - interval '20 minutes' WHERE lower(username) = lower('${u.username}')`);
    const after = await tryLogin(u.username, u.password);
    assert.equal(after.res.status, 303, 'the real user gets in after the wait');
    const left = sql(`SELECT count(*) FROM login_failures WHERE lower(username) = lower('${u.username}')`);
    assert.equal(left[0][0], '0', 'a successful login clears the failures');
  } finally {
    clearFailures(u.username);
  }
});

test('the account throttle ignores the case of the user name', async () => {
  const u = makeUser('tc');
  try {
    for (let i = 1; i <= 5; i++) {
      const name = i % 2 ? u.username.toUpperCase() : u.username;
      assert.equal((await tryLogin(name, `wrong-${i}`)).res.status, 422);
    }
    const c = new Client({ lang: 'en' });
    const token = Client.csrfOf((await c.get('/login')).text);
    sql(`UPDATE login_failures SET at = now() WHERE lower(username) = lower('${u.username}')`);
    const res = await c.request('POST', '/login', {
      body: new URLSearchParams({ _csrf: token, username: u.username, password: u.password }).toString(),
      headers: FORM,
    });
    assert.equal(res.status, 429);
  } finally {
    clearFailures(u.username);
  }
});

test('failures of one account do not throttle another account', async () => {
  const a = makeUser('ta');
  const b = makeUser('tb');
  try {
    sql(`INSERT INTO login_failures (username, client_addr) SELECT '${a.username}', 'test-elsewhere' FROM generate_series(1, 8)`);
    assert.equal((await tryLogin(a.username, a.password)).res.status, 429);
    assert.equal((await tryLogin(b.username, b.password)).res.status, 303);
  } finally {
    clearFailures(a.username);
  }
});

test('an account with a long Chinese user name is throttled like any other', async () => {
  // 50 CJK characters are within the 64-character limit but take 150 bytes in UTF-8.
  const u = makeUser('客'.repeat(50));
  try {
    for (let i = 1; i <= 5; i++) assert.equal((await tryLogin(u.username, `wrong-${i}`)).res.status, 422);
    const recorded = sql(`SELECT count(*) FROM login_failures WHERE lower(username) = lower('${u.username}')`);
    assert.equal(recorded[0][0], '5', 'the five failures were recorded for this account');
    const c = new Client({ lang: 'en' });
    const token = Client.csrfOf((await c.get('/login')).text);
    sql(`UPDATE login_failures SET at = now() WHERE lower(username) = lower('${u.username}')`);
    const res = await c.request('POST', '/login', {
      body: new URLSearchParams({ _csrf: token, username: u.username, password: u.password }).toString(),
      headers: FORM,
    });
    assert.equal(res.status, 429);
  } finally {
    // Also whatever a truncated name may have left behind.
    sql(`DELETE FROM login_failures WHERE username LIKE '客客客%'`);
  }
});

test('30 failures from one address within a minute throttle every account from that address', async () => {
  const u = makeUser('sp');
  const tag = `spray${Date.now().toString(36)}`;
  try {
    // Password spraying: one failure each for 30 different names, all from this address.
    sql(`INSERT INTO login_failures (username, client_addr) SELECT '${tag}' || i, '127.0.0.1' FROM generate_series(1, 30) i`);
    const { res } = await tryLogin(u.username, u.password);
    assert.equal(res.status, 429);
    const retry = Number(res.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
  } finally {
    sql(`DELETE FROM login_failures WHERE username LIKE '${tag}%'`);
  }
  assert.equal((await tryLogin(u.username, u.password)).res.status, 303, 'fine again once they are gone');
});

// --- session lifetime -----------------------------------------------------------------------

test('a session idle for 31 minutes is over: the next request goes to the login page', async () => {
  const { u, c } = await signedIn('si');
  assert.equal((await c.get('/')).status, 200);
  sql(`UPDATE sessions SET last_seen_at = last_seen_at - interval '31 minutes' WHERE user_id = ${userId(u.username)}`);
  const res = await c.get('/account/password');
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/login?next=%2Faccount%2Fpassword');
});

test('a session idle for 29 minutes is still valid and is touched', async () => {
  const { u, c } = await signedIn('sk');
  const id = userId(u.username);
  sql(`UPDATE sessions SET last_seen_at = last_seen_at - interval '29 minutes' WHERE user_id = ${id}`);
  assert.equal((await c.get('/')).status, 200);
  const rows = sql(`SELECT last_seen_at > now() - interval '1 minute' FROM sessions WHERE user_id = ${id}`);
  assert.deepEqual(rows, [['t']], 'last_seen_at was refreshed');
});

test('a session older than 12 hours is over even when active', async () => {
  const { u, c } = await signedIn('sa');
  sql(`UPDATE sessions SET created_at = created_at - interval '13 hours' WHERE user_id = ${userId(u.username)}`);
  const res = await c.get('/');
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/login?next=%2F');
});

test('an expired session lets the user sign in again', async () => {
  const { u, c } = await signedIn('sr');
  sql(`UPDATE sessions SET last_seen_at = last_seen_at - interval '31 minutes' WHERE user_id = ${userId(u.username)}`);
  assert.equal((await c.get('/')).status, 303);
  await c.login(u.username, u.password);
  assert.equal((await c.get('/')).status, 200);
});

test('login issues a new session token instead of a planted one', async () => {
  const u = makeUser('rt');
  const c = new Client();
  const planted = 'A'.repeat(43);
  c.cookies.set('kx_session', planted);
  await c.login(u.username, u.password);
  const token = c.cookies.get('kx_session');
  assert.ok(token);
  assert.notEqual(token, planted);
  const attacker = new Client();
  attacker.cookies.set('kx_session', planted);
  assert.equal((await attacker.get('/')).status, 303, 'the planted token is not a session');
});

test('signing in again while signed in rotates the session token', async () => {
  const u = makeUser('rr');
  const c = new Client();
  await c.login(u.username, u.password);
  const first = c.cookies.get('kx_session');
  // The login form redirects when signed in; the token comes from the start page.
  const res = await c.post('/login', { username: u.username, password: u.password }, { from: '/' });
  assert.equal(res.status, 303);
  const second = c.cookies.get('kx_session');
  assert.ok(second);
  assert.notEqual(second, first);
  assert.equal((await c.get('/')).status, 200);
});

// --- disabled accounts ----------------------------------------------------------------------

test('a disabled user is signed out and cannot sign in again', async () => {
  const { u, c } = await signedIn('dis');
  assert.equal((await c.get('/')).status, 200);
  kexin('user', 'disable', u.username);
  try {
    const res = await c.get('/');
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/login?next=%2F');
    const { res: login } = await tryLogin(u.username, u.password);
    assert.equal(login.status, 422);
    assert.match(login.text, /Wrong user name or password/);
    assert.equal(sql(`SELECT count(*) FROM sessions WHERE user_id = ${userId(u.username)}`)[0][0], '0');
  } finally {
    clearFailures(u.username);
  }
});
