-- gen_customers.sql — benchmark data: customers number :from … :to (codes KH000001 …), three
-- contacts each, through the application's own triggers (search text and bigrams are
-- maintained as when people type the data in). One transaction per call; scripts/bench.sh
-- runs several calls side by side and ANALYZEs afterwards.
--
--   psql -v from=1 -v to=10000 -f tests/bench/gen_customers.sql
--
-- Names are a bijection of the customer number onto city × brand core × trade (44 × 807 × 40 =
-- 1,420,320 combinations), so name keys are unique up to that many customers: the key is
-- city + core + trade, as cgi/core/dedup.c computes it for these names (legal form dropped, a
-- bracketed place moved to the front). Numbers up to 1,420,320 map to distinct combinations
-- because the multiplier is prime to the count. Owners: the eight demo salespeople and
-- managers (users with those names must exist), ~5% in the public pool.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
-- Generated rows have wild estimates; JIT would compile for seconds per statement.
SET jit = off;
BEGIN;

CREATE TEMP TABLE bv_city (n integer, prov integer, city integer, prefix text, area text, districts text[])
    ON COMMIT DROP;
INSERT INTO bv_city (prov, city, prefix, area, districts, n)
SELECT v.*, row_number() OVER () - 1 FROM (VALUES
    (330000, 330100, '杭州', '0571', '{余杭区,滨江区,萧山区,西湖区,临平区,钱塘区}'::text[]),
    (330000, 330200, '宁波', '0574', '{北仑区,鄞州区,镇海区,慈溪市,余姚市}'),
    (330000, 330300, '温州', '0577', '{瓯海区,龙湾区,鹿城区,乐清市,瑞安市}'),
    (330000, 330400, '嘉兴', '0573', '{南湖区,秀洲区,嘉善县,平湖市,海宁市}'),
    (330000, 330500, '湖州', '0572', '{吴兴区,南浔区,长兴县,德清县}'),
    (330000, 330600, '绍兴', '0575', '{越城区,柯桥区,上虞区,诸暨市}'),
    (330000, 330700, '金华', '0579', '{婺城区,金东区,义乌市,永康市}'),
    (330000, 331000, '台州', '0576', '{椒江区,黄岩区,路桥区,温岭市}'),
    (310000, 310115, '上海', '021', '{浦东新区}'),
    (340000, 340100, '合肥', '0551', '{蜀山区,包河区,庐阳区,肥西县}'),
    (340000, 340200, '芜湖', '0553', '{鸠江区,弋江区,镜湖区}'),
    (350000, 350100, '福州', '0591', '{仓山区,鼓楼区,晋安区,闽侯县}'),
    (350000, 350200, '厦门', '0592', '{湖里区,集美区,海沧区,翔安区}'),
    (350000, 350500, '泉州', '0595', '{丰泽区,晋江市,石狮市,南安市}'),
    (350000, 350900, '宁德', '0593', '{蕉城区,福安市,福鼎市}'),
    (320000, 320500, '苏州', '0512', '{吴中区,相城区,吴江区,昆山市,太仓市,常熟市}'),
    (320000, 320200, '无锡', '0510', '{新吴区,锡山区,惠山区,江阴市,宜兴市}'),
    (320000, 320400, '常州', '0519', '{武进区,新北区,天宁区,金坛区}'),
    (320000, 320100, '南京', '025', '{江宁区,浦口区,栖霞区,六合区}'),
    (320000, 320600, '南通', '0513', '{崇川区,通州区,海门区,如皋市}'),
    (320000, 321000, '扬州', '0514', '{邗江区,江都区,仪征市}'),
    (320000, 320300, '徐州', '0516', '{鼓楼区,铜山区,邳州市}'),
    (320000, 320900, '盐城', '0515', '{亭湖区,盐都区,东台市}'),
    (440000, 440300, '深圳', '0755', '{宝安区,龙岗区,南山区,龙华区,光明区}'),
    (440000, 440100, '广州', '020', '{黄埔区,番禺区,白云区,花都区}'),
    (440000, 441900, '东莞', '0769', '{长安镇,虎门镇,塘厦镇,常平镇}'),
    (440000, 440600, '佛山', '0757', '{顺德区,南海区,禅城区,三水区}'),
    (440000, 442000, '中山', '0760', '{火炬开发区,小榄镇,古镇镇}'),
    (370000, 370200, '青岛', '0532', '{黄岛区,城阳区,即墨区,胶州市}'),
    (370000, 370100, '济南', '0531', '{历城区,章丘区,槐荫区}'),
    (370000, 370600, '烟台', '0535', '{福山区,莱山区,龙口市}'),
    (370000, 370700, '潍坊', '0536', '{奎文区,寿光市,诸城市}'),
    (420000, 420100, '武汉', '027', '{东西湖区,汉阳区,江夏区,蔡甸区}'),
    (430000, 430100, '长沙', '0731', '{雨花区,岳麓区,长沙县,望城区}'),
    (410000, 410100, '郑州', '0371', '{金水区,中原区,惠济区,新郑市}'),
    (510000, 510100, '成都', '028', '{郫都区,双流区,龙泉驿区,新都区}'),
    (610000, 610100, '西安', '029', '{雁塔区,未央区,长安区,高陵区}'),
    (210000, 210100, '沈阳', '024', '{铁西区,浑南区,于洪区}'),
    (210000, 210200, '大连', '0411', '{甘井子区,金州区,旅顺口区}'),
    (130000, 130100, '石家庄', '0311', '{长安区,桥西区,裕华区,藁城区}'),
    (130000, 130600, '保定', '0312', '{竞秀区,莲池区,徐水区}'),
    (120000, 120116, '天津', '022', '{滨海新区}'),
    (110000, 110115, '北京', '010', '{大兴区}'),
    (500000, 500112, '重庆', '023', '{渝北区}')) AS v;

