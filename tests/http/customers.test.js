// customers.test.js — customers (M13): create/edit/archive/delete with their audit rows, duplicate
// control, 2-character search, filters, saved searches, export, optimistic locking, and the
// visibility rule on every route, in a three-level organisation:
//   director (own + subordinates) > manager (own + subordinates) > sales, sales2 (own)
//   other (own, elsewhere: sees none of theirs)
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BASE, Client, makeUser, sql } from '../lib/client.js';

const tag = Date.now().toString(36);
// Phone numbers of this run (near-duplicate checks compare them across all customers).
const N = String(10000000 + Math.floor(Math.random() * 89999999));
const P = {}; // name -> { username, password, id, display }
const ALL = ['view', 'create', 'edit', 'delete', 'export'];

function idOf(username) {
  return Number(sql(`SELECT id FROM users WHERE username = :'p1'`, username)[0][0]);
}

function role(code, scope, perms) {
  sql(`INSERT INTO roles (code, name, data_scope) VALUES (:'p1', :'p1', :'p2')`, code, scope);
  const id = sql(`SELECT id FROM roles WHERE code = :'p1'`, code)[0][0];
  for (const [module, actions] of Object.entries(perms)) {
    for (const a of actions) {
      sql(`INSERT INTO role_permissions (role_id, module, action) VALUES (:'p1', :'p2', :'p3')`, id, module, a);
    }
  }
  return id;
}

before(() => {
  const own = role(`cs_own_${tag}`, 'own', { customers: ALL, contacts: ALL });
  const subs = role(`cs_subs_${tag}`, 'subordinates', { customers: ALL, contacts: ALL });
  const names = { director: '周总', manager: '王经理', sales: '李销售', sales2: '赵销售', other: '钱外人' };
  for (const [n, display] of Object.entries(names)) {
    P[n] = makeUser(`cs${n}`, ['--display', `${display}${tag}`]);
    P[n].id = idOf(P[n].username);
    P[n].display = `${display}${tag}`;
  }
  const setMgr = (n, m) => sql(`UPDATE users SET manager_id = :'p1' WHERE id = :'p2'`, P[m].id, P[n].id);
  setMgr('manager', 'director');
  setMgr('sales', 'manager');
  setMgr('sales2', 'manager');
  const grant = (n, r) => sql(`INSERT INTO user_roles (user_id, role_id) VALUES (:'p1', :'p2')`, P[n].id, r);
  grant('director', subs);
  grant('manager', subs);
  grant('sales', own);
  grant('sales2', own);
  grant('other', own);
});

const clients = {};
async function as(n) {
  if (!clients[n]) {
    const c = new Client({ lang: 'en' });
    await c.login(P[n].username, P[n].password);
    clients[n] = c;
  }
  return clients[n];
}

// Creates a customer through the form (near-duplicate warnings confirmed) and returns its id.
async function create(n, fields) {
  const c = await as(n);
  const res = await c.post('/customers/new', { status: 'potential', confirm_similar: '1', ...fields },
    { from: '/customers/new' });
  assert.equal(res.status, 303, `create ${fields.name}: ${res.status} ${res.text.slice(0, 2000)}`);
  const m = res.headers.get('location').match(/^\/customers\/(\d+)$/);
  assert.ok(m, res.headers.get('location'));
  return Number(m[1]);
}

// The hidden fields of the edit form (version and originals) plus its current values.
function formFields(html) {
  const out = {};
  for (const m of html.matchAll(/<input type="hidden" name="(_[a-z_]+)" value="([^"]*)">/g)) out[m[1]] = decode(m[2]);
  return out;
}
const decode = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<')
  .replace(/&gt;/g, '>').replace(/&amp;/g, '&');

function lastAudit(objectType, id, action) {
  const r = sql(`SELECT module, action, changes::text FROM audit_log WHERE object_type = :'p1'
                 AND object_id = :'p2' AND action = :'p3' ORDER BY id DESC LIMIT 1`, objectType, id, action);
  return r.length ? { module: r[0][0], action: r[0][1], changes: r[0][2] ? JSON.parse(r[0][2]) : null } : null;
}

function sheetRows(buf) {
  const dir = mkdtempSync(path.join(tmpdir(), 'kx-xlsx-'));
  const file = path.join(dir, 'x.xlsx');
  writeFileSync(file, buf);
  const xml = execFileSync('unzip', ['-p', file, 'xl/worksheets/sheet1.xml'], { encoding: 'utf8' });
  // How the sheet was deflated (zipinfo reads the level from the entry's flags).
  const deflate = execFileSync('zipinfo', ['-v', file, 'xl/worksheets/sheet1.xml'], { encoding: 'utf8' })
    .match(/compression sub-type \(deflation\):\s*(\S+)/)?.[1];
  return { xml, rows: (xml.match(/<row /g) || []).length, deflate };
}

async function download(c, url) {
  const res = await fetch(BASE + url, { headers: { cookie: c.cookieHeader(), 'accept-language': 'en' } });
  return { status: res.status, type: res.headers.get('content-type'), buf: Buffer.from(await res.arrayBuffer()) };
}

// --- create, edit, archive, delete -------------------------------------------------------------

