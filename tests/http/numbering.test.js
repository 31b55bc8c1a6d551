// numbering.test.js — document numbers stay unique and gapless when 20 processes take numbers at
// once and a tenth of their transactions roll back (tests/db/numbering_race.c drives numbering_next).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ROOT, VAR, sql, stack } from '../lib/client.js';

test('20 concurrent creators with 10% rollbacks leave exactly 1..N', () => {
  const type = `race_${Date.now().toString(36)}`;
  sql(`INSERT INTO doc_sequences (doc_type, name, prefix, pattern, reset) VALUES (:'p1', 'Race', 'RT', '{prefix}{######}', 'never')`, type);
  const out = execFileSync(path.join(ROOT, 'build/rel/tests/db/numbering_race'), [type, '20', '15', '10'], {
    encoding: 'utf8', env: { ...process.env, KEXIN_VAR: VAR, KEXIN_ROOT: ROOT, KEXIN_DSN: stack('dsn').trim() },
  });
  const nums = out.split('\n').filter(Boolean);
  assert.ok(nums.length > 200 && nums.length < 300, `committed ${nums.length} of 300`);
  const values = nums.map((n) => { assert.match(n, /^RT\d{6}$/); return Number(n.slice(2)); }).sort((a, b) => a - b);
  assert.deepEqual(values, Array.from({ length: values.length }, (_, i) => i + 1), 'gapless and unique');
  const [[last]] = sql(`SELECT last_value FROM doc_counters WHERE doc_type = :'p1'`, type);
  assert.equal(Number(last), values.length);
  sql(`DELETE FROM doc_sequences WHERE doc_type = :'p1'`, type);
});

test('daily numbers carry the date in the company time zone and restart per day', () => {
  const type = `daily_${Date.now().toString(36)}`;
  sql(`INSERT INTO doc_sequences (doc_type, name, prefix, pattern, reset) VALUES (:'p1', 'Daily', 'QT', '{prefix}{yyyy}{mm}{dd}{####}', 'daily')`, type);
  const out = execFileSync(path.join(ROOT, 'build/rel/tests/db/numbering_race'), [type, '1', '3', '0'], {
    encoding: 'utf8', env: { ...process.env, KEXIN_VAR: VAR, KEXIN_ROOT: ROOT, KEXIN_DSN: stack('dsn').trim() },
  });
  const [[today]] = sql(`SELECT to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD')`);
  assert.deepEqual(out.trim().split('\n'), [`QT${today}0001`, `QT${today}0002`, `QT${today}0003`]);
  const rows = sql(`SELECT period, last_value FROM doc_counters WHERE doc_type = :'p1'`, type);
  assert.deepEqual(rows, [[today, '3']]);
  sql(`DELETE FROM doc_sequences WHERE doc_type = :'p1'`, type);
});
