// import.test.js — the customer import (M13): the template, CSV in UTF-8 (with and without BOM) and
// GB18030, .xlsx (the customer list's own export, imported into another owner), column mapping,
// every row's problems with its row number, the duplicate modes (skip / update / stop), the
// all-or-nothing commit (a race between preview and commit, a failure midway), the failed rows as
// .xlsx, 10,000 rows, and the privacy of import tokens; the CSRF token on every POST.
//
// People: imp and imp2 (scope own), mgr (own + subordinates, manager of both), viewer (may only
// view customers). The files are generated here (tests/fixtures/import/ keeps none).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BASE, Client, VAR, makeUser, sql, waitFor } from '../lib/client.js';

const tag = Date.now().toString(36);
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
  const own = role(`im_own_${tag}`, 'own', { customers: ALL, contacts: ALL });
  const subs = role(`im_subs_${tag}`, 'subordinates', { customers: ALL, contacts: ALL });
  const view = role(`im_view_${tag}`, 'own', { customers: ['view'] });
  const names = { imp: '导入员', imp2: '另一人', mgr: '经理', viewer: '只读' };
  for (const [n, display] of Object.entries(names)) {
    P[n] = makeUser(`im${n}`, ['--display', `${display}${tag}`]);
    P[n].id = idOf(P[n].username);
    P[n].display = `${display}${tag}`;
  }
  for (const n of ['imp', 'imp2']) sql(`UPDATE users SET manager_id = :'p1' WHERE id = :'p2'`, P.mgr.id, P[n].id);
  const grant = (n, r) => sql(`INSERT INTO user_roles (user_id, role_id) VALUES (:'p1', :'p2')`, P[n].id, r);
  grant('imp', own);
  grant('imp2', own);
  grant('mgr', subs);
  grant('viewer', view);
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

const decode = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<')
  .replace(/&gt;/g, '>').replace(/&amp;/g, '&');
const text = (html) => decode(html.replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ').trim();
const csvLine = (cells) => cells.map((c) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',');
const csv = (rows) => rows.map(csvLine).join('\r\n') + '\r\n';
const gb18030 = (s) => execFileSync('iconv', ['-f', 'UTF-8', '-t', 'GB18030'], { input: s });

function tmpFile(name, buf) {
  const dir = mkdtempSync(path.join(tmpdir(), 'kx-import-'));
  const file = path.join(dir, name);
  writeFileSync(file, buf);
  return file;
}

function unzip(buf, part) {
  return execFileSync('unzip', ['-p', tmpFile('x.xlsx', buf), part], { encoding: 'utf8' });
}

// The text cells of an .xlsx sheet row by row (shared or inline strings).
function sheetCells(buf) {
  const xml = unzip(buf, 'xl/worksheets/sheet1.xml');
  let shared = [];
  try {
    shared = [...unzip(buf, 'xl/sharedStrings.xml').matchAll(/<si>([\s\S]*?)<\/si>/g)]
      .map((m) => decode([...m[1].matchAll(/<t[^>]*>([\s\S]*?)<\/t>/g)].map((t) => t[1]).join('')));
  } catch { /* constant-memory files have inline strings only */ }
  const colIndex = (ref) => [...ref.match(/^[A-Z]+/)[0]].reduce((n, ch) => n * 26 + ch.charCodeAt(0) - 64, 0) - 1;
  return [...xml.matchAll(/<row [^>]*>([\s\S]*?)<\/row>/g)].map((r) => {
    const out = [];
    for (const c of r[1].matchAll(/<c ([^>]*?)(?:\/>|>([\s\S]*?)<\/c>)/g)) {
      const body = c[2] || '';
      let v = '';
      if (/t="s"/.test(c[1])) v = shared[Number(body.match(/<v>(\d+)<\/v>/)[1])];
      else if (/<t[^>]*>/.test(body)) v = decode(body.match(/<t[^>]*>([\s\S]*?)<\/t>/)[1]);
      else if (/<v>/.test(body)) v = body.match(/<v>([\s\S]*?)<\/v>/)[1];
      out[colIndex(c[1].match(/r="([A-Z]+\d+)"/)[1])] = v;
    }
    return Array.from(out, (x) => x ?? '');
  });
}

async function download(c, url) {
  const res = await fetch(BASE + url, { headers: { cookie: c.cookieHeader(), 'accept-language': c.lang || 'en' } });
  return { status: res.status, type: res.headers.get('content-type'), buf: Buffer.from(await res.arrayBuffer()) };
}

// --- the steps ------------------------------------------------------------------------------------

// POST /customers/import with a file (multipart, the CSRF token as a form field).
async function upload(c, data, filename, { mode = 'skip', owner, csrf = true } = {}) {
  const page = await c.get('/customers/import');
  assert.equal(page.status, 200);
  const fd = new FormData();
  if (csrf) fd.set('_csrf', Client.csrfOf(page.text));
  fd.set('mode', mode);
  if (owner !== undefined) fd.set('owner', String(owner));
  fd.set('file', new Blob([data]), filename);
  return c.request('POST', '/customers/import', { body: fd });
}

const tokenOf = (res) => (res.headers.get('location') || '').match(/\/customers\/import\/map\?t=([0-9a-f]{32})$/)?.[1];

// The mapping page's current choice per column: { col_0: 'name', … }, plus the page.
async function mapping(c, t) {
  const page = await c.get(`/customers/import/map?t=${t}`);
  assert.equal(page.status, 200, page.text.slice(0, 500));
  const fields = {};
  const headers = {};
  for (const m of page.text.matchAll(/<label for="col-(\d+)">([^<]*)<\/label>[\s\S]*?<select id="col-\d+" name="col_\d+">([\s\S]*?)<\/select>/g)) {
    const sel = m[3].match(/<option value="([^"]*)" selected>/);
    fields[`col_${m[1]}`] = sel ? sel[1] : '';
    headers[decode(m[2])] = sel ? sel[1] : '';
  }
  return { fields, headers, page };
}

