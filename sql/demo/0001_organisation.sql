-- 0001_organisation.sql — the demo company: 杭州华通智能装备有限公司, six departments, a manager
-- tree of 15 people and the roles they work with. Passwords are not here: `kexin demo` gives
-- every demo account (password_hash '!') a random password and lists them in var/demo-users.txt.

UPDATE company_profile SET
    name = '杭州华通智能装备有限公司', short_name = '华通智能',
    address = '浙江省杭州市余杭区文一西路 998 号 海创园 5 号楼 12 层', phone = '0571-88886666',
    fax = '0571-88886667', email = 'sales@huatong-demo.cn', website = 'https://www.huatong-demo.cn',
    tax_id = '91330110MA2H8K7X3Q', bank_name = '招商银行杭州余杭支行', bank_account = '5719 0812 3456 001',
    quote_terms = E'1. 报价有效期 30 天。\n2. 价格含 13% 增值税专用发票。\n3. 交货期：合同签订并收到预付款后 15 个工作日。\n4. 付款方式：预付 30%，发货前付清余款。',
    contract_terms = E'1. 质量标准：按国家标准及双方确认的技术协议执行。\n2. 验收：货到 7 日内验收，逾期视为合格。\n3. 质保期：验收合格之日起 12 个月。\n4. 争议解决：协商不成的，提交供方所在地人民法院诉讼解决。',
    version = version + 1, updated_at = now()
 WHERE id = 1;

INSERT INTO bank_accounts (name, kind, bank_name, account_no, currency, opening_balance, sort) VALUES
    ('招行基本户', 'bank', '招商银行杭州余杭支行', '5719 0812 3456 001', 'CNY', 1250000.00, 20),
    ('工行一般户', 'bank', '中国工商银行杭州文三路支行', '1202 0212 0900 1234 567', 'CNY', 380000.00, 30),
    ('外币账户（美元）', 'bank', '中国银行杭州分行', '3586 6912 8830', 'USD', 20000.00, 40),
    ('公司微信收款', 'wechat', '', '', 'CNY', 0, 50);

INSERT INTO warehouses (code, name, address, sort) VALUES
    ('WH02', '华南分仓', '广东省东莞市松山湖园区工业东路 12 号', 20);
UPDATE warehouses SET address = '浙江省杭州市余杭区仓前街道良睦路 1399 号' WHERE code = 'WH01';

INSERT INTO departments (name, sort) VALUES ('总经办', 10);
INSERT INTO departments (name, parent_id, sort)
SELECT n, (SELECT id FROM departments WHERE name = '总经办' AND parent_id IS NULL), s
  FROM (VALUES ('销售一部', 20), ('销售二部', 30), ('仓库', 40), ('采购部', 50), ('财务部', 60)) AS v(n, s);

INSERT INTO roles (code, name, description, data_scope) VALUES
    ('executive', '总经理', '查看全部业务数据，审批', 'all'),
    ('sales_manager', '销售经理', '管理本人及下属的客户与单据，审批折扣', 'subordinates'),
    ('salesperson', '业务员', '管理本人的客户、联系记录、报价与订单', 'own'),
    ('warehouse', '仓管', '发货通知、出库、库存与快递', 'all'),
    ('purchaser', '采购', '供应商、询价、采购订单与入库', 'all'),
    ('finance', '财务', '到款、发票、费用审核与应收', 'all'),
    ('administrator', '系统管理员', '组织、角色、系统设置与操作日志', 'all');

