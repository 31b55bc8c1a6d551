// audit.test.js — the audit trail pages: the operation log and the login log, their filters,
// paging, escaping and Excel exports, who may see them, and that the app role cannot rewrite
// history.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BASE, Client, VAR, makeUser, sql } from '../lib/client.js';

// A tag unique to this run: every row a test inserts carries it, so filters can isolate them.
const TAG = `t${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

function userId(username) {
  return sql('SELECT id FROM users WHERE username = :\'p1\'', username)[0][0];
}

// Audit rows inserted as the superuser in one statement; `at` carries its own UTC offset.
function insertRows(rows) {
  const params = [];
  const values = rows.map((r) => {
    const p = (v) => { params.push(v); return `:'p${params.length}'`; };
    return `((${p(r.at)})::timestamptz, NULLIF(${p(r.userId ?? '')}, '')::bigint, ${p(r.username ?? '')},
      ${p(r.addr ?? '10.1.2.3')}, ${p(r.module)}, ${p(r.action)}, ${p(r.otype ?? '')},
      NULLIF(${p(r.oid ?? '')}, '')::bigint, ${p(r.label ?? '')},
      NULLIF(${p(r.changes ? JSON.stringify(r.changes) : '')}, '')::jsonb, ${p(r.result ?? 'ok')})`;
  });
  sql(`INSERT INTO audit_log (at, user_id, username, client_addr, module, action, object_type,
         object_id, object_label, changes, result) VALUES ${values.join(', ')}`, ...params);
}
const insertRow = (r) => insertRows([r]);

// The object labels shown in the table body, in page order.
function labels(html, tag = TAG) {
  const body = html.split('<tbody>')[1]?.split('</tbody>')[0] ?? '';
  return [...body.matchAll(new RegExp(`<td>(${tag} [a-z0-9 ]+)<span class="sub">`, 'g'))].map((m) => m[1]);
}

// The user names of the login-log table body, in page order.
function loginUsers(html) {
  const body = html.split('<tbody>')[1]?.split('</tbody>')[0] ?? '';
  return [...body.matchAll(/<tr>\s*<td class="nowrap">[^<]*<\/td>\s*<td>([^<]*)<\/td>/g)].map((m) => m[1]);
}

const unescape = (s) => s.replaceAll('&amp;', '&');

let admin; // { u, c } an administrator signed in, English
let userA;
let userB;

before(async () => {
  const u = makeUser('aud', ['--admin']);
  const c = new Client({ lang: 'en' });
  await c.login(u.username, u.password);
  admin = { u, c };
  userA = makeUser('auda');
  userB = makeUser('audb');
  const a = userId(userA.username);
  const b = userId(userB.username);
  // Four operations in early February 2001, company time (Asia/Shanghai, UTC+8).
  insertRows([
    { at: '2001-02-03 10:00:00+08', userId: a, username: userA.username, module: 'org',
      action: 'create', otype: 'department', oid: '901', label: `${TAG} alpha`,
      changes: { name: { old: '', new: 'Alpha dept' } } },
    { at: '2001-02-04 23:30:00+08', userId: b, username: userB.username, module: 'settings',
      action: 'update', otype: 'setting', oid: '902', label: `${TAG} beta`,
      changes: { phone: { old: '021-1111', new: '021-2222' }, name: { old: 'Old', new: 'New' } } },
    { at: '2001-02-05 00:30:00+08', userId: a, username: userA.username, module: 'org',
      action: 'delete', otype: 'department', oid: '901', label: `${TAG} gamma`, result: 'denied' },
    { at: '2001-02-06 12:00:00+08', userId: b, username: userB.username, module: 'org',
      action: 'update', otype: 'role', oid: '903', label: `${TAG} delta`, result: 'failed',
      changes: { a: { old: '1', new: '2' }, b: { old: '1', new: '2' }, c: { old: '1', new: '2' },
        d: { old: '1', new: '' }, e: { old: '', new: '5' } } },
  ]);
});

// --- the table itself -----------------------------------------------------------------------

test('the app role may add and read audit rows but never change or remove them', () => {
  const pgbin = readdirSync('/usr/lib/postgresql').sort((x, y) => Number(x) - Number(y)).pop();
  const psql = `/usr/lib/postgresql/${pgbin}/bin/psql`;
  const socket = existsSync(path.join(VAR, 'pg-elsewhere'))
    ? path.join(VAR, 'pg-elsewhere', 'pgrun') : path.join(VAR, 'pgrun');
  const run = (q) => {
    try {
      const out = execFileSync(psql, ['-h', socket, '-U', 'kexin_app', '-d', 'kexin', '-X', '-A',
        '-t', '-v', 'ON_ERROR_STOP=1', '-c', q], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return { ok: true, out: out.trim() };
    } catch (e) {
      return { ok: false, out: String(e.stderr) };
    }
  };
  assert.equal(run('SELECT current_user').out, 'kexin_app');
  for (const q of [`UPDATE audit_log SET action = 'x' WHERE object_label = '${TAG} alpha'`,
    `DELETE FROM audit_log WHERE object_label = '${TAG} alpha'`, 'TRUNCATE audit_log']) {
    const r = run(q);
    assert.equal(r.ok, false, `${q} must fail`);
    assert.match(r.out, /permission denied/, q);
  }
  const ins = run(`INSERT INTO audit_log (module, action, object_label) VALUES ('test', 'create', 'app-${TAG}') RETURNING id`);
  assert.ok(ins.ok, ins.out);
  assert.match(ins.out, /^\d+/);
  const sel = run(`SELECT action FROM audit_log WHERE object_label = '${TAG} alpha'`);
  assert.deepEqual(sel, { ok: true, out: 'create' });
});

// --- pages ----------------------------------------------------------------------------------

test('the operation log renders for an admin in English and Chinese, with tabs and nav link', async () => {
  const en = await admin.c.get('/admin/audit');
  assert.equal(en.status, 200);
  assert.match(en.text, /<html lang="en">/);
  assert.match(en.text, /<a href="\/admin\/audit" class="active" aria-current="page">Operation log<\/a>/);
  assert.match(en.text, /<a href="\/admin\/logins">Login log<\/a>/);
  assert.match(en.text, /class="mainnav"[\s\S]*href="\/admin\/audit"[^>]*>Audit log</);
  assert.match(en.text, /href="\/admin\/audit\/export">Export to Excel</);

  const zh = new Client({ lang: 'zh-CN' });
  await zh.login(admin.u.username, admin.u.password);
  const page = await zh.get('/admin/audit');
  assert.equal(page.status, 200);
  assert.match(page.text, /<html lang="zh-CN">/);
  assert.match(page.text, />操作日志<\/a>/);
  assert.match(page.text, />登录日志<\/a>/);
  assert.match(page.text, />导出 Excel</);
  // module and action names are translated from the permission catalogue / action table
  const f = await zh.get(`/admin/audit?q=${TAG}+alpha`);
  assert.match(f.text, /<td>组织与角色<\/td>\s*<td>新建<\/td>/);
  assert.match(f.text, /部门 #901/);
  assert.match(f.text, /<span class="badge badge-ok">成功<\/span>/);

  const logins = await zh.get('/admin/logins');
  assert.equal(logins.status, 200);
  assert.match(logins.text, /<a href="\/admin\/logins" class="active" aria-current="page">登录日志<\/a>/);
  const enLogins = await admin.c.get('/admin/logins');
  assert.equal(enLogins.status, 200);
  assert.match(enLogins.text, /aria-current="page">Login log<\/a>/);
});

test('the operation log shows time in company time, object, changes and result badges', async () => {
  const res = await admin.c.get(`/admin/audit?q=${TAG}`);
  assert.equal(res.status, 200);
  assert.deepEqual(labels(res.text), [`${TAG} delta`, `${TAG} gamma`, `${TAG} beta`, `${TAG} alpha`]);
  // 2001-02-04 23:30 in Shanghai is 15:30 UTC: the page shows company time
  assert.match(res.text, /<td class="nowrap">2001-02-04 23:30:00<\/td>\s*<td>audb/);
  assert.match(res.text, /<td>Settings<\/td>\s*<td>Update<\/td>/);
  assert.match(res.text, /<a href="\?otype=setting&amp;oid=902"[^>]*>Setting #902<\/a>/);
  // changes: old struck through, new in green, sorted by field, long lists cut with a count
  assert.match(res.text, /<li>name: <span class="diff-old">Old<\/span> → <span class="diff-new">New<\/span><\/li>/);
  assert.match(res.text, /<li>phone: <span class="diff-old">021-1111<\/span> → <span class="diff-new">021-2222<\/span><\/li>/);
  assert.match(res.text, /<li>name: <span class="diff-new">Alpha dept<\/span><\/li>/);
  assert.match(res.text, /title="a: 1 → 2; b: 1 → 2; c: 1 → 2; d: 1 → ; e:  → 5"/);
  assert.match(res.text, /<li class="muted">More changes: 2<\/li>/);
  assert.match(res.text, /<span class="badge badge-danger">Denied<\/span>/);
  assert.match(res.text, /<span class="badge badge-warn">Failed<\/span>/);
  // sign-in events are not operations
  assert.doesNotMatch(res.text, /<td>Signed in<\/td>/);
});

// --- filters --------------------------------------------------------------------------------

test('filters narrow the operation log: user, module, action, result, object', async () => {
  const get = async (qs) => {
    const res = await admin.c.get(`/admin/audit?q=${TAG}&${qs}`);
    assert.equal(res.status, 200, qs);
    return labels(res.text).map((l) => l.slice(TAG.length + 1));
  };
  const a = userId(userA.username);
  assert.deepEqual(await get(`uid=${a}`), ['gamma', 'alpha']);
  assert.deepEqual(await get(`user=${userB.username.toUpperCase()}`), ['delta', 'beta'], 'typed name, any case');
  assert.deepEqual(await get('module=org'), ['delta', 'gamma', 'alpha']);
  assert.deepEqual(await get('action=update'), ['delta', 'beta']);
  assert.deepEqual(await get('module=org&action=update'), ['delta']);
  assert.deepEqual(await get('result=denied'), ['gamma']);
  assert.deepEqual(await get('result=failed'), ['delta']);
  assert.deepEqual(await get('otype=department'), ['gamma', 'alpha']);
  assert.deepEqual(await get('otype=department&oid=901'), ['gamma', 'alpha']);
  assert.deepEqual(await get('oid=902'), ['beta']);
  assert.deepEqual(await get('user=nobody-at-all'), []);
  const only = await admin.c.get(`/admin/audit?q=${TAG}+be`);
  assert.deepEqual(labels(only.text), [`${TAG} beta`]);
  // the free text is literal: LIKE's wildcards match only themselves
  assert.deepEqual(labels((await admin.c.get(`/admin/audit?q=${TAG}%25a`)).text), []);
  assert.deepEqual(labels((await admin.c.get(`/admin/audit?q=${TAG}_alpha`)).text), []);
});

test('the date range is a range of days in the company time zone, both ends included', async () => {
  const get = async (qs) => labels((await admin.c.get(`/admin/audit?q=${TAG}&${qs}`)).text)
    .map((l) => l.slice(TAG.length + 1));
  // beta is 2001-02-04 23:30 and gamma 2001-02-05 00:30 in Shanghai (both 2001-02-04 in UTC)
  assert.deepEqual(await get('from=2001-02-04&to=2001-02-04'), ['beta']);
  assert.deepEqual(await get('from=2001-02-05&to=2001-02-05'), ['gamma']);
  assert.deepEqual(await get('from=2001-02-04'), ['delta', 'gamma', 'beta']);
  assert.deepEqual(await get('to=2001-02-04'), ['beta', 'alpha']);
  assert.deepEqual(await get('from=2001-02-07'), []);
});

test('bad filter values are ignored with a warning, never an error', async () => {
  const res = await admin.c.get(`/admin/audit?q=${TAG}&from=2001-02-30&to=yesterday&oid=12x`
    + '&sort=evil&dir=sideways&page=-4&per=7&module=%3Cx%3E&result=maybe');
  assert.equal(res.status, 200);
  assert.match(res.text, /class="alert alert-warn">A date was not in the form YYYY-MM-DD/);
  assert.match(res.text, /class="alert alert-warn">The object ID must be a whole number/);
  // the unknown module is a filter of its own (no rows) and stays visible, escaped
  assert.match(res.text, /<option value="&lt;x&gt;" selected>&lt;x&gt;<\/option>/);
  assert.deepEqual(labels(res.text), []);
  assert.doesNotMatch(res.text, /Export to Excel/, 'nothing to export');
  const ok = await admin.c.get(`/admin/audit?q=${TAG}&from=2001-02-30&oid=12x&result=maybe`);
  assert.equal(labels(ok.text).length, 4, 'invalid values filter nothing');
  // the form keeps what was typed
  assert.match(ok.text, /name="from" value="2001-02-30"/);
  assert.match(ok.text, /name="oid" value="12x"/);
});

// --- paging and sorting ---------------------------------------------------------------------

test('paging and sort links keep the filters', async () => {
  const tag = `${TAG}p`;
  const a = userId(userA.username);
  const b = userId(userB.username);
  insertRows(Array.from({ length: 25 }, (_, i) => {
    const mine = i % 2 === 0;
    return { at: `2002-03-01 10:${String(i).padStart(2, '0')}:00+08`, userId: mine ? a : b,
      username: mine ? userA.username : userB.username, module: 'org', action: 'update',
      otype: 'user', oid: String(1000 + i), label: `${tag} row ${String(i).padStart(2, '0')}` };
  }));
  const first = await admin.c.get(`/admin/audit?q=${tag}&per=20`);
  assert.equal(first.status, 200);
  const rows1 = labels(first.text, tag);
  assert.equal(rows1.length, 20);
  assert.equal(rows1[0], `${tag} row 24`, 'newest first');
  assert.match(first.text, /1–20 of 25/);
  const next = /<a class="page" href="([^"]+)">2<\/a>/.exec(first.text);
  assert.ok(next, 'a link to page 2');
  const url = unescape(next[1]);
  assert.match(url, new RegExp(`^/admin/audit\\?.*q=${tag}`));
  assert.match(url, /per=20/);
  const second = await admin.c.get(url);
  assert.deepEqual(labels(second.text, tag), [4, 3, 2, 1, 0].map((n) => `${tag} row 0${n}`));

  // sort links carry the filters and start again at page 1
  const sortUser = /<th><a href="([^"]+)" class="">User<\/a><\/th>/.exec(second.text);
  assert.ok(sortUser, 'a sort link for the user column');
  const sortUrl = unescape(sortUser[1]);
  assert.match(sortUrl, new RegExp(`q=${tag}`));
  assert.match(sortUrl, /sort=user&dir=asc|dir=asc.*sort=user|sort=user.*dir=asc/);
  assert.doesNotMatch(sortUrl, /page=/);
  const sorted = await admin.c.get(sortUrl);
  assert.match(sorted.text, /<th><a href="[^"]+" class="asc">User<\/a><\/th>/);
  const rows = labels(sorted.text, tag);
  assert.equal(rows.length, 20);
  // userA's name sorts before userB's; within a user, newest first
  assert.deepEqual(rows.slice(0, 3), [`${tag} row 24`, `${tag} row 22`, `${tag} row 20`]);
  const byTimeAsc = await admin.c.get(`/admin/audit?q=${tag}&sort=at&dir=asc&per=20`);
  assert.equal(labels(byTimeAsc.text, tag)[0], `${tag} row 00`);
  // the export link keeps the filters and the order but not the page
  const exp = /href="(\/admin\/audit\/export[^"]*)"/.exec(second.text);
  assert.ok(exp);
  assert.match(unescape(exp[1]), new RegExp(`q=${tag}`));
  assert.doesNotMatch(unescape(exp[1]), /page=/);
});

// --- escaping -------------------------------------------------------------------------------

test('hostile labels, changes, names and addresses are escaped', async () => {
  const tag = `${TAG}x`;
  insertRow({ at: '2003-01-01 09:00:00+08', username: `<b>${tag}</b>`, addr: '"><script>alert(3)</script>',
    module: '<i>mod</i>', action: '<u>act</u>', otype: '<s>t</s>', oid: '7',
    label: `${tag} <script>alert(1)</script>`,
    changes: { '<b>field</b>': { old: '<img src=x onerror=alert(2)>', new: '"\'&{x}' } } });
  insertRow({ at: '2003-01-01 09:00:01+08', module: 'org', action: 'update', label: `${tag} odd`,
    changes: ['not', 'an', 'object'] });
  const res = await admin.c.get(`/admin/audit?q=${tag}`);
  assert.equal(res.status, 200);
  assert.doesNotMatch(res.text, /<script>alert/);
  assert.doesNotMatch(res.text, /<img src=x/);
  assert.doesNotMatch(res.text, /<b>field/);
  assert.match(res.text, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(res.text, /<span class="diff-old">&lt;img src=x onerror=alert\(2\)&gt;<\/span>/);
  assert.match(res.text, /&lt;b&gt;field&lt;\/b&gt;: /);
  assert.match(res.text, /&lt;i&gt;mod&lt;\/i&gt;/);
  // an object type that is not a plain code gets no history link
  assert.doesNotMatch(res.text, /otype=&lt;s/);
  assert.match(res.text, new RegExp(`<td>${tag} odd<span class="sub">`), 'changes that are not an object are skipped');
  const logins = await admin.c.get(`/admin/logins?user=%3Cb%3E${tag}%3C%2Fb%3E`);
  assert.equal(logins.status, 200);
  assert.doesNotMatch(logins.text, new RegExp(`<b>${tag}`));
});

// --- the login log --------------------------------------------------------------------------

test('the login log lists sign-in events with translated names and filters them', async () => {
  const ghost = `ghost${TAG}`;
  insertRows([
    ['2004-05-01 08:00:00+08', 'login_failed', 'failed', '198.51.100.7'],
    ['2004-05-01 08:01:00+08', 'login_failed', 'failed', '198.51.100.8'],
    ['2004-05-02 09:00:00+08', 'login', 'ok', '203.0.113.5'],
    ['2004-05-03 09:00:00+08', 'access', 'denied', '203.0.113.5'],
    ['2004-05-03 18:00:00+08', 'logout', 'ok', '203.0.113.5'],
  ].map(([at, action, result, addr]) => ({ at, username: ghost, addr, module: 'auth', action,
    otype: 'user', label: ghost, result })));

  const get = async (qs, c = admin.c) => {
    const res = await c.get(`/admin/logins?user=${ghost}&${qs}`);
    assert.equal(res.status, 200, qs);
    return res;
  };
  const all = await get('');
  assert.equal(loginUsers(all.text).length, 5);
  assert.match(all.text, /<td class="nowrap">2004-05-03 18:00:00<\/td>\s*<td>ghost[^<]+<\/td>\s*<td>203\.0\.113\.5<\/td>\s*<td>Signed out<\/td>/);
  assert.match(all.text, /<td>Failed sign-in<\/td>\s*<td><span class="badge badge-warn">Failed<\/span>/);
  assert.match(all.text, /<td>Access denied<\/td>\s*<td><span class="badge badge-danger">Denied<\/span>/);
  assert.match(all.text, /<td>Signed in<\/td>\s*<td><span class="badge badge-ok">Succeeded<\/span>/);
  assert.equal(loginUsers((await get('result=failed')).text).length, 2);
  assert.equal(loginUsers((await get('action=login_failed')).text).length, 2);
  assert.equal(loginUsers((await get('addr=198.51.100.')).text).length, 2);
  assert.equal(loginUsers((await get('addr=198.51.100.8')).text).length, 1);
  assert.equal(loginUsers((await get('addr=203.0.113.5&result=ok')).text).length, 2);
  assert.equal(loginUsers((await get('from=2004-05-02&to=2004-05-02')).text).length, 1);
  assert.equal(loginUsers((await get('from=2004-05-03')).text).length, 2);

  const zh = new Client({ lang: 'zh-CN' });
  await zh.login(admin.u.username, admin.u.password);
  const page = await get('', zh);
  assert.match(page.text, /<td>登录失败<\/td>/);
  assert.match(page.text, /<td>退出登录<\/td>/);
  assert.match(page.text, /<td>无权访问<\/td>/);

  // operations stay out of the login log
  const ops = await admin.c.get(`/admin/logins?user=${userA.username}`);
  assert.doesNotMatch(ops.text, new RegExp(`${TAG} (alpha|gamma)`));
});

test('a real sign-in appears in the login log under the account, and not in the operation log', async () => {
  const u = makeUser('audl');
  const c = new Client({ lang: 'en' });
  await c.login(u.username, u.password);
  const res = await admin.c.get(`/admin/logins?user=${u.username}`);
  assert.equal(res.status, 200);
  assert.deepEqual(loginUsers(res.text), [u.username]);
  assert.match(res.text, /<td>Signed in<\/td>/);
  const ops = await admin.c.get(`/admin/audit?user=${u.username}`);
  assert.match(ops.text, /class="empty"/);
});

// --- exports --------------------------------------------------------------------------------

// Downloads url with c's session; returns { status, headers, file } (file: path of the body).
async function download(c, url) {
  const res = await fetch(BASE + url, { headers: { cookie: c.cookieHeader(), 'accept-language': 'en' }, redirect: 'manual' });
  const dir = mkdtempSync(path.join(tmpdir(), 'kexin-audit-'));
  const file = path.join(dir, 'out.xlsx');
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return { status: res.status, headers: res.headers, file, dir };
}

function sheetXml(file) {
  return execFileSync('unzip', ['-p', file, 'xl/worksheets/sheet1.xml'], { encoding: 'utf8' });
}

function today() {
  return sql("SELECT to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD')")[0][0];
}

test('the operation log export is a real .xlsx of exactly the filtered rows, and is audited', async () => {
  const u = makeUser('audx', ['--admin']);
  const c = new Client({ lang: 'en' });
  await c.login(u.username, u.password);
  const tag = `${TAG}e`;
  insertRow({ at: '2005-06-01 10:00:00+08', username: userA.username, module: 'org', action: 'create',
    otype: 'department', oid: '5', label: `${tag} one`, changes: { name: { old: 'x', new: 'y' } } });
  insertRow({ at: '2005-06-02 10:00:00+08', username: userA.username, module: 'org', action: 'update',
    otype: 'department', oid: '5', label: `=1+2 ${tag} formula` });
  insertRow({ at: '2005-06-03 10:00:00+08', username: userA.username, module: 'settings', action: 'update',
    otype: 'setting', oid: '6', label: `${tag} other module` });

  const d = await download(c, `/admin/audit/export?q=${tag}&module=org&page=3`);
  try {
    assert.equal(d.status, 200);
    assert.equal(d.headers.get('content-type'), 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const name = `audit-${today()}.xlsx`;
    assert.match(d.headers.get('content-disposition'), new RegExp(`attachment; filename="${name}"`));
    const xml = sheetXml(d.file);
    const rows = [...xml.matchAll(/<row /g)].length;
    assert.equal(rows, 3, 'header + the two filtered rows (the page number is ignored)');
    for (const h of ['Time', 'User', 'Address', 'Module', 'Action', 'Object type', 'Object ID', 'Object', 'Changes', 'Result']) {
      assert.match(xml, new RegExp(`<t>${h}</t>`), h);
    }
    assert.match(xml, new RegExp(`<t>${tag} one</t>`));
    assert.match(xml, /<t>name: x → y<\/t>/);
    assert.match(xml, /<t>Organisation and roles<\/t>/);
    assert.match(xml, new RegExp(`<t>'=1\\+2 ${tag} formula</t>`), 'formula-like text gets an apostrophe');
    assert.doesNotMatch(xml, new RegExp(`<t>=1\\+2 ${tag}`));
    assert.doesNotMatch(xml, new RegExp(`${tag} other module`));
    assert.doesNotMatch(xml, /<f>/, 'no formulas at all');

    const audit = sql(`SELECT module, action, object_type, object_label, result FROM audit_log
                        WHERE username = :'p1' AND action = 'export'`, u.username);
    assert.deepEqual(audit, [['audit', 'export', 'audit_log', `${name} (2)`, 'ok']]);
    // and it shows in the operation log itself
    const page = await c.get(`/admin/audit?uid=${userId(u.username)}&action=export`);
    assert.match(page.text, new RegExp(`<td>${name.replace('.', '\\.')} \\(2\\)<span class="sub">Operation log</span></td>`));
  } finally {
    rmSync(d.dir, { recursive: true, force: true });
  }
});

