/* test_core.c — unit tests for the request core: arena, parsing limits, router, i18n, forms, logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "arena.h"
#include "config.h"
#include "form.h"
#include "i18n.h"
#include "listing.h"
#include "log.h"
#include "request.h"
#include "router.h"
#include "scope.h"
#include "sqlbuf.h"
#include "view.h"

#include <string.h>

static int setup_cfg(void **state)
{
    (void)state;
    cfg.field_max = 10;
    cfg.value_max = 64;
    return 0;
}

static void arena_allocations_are_zeroed_aligned_and_freed(void **state)
{
    (void)state;
    Arena *a = arena_new();
    for (int i = 0; i < 5000; i++) {
        char *p = arena_alloc(a, (size_t)(i % 97) + 1);
        assert_true(((uintptr_t)p % 16) == 0);
        for (int j = 0; j < i % 97 + 1; j++)
            assert_int_equal(p[j], 0);
        memset(p, 0xab, (size_t)(i % 97) + 1);
    }
    char *big = arena_alloc(a, 1 << 20);
    big[(1 << 20) - 1] = 1;
    assert_string_equal(arena_printf(a, "%s-%d", "x", 42), "x-42");
    assert_string_equal(arena_strndup(a, "hello", 3), "hel");
    arena_free(a);
}

static int cleaned;
static void count_cleanup(void *p)
{
    cleaned += *(int *)p;
}

static void arena_runs_cleanups_once(void **state)
{
    (void)state;
    Arena *a = arena_new();
    static int one = 1, ten = 10;
    cleaned = 0;
    arena_defer(a, count_cleanup, &one);
    arena_defer(a, count_cleanup, &ten);
    arena_free(a);
    assert_int_equal(cleaned, 11);
}

static void urlencoded_decodes_plus_percent_and_utf8(void **state)
{
    (void)state;
    Arena *a = arena_new();
    ParamList l = {0};
    const char *s = "name=%E5%AE%A2%E4%BF%A1&q=a+b%2Bc&empty=&flag";
    assert_int_equal(req_parse_urlencoded(a, s, strlen(s), &l), 0);
    assert_int_equal(l.n, 4);
    assert_string_equal(param_get(&l, "name"), "客信");
    assert_string_equal(param_get(&l, "q"), "a b+c");
    assert_string_equal(param_get(&l, "empty"), "");
    assert_string_equal(param_get(&l, "flag"), "");
    assert_null(param_get(&l, "missing"));
    arena_free(a);
}

static void urlencoded_rejects_bad_encodings(void **state)
{
    (void)state;
    const char *bad[] = {"a=%zz", "a=%", "a=%4", "a=%ff%fe", "a=%00", "%c3=x", "a=%C3%28"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        Arena *a = arena_new();
        ParamList l = {0};
        assert_int_equal(req_parse_urlencoded(a, bad[i], strlen(bad[i]), &l), 400);
        arena_free(a);
    }
}

static void urlencoded_enforces_field_count_and_length(void **state)
{
    (void)state;
    Arena *a = arena_new();
    ParamList l = {0};
    const char *many = "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9&j=10&k=11";
    assert_int_equal(req_parse_urlencoded(a, many, strlen(many), &l), 413);
    char longv[200] = "v=";
    memset(longv + 2, 'x', 100);
    longv[102] = '\0';
    l = (ParamList){0};
    assert_int_equal(req_parse_urlencoded(a, longv, strlen(longv), &l), 413);
    arena_free(a);
}

static void cookies_parse_and_skip_garbage(void **state)
{
    (void)state;
    Arena *a = arena_new();
    ParamList l = {0};
    req_parse_cookies(a, "kx_session=abc; =bad; junk; kx_lang=en;x=\xff", &l);
    assert_string_equal(param_get(&l, "kx_session"), "abc");
    assert_string_equal(param_get(&l, "kx_lang"), "en");
    assert_null(param_get(&l, "x"));
    arena_free(a);
}

static void router_matches_literal_and_id_patterns(void **state)
{
    (void)state;
    Arena *a = arena_new();
    const char *args[4];
    int n = 0;
    assert_true(router_match("/login", "/login", args, &n, a));
    assert_int_equal(n, 0);
    assert_false(router_match("/login", "/login/", args, &n, a));
    assert_true(router_match("/customers/{id}/edit", "/customers/42/edit", args, &n, a));
    assert_int_equal(n, 1);
    assert_string_equal(args[0], "42");
    assert_false(router_match("/customers/{id}", "/customers/0", args, &n, a));
    assert_false(router_match("/customers/{id}", "/customers/012", args, &n, a));
    assert_false(router_match("/customers/{id}", "/customers/abc", args, &n, a));
    assert_false(router_match("/customers/{id}", "/customers/1234567890123456789", args, &n, a));
    assert_false(router_match("/customers/{id}", "/customers/", args, &n, a));
    assert_true(router_match("/a/{id}/b/{id}", "/a/1/b/2", args, &n, a));
    assert_int_equal(n, 2);
    assert_string_equal(args[1], "2");
    arena_free(a);
}

static void language_pick_prefers_user_then_cookie_then_browser(void **state)
{
    (void)state;
    assert_string_equal(i18n_pick(NULL, NULL, NULL), "zh_CN");
    assert_string_equal(i18n_pick(NULL, NULL, "en-US,en;q=0.9"), "en");
    assert_string_equal(i18n_pick(NULL, NULL, "zh-CN,zh;q=0.9,en;q=0.8"), "zh_CN");
    assert_string_equal(i18n_pick(NULL, NULL, "fr-FR, en;q=0.5"), "en");
    assert_string_equal(i18n_pick(NULL, NULL, "fr-FR"), "zh_CN");
    assert_string_equal(i18n_pick(NULL, NULL, "en;q=0.3, zh;q=0.7"), "zh_CN");
    assert_string_equal(i18n_pick(NULL, NULL, "zh;q=0, en"), "en");
    assert_string_equal(i18n_pick(NULL, "en", "zh-CN"), "en");
    assert_string_equal(i18n_pick("zh_CN", "en", "en"), "zh_CN");
    assert_string_equal(i18n_pick("xx", "bogus", "en"), "en");
}

static void escape_neutralises_markup_and_repairs_utf8(void **state)
{
    (void)state;
    Arena *a = arena_new();
    assert_string_equal(view_escape(a, "<script>\"'&"), "&lt;script&gt;&quot;&apos;&amp;");
    assert_string_equal(view_escape(a, NULL), "");
    assert_string_equal(view_escape(a, "客信"), "客信");
    const char *bad = view_escape(a, "a\xff<b");
    assert_true(g_utf8_validate(bad, -1, NULL));
    assert_non_null(strstr(bad, "&lt;b"));
    /* The fast path (text needing no escape, copied as it is) agrees with g_markup_escape_text on
     * every byte that matters: controls, DEL, C1 controls (U+0080–U+009F), quotes, invalid UTF-8. */
    const char *samples[] = {"plain 客信 text", "tab\tand\nlines\r", "ctl\x01x", "del\x7fx",
                             "c1\xc2\x85x", "nbsp\xc2\xa0x", "quote'x", "amp&x", "gt>x",
                             "cut\xe5\xae", "ok\xe2\x82\xac", ""};
    for (size_t i = 0; i < G_N_ELEMENTS(samples); i++) {
        gchar *valid = g_utf8_make_valid(samples[i], -1);
        gchar *want = g_markup_escape_text(valid, -1);
        assert_string_equal(view_escape(a, samples[i]), want);
        g_free(want);
        g_free(valid);
    }
    arena_free(a);
}

