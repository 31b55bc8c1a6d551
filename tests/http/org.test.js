// org.test.js — the organisation admin: departments (tree), users (managers, roles, passwords,
// disabling), roles with the permission matrix, permissions of the pages, optimistic locking and
// the audit rows every change writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, makeUser, sql } from '../lib/client.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const RUN = Date.now().toString(36);
let seq = 0;
const uniq = (prefix) => `${prefix}${RUN}${(seq++).toString(36)}`;

// --- helpers --------------------------------------------------------------------------------

async function signedIn(prefix, opts = []) {
  const u = makeUser(prefix, opts);
  const c = new Client({ lang: 'en' });
  await c.login(u.username, u.password);
  return { u, c };
}

const admin = () => signedIn('oa', ['--admin']);

async function csrf(c, from = '/') {
  const token = Client.csrfOf((await c.get(from)).text);
  assert.ok(token, `a CSRF token on ${from}`);
  return token;
}

// POSTs name/value pairs (repeated names allowed) with a valid CSRF token.
async function postPairs(c, url, pairs, { from = '/' } = {}) {
  const body = new URLSearchParams();
  const list = Array.isArray(pairs) ? pairs : Object.entries(pairs);
  if (!list.some(([k]) => k === '_csrf')) body.append('_csrf', await csrf(c, from));
  for (const [k, v] of list) {
    if (Array.isArray(v)) v.forEach((x) => body.append(k, x)); else body.append(k, v);
  }
  return c.request('POST', url, { body: body.toString(), headers: FORM });
}

const decode = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<')
  .replace(/&gt;/g, '>').replace(/&amp;/g, '&');

// The fields a browser would submit from the form posting to `action`: hidden and text inputs,
// checked checkboxes, selected options, textareas (passwords are left out).
function formFields(html, action) {
  const start = html.indexOf(`action="${action}"`);
  assert.ok(start >= 0, `a form posting to ${action}`);
  const form = html.slice(start, html.indexOf('</form>', start));
  const pairs = [];
  for (const m of form.matchAll(/<input ([^>]*)>/g)) {
    const attr = (n) => { const a = new RegExp(`\\b${n}="([^"]*)"`).exec(m[1]); return a ? decode(a[1]) : null; };
    const type = attr('type') || 'text';
    if (!attr('name') || type === 'password') continue;
    if (type === 'checkbox' && !/\bchecked\b/.test(m[1])) continue;
    pairs.push([attr('name'), attr('value') ?? '']);
  }
  for (const m of form.matchAll(/<select[^>]*name="([^"]*)"[^>]*>([\s\S]*?)<\/select>/g)) {
    const sel = /<option value="([^"]*)" selected>/.exec(m[2]) || /<option value="([^"]*)"/.exec(m[2]);
    pairs.push([m[1], sel ? decode(sel[1]) : '']);
  }
  for (const m of form.matchAll(/<textarea[^>]*name="([^"]*)"[^>]*>([\s\S]*?)<\/textarea>/g)) pairs.push([m[1], decode(m[2])]);
  return pairs;
}

// Replaces (or adds) a field in a list of pairs; an array value becomes repeated fields.
function setField(pairs, name, value) {
  const out = pairs.filter(([k]) => k !== name);
  for (const v of [].concat(value)) out.push([name, v]);
  return out;
}

function fieldError(html, name) {
  const m = new RegExp(`<p class="field-error" id="f-${name}-err">([^<]*)</p>`).exec(html);
  return m ? decode(m[1]) : null;
}

function inputValue(html, name) {
  const m = new RegExp(`<input type="[a-z]+" id="f-${name}" name="${name}" value="([^"]*)"`).exec(html);
  return m ? decode(m[1]) : null;
}

const one = (query, ...params) => sql(query, ...params)[0]?.[0];
const userId = (username) => one('SELECT id FROM users WHERE username = :\'p1\'', username);

async function createDept(c, name, parentId = '') {
  const res = await postPairs(c, '/admin/departments/new', { name, parent_id: parentId, sort: '0' });
  assert.equal(res.status, 303, `department ${name} created`);
  return one('SELECT id FROM departments WHERE name = :\'p1\'', name);
}

async function createRole(c, perms, { scope = 'own', name = uniq('Role ') } = {}) {
  const code = uniq('r_');
  const res = await postPairs(c, '/admin/roles/new', { name, code, description: 'test role', data_scope: scope, perm: perms });
  assert.equal(res.status, 303, `role ${code} created: ${res.status}`);
  return { id: one('SELECT id FROM roles WHERE code = :\'p1\'', code), code, name };
}