test('creating a customer stores it with a number, its first contact and audit rows', async () => {
  const id = await create('sales', {
    name: `杭州华通${tag}智能装备有限公司`, short_name: '华通', city_id: '330100', phone: '0571-８８８８６６６６',
    credit_limit: '50,000.5', tax_id: `91330100ma${tag}`.slice(0, 18).toUpperCase().padEnd(18, '0'),
    contact_name: '张伟', contact_title: '采购经理', contact_mobile: '+86 138-0013-8000',
  });
  const [row] = sql(`SELECT code, name_key, owner_id, province_id, credit_limit, phone, phone_key, created_by
                       FROM customers WHERE id = :'p1'`, id);
  assert.match(row[0], /^KH\d{6}$/);
  assert.equal(row[1], `杭州华通${tag}智能装备`);
  assert.equal(Number(row[2]), P.sales.id);
  assert.equal(row[3], '330000', 'a city alone fills in its province');
  assert.equal(row[4], '50000.50');
  assert.equal(row[5], '0571-88886666', 'full-width digits become ASCII');
  assert.equal(row[6], '057188886666');
  const [ct] = sql(`SELECT name, mobile, is_primary FROM contacts WHERE customer_id = :'p1'`, id);
  assert.deepEqual(ct, ['张伟', '13800138000', 't']);
  const a = lastAudit('customer', id, 'create');
  assert.equal(a.module, 'customers');
  assert.equal(a.changes.name.new, `杭州华通${tag}智能装备有限公司`);
  assert.equal(a.changes.city.new, '杭州市');
  assert.equal(a.changes.credit_limit.new, '50000.50');
  assert.equal(lastAudit('contact', Number(sql(`SELECT id FROM contacts WHERE customer_id = :'p1'`, id)[0][0]), 'create').module, 'contacts');
  const page = await (await as('sales')).get(`/customers/${id}`);
  assert.equal(page.status, 200);
  assert.match(page.text, /50,000\.50/);
  assert.match(page.text, /张伟/);
});

test('editing saves the changed fields and records them old → new', async () => {
  const id = await create('sales', { name: `苏州${tag}精密机械有限公司`, status: 'potential' });
  const c = await as('sales');
  const form = await c.get(`/customers/${id}/edit`);
  assert.equal(form.status, 200);
  const hidden = formFields(form.text);
  const res = await c.post(`/customers/${id}/edit`, {
    ...hidden, name: `苏州${tag}精密机械有限公司`, status: 'active', payment_terms: '月结30天',
    owner_id: String(P.sales.id), credit_limit: '0',
  }, { from: `/customers/${id}/edit` });
  assert.equal(res.status, 303, res.text.slice(0, 1500));
  const [row] = sql(`SELECT status, payment_terms, version FROM customers WHERE id = :'p1'`, id);
  assert.deepEqual(row, ['active', '月结30天', '2']);
  const a = lastAudit('customer', id, 'update');
  assert.equal(a.module, 'customers');
  assert.deepEqual(a.changes.status, { old: 'potential', new: 'active' });
  assert.deepEqual(a.changes.payment_terms, { old: '', new: '月结30天' });
  assert.equal(a.changes.name, undefined, 'unchanged fields are not recorded');
  const history = await c.get(`/customers/${id}`);
  assert.match(history.text, /Payment terms/);
  assert.match(history.text, /月结30天/);
});

test('a failed validation answers 422 with the input kept and a message per field', async () => {
  const c = await as('sales');
  const res = await c.post('/customers/new', {
    name: '', short_name: `留着${tag}`, phone: 'call me', credit_limit: '-5', tax_id: 'ABC',
    website: 'javascript:alert(1)', status: 'active', city_id: '320500', province_id: '330000',
  }, { from: '/customers/new' });
  assert.equal(res.status, 422);
  assert.match(res.text, new RegExp(`value="留着${tag}"`));
  assert.match(res.text, /value="call me"/);
  assert.match(res.text, /This field is required\./);
  assert.match(res.text, /Enter a phone number such as/);
  assert.match(res.text, /Enter an amount of 0 or more/);
  assert.match(res.text, /A tax ID has 15 to 20 letters and digits/);
  assert.match(res.text, /Enter a web address/);
  assert.match(res.text, /This city is not in the chosen province\./);
});

test('archive hides a customer from the default list; unarchive brings it back; both audited', async () => {
  const name = `归档${tag}测试贸易有限公司`;
  const id = await create('sales', { name });
  const c = await as('sales');
  assert.equal((await c.post(`/customers/${id}/archive`, {}, { from: `/customers/${id}` })).status, 303);
  assert.equal(sql(`SELECT archived FROM customers WHERE id = :'p1'`, id)[0][0], 't');
  assert.deepEqual(lastAudit('customer', id, 'archive').changes.archived, { old: 'false', new: 'true' });
  const q = encodeURIComponent(`归档${tag}`);
  assert.doesNotMatch((await c.get(`/customers?q=${q}`)).text, new RegExp(name));
  assert.match((await c.get(`/customers?q=${q}&archived=only`)).text, new RegExp(name));
  assert.equal((await c.post(`/customers/${id}/unarchive`, {}, { from: `/customers/${id}` })).status, 303);
  assert.equal(sql(`SELECT archived FROM customers WHERE id = :'p1'`, id)[0][0], 'f');
  assert.equal(lastAudit('customer', id, 'unarchive').module, 'customers');
  assert.match((await c.get(`/customers?q=${q}`)).text, new RegExp(name));
});

