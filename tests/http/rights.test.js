// rights.test.js — customer permissions (M14) with a three-level organisation: batch share
// (read / read and write) and unshare, assign from the pool, transfer (batch and all of one
// person's customers), release to the public pool and claim from it (limit, races), 404 for
// customers outside the caller's scope on every route, and the audit rows of each change.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { Client, makeUser, sql } from '../lib/client.js';

const tag = Date.now().toString(36);
const P = {}; // name -> { username, password, id, name (display name) }
let seq = 0;

function idOf(username) {
  return Number(sql(`SELECT id FROM users WHERE username = :'p1'`, username)[0][0]);
}

function role(code, scope, actions) {
  sql(`INSERT INTO roles (code, name, data_scope) VALUES (:'p1', :'p1', :'p2')`, code, scope);
  const id = sql(`SELECT id FROM roles WHERE code = :'p1'`, code)[0][0];
  for (const a of actions) {
    const [m, act] = a.split('.');
    sql(`INSERT INTO role_permissions (role_id, module, action) VALUES (:'p1', :'p2', :'p3')`, id, m, act);
  }
  return id;
}

// A customer inserted directly (owner: a person's key, or null for the pool), with a phone and a
// contact whose name and mobile must never show in the pool.
function customer(label, owner, { contact = true } = {}) {
  const n = ++seq;
  const name = `权限${label}${tag}${n}有限公司`;
  const code = `RT${tag}${n}`.toUpperCase();
  const phone = `0571-8${String(1000000 + ((Date.now() + n * 7919) % 9000000)).slice(-7)}`;
  const id = Number(sql(
    `INSERT INTO customers (code, name, name_key, phone, owner_id, pool_since)
     VALUES (:'p1', :'p2', :'p2', :'p3', NULLIF(:'p4', '')::bigint, CASE WHEN :'p4' = '' THEN now() END)
     RETURNING id`, code, name, phone, owner ? P[owner].id : '')[0][0]);
  const contactName = `联系人${tag}${n}`;
  const mobile = `139${String(10000000 + n * 7919).slice(-8)}`;
  if (contact) {
    sql(`INSERT INTO contacts (customer_id, name, mobile, is_primary) VALUES (:'p1', :'p2', :'p3', true)`,
      id, contactName, mobile);
  }
  return { id, name, code, phone, contactName, mobile };
}

function ownerOf(id) {
  const r = sql(`SELECT coalesce(owner_id::text, ''), coalesce(pool_since::text, '') FROM customers WHERE id = :'p1'`, id)[0];
  return { owner: r[0] === '' ? null : Number(r[0]), pool: r[1] !== '' };
}

function shareOf(id, who) {
  const r = sql(`SELECT can_write FROM customer_shares WHERE customer_id = :'p1' AND user_id = :'p2'`, id, P[who].id);
  return r.length ? (r[0][0] === 't' ? 'write' : 'read') : null;
}

// The audit rows of one customer for one action: [{ by, old, new, reason, shares }].
function audits(id, action) {
  return sql(
    `SELECT username, coalesce(changes->'owner'->>'old', ''), coalesce(changes->'owner'->>'new', ''),
            coalesce(changes->'reason'->>'new', ''), coalesce(changes->'shares'->>'old', ''),
            coalesce(changes->'shares'->>'new', '')
       FROM audit_log WHERE object_type = 'customer' AND object_id = :'p1' AND module = 'customers'
        AND action = :'p2' ORDER BY id`, id, action)
    .map(([by, o, n, reason, so, sn]) => ({ by, old: o, new: n, reason, sharesOld: so, sharesNew: sn }));
}

const clients = {};
async function as(who) {
  if (!clients[who]) {
    const c = new Client({ lang: 'en' });
    await c.login(P[who].username, P[who].password);
    clients[who] = c;
  }
  return clients[who];
}

