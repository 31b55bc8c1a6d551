-- 0002_customers.sql — about 1,000 customers of the demo company (杭州华通智能装备有限公司 sells
-- PLCs, servo drives, sensors, robot arms and conveyor lines) with ~2,500 contacts and a few
-- shares, generated from vocabularies with a deterministic pseudo-random (md5 of the row number
-- and a salt), so every load gives the same names, owners and numbers; dates are relative to
-- the day of loading (created over the last three years).
--
-- Names: city prefix + brand core + trade + legal form (杭州恒瑞精密机械有限公司), ~5% written
-- with the place in brackets (博远汽车零部件（苏州）有限公司); city and district match region,
-- phone area code and address. name_key is computed here the way cgi/core/dedup.c does for
-- these names (prefix + core + trade: no spaces, punctuation or latin letters are generated,
-- the bracketed place moves to the front, the legal form is dropped); `kexin demo` runs
-- `kexin rekey` afterwards anyway, and `kexin rekey --check` reports 0 stale keys.
-- Sales team 一部 (李明) covers 浙江 上海 安徽 福建, 二部 (赵磊) the rest; ~5% are in the
-- public pool. Codes continue the 'customer' counter (KH000001… on a fresh database).

-- The row estimates of generated data are wild; JIT would spend seconds compiling.
SET LOCAL jit = off;

-- Deterministic pseudo-random in [0, 1) for row i and salt k.
CREATE FUNCTION pg_temp.r(i bigint, k integer) RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$
    SELECT ('x' || substr(md5(i::text || '/' || k::text), 1, 12))::bit(48)::bigint / 281474976710656.0
$$;

-- One element of a, chosen by r.
CREATE FUNCTION pg_temp.pick(a text[], r double precision) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT a[1 + floor(r * array_length(a, 1))::int] $$;

-- One element of a, chosen by r with weights w.
CREATE FUNCTION pg_temp.wpick(a text[], w integer[], r double precision) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT a[i] FROM (SELECT i, sum(w[i]) OVER (ORDER BY i) AS cum, sum(w[i]) OVER () AS total
                        FROM generate_subscripts(a, 1) AS i) x
     WHERE r * total < cum ORDER BY i LIMIT 1
$$;