async function confirmMapping(c, t, { mode = 'skip', owner, change = {} } = {}) {
  const { fields, page } = await mapping(c, t);
  const body = { ...fields, ...change, mode };
  if (owner !== undefined) body.owner = String(owner);
  const res = await c.post(`/customers/import/map?t=${t}`, body, { from: `/customers/import/map?t=${t}` });
  return { res, page };
}

// The preview: rows { row, outcome, cells, messages }, counts, the digest and the commit button.
function parsePreview(html) {
  const rows = [...html.matchAll(/<tr data-row="(\d+)" data-outcome="(\w+)">([\s\S]*?)<\/tr>/g)].map((m) => {
    const tds = [...m[3].matchAll(/<td[^>]*>([\s\S]*?)<\/td>/g)].map((x) => x[1]);
    const messages = [...tds[tds.length - 1].matchAll(/<div class="[^"]*">([\s\S]*?)<\/div>/g)].map((x) => decode(x[1]));
    return { row: Number(m[1]), outcome: m[2], cells: tds.slice(2, -1).map((x) => decode(x)), messages };
  });
  const count = (label) => {
    const m = html.match(new RegExp(`<dt>${label}</dt><dd>([\\s\\S]*?)</dd>`));
    return m ? Number(text(m[1])) : NaN;
  };
  return {
    rows,
    byRow: Object.fromEntries(rows.map((r) => [r.row, r])),
    counts: {
      created: count('New customers'), updated: count('Customers updated'), contacts: count('Contacts added'),
      skipped: count('Rows skipped'), errors: count('Rows with errors'),
    },
    digest: html.match(/name="digest" value="([0-9a-f]+)"/)?.[1],
    disabled: /<button type="submit" class="btn btn-primary" disabled>/.test(html),
    alert: (html.match(/<div class="alert alert-error" role="alert">([\s\S]*?)<\/div>/) || [])[1],
    html,
  };
}

async function preview(c, t) {
  const res = await c.get(`/customers/import/preview?t=${t}`);
  assert.equal(res.status, 200, res.text.slice(0, 800));
  return parsePreview(res.text);
}

async function commit(c, t, pv, { csrf = true } = {}) {
  const body = new URLSearchParams({ digest: pv.digest || '' });
  if (csrf) body.set('_csrf', Client.csrfOf(pv.html));
  return c.request('POST', `/customers/import/commit?t=${t}`, {
    body: body.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
}

// Upload + confirm the guessed mapping + preview.
async function prepare(c, data, filename, opts = {}) {
  const up = await upload(c, data, filename, opts);
  assert.equal(up.status, 303, `upload: ${up.status} ${text(up.text).slice(0, 400)}`);
  const t = tokenOf(up);
  assert.ok(t, up.headers.get('location'));
  const { res } = await confirmMapping(c, t, opts);
  assert.equal(res.status, 303, `mapping: ${res.status} ${text(res.text).slice(0, 400)}`);
  assert.equal(res.headers.get('location'), `/customers/import/preview?t=${t}`);
  return { t, pv: await preview(c, t) };
}

const customerCount = (like) => Number(sql(`SELECT count(*) FROM customers WHERE name LIKE :'p1'`, like)[0][0]);

// --- permissions and the template -----------------------------------------------------------------

test('the import needs the right to create customers', async () => {
  const v = await as('viewer');
  assert.equal((await v.get('/customers/import')).status, 403);
  assert.equal((await v.get('/customers/import/template.xlsx')).status, 403);
  const c = await as('imp');
  const page = await c.get('/customers/import');
  assert.equal(page.status, 200);
  assert.match(page.text, /enctype="multipart\/form-data"/);
  assert.match(page.text, /href="\/customers\/import\/template\.xlsx"/);
  // Scope "own": no one else to choose as owner, no public pool; a forged choice is refused.
  assert.equal([...page.text.matchAll(/<option value="\d+"/g)].length, 1);
  for (const owner of ['0', String(P.imp2.id), 'x']) {
    const res = await upload(c, csv([['客户名称'], [`负责人${tag}有限公司`]]), 'owner.csv', { owner });
    assert.equal(res.status, 422, owner);
    assert.match(text(res.text), /Choose the owner of the new customers from the list/);
  }
});

test('files are read only for a signed-in user on a route that takes them', async () => {
  const fd = () => {
    const f = new FormData();
    f.set('file', new Blob([csv([['客户名称'], ['某某有限公司']])]), 'x.csv');
    return f;
  };
  // Anonymous: sent to the login page before the body is read (no temp file, no CSRF question).
  const anon = new Client({ lang: 'en' });
  const res = await anon.request('POST', '/customers/import', { body: fd() });
  assert.equal(res.status, 303);
  assert.match(res.headers.get('location'), /^\/login\?next=/);
  // Signed in, but a route without uploads: 415, whatever the form holds.
  const c = await as('imp');
  for (const url of ['/customers/new', '/lang', '/account/password']) {
    const r = await c.request('POST', url, { body: fd() });
    assert.equal(r.status, 415, url);
    assert.match(r.text, /does not take uploaded files/);
  }
  const login = await anon.request('POST', '/login', { body: fd() });
  assert.equal(login.status, 415, 'public routes take no files either');
});

test('an upload is forgotten after 24 hours', async () => {
  const c = await as('imp');
  const up = await upload(c, csv([['客户名称'], [`过期${tag}有限公司`]]), 'old.csv');
  const t = tokenOf(up);
  const dir = path.join(VAR, 'imports', t);
  const state = path.join(dir, 'state.ini');
  assert.ok(existsSync(state));
  assert.equal(statSync(dir).mode & 0o077, 0, 'a private folder');
  const stale = Math.floor(Date.now() / 1000) - 25 * 3600;
  writeFileSync(state, readFileSync(state, 'utf8').replace(/^created=\d+$/m, `created=${stale}`));
  assert.equal((await c.get(`/customers/import/map?t=${t}`)).status, 404);
  assert.ok(!existsSync(dir), 'removed');
});

test('the template opens, with the headers in the user\'s language and a Chinese example row', async () => {
  const en = await download(await as('imp'), '/customers/import/template.xlsx');
  assert.equal(en.status, 200);
  assert.match(en.type, /spreadsheetml/);
  const strings = unzip(en.buf, 'xl/sharedStrings.xml');
  for (const h of ['Customer name', 'Category', 'Province', 'Contact name', 'Contact mobile', 'Contact e-mail']) {
    assert.ok(strings.includes(`>${h}<`), `header ${h}`);
  }
  assert.ok(strings.includes('杭州示例科技有限公司'));
  const zhClient = new Client({ lang: 'zh-CN' });
  await zhClient.login(P.imp.username, P.imp.password);
  const zh = await download(zhClient, '/customers/import/template.xlsx');
  const zs = unzip(zh.buf, 'xl/sharedStrings.xml');
  assert.ok(zs.includes('>客户名称<') && zs.includes('>联系人手机<'), 'Chinese headers');

  // The template as downloaded: every column recognised, the example row not imported.
  const { t, pv } = await prepare(await as('imp'), en.buf, 'template.xlsx');
  const { headers } = await mapping(await as('imp'), t);
  assert.equal(headers['Customer name'], 'name');
  assert.equal(headers['Contact mobile'], 'contact_mobile');
  assert.equal(Object.values(headers).filter((v) => v === '').length, 0, JSON.stringify(headers));
  assert.equal(pv.rows.length, 1);
  assert.equal(pv.rows[0].outcome, 'skip');
  assert.match(pv.rows[0].messages.join(' '), /example row/);
  assert.ok(pv.disabled, 'nothing to import');
});

// --- encodings ----------------------------------------------------------------------------------

test('CSV in UTF-8 with BOM, without BOM and GB18030 (as Chinese Excel saves it) preview the same', async () => {
  const c = await as('imp');
  const body = csv([
    ['客户名称', '联系人', '手机', '客户类别', '省份', '城市', '地址', '备注'],
    [`编码${tag}甲有限公司`, '张伟', '13800138000', '经销商', '浙江', '杭州', '西湖区文三路 100 号', '“引号”、逗号,换行\n第二行'],
    [`编码${tag}甲有限公司`, '李娜', '13900139000', '', '', '', '', ''],
    [`编码${tag}乙有限公司`, '王芳', '138001', '终端客户', '广东', '深圳', '', ''],
  ]);
  const variants = {
    'utf8-bom.csv': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body)]),
    'utf8.csv': Buffer.from(body),
    'gb18030.csv': gb18030(body),
  };
  assert.notDeepEqual(variants['gb18030.csv'], variants['utf8.csv']);
  const seen = {};
  for (const [name, data] of Object.entries(variants)) {
    const { pv } = await prepare(c, data, name);
    seen[name] = pv;
    assert.match(pv.html, name === 'gb18030.csv' ? /· GB18030 ·/ : /· UTF-8 ·/);
  }
  const shape = (pv) => ({ counts: pv.counts, rows: pv.rows.map(({ row, outcome, cells, messages }) => ({ row, outcome, cells, messages })) });
  assert.deepEqual(shape(seen['utf8.csv']), shape(seen['utf8-bom.csv']));
  assert.deepEqual(shape(seen['gb18030.csv']), shape(seen['utf8-bom.csv']));
  const pv = seen['gb18030.csv'];
  assert.deepEqual(pv.counts, { created: 1, updated: 0, contacts: 2, skipped: 0, errors: 1 });
  assert.equal(pv.byRow[2].cells[0], `编码${tag}甲有限公司`);
  assert.equal(pv.byRow[2].cells[7], '“引号”、逗号,换行\n第二行');
  assert.equal(pv.byRow[4].outcome, 'error');
  assert.match(pv.byRow[4].messages.join(' '), /手机: Enter an 11-digit mobile number/);
  assert.equal(customerCount(`编码${tag}%`), 0, 'a preview writes nothing');
});