test('delete lists what goes with the customer, removes it, and records contacts and shares', async () => {
  const id = await create('sales', { name: `删除${tag}测试有限公司`, contact_name: '孙删' });
  sql(`INSERT INTO customer_shares (customer_id, user_id) VALUES (:'p1', :'p2')`, id, P.sales2.id);
  const c = await as('sales');
  const confirm = await c.get(`/customers/${id}/delete`);
  assert.equal(confirm.status, 200);
  assert.match(confirm.text, /孙删/);
  assert.match(confirm.text, new RegExp(P.sales2.display));
  const res = await c.post(`/customers/${id}/delete`, {}, { from: `/customers/${id}/delete` });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), '/customers');
  assert.equal(sql(`SELECT count(*) FROM customers WHERE id = :'p1'`, id)[0][0], '0');
  assert.equal(sql(`SELECT count(*) FROM contacts WHERE customer_id = :'p1'`, id)[0][0], '0');
  const a = lastAudit('customer', id, 'delete');
  assert.equal(a.module, 'customers');
  assert.equal(a.changes.name.old, `删除${tag}测试有限公司`);
  assert.equal(a.changes.contacts.old, '孙删');
  assert.equal(a.changes.shares.old, P.sales2.username);
});

test('a customer other records refer to is not deleted: the answer suggests archiving', async () => {
  const id = await create('sales', { name: `引用${tag}测试有限公司` });
  const table = `test_ref_${tag}`;
  sql(`CREATE TABLE ${table} (customer_id bigint REFERENCES customers (id)); INSERT INTO ${table} VALUES (:'p1')`, id);
  try {
    const c = await as('sales');
    const res = await c.post(`/customers/${id}/delete`, {}, { from: `/customers/${id}/delete` });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), `/customers/${id}`);
    assert.equal(sql(`SELECT count(*) FROM customers WHERE id = :'p1'`, id)[0][0], '1');
    const page = await c.get(`/customers/${id}`);
    assert.match(page.text, /cannot be deleted.*Archive it instead/);
  } finally {
    sql(`DROP TABLE ${table}`);
  }
});

test('a second save from a stale form answers 409 and keeps the input', async () => {
  const id = await create('sales', { name: `并发${tag}测试有限公司` });
  const c = await as('sales');
  const hidden = formFields((await c.get(`/customers/${id}/edit`)).text);
  const base = { ...hidden, name: `并发${tag}测试有限公司`, status: 'potential', owner_id: String(P.sales.id) };
  assert.equal((await c.post(`/customers/${id}/edit`, { ...base, address: '第一次' }, { from: `/customers/${id}` })).status, 303);
  const res = await c.post(`/customers/${id}/edit`, { ...base, address: '第二次' }, { from: `/customers/${id}` });
  assert.equal(res.status, 409);
  assert.match(res.text, /Someone else saved this record/);
  assert.match(res.text, /value="第二次"/);
  assert.match(res.text, /第一次/);
  assert.equal(sql(`SELECT address FROM customers WHERE id = :'p1'`, id)[0][0], '第一次');
});

test('a hand-typed code holding the next number is skipped; a taken code is refused', async () => {
  const [[last]] = sql(`SELECT coalesce(max(last_value), 0) FROM doc_counters WHERE doc_type = 'customer'`);
  const next = (n) => `KH${String(Number(last) + n).padStart(6, '0')}`;
  const typed = await create('sales', { name: `编号${tag}甲有限公司`, code: next(1).toLowerCase() });
  assert.equal(sql(`SELECT code FROM customers WHERE id = :'p1'`, typed)[0][0], next(1).toLowerCase());
  const auto = await create('sales', { name: `编号${tag}乙有限公司` });
  assert.equal(sql(`SELECT code FROM customers WHERE id = :'p1'`, auto)[0][0], next(2));
  const c = await as('sales');
  const res = await c.post('/customers/new', { name: `编号${tag}丙有限公司`, code: next(2), status: 'potential' },
    { from: '/customers/new' });
  assert.equal(res.status, 422);
  assert.match(res.text, /Another customer already has this code/);
});

// --- duplicate control --------------------------------------------------------------------------

test('a duplicate name (other legal form, bracketed city) is refused with a link to the existing customer', async () => {
  const id = await create('sales', { name: `杭州华通${tag}电气有限公司` });
  const c = await as('sales');
  const res = await c.post('/customers/new', { name: `华通${tag}电气（杭州）股份有限公司`, status: 'potential' },
    { from: '/customers/new' });
  assert.equal(res.status, 422);
  assert.match(res.text, new RegExp(`This customer already exists, owned by ${P.sales.display}`));
  assert.match(res.text, new RegExp(`href="/customers/${id}"`));
  const key = sql(`SELECT count(*) FROM customers WHERE name_key = :'p1'`, `杭州华通${tag}电气`)[0][0];
  assert.equal(key, '1');
});

test('a duplicate owned outside the scope names the owner and nothing more', async () => {
  const id = await create('sales', { name: `深圳${tag}隐秘电子有限公司`, phone: `0755-${N}` });
  const code = sql(`SELECT code FROM customers WHERE id = :'p1'`, id)[0][0];
  const o = await as('other');
  const res = await o.post('/customers/new', { name: `深圳${tag}隐秘电子股份有限公司`, status: 'potential' },
    { from: '/customers/new' });
  assert.equal(res.status, 422);
  assert.match(res.text, new RegExp(`owned by ${P.sales.display}`));
  assert.doesNotMatch(res.text, new RegExp(`/customers/${id}\\b`));
  assert.doesNotMatch(res.text, new RegExp(code));
  assert.doesNotMatch(res.text, new RegExp(N));
  // The JSON helper says the same: an owner, no id, name, code or link.
  const j = JSON.parse((await o.get(`/customers/check?name=${encodeURIComponent(`深圳${tag}隐秘电子`)}`)).text);
  assert.deepEqual(j.duplicate, { owner: P.sales.display, pool: false, visible: false });
});