// POSTs a form with repeated fields (arrays) and the CSRF token of the pool page.
async function post(c, url, fields = {}) {
  const page = await c.get('/customers/pool');
  const form = new URLSearchParams();
  form.set('_csrf', Client.csrfOf(page.text));
  for (const [k, v] of Object.entries(fields)) {
    for (const x of Array.isArray(v) ? v : [v]) form.append(k, String(x));
  }
  return c.request('POST', url, {
    body: form.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
}

// The flash shown on the page a redirect leads to.
async function flashAfter(c, res) {
  assert.equal(res.status, 303, `expected a redirect, got ${res.status}`);
  const page = await c.get(res.headers.get('location'));
  const m = page.text.match(/<div class="flash flash-(\w+)"[^>]*>([^<]*)<\/div>/);
  return m ? { kind: m[1], text: m[2] } : { kind: null, text: '' };
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

  const people = {
    director: [center, null], manager: [d1, 'director'], sales: [d1, 'manager'], sales2: [d1, 'manager'],
    outsider: [d2, null], colleague: [d2, null], reader: [d2, null], claimer: [d2, null], claimer2: [d2, null],
  };
  for (const [n, [dept, mgr]] of Object.entries(people)) {
    P[n] = makeUser(`rt${n.slice(0, 4)}`);
    P[n].id = idOf(P[n].username);
    P[n].name = `${n}显示${tag}`;
    sql(`UPDATE users SET display_name = :'p1', department_id = :'p2', manager_id = NULLIF(:'p3', '')::bigint WHERE id = :'p4'`,
      P[n].name, dept, mgr ? P[mgr].id : '', P[n].id);
  }
  const all = ['customers.view', 'customers.create', 'customers.edit', 'customers.delete', 'contacts.view',
    'contacts.create', 'contacts.edit'];
  const own = role(`rt_own_${tag}`, 'own', all);
  const subs = role(`rt_subs_${tag}`, 'subordinates', all);
  const viewer = role(`rt_view_${tag}`, 'own', ['customers.view', 'contacts.view']);
  const grant = (n, r) => sql(`INSERT INTO user_roles (user_id, role_id) VALUES (:'p1', :'p2')`, P[n].id, r);
  for (const n of ['sales', 'sales2', 'outsider', 'colleague', 'claimer', 'claimer2']) grant(n, own);
  grant('manager', subs);
  grant('director', subs);
  grant('reader', viewer);
});

// ---- share ------------------------------------------------------------------------------------

test('the batch share page lists the chosen customers and every active colleague, any department', async () => {
  const a = customer('共享页', 'sales');
  const c = await as('sales');
  const res = await post(c, '/customers/batch/share', { id: [a.id] });
  assert.equal(res.status, 200);
  assert.ok(res.text.includes(a.name));
  assert.ok(res.text.includes(`name="id" value="${a.id}"`));
  assert.ok(res.text.includes(P.colleague.name), 'colleague of another department offered');
  assert.ok(res.text.includes(P.outsider.name));
  assert.ok(!res.text.includes(`<option value="${P.sales.id}"`), 'not oneself');
});

test('share read: the colleague sees the customer in the list and its page, but cannot edit it', async () => {
  const a = customer('只读', 'sales');
  const col = await as('colleague');
  assert.equal((await col.get(`/customers/${a.id}`)).status, 404);

  const s = await as('sales');
  const res = await post(s, '/customers/batch/share/apply', { id: [a.id], user_id: [P.colleague.id], mode: 'read' });
  const flash = await flashAfter(s, res);
  assert.equal(flash.kind, 'ok', flash.text);
  assert.equal(shareOf(a.id, 'colleague'), 'read');

  const list = await col.get(`/customers?q=${encodeURIComponent(a.name)}`);
  assert.equal(list.status, 200);
  assert.ok(list.text.includes(`href="/customers/${a.id}"`), 'in the list');
  const page = await col.get(`/customers/${a.id}`);
  assert.equal(page.status, 200);
  assert.ok(page.text.includes(a.name));
  assert.ok(page.text.includes(a.contactName), 'a share shows the contacts');
  assert.equal((await col.get(`/customers/${a.id}/edit`)).status, 403);
  const edit = await post(col, `/customers/${a.id}/edit`, { name: a.name, status: 'active', _version: '1' });
  assert.equal(edit.status, 403);
  // …nor share it further.
  const again = await post(col, '/customers/batch/share/apply', { id: [a.id], user_id: [P.reader.id], mode: 'read' });
  assert.equal((await flashAfter(col, again)).kind, 'error');
  assert.equal(shareOf(a.id, 'reader'), null);

  const [row] = audits(a.id, 'share');
  assert.equal(row.by, P.sales.username);
  assert.equal(row.sharesOld, '');
  assert.equal(row.sharesNew, P.colleague.name);
});

test('share write: the colleague may edit; unshare: 404 again, with an audit row', async () => {
  const a = customer('读写', 'sales');
  const s = await as('sales');
  await post(s, '/customers/batch/share/apply', { id: [a.id], user_id: [P.colleague.id], mode: 'write' });
  assert.equal(shareOf(a.id, 'colleague'), 'write');
  const col = await as('colleague');
  assert.equal((await col.get(`/customers/${a.id}/edit`)).status, 200);
  // Writers may change it, but it is not theirs to hand over.
  const rel = await post(col, `/customers/${a.id}/release`);
  assert.equal(rel.status, 403);
  assert.equal(ownerOf(a.id).owner, P.sales.id);

  const shares = await s.get(`/customers/${a.id}/shares`);
  assert.equal(shares.status, 200);
  assert.ok(shares.text.includes(P.colleague.username));
  assert.ok(shares.text.includes('/shares/remove'));
  const rm = await post(s, `/customers/${a.id}/shares/remove`, { user_id: P.colleague.id });
  assert.equal(rm.status, 303);
  assert.equal(rm.headers.get('location'), `/customers/${a.id}/shares`);
  assert.equal(shareOf(a.id, 'colleague'), null);
  assert.equal((await col.get(`/customers/${a.id}`)).status, 404);
  assert.equal((await col.get(`/customers/${a.id}/shares`)).status, 404);
  const [row] = audits(a.id, 'unshare');
  assert.equal(row.sharesOld, `${P.colleague.name} (rw)`);
  assert.equal(row.sharesNew, '');
});

test('a read share can become read and write; sharing again the same way changes nothing', async () => {
  const a = customer('升级', 'sales');
  const s = await as('sales');
  await post(s, '/customers/batch/share/apply', { id: [a.id], user_id: [P.colleague.id, P.reader.id], mode: 'read' });
  await post(s, '/customers/batch/share/apply', { id: [a.id], user_id: [P.colleague.id], mode: 'write' });
  assert.equal(shareOf(a.id, 'colleague'), 'write');
  assert.equal(shareOf(a.id, 'reader'), 'read');
  const same = await post(s, '/customers/batch/share/apply', { id: [a.id], user_id: [P.colleague.id], mode: 'write' });
  assert.match((await flashAfter(s, same)).text, /No changes/);
  assert.equal(audits(a.id, 'share').length, 2);
});

test('batch share: out-of-scope ids are reported as not found and left alone', async () => {
  const mine = customer('批量甲', 'sales');
  const mine2 = customer('批量乙', 'sales');
  const theirs = customer('批量外', 'outsider');
  const s = await as('sales');
  const page = await post(s, '/customers/batch/share', { id: [mine.id, theirs.id, mine2.id] });
  assert.equal(page.status, 200);
  assert.ok(!page.text.includes(theirs.name), 'nothing of a customer outside the scope');
  assert.match(page.text, /1 not found/);
  const res = await post(s, '/customers/batch/share/apply', { id: [mine.id, theirs.id, mine2.id], user_id: [P.reader.id], mode: 'read' });
  const flash = await flashAfter(s, res);
  assert.match(flash.text, /Sharing updated for 2 customers/);
  assert.match(flash.text, /1 not found/);
  assert.equal(shareOf(mine.id, 'reader'), 'read');
  assert.equal(shareOf(mine2.id, 'reader'), 'read');
  assert.equal(shareOf(theirs.id, 'reader'), null);
  assert.equal(audits(theirs.id, 'share').length, 0);
  // Only customers outside the scope: 404 on both steps.
  assert.equal((await post(s, '/customers/batch/share', { id: [theirs.id] })).status, 404);
  assert.equal((await post(s, '/customers/batch/share/apply', { id: [theirs.id], user_id: [P.reader.id], mode: 'read' })).status, 404);
  assert.equal((await post(s, '/customers/batch/share', { id: [999999999999] })).status, 404);
});

test('batch forms refuse ids that are not ids, and more than 500', async () => {
  const s = await as('sales');
  assert.equal((await post(s, '/customers/batch/share', { id: ['12x'] })).status, 400);
  assert.equal((await post(s, '/customers/batch/share', { id: ['-3'] })).status, 400);
  const many = Array.from({ length: 501 }, (_, i) => i + 1);
  assert.equal((await post(s, '/customers/batch/release', { id: many })).status, 400);
  const none = await post(s, '/customers/batch/share', {});
  assert.equal(none.status, 303);
  assert.match((await flashAfter(s, none)).text, /Select at least one customer/);
});

test('share needs a colleague; a missing one is a 422 with the page again', async () => {
  const a = customer('无人', 'sales');
  const s = await as('sales');
  const res = await post(s, '/customers/batch/share/apply', { id: [a.id], mode: 'read' });
  assert.equal(res.status, 422);
  assert.match(res.text, /Choose at least one colleague/);
  assert.ok(res.text.includes(a.name));
  const bad = await post(s, '/customers/batch/share/apply', { id: [a.id], user_id: [999999999], mode: 'read' });
  assert.equal(bad.status, 422);
});

test('shares routes answer 404 for customers outside the scope and 403 for readers', async () => {
  const theirs = customer('外共享', 'outsider');
  const s = await as('sales');
  assert.equal((await s.get(`/customers/${theirs.id}/shares`)).status, 404);
  assert.equal((await post(s, `/customers/${theirs.id}/shares/remove`, { user_id: P.outsider.id })).status, 404);
  const a = customer('读者', 'sales');
  await post(s, '/customers/batch/share/apply', { id: [a.id], user_id: [P.colleague.id, P.reader.id], mode: 'read' });
  const col = await as('colleague');
  const page = await col.get(`/customers/${a.id}/shares`);
  assert.equal(page.status, 200);
  assert.ok(!page.text.includes('/shares/remove'), 'no remove buttons for a reader');
  assert.equal((await post(col, `/customers/${a.id}/shares/remove`, { user_id: P.reader.id })).status, 403);
  assert.equal(shareOf(a.id, 'reader'), 'read');
});

// ---- assign and transfer ------------------------------------------------------------------------

test('assign from the pool: a manager gives a pool customer to a subordinate', async () => {
  const a = customer('分配', null);
  const m = await as('manager');
  const page = await post(m, '/customers/batch/assign', { id: [a.id], back: '/customers/pool' });
  assert.equal(page.status, 200);
  assert.ok(page.text.includes(a.name));
  assert.ok(page.text.includes(`<option value="${P.sales.id}"`), 'subordinate offered');
  assert.ok(!page.text.includes(`<option value="${P.outsider.id}"`), 'outsider not offered');
  const res = await post(m, '/customers/batch/assign/apply', { id: [a.id], owner_id: P.sales.id, back: '/customers/pool' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/customers/pool');
  assert.deepEqual(ownerOf(a.id), { owner: P.sales.id, pool: false });
  const [row] = audits(a.id, 'assign');
  assert.deepEqual([row.by, row.old, row.new], [P.manager.username, '', P.sales.name]);
  // The customer's page shows it in the history.
  const page2 = await (await as('sales')).get(`/customers/${a.id}`);
  assert.equal(page2.status, 200);
  assert.match(page2.text, /Assigned/);
  assert.ok(page2.text.includes(P.manager.name), 'who assigned it');
});

test('assign refuses an owner outside the scope, customers owned by others, and own-scope callers', async () => {
  const a = customer('分配外', null);
  const held = customer('已有主', 'sales2');
  const m = await as('manager');
  const res = await post(m, '/customers/batch/assign/apply', { id: [a.id], owner_id: P.outsider.id });
  assert.equal(res.status, 422);
  assert.deepEqual(ownerOf(a.id), { owner: null, pool: true });
  const owned = await post(m, '/customers/batch/assign/apply', { id: [held.id], owner_id: P.sales.id });
  assert.match((await flashAfter(m, owned)).text, /already have an owner/);
  assert.equal(ownerOf(held.id).owner, P.sales2.id);
  const s = await as('sales');
  assert.equal((await post(s, '/customers/batch/assign', { id: [a.id] })).status, 403);
  assert.equal((await post(s, '/customers/batch/assign/apply', { id: [a.id], owner_id: P.sales.id })).status, 403);
  assert.deepEqual(ownerOf(a.id), { owner: null, pool: true });
});

test('transfer by a manager to a subordinate works, keeps shares, and records owner and reason', async () => {
  const a = customer('转移', 'sales2');
  const b = customer('转移二', 'sales2');
  const s2 = await as('sales2');
  await post(s2, '/customers/batch/share/apply', { id: [a.id], user_id: [P.colleague.id], mode: 'read' });
  const m = await as('manager');
  const page = await post(m, '/customers/batch/transfer', { id: [a.id, b.id] });
  assert.equal(page.status, 200);
  assert.ok(page.text.includes(a.name) && page.text.includes(b.name));
  const res = await post(m, '/customers/batch/transfer/apply', { id: [a.id, b.id], owner_id: P.sales.id, reason: '调岗' });
  assert.match((await flashAfter(m, res)).text, /2 customers transferred/);
  assert.equal(ownerOf(a.id).owner, P.sales.id);
  assert.equal(ownerOf(b.id).owner, P.sales.id);
  assert.equal(shareOf(a.id, 'colleague'), 'read', 'the share stays');
  const [row] = audits(a.id, 'transfer');
  assert.deepEqual([row.by, row.old, row.new, row.reason], [P.manager.username, P.sales2.name, P.sales.name, '调岗']);
  assert.equal((await s2.get(`/customers/${a.id}`)).status, 404, 'the old owner no longer sees it');
  const history = await (await as('sales')).get(`/customers/${a.id}`);
  assert.match(history.text, /Transferred/);
  assert.ok(history.text.includes('调岗') && history.text.includes(P.sales2.name), 'reason and old owner in the history');
});

test('transfer to someone outside the scope is refused; customers outside the scope are 404', async () => {
  const a = customer('转外', 'sales');
  const theirs = customer('外人的', 'outsider');
  const m = await as('manager');
  const res = await post(m, '/customers/batch/transfer/apply', { id: [a.id], owner_id: P.outsider.id, reason: 'x' });
  assert.equal(res.status, 422);
  assert.match(res.text, /You can only choose active people whose customers you may see/);
  assert.equal(ownerOf(a.id).owner, P.sales.id);
  assert.equal(audits(a.id, 'transfer').length, 0);
  assert.equal((await post(m, '/customers/batch/transfer', { id: [theirs.id] })).status, 404);
  assert.equal((await post(m, '/customers/batch/transfer/apply', { id: [theirs.id], owner_id: P.sales.id })).status, 404);
  assert.equal(ownerOf(theirs.id).owner, P.outsider.id);
  // A salesperson (scope own) hands nothing over.
  assert.equal((await post(await as('sales'), '/customers/batch/transfer', { id: [a.id] })).status, 403);
});

test('transfer all moves exactly that person’s customers, one audit row each', async () => {
  const leaver = ['甲', '乙', '丙'].map((x) => customer(`离职${x}`, 'sales2'));
  const other = customer('留下', 'sales');
  const archived = customer('归档', 'sales2');
  sql(`UPDATE customers SET archived = true WHERE id = :'p1'`, archived.id);
  const before = Number(sql(`SELECT count(*) FROM customers WHERE owner_id = :'p1'`, P.sales2.id)[0][0]);
  const m = await as('manager');
  const form = await m.get('/customers/transfer');
  assert.equal(form.status, 200);
  const preview = await m.get(`/customers/transfer?from_id=${P.sales2.id}&to_id=${P.manager.id}&reason=${encodeURIComponent('离职')}`);
  assert.equal(preview.status, 200);
  assert.ok(preview.text.includes(`name="expected" value="${before}"`));
  const stale = await post(m, '/customers/transfer', { from_id: P.sales2.id, to_id: P.manager.id, reason: '离职', expected: before - 1 });
  assert.equal(stale.status, 409);
  assert.equal(Number(sql(`SELECT count(*) FROM customers WHERE owner_id = :'p1'`, P.sales2.id)[0][0]), before);
  const res = await post(m, '/customers/transfer', { from_id: P.sales2.id, to_id: P.manager.id, reason: '离职', expected: before });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), `/customers?owner=${P.manager.id}`);
  assert.equal(Number(sql(`SELECT count(*) FROM customers WHERE owner_id = :'p1'`, P.sales2.id)[0][0]), 0);
  for (const c of [...leaver, archived]) {
    assert.equal(ownerOf(c.id).owner, P.manager.id);
    const rows = audits(c.id, 'transfer');
    const last = rows[rows.length - 1];
    assert.deepEqual([last.old, last.new, last.reason], [P.sales2.name, P.manager.name, '离职']);
  }
  assert.equal(ownerOf(other.id).owner, P.sales.id);
  // Out of scope: the outsider's customers cannot be moved by this manager.
  const out = await m.get(`/customers/transfer?from_id=${P.outsider.id}&to_id=${P.sales.id}`);
  assert.equal(out.status, 422);
  const outPost = await post(m, '/customers/transfer', { from_id: P.outsider.id, to_id: P.sales.id, expected: 0 });
  assert.equal(outPost.status, 422);
  assert.equal((await (await as('sales')).get('/customers/transfer')).status, 403);
});

// ---- release and claim -------------------------------------------------------------------------

test('release: gone from the owner’s list, in the pool without contact details, shares ended', async () => {
  const a = customer('放入公海', 'sales');
  const s = await as('sales');
  await post(s, '/customers/batch/share/apply', { id: [a.id], user_id: [P.colleague.id], mode: 'read' });
  const res = await post(s, `/customers/${a.id}/release`, { reason: '无意向' });
  assert.equal(res.status, 303);
  assert.deepEqual(ownerOf(a.id), { owner: null, pool: true });
  assert.equal(shareOf(a.id, 'colleague'), null);
  const list = await s.get(`/customers?q=${encodeURIComponent(a.name)}`);
  assert.equal(list.status, 200);
  assert.ok(!list.text.includes(`href="/customers/${a.id}"`), 'not in the list any more');
  const pool = await s.get(`/customers/pool?q=${encodeURIComponent(a.name)}`);
  assert.equal(pool.status, 200);
  assert.ok(pool.text.includes(`name="id" value="${a.id}"`), 'in the pool');
  assert.ok(pool.text.includes(P.sales.name), 'previous owner shown');
  for (const secret of [a.phone, a.contactName, a.mobile]) assert.ok(!pool.text.includes(secret), `pool shows ${secret}`);
  const card = await s.get(`/customers/${a.id}`);
  assert.equal(card.status, 200);
  for (const secret of [a.phone, a.contactName, a.mobile]) assert.ok(!card.text.includes(secret), `card shows ${secret}`);
  const [row] = audits(a.id, 'release');
  assert.deepEqual([row.by, row.old, row.new, row.reason, row.sharesOld, row.sharesNew],
    [P.sales.username, P.sales.name, '', '无意向', P.colleague.name, '']);
});

test('the pool search looks at names and codes, never at phones or contacts', async () => {
  const a = customer('搜索池', null);
  const s = await as('sales');
  const row = `name="id" value="${a.id}"`;
  const byName = await s.get(`/customers/pool?q=${encodeURIComponent('搜索池')}`);
  assert.ok(byName.text.includes(row));
  const byCode = await s.get(`/customers/pool?q=${encodeURIComponent(a.code.toLowerCase())}`);
  assert.ok(byCode.text.includes(row));
  for (const q of [a.contactName, a.mobile, a.phone]) {
    const r = await s.get(`/customers/pool?q=${encodeURIComponent(q)}`);
    assert.equal(r.status, 200);
    assert.ok(!r.text.includes(row), `found by ${q}`);
  }
  const short = await s.get('/customers/pool?q=%E6%9D%83');
  assert.match(short.text, /at least two characters/);
});

test('batch release: page, then apply; other people’s customers are not found', async () => {
  const a = customer('批放甲', 'sales');
  const theirs = customer('批放外', 'outsider');
  const s = await as('sales');
  const page = await post(s, '/customers/batch/release', { id: [a.id, theirs.id] });
  assert.equal(page.status, 200);
  assert.ok(page.text.includes(a.name) && !page.text.includes(theirs.name));
  const res = await post(s, '/customers/batch/release/apply', { id: [a.id, theirs.id] });
  assert.match((await flashAfter(s, res)).text, /1 customers released.*1 not found/);
  assert.equal(ownerOf(a.id).owner, null);
  assert.equal(ownerOf(theirs.id).owner, P.outsider.id);
  assert.equal((await post(s, `/customers/${theirs.id}/release`)).status, 404);
  assert.equal(ownerOf(theirs.id).owner, P.outsider.id);
});

test('claim: the customer becomes the caller’s, with an audit row', async () => {
  const a = customer('领取', null);
  const c = await as('claimer');
  const pool = await c.get('/customers/pool');
  assert.match(pool.text, /You can claim \d+ more customers/);
  const res = await post(c, `/customers/${a.id}/claim`);
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), `/customers/${a.id}`);
  assert.deepEqual(ownerOf(a.id), { owner: P.claimer.id, pool: false });
  const page = await c.get(`/customers/${a.id}`);
  assert.equal(page.status, 200);
  assert.ok(page.text.includes(a.contactName), 'contact details once claimed');
  const [row] = audits(a.id, 'claim');
  assert.deepEqual([row.by, row.old, row.new], [P.claimer.username, '', P.claimer.name]);
  // Not in the pool any more, not visible to others: 404 for them (after the hour, too).
  const other = customer('别人的', 'outsider');
  assert.equal((await post(c, `/customers/${other.id}/claim`)).status, 404);
  assert.equal((await post(c, '/customers/batch/claim', { id: [other.id] })).status, 404);
});

