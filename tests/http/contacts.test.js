// contacts.test.js — contacts of customers: add/edit/delete round trips with their audit rows, one
// primary contact per customer, validation that keeps the input, optimistic locking, the global
// contact list (search, filters, export), and the parent customer's visibility on every route.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BASE, Client, makeUser, sql } from '../lib/client.js';

const tag = Date.now().toString(36);
const N = String(10000000 + Math.floor(Math.random() * 89999999)); // this run's numbers
const P = {};
const ALL = ['view', 'create', 'edit', 'delete', 'export'];

before(() => {
  sql(`INSERT INTO roles (code, name, data_scope) VALUES (:'p1', :'p1', 'own')`, `ct_own_${tag}`);
  const role = sql(`SELECT id FROM roles WHERE code = :'p1'`, `ct_own_${tag}`)[0][0];
  for (const m of ['customers', 'contacts']) {
    for (const a of ALL) sql(`INSERT INTO role_permissions (role_id, module, action) VALUES (:'p1', :'p2', :'p3')`, role, m, a);
  }
  for (const n of ['sales', 'other', 'reader']) {
    P[n] = makeUser(`ct${n}`, ['--display', `${n}${tag}`]);
    P[n].id = Number(sql(`SELECT id FROM users WHERE username = :'p1'`, P[n].username)[0][0]);
    sql(`INSERT INTO user_roles (user_id, role_id) VALUES (:'p1', :'p2')`, P[n].id, role);
  }
});

const clients = {};
async function as(n) {
  if (!clients[n]) {
    clients[n] = new Client({ lang: 'en' });
    await clients[n].login(P[n].username, P[n].password);
  }
  return clients[n];
}

async function customer(n, name, extra = {}) {
  const res = await (await as(n)).post('/customers/new',
    { name, status: 'active', confirm_similar: '1', ...extra }, { from: '/customers/new' });
  assert.equal(res.status, 303, res.text.slice(0, 1500));
  return Number(res.headers.get('location').split('/').pop());
}

async function addContact(n, cid, fields) {
  return (await as(n)).post(`/customers/${cid}/contacts`, fields, { from: `/customers/${cid}` });
}

const contactsOf = (cid) => sql(`SELECT id, name, mobile, is_primary FROM contacts WHERE customer_id = :'p1' ORDER BY id`, cid);

function lastAudit(id, action) {
  const r = sql(`SELECT module, changes::text FROM audit_log WHERE object_type = 'contact' AND object_id = :'p1'
                 AND action = :'p2' ORDER BY id DESC LIMIT 1`, id, action);
  return r.length ? { module: r[0][0], changes: r[0][1] ? JSON.parse(r[0][1]) : null } : null;
}

function hidden(html, formAction) {
  const start = html.indexOf(`action="${formAction}"`);
  const part = html.slice(start, html.indexOf('</form>', start));
  const out = {};
  for (const m of part.matchAll(/<input type="hidden" name="(_[a-z_]+)" value="([^"]*)">/g)) {
    out[m[1]] = m[2].replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>');
  }
  return out;
}

test('adding a contact stores it, makes the first one primary, and writes an audit row', async () => {
  const cid = await customer('sales', `联系人${tag}甲有限公司`);
  const res = await addContact('sales', cid, {
    name: '陈静', title: '采购经理', mobile: '１３９ ００００ ' + N.slice(0, 4), phone: `0571-${N}转801`,
    email: 'chen@example.cn', wechat: 'chenjing', birthday: '1988-05-20', remarks: '喜欢喝茶',
  });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), `/customers/${cid}#contacts`);
  const [row] = contactsOf(cid);
  assert.deepEqual(row.slice(1), ['陈静', `1390000${N.slice(0, 4)}`, 't']);
  const a = lastAudit(row[0], 'create');
  assert.equal(a.module, 'contacts');
  assert.equal(a.changes.name.new, '陈静');
  assert.equal(a.changes.customer_id.new, String(cid));
  assert.equal(a.changes.phone.new, `0571-${N}转801`);
  const page = await (await as('sales')).get(`/customers/${cid}`);
  assert.match(page.text, /陈静/);
  assert.match(page.text, /喜欢喝茶/);
});

test('a new primary contact takes the flag from the old one in the same operation', async () => {
  const cid = await customer('sales', `联系人${tag}乙有限公司`, { contact_name: '老王' });
  assert.equal((await addContact('sales', cid, { name: '小李' })).status, 303);
  assert.deepEqual(contactsOf(cid).map((r) => r[3]), ['t', 'f']);
  assert.equal((await addContact('sales', cid, { name: '小张', is_primary: '1' })).status, 303);
  assert.deepEqual(contactsOf(cid).map((r) => [r[1], r[3]]), [['老王', 'f'], ['小李', 'f'], ['小张', 't']]);
});