// Creates a user through the form (a typed password unless generate); returns { id, username, password }.
async function createUser(c, fields = {}, { generate = false } = {}) {
  const username = fields.username || uniq('u');
  const password = generate ? '' : 'Secret-pass-1';
  const res = await postPairs(c, '/admin/users/new', {
    username, display_name: `Name ${username}`, discount_limit: '0', password, password_confirm: password, ...fields,
  });
  assert.ok(res.status === 303 || res.status === 200, `user ${username} created: ${res.status} ${fieldErrors(res.text)}`);
  const shown = /id="new-password">([^<]*)</.exec(res.text);
  return { id: userId(username), username, password: shown ? shown[1] : password, res };
}

function fieldErrors(html) {
  return [...html.matchAll(/id="f-([a-z_]+)-err">([^<]*)</g)].map((m) => `${m[1]}: ${m[2]}`).join('; ');
}

// The newest audit row about an object: [module, action, result, changes as JSON text].
function lastAudit(type, id) {
  const row = sql(`SELECT module, action, result, coalesce(changes::text, '{}'), user_id FROM audit_log
                    WHERE object_type = :'p1' AND object_id = :'p2' ORDER BY id DESC LIMIT 1`, type, id)[0];
  assert.ok(row, `an audit row for ${type} ${id}`);
  return { module: row[0], action: row[1], result: row[2], changes: JSON.parse(row[3]), by: row[4] };
}

// --- departments, users and the trees -------------------------------------------------------

test('admin builds a three-level department tree, shown indented in order with user counts', async () => {
  const { c } = await admin();
  const top = await createDept(c, uniq('HQ '));
  const mid = await createDept(c, uniq('Sales '), top);
  const low = await createDept(c, uniq('East team '), mid);
  await createUser(c, { department_id: low });
  const page = await c.get('/admin/departments');
  assert.equal(page.status, 200);
  const rows = [...page.text.matchAll(/<td class="indent-(\d)">([^<]*)<\/td>\s*<td class="num"><a href="\/admin\/users\?department=(\d+)">(\d+)</g)]
    .filter((m) => [top, mid, low].includes(m[3]));
  assert.deepEqual(rows.map((m) => [m[3], m[1], m[4]]), [[top, '0', '0'], [mid, '1', '0'], [low, '2', '1']]);
  assert.match(page.text, /<nav class="tabs"[\s\S]*class="active" aria-current="page">Departments</);
  assert.deepEqual(sql('SELECT parent_id FROM departments WHERE id = :\'p1\'', low), [[mid]]);
});

test('users get a three-level reporting line, department and roles; the top manager sees everyone below', async () => {
  const { c } = await admin();
  const dept = await createDept(c, uniq('Branch '));
  const role = await createRole(c, ['customers.view', 'customers.create']);
  const boss = await createUser(c, { department_id: dept, title: 'Director' });
  const mgr = await createUser(c, { department_id: dept, manager_id: boss.id, title: 'Sales manager' });
  const rep = await createUser(c, { department_id: dept, manager_id: mgr.id, roles: [role.id], title: 'Salesperson' });
  assert.deepEqual(sql('SELECT manager_id, department_id, title FROM users WHERE id = :\'p1\'', rep.id), [[mgr.id, dept, 'Salesperson']]);
  assert.deepEqual(sql('SELECT manager_id FROM users WHERE id = :\'p1\'', mgr.id), [[boss.id]]);
  assert.deepEqual(sql('SELECT role_id FROM user_roles WHERE user_id = :\'p1\'', rep.id), [[role.id]]);

  const page = await c.get(`/admin/users/${boss.id}`);
  assert.equal(page.status, 200);
  const subs = [...page.text.matchAll(/<td class="indent-(\d)"><a href="\/admin\/users\/(\d+)">/g)].map((m) => [m[2], m[1]]);
  assert.deepEqual(subs, [[mgr.id, '0'], [rep.id, '1']]);

  const list = await c.get(`/admin/users?department=${dept}&sort=username`);
  assert.equal(list.status, 200);
  for (const u of [boss, mgr, rep]) assert.match(list.text, new RegExp(`>${u.username}</a>`));
  assert.match(list.text, new RegExp(`<a href="/admin/users/${mgr.id}">Name ${mgr.username}</a>`), 'manager column links the manager');
  assert.match(list.text, new RegExp(`>${role.name}</td>`), 'roles column');
});