-- n random digits.
CREATE FUNCTION pg_temp.digits(i bigint, k integer, n integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg((floor(pg_temp.r(i, k * 100 + j) * 10))::int::text, '' ORDER BY j)
      FROM generate_series(1, n) AS j
$$;

-- A unified social credit code (统一社会信用代码, GB 32100-2015) with valid check characters:
-- 91 (enterprise) + region + 9-character organisation code (GB 11714 check) + check.
CREATE FUNCTION pg_temp.uscc(i bigint, region integer) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    WITH cs AS (SELECT '0123456789ABCDEFGHJKLMNPQRTUWXY'::text AS s),
    org8 AS (
        SELECT CASE WHEN pg_temp.r(i, 701) < 0.7
                    THEN 'MA' || (SELECT string_agg(substr(cs.s, 1 + floor(pg_temp.r(i, 710 + j) * 31)::int, 1), '' ORDER BY j)
                                    FROM cs, generate_series(1, 6) AS j)
                    ELSE pg_temp.digits(i, 72, 8) END AS o),
    org9 AS (
        SELECT o || CASE c WHEN 10 THEN 'X' WHEN 11 THEN '0' ELSE c::text END AS o
          FROM (SELECT o, 11 - (sum((strpos('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', substr(o, j, 1)) - 1)
                                    * (ARRAY[3, 7, 9, 10, 5, 8, 4, 2])[j]) % 11)::int AS c
                  FROM org8, generate_series(1, 8) AS j GROUP BY o) x),
    body AS (SELECT '91' || region::text || o AS b FROM org9)
    SELECT b || substr(cs.s, 1 + (31 - (sum((strpos(cs.s, substr(b, j, 1)) - 1)
                    * (ARRAY[1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])[j]) % 31)::int) % 31, 1)
      FROM body, cs, generate_series(1, 17) AS j GROUP BY b, cs.s
$$;

-- Cities: region ids, name prefix, area code, districts (for addresses), sales team, weight.
-- The municipalities have one row per district (their level-2 regions are districts).
CREATE TEMP TABLE demo_cities (prov integer, city integer, prefix text, area text, districts text[],
                               team integer, weight integer) ON COMMIT DROP;
INSERT INTO demo_cities VALUES
    (330000, 330100, '杭州', '0571', '{余杭区,滨江区,萧山区,西湖区,临平区,钱塘区,拱墅区,富阳区}', 1, 24),
    (330000, 330200, '宁波', '0574', '{北仑区,鄞州区,镇海区,江北区,慈溪市,余姚市}', 1, 12),
    (330000, 330300, '温州', '0577', '{瓯海区,龙湾区,鹿城区,乐清市,瑞安市}', 1, 8),
    (330000, 330400, '嘉兴', '0573', '{南湖区,秀洲区,嘉善县,平湖市,海宁市,桐乡市}', 1, 8),
    (330000, 330500, '湖州', '0572', '{吴兴区,南浔区,长兴县,德清县,安吉县}', 1, 6),
    (330000, 330600, '绍兴', '0575', '{越城区,柯桥区,上虞区,诸暨市}', 1, 8),
    (330000, 330700, '金华', '0579', '{婺城区,金东区,义乌市,永康市,东阳市}', 1, 6),
    (330000, 331000, '台州', '0576', '{椒江区,黄岩区,路桥区,温岭市,玉环市}', 1, 8),
    (310000, 310115, '上海', '021', '{浦东新区}', 1, 5),
    (310000, 310112, '上海', '021', '{闵行区}', 1, 3),
    (310000, 310114, '上海', '021', '{嘉定区}', 1, 4),
    (310000, 310117, '上海', '021', '{松江区}', 1, 3),
    (310000, 310113, '上海', '021', '{宝山区}', 1, 2),
    (310000, 310118, '上海', '021', '{青浦区}', 1, 2),
    (340000, 340100, '合肥', '0551', '{蜀山区,包河区,庐阳区,瑶海区,肥西县,长丰县}', 1, 4),
    (340000, 340200, '芜湖', '0553', '{鸠江区,弋江区,镜湖区}', 1, 2),
    (350000, 350100, '福州', '0591', '{仓山区,鼓楼区,晋安区,马尾区,闽侯县,福清市}', 1, 2),
    (350000, 350200, '厦门', '0592', '{湖里区,集美区,海沧区,同安区,翔安区}', 1, 4),
    (350000, 350500, '泉州', '0595', '{丰泽区,鲤城区,晋江市,石狮市,南安市}', 1, 2),
    (350000, 350900, '宁德', '0593', '{蕉城区,福安市,福鼎市}', 1, 2),
    (320000, 320500, '苏州', '0512', '{吴中区,相城区,虎丘区,吴江区,昆山市,太仓市,常熟市,张家港市}', 2, 14),
    (320000, 320200, '无锡', '0510', '{新吴区,锡山区,惠山区,滨湖区,江阴市,宜兴市}', 2, 8),
    (320000, 320400, '常州', '0519', '{武进区,新北区,天宁区,钟楼区,金坛区,溧阳市}', 2, 8),
    (320000, 320100, '南京', '025', '{江宁区,浦口区,栖霞区,雨花台区,六合区}', 2, 6),
    (320000, 320600, '南通', '0513', '{崇川区,通州区,海门区,如皋市,启东市}', 2, 4),
    (320000, 321000, '扬州', '0514', '{邗江区,江都区,广陵区,仪征市}', 2, 2),
    (320000, 320300, '徐州', '0516', '{鼓楼区,铜山区,云龙区,邳州市}', 2, 2),
    (320000, 320900, '盐城', '0515', '{亭湖区,盐都区,大丰区,东台市}', 2, 2),
    (440000, 440300, '深圳', '0755', '{宝安区,龙岗区,南山区,龙华区,光明区,坪山区}', 2, 8),
    (440000, 440100, '广州', '020', '{黄埔区,番禺区,白云区,花都区,南沙区,增城区}', 2, 4),
    (440000, 441900, '东莞', '0769', '{长安镇,虎门镇,塘厦镇,常平镇,清溪镇,松山湖}', 2, 6),
    (440000, 440600, '佛山', '0757', '{顺德区,南海区,禅城区,三水区,高明区}', 2, 6),
    (440000, 442000, '中山', '0760', '{火炬开发区,小榄镇,古镇镇,坦洲镇}', 2, 2),
    (370000, 370200, '青岛', '0532', '{黄岛区,城阳区,即墨区,李沧区,胶州市}', 2, 4),
    (370000, 370100, '济南', '0531', '{历城区,章丘区,槐荫区,天桥区,历下区}', 2, 2),
    (370000, 370600, '烟台', '0535', '{福山区,莱山区,芝罘区,龙口市}', 2, 2),
    (370000, 370700, '潍坊', '0536', '{奎文区,潍城区,寿光市,诸城市}', 2, 2),
    (420000, 420100, '武汉', '027', '{东西湖区,汉阳区,江夏区,蔡甸区,洪山区,黄陂区}', 2, 3),
    (430000, 430100, '长沙', '0731', '{雨花区,岳麓区,长沙县,望城区,开福区}', 2, 2),
    (410000, 410100, '郑州', '0371', '{金水区,中原区,二七区,惠济区,新郑市}', 2, 2),
    (510000, 510100, '成都', '028', '{郫都区,双流区,龙泉驿区,新都区,武侯区,青白江区}', 2, 3),
    (610000, 610100, '西安', '029', '{雁塔区,未央区,长安区,灞桥区,高陵区}', 2, 2),
    (210000, 210100, '沈阳', '024', '{铁西区,浑南区,大东区,于洪区}', 2, 2),
    (210000, 210200, '大连', '0411', '{甘井子区,金州区,沙河口区,旅顺口区}', 2, 2),
    (130000, 130100, '石家庄', '0311', '{长安区,桥西区,新华区,裕华区,藁城区}', 2, 2),
    (130000, 130600, '保定', '0312', '{竞秀区,莲池区,满城区,徐水区}', 2, 1),
    (120000, 120116, '天津', '022', '{滨海新区}', 2, 3),
    (120000, 120111, '天津', '022', '{西青区}', 2, 1),
    (110000, 110113, '北京', '010', '{顺义区}', 2, 1),
    (110000, 110114, '北京', '010', '{昌平区}', 2, 1),
    (110000, 110115, '北京', '010', '{大兴区}', 2, 2),
    (500000, 500112, '重庆', '023', '{渝北区}', 2, 2),
    (500000, 500107, '重庆', '023', '{九龙坡区}', 2, 1),
    (500000, 500109, '重庆', '023', '{北碚区}', 2, 1);
ALTER TABLE demo_cities ADD COLUMN n serial, ADD COLUMN lo integer, ADD COLUMN hi integer;
UPDATE demo_cities d SET lo = x.cum - d.weight, hi = x.cum
  FROM (SELECT n, sum(weight) OVER (ORDER BY n) AS cum FROM demo_cities) x WHERE x.n = d.n;

-- Trades: the word in the name, the industry (lookups), the usual category, a slug for web
-- addresses, a weight (automation buyers first).
CREATE TEMP TABLE demo_trades (word text, industry text, kind text, slug text, weight integer) ON COMMIT DROP;
INSERT INTO demo_trades VALUES
    ('精密机械', '制造业', 'end', 'precision', 10), ('汽车零部件', '制造业', 'end', 'autoparts', 10),
    ('电子科技', '信息技术', 'end', 'etech', 8), ('新材料', '能源化工', 'end', 'material', 5),
    ('食品饮料', '制造业', 'end', 'food', 5), ('制药', '医疗卫生', 'end', 'pharma', 4),
    ('包装', '制造业', 'end', 'pack', 5), ('纺织', '制造业', 'end', 'textile', 4),
    ('物流', '物流运输', 'end', 'logistics', 4), ('自动化设备', '批发零售', 'dealer', 'auto', 6),
    ('机电设备', '批发零售', 'dealer', 'me', 5), ('化工', '能源化工', 'end', 'chem', 3),
    ('塑胶制品', '制造业', 'end', 'plastic', 4), ('五金制品', '制造业', 'end', 'hardware', 4),
    ('模具', '制造业', 'end', 'mould', 4), ('光电科技', '信息技术', 'end', 'opto', 3),
    ('环保设备', '制造业', 'end', 'env', 3), ('智能科技', '信息技术', 'integrator', 'smart', 6),
    ('电气', '制造业', 'end', 'electric', 4), ('新能源科技', '能源化工', 'end', 'energy', 4),
    ('锂电科技', '能源化工', 'end', 'battery', 4), ('重工', '制造业', 'end', 'heavy', 2),
    ('家具', '制造业', 'end', 'furniture', 2), ('印刷', '制造业', 'end', 'print', 2),
    ('电器', '制造业', 'end', 'appliance', 4), ('阀门', '制造业', 'end', 'valve', 2),
    ('轴承', '制造业', 'end', 'bearing', 2), ('医疗器械', '医疗卫生', 'end', 'medical', 3),
    ('农业科技', '农林牧渔', 'end', 'agri', 1), ('仓储', '物流运输', 'end', 'storage', 2),
    ('建设工程', '建筑工程', 'end', 'build', 1), ('工业技术', '制造业', 'integrator', 'tech', 4),
    ('液压', '制造业', 'end', 'hydraulic', 2), ('电机', '制造业', 'end', 'motor', 3),
    ('钢结构', '建筑工程', 'end', 'steel', 1), ('数控机床', '制造业', 'end', 'cnc', 3),
    ('半导体', '信息技术', 'end', 'semi', 2), ('线缆', '制造业', 'end', 'cable', 2),
    ('玻璃', '制造业', 'end', 'glass', 1), ('乳业', '制造业', 'end', 'dairy', 1);
ALTER TABLE demo_trades ADD COLUMN n serial, ADD COLUMN lo integer, ADD COLUMN hi integer;
UPDATE demo_trades d SET lo = x.cum - d.weight, hi = x.cum
  FROM (SELECT n, sum(weight) OVER (ORDER BY n) AS cum FROM demo_trades) x WHERE x.n = d.n;

-- Brand cores: first × second character (华通, 恒瑞, 博远, 金鼎, 中科, 鑫达 …), with pinyin for web
-- addresses.
CREATE TEMP TABLE demo_core1 (n integer, ch text, py text) ON COMMIT DROP;
INSERT INTO demo_core1
SELECT o::integer, c, p FROM unnest('{华,恒,博,金,中,鑫,永,宏,天,海,瑞,德,联,泰,盛,新,汇,嘉,鼎,启,明,立,安,宇,顺,东,奥,凯,正,亿}'::text[],
    '{hua,heng,bo,jin,zhong,xin,yong,hong,tian,hai,rui,de,lian,tai,sheng,xin,hui,jia,ding,qi,ming,li,an,yu,shun,dong,ao,kai,zheng,yi}'::text[])
    WITH ORDINALITY AS u(c, p, o);
CREATE TEMP TABLE demo_core2 (n integer, ch text, py text) ON COMMIT DROP;
INSERT INTO demo_core2
SELECT o::integer, c, p FROM unnest('{通,瑞,远,鼎,科,达,盛,图,润,辰,丰,信,创,和,源,力,诚,昌,威,拓,航,捷,隆,发,兴,成,佳}'::text[],
    '{tong,rui,yuan,ding,ke,da,sheng,tu,run,chen,feng,xin,chuang,he,yuan,li,cheng,chang,wei,tuo,hang,jie,long,fa,xing,cheng,jia}'::text[])
    WITH ORDINALITY AS u(c, p, o);

-- Candidates: more than needed; the first 1000 distinct keys (in candidate order) are kept.
CREATE TEMP TABLE demo_k ON COMMIT DROP AS
WITH g AS MATERIALIZED (
    SELECT g, floor(pg_temp.r(g, 1) * (SELECT sum(weight) FROM demo_cities))::integer AS city_slot,
           1 + floor(pg_temp.r(g, 2) * 30)::integer AS c1, 1 + floor(pg_temp.r(g, 3) * 27)::integer AS c2,
           floor(pg_temp.r(g, 4) * (SELECT sum(weight) FROM demo_trades))::integer AS trade_slot
      FROM generate_series(1, 2000) AS g
), cand AS (
    SELECT g.g, c.prov, c.city, c.prefix, c.area, c.districts, c.team,
           k1.ch || k2.ch AS core, k1.py || k2.py AS core_py, t.word, t.industry, t.kind, t.slug
      FROM g
      JOIN (SELECT c.*, slot FROM demo_cities c, generate_series(c.lo, c.hi - 1) AS slot) c ON c.slot = g.city_slot
      JOIN demo_core1 k1 ON k1.n = g.c1
      JOIN demo_core2 k2 ON k2.n = g.c2
      JOIN (SELECT t.*, slot FROM demo_trades t, generate_series(t.lo, t.hi - 1) AS slot) t ON t.slot = g.trade_slot
     WHERE k1.ch <> k2.ch
), keyed AS (
    SELECT *, prefix || core || word AS name_key,
           row_number() OVER (PARTITION BY prefix || core || word ORDER BY g) AS dup
      FROM cand
)
SELECT * FROM keyed WHERE dup = 1 ORDER BY g LIMIT 1000;

CREATE TEMP TABLE demo_c ON COMMIT DROP AS
WITH s AS MATERIALIZED (
    SELECT k.*,
           -- about 45% active, 35% potential, 12% dormant, 8% lost; nobody is dormant or lost
           -- within four months of becoming a customer
           CASE WHEN floor(1095 * power(pg_temp.r(g, 13), 1.25)) < 120
                THEN pg_temp.wpick('{active,potential}', '{40,60}', pg_temp.r(g, 10))
                ELSE pg_temp.wpick('{active,potential,dormant,lost}', '{46,30,15,9}', pg_temp.r(g, 10)) END AS status,
           pg_temp.wpick('{有限公司,股份有限公司,有限责任公司,集团有限公司}', '{66,14,14,6}', pg_temp.r(g, 11)) AS legal,
           pg_temp.pick(districts, pg_temp.r(g, 12)) AS district,
           -- days since creation: over three years, more of them recent
           floor(1095 * power(pg_temp.r(g, 13), 1.25))::integer AS age_days,
           CASE WHEN team = 1
                THEN pg_temp.wpick('{zhangwei,liuyang,chenjing,liming}', '{34,32,20,14}', pg_temp.r(g, 21))
                ELSE pg_temp.wpick('{sunli,zhoujie,wufang,zhaolei}', '{36,26,24,14}', pg_temp.r(g, 21)) END AS owner_name
      FROM demo_k k
)
SELECT s.*,
       status <> 'active' AND pg_temp.r(g, 20) < 0.092 AS in_pool,
       u.id AS owner_user,
       -- a working day's time in China; today's only until now
       least(now() - interval '10 minutes',
             ((((now() AT TIME ZONE 'Asia/Shanghai')::date - age_days)
               + make_interval(mins => 510 + floor(pg_temp.r(g, 14) * 570)::integer)) AT TIME ZONE 'Asia/Shanghai')) AS created_at,
       CASE WHEN pg_temp.r(g, 5) < 0.06
            THEN core || word || '（' || prefix || '）' || legal
            ELSE prefix || core || word || legal END AS name,
       CASE WHEN pg_temp.r(g, 6) < 0.08 THEN ''
            WHEN pg_temp.r(g, 6) < 0.55 THEN core || left(word, 2)
            ELSE prefix || core END AS short_name
  FROM s JOIN users u ON u.username = s.owner_name;

-- Everything else per customer.
CREATE TEMP TABLE demo_cust ON COMMIT DROP AS
SELECT d.*,
       (SELECT coalesce(max(last_value), 0) FROM doc_counters WHERE doc_type = 'customer' AND period = '-')
           + row_number() OVER (ORDER BY created_at, g) AS seq,
       CASE WHEN pg_temp.r(g, 30) < 0.96
            THEN area || '-' || pg_temp.pick('{8,8,8,6,6,5,2,3,7}', pg_temp.r(g, 31)) || pg_temp.digits(g, 32, 7)
            ELSE '' END AS phone,
       district
           || CASE WHEN pg_temp.r(g, 33) < 0.4
                   THEN pg_temp.pick('{经济技术开发区,高新技术产业开发区,工业园区,科技园}', pg_temp.r(g, 34)) ELSE '' END
           || pg_temp.pick('{工业路,科技大道,创业路,兴业大道,发展大道,建设路,人民路,解放路,新华路,长江路,黄河路,环城东路,环城北路,经一路,纬二路,科创路,智造大道,滨江路,明珠路,东方路,金桥路,华山路,富民路,兴园路,开发大道,园区路,振兴路,复兴路,迎宾大道,机场路,创新大道,湖滨路,民营路,新港大道,东环路}', pg_temp.r(g, 35))
           || ' ' || (1 + floor(power(pg_temp.r(g, 36), 2) * 1500))::integer || ' 号'
           || CASE WHEN pg_temp.r(g, 37) < 0.12 THEN ' ' || (1 + floor(pg_temp.r(g, 38) * 9))::integer || ' 号厂房'
                   WHEN pg_temp.r(g, 37) < 0.22 THEN ' ' || pg_temp.pick('{A,B,C}', pg_temp.r(g, 38)) || ' 座 '
                                                    || (2 + floor(pg_temp.r(g, 39) * 18))::integer || ' 楼'
                   ELSE '' END AS address,
       CASE WHEN pg_temp.r(g, 40) < CASE WHEN legal IN ('股份有限公司', '集团有限公司') THEN 0.85 ELSE 0.35 END
            THEN 'https://www.' || core_py || '-' || slug || pg_temp.pick('{.com,.com,.cn,.com.cn}', pg_temp.r(g, 41))
            ELSE '' END AS website,
       CASE WHEN status = 'active' OR pg_temp.r(g, 42) < 0.75 THEN pg_temp.uscc(g, city + CASE WHEN city % 100 = 0 THEN 2 + floor(pg_temp.r(g, 43) * 9)::integer ELSE 0 END)
            ELSE '' END AS tax_id,
       CASE WHEN status = 'active' AND pg_temp.r(g, 44) < 0.8
            THEN pg_temp.pick('{中国工商银行,中国建设银行,中国农业银行,中国银行,交通银行,招商银行,浙商银行,兴业银行,中信银行,浦发银行}', pg_temp.r(g, 45))
                 || prefix || regexp_replace(district, '(开发区|新区|区|市|县|镇)$', '') || '支行'
            ELSE '' END AS bank_name,
       CASE WHEN status = 'active' THEN pg_temp.wpick('{50000,100000,200000,300000,500000,800000,1000000,2000000,0}', '{14,20,18,12,12,6,6,2,10}', pg_temp.r(g, 46))::numeric
            WHEN status = 'dormant' THEN pg_temp.wpick('{0,50000,100000,200000}', '{40,25,25,10}', pg_temp.r(g, 46))::numeric
            ELSE 0 END AS credit_limit,
       CASE WHEN status IN ('active', 'dormant')
            THEN pg_temp.wpick('{月结30天,月结60天,月结90天,款到发货,预付30%，发货前付清余款,票到30天付款,货到付款}', '{30,15,5,15,20,10,5}', pg_temp.r(g, 47))
            WHEN pg_temp.r(g, 47) < 0.5 THEN pg_temp.pick('{款到发货,预付30%，发货前付清余款,月结30天}', pg_temp.r(g, 48))
            ELSE '' END AS payment_terms,
       CASE WHEN pg_temp.r(g, 50) < 0.35
            THEN pg_temp.pick('{主要采购伺服驱动器和PLC,产线改造项目，关注六轴机器人,有新厂房在建，明年上输送线,对价格敏感，注重交期,需要开具增值税专用发票,技术对接找设备部,年采购额约 80 万元,年采购额约 200 万元,原用进口品牌，有替换意向,展会上结识，已寄样品传感器,老客户介绍，决策在集团总部,付款及时，可适当放宽账期,招标项目，需提前报备,关注视觉检测与传感器方案,季度集中采购}', pg_temp.r(g, 51))
            ELSE '' END AS remarks,
       CASE kind WHEN 'dealer' THEN pg_temp.wpick('{经销商,代理商}', '{60,40}', pg_temp.r(g, 52))
                 WHEN 'integrator' THEN pg_temp.wpick('{系统集成商,终端客户}', '{55,45}', pg_temp.r(g, 52))
                 ELSE pg_temp.wpick('{终端客户,合作伙伴,系统集成商}', '{90,5,5}', pg_temp.r(g, 52)) END AS category,
       CASE status WHEN 'active' THEN pg_temp.wpick('{A 重点客户,B 普通客户,C 一般客户}', '{20,45,35}', pg_temp.r(g, 53))
                   WHEN 'potential' THEN pg_temp.wpick('{C 一般客户,D 潜在客户}', '{35,65}', pg_temp.r(g, 53))
                   WHEN 'dormant' THEN pg_temp.wpick('{B 普通客户,C 一般客户}', '{40,60}', pg_temp.r(g, 53))
                   ELSE pg_temp.wpick('{C 一般客户,D 潜在客户}', '{60,40}', pg_temp.r(g, 53)) END AS level,
       pg_temp.wpick('{网络推广,客户介绍,展会,电话开发,老客户,招投标,其他}', '{20,20,20,15,10,8,7}', pg_temp.r(g, 54)) AS source,
       -- last contact: recent for active and potential customers, long ago for dormant and lost
       CASE WHEN status = 'potential' AND pg_temp.r(g, 55) < 0.25 THEN NULL
            WHEN status = 'active' AND pg_temp.r(g, 55) < 0.03 THEN NULL
            ELSE greatest((created_at AT TIME ZONE 'Asia/Shanghai')::date, (now() AT TIME ZONE 'Asia/Shanghai')::date - CASE status
                    WHEN 'active' THEN floor(pg_temp.r(g, 56) * 60)
                    WHEN 'potential' THEN floor(pg_temp.r(g, 56) * 150)
                    WHEN 'dormant' THEN 120 + floor(pg_temp.r(g, 56) * 280)
                    ELSE 180 + floor(pg_temp.r(g, 56) * 520) END::integer) END AS last_contact_on
  FROM demo_c d;

INSERT INTO customers (code, name, name_key, short_name, category_id, level_id, source_id, industry_id,
                       province_id, city_id, address, phone, phone_key, website, tax_id, bank_name,
                       bank_account, owner_id, status, credit_limit, payment_terms, remarks,
                       last_contact_on, pool_since, created_by, created_at, updated_at)
SELECT (SELECT prefix FROM doc_sequences WHERE doc_type = 'customer') || lpad(seq::text, 6, '0'),
       c.name, c.name_key, c.short_name,
       (SELECT id FROM lookups WHERE kind = 'customer_category' AND name = c.category),
       (SELECT id FROM lookups WHERE kind = 'customer_level' AND name = c.level),
       (SELECT id FROM lookups WHERE kind = 'customer_source' AND name = c.source),
       (SELECT id FROM lookups WHERE kind = 'industry' AND name = c.industry),
       c.prov, c.city, c.address, c.phone, regexp_replace(c.phone, '[^0-9]', '', 'g'), c.website, c.tax_id,
       c.bank_name,
       CASE WHEN c.bank_name <> ''
            THEN pg_temp.digits(g, 60, 4) || ' ' || pg_temp.digits(g, 61, 4) || ' ' || pg_temp.digits(g, 62, 4)
                 || ' ' || pg_temp.digits(g, 63, 4) || ' ' || pg_temp.digits(g, 64, 3)
            ELSE '' END,
       CASE WHEN c.in_pool THEN NULL ELSE c.owner_user END,
       c.status, c.credit_limit, c.payment_terms, c.remarks, c.last_contact_on,
       CASE WHEN c.in_pool THEN c.created_at + (now() - c.created_at) * (0.5 + 0.5 * pg_temp.r(g, 65)) END,
       c.owner_user, c.created_at,
       -- the last contact (working hours, not after now) or an edit some days later, same time of day
       least(now() - interval '3 minutes',
             a.at + make_interval(days => floor(extract(epoch FROM now() - a.at) / 86400 * power(pg_temp.r(g, 66), 4))::integer))
  FROM demo_cust c
  CROSS JOIN LATERAL (
      SELECT CASE WHEN c.last_contact_on IS NULL THEN c.created_at
                  ELSE greatest(c.created_at,
                                least(now() - make_interval(mins => 5 + floor(pg_temp.r(g, 67) * 120)::integer),
                                      (c.last_contact_on + time '09:00' + make_interval(mins => floor(pg_temp.r(g, 68) * 540)::integer))
                                          AT TIME ZONE 'Asia/Shanghai')) END AS at) a
 ORDER BY c.seq;

-- The next customer created in the app continues after the last demo code.
INSERT INTO doc_counters (doc_type, period, last_value)
SELECT 'customer', '-', max(seq) FROM demo_cust
ON CONFLICT (doc_type, period) DO UPDATE SET last_value = greatest(doc_counters.last_value, EXCLUDED.last_value);

-- Contacts: 1–4 per customer (mean 2.5), the first one primary.
CREATE TEMP TABLE demo_titles (title text, dept text, mailbox text, first_weight integer, weight integer) ON COMMIT DROP;
INSERT INTO demo_titles VALUES
    ('采购经理', '采购部', 'purchase', 35, 14), ('总经理', '总经办', 'gm', 25, 4),
    ('设备部主管', '设备部', 'equipment', 15, 10), ('技术总监', '技术部', 'tech', 10, 6),
    ('厂长', '生产部', 'plant', 10, 4), ('项目经理', '工程部', 'project', 5, 8),
    ('副总经理', '总经办', 'vp', 0, 4), ('采购专员', '采购部', 'buyer', 0, 12),
    ('设备工程师', '设备部', 'maintenance', 0, 10), ('电气工程师', '技术部', 'electric', 0, 8),
    ('生产经理', '生产部', 'production', 0, 6), ('财务经理', '财务部', 'finance', 0, 5),
    ('会计', '财务部', 'account', 0, 5), ('仓库主管', '仓储部', 'warehouse', 0, 4);

CREATE TEMP TABLE demo_ct ON COMMIT DROP AS
WITH k AS (
    SELECT c.id AS customer_id, c.created_at, c.phone, c.website, d.g,
           CASE WHEN pg_temp.r(d.g, 80) < 0.15 THEN 1 WHEN pg_temp.r(d.g, 80) < 0.50 THEN 2
                WHEN pg_temp.r(d.g, 80) < 0.85 THEN 3 ELSE 4 END AS n
      FROM demo_cust d JOIN customers c ON c.name_key = d.name_key
), x AS (
    SELECT k.*, j, k.g * 10 + j AS h,
           row_number() OVER (ORDER BY k.customer_id, j) AS gn
      FROM k, generate_series(1, k.n) AS j
), t AS (
    SELECT x.*,
           CASE WHEN j = 1 THEN pg_temp.wpick(ARRAY(SELECT title FROM demo_titles ORDER BY title),
                                              ARRAY(SELECT first_weight FROM demo_titles ORDER BY title), pg_temp.r(h, 81))
                ELSE pg_temp.wpick(ARRAY(SELECT title FROM demo_titles ORDER BY title),
                                   ARRAY(SELECT weight FROM demo_titles ORDER BY title), pg_temp.r(h, 81)) END AS title,
           -- common surnames more often
           (ARRAY['王','李','张','刘','陈','杨','黄','赵','吴','周','徐','孙','马','朱','胡','郭','何','高','林','罗',
                  '郑','梁','谢','宋','唐','许','韩','冯','邓','曹','彭','曾','肖','田','董','袁','潘','于','蒋','蔡',
                  '余','杜','叶','程','苏','魏','吕','丁','任','沈','姚','卢','姜','崔','钟','谭','陆','汪','范','金',
                  '石','廖','贾','夏','韦','方','白','邹','孟','熊','秦','邱','江','尹','薛','段','雷','侯','龙','史',
                  '陶','黎','贺','顾','毛','郝','龚','邵','万','钱','严','覃','武','戴','莫','孔','汤','欧阳','司马','上官'])
               [1 + floor(power(pg_temp.r(h, 82), 1.6) * 100)::integer] AS surname,
           CASE WHEN pg_temp.r(h, 83) < 0.3
                THEN pg_temp.pick('{伟,芳,娜,敏,静,丽,强,磊,军,洋,勇,艳,杰,娟,涛,明,超,霞,平,刚,斌,鹏,辉,玲,婷,波,峰,琳,亮,欣,浩,雪,颖,凯,健}', pg_temp.r(h, 84))
                ELSE pg_temp.pick('{建,国,志,文,晓,海,云,俊,立,新,宇,子,佳,思,雨,晨,嘉,永,德,春,秋,家,少,成,明,红,玉,丽,美,慧,一,泽,天,梦,小,金}', pg_temp.r(h, 84))
                     || pg_temp.pick('{华,军,明,东,峰,杰,红,兰,梅,雪,新,浩,然,涵,怡,琪,飞,阳,博,磊,斌,亮,宁,静,婷,敏,颖,锋,刚,强,伟,勇,毅,平,辉,林,平,芳,霞,龙,波,文}', pg_temp.r(h, 85)) END AS given
      FROM x
)
SELECT t.*, dt.dept, dt.mailbox,
       row_number() OVER (PARTITION BY t.customer_id, dt.mailbox ORDER BY j) AS mailbox_n,
       pg_temp.pick('{130,131,132,133,135,136,137,138,139,150,151,152,155,156,157,158,159,180,181,182,183,186,187,188,189}', pg_temp.r(h, 86))
           || lpad(((gn * 73939133 + 7340033) % 100000000)::text, 8, '0') AS mobile
  FROM t JOIN demo_titles dt ON dt.title = t.title;

-- The contacts triggers refresh a customer's search text after every contact (three times for a
-- customer with three); for a bulk insert they are off, and touching each customer's primary
-- contact afterwards refreshes every demo customer once, through the same triggers.
ALTER TABLE contacts DISABLE TRIGGER USER;
INSERT INTO contacts (customer_id, name, title, department, mobile, phone, email, wechat, birthday,
                      is_primary, remarks, created_at, updated_at)
