// import.mjs — times an import of N customers (with a contact each) through the pages, as a person
// does it: upload a UTF-8 CSV, confirm the column mapping, open the preview, commit.
//   KEXIN_URL=http://127.0.0.1:PORT node tests/bench/import.mjs USER PASSWORD [ROWS]
// Prints one line: IMPORT <rows> <upload s> <map s> <preview s> <commit s> <total s>;
// IMPORT-TIMEOUT <rows> <upload s> <map s> <preview s> <commit start, epoch ms> when the commit
// outlived the web server's timeout (the worker goes on: the caller can wait for the database);
// or IMPORT-FAILED <step> <status> <message>.
import { Client } from '../lib/client.js';

const [user, password, rowsArg] = process.argv.slice(2);
const rows = Number(rowsArg || 10000);

// Names the benchmark generator never makes (its brand cores use other characters): 10 cities ×
// 100 cores × 10 trades = 10,000 distinct name keys per file; beyond that a number is added.
const cities = [['杭州', '0571', '浙江'], ['宁波', '0574', '浙江'], ['苏州', '0512', '江苏'], ['无锡', '0510', '江苏'],
  ['深圳', '0755', '广东'], ['东莞', '0769', '广东'], ['青岛', '0532', '山东'], ['合肥', '0551', '安徽'],
  ['厦门', '0592', '福建'], ['成都', '028', '四川']];
const first = '云星光峰祥福宝富玉龙';
const second = '腾宸睿晟骏弘瀚锦翔誉';
const trades = [['精密机械', '制造业'], ['汽车零部件', '制造业'], ['电子科技', '信息技术'], ['新材料', '能源化工'],
  ['食品饮料', '制造业'], ['包装', '制造业'], ['物流', '物流运输'], ['自动化设备', '批发零售'], ['塑胶制品', '制造业'],
  ['医疗器械', '医疗卫生']];
const surnames = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗';
const given = ['伟', '芳', '娜', '敏', '静', '强', '磊', '军', '洋', '勇', '建国', '晓东', '海峰', '俊杰', '子涵', '佳琪'];

function csv() {
  const head = ['客户名称', '简称', '电话', '省份', '城市', '地址', '所属行业', '客户状态', '联系人', '职务', '手机'];
  const lines = [head.join(',')];
  for (let i = 0; i < rows; i++) {
    const [city, area, prov] = cities[i % 10];
    const core = first[Math.floor(i / 10) % 10] + second[Math.floor(i / 100) % 10];
    const [trade, industry] = trades[Math.floor(i / 1000) % 10];
    const extra = i >= 10000 ? String(Math.floor(i / 10000)) : '';
    lines.push([`${city}${core}${trade}${extra}有限公司`, `${core}${trade.slice(0, 2)}`,
      `${area}-${String(80000000 + ((i * 7919) % 10000000))}`, prov, city, `高新区创业路 ${1 + (i % 900)} 号`,
      industry, i % 2 ? 'potential' : 'active',
      surnames[i % 20] + given[(i * 7) % 16], '采购经理', `139${String(10000000 + i * 37).slice(-8)}`].join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

const c = new Client();
const t = () => performance.now() / 1000;
function fail(step, res, extra = '') {
  const msg = (res.text.match(/class="alert[^"]*"[^>]*>([^<]*)/) || [])[1] || extra;
  console.log(`IMPORT-FAILED ${step} ${res.status} ${msg.trim().slice(0, 200)}`);
  process.exit(0);
}

await c.login(user, password);
const start = await c.get('/customers/import');
if (start.status !== 200) fail('start', start);
const t0 = t();
const form = new FormData();
form.set('_csrf', Client.csrfOf(start.text));
form.set('mode', 'skip');
form.set('owner', '');
form.set('file', new Blob([csv()], { type: 'text/csv' }), `bench-${rows}.csv`);
const up = await c.request('POST', '/customers/import', { body: form });
if (up.status !== 303) fail('upload', up);
const mapUrl = up.headers.get('location');
const t1 = t();

const mapPage = await c.get(mapUrl);
if (mapPage.status !== 200) fail('map', mapPage);
const keys = ['name', 'short_name', 'phone', 'province', 'city', 'address', 'industry', 'status',
  'contact_name', 'contact_title', 'contact_mobile'];
const fields = { mode: 'skip', owner: '' };
keys.forEach((k, i) => { fields[`col_${i}`] = k; });
const mapped = await c.post(mapUrl, fields);
if (mapped.status !== 303) fail('mapping', mapped);
const previewUrl = mapped.headers.get('location');
const t2 = t();

const preview = await c.get(previewUrl);
if (preview.status !== 200) fail('preview', preview);
const digest = (preview.text.match(/name="digest" value="([^"]*)"/) || [])[1];
if (!digest) fail('preview', preview, 'no digest on the preview');
const t3 = t();

const commitUrl = previewUrl.replace('/preview', '/commit');
const commitStart = Date.now();
const done = await c.request('POST', commitUrl, {
  body: new URLSearchParams({ _csrf: Client.csrfOf(preview.text), digest }).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
});
if (done.status === 504) {
  console.log(`IMPORT-TIMEOUT ${rows} ${(t1 - t0).toFixed(2)} ${(t2 - t1).toFixed(2)} ${(t3 - t2).toFixed(2)} ${commitStart}`);
  process.exit(0);
}
if (done.status !== 303) fail('commit', done);
const t4 = t();
console.log(`IMPORT ${rows} ${(t1 - t0).toFixed(2)} ${(t2 - t1).toFixed(2)} ${(t3 - t2).toFixed(2)} ${(t4 - t3).toFixed(2)} ${(t4 - t0).toFixed(2)}`);