static const Choice langs[] = {{"zh_CN", "Chinese"}, {"en", "English"}, {NULL, NULL}};

static void validators_accept_and_normalise(void **state)
{
    (void)state;
    Arena *a = arena_new();
    const char *out;
    FieldDef text = {"n", "Name", F_TEXT, F_REQUIRED, 5, 0, 0, NULL, NULL, NULL};
    assert_null(field_validate(&text, "  客信公司 ", a, &out));
    assert_string_equal(out, "客信公司");
    assert_non_null(field_validate(&text, "   ", a, &out));
    assert_non_null(field_validate(&text, "六个汉字六个", a, &out));
    assert_non_null(field_validate(&text, "a\x01", a, &out));
    FieldDef pw = {"p", "P", F_PASSWORD, F_KEEP_SPACES, 0, 0, 0, NULL, NULL, NULL};
    assert_null(field_validate(&pw, " x ", a, &out));
    assert_string_equal(out, " x ");
    FieldDef num = {"i", "I", F_INT, 0, 0, 1, 10, NULL, NULL, NULL};
    assert_null(field_validate(&num, "007", a, &out));
    assert_string_equal(out, "7");
    assert_non_null(field_validate(&num, "11", a, &out));
    assert_non_null(field_validate(&num, "1.5", a, &out));
    assert_null(field_validate(&num, "", a, &out));
    FieldDef date = {"d", "D", F_DATE, 0, 0, 0, 0, NULL, NULL, NULL};
    assert_null(field_validate(&date, "2026-02-28", a, &out));
    assert_non_null(field_validate(&date, "2026-02-30", a, &out));
    assert_non_null(field_validate(&date, "2026-2-3", a, &out));
    FieldDef mail = {"e", "E", F_EMAIL, 0, 0, 0, 0, NULL, NULL, NULL};
    assert_null(field_validate(&mail, "li.lei@example.cn", a, &out));
    assert_non_null(field_validate(&mail, "li.lei", a, &out));
    FieldDef sel = {"l", "L", F_SELECT, 0, 0, 0, 0, langs, NULL, NULL};
    assert_null(field_validate(&sel, "en", a, &out));
    assert_non_null(field_validate(&sel, "fr", a, &out));
    FieldDef chk = {"c", "C", F_CHECKBOX, 0, 0, 0, 0, NULL, NULL, NULL};
    assert_null(field_validate(&chk, "on", a, &out));
    assert_string_equal(out, "1");
    assert_null(field_validate(&chk, NULL, a, &out));
    assert_string_equal(out, "");
    arena_free(a);
}