test('near-duplicates (same phone, similar name) are warned about and saved only when confirmed', async () => {
  await create('sales', { name: `宁波${tag}海天精工机械有限公司`, phone: `0574-${N}` });
  const c = await as('sales');
  const fields = { name: `宁波${tag}甬江贸易有限公司`, phone: `0574 ${N.slice(0, 4)} ${N.slice(4)}`, status: 'potential' };
  const warn = await c.post('/customers/new', fields, { from: '/customers/new' });
  assert.equal(warn.status, 422);
  assert.match(warn.text, /Possible duplicates/);
  assert.match(warn.text, new RegExp(`宁波${tag}海天精工机械有限公司`));
  assert.match(warn.text, /same phone/);
  assert.match(warn.text, /name="confirm_similar"/);
  assert.equal(sql(`SELECT count(*) FROM customers WHERE name = :'p1'`, fields.name)[0][0], '0');
  const sim = await c.post('/customers/new', { name: `宁波${tag}海天精工机械设备有限公司`, status: 'potential' },
    { from: '/customers/new' });
  assert.equal(sim.status, 422);
  assert.match(sim.text, /similar name/);
  const ok = await c.post('/customers/new', { ...fields, confirm_similar: '1' }, { from: '/customers/new' });
  assert.equal(ok.status, 303);
  const j = JSON.parse((await c.get(`/customers/check?phone=${encodeURIComponent(`0574-${N}`)}`)).text);
  assert.equal(j.duplicate, null);
  assert.equal(j.similar.length, 2);
  assert.ok(j.similar.every((s) => s.reasons.includes('phone') && s.href && s.name));
});

// --- search, filters, sorting, saved searches ------------------------------------------------------

test('a 2-character query finds customers by name, by a contact name and by a phone fragment', async () => {
  const id = await create('sales', {
    name: `杭州华通${tag}物流有限公司`, phone: '0571-87654321', contact_name: '司马懿', contact_mobile: '13912345678',
  });
  const c = await as('sales');
  const find = async (q) => (await c.get(`/customers?q=${encodeURIComponent(q)}`)).text;
  assert.match(await find('华通'), new RegExp(`/customers/${id}"`));
  assert.match(await find('司马'), new RegExp(`/customers/${id}"`));
  assert.match(await find('7654321'), new RegExp(`/customers/${id}"`));
  assert.match(await find('1234567'), new RegExp(`/customers/${id}"`));
  assert.doesNotMatch(await find('华通不存在'), new RegExp(`/customers/${id}"`));
  const one = await find('华');
  assert.match(one, /Type at least 2 characters/);
});

test('filters and sorting stay in the URL: sort links, pager and the form keep them', async () => {
  await create('sales', { name: `华通${tag}活跃有限公司`, status: 'active' });
  const c = await as('sales');
  const res = await c.get('/customers?status=active&sort=name&dir=asc&q=' + encodeURIComponent('华通'));
  assert.equal(res.status, 200);
  assert.match(res.text, /<option value="active" selected>/);
  assert.match(res.text, /href="\/customers\?status=active&amp;q=%E5%8D%8E%E9%80%9A&amp;sort=code&amp;dir=asc"/);
  assert.match(res.text, /class="asc">Customer name/);
  assert.match(res.text, /<input type="hidden" name="sort" value="name">/);
  assert.match(res.text, /href="\/customers\/export\?status=active&amp;sort=name&amp;dir=asc&amp;q=/);
  const bad = await c.get('/customers?sort=password_hash&created_from=yesterday&owner=1%20OR%201=1');
  assert.equal(bad.status, 200);
  assert.match(bad.text, /has been ignored/);
});

test('the city filter offers the chosen province\'s cities only; others come as JSON', async () => {
  const c = await as('sales');
  const citySelect = (html) => html.match(/<select id="q-city"[^>]*>([\s\S]*?)<\/select>/)[1];
  // No province: no city but "All" (the 500 cities are not on every page).
  assert.equal((citySelect((await c.get('/customers')).text).match(/<option/g) || []).length, 1);
  const zj = citySelect((await c.get('/customers?province=330000')).text);
  assert.match(zj, /<option value="330100">Hangzhou<\/option>/);
  assert.doesNotMatch(zj, /value="320100"/, 'no city of another province');
  // A city alone: its province's cities, the city chosen.
  assert.match(citySelect((await c.get('/customers?city=330200')).text), /<option value="330200" selected>Ningbo/);
  const res = await c.get('/customers/cities?province=330000');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /application\/json/);
  const cities = JSON.parse(res.text);
  assert.deepEqual(cities[0], ['330100', 'Hangzhou']);
  assert.ok(cities.every(([id]) => id.startsWith('33')), 'Zhejiang\'s cities only');
  const zh = new Client({ lang: 'zh_CN' });
  await zh.login(P.sales.username, P.sales.password);
  assert.deepEqual(JSON.parse((await zh.get('/customers/cities?province=330000')).text)[0], ['330100', '杭州市']);
  assert.deepEqual(JSON.parse((await c.get('/customers/cities?province=999999')).text), []);
  assert.equal((await c.get('/customers/cities?province=abc')).status, 404);
  assert.equal((await c.get('/customers/cities')).status, 404);
  assert.equal((await new Client().get('/customers/cities?province=330000')).status, 303, 'signed-in people only');
});