test('the user list searches, filters by role and status, and sorts', async () => {
  const { c } = await admin();
  const role = await createRole(c, ['contacts.view']);
  const phone = `139${Date.now().toString().slice(-8)}`;
  const a = await createUser(c, { phone, roles: [role.id] });
  const b = await createUser(c, { roles: [role.id] });
  await postPairs(c, `/admin/users/${b.id}/disable`, {});
  const byPhone = await c.get(`/admin/users?q=${phone}`);
  assert.match(byPhone.text, new RegExp(`>${a.username}<`));
  assert.doesNotMatch(byPhone.text, new RegExp(`>${b.username}<`));
  const active = await c.get(`/admin/users?role=${role.id}&status=active`);
  assert.match(active.text, new RegExp(`>${a.username}<`));
  assert.doesNotMatch(active.text, new RegExp(`>${b.username}<`));
  const disabled = await c.get(`/admin/users?role=${role.id}&status=disabled`);
  assert.match(disabled.text, /badge-danger">Disabled</);
  const desc = await c.get(`/admin/users?role=${role.id}&sort=username&dir=desc`);
  const names = [...desc.text.matchAll(/<a href="\/admin\/users\/\d+">(u[^<]*)<\/a>/g)].map((m) => m[1]);
  assert.deepEqual(names, [a.username, b.username].sort().reverse());
  const none = await c.get('/admin/users?q=no-such-user-anywhere-' + RUN);
  assert.match(none.text, /class="empty">\s*<strong>No users match these filters/);
});

// --- validation ------------------------------------------------------------------------------

test('invalid user input answers 422 with a message per field and the input kept', async () => {
  const { c } = await admin();
  const res = await postPairs(c, '/admin/users/new', {
    username: 'bad name!', display_name: 'Keep «me»', email: 'not-an-address', discount_limit: '12.345',
    title: 'Kept title', password: 'short', password_confirm: 'short',
  });
  assert.equal(res.status, 422);
  assert.match(res.text, /Please correct the marked fields/);
  assert.equal(fieldError(res.text, 'username'), 'Use 2–64 letters, digits, dots, dashes or underscores.');
  assert.equal(fieldError(res.text, 'email'), 'Enter a valid e-mail address.');
  assert.equal(fieldError(res.text, 'discount_limit'), 'At most 2 decimals.');
  assert.equal(fieldError(res.text, 'password'), 'The password must have at least 8 characters.');
  assert.equal(inputValue(res.text, 'username'), 'bad name!');
  assert.equal(inputValue(res.text, 'display_name'), 'Keep «me»');
  assert.equal(inputValue(res.text, 'title'), 'Kept title');
  assert.equal(inputValue(res.text, 'discount_limit'), '12.345');
  assert.ok(!res.text.includes('value="short"'), 'passwords are not echoed');

  const over = await postPairs(c, '/admin/users/new', { username: uniq('u'), display_name: 'X', discount_limit: '100.01' });
  assert.equal(over.status, 422);
  assert.equal(fieldError(over.text, 'discount_limit'), 'Enter a percentage from 0 to 100.');
  const missing = await postPairs(c, '/admin/users/new', { username: '', display_name: '' });
  assert.equal(missing.status, 422);
  assert.equal(fieldError(missing.text, 'display_name'), 'This field is required.');
  const differ = await postPairs(c, '/admin/users/new', { username: uniq('u'), display_name: 'X', password: 'Long-enough-1', password_confirm: 'Long-enough-2' });
  assert.equal(differ.status, 422);
  assert.equal(fieldError(differ.text, 'password_confirm'), 'The two passwords differ.');
});

test('the discount limit is stored exactly with two decimals', async () => {
  const { c } = await admin();
  const u = await createUser(c, { discount_limit: '7.5' });
  assert.deepEqual(sql('SELECT discount_limit FROM users WHERE id = :\'p1\'', u.id), [['7.50']]);
});

test('a user name taken in any letter case answers 422 on the user name field', async () => {
  const { c } = await admin();
  const u = await createUser(c);
  const res = await postPairs(c, '/admin/users/new', { username: u.username.toUpperCase(), display_name: 'Twin' });
  assert.equal(res.status, 422);
  assert.equal(fieldError(res.text, 'username'), 'This user name is already taken.');
  assert.equal(inputValue(res.text, 'display_name'), 'Twin');
  assert.equal(one('SELECT count(*) FROM users WHERE lower(username) = lower(:\'p1\')', u.username), '1');
});

test('a manager who is the user or one of their subordinates answers 422 on the manager field', async () => {
  const { c } = await admin();
  const top = await createUser(c);
  const mid = await createUser(c, { manager_id: top.id });
  const low = await createUser(c, { manager_id: mid.id });
  const form = await c.get(`/admin/users/${top.id}/edit`);
  assert.equal(form.status, 200);
  assert.doesNotMatch(form.text, new RegExp(`<option value="${low.id}"`), 'subordinates are not offered');
  for (const bad of [low.id, mid.id]) {
    const res = await postPairs(c, `/admin/users/${top.id}/edit`, setField(formFields(form.text, `/admin/users/${top.id}/edit`), 'manager_id', bad));
    assert.equal(res.status, 422);
    assert.match(fieldError(res.text, 'manager_id'), /cannot report to themselves or to one of their own subordinates/);
  }
  const self = await postPairs(c, `/admin/users/${top.id}/edit`, setField(formFields(form.text, `/admin/users/${top.id}/edit`), 'manager_id', top.id));
  assert.equal(self.status, 422);
  assert.equal(fieldError(self.text, 'manager_id'), 'A user cannot be their own manager.');
  assert.deepEqual(sql('SELECT coalesce(manager_id, 0) FROM users WHERE id = :\'p1\'', top.id), [['0']]);
});

// --- optimistic locking ----------------------------------------------------------------------

test('two people save the same user: the second gets 409 with their input kept, then saves on purpose', async () => {
  const { c: first } = await admin();
  const { c: second } = await admin();
  const u = await createUser(first, { title: 'Original', phone: '010-1' });
  const url = `/admin/users/${u.id}/edit`;
  const formA = formFields((await first.get(url)).text, url);
  const formB = formFields((await second.get(url)).text, url);

  const a = await postPairs(first, url, setField(setField(formA, 'title', 'Title by A'), 'phone', '010-2'));
  assert.equal(a.status, 303);
  const b = await postPairs(second, url, setField(formB, 'title', 'Title by B'));
  assert.equal(b.status, 409);
  assert.match(b.text, /Someone else saved this record while you were editing/);
  assert.equal(inputValue(b.text, 'title'), 'Title by B', 'B keeps their input');
  assert.match(fieldError(b.text, 'title'), /changed this meanwhile to “Title by A”/);
  assert.equal(inputValue(b.text, 'phone'), '010-2', 'A\'s change of a field B left alone is shown');
  assert.deepEqual(sql('SELECT title, phone FROM users WHERE id = :\'p1\'', u.id), [['Title by A', '010-2']]);

  const again = await postPairs(second, url, formFields(b.text, url));
  assert.equal(again.status, 303);
  assert.deepEqual(sql('SELECT title, phone FROM users WHERE id = :\'p1\'', u.id), [['Title by B', '010-2']]);
});

test('two people save the same department: the second gets 409, then saves on purpose', async () => {
  const { c: first } = await admin();
  const { c: second } = await admin();
  const id = await createDept(first, uniq('Lock '));
  const url = `/admin/departments/${id}/edit`;
  const formA = formFields((await first.get(url)).text, url);
  const formB = formFields((await second.get(url)).text, url);
  assert.equal((await postPairs(first, url, setField(formA, 'sort', '5'))).status, 303);
  const b = await postPairs(second, url, setField(formB, 'name', uniq('Renamed ')));
  assert.equal(b.status, 409);
  assert.equal(inputValue(b.text, 'sort'), '5');
  assert.equal((await postPairs(second, url, formFields(b.text, url))).status, 303);
  assert.deepEqual(sql('SELECT sort, version FROM departments WHERE id = :\'p1\'', id), [['5', '3']]);
});

// --- passwords and disabling -----------------------------------------------------------------

test('creating a user with an empty password shows a generated one once, which must be changed', async () => {
  const { c } = await admin();
  const u = await createUser(c, {}, { generate: true });
  assert.equal(u.res.status, 200);
  assert.match(u.password, /^[A-Za-z0-9]{16}$/);
  assert.ok(!u.res.headers.getSetCookie().some((s) => s.includes(u.password)), 'not in a cookie');
  assert.deepEqual(sql('SELECT must_change_password FROM users WHERE id = :\'p1\'', u.id), [['t']]);
  const page = await c.get(`/admin/users/${u.id}`);
  assert.ok(!page.text.includes(u.password), 'shown only once');
  const user = new Client({ lang: 'en' });
  await user.login(u.username, u.password);
});

test('reset-password shows a new password that works and must be changed; sessions end; no secret in the audit', async () => {
  const { c } = await admin();
  const u = await createUser(c);
  const victim = new Client({ lang: 'en' });
  await victim.login(u.username, u.password);
  const res = await postPairs(c, `/admin/users/${u.id}/reset-password`, {});
  assert.equal(res.status, 200);
  const pw = /id="new-password">([^<]*)</.exec(res.text)?.[1];
  assert.match(pw || '', /^[A-Za-z0-9]{16}$/);
  assert.match(res.text, /will not be shown again/);
  const audit = lastAudit('user', u.id);
  assert.deepEqual([audit.module, audit.action, audit.result], ['org', 'reset_password', 'ok']);
  assert.deepEqual(audit.changes, { must_change_password: { old: 'false', new: 'true' } });
  assert.ok(!JSON.stringify(sql('SELECT changes FROM audit_log WHERE object_type = \'user\' AND object_id = :\'p1\'', u.id)).includes(pw));
  assert.deepEqual(sql('SELECT must_change_password FROM users WHERE id = :\'p1\'', u.id), [['t']]);
  assert.equal((await victim.get('/')).status, 303, 'the old session ended');

  const fresh = new Client({ lang: 'en' });
  await fresh.login(u.username, pw);
  const home = await fresh.get('/');
  assert.equal(home.status, 303);
  assert.equal(home.headers.get('location'), '/account/password', 'a new password must be chosen first');
  const old = new Client({ lang: 'en' });
  const bad = await old.post('/login', { username: u.username, password: u.password }, { from: '/login' });
  assert.equal(bad.status, 422, 'the old password no longer works');
});

test('disabling a user ends their sessions and blocks sign-in; enabling lets them back', async () => {
  const { c } = await admin();
  const u = await createUser(c);
  const user = new Client({ lang: 'en' });
  await user.login(u.username, u.password);
  assert.equal((await user.get('/')).status, 200);
  const res = await postPairs(c, `/admin/users/${u.id}/disable`, {});
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), `/admin/users/${u.id}`);
  assert.equal(one('SELECT count(*) FROM sessions WHERE user_id = :\'p1\'', u.id), '0');
  assert.equal((await user.get('/')).status, 303, 'the session is gone');
  assert.deepEqual(sql('SELECT active FROM users WHERE id = :\'p1\'', u.id), [['f']]);
  let audit = lastAudit('user', u.id);
  assert.deepEqual([audit.module, audit.action, audit.changes.active], ['org', 'disable', { old: 'true', new: 'false' }]);
  const again = new Client({ lang: 'en' });
  assert.equal((await again.post('/login', { username: u.username, password: u.password }, { from: '/login' })).status, 422);

  assert.equal((await postPairs(c, `/admin/users/${u.id}/enable`, {})).status, 303);
  audit = lastAudit('user', u.id);
  assert.deepEqual([audit.action, audit.changes.active], ['enable', { old: 'false', new: 'true' }]);
  await new Client({ lang: 'en' }).login(u.username, u.password);
});