static void log_clean_neutralises_control_characters(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(log_clean(buf, sizeof buf, "a\nb\r\"c"), "a\\x0ab\\x0d\\x22c");
    assert_string_equal(log_clean(buf, sizeof buf, NULL), "-");
    char longs[200];
    memset(longs, 'x', sizeof longs - 1);
    longs[199] = '\0';
    assert_true(strlen(log_clean(buf, sizeof buf, longs)) < sizeof buf);
}

static void scope_filter_builds_a_parameterised_predicate(void **state)
{
    (void)state;
    Arena *a = arena_new();
    User u = {.id = 7, .scope = 2, .visible = "{7,9,12}"};
    Request req = {.arena = a, .user = &u};
    SqlBuf *q = sql_new(a, "SELECT 1 FROM customers c WHERE c.status = ");
    sql_add(q, sql_param(q, "active"));
    sql_add(q, " AND ");
    assert_int_equal(scope_filter(&req, q, "c.owner_id",
                                  "EXISTS (SELECT 1 FROM shares s WHERE s.customer_id = c.id AND s.user_id = %s)"), 0);
    assert_string_equal(q->sql->str,
                        "SELECT 1 FROM customers c WHERE c.status = $1 AND (c.owner_id = ANY($2::bigint[])"
                        " OR EXISTS (SELECT 1 FROM shares s WHERE s.customer_id = c.id AND s.user_id = $3))");
    assert_int_equal(q->n, 3);
    assert_string_equal(q->values[1], "{7,9,12}");
    assert_string_equal(q->values[2], "7");
    assert_true(scope_sees_user(&req, 9));
    assert_true(scope_sees_user(&req, 12));
    assert_false(scope_sees_user(&req, 1));
    assert_false(scope_sees_user(&req, 72));
    assert_false(scope_sees_user(&req, 91));

    User admin = {.id = 1, .is_admin = true, .scope = 5};
    req.user = &admin;
    SqlBuf *q2 = sql_new(a, "WHERE ");
    assert_int_equal(scope_filter(&req, q2, "c.owner_id", NULL), 0);
    assert_string_equal(q2->sql->str, "WHERE TRUE");
    assert_int_equal(q2->n, 0);
    assert_true(scope_sees_user(&req, 12345));
    arena_free(a);
}