test('the login log export has the filtered sign-in events', async () => {
  const ghost = `xghost${TAG}`;
  insertRow({ at: '2006-01-01 08:00:00+08', username: ghost, addr: '192.0.2.1', module: 'auth',
    action: 'login_failed', otype: 'user', label: ghost, result: 'failed' });
  insertRow({ at: '2006-01-01 08:05:00+08', username: ghost, addr: '192.0.2.1', module: 'auth',
    action: 'login', otype: 'user', label: ghost, result: 'ok' });
  const d = await download(admin.c, `/admin/logins/export?user=${ghost}&result=failed`);
  try {
    assert.equal(d.status, 200);
    assert.match(d.headers.get('content-disposition'), new RegExp(`filename="logins-${today()}\\.xlsx"`));
    const xml = sheetXml(d.file);
    assert.equal([...xml.matchAll(/<row /g)].length, 2);
    for (const h of ['Time', 'User', 'Address', 'Event', 'Result']) assert.match(xml, new RegExp(`<t>${h}</t>`));
    assert.match(xml, /<t>Failed sign-in<\/t>/);
    assert.match(xml, /<t>192\.0\.2\.1<\/t>/);
    assert.doesNotMatch(xml, /<t>Signed in<\/t>/);
    const audit = sql(`SELECT object_type, object_label FROM audit_log WHERE username = :'p1'
                        AND action = 'export' ORDER BY id DESC LIMIT 1`, admin.u.username);
    assert.deepEqual(audit, [['login_log', `logins-${today()}.xlsx (1)`]]);
  } finally {
    rmSync(d.dir, { recursive: true, force: true });
  }
});