test('an administrator cannot disable their own account', async () => {
  const { u, c } = await admin();
  const id = userId(u.username);
  const res = await postPairs(c, `/admin/users/${id}/disable`, {});
  assert.equal(res.status, 303);
  assert.deepEqual(sql('SELECT active FROM users WHERE id = :\'p1\'', id), [['t']]);
  const page = await c.get(res.headers.get('location'));
  assert.match(page.text, /You cannot disable your own account/);
});

test('only an administrator may reset, disable or edit an administrator', async () => {
  const { c: adminC } = await admin();
  const role = await createRole(adminC, ['org.view', 'org.edit']);
  const { u, c } = await signedIn('oe');
  sql('INSERT INTO user_roles (user_id, role_id) VALUES (:\'p1\', :\'p2\')', userId(u.username), role.id);
  const other = makeUser('ob', ['--admin']);
  const target = userId(other.username);
  for (const path of ['reset-password', 'disable']) {
    assert.equal((await postPairs(c, `/admin/users/${target}/${path}`, {})).status, 403, path);
  }
  assert.equal((await c.get(`/admin/users/${target}/edit`)).status, 403);
  assert.deepEqual(sql('SELECT active, must_change_password FROM users WHERE id = :\'p1\'', target), [['t', 'f']]);
  // An ordinary user's page is fine for them, and the administrator flag is not on their form.
  const plain = await createUser(adminC);
  const form = await c.get(`/admin/users/${plain.id}/edit`);
  assert.equal(form.status, 200);
  assert.doesNotMatch(form.text, /name="is_admin"/);
  const res = await postPairs(c, `/admin/users/${plain.id}/edit`, [...formFields(form.text, `/admin/users/${plain.id}/edit`), ['is_admin', '1']]);
  assert.equal(res.status, 303);
  assert.deepEqual(sql('SELECT is_admin FROM users WHERE id = :\'p1\'', plain.id), [['f']], 'the flag cannot be smuggled in');
});