-- (role, module, actions): only actions the module has (cgi/core/perm.c).
INSERT INTO role_permissions (role_id, module, action)
SELECT r.id, p.module, a
  FROM (VALUES
    ('executive', 'customers', ARRAY['view', 'export', 'print']),
    ('executive', 'contacts', ARRAY['view', 'export']),
    ('executive', 'followups', ARRAY['view', 'approve', 'export']),
    ('executive', 'visits', ARRAY['view', 'export']),
    ('executive', 'opportunities', ARRAY['view', 'export']),
    ('executive', 'employee', ARRAY['view', 'approve']),
    ('executive', 'documents', ARRAY['view']),
    ('executive', 'products', ARRAY['view', 'export']),
    ('executive', 'quotes', ARRAY['view', 'approve', 'export', 'print']),
    ('executive', 'orders', ARRAY['view', 'approve', 'export', 'print']),
    ('executive', 'payments', ARRAY['view', 'approve', 'export', 'print']),
    ('executive', 'invoices', ARRAY['view', 'export']),
    ('executive', 'expenses', ARRAY['view', 'approve', 'export']),
    ('executive', 'shipping', ARRAY['view', 'export']),
    ('executive', 'outbound', ARRAY['view', 'export']),
    ('executive', 'purchasing', ARRAY['view', 'approve', 'export']),
    ('executive', 'inventory', ARRAY['view', 'export']),
    ('executive', 'reports', ARRAY['view', 'export', 'print']),
    ('sales_manager', 'customers', ARRAY['view', 'create', 'edit', 'delete', 'export', 'print']),
    ('sales_manager', 'contacts', ARRAY['view', 'create', 'edit', 'delete', 'export']),
    ('sales_manager', 'followups', ARRAY['view', 'create', 'edit', 'delete', 'approve', 'export']),
    ('sales_manager', 'visits', ARRAY['view', 'create', 'edit', 'delete', 'export']),
    ('sales_manager', 'opportunities', ARRAY['view', 'create', 'edit', 'delete', 'export']),
    ('sales_manager', 'employee', ARRAY['view', 'create', 'edit', 'approve']),
    ('sales_manager', 'documents', ARRAY['view', 'create', 'edit', 'delete']),
    ('sales_manager', 'products', ARRAY['view']),
    ('sales_manager', 'quotes', ARRAY['view', 'create', 'edit', 'delete', 'approve', 'export', 'print']),
    ('sales_manager', 'orders', ARRAY['view', 'create', 'edit', 'delete', 'approve', 'export', 'print']),
    ('sales_manager', 'payments', ARRAY['view']),
    ('sales_manager', 'invoices', ARRAY['view']),
    ('sales_manager', 'expenses', ARRAY['view', 'create', 'edit', 'approve']),
    ('sales_manager', 'shipping', ARRAY['view', 'create', 'edit']),
    ('sales_manager', 'express', ARRAY['view']),
    ('sales_manager', 'reports', ARRAY['view', 'export']),
    ('salesperson', 'customers', ARRAY['view', 'create', 'edit', 'print']),
    ('salesperson', 'contacts', ARRAY['view', 'create', 'edit']),
    ('salesperson', 'followups', ARRAY['view', 'create', 'edit']),
    ('salesperson', 'visits', ARRAY['view', 'create', 'edit']),
    ('salesperson', 'opportunities', ARRAY['view', 'create', 'edit']),
    ('salesperson', 'employee', ARRAY['view', 'create', 'edit']),
    ('salesperson', 'documents', ARRAY['view', 'create']),
    ('salesperson', 'products', ARRAY['view']),
    ('salesperson', 'quotes', ARRAY['view', 'create', 'edit', 'print']),
    ('salesperson', 'orders', ARRAY['view', 'create', 'edit', 'print']),
    ('salesperson', 'payments', ARRAY['view']),
    ('salesperson', 'invoices', ARRAY['view']),
    ('salesperson', 'expenses', ARRAY['view', 'create', 'edit']),
    ('salesperson', 'shipping', ARRAY['view', 'create']),
    ('salesperson', 'express', ARRAY['view']),
    ('warehouse', 'products', ARRAY['view']),
    ('warehouse', 'shipping', ARRAY['view', 'print']),
    ('warehouse', 'outbound', ARRAY['view', 'create', 'edit', 'approve', 'export', 'print']),
    ('warehouse', 'inventory', ARRAY['view', 'create', 'edit', 'approve', 'export', 'print']),
    ('warehouse', 'express', ARRAY['view', 'create', 'edit', 'export']),
    ('warehouse', 'purchasing', ARRAY['view']),
    ('purchaser', 'products', ARRAY['view', 'create', 'edit', 'export']),
    ('purchaser', 'purchasing', ARRAY['view', 'create', 'edit', 'delete', 'export', 'print']),
    ('purchaser', 'inventory', ARRAY['view']),
    ('purchaser', 'reports', ARRAY['view']),
    ('finance', 'customers', ARRAY['view', 'export']),
    ('finance', 'orders', ARRAY['view', 'export', 'print']),
    ('finance', 'payments', ARRAY['view', 'create', 'edit', 'delete', 'approve', 'export', 'print']),
    ('finance', 'invoices', ARRAY['view', 'create', 'edit', 'delete', 'export']),
    ('finance', 'expenses', ARRAY['view', 'approve', 'export', 'print']),
    ('finance', 'purchasing', ARRAY['view', 'edit', 'export']),
    ('finance', 'reports', ARRAY['view', 'export', 'print']),
    ('administrator', 'org', ARRAY['view', 'create', 'edit', 'delete']),
    ('administrator', 'settings', ARRAY['view', 'edit']),
    ('administrator', 'audit', ARRAY['view', 'export'])
  ) AS p(role, module, actions)
  JOIN roles r ON r.code = p.role, unnest(p.actions) AS a;