static void sql_helpers_escape_arrays_and_like_patterns(void **state)
{
    (void)state;
    Arena *a = arena_new();
    const char *items[] = {"a", "b\"c", NULL, "d\\e"};
    assert_string_equal(sql_text_array(a, items, 4), "{\"a\",\"b\\\"c\",NULL,\"d\\\\e\"}");
    assert_string_equal(sql_like_contains(a, "50%_x\\"), "%50\\%\\_x\\\\%");
    SqlBuf *q = sql_new(a, "");
    for (int i = 0; i < SQLBUF_MAX_PARAMS + 1; i++)
        sql_param(q, "x");
    assert_true(q->overflow);
    assert_null(sql_exec(q));
    arena_free(a);
}

/* The walk-or-read rule with the shares of the bench's 2-character searches and per-row costs
 * like those the customer search measured (walking with a costly test 64, a cheap one 14;
 * reading a match 31). */
static void walk_or_read_follows_the_costs(void **state)
{
    (void)state;
    /* 1M rows, a page with its bounded count (1,001 rows), a costly test per row walked */
    assert_false(list_walk_cheaper(1000000, 22727, 1001, 64, 31)); /* 杭州 2.3 %: read the matches */
    assert_false(list_walk_cheaper(1000000, 1240, 1001, 64, 31));  /* 华通 0.12 % */
    assert_true(list_walk_cheaper(1000000, 150000, 1001, 64, 31)); /* 科技 15 %: walk */
    assert_true(list_walk_cheaper(1000000, 60000, 1001, 64, 31));  /* above the 4.5 % crossover */
    assert_false(list_walk_cheaper(1000000, 40000, 1001, 64, 31)); /* below it */
    /* a cheap test per row moves the crossover down to 2.1 %: 杭州 walks, 王伟 (0.2 %) reads */
    assert_true(list_walk_cheaper(1000000, 22727, 1001, 14, 31));
    assert_false(list_walk_cheaper(1000000, 2195, 1001, 14, 31));
    /* 100k rows: the crossover is near 14 % */
    assert_false(list_walk_cheaper(100000, 120000, 1001, 64, 31));
    assert_true(list_walk_cheaper(100000, 160000, 1001, 64, 31));
    /* an exact count's first page needs only 50 rows: the walk wins sooner */
    assert_true(list_walk_cheaper(100000, 40000, 50, 64, 31));
    /* unknown or absent: read */
    assert_false(list_walk_cheaper(0, 500000, 1001, 64, 31));
    assert_false(list_walk_cheaper(1000000, 0, 1001, 64, 31));
    assert_false(list_walk_cheaper(1000000, -1, 1001, 64, 31));
    assert_true(list_walk_cheaper(1000000, 2000000, 1001, 64, 31)); /* a share above 1 counts as 1 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arena_allocations_are_zeroed_aligned_and_freed),
        cmocka_unit_test(arena_runs_cleanups_once),
        cmocka_unit_test(urlencoded_decodes_plus_percent_and_utf8),
        cmocka_unit_test(urlencoded_rejects_bad_encodings),
        cmocka_unit_test(urlencoded_enforces_field_count_and_length),
        cmocka_unit_test(cookies_parse_and_skip_garbage),
        cmocka_unit_test(router_matches_literal_and_id_patterns),
        cmocka_unit_test(language_pick_prefers_user_then_cookie_then_browser),
        cmocka_unit_test(escape_neutralises_markup_and_repairs_utf8),
        cmocka_unit_test(validators_accept_and_normalise),
        cmocka_unit_test(log_clean_neutralises_control_characters),
        cmocka_unit_test(scope_filter_builds_a_parameterised_predicate),
        cmocka_unit_test(sql_helpers_escape_arrays_and_like_patterns),
        cmocka_unit_test(walk_or_read_follows_the_costs),
    };
    return cmocka_run_group_tests(tests, setup_cfg, NULL);
}