// --- refusals -------------------------------------------------------------------------------------

test('files that cannot be imported are refused with a message', async () => {
  const c = await as('imp');
  const refused = async (data, name, pattern) => {
    const res = await upload(c, data, name);
    assert.equal(res.status, 422, `${name}: ${res.status}`);
    assert.match(text(res.text), pattern, name);
  };
  const png = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489', 'hex');
  await refused(png, 'picture.csv', /neither an Excel workbook \(\.xlsx\) nor a CSV text file/);
  await refused(Buffer.from('d0cf11e0a1b11ae1000000000000000000000000', 'hex'), 'old.xls', /Old Excel files \(\.xls\)/);
  await refused(Buffer.from('\xff\xfeA\x00B\x00', 'latin1'), 'utf16.csv', /UTF-16/);
  await refused(Buffer.from('PK\x03\x04garbage-not-a-zip', 'latin1'), 'broken.xlsx', /damaged or not an \.xlsx workbook/);
  await refused(Buffer.alloc(0), 'empty.csv', /The file is empty/);
  await refused(Buffer.from('\r\n\r\n'), 'blank.csv', /The file is empty/);
  await refused(Buffer.from('客户名称,手机\r\n'), 'header.csv', /a header row but no customers/);
  // No file at all.
  const page = await c.get('/customers/import');
  const fd = new FormData();
  fd.set('_csrf', Client.csrfOf(page.text));
  fd.set('mode', 'skip');
  const none = await c.request('POST', '/customers/import', { body: fd });
  assert.equal(none.status, 422);
  assert.match(text(none.text), /Choose the file to import/);
});

