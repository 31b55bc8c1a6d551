/* test_numbering.c — the document-number formatter and counter periods. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "numbering.h"

#include <glib.h>
#include <string.h>

static void check(const char *pattern, const char *prefix, int y, int m, int d, long v, const char *want)
{
    char *got = numbering_format(pattern, prefix, y, m, d, v);
    if (!want) {
        if (got)
            fail_msg("pattern %s should be refused, got %s", pattern ? pattern : "(null)", got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    g_free(got);
}

static void formats_the_default_quote_pattern(void **state)
{
    (void)state;
    check("{prefix}{yyyy}{mm}{dd}{####}", "QT", 2026, 11, 27, 1, "QT202611270001");
    check("{prefix}{yyyy}{mm}{dd}{####}", "QT", 2026, 1, 5, 42, "QT202601050042");
}

static void sequence_grows_past_its_width(void **state)
{
    (void)state;
    check("{prefix}{###}", "SN", 2026, 1, 1, 999, "SN999");
    check("{prefix}{###}", "SN", 2026, 1, 1, 1000, "SN1000");
}

static void supports_literals_short_year_and_no_prefix(void **state)
{
    (void)state;
    check("HT-{yy}{mm}-{#####}", "", 2026, 3, 9, 7, "HT-2603-00007");
    check("{prefix}/{yyyy}/{######}", "PO", 2027, 12, 31, 123456, "PO/2027/123456");
    check("{#}", "", 2026, 1, 1, 5, "5");
}

static void refuses_bad_patterns(void **state)
{
    (void)state;
    check("{prefix}{yyyy}", "QT", 2026, 1, 1, 1, NULL);          /* no sequence */
    check("{####}{##}", "", 2026, 1, 1, 1, NULL);                /* two sequences */
    check("{prefix}{month}{###}", "QT", 2026, 1, 1, 1, NULL);    /* unknown token */
    check("{prefix{###}", "QT", 2026, 1, 1, 1, NULL);            /* nested brace */
    check("{###", "QT", 2026, 1, 1, 1, NULL);                    /* unclosed */
    check("QT}{###}", "QT", 2026, 1, 1, 1, NULL);                /* stray close */
    check(NULL, "QT", 2026, 1, 1, 1, NULL);
    assert_true(numbering_pattern_ok("{prefix}{yyyy}{mm}{dd}{####}"));
    assert_false(numbering_pattern_ok("{prefix}"));
}

static void periods_follow_the_reset_policy(void **state)
{
    (void)state;
    char buf[16];
    assert_string_equal(numbering_period("daily", 2026, 11, 27, buf), "20261127");
    assert_string_equal(numbering_period("monthly", 2026, 11, 27, buf), "202611");
    assert_string_equal(numbering_period("yearly", 2026, 11, 27, buf), "2026");
    assert_string_equal(numbering_period("never", 2026, 11, 27, buf), "-");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(formats_the_default_quote_pattern),
        cmocka_unit_test(sequence_grows_past_its_width),
        cmocka_unit_test(supports_literals_short_year_and_no_prefix),
        cmocka_unit_test(refuses_bad_patterns),
        cmocka_unit_test(periods_follow_the_reset_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