test('the list shows exactly the filtered customers in the chosen order', async () => {
  const a = await create('sales', { name: `排序${tag}甲有限公司`, status: 'lost' });
  const b = await create('sales', { name: `排序${tag}乙有限公司`, status: 'lost' });
  await create('sales', { name: `排序${tag}丙有限公司`, status: 'active' });
  const c = await as('sales');
  const q = encodeURIComponent(`排序${tag}`);
  const html = (await c.get(`/customers?q=${q}&status=lost&sort=created&dir=asc`)).text;
  const ids = [...html.matchAll(/name="id" value="(\d+)"/g)].map((m) => Number(m[1]));
  assert.deepEqual(ids, [a, b]);
  const desc = (await c.get(`/customers?q=${q}&status=lost&sort=created&dir=desc`)).text;
  assert.deepEqual([...desc.matchAll(/name="id" value="(\d+)"/g)].map((m) => Number(m[1])), [b, a]);
});

test('a long list counts to a bound, pages on past it, and counts exactly on request', async () => {
  // 1,100 customers of one salesperson, made directly in the database (a fixture, not a feature).
  const bulk = makeUser('csbulk');
  bulk.id = idOf(bulk.username);
  sql(`INSERT INTO user_roles (user_id, role_id) SELECT :'p1', id FROM roles WHERE code = :'p2'`,
    bulk.id, `cs_own_${tag}`);
  sql(`INSERT INTO customers (name, name_key, code, owner_id, status, updated_at)
       SELECT '批量' || :'p2' || '客户' || i, 'bulk' || :'p2' || i, 'BULK-' || :'p2' || '-' || i, :'p1',
              'potential', now() - i * interval '1 minute'
         FROM generate_series(1, 1100) i`, bulk.id, tag);
  const c = new Client({ lang: 'en' });
  await c.login(bulk.username, bulk.password);
  const info = (html) => decode(/<span class="pager-info">([^<]*)/.exec(html)[1]).trim();
  const idsOf = (html) => [...html.matchAll(/name="id" value="(\d+)"/g)].map((m) => Number(m[1]));

  const first = await c.get('/customers');
  assert.equal(info(first.text), '1–50 of 1,000+');
  assert.match(first.text, /<a class="count-all" href="\/customers\?count=all" rel="nofollow">Count them all<\/a>/);
  assert.doesNotMatch(first.text, /href="\/customers\?page=20">20</, 'a bounded count knows no last page');
  assert.match(first.text, /<span class="page gap">…<\/span><a class="page" href="\/customers\?page=2">›<\/a>/);

  const exact = await c.get('/customers?count=all');
  assert.equal(info(exact.text), '1–50 of 1,100');
  assert.match(exact.text, /href="\/customers\?count=all&amp;page=22">22</);
  assert.doesNotMatch(exact.text, /class="count-all"/);

  // Page 21 lies past the first bound: the count reaches ten pages further and is exact again.
  const p21 = await c.get('/customers?page=21');
  assert.equal(info(p21.text), '1,001–1,050 of 1,100');
  const p22 = await c.get('/customers?page=22');
  assert.equal(info(p22.text), '1,051–1,100 of 1,100');
  const all = sql(`SELECT id FROM customers WHERE owner_id = :'p1' ORDER BY updated_at DESC, id DESC`, bulk.id)
    .map((r) => Number(r[0]));
  assert.deepEqual(idsOf(p21.text), all.slice(1000, 1050), 'page 21 holds rows 1,001–1,050 in order');
  assert.deepEqual(idsOf(p22.text), all.slice(1050, 1100));
  assert.deepEqual(idsOf(first.text), all.slice(0, 50));
});

test('a quick search by someone who sees everything lists live matches newest first, kept in step by every change', async () => {
  // This caller's search is answered from customer_search alone (migration 0013): its live flag
  // and change time must follow archiving, releasing to the pool, edits and contacts.
  const everyone = role(`cs_all_${tag}`, 'all', { customers: ALL, contacts: ALL });
  const boss = makeUser('csall');
  sql(`INSERT INTO user_roles (user_id, role_id) VALUES (:'p1', :'p2')`, idOf(boss.username), everyone);
  const c = new Client({ lang: 'en' });
  await c.login(boss.username, boss.password);
  const key = `远景${tag}`;
  const a = await create('sales', { name: `${key}甲有限公司` });
  const b = await create('sales', { name: `${key}乙有限公司` });
  const d = await create('sales2', { name: `其他${tag}丙有限公司`, contact_name: `${key}联系人` });
  const gone = await create('sales', { name: `${key}丁有限公司` });
  const pool = await create('sales', { name: `${key}戊有限公司` });
  const q = encodeURIComponent(key);
  const ids = async () => [...(await c.get(`/customers?q=${q}`)).text.matchAll(/name="id" value="(\d+)"/g)]
    .map((m) => Number(m[1]));
  const truth = () => sql(`SELECT c.id FROM customers c WHERE c.owner_id IS NOT NULL AND NOT c.archived
      AND (c.name LIKE :'p1' OR EXISTS (SELECT 1 FROM contacts k WHERE k.customer_id = c.id AND k.name LIKE :'p1'))
      ORDER BY c.updated_at DESC, c.id DESC`, `%${key}%`).map((r) => Number(r[0]));
  assert.deepEqual(await ids(), [pool, gone, d, b, a]);

  const s = await as('sales');
  assert.equal((await s.post(`/customers/${gone}/archive`, {}, { from: `/customers/${gone}` })).status, 303);
  // Released to the public pool (the pool's own pages are tested in rights.test.js).
  sql(`UPDATE customers SET owner_id = NULL, pool_since = now() WHERE id = :'p1'`, pool);
  // An edit moves a customer to the top.
  sql(`UPDATE customers SET remarks = 'x', updated_at = now() + interval '1 minute' WHERE id = :'p1'`, a);
  assert.deepEqual(await ids(), truth());
  assert.deepEqual(await ids(), [a, d, b]);
  // A contact renamed away takes its customer out of the results.
  sql(`UPDATE contacts SET name = '改名' || id WHERE customer_id = :'p1'`, d);
  assert.deepEqual(await ids(), [a, b]);
  // The same list through the general path (another sort) holds the same customers.
  const other = [...(await c.get(`/customers?q=${q}&sort=created&dir=desc`)).text.matchAll(/name="id" value="(\d+)"/g)]
    .map((m) => Number(m[1]));
  assert.deepEqual(other.sort(), [a, b].sort());
});