// --- departments: delete ---------------------------------------------------------------------

test('deleting a department with users or sub-departments is refused with a message; an empty one goes', async () => {
  const { c } = await admin();
  const parent = await createDept(c, uniq('Keep '));
  const child = await createDept(c, uniq('Child '), parent);
  await createUser(c, { department_id: child });
  for (const [id, msg] of [[child, /still has users/], [parent, /still has sub-departments/]]) {
    const res = await postPairs(c, `/admin/departments/${id}/delete`, {});
    assert.equal(res.status, 303);
    const page = await c.get(res.headers.get('location'));
    assert.match(page.text, new RegExp(`flash-error[^>]*>[^<]*${msg.source}`));
    assert.equal(one('SELECT count(*) FROM departments WHERE id = :\'p1\'', id), '1');
  }
  const empty = await createDept(c, uniq('Empty '), parent);
  const res = await postPairs(c, `/admin/departments/${empty}/delete`, {});
  assert.equal(res.status, 303);
  assert.equal(one('SELECT count(*) FROM departments WHERE id = :\'p1\'', empty), '0');
  const audit = lastAudit('department', empty);
  assert.deepEqual([audit.module, audit.action], ['org', 'delete']);
  assert.ok(audit.changes.name.old.startsWith('Empty '));
});