-- Brand cores: 30 × 27 first/second characters without doubles: 807 (华通, 恒瑞, 博远, 金鼎, 中科 …).
CREATE TEMP TABLE bv_core ON COMMIT DROP AS
SELECT (row_number() OVER (ORDER BY a.o, b.o) - 1)::integer AS n, a.c || b.c AS core
  FROM unnest('{华,恒,博,金,中,鑫,永,宏,天,海,瑞,德,联,泰,盛,新,汇,嘉,鼎,启,明,立,安,宇,顺,东,奥,凯,正,亿}'::text[]) WITH ORDINALITY AS a(c, o),
       unnest('{通,瑞,远,鼎,科,达,盛,图,润,辰,丰,信,创,和,源,力,诚,昌,威,拓,航,捷,隆,发,兴,成,佳}'::text[]) WITH ORDINALITY AS b(c, o)
 WHERE a.c <> b.c;

CREATE TEMP TABLE bv_trade ON COMMIT DROP AS
SELECT (o - 1)::integer AS n, w AS word, (SELECT id FROM lookups WHERE kind = 'industry' AND name = i) AS industry_id
  FROM unnest('{精密机械,汽车零部件,电子科技,新材料,食品饮料,制药,包装,纺织,物流,自动化设备,机电设备,化工,塑胶制品,五金制品,模具,光电科技,环保设备,智能科技,电气,新能源科技,锂电科技,重工,家具,印刷,电器,阀门,轴承,医疗器械,农业科技,仓储,建设工程,工业技术,液压,电机,钢结构,数控机床,半导体,线缆,玻璃,乳业}'::text[],
              '{制造业,制造业,信息技术,能源化工,制造业,医疗卫生,制造业,制造业,物流运输,批发零售,批发零售,能源化工,制造业,制造业,制造业,信息技术,制造业,信息技术,制造业,能源化工,能源化工,制造业,制造业,制造业,制造业,制造业,制造业,医疗卫生,农林牧渔,物流运输,建筑工程,制造业,制造业,制造业,建筑工程,制造业,信息技术,制造业,制造业,制造业}'::text[])
       WITH ORDINALITY AS u(w, i, o);