test('a common piece gives the same newest-first page whether its matches are walked or read', async () => {
  // page_rows reads every match first, or walks the order index testing each row's text when the
  // piece is common enough for the rows asked for (list_walk_cheaper, with pg_stats' frequencies).
  // The demo's 有限 is in most names: with the test database's thousand-odd customers the bounded
  // count's page (1,001 rows) reads the matches and the exact count's pages (50, 100 rows) walk;
  // with many more customers all walk. Either way the page must be the same.
  sql('ANALYZE customer_search');
  const everyone = role(`cs_walk_${tag}`, 'all', { customers: ALL, contacts: ALL });
  const boss = makeUser('cswalk');
  sql(`INSERT INTO user_roles (user_id, role_id) VALUES (:'p1', :'p2')`, idOf(boss.username), everyone);
  const c = new Client({ lang: 'en' });
  await c.login(boss.username, boss.password);
  const q = encodeURIComponent('有限');
  const ids = async (url) => [...(await c.get(url)).text.matchAll(/name="id" value="(\d+)"/g)].map((m) => Number(m[1]));
  const truth = sql(`SELECT customer_id FROM customer_search WHERE live AND text LIKE '%有限%'
                     ORDER BY updated_at DESC, customer_id DESC LIMIT 50`).map((r) => Number(r[0]));
  assert.equal(truth.length, 50, 'the demo has more than a page of them');
  assert.deepEqual(await ids(`/customers?q=${q}`), truth);
  assert.deepEqual(await ids(`/customers?q=${q}&count=all`), truth);
  assert.deepEqual(await ids(`/customers?q=${q}&count=all&page=2`),
    sql(`SELECT customer_id FROM customer_search WHERE live AND text LIKE '%有限%'
         ORDER BY updated_at DESC, customer_id DESC LIMIT 50 OFFSET 50`).map((r) => Number(r[0])));
  // Letters of two cases: the walk tests with ILIKE (every code starts with KH; typed lower case).
  const kh = sql(`SELECT customer_id FROM customer_search WHERE live AND text ILIKE '%kh%'
                  ORDER BY updated_at DESC, customer_id DESC LIMIT 50`).map((r) => Number(r[0]));
  assert.equal(kh.length, 50);
  assert.deepEqual(await ids('/customers?q=kh&count=all'), kh);
  assert.deepEqual(await ids('/customers?q=kh'), kh);
});

test('saved searches: save a cleaned query under a name, list it, delete it (only one\'s own)', async () => {
  const c = await as('sales');
  const res = await c.post('/customers/searches', { name: `华通活跃${tag}`, query: `q=华通&status=active&evil=<x>&page=3` },
    { from: '/customers?q=华通' });
  assert.equal(res.status, 303);
  assert.equal(res.headers.get('location'), `/customers?q=${encodeURIComponent('华通')}&status=active`);
  const [row] = sql(`SELECT id, query FROM saved_searches WHERE user_id = :'p1' AND name = :'p2'`, P.sales.id, `华通活跃${tag}`);
  assert.equal(row[1], `q=${encodeURIComponent('华通')}&status=active`);
  const list = await c.get('/customers');
  assert.match(list.text, new RegExp(`华通活跃${tag}`));
  const o = await as('other');
  assert.equal((await o.post(`/customers/searches/${row[0]}/delete`, {}, { from: '/customers' })).status, 404);
  assert.equal((await c.post(`/customers/searches/${row[0]}/delete`, {}, { from: '/customers' })).status, 303);
  assert.equal(sql(`SELECT count(*) FROM saved_searches WHERE id = :'p1'`, row[0])[0][0], '0');
});

// --- export ---------------------------------------------------------------------------------------