test('invalid contact input answers 422 on the customer page with the add form as typed', async () => {
  const cid = await customer('sales', `联系人${tag}丙有限公司`);
  const res = await addContact('sales', cid, {
    name: '赵错', mobile: '12345', phone: 'abc', email: 'not-an-email', birthday: '2999-01-01',
  });
  assert.equal(res.status, 422);
  assert.match(res.text, /value="赵错"/);
  assert.match(res.text, /value="12345"/);
  assert.match(res.text, /Enter an 11-digit mobile number/);
  assert.match(res.text, /Enter a phone number such as/);
  assert.match(res.text, /Enter a valid e-mail address/);
  assert.match(res.text, /A birthday cannot be in the future/);
  assert.match(res.text, /<details class="add-contact" open>/);
  assert.equal(contactsOf(cid).length, 0);
  const empty = await addContact('sales', cid, { name: '' });
  assert.equal(empty.status, 422);
  assert.match(empty.text, /This field is required/);
});

test('editing a contact records the changed fields; a stale form answers 409 with the input kept', async () => {
  const cid = await customer('sales', `联系人${tag}丁有限公司`, { contact_name: '钱编' });
  const [[id]] = contactsOf(cid);
  const c = await as('sales');
  const form = await c.get(`/contacts/${id}/edit`);
  assert.equal(form.status, 200);
  const h = hidden(form.text, `/contacts/${id}/edit`);
  const base = { ...h, name: '钱编', is_primary: '1' };
  const ok = await c.post(`/contacts/${id}/edit`, { ...base, title: '总经理' }, { from: `/contacts/${id}/edit` });
  assert.equal(ok.status, 303);
  assert.equal(ok.headers.get('location'), `/customers/${cid}#contacts`);
  const a = lastAudit(id, 'update');
  assert.deepEqual(a.changes, { title: { old: '', new: '总经理' } });
  const stale = await c.post(`/contacts/${id}/edit`, { ...base, title: '副总' }, { from: `/contacts/${id}/edit` });
  assert.equal(stale.status, 409);
  assert.match(stale.text, /Someone else saved this record/);
  assert.match(stale.text, /value="副总"/);
  assert.equal(sql(`SELECT title FROM contacts WHERE id = :'p1'`, id)[0][0], '总经理');
  // The inline edit row of the customer page posts the same fields.
  const page = await c.get(`/customers/${cid}`);
  const inline = hidden(page.text, `/contacts/${id}/edit`);
  assert.equal(inline._version, '2');
  assert.equal(inline._o_title, '总经理');
});

test('deleting a contact removes it; the customer history still shows it', async () => {
  const cid = await customer('sales', `联系人${tag}戊有限公司`, { contact_name: '孙删除' });
  const [[id]] = contactsOf(cid);
  const c = await as('sales');
  const res = await c.post(`/contacts/${id}/delete`, {}, { from: `/customers/${cid}` });
  assert.equal(res.status, 303);
  assert.equal(contactsOf(cid).length, 0);
  const a = lastAudit(id, 'delete');
  assert.equal(a.module, 'contacts');
  assert.equal(a.changes.name.old, '孙删除');
  const page = (await c.get(`/customers/${cid}`)).text;
  const hist = page.slice(page.indexOf('id="history"'));
  assert.match(hist, /Deleted<span class="sub">Contact 孙删除/);
});

test('every contact route checks the parent customer: 404 outside the scope, 403 for a read share', async () => {
  const cid = await customer('sales', `联系人${tag}己有限公司`, { contact_name: '吴秘' });
  const [[id]] = contactsOf(cid);
  const o = await as('other');
  assert.equal((await o.get(`/contacts/${id}/edit`)).status, 404);
  for (const url of [`/customers/${cid}/contacts`, `/contacts/${id}/edit`, `/contacts/${id}/delete`]) {
    assert.equal((await o.post(url, { name: 'x', _version: '1' }, { from: '/contacts' })).status, 404, url);
  }
  sql(`INSERT INTO customer_shares (customer_id, user_id, can_write) VALUES (:'p1', :'p2', false)`, cid, P.reader.id);
  const r = await as('reader');
  assert.equal((await r.get(`/contacts/${id}/edit`)).status, 403);
  assert.equal((await r.post(`/contacts/${id}/delete`, {}, { from: '/contacts' })).status, 403);
  assert.equal((await r.post(`/customers/${cid}/contacts`, { name: '不行' }, { from: '/contacts' })).status, 403);
  assert.match((await r.get(`/contacts?q=${encodeURIComponent('吴秘')}`)).text, /<strong>吴秘<\/strong>/);
  assert.deepEqual(contactsOf(cid).map((x) => x[1]), ['吴秘']);
});