test('the claim limit refuses a claim beyond it', async () => {
  sql(`UPDATE users SET pool_claim_limit = 2 WHERE id = :'p1'`, P.claimer2.id);
  const [a, b, c3, d] = ['限一', '限二', '限三', '限四'].map((x) => customer(x, null));
  const c = await as('claimer2');
  // A batch beyond what is left is refused as a whole.
  const tooMany = await post(c, '/customers/batch/claim', { id: [a.id, b.id, c3.id] });
  assert.match((await flashAfter(c, tooMany)).text, /only 2 more/);
  for (const x of [a, b, c3]) assert.equal(ownerOf(x.id).owner, null);
  const two = await post(c, '/customers/batch/claim', { id: [a.id, b.id] });
  assert.match((await flashAfter(c, two)).text, /2 customers claimed/);
  assert.match((await c.get('/customers/pool')).text, /You can claim 0 more customers/);
  const third = await post(c, `/customers/${c3.id}/claim`);
  assert.equal(third.status, 303);
  assert.equal(third.headers.get('location'), '/customers/pool');
  assert.match((await flashAfter(c, third)).text, /reached your limit of 2/);
  assert.deepEqual(ownerOf(c3.id), { owner: null, pool: true });
  assert.equal(audits(c3.id, 'claim').length, 0);
  // Releasing one frees its place.
  await post(c, `/customers/${a.id}/release`);
  assert.equal((await post(c, `/customers/${d.id}/claim`)).headers.get('location'), `/customers/${d.id}`);
});