test('export gives an xlsx of exactly the filtered rows, formulas neutralised, and an audit row', async () => {
  await create('sales', { name: `=HYPERLINK("http://x")导出${tag}公司` });
  await create('sales', { name: `导出${tag}第二有限公司`, credit_limit: '1234.5', last_contact_on: '2026-01-02' });
  await create('sales', { name: `导入${tag}有限公司` });
  const c = await as('sales');
  const before = Number(sql(`SELECT count(*) FROM audit_log WHERE module = 'customers' AND action = 'export'`)[0][0]);
  const res = await download(c, `/customers/export?q=${encodeURIComponent(`导出${tag}`)}&sort=name&dir=asc`);
  assert.equal(res.status, 200);
  assert.match(res.type, /spreadsheetml/);
  const { xml, rows, deflate } = sheetRows(res.buf);
  assert.equal(rows, 1 + 2, 'header + the two matching customers');
  assert.equal(deflate, 'superfast', 'deflated at level 1 (cgi/docs/xlsx.c), not libxlsxwriter\'s default 6');
  assert.match(xml, /'=HYPERLINK/);
  assert.doesNotMatch(xml, /<f>/);
  assert.match(xml, /<v>1234.5<\/v>/, 'the credit limit is a number cell');
  assert.equal(Number(sql(`SELECT count(*) FROM audit_log WHERE module = 'customers' AND action = 'export'`)[0][0]), before + 1);
  const [label] = sql(`SELECT object_label FROM audit_log WHERE module = 'customers' AND action = 'export' ORDER BY id DESC LIMIT 1`)[0];
  assert.match(label, /\(2\)$/);
});

test('an export of every customer is one sound file: every CRC checks, one row per customer', async () => {
  // The demo's thousand customers make a sheet of more than a megabyte: several pieces deflated
  // by different threads (cgi/docs/xlsx.c) that must read back as one stream.
  const u = makeUser(`csx${tag}`, ['--admin']);
  const c = new Client({ lang: 'en' });
  await c.login(u.username, u.password);
  const res = await download(c, '/customers/export');
  assert.equal(res.status, 200);
  const expected = Number(sql(`SELECT count(*) FROM customers WHERE owner_id IS NOT NULL AND NOT archived`)[0][0]);
  const dir = mkdtempSync(path.join(tmpdir(), 'kx-xlsx-'));
  const file = path.join(dir, 'all.xlsx');
  writeFileSync(file, res.buf);
  assert.match(execFileSync('unzip', ['-t', file], { encoding: 'utf8' }), /No errors detected/);
  const size = Number(execFileSync('zipinfo', ['-v', file, 'xl/worksheets/sheet1.xml'], { encoding: 'utf8' })
    .match(/uncompressed size:\s*(\d+)/)[1]);
  assert.ok(expected >= 500 && size > 1024 * 1024, `${expected} customers, a sheet of ${size} bytes: more than two pieces`);
  const xml = execFileSync('unzip', ['-p', file, 'xl/worksheets/sheet1.xml'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal((xml.match(/<row /g) || []).length, 1 + expected, 'header + every visible customer');
  assert.match(xml, /<\/sheetData>/, 'the sheet is whole');
});

// --- visibility ---------------------------------------------------------------------------------

test('out-of-scope ids answer 404 on every route, and lists and the JSON helper leak nothing', async () => {
  const id = await create('sales', { name: `保密${tag}客户有限公司`, phone: `0571-${N}`, contact_name: '周密' });
  const contact = sql(`SELECT id FROM contacts WHERE customer_id = :'p1'`, id)[0][0];
  const o = await as('other');
  const gets = [`/customers/${id}`, `/customers/${id}/edit`, `/customers/${id}/delete`, `/contacts/${contact}/edit`,
    `/customers/check?id=${id}`];
  for (const url of gets) assert.equal((await o.get(url)).status, 404, `GET ${url}`);
  const posts = [`/customers/${id}/edit`, `/customers/${id}/archive`, `/customers/${id}/unarchive`,
    `/customers/${id}/delete`, `/customers/${id}/contacts`, `/contacts/${contact}/edit`, `/contacts/${contact}/delete`];
  for (const url of posts) {
    const res = await o.post(url, { name: 'x', status: 'active', _version: '1' }, { from: '/customers' });
    assert.equal(res.status, 404, `POST ${url}`);
  }
  assert.equal(sql(`SELECT archived::text || version FROM customers WHERE id = :'p1'`, id)[0][0], 'false1');
  assert.equal(sql(`SELECT count(*) FROM contacts WHERE id = :'p1'`, contact)[0][0], '1');
  const list = await o.get(`/customers?q=${encodeURIComponent(`保密${tag}`)}`);
  assert.doesNotMatch(list.text, new RegExp(`/customers/${id}"`));
  assert.match(list.text, /No customers match/);
  assert.match((await o.get(`/contacts?q=${encodeURIComponent('周密')}`)).text, /No contacts match/);
  const x = await download(o, `/customers/export?q=${encodeURIComponent(`保密${tag}`)}`);
  assert.equal(sheetRows(x.buf).rows, 1);
  const j = (await o.get(`/customers/check?phone=${encodeURIComponent(`0571-${N}`)}`)).text;
  assert.doesNotMatch(j, new RegExp(`保密|"id"|"href"|"name"|[^0-9]${id}[^0-9]`));
  assert.equal(JSON.parse(j).similar[0].owner, P.sales.display);
});

test('the manager and the manager\'s manager see the salesperson\'s customer; a peer does not', async () => {
  const id = await create('sales', { name: `团队${tag}可见有限公司` });
  for (const n of ['manager', 'director']) {
    const c = await as(n);
    assert.equal((await c.get(`/customers/${id}`)).status, 200, n);
    assert.match((await c.get(`/customers?q=${encodeURIComponent(`团队${tag}`)}`)).text, new RegExp(`/customers/${id}"`), n);
    assert.equal((await c.get(`/customers/${id}/edit`)).status, 200, n);
  }
  assert.equal((await (await as('sales2')).get(`/customers/${id}`)).status, 404);
  // The manager may hand it to someone of the team, not to someone outside it.
  const m = await as('manager');
  const hidden = formFields((await m.get(`/customers/${id}/edit`)).text);
  const base = { ...hidden, name: `团队${tag}可见有限公司`, status: 'potential' };
  const out = await m.post(`/customers/${id}/edit`, { ...base, owner_id: String(P.other.id) }, { from: `/customers/${id}` });
  assert.equal(out.status, 422);
  assert.match(out.text, /You can only choose people whose customers you may see/);
  const ok = await m.post(`/customers/${id}/edit`, { ...base, owner_id: String(P.sales2.id) }, { from: `/customers/${id}` });
  assert.equal(ok.status, 303);
  assert.equal(Number(sql(`SELECT owner_id FROM customers WHERE id = :'p1'`, id)[0][0]), P.sales2.id);
  assert.equal(lastAudit('customer', id, 'update').changes.owner.new, P.sales2.display);
});

test('a salesperson cannot pick another owner: the form shows the owner and the save keeps it', async () => {
  const c = await as('sales');
  const form = await c.get('/customers/new');
  assert.doesNotMatch(form.text, /name="owner_id"/);
  const id = await create('sales', { name: `自有${tag}有限公司`, owner_id: String(P.sales2.id) });
  assert.equal(Number(sql(`SELECT owner_id FROM customers WHERE id = :'p1'`, id)[0][0]), P.sales.id);
});

test('a read share shows the customer but refuses changes; a write share allows them, owner kept', async () => {
  const id = await create('sales', { name: `共享${tag}有限公司`, contact_name: '吴共' });
  const s2 = await as('sales2');
  assert.equal((await s2.get(`/customers/${id}`)).status, 404);
  sql(`INSERT INTO customer_shares (customer_id, user_id, can_write) VALUES (:'p1', :'p2', false)`, id, P.sales2.id);
  const page = await s2.get(`/customers/${id}`);
  assert.equal(page.status, 200);
  assert.match(page.text, /Shared with you \(read only\)/);
  assert.match(page.text, /吴共/);
  assert.doesNotMatch(page.text, new RegExp(`/customers/${id}/edit`));
  assert.match((await s2.get(`/customers?q=${encodeURIComponent(`共享${tag}`)}`)).text, new RegExp(`/customers/${id}"`));
  assert.equal((await s2.get(`/customers/${id}/edit`)).status, 403);
  assert.equal((await s2.post(`/customers/${id}/archive`, {}, { from: `/customers/${id}` })).status, 403);
  assert.equal((await s2.post(`/customers/${id}/contacts`, { name: '不行' }, { from: `/customers/${id}` })).status, 403);
  sql(`UPDATE customer_shares SET can_write = true WHERE customer_id = :'p1' AND user_id = :'p2'`, id, P.sales2.id);
  const form = await s2.get(`/customers/${id}/edit`);
  assert.equal(form.status, 200);
  const res = await s2.post(`/customers/${id}/edit`, {
    ...formFields(form.text), name: `共享${tag}有限公司`, status: 'active', owner_id: String(P.sales2.id),
  }, { from: `/customers/${id}` });
  assert.equal(res.status, 303);
  const [row] = sql(`SELECT status, owner_id FROM customers WHERE id = :'p1'`, id);
  assert.equal(row[0], 'active');
  assert.equal(Number(row[1]), P.sales.id, 'a share does not hand the customer over');
});

test('a pool customer shows who it is but no contact details, and appears in no list', async () => {
  const [[id]] = sql(`INSERT INTO customers (code, name, name_key, phone, address, owner_id, pool_since, status)
                      VALUES (:'p1', :'p2', :'p3', '0571-66660000', '秘密路1号', NULL, now(), 'dormant') RETURNING id`,
  `PL${tag}`, `公海${tag}科技有限公司`, `公海${tag}科技`);
  sql(`INSERT INTO contacts (customer_id, name, mobile, is_primary) VALUES (:'p1', '郑池', '13700001111', true)`, id);
  const c = await as('sales');
  const page = await c.get(`/customers/${id}`);
  assert.equal(page.status, 200);
  assert.match(page.text, new RegExp(`公海${tag}科技有限公司`));
  assert.match(page.text, /Public pool/);
  for (const secret of ['0571-66660000', '秘密路1号', '郑池', '13700001111']) assert.doesNotMatch(page.text, new RegExp(secret));
  assert.doesNotMatch((await c.get(`/customers?q=${encodeURIComponent(`公海${tag}`)}`)).text, new RegExp(`/customers/${id}"`));
  assert.doesNotMatch((await c.get(`/contacts?q=${encodeURIComponent('郑池')}`)).text, /<strong>郑池<\/strong>/);
  const admin = await as('director');
  assert.doesNotMatch((await admin.get(`/customers?q=${encodeURIComponent(`公海${tag}`)}`)).text, new RegExp(`/customers/${id}"`));
  assert.equal((await c.get(`/customers/${id}/edit`)).status, 404);
  const dup = await c.post('/customers/new', { name: `公海${tag}科技股份有限公司`, status: 'potential' }, { from: '/customers/new' });
  assert.equal(dup.status, 422);
  assert.match(dup.text, /already exists in the public pool/);
});

test('the JSON helper answers JSON built by the database, also for hostile input', async () => {
  const c = await as('sales');
  const res = await c.get(`/customers/check?name=${encodeURIComponent(`"}]<script>${tag}`)}&phone=%25&tax_id=x'--`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /application\/json/);
  assert.deepEqual(JSON.parse(res.text), { duplicate: null, similar: [] });
  assert.equal((await c.get('/customers/check?id=abc')).status, 404);
});

test('the detail page lists the customer\'s history, newest first, with the contact changes', async () => {
  const id = await create('sales', { name: `历史${tag}有限公司`, contact_name: '冯史' });
  const c = await as('sales');
  const hidden = formFields((await c.get(`/customers/${id}/edit`)).text);
  await c.post(`/customers/${id}/edit`, { ...hidden, name: `历史${tag}有限公司`, status: 'dormant' }, { from: `/customers/${id}` });
  const html = (await c.get(`/customers/${id}`)).text;
  const hist = html.slice(html.indexOf('id="history"'));
  const changed = hist.indexOf('Changed');
  const created = hist.indexOf('Created');
  assert.ok(changed > 0 && created > changed, 'newest first');
  assert.match(hist, /Contact 冯史/);
  assert.match(hist, /<span class="diff-old">Prospect<\/span> → <span class="diff-new">Dormant<\/span>/);
});