test('a file without a customer name column is refused at the mapping step', async () => {
  const c = await as('imp');
  const up = await upload(c, csv([['联系人', '手机'], ['张伟', '13800138000']]), 'no-name.csv');
  assert.equal(up.status, 303);
  const t = tokenOf(up);
  const { page, headers } = await mapping(c, t);
  assert.deepEqual(headers, { 联系人: 'contact_name', 手机: 'contact_mobile' });
  assert.match(text(page.text), /No column was recognised as the customer name/);
  const { res } = await confirmMapping(c, t);
  assert.equal(res.status, 422);
  assert.match(text(res.text), /Choose the column that holds the customer name/);
  // The preview waits for a confirmed mapping.
  const pv = await c.get(`/customers/import/preview?t=${t}`);
  assert.equal(pv.status, 303);
  assert.equal(pv.headers.get('location'), `/customers/import/map?t=${t}`);
  // The same field for two columns is refused too.
  const twice = await confirmMapping(c, t, { change: { col_0: 'name', col_1: 'name' } });
  assert.equal(twice.res.status, 422);
  assert.match(text(twice.res.text), /“Customer name” is chosen for more than one column/);
});

// --- every row's problems -------------------------------------------------------------------------

// A customer of imp2 that imp cannot see: importing its name is a duplicate "owned by" imp2.
let foreignName;
async function foreignCustomer() {
  if (foreignName) return foreignName;
  foreignName = `外部${tag}科技有限公司`;
  const c = await as('imp2');
  const { t, pv } = await prepare(c, csv([['客户名称', '电话'], [foreignName, '0571-88886666']]), 'foreign.csv');
  assert.equal(pv.counts.created, 1);
  const res = await commit(c, t, pv);
  assert.equal(res.status, 303, text(res.text).slice(0, 300));
  return foreignName;
}

const problemRows = () => csv([
  ['客户名称', '客户类别', '省份', '城市', '电话', '联系人', '手机', '邮箱'],
  /* 2 */ [`问题${tag}甲有限公司`, '经销商', '浙江', '杭州', '0571-88881111', '张伟', '13800138000', 'zw@example.cn'],
  /* 3 */ [`问题${tag}甲有限公司`, '', '', '', '', '李娜', '13900139000', ''],
  /* 4 */ ['', '经销商', '', '', '', '王五', '13700137000', ''],
  /* 5 */ [`问题${tag}乙有限公司`, '', '', '', '', '赵六', '12345', ''],
  /* 6 */ [`问题${tag}丙有限公司`, '不存在的类别', '', '', '', '', '', ''],
  /* 7 */ [`问题${tag}甲有限公司`, '', '', '', '0571-99999999', '孙七', '13600136000', ''],
  /* 8 */ [foreignName, '', '', '', '', '', '', ''],
  /* 9 */ [`问题${tag}甲 有限公司`, '', '', '', '', '张伟', '', ''],
  /* 10 */ [`问题${tag}丁有限公司`, '', '', '', '', '周八', '', 'not-an-email'],
  /* 11 */ [`问题${tag}戊有限公司`, '', '火星', '', '', '', '', ''],
  /* 12 */ [`问题${tag}己有限公司`, '终端客户', '江苏', '南京', '', '', '', ''],
]);