// --- permissions ----------------------------------------------------------------------------

// A signed-in user whose one role grants perms (e.g. ['view']) on module audit.
async function userWith(actions) {
  const u = makeUser('audp');
  const id = userId(u.username);
  if (actions.length) {
    const code = `aud_${TAG}_${actions.join('_')}`.slice(0, 31);
    const role = sql(`INSERT INTO roles (code, name) VALUES (:'p1', :'p1') RETURNING id`, code)[0][0];
    for (const a of actions) sql(`INSERT INTO role_permissions (role_id, module, action) VALUES (:'p1', 'audit', :'p2')`, role, a);
    sql(`INSERT INTO user_roles (user_id, role_id) VALUES (:'p1', :'p2')`, id, role);
  }
  const c = new Client({ lang: 'en' });
  await c.login(u.username, u.password);
  return { u, c };
}

const URLS = ['/admin/audit', '/admin/logins', '/admin/audit/export', '/admin/logins/export'];

test('without audit.view: 403 on both pages and both exports, and no nav link', async () => {
  const { c } = await userWith([]);
  for (const url of URLS) assert.equal((await c.get(url)).status, 403, url);
  const home = await c.get('/');
  assert.equal(home.status, 200);
  assert.doesNotMatch(home.text, /href="\/admin\/audit"/);
  // export alone is not enough to read the log
  const { c: exportOnly } = await userWith(['export']);
  for (const url of URLS) assert.equal((await exportOnly.get(url)).status, 403, url);
});