test('the contact list searches names, numbers, e-mail and customer names within the visible customers', async () => {
  const cid = await customer('sales', `欧阳${tag}列表有限公司`);
  const M = String(10000000 + Math.floor(Math.random() * 89999999));
  await addContact('sales', cid, { name: '诸葛亮', mobile: `137${M}`, email: `kongming${tag}@shu.cn` });
  await addContact('sales', cid, { name: '上官婉儿', phone: `021-${M}` });
  const c = await as('sales');
  const names = async (q) => [...(await c.get(`/contacts?q=${encodeURIComponent(q)}`)).text
    .matchAll(/<td class="nowrap"><strong>([^<]+)<\/strong>/g)].map((m) => m[1]).sort();
  assert.deepEqual(await names('诸葛'), ['诸葛亮']);
  assert.deepEqual(await names(M.slice(1, 7)), ['上官婉儿', '诸葛亮']);
  assert.deepEqual(await names(`kongming${tag}`), ['诸葛亮']);
  assert.deepEqual(await names(`欧阳${tag}`), ['上官婉儿', '诸葛亮']);
  assert.match((await c.get('/contacts?q=' + encodeURIComponent('诸'))).text, /Type at least 2 characters/);
  // Someone else sees none of them, whatever they type.
  const o = await as('other');
  assert.match((await o.get(`/contacts?q=${encodeURIComponent(`欧阳${tag}`)}`)).text, /No contacts match/);
});

test('contact filters (primary only, birthday month) and sorting stay in the URL', async () => {
  const cid = await customer('sales', `生日${tag}有限公司`, { contact_name: '甲生日' });
  await addContact('sales', cid, { name: '乙生日', birthday: '1990-03-15' });
  const c = await as('sales');
  const q = encodeURIComponent(`生日${tag}`);
  const primary = (await c.get(`/contacts?q=${q}&primary=1`)).text;
  assert.match(primary, /甲生日/);
  assert.doesNotMatch(primary, /<strong>乙生日/);
  const march = (await c.get(`/contacts?q=${q}&month=3&sort=name&dir=asc`)).text;
  assert.match(march, /<strong>乙生日/);
  assert.doesNotMatch(march, /<strong>甲生日/);
  assert.match(march, /<option value="3" selected>/);
  assert.match(march, /href="\/contacts\?q=[^"]*&amp;month=3&amp;sort=name&amp;dir=desc"/);
});

test('the contact export holds exactly the filtered contacts, with an audit row', async () => {
  const cid = await customer('sales', `导出${tag}联系有限公司`);
  await addContact('sales', cid, { name: '=SUM(A1)', mobile: `136${N}` });
  await addContact('sales', cid, { name: '韩导出', birthday: '1985-12-01' });
  const c = await as('sales');
  const res = await fetch(`${BASE}/contacts/export?q=${encodeURIComponent(`导出${tag}`)}`, {
    headers: { cookie: c.cookieHeader() },
  });
  assert.equal(res.status, 200);
  const dir = mkdtempSync(path.join(tmpdir(), 'kx-ct-'));
  writeFileSync(path.join(dir, 'c.xlsx'), Buffer.from(await res.arrayBuffer()));
  const xml = execFileSync('unzip', ['-p', path.join(dir, 'c.xlsx'), 'xl/worksheets/sheet1.xml'], { encoding: 'utf8' });
  assert.equal((xml.match(/<row /g) || []).length, 3);
  assert.match(xml, /'=SUM\(A1\)/);
  const [[label]] = sql(`SELECT object_label FROM audit_log WHERE module = 'contacts' AND action = 'export' ORDER BY id DESC LIMIT 1`);
  assert.match(label, /^contacts-\d{8}\.xlsx \(2\)$/);
});

test('mobile and phone numbers are normalised as Chinese users type them', async () => {
  const cid = await customer('sales', `号码${tag}有限公司`);
  const mobile = await addContact('sales', cid, { name: '一', mobile: `+86 135-0000-${N.slice(0, 4)}` });
  assert.equal(mobile.status, 303);
  assert.equal(contactsOf(cid)[0][2], `1350000${N.slice(0, 4)}`);
  for (const phone of ['400-800-1234', '(0571) 8888 6666', '0571-88886666 ext. 12', '+852 2345 6789', '010-12345678-8']) {
    const res = await addContact('sales', cid, { name: `电${phone.length}`, phone });
    assert.equal(res.status, 303, phone);
  }
  for (const phone of ['123', '0571-888', '+86 12', 'tel:0571']) {
    const res = await addContact('sales', cid, { name: '坏', phone });
    assert.equal(res.status, 422, phone);
  }
});
