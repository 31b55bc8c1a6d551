// cli.test.js — the kexin binary: help, migrations, user management, and how passwords are stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { Client, ROOT, VAR, kexin, makeUser, sql } from '../lib/client.js';

// Runs kexin and returns { status, stdout, stderr } instead of throwing on failure.
function run(...args) {
  const r = spawnSync(path.join(ROOT, 'build/kexin'), args, {
    encoding: 'utf8', env: { ...process.env, KEXIN_VAR: VAR, KEXIN_ROOT: ROOT }, input: '',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function loginStatus(username, password) {
  const c = new Client({ lang: 'en' });
  const res = await c.post('/login', { username, password }, { from: '/login' });
  return res.status;
}

function clearFailures(username) {
  sql(`DELETE FROM login_failures WHERE lower(username) = lower('${username}')`);
}

test('kexin --help exits 0 and lists the commands', () => {
  const r = run('--help');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^usage: kexin/m);
  for (const cmd of ['serve', 'migrate', 'user']) assert.match(r.stdout, new RegExp(`^\\s+${cmd}\\b`, 'm'));
});

test('kexin user --help exits 0 and prints the user usage', () => {
  const r = run('user', '--help');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^usage: kexin user add NAME/m);
  assert.match(r.stdout, /kexin user passwd NAME/);
  assert.match(r.stdout, /kexin user disable NAME/);
});

test('kexin without a command and with an unknown command fails with usage on stderr', () => {
  const none = run();
  assert.notEqual(none.status, 0);
  assert.match(none.stderr, /usage: kexin/);
  const bad = run('no-such-command');
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /unknown command/);
});

test('kexin migrate a second time applies nothing and exits 0', () => {
  const count = () => sql('SELECT count(*) FROM schema_migrations')[0][0];
  const first = run('migrate');
  assert.equal(first.status, 0, first.stderr);
  const before = count();
  assert.ok(Number(before) >= 1);
  const second = run('migrate');
  assert.equal(second.status, 0, second.stderr);
  assert.match(second.stdout, /schema_migrations: 0 applied/);
  assert.doesNotMatch(second.stdout, /^applied /m);
  assert.equal(count(), before);
});

test('kexin user add with an existing name fails and changes nothing', () => {
  const u = makeUser('dup');
  const hash = () => sql(`SELECT password_hash FROM users WHERE username = '${u.username}'`)[0][0];
  const before = hash();
  const r = run('user', 'add', u.username);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /already exists/);
  assert.equal(r.stdout.trim(), '', 'no password printed');
  assert.equal(hash(), before);
});

test('kexin user add with an existing name in other case fails too', () => {
  const u = makeUser('dupc');
  const r = run('user', 'add', u.username.toUpperCase());
  assert.notEqual(r.status, 0);
  assert.equal(sql(`SELECT count(*) FROM users WHERE lower(username) = lower('${u.username}')`)[0][0], '1');
});

test('kexin user add prints a password that signs in', async () => {
  const u = makeUser('add');
  assert.match(u.password, /^\S{16}$/);
  assert.equal(await loginStatus(u.username, u.password), 303);
});

test('kexin user passwd prints a new password that works, and the old one no longer does', async () => {
  const u = makeUser('pwd');
  const c = new Client();
  await c.login(u.username, u.password);
  const fresh = kexin('user', 'passwd', u.username).trim();
  assert.match(fresh, /^\S{16}$/);
  assert.notEqual(fresh, u.password);
  try {
    assert.equal(await loginStatus(u.username, u.password), 422, 'old password refused');
    assert.equal(await loginStatus(u.username, fresh), 303, 'new password accepted');
  } finally {
    clearFailures(u.username);
  }
  assert.equal((await c.get('/')).status, 303, 'the sessions from before the reset are over');
});

test('kexin user passwd for an unknown user fails', () => {
  const r = run('user', 'passwd', `nobody${Date.now().toString(36)}`);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /no such user/);
  assert.equal(r.stdout.trim(), '');
});

test('kexin user add --password-stdin refuses a too short password', () => {
  const name = `short${Date.now().toString(36)}`;
  const r = spawnSync(path.join(ROOT, 'build/kexin'), ['user', 'add', name, '--password-stdin'], {
    encoding: 'utf8', env: { ...process.env, KEXIN_VAR: VAR, KEXIN_ROOT: ROOT }, input: 'short\n',
  });
  assert.notEqual(r.status, 0);
  assert.equal(sql(`SELECT count(*) FROM users WHERE username = '${name}'`)[0][0], '0');
});

test('the admin password file is readable by its owner only (0600)', () => {
  const st = statSync(path.join(VAR, 'admin-password'));
  assert.equal((st.mode & 0o777).toString(8), '600');
});

test('passwords are stored as argon2id hashes with m >= 19456 KiB and t >= 2', () => {
  makeUser('hash');
  const rows = sql('SELECT username, password_hash FROM users');
  assert.ok(rows.length > 0);
  for (const [name, hash] of rows) {
    const m = /^\$argon2id\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/.exec(hash);
    assert.ok(m, `${name}: argon2id PHC string, got ${hash.slice(0, 30)}…`);
    assert.ok(Number(m[1]) >= 19, `${name}: version ${m[1]}`);
    assert.ok(Number(m[2]) >= 19456, `${name}: m=${m[2]}`);
    assert.ok(Number(m[3]) >= 2, `${name}: t=${m[3]}`);
  }
});

test('two users with the same password get different hashes (salted)', () => {
  const name1 = `salt${Date.now().toString(36)}a`;
  const name2 = `salt${Date.now().toString(36)}b`;
  const opts = { encoding: 'utf8', env: { ...process.env, KEXIN_VAR: VAR, KEXIN_ROOT: ROOT }, input: 'same-password-1\n' };
  for (const n of [name1, name2]) {
    const r = spawnSync(path.join(ROOT, 'build/kexin'), ['user', 'add', n, '--password-stdin'], opts);
    assert.equal(r.status, 0, r.stderr);
  }
  const rows = sql(`SELECT password_hash FROM users WHERE username IN ('${name1}', '${name2}')`);
  assert.equal(rows.length, 2);
  assert.notEqual(rows[0][0], rows[1][0]);
});