test('two people claiming the same customer at once: exactly one wins', async () => {
  for (let round = 0; round < 3; round++) {
    const a = customer(`抢${round}`, null);
    const [c1, c2] = [await as('claimer'), await as('outsider')];
    const tokens = await Promise.all([c1, c2].map(async (c) => Client.csrfOf((await c.get('/customers/pool')).text)));
    const results = await Promise.all([c1, c2].map((c, i) => c.request('POST', `/customers/${a.id}/claim`, {
      body: new URLSearchParams({ _csrf: tokens[i] }).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    })));
    const won = results.map((r) => r.headers.get('location') === `/customers/${a.id}`);
    assert.deepEqual(results.map((r) => r.status), [303, 303]);
    assert.equal(won.filter(Boolean).length, 1, `round ${round}: ${results.map((r) => r.headers.get('location'))}`);
    const winner = won[0] ? 'claimer' : 'outsider';
    const loser = won[0] ? c2 : c1;
    assert.equal(ownerOf(a.id).owner, P[winner].id);
    assert.match((await flashAfter(loser, results[won[0] ? 1 : 0])).text, /Someone else took this customer/);
    assert.equal(audits(a.id, 'claim').length, 1);
  }
});

test('a read-only role sees the pool and may claim, but shares and releases nothing', async () => {
  const a = customer('只看', null);
  const r = await as('reader');
  assert.equal((await r.get('/customers/pool')).status, 200);
  assert.equal((await post(r, '/customers/batch/share', { id: [a.id] })).status, 403);
  assert.equal((await post(r, `/customers/${a.id}/release`)).status, 403);
  const res = await post(r, `/customers/${a.id}/claim`);
  assert.equal(res.headers.get('location'), `/customers/${a.id}`);
  assert.equal(ownerOf(a.id).owner, P.reader.id);
});

test('pages render in Chinese too', async () => {
  const a = customer('中文', 'sales');
  const c = new Client({ lang: 'zh-CN' });
  await c.login(P.manager.username, P.manager.password);
  const pool = await c.get('/customers/pool');
  assert.match(pool.text, /公海/);
  assert.doesNotMatch(pool.text, /\[\[/);
  const page = await post(c, '/customers/batch/share', { id: [a.id] });
  assert.equal(page.status, 200);
  assert.match(page.text, /共享客户/);
  const t = await c.get('/customers/transfer');
  assert.match(t.text, /转移某人的全部客户/);
});