test('the preview lists every row\'s problems with the row number as in Excel', async () => {
  await foreignCustomer();
  const c = await as('imp');
  const { pv } = await prepare(c, problemRows(), 'problems.csv', { mode: 'skip' });
  const r = pv.byRow;
  const msg = (n) => r[n].messages.join(' | ');
  assert.equal(r[2].outcome, 'new');
  assert.equal(r[3].outcome, 'contact', 'same customer, another contact');
  assert.equal(r[4].outcome, 'error');
  assert.match(msg(4), /客户名称: This field is required/);
  assert.equal(r[5].outcome, 'error');
  assert.match(msg(5), /手机: Enter an 11-digit mobile number/);
  assert.equal(r[6].outcome, 'error');
  assert.match(msg(6), /客户类别: Unknown category “不存在的类别”/);
  assert.equal(r[7].outcome, 'error');
  assert.match(msg(7), /Duplicate in the file: row 2 has the same customer with other details/);
  assert.equal(r[8].outcome, 'skip', 'skip mode: an existing customer is skipped');
  assert.match(msg(8), new RegExp(`already exists, owned by ${P.imp2.display}`));
  assert.ok(!msg(8).includes('0571-88886666'), 'nothing more about a customer outside the scope');
  assert.equal(r[9].outcome, 'error', 'the same name once normalised, the same contact');
  assert.match(msg(9), /Duplicate in the file: row 2 has the same contact/);
  assert.equal(r[10].outcome, 'error');
  assert.match(msg(10), /邮箱: Enter a valid e-mail address/);
  assert.equal(r[11].outcome, 'error');
  assert.match(msg(11), /省份: Unknown province “火星”/);
  assert.equal(r[12].outcome, 'new');
  assert.deepEqual(pv.counts, { created: 2, updated: 0, contacts: 2, skipped: 1, errors: 7 });
  assert.ok(!pv.disabled, 'skip mode: the good rows can be imported');
  assert.match(pv.html, /href="\/customers\/import\/failed\.xlsx\?t=/);
  assert.equal(customerCount(`问题${tag}%`), 0);
});

test('mode stop: an existing customer is an error, the commit is disabled and refused', async () => {
  await foreignCustomer();
  const c = await as('imp');
  const { t, pv } = await prepare(c, problemRows(), 'problems.csv', { mode: 'stop' });
  assert.equal(pv.byRow[8].outcome, 'error');
  assert.match(pv.byRow[8].messages.join(' '), new RegExp(`already exists, owned by ${P.imp2.display}`));
  assert.ok(pv.disabled, 'the commit button is disabled');
  const res = await commit(c, t, pv);
  assert.equal(res.status, 422);
  assert.match(text(res.text), /Nothing was imported: some rows have errors and the mode is “stop”/);
  assert.equal(customerCount(`问题${tag}%`), 0);
});

test('mode skip commits the good rows only, with an audit row per customer and one for the import', async () => {
  await foreignCustomer();
  const c = await as('imp');
  const { t, pv } = await prepare(c, problemRows(), `问题${tag}.csv`, { mode: 'skip' });
  // The failed rows before the commit: exactly the rows with errors, original columns + errors.
  const before = await download(c, `/customers/import/failed.xlsx?t=${t}`);
  assert.equal(before.status, 200);
  assert.match(before.type, /spreadsheetml/);
  const cells = sheetCells(before.buf);
  assert.deepEqual(cells[0], ['客户名称', '客户类别', '省份', '城市', '电话', '联系人', '手机', '邮箱', 'Errors']);
  assert.equal(cells.length, 1 + 7);
  assert.deepEqual(cells.slice(1).map((row) => row[5] || ''), ['王五', '赵六', '', '孙七', '张伟', '周八', '']);
  assert.match(cells[2][8], /Enter an 11-digit mobile number/);
  assert.equal(cells[2][6], '12345');

  const auditBefore = Number(sql(`SELECT count(*) FROM audit_log WHERE module = 'customers' AND action = 'create' AND user_id = :'p1'`, P.imp.id)[0][0]);
  const res = await commit(c, t, pv);
  assert.equal(res.status, 303, text(res.text).slice(0, 500));
  assert.equal(res.headers.get('location'), `/customers/import/done?t=${t}`);
  const done = await c.get(res.headers.get('location'));
  assert.equal(done.status, 200);
  assert.match(text(done.text), /New customers 2 Customers updated 0 Contacts added 2 Rows skipped 1 Rows with errors \(not imported\) 7 Time taken [0-9.]+ m?s/);

  const rows = sql(`SELECT c.name, c.owner_id, coalesce(cat.name, ''), coalesce(ci.name, ''), c.phone,
                           (SELECT string_agg(k.name || ':' || k.mobile || ':' || k.is_primary, ',' ORDER BY k.id) FROM contacts k WHERE k.customer_id = c.id)
                      FROM customers c LEFT JOIN lookups cat ON cat.id = c.category_id LEFT JOIN regions ci ON ci.id = c.city_id
                     WHERE c.name LIKE :'p1' ORDER BY c.name`, `问题${tag}%`);
  assert.deepEqual(rows, [
    [`问题${tag}己有限公司`, String(P.imp.id), '终端客户', '南京市', '', ''],
    [`问题${tag}甲有限公司`, String(P.imp.id), '经销商', '杭州市', '0571-88881111', '张伟:13800138000:true,李娜:13900139000:false'],
  ]);
  const auditAfter = Number(sql(`SELECT count(*) FROM audit_log WHERE module = 'customers' AND action = 'create' AND user_id = :'p1'`, P.imp.id)[0][0]);
  assert.equal(auditAfter - auditBefore, 2, 'one audit row per customer');
  const [imp] = sql(`SELECT object_label, changes->'created'->>'new', changes->'errors'->>'new', changes->'mode'->>'new'
                       FROM audit_log WHERE module = 'customers' AND action = 'import' AND user_id = :'p1' ORDER BY id DESC LIMIT 1`, P.imp.id);
  assert.ok(imp[0].includes(`问题${tag}.csv`), imp[0]);
  assert.deepEqual(imp.slice(1), ['2', '7', 'skip']);

  // After the commit: the failed rows are still there; a second commit does nothing.
  const after = await download(c, `/customers/import/failed.xlsx?t=${t}`);
  assert.equal(sheetCells(after.buf).length, 1 + 7);
  const again = await commit(c, t, pv);
  assert.equal(again.status, 303);
  assert.equal(again.headers.get('location'), `/customers/import/done?t=${t}`);
  assert.equal(customerCount(`问题${tag}%`), 2);
  const map = await c.get(`/customers/import/map?t=${t}`);
  assert.equal(map.status, 303, 'a committed import cannot be mapped again');
});

// --- update mode ----------------------------------------------------------------------------------

test('mode update changes the customers the importer may edit and refuses the others', async () => {
  const foreign = await foreignCustomer();
  const c = await as('imp');
  const mine = `更新${tag}科技有限公司`;
  const first = await prepare(c, csv([['客户名称', '电话', '联系人', '手机'], [mine, '0571-88880001', '张伟', '13800138000']]), 'first.csv');
  assert.equal((await commit(c, first.t, first.pv)).status, 303);
  const [id, version] = sql(`SELECT id, version FROM customers WHERE name = :'p1'`, mine)[0];

  const file = csv([
    ['客户名称', '电话', '备注', '联系人', '手机'],
    [mine, '0571-88880002', '导入更新', '张伟', '13800138000'],
    [mine, '', '', '李娜', '13900139000'],
    [foreign, '0571-12345678', '', '', ''],
  ]);
  const { t, pv } = await prepare(c, file, 'update.csv', { mode: 'update' });
  assert.equal(pv.byRow[2].outcome, 'update');
  assert.match(pv.byRow[2].messages.join(' '), /This contact exists already/);
  assert.equal(pv.byRow[3].outcome, 'contact');
  assert.equal(pv.byRow[4].outcome, 'error');
  assert.match(pv.byRow[4].messages.join(' '), new RegExp(`already exists, owned by ${P.imp2.display}`));
  assert.deepEqual(pv.counts, { created: 0, updated: 1, contacts: 1, skipped: 0, errors: 1 });
  const res = await commit(c, t, pv);
  assert.equal(res.status, 303, text(res.text).slice(0, 400));
  const [phone, remarks, v2, contacts] = sql(`SELECT phone, remarks, version,
      (SELECT string_agg(name, ',' ORDER BY id) FROM contacts WHERE customer_id = c.id) FROM customers c WHERE id = :'p1'`, id)[0];
  assert.deepEqual([phone, remarks, contacts], ['0571-88880002', '导入更新', '张伟,李娜']);
  assert.equal(Number(v2), Number(version) + 1);
  // The updated customer's search row was written after its new contact: it finds 李娜 too.
  assert.deepEqual(sql(`SELECT text = kx_customer_search_text(customer_id), text LIKE '%李娜%'
                          FROM customer_search WHERE customer_id = :'p1'`, id)[0], ['t', 't']);
  const [changes] = sql(`SELECT changes::text FROM audit_log WHERE object_type = 'customer' AND object_id = :'p1' AND action = 'update' ORDER BY id DESC LIMIT 1`, id)[0];
  assert.deepEqual(JSON.parse(changes).phone, { old: '0571-88880001', new: '0571-88880002' });
  assert.equal(sql(`SELECT phone FROM customers WHERE name = :'p1'`, foreign)[0][0], '0571-88886666', 'untouched');

  // Without the right to edit, "update" is not offered and not accepted.
  const viewerish = role(`im_noedit_${tag}`, 'own', { customers: ['view', 'create'] });
  const u = makeUser('imne');
  sql(`INSERT INTO user_roles (user_id, role_id) VALUES (:'p1', :'p2')`, idOf(u.username), viewerish);
  const ne = new Client({ lang: 'en' });
  await ne.login(u.username, u.password);
  const page = await ne.get('/customers/import');
  assert.ok(!page.text.includes('value="update"'));
  const refused = await upload(ne, file, 'update.csv', { mode: 'update' });
  assert.equal(refused.status, 422);
  assert.match(text(refused.text), /You may not edit customers/);
});

// --- xlsx: the list's export, imported into another owner ---------------------------------------

test('an .xlsx export of the customer list imports again, into another owner', async () => {
  const m = await as('mgr');
  const page = await m.get('/customers/import');
  assert.ok(page.text.includes(`value="${P.imp.id}"`) && page.text.includes('value="0"'), 'owners in scope and the pool');
  const names = ['甲', '乙', '丙'].map((x) => `往返${tag}${x}贸易有限公司`);
  const src = csv([
    ['客户名称', '简称', '客户类别', '客户等级', '客户来源', '行业', '状态', '省份', '城市', '电话', '信用额度', '付款条件', '联系人', '手机'],
    [names[0], '甲贸易', '经销商', 'A 重点客户', '展会', '制造业', 'active', '浙江', '杭州', '0571-88886666', '50000', '月结 30 天', '张伟', '13800138000'],
    [names[1], '', '代理商', 'B 普通客户', '', '', '流失', '北京', '海淀', '010-62345678', '1,234.5', '', '李娜', '+86 139-0013-9000'],
    [names[2], '', '', '', '', '', '', '', '', '', '', '', '', ''],
  ]);
  const first = await prepare(m, src, 'src.csv', { owner: P.imp.id });
  assert.equal(first.pv.counts.created, 3, JSON.stringify(first.pv.rows));
  assert.equal((await commit(m, first.t, first.pv)).status, 303);
  assert.deepEqual(sql(`SELECT DISTINCT owner_id FROM customers WHERE name LIKE :'p1'`, `往返${tag}%`), [[String(P.imp.id)]]);

  const x = await download(m, `/customers/export?q=${encodeURIComponent(`往返${tag}`)}&sort=name&dir=asc`);
  assert.equal(x.status, 200);
  const before = sql(`SELECT name, code, short_name, category_id, level_id, source_id, industry_id, status, province_id,
                             city_id, phone, credit_limit, payment_terms FROM customers WHERE name LIKE :'p1' ORDER BY name`, `往返${tag}%`);

  // Skip mode: they all exist.
  const again = await prepare(m, x.buf, 'customers.xlsx', { owner: P.imp2.id });
  const { headers } = await mapping(m, again.t);
  assert.equal(headers['Customer name'], 'name');
  assert.equal(headers['Customer code'], 'code');
  assert.equal(headers['Credit limit (CNY)'], 'credit_limit');
  assert.equal(headers['Primary contact'], 'contact_name');
  assert.equal(headers.Owner, '');
  assert.deepEqual(again.pv.counts, { created: 0, updated: 0, contacts: 0, skipped: 3, errors: 0 });
  assert.match(again.pv.html, /· Excel \(\.xlsx\) ·/);

  // Gone from the database: the export brings them back, now owned by imp2.
  sql(`DELETE FROM customers WHERE name LIKE :'p1'`, `往返${tag}%`);
  const back = await prepare(m, x.buf, 'customers.xlsx', { owner: P.imp2.id });
  assert.deepEqual(back.pv.counts, { created: 3, updated: 0, contacts: 2, skipped: 0, errors: 0 }, JSON.stringify(back.pv.rows));
  assert.equal((await commit(m, back.t, back.pv)).status, 303);
  const after = sql(`SELECT name, code, short_name, category_id, level_id, source_id, industry_id, status, province_id,
                            city_id, phone, credit_limit, payment_terms FROM customers WHERE name LIKE :'p1' ORDER BY name`, `往返${tag}%`);
  assert.deepEqual(after, before);
  assert.deepEqual(sql(`SELECT DISTINCT owner_id FROM customers WHERE name LIKE :'p1'`, `往返${tag}%`), [[String(P.imp2.id)]]);
  // The export carries the primary contact and one number of it.
  assert.deepEqual(sql(`SELECT c.name, k.name, k.phone, k.is_primary FROM contacts k JOIN customers c ON c.id = k.customer_id
                         WHERE c.name LIKE :'p1' ORDER BY c.name`, `往返${tag}%`),
    [[names[1], '李娜', '13900139000', 't'], [names[0], '张伟', '13800138000', 't']].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
});

// --- all or nothing -------------------------------------------------------------------------------

test('all or nothing: a customer saved by someone else between preview and commit stops the whole import', async () => {
  const c = await as('imp');
  const names = ['一', '二', '三'].map((x) => `竞争${tag}${x}有限公司`);
  const { t, pv } = await prepare(c, csv([['客户名称', '联系人'], ...names.map((n, i) => [n, `联系人${i}`])]), 'race.csv');
  assert.equal(pv.counts.created, 3);
  // imp2 imports the third name meanwhile.
  const o = await as('imp2');
  const other = await prepare(o, csv([['客户名称'], [names[2]]]), 'other.csv');
  assert.equal((await commit(o, other.t, other.pv)).status, 303);

  const res = await commit(c, t, pv);
  assert.equal(res.status, 409);
  const now = parsePreview(res.text);
  assert.match(decode(now.alert), /Nothing was imported: the data changed since the preview/);
  assert.equal(now.byRow[4].outcome, 'skip');
  assert.equal(customerCount(`竞争${tag}%`), 1, 'only the other person\'s customer');
  // Committing what the fresh preview shows works.
  const ok = await commit(c, t, now);
  assert.equal(ok.status, 303, text(ok.text).slice(0, 300));
  assert.equal(customerCount(`竞争${tag}%`), 3);
});

test('all or nothing: a row failing midway rolls back the rows already written', async () => {
  const c = await as('imp');
  const fn = `import_test_boom_${tag}`;
  sql(`CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN IF NEW.name = 'BOOM${tag}' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$`);
  sql(`CREATE TRIGGER ${fn} BEFORE INSERT ON contacts FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
  try {
    const names = ['一', '二', '三', '四'].map((x) => `中途${tag}${x}有限公司`);
    const auditBefore = Number(sql(`SELECT count(*) FROM audit_log WHERE user_id = :'p1'`, P.imp.id)[0][0]);
    const { t, pv } = await prepare(c, csv([['客户名称', '联系人'],
      [names[0], '张三'], [names[1], '李四'], [names[2], `BOOM${tag}`], [names[3], '赵六']]), 'boom.csv');
    assert.equal(pv.counts.created, 4);
    const res = await commit(c, t, pv);
    assert.equal(res.status, 422);
    assert.match(decode(parsePreview(res.text).alert), /Nothing was imported: row 4 could not be saved/);
    assert.equal(customerCount(`中途${tag}%`), 0);
    assert.equal(Number(sql(`SELECT count(*) FROM audit_log WHERE user_id = :'p1'`, P.imp.id)[0][0]), auditBefore,
      'no audit rows either');
  } finally {
    sql(`DROP TRIGGER ${fn} ON contacts`);
    sql(`DROP FUNCTION ${fn}()`);
  }
});

// --- privacy and CSRF -----------------------------------------------------------------------------

test('an import belongs to its uploader: anyone else gets 404, as do unknown tokens', async () => {
  const c = await as('imp');
  const { t, pv } = await prepare(c, csv([['客户名称'], [`私有${tag}有限公司`]]), 'private.csv');
  const o = await as('imp2');
  for (const step of ['map', 'preview', 'failed.xlsx', 'done']) {
    assert.equal((await o.get(`/customers/import/${step}?t=${t}`)).status, 404, step);
  }
  const page = await o.get('/customers/import');
  const body = new URLSearchParams({ _csrf: Client.csrfOf(page.text), digest: pv.digest, col_0: 'name', mode: 'skip' });
  for (const step of ['map', 'commit']) {
    const res = await o.request('POST', `/customers/import/${step}?t=${t}`, {
      body: body.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    assert.equal(res.status, 404, step);
  }
  for (const bad of ['', 'abc', t.toUpperCase(), `${t}0`, '../../etc/passwd', '0'.repeat(32)]) {
    assert.equal((await c.get(`/customers/import/map?t=${encodeURIComponent(bad)}`)).status, 404, bad);
  }
  assert.equal(customerCount(`私有${tag}%`), 0);
});

test('every POST of the import needs the CSRF token', async () => {
  const c = await as('imp');
  const up = await upload(c, csv([['客户名称'], [`令牌${tag}有限公司`]]), 'csrf.csv', { csrf: false });
  assert.equal(up.status, 403);
  const { t, pv } = await prepare(c, csv([['客户名称'], [`令牌${tag}有限公司`]]), 'csrf.csv');
  const map = await c.request('POST', `/customers/import/map?t=${t}`, {
    body: 'col_0=name&mode=skip', headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(map.status, 403);
  const res = await commit(c, t, pv, { csrf: false });
  assert.equal(res.status, 403);
  assert.equal(customerCount(`令牌${tag}%`), 0);
});

// --- 10,000 rows ----------------------------------------------------------------------------------

test('10,000 rows with their contacts commit in one go', { timeout: 2400000 }, async () => {
  const c = await as('imp');
  const rows = [['客户名称', '联系人', '手机', '客户类别', '省份', '城市']];
  for (let i = 0; i < 10000; i++) {
    rows.push([`万行${tag}客户${i}有限公司`, `联系人${i}`, `1${String(3800000000 + i)}`, '经销商', '浙江', '杭州']);
  }
  const data = gb18030(csv(rows));
  const t0 = Date.now();
  const { t, pv } = await prepare(c, data, 'big.csv');
  const tPreview = Date.now() - t0;
  assert.deepEqual(pv.counts, { created: 10000, updated: 0, contacts: 10000, skipped: 0, errors: 0 });
  assert.match(pv.html, /No problems found/);
  const estimate = text(pv.html).match(/importing them will take about (\d+) s/)?.[1];
  const counter = () => Number(sql(`SELECT coalesce(sum(last_value), 0) FROM doc_counters WHERE doc_type = 'customer'`)[0][0]);
  const c0 = counter();
  const t1 = Date.now();
  // While the commit runs, the preview page's progress bar asks how far it got.
  const seen = [];
  let running = true;
  const watcher = (async () => {
    while (running) {
      const p = await c.get(`/customers/import/progress?t=${t}`);
      assert.equal(p.status, 200);
      seen.push(JSON.parse(p.text));
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const res = await commit(c, t, pv);
  running = false;
  await watcher;
  let tCommit = Date.now() - t1;
  if (res.status === 504) {
    // nginx gave up waiting (fastcgi_read_timeout); the worker goes on and finishes the transaction.
    console.log(`# WARNING: the commit outlived nginx's fastcgi_read_timeout after ${tCommit} ms; waiting for it`);
    await waitFor(async () => (await c.get(`/customers/import/done?t=${t}`)).status === 200,
      { timeoutMs: 1800000, stepMs: 2000 });
    tCommit = Date.now() - t1;
  } else {
    assert.equal(res.status, 303, text(res.text).slice(0, 300));
  }
  const done = await c.get(`/customers/import/done?t=${t}`);
  const took = text(done.text).match(/Time taken ([0-9.]+ m?s)/)?.[1];
  console.log(`# import of 10,000 rows (GB18030 CSV): upload + mapping + preview ${tPreview} ms, ` +
    `commit ${tCommit} ms (server: ${took}, estimated ${estimate} s)`);
  assert.equal(customerCount(`万行${tag}%`), 10000);
  assert.equal(Number(sql(`SELECT count(*) FROM contacts k JOIN customers c ON c.id = k.customer_id
                            WHERE c.name LIKE :'p1' AND k.is_primary`, `万行${tag}%`)[0][0]), 10000);
  // Written a thousand rows per statement: each customer's search row is there and complete (its
  // contact included), and the quick search finds a customer by its contact's name.
  assert.deepEqual(sql(`SELECT count(*), count(s.customer_id), count(*) FILTER (WHERE s.text = kx_customer_search_text(c.id) AND s.live)
                          FROM customers c LEFT JOIN customer_search s ON s.customer_id = c.id WHERE c.name LIKE :'p1'`,
  `万行${tag}%`)[0], ['10000', '10000', '10000']);
  const [[someone, holder]] = sql(`SELECT k.name, c.name FROM contacts k JOIN customers c ON c.id = k.customer_id
                                    WHERE c.name LIKE :'p1' ORDER BY c.id DESC LIMIT 1`, `万行${tag}%`);
  assert.match(text((await c.get(`/customers?q=${encodeURIComponent(someone)}&count=all`)).text), new RegExp(holder));
  // Nothing is left in the search index's pending list for every later search to read through.
  sql('CREATE EXTENSION IF NOT EXISTS pgstattuple');
  assert.equal(sql(`SELECT pending_pages FROM pgstatginindex('customer_search_terms_idx')`)[0][0], '0');
  // The numbers were taken in one step for all rows and exactly the used ones kept: no gap.
  assert.equal(counter() - c0, 10000);
  const codes = sql(`SELECT min(code), max(code) FROM customers WHERE name LIKE :'p1'`, `万行${tag}%`)[0];
  assert.deepEqual(codes.map((x) => Number(x.replace(/\D/g, ''))), [c0 + 1, c0 + 10000]);
  // Progress: it moved through the rows in order and ended complete; it is the importer's alone.
  const moving = seen.filter((p) => p.total === 10000 && p.done > 0 && p.done < 10000);
  assert.ok(moving.length > 0, `progress seen while committing: ${JSON.stringify(seen.slice(0, 20))}`);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i].done >= seen[i - 1].done || seen[i].total === 0);
  const end = await c.get(`/customers/import/progress?t=${t}`);
  assert.deepEqual(JSON.parse(end.text), { done: 10000, total: 10000, committed: true });
  assert.equal((await (await as('imp2')).get(`/customers/import/progress?t=${t}`)).status, 404);
});