-- Owner slots: salespeople more, managers fewer.
CREATE TEMP TABLE bv_owner ON COMMIT DROP AS
SELECT (row_number() OVER () - 1)::integer AS slot, u.id
  FROM (VALUES ('zhangwei', 15), ('liuyang', 15), ('chenjing', 10), ('sunli', 18), ('zhoujie', 14),
               ('wufang', 14), ('liming', 7), ('zhaolei', 7)) AS v(name, w)
  JOIN users u ON u.username = v.name, generate_series(1, v.w);

SELECT (SELECT count(*) FROM bv_city) AS p, (SELECT count(*) FROM bv_core) AS c,
       (SELECT count(*) FROM bv_trade) AS t, (SELECT count(*) FROM bv_owner) AS slots,
       (SELECT array_agg(id ORDER BY sort)::text FROM lookups WHERE kind = 'customer_category') AS cats,
       (SELECT array_agg(id ORDER BY sort)::text FROM lookups WHERE kind = 'customer_level') AS levels,
       (SELECT array_agg(id ORDER BY sort)::text FROM lookups WHERE kind = 'customer_source') AS sources
\gset
SELECT :p * :c * :t AS m \gset
SELECT CASE WHEN :to > :m THEN 'too many customers for the name space' END AS err \gset
\if :{?err}
DO $$ BEGIN RAISE EXCEPTION 'at most 1,420,320 customers: the name space is that large'; END $$;
\endif

CREATE TEMP TABLE bv_ids (id bigint) ON COMMIT DROP;

WITH g AS MATERIALIZED (
    SELECT i, (i * 1000003::bigint + 12345) % :m AS j,
           -- sixteen independent uniform numbers in [0, 1) per customer
           ARRAY(SELECT (hashint8extended(i, k) & 4294967295) / 4294967296.0 FROM generate_series(1, 16) AS k) AS r
      FROM generate_series(:from::bigint, :to::bigint) AS i
), x AS (
    SELECT g.*, c.prov, c.city, c.prefix, c.area, c.districts, k.core, t.word, t.industry_id,
           CASE WHEN r[1] < 0.45 THEN 'active' WHEN r[1] < 0.80 THEN 'potential'
                WHEN r[1] < 0.92 THEN 'dormant' ELSE 'lost' END AS status,
           CASE WHEN r[2] < 0.66 THEN '有限公司' WHEN r[2] < 0.80 THEN '股份有限公司'
                WHEN r[2] < 0.94 THEN '有限责任公司' ELSE '集团有限公司' END AS legal,
           o.id AS owner,
           now() - power(r[4], 1.25) * interval '1095 days' AS created_at
      FROM g
      JOIN bv_city c ON c.n = g.j % :p
      JOIN bv_core k ON k.n = (g.j / :p) % :c
      JOIN bv_trade t ON t.n = g.j / (:p * :c)
      JOIN bv_owner o ON o.slot = floor(r[3] * :slots)
), ins AS (
    INSERT INTO customers (code, name, name_key, short_name, category_id, level_id, source_id, industry_id,
                           province_id, city_id, address, phone, phone_key, website, tax_id, owner_id, status,
                           credit_limit, payment_terms, last_contact_on, pool_since, created_by, created_at,
                           updated_at)
    SELECT 'KH' || lpad(i::text, greatest(6, length(i::text)), '0'),
           CASE WHEN r[5] < 0.05 THEN core || word || '（' || prefix || '）' || legal
                ELSE prefix || core || word || legal END,
           prefix || core || word,
           CASE WHEN r[6] < 0.5 THEN core || left(word, 2) ELSE prefix || core END,
           (:'cats'::bigint[])[1 + floor(r[7] * 5)::integer],
           (:'levels'::bigint[])[1 + floor(r[8] * 4)::integer],
           (:'sources'::bigint[])[1 + floor(r[9] * 7)::integer],
           industry_id, prov, city,
           districts[1 + floor(r[10] * array_length(districts, 1))::integer]
               || (ARRAY['工业路', '科技大道', '创业路', '兴业大道', '发展大道', '建设路', '人民路', '新华路',
                         '长江路', '环城东路', '经一路', '科创路', '智造大道', '滨江路', '明珠路', '金桥路'])[1 + (i % 16)::integer]
               || ' ' || (1 + (i * 37) % 1500) || ' 号',
           area || '-' || (2 + floor(r[11] * 7))::integer || lpad(((i * 7919) % 10000000)::text, 7, '0'),
           regexp_replace(area || (2 + floor(r[11] * 7))::integer || lpad(((i * 7919) % 10000000)::text, 7, '0'), '[^0-9]', '', 'g'),
           CASE WHEN r[12] < 0.3 THEN 'https://www.kh' || i || '.com.cn' ELSE '' END,
           '91' || city || 'MA' || upper(substr(md5(i::text), 1, 8)),
           CASE WHEN status <> 'active' AND r[13] < 0.09 THEN NULL ELSE owner END,
           status,
           CASE WHEN status = 'active' THEN (ARRAY[0, 50000, 100000, 200000, 300000, 500000, 1000000])[1 + floor(r[14] * 7)::integer] ELSE 0 END,
           (ARRAY['月结30天', '月结60天', '款到发货', '预付30%，发货前付清余款', '票到30天付款', ''])[1 + floor(r[14] * 6)::integer],
           CASE WHEN r[15] < 0.9 THEN (created_at + (now() - created_at) * r[15])::date END,
           CASE WHEN status <> 'active' AND r[13] < 0.09 THEN created_at + (now() - created_at) * r[16] END,
           owner, created_at, created_at + (now() - created_at) * power(r[16], 2)
      FROM x
    RETURNING id
)
INSERT INTO bv_ids SELECT id FROM ins;

