// scope.test.js — the one data-scope filter with a three-level organisation: a salesperson, their
// manager, the manager's manager, colleagues in another department, and an administrator see
// different sets of people through /api/users and the start page.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { Client, adminPassword, makeUser, sql } from '../lib/client.js';

const tag = Date.now().toString(36);
const P = {}; // name -> { username, password, id }

function idOf(username) {
  return Number(sql(`SELECT id FROM users WHERE username = :'p1'`, username)[0][0]);
}

function role(code, scope) {
  sql(`INSERT INTO roles (code, name, data_scope) VALUES (:'p1', :'p1', :'p2')`, code, scope);
  return Number(sql(`SELECT id FROM roles WHERE code = :'p1'`, code)[0][0]);
}

before(() => {
  // 总部 > 销售中心 > (销售一部, 销售二部)
  sql(`INSERT INTO departments (name) VALUES (:'p1')`, `总部${tag}`);
  const hq = sql(`SELECT id FROM departments WHERE name = :'p1'`, `总部${tag}`)[0][0];
  sql(`INSERT INTO departments (name, parent_id) VALUES (:'p1', :'p2')`, `销售中心${tag}`, hq);
  const center = sql(`SELECT id FROM departments WHERE name = :'p1'`, `销售中心${tag}`)[0][0];
  sql(`INSERT INTO departments (name, parent_id) VALUES (:'p1', :'p2'), (:'p3', :'p2')`, `销售一部${tag}`, center, `销售二部${tag}`);
  const d1 = sql(`SELECT id FROM departments WHERE name = :'p1'`, `销售一部${tag}`)[0][0];
  const d2 = sql(`SELECT id FROM departments WHERE name = :'p1'`, `销售二部${tag}`)[0][0];

  for (const n of ['director', 'manager', 'sales', 'sales2', 'peer', 'other', 'lead', 'all']) {
    P[n] = makeUser(`sc${n}`);
    P[n].id = idOf(P[n].username);
  }
  const set = (n, dept, mgr) => sql(`UPDATE users SET department_id = :'p1', manager_id = NULLIF(:'p2', '')::bigint WHERE id = :'p3'`, dept, mgr ? P[mgr].id : '', P[n].id);
  set('director', center, null);      // level 1
  set('manager', d1, 'director');     // level 2
  set('sales', d1, 'manager');        // level 3
  set('sales2', d1, 'manager');       // level 3
  set('peer', d1, null);              // same department, outside the manager tree
  set('other', d2, 'director');       // another department, under the director
  set('lead', d1, null);
  set('all', hq, null);

  const grant = (n, r) => sql(`INSERT INTO user_roles (user_id, role_id) VALUES (:'p1', :'p2')`, P[n].id, r);
  const own = role(`own_${tag}`, 'own');
  const subs = role(`subs_${tag}`, 'subordinates');
  const dept = role(`dept_${tag}`, 'department');
  const tree = role(`tree_${tag}`, 'department_tree');
  const all = role(`all_${tag}`, 'all');
  grant('sales', own);
  grant('manager', subs);
  grant('director', subs);
  grant('lead', dept);
  grant('other', tree);
  grant('all', all);
  // Several roles: the widest scope wins.
  grant('sales2', own);
  grant('sales2', dept);
});

async function visible(n) {
  const c = new Client({ lang: 'en' });
  await c.login(P[n].username, P[n].password);
  const res = await c.get('/api/users?q=' + 'sc');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /application\/json/);
  const mine = new Set(Object.values(P).map((p) => p.username));
  return JSON.parse(res.text).map((u) => u.username).filter((u) => mine.has(u)).sort();
}

const names = (...ns) => ns.map((n) => P[n].username).sort();

test('a salesperson (scope own) sees only themself', async () => {
  assert.deepEqual(await visible('sales'), names('sales'));
});

test('a manager (own + subordinates) sees their team, not the peer of the same department', async () => {
  assert.deepEqual(await visible('manager'), names('manager', 'sales', 'sales2'));
});

test("the manager's manager sees every level below, across departments", async () => {
  assert.deepEqual(await visible('director'), names('director', 'manager', 'sales', 'sales2', 'other'));
});

test('department scope sees everyone of the own department only', async () => {
  assert.deepEqual(await visible('lead'), names('manager', 'sales', 'sales2', 'peer', 'lead'));
});

test('with two roles the widest scope wins', async () => {
  assert.deepEqual(await visible('sales2'), names('manager', 'sales', 'sales2', 'peer', 'lead'));
});

test('department-and-below scope from a leaf department sees that department', async () => {
  assert.deepEqual(await visible('other'), names('other'));
});

test('scope all and the administrator see everyone', async () => {
  const everyone = Object.keys(P);
  assert.deepEqual(await visible('all'), names(...everyone));
  const admin = new Client();
  await admin.login('admin', adminPassword());
  const list = JSON.parse((await admin.get('/api/users?q=sc')).text).map((u) => u.username);
  for (const n of everyone) assert.ok(list.includes(P[n].username));
});

test('a role change applies from the next request', async () => {
  const c = new Client();
  await c.login(P.peer.username, P.peer.password);
  const before = JSON.parse((await c.get('/api/users?q=sc')).text).map((u) => u.username);
  assert.deepEqual(before, [P.peer.username]);
  const r = sql(`SELECT id FROM roles WHERE code = :'p1'`, `dept_${tag}`)[0][0];
  sql(`INSERT INTO user_roles (user_id, role_id) VALUES (:'p1', :'p2')`, P.peer.id, r);
  const after = JSON.parse((await c.get('/api/users?q=sc')).text).map((u) => u.username);
  assert.ok(after.includes(P.manager.username) && after.includes(P.sales.username));
});

test('the start page shows the data scope and the visible colleagues', async () => {
  const c = new Client({ lang: 'en' });
  await c.login(P.manager.username, P.manager.password);
  const home = await c.get('/');
  assert.match(home.text, /Your data scope<\/?[^>]*>?: Own and subordinates&apos;|Your data scope: Own and subordinates/);
  assert.ok(home.text.includes(P.sales.username) || home.text.includes('You can see the records'));
  const s = new Client({ lang: 'en' });
  await s.login(P.sales.username, P.sales.password);
  assert.match((await s.get('/')).text, /You see your own records only/);
});

test('the search text of the JSON helper is data, not a pattern or SQL', async () => {
  const c = new Client();
  await c.login(P.all.username, P.all.password);
  const res = await c.get('/api/users?q=' + encodeURIComponent("%' OR 1=1 --"));
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.text), []);
  const pct = await c.get('/api/users?q=%25');
  assert.deepEqual(JSON.parse(pct.text), []);
});