test('a department cannot be moved inside itself or below itself', async () => {
  const { c } = await admin();
  const a = await createDept(c, uniq('Outer '));
  const b = await createDept(c, uniq('Inner '), a);
  const url = `/admin/departments/${a}/edit`;
  const form = await c.get(url);
  assert.doesNotMatch(form.text, new RegExp(`<option value="${b}"`));
  for (const bad of [a, b]) {
    const res = await postPairs(c, url, setField(formFields(form.text, url), 'parent_id', bad));
    assert.equal(res.status, 422);
    assert.match(fieldError(res.text, 'parent_id'), /cannot be placed inside itself/);
  }
  const dup = await postPairs(c, '/admin/departments/new', { name: one('SELECT name FROM departments WHERE id = :\'p1\'', b).toUpperCase(), parent_id: a, sort: '0' });
  assert.equal(dup.status, 422);
  assert.match(fieldError(dup.text, 'name'), /already exists at this place/);
});

// --- roles and the matrix --------------------------------------------------------------------

test('the role form shows the matrix: a checkbox with an accessible name where the module has the action, – elsewhere', async () => {
  const { c } = await admin();
  const page = await c.get('/admin/roles/new');
  assert.equal(page.status, 200);
  assert.match(page.text, /<table class="table compact matrix"/);
  assert.match(page.text, /<input type="checkbox" name="perm" value="customers.view" aria-label="Customers: View">/);
  assert.match(page.text, /<input type="checkbox" name="perm" value="org.delete" aria-label="Organisation and roles: Delete">/);
  assert.doesNotMatch(page.text, /value="reports.create"/);
  const reports = /<td>Reports<\/td>([\s\S]*?)<\/tr>/.exec(page.text)[1];
  assert.equal([...reports.matchAll(/<td class="na">–<\/td>/g)].length, 4, 'reports: only view, export, print');
  const zh = new Client({ lang: 'zh-CN' });
  zh.cookies = c.cookies;
  zh.cookies.set('kx_lang', 'zh_CN');
  assert.match((await zh.get('/admin/roles/new')).text, /aria-label="客户：查看"/);
});

test('saving the matrix replaces the role\'s permissions and scope, with an audit diff', async () => {
  const { c } = await admin();
  const role = await createRole(c, ['customers.view', 'customers.edit', 'quotes.view']);
  const url = `/admin/roles/${role.id}/edit`;
  const form = formFields((await c.get(url)).text, url);
  assert.deepEqual(form.filter(([k]) => k === 'perm').map(([, v]) => v).sort(), ['customers.edit', 'customers.view', 'quotes.view']);
  const res = await postPairs(c, url, setField(setField(form, 'perm', ['quotes.view', 'orders.approve', 'audit.export']), 'data_scope', 'department_tree'));
  assert.equal(res.status, 303);
  assert.deepEqual(sql('SELECT module || \'.\' || action FROM role_permissions WHERE role_id = :\'p1\' ORDER BY 1', role.id),
    [['audit.export'], ['orders.approve'], ['quotes.view']]);
  assert.deepEqual(sql('SELECT data_scope FROM roles WHERE id = :\'p1\'', role.id), [['department_tree']]);
  const audit = lastAudit('role', role.id);
  assert.deepEqual([audit.module, audit.action], ['org', 'update']);
  assert.deepEqual(audit.changes.permissions, { old: 'customers.edit,customers.view,quotes.view', new: 'audit.export,orders.approve,quotes.view' });
  assert.deepEqual(audit.changes.data_scope, { old: 'own', new: 'department_tree' });
  const list = await c.get('/admin/roles');
  assert.match(list.text, new RegExp(`${role.name}</a></td>[\\s\\S]*?<td>Department and sub-departments</td>\\s*<td class="num">3</td>`));
});

test('a permission outside the catalogue is refused with 400 and changes nothing', async () => {
  const { c } = await admin();
  const role = await createRole(c, ['customers.view']);
  const url = `/admin/roles/${role.id}/edit`;
  const form = formFields((await c.get(url)).text, url);
  for (const bad of ['reports.create', 'nosuch.view', 'customers.fly', 'customers', '']) {
    const res = await postPairs(c, url, [...form, ['perm', bad]]);
    assert.equal(res.status, 400, bad);
  }
  assert.equal((await postPairs(c, '/admin/roles/new', { name: 'x', code: uniq('r_'), data_scope: 'own', perm: 'settings.delete' })).status, 400);
  assert.deepEqual(sql('SELECT module || \'.\' || action FROM role_permissions WHERE role_id = :\'p1\'', role.id), [['customers.view']]);
});