-- Contacts: three per customer, the first one primary. Each insert refreshes its customer's
-- search text through the contacts trigger, as the application does — unless scripts/bench.sh
-- (BENCH_LOAD=bulk) has switched the contacts triggers off for the load; it then refreshes every
-- customer once through them afterwards.
INSERT INTO contacts (customer_id, name, title, department, mobile, phone, email, is_primary, created_at, updated_at)
SELECT c.id,
       (ARRAY['王','李','张','刘','陈','杨','黄','赵','吴','周','徐','孙','马','朱','胡','郭','何','高','林','罗',
              '郑','梁','谢','宋','唐','许','韩','冯','邓','曹','彭','曾','肖','田','董','袁','潘','于','蒋','蔡'])[1 + (hashint8extended(c.id * 4 + j, 1) & 1023) % 40]
           || (ARRAY['伟','芳','娜','敏','静','丽','强','磊','军','洋','勇','艳','杰','娟','涛','明','超','霞','平','刚',
                     '建国','志明','晓东','海峰','俊杰','立新','子涵','佳琪','思雨','晨阳','嘉怡','永平','德华','春梅','秋云','家豪'])[1 + (hashint8extended(c.id * 4 + j, 2) & 1023) % 36],
       (ARRAY['采购经理', '总经理', '设备部主管', '技术总监', '采购专员', '电气工程师', '财务'])[1 + (hashint8extended(c.id * 4 + j, 3) & 1023) % 7],
       (ARRAY['采购部', '总经办', '设备部', '技术部', '采购部', '技术部', '财务部'])[1 + (hashint8extended(c.id * 4 + j, 3) & 1023) % 7],
       (ARRAY['130', '135', '138', '139', '150', '158', '186', '189'])[1 + j + (c.id % 4)::integer]
           || lpad((((c.id * 3 + j) * 73939133 + 7340033) % 100000000)::text, 8, '0'),
       CASE WHEN j = 1 THEN c.phone ELSE '' END,
       'c' || (c.id * 3 + j) || '@kh-bench.cn',
       j = 1, c.created_at, c.created_at
  FROM bv_ids b JOIN customers c ON c.id = b.id, generate_series(1, 3) AS j
 ORDER BY c.id, j;

COMMIT;