test('with audit.view but not audit.export: pages yes, exports no, no Export button', async () => {
  const { c } = await userWith(['view']);
  const home = await c.get('/');
  assert.match(home.text, /href="\/admin\/audit"/);
  for (const url of ['/admin/audit', '/admin/logins']) {
    const res = await c.get(url);
    assert.equal(res.status, 200, url);
    assert.doesNotMatch(res.text, /href="\/admin\/(audit|logins)\/export/, `${url} has no export link`);
    assert.doesNotMatch(res.text, /Export to Excel/);
  }
  assert.equal((await c.get('/admin/audit/export')).status, 403);
  assert.equal((await c.get('/admin/logins/export')).status, 403);
});

test('with audit.view and audit.export: the Export button and the file', async () => {
  const { c } = await userWith(['view', 'export']);
  const page = await c.get(`/admin/audit?q=${TAG}+alpha`);
  assert.match(page.text, /href="\/admin\/audit\/export\?q=[^"]+">Export to Excel</);
  const d = await download(c, `/admin/audit/export?q=${TAG}+alpha`);
  try {
    assert.equal(d.status, 200);
    assert.equal([...sheetXml(d.file).matchAll(/<row /g)].length, 2);
  } finally {
    rmSync(d.dir, { recursive: true, force: true });
  }
});

test('the audit pages need a session', async () => {
  for (const url of URLS) {
    const res = await new Client().get(url);
    assert.equal(res.status, 303, url);
    assert.match(res.headers.get('location'), /^\/login\?next=/);
  }
});