SELECT customer_id, surname || given, title, dept,
       CASE WHEN pg_temp.r(h, 87) < 0.95 THEN mobile ELSE '' END,
       CASE WHEN phone <> '' AND pg_temp.r(h, 88) < 0.3 THEN phone || '-' || (800 + floor(pg_temp.r(h, 89) * 200))::integer
            WHEN phone <> '' AND j = 1 AND pg_temp.r(h, 88) < 0.5 THEN phone ELSE '' END,
       CASE WHEN pg_temp.r(h, 90) < 0.15 THEN ''
            WHEN website <> '' THEN mailbox || CASE WHEN mailbox_n > 1 THEN mailbox_n::text ELSE '' END || '@'
                                    || substr(website, length('https://www.') + 1)
            WHEN pg_temp.r(h, 91) < 0.6 THEN (10000000 + floor(pg_temp.r(h, 92) * 2989999999))::bigint || '@qq.com'
            ELSE 'hx' || (100000 + floor(pg_temp.r(h, 92) * 899999))::integer || pg_temp.pick('{@163.com,@126.com,@sina.com}', pg_temp.r(h, 93)) END,
       CASE WHEN pg_temp.r(h, 94) < 0.35 THEN mobile ELSE '' END,
       CASE WHEN pg_temp.r(h, 95) < 0.15 THEN date '1965-01-01' + floor(pg_temp.r(h, 96) * 11000)::integer END,
       j = 1,
       CASE WHEN pg_temp.r(h, 97) < 0.08
            THEN pg_temp.pick('{决策人,技术把关，关注稳定性,只接受电话联系,周末不方便联系,新上任，需重新建立关系,对接报价与合同,负责验收}', pg_temp.r(h, 98))
            ELSE '' END,
       least(now(), created_at + make_interval(days => (j - 1) * floor(pg_temp.r(h, 99) * 60)::integer)),
       least(now(), created_at + make_interval(days => (j - 1) * floor(pg_temp.r(h, 99) * 60)::integer))
  FROM demo_ct
 ORDER BY customer_id, j;

ALTER TABLE contacts ENABLE TRIGGER USER;
UPDATE contacts SET name = name
 WHERE is_primary AND customer_id IN (SELECT c.id FROM demo_cust d JOIN customers c ON c.name_key = d.name_key);

-- Shares: some salespeople share a customer with a colleague (mostly read-only).
INSERT INTO customer_shares (customer_id, user_id, can_write, granted_by, granted_at)
SELECT c.id, u.id, pg_temp.r(d.g, 101) < 0.3, c.owner_id,
       c.created_at + (now() - c.created_at) * pg_temp.r(d.g, 102)
  FROM demo_cust d
  JOIN customers c ON c.name_key = d.name_key
  JOIN users u ON u.username = CASE WHEN d.team = 1
        THEN pg_temp.pick(array_remove('{zhangwei,liuyang,chenjing,sunli}'::text[], d.owner_name), pg_temp.r(d.g, 103))
        ELSE pg_temp.pick(array_remove('{sunli,zhoujie,wufang,zhangwei}'::text[], d.owner_name), pg_temp.r(d.g, 103)) END
 WHERE NOT d.in_pool AND d.owner_name NOT IN ('liming', 'zhaolei') AND pg_temp.r(d.g, 100) < 0.035;