test('role codes are checked for shape and uniqueness (422); a role in use cannot be deleted', async () => {
  const { c } = await admin();
  const role = await createRole(c, []);
  const dup = await postPairs(c, '/admin/roles/new', { name: 'Copy', code: role.code, data_scope: 'own' });
  assert.equal(dup.status, 422);
  assert.equal(fieldError(dup.text, 'code'), 'This code is already used by another role.');
  assert.equal(inputValue(dup.text, 'name'), 'Copy');
  const shape = await postPairs(c, '/admin/roles/new', { name: 'Bad', code: 'Bad-Code', data_scope: 'own', perm: 'customers.view' });
  assert.equal(shape.status, 422);
  assert.match(shape.text, /value="customers.view" aria-label="Customers: View" checked>/, 'ticks kept');
  const u = await createUser(c, { roles: [role.id] });
  const refused = await postPairs(c, `/admin/roles/${role.id}/delete`, {});
  assert.equal(refused.status, 303);
  assert.match((await c.get(refused.headers.get('location'))).text, /Users still have this role/);
  assert.equal(one('SELECT count(*) FROM roles WHERE id = :\'p1\'', role.id), '1');
  const form = await c.get(`/admin/users/${u.id}/edit`);
  assert.equal((await postPairs(c, `/admin/users/${u.id}/edit`, setField(formFields(form.text, `/admin/users/${u.id}/edit`), 'roles', []))).status, 303);
  assert.equal((await postPairs(c, `/admin/roles/${role.id}/delete`, {})).status, 303);
  assert.equal(one('SELECT count(*) FROM roles WHERE id = :\'p1\'', role.id), '0');
  const audit = lastAudit('role', role.id);
  assert.deepEqual([audit.module, audit.action, audit.changes.code.old], ['org', 'delete', role.code]);
});

test('a role change applies to its users from their next request', async () => {
  const { c } = await admin();
  const role = await createRole(c, ['org.view']);
  const { u, c: user } = await signedIn('on');
  sql('INSERT INTO user_roles (user_id, role_id) VALUES (:\'p1\', :\'p2\')', userId(u.username), role.id);
  assert.equal((await user.get('/admin/users/new')).status, 403);
  const url = `/admin/roles/${role.id}/edit`;
  const form = formFields((await c.get(url)).text, url);
  assert.equal((await postPairs(c, url, setField(form, 'perm', ['org.view', 'org.create']))).status, 303);
  assert.equal((await user.get('/admin/users/new')).status, 200);
});

// --- permissions of the pages ----------------------------------------------------------------

const POST_ROUTES = (id) => [
  '/admin/users/new', `/admin/users/${id}/edit`, `/admin/users/${id}/reset-password`, `/admin/users/${id}/disable`,
  `/admin/users/${id}/enable`, '/admin/departments/new', '/admin/departments/1/edit', '/admin/departments/1/delete',
  '/admin/roles/new', '/admin/roles/1/edit', '/admin/roles/1/delete',
];

test('a user without org.view gets 403 on the pages and every POST route, and no navigation link', async () => {
  const { u, c } = await signedIn('on');
  const home = await c.get('/');
  assert.equal(home.status, 200);
  assert.doesNotMatch(home.text, /href="\/admin\/users"/);
  for (const path of ['/admin/users', '/admin/departments', '/admin/roles', '/admin/users/1', '/admin/users/new']) {
    assert.equal((await c.get(path)).status, 403, path);
  }
  const token = await csrf(c);
  const self = userId(u.username);
  for (const path of POST_ROUTES(self)) {
    const res = await postPairs(c, path, [['_csrf', token], ['username', 'x'], ['name', 'x'], ['display_name', 'x']]);
    assert.equal(res.status, 403, path);
  }
  assert.deepEqual(sql('SELECT active, display_name FROM users WHERE id = :\'p1\'', self), [['t', '']]);
  const denied = sql(`SELECT count(*) FROM audit_log WHERE user_id = :'p1' AND result = 'denied' AND module = 'org'`, self)[0][0];
  assert.ok(Number(denied) >= POST_ROUTES(self).length, 'denials are audited');
});

