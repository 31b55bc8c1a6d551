/* test_dedup.c — company-name keys for duplicate control and phone keys for near-duplicates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dedup.h"

#include <glib.h>

static void same(const char *a, const char *b)
{
    g_autofree char *ka = dedup_name_key(a);
    g_autofree char *kb = dedup_name_key(b);
    assert_non_null(ka);
    assert_non_null(kb);
    if (g_strcmp0(ka, kb) != 0)
        fail_msg("'%s' (%s) and '%s' (%s) should be the same customer", a, ka, b, kb);
}

static void differ(const char *a, const char *b)
{
    g_autofree char *ka = dedup_name_key(a);
    g_autofree char *kb = dedup_name_key(b);
    if (g_strcmp0(ka, kb) == 0)
        fail_msg("'%s' and '%s' should be different customers (both %s)", a, b, ka);
}

static void legal_form_suffixes_do_not_matter(void **state)
{
    (void)state;
    same("杭州华通智能装备有限公司", "杭州华通智能装备");
    same("杭州华通智能装备股份有限公司", "杭州华通智能装备有限责任公司");
    same("华通集团有限公司", "华通");
    same("华通集团股份有限公司", "华通公司");
    same("Acme Trading Co., Ltd.", "ACME trading");
    same("Acme Inc.", "acme");
}

static void width_case_spaces_and_punctuation_do_not_matter(void **state)
{
    (void)state;
    same("ＡＢＣ科技（上海）有限公司", "abc科技(上海)有限公司");
    same("华通 智能·装备", "华通智能装备");
    same("华通—智能、装备！", "华通智能装备");
    same("「华通」智能", "华通智能");
}

static void bracketed_place_equals_leading_place(void **state)
{
    (void)state;
    same("华通智能（杭州）有限公司", "杭州华通智能有限公司");
    same("华通智能(中国)有限公司", "中国华通智能");
    differ("北京华通智能有限公司", "上海华通智能有限公司");
}

static void different_companies_stay_different(void **state)
{
    (void)state;
    differ("华通智能装备有限公司", "华通智能科技有限公司");
    differ("华通北京分公司", "华通");
    differ("公司", "有限公司有限公司x");
}

static void nothing_left_or_bad_input(void **state)
{
    (void)state;
    g_autofree char *k = dedup_name_key("公司");
    assert_string_equal(k, "公司");
    g_autofree char *e = dedup_name_key("  ，。 ");
    assert_string_equal(e, "");
    assert_null(dedup_name_key("\xff\xfe"));
    assert_null(dedup_name_key(NULL));
}

static void phone_keys_keep_digits_without_country_code(void **state)
{
    (void)state;
    g_autofree char *a = dedup_phone_key("+86 138-0571-0001");
    g_autofree char *b = dedup_phone_key("13805710001");
    g_autofree char *c = dedup_phone_key("0086 13805710001");
    g_autofree char *d = dedup_phone_key("０５７１－８８８８６６６６");
    assert_string_equal(a, "13805710001");
    assert_string_equal(b, "13805710001");
    assert_string_equal(c, "13805710001");
    assert_string_equal(d, "057188886666");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(legal_form_suffixes_do_not_matter),
        cmocka_unit_test(width_case_spaces_and_punctuation_do_not_matter),
        cmocka_unit_test(bracketed_place_equals_leading_place),
        cmocka_unit_test(different_companies_stay_different),
        cmocka_unit_test(nothing_left_or_bad_input),
        cmocka_unit_test(phone_keys_keep_digits_without_country_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