-- People: (username, name, title, department, manager, role, phone, discount limit %)
CREATE TEMP TABLE demo_people (u text, n text, t text, d text, m text, r text, ph text, dl numeric) ON COMMIT DROP;
INSERT INTO demo_people VALUES
    ('wangjianguo', '王建国', '总经理', '总经办', NULL, 'executive', '13805710001', 30),
    ('liming', '李明', '销售一部经理', '销售一部', 'wangjianguo', 'sales_manager', '13805710002', 15),
    ('zhangwei', '张伟', '销售工程师', '销售一部', 'liming', 'salesperson', '13805710003', 5),
    ('liuyang', '刘洋', '销售工程师', '销售一部', 'liming', 'salesperson', '13805710004', 5),
    ('chenjing', '陈静', '销售助理', '销售一部', 'liming', 'salesperson', '13805710005', 3),
    ('zhaolei', '赵磊', '销售二部经理', '销售二部', 'wangjianguo', 'sales_manager', '13805710006', 15),
    ('sunli', '孙丽', '大客户经理', '销售二部', 'zhaolei', 'salesperson', '13805710007', 8),
    ('zhoujie', '周杰', '销售工程师', '销售二部', 'zhaolei', 'salesperson', '13805710008', 5),
    ('wufang', '吴芳', '销售工程师', '销售二部', 'zhaolei', 'salesperson', '13805710009', 5),
    ('zhengqiang', '郑强', '仓库主管', '仓库', 'wangjianguo', 'warehouse', '13805710010', 0),
    ('fengtao', '冯涛', '仓管员', '仓库', 'zhengqiang', 'warehouse', '13805710011', 0),
    ('hemin', '何敏', '采购主管', '采购部', 'wangjianguo', 'purchaser', '13805710012', 0),
    ('xujuan', '许娟', '财务经理', '财务部', 'wangjianguo', 'finance', '13805710013', 0),
    ('hanxue', '韩雪', '会计', '财务部', 'xujuan', 'finance', '13805710014', 0),
    ('lina', '李娜', '系统管理员', '总经办', 'wangjianguo', 'administrator', '13805710015', 0);

INSERT INTO users (username, display_name, password_hash, title, phone, email, discount_limit, department_id)
SELECT p.u, p.n, '!', p.t, p.ph, p.u || '@huatong-demo.cn', p.dl, d.id
  FROM demo_people p JOIN departments d ON d.name = p.d
ON CONFLICT DO NOTHING;
UPDATE users u SET manager_id = m.id FROM demo_people p JOIN users m ON m.username = p.m
 WHERE u.username = p.u;
INSERT INTO user_roles (user_id, role_id)
SELECT u.id, r.id FROM demo_people p JOIN users u ON u.username = p.u JOIN roles r ON r.code = p.r;
UPDATE warehouses SET keeper_id = (SELECT id FROM users WHERE username = 'zhengqiang');
