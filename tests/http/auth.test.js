// auth.test.js — sign in, sign out, sessions and the login slow-down, through the real stack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, adminPassword, makeUser, sql } from '../lib/client.js';

test('anonymous visitor is sent to the login page with next', async () => {
  const c = new Client();
  const res = await c.get('/');
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/login?next=%2F');
});

test('admin signs in with the generated password and sees the start page', async () => {
  const c = new Client({ lang: 'en' });
  const res = await c.login('admin', adminPassword());
  assert.equal(res.headers.get('location'), '/');
  const cookie = res.headers.getSetCookie().find((s) => s.startsWith('kx_session='));
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Lax/);
  assert.match(cookie, /Path=\//);
  const home = await c.get('/');
  assert.equal(home.status, 200);
  assert.match(home.text, /Welcome/);
});

test('wrong password re-shows the form with the user name kept and a message', async () => {
  const u = makeUser('wp');
  const c = new Client({ lang: 'en' });
  const res = await c.post('/login', { username: u.username, password: 'not-the-password' }, { from: '/login' });
  assert.equal(res.status, 422);
  assert.match(res.text, /Wrong user name or password/);
  assert.match(res.text, new RegExp(`value="${u.username}"`));
  assert.doesNotMatch(res.text, /not-the-password/);
  const rows = sql(`SELECT count(*) FROM login_failures WHERE username = '${u.username}'`);
  assert.equal(rows[0][0], '1');
});

test('session token is stored hashed, never in clear', async () => {
  const u = makeUser('hs');
  const c = new Client();
  await c.login(u.username, u.password);
  const token = c.cookies.get('kx_session');
  assert.equal(token.length, 43);
  const rows = sql(`SELECT encode(token_hash, 'hex') FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = '${u.username}'`);
  assert.equal(rows.length, 1);
  assert.notEqual(rows[0][0], Buffer.from(token).toString('hex'));
  assert.equal(rows[0][0].length, 64);
});

test('logout ends the session on the server', async () => {
  const u = makeUser('lo');
  const c = new Client();
  await c.login(u.username, u.password);
  const old = c.cookies.get('kx_session');
  const res = await c.post('/logout', {}, { from: '/' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/login');
  // Replaying the old cookie must not work any more.
  const replay = new Client();
  replay.cookies.set('kx_session', old);
  assert.equal((await replay.get('/')).status, 303);
});