test('a role granting only org.view can list users and see the nav link, but not create or edit', async () => {
  const { c: adminC } = await admin();
  const role = await createRole(adminC, ['org.view']);
  const { u, c } = await signedIn('ov');
  sql('INSERT INTO user_roles (user_id, role_id) VALUES (:\'p1\', :\'p2\')', userId(u.username), role.id);
  const list = await c.get('/admin/users');
  assert.equal(list.status, 200);
  assert.match(list.text, /<a href="\/admin\/users" class="active" aria-current="page">Organisation<\/a>/);
  assert.doesNotMatch(list.text, /href="\/admin\/users\/new"/);
  assert.equal((await c.get('/admin/roles')).status, 200);
  assert.doesNotMatch((await c.get('/admin/roles')).text, /\/admin\/roles\/new|\/edit"/);
  assert.equal((await c.get('/admin/departments')).status, 200);
  assert.equal((await c.get('/admin/users/new')).status, 403);
  assert.equal((await postPairs(c, '/admin/users/new', { username: uniq('x'), display_name: 'x' })).status, 403);
  assert.equal((await c.get(`/admin/users/${userId(u.username)}/edit`)).status, 403);
  const page = await c.get(`/admin/users/${userId(u.username)}`);
  assert.equal(page.status, 200);
  assert.doesNotMatch(page.text, /reset-password|\/disable"/);
});

test('unknown ids answer 404', async () => {
  const { c } = await admin();
  const gone = '987654321';
  for (const path of [`/admin/users/${gone}`, `/admin/users/${gone}/edit`, `/admin/departments/${gone}/edit`, `/admin/roles/${gone}/edit`]) {
    assert.equal((await c.get(path)).status, 404, path);
  }
  const token = await csrf(c);
  for (const path of [`/admin/users/${gone}/edit`, `/admin/users/${gone}/reset-password`, `/admin/users/${gone}/disable`,
    `/admin/users/${gone}/enable`, `/admin/departments/${gone}/edit`, `/admin/departments/${gone}/delete`,
    `/admin/roles/${gone}/edit`, `/admin/roles/${gone}/delete`]) {
    assert.equal((await postPairs(c, path, [['_csrf', token]])).status, 404, path);
  }
  assert.equal((await c.get('/admin/users/abc')).status, 404);
});

// --- the audit trail -------------------------------------------------------------------------

test('creating and editing a user writes audit rows with the changed fields, roles by name', async () => {
  const { u: me, c } = await admin();
  const r1 = await createRole(c, [], { name: uniq('Beta ') });
  const r2 = await createRole(c, [], { name: uniq('Alpha ') });
  const dept = await createDept(c, uniq('Audit dept '));
  const u = await createUser(c, { roles: [r1.id], title: 'Clerk' });
  let audit = lastAudit('user', u.id);
  assert.deepEqual([audit.module, audit.action, audit.result, audit.by], ['org', 'create', 'ok', userId(me.username)]);
  assert.deepEqual(audit.changes.username, { old: '', new: u.username });
  assert.deepEqual(audit.changes.roles, { old: '', new: r1.name });
  assert.equal(audit.changes.password, undefined);

  const url = `/admin/users/${u.id}/edit`;
  const form = formFields((await c.get(url)).text, url);
  const res = await postPairs(c, url, setField(setField(setField(form, 'roles', [r1.id, r2.id]), 'title', 'Senior clerk'), 'department_id', dept));
  assert.equal(res.status, 303);
  audit = lastAudit('user', u.id);
  assert.deepEqual([audit.module, audit.action], ['org', 'update']);
  assert.deepEqual(audit.changes.roles, { old: r1.name, new: [r1.name, r2.name].sort().join(',') });
  assert.deepEqual(audit.changes.title, { old: 'Clerk', new: 'Senior clerk' });
  assert.equal(audit.changes.department.old, '');
  assert.match(audit.changes.department.new, /^Audit dept /);
  assert.deepEqual(Object.keys(audit.changes).sort(), ['department', 'roles', 'title']);
  assert.deepEqual(sql('SELECT role_id FROM user_roles WHERE user_id = :\'p1\' ORDER BY role_id', u.id), [[r1.id], [r2.id]].sort((a, b) => a[0] - b[0]));

  const page = await c.get(`/admin/users/${u.id}`);
  assert.match(page.text, /Senior clerk/);
  assert.match(page.text, /<span class="diff-old">Clerk<\/span> → <span class="diff-new">Senior clerk<\/span>/);
});

test('creating and editing departments and roles write audit rows', async () => {
  const { c } = await admin();
  const name = uniq('Dept audit ');
  const id = await createDept(c, name);
  let audit = lastAudit('department', id);
  assert.deepEqual([audit.module, audit.action, audit.changes.name], ['org', 'create', { old: '', new: name }]);
  const url = `/admin/departments/${id}/edit`;
  const res = await postPairs(c, url, setField(formFields((await c.get(url)).text, url), 'name', name + ' 2'));
  assert.equal(res.status, 303);
  audit = lastAudit('department', id);
  assert.deepEqual([audit.action, audit.changes.name], ['update', { old: name, new: name + ' 2' }]);

  const role = await createRole(c, ['customers.view'], { scope: 'subordinates' });
  audit = lastAudit('role', role.id);
  assert.deepEqual([audit.module, audit.action, audit.changes.permissions, audit.changes.data_scope],
    ['org', 'create', { old: '', new: 'customers.view' }, { old: '', new: 'subordinates' }]);
});

test('the org pages render in Chinese', async () => {
  const { c } = await admin();
  c.cookies.set('kx_lang', 'zh_CN');
  for (const [path, text] of [['/admin/users', '新建用户'], ['/admin/departments', '新建部门'], ['/admin/roles', '新建角色'],
    ['/admin/users/new', '直属上级'], ['/admin/roles/new', '数据范围']]) {
    const res = await c.get(path);
    assert.equal(res.status, 200);
    assert.match(res.text, new RegExp(text), path);
    assert.match(res.text, /组织架构/);
  }
});
