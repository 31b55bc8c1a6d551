/* test_money.c — cmocka unit tests for money.c: parsing, rounding, formatting, tax, 大写. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "money.h"

#include <string.h>

/* ---- helpers ------------------------------------------------------------------------ */

/* Test values are written as text so the expectations read like the business rules. */
static Money m(const char *s)
{
    Money v = MONEY_ZERO;
    int rc = money_parse(s, MONEY_SCALE, &v);
    if (rc != MONEY_OK) fail_msg("bad test literal \"%s\": %s", s, money_strerror(rc));
    return v;
}

/* Compares by value and shows both sides at full precision on mismatch. */
#define assert_money(actual, expected) assert_money_at((actual), (expected), __FILE__, __LINE__)
static void assert_money_at(Money actual, const char *expected, const char *file, int line)
{
    if (money_cmp(actual, m(expected)) != 0) {
        char buf[MONEY_FORMAT_MAX];
        money_format_buf(actual, MONEY_SCALE, FALSE, buf, sizeof buf);
        fail_msg("%s:%d: money is %s, expected %s", file, line, buf, expected);
    }
}

#define assert_parse(text, max_scale, expected)                                                    \
    do {                                                                                           \
        Money v_ = MONEY_ZERO;                                                                     \
        assert_int_equal(money_parse((text), (max_scale), &v_), MONEY_OK);                         \
        assert_money(v_, (expected));                                                              \
    } while (0)

#define assert_parse_fails(text, max_scale, err)                                                   \
    assert_int_equal(money_parse((text), (max_scale), &(Money){0}), (err))

#define assert_round(text, scale, expected) assert_money(money_round(m(text), (scale)), expected)

#define assert_format(text, scale, thousands, expected)                                            \
    do {                                                                                           \
        char *s_ = money_format(m(text), (scale), (thousands));                                    \
        assert_non_null(s_);                                                                       \
        assert_string_equal(s_, (expected));                                                       \
        g_free(s_);                                                                                \
    } while (0)

static MoneyLine line_in(const char *qty, const char *price, gboolean incl, const char *rate,
                         const char *discount)
{
    return (MoneyLine){.qty = m(qty),
                       .price = m(price),
                       .price_includes_tax = incl,
                       .tax_rate = m(rate),
                       .discount_rate = m(discount)};
}

/* ---- parse -------------------------------------------------------------------------- */

static void test_parse_accepts_integers_and_decimals(void **state)
{
    (void)state;
    assert_parse("0", 2, "0");
    assert_parse("42", 0, "42");
    assert_parse("123.45", 2, "123.45");
    assert_parse("0.00000001", 8, "0.00000001");
    assert_parse("007.5", 2, "7.5");
    assert_parse(".5", 2, "0.5");
    assert_parse("5.", 2, "5");
}

static void test_parse_accepts_sign_and_trims_whitespace(void **state)
{
    (void)state;
    assert_parse("-12.5", 2, "-12.5");
    assert_parse("+12.5", 2, "12.5");
    assert_parse("-0", 2, "0");
    assert_parse("  3.14 ", 2, "3.14");
    assert_parse("\t-7\r\n", 0, "-7");
    assert_parse("\u00A08\u00A0", 0, "8"); /* no-break spaces from a spreadsheet */
}

static void test_parse_accepts_correctly_grouped_thousands(void **state)
{
    (void)state;
    assert_parse("1,234.5", 2, "1234.5");
    assert_parse("12,345,678.90", 2, "12345678.9");
    assert_parse("-999,999", 0, "-999999");
    assert_parse("100,000,000,000,000,000,000", 0, "100000000000000000000");
}

static void test_parse_rejects_misplaced_thousands_separators(void **state)
{
    (void)state;
    assert_parse_fails("1,23", 2, MONEY_ERR_SYNTAX);
    assert_parse_fails("1234,567", 2, MONEY_ERR_SYNTAX);
    assert_parse_fails("1,2345", 2, MONEY_ERR_SYNTAX);
    assert_parse_fails(",123", 2, MONEY_ERR_SYNTAX);
    assert_parse_fails("1,,234", 2, MONEY_ERR_SYNTAX);
    assert_parse_fails("1,234,", 2, MONEY_ERR_SYNTAX);
    assert_parse_fails("1,234.567,8", 8, MONEY_ERR_SYNTAX);
    assert_parse_fails("1.234,56", 8, MONEY_ERR_SYNTAX); /* European style is not guessed */
    assert_parse_fails("1 234", 2, MONEY_ERR_SYNTAX);
}

static void test_parse_rejects_more_decimals_than_max_scale(void **state)
{
    (void)state;
    assert_parse_fails("1.234", 2, MONEY_ERR_SCALE);
    assert_parse_fails("1.500", 2, MONEY_ERR_SCALE); /* written decimals count */
    assert_parse_fails("1.5", 0, MONEY_ERR_SCALE);
    assert_parse_fails("0.000000001", 8, MONEY_ERR_SCALE);
    assert_parse("1.5", 1, "1.5");
    assert_parse("1.", 0, "1");
}

static void test_parse_rejects_garbage_and_empty(void **state)
{
    (void)state;
    const char *bad[] = {"",    "   ", "abc", "1.2.3",  "--1",  "+-1",   "1e5",   "- 1",
                         ".",   "+",   "-",   "0x10",   "1.-2", "12abc", "abc12", "1,",
                         "NaN", "inf", "1/2", "１／２", "¥100", "1-"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Money v = money_from_int(99);
        if (money_parse(bad[i], 8, &v) != MONEY_ERR_SYNTAX)
            fail_msg("\"%s\" should be a syntax error", bad[i]);
        assert_money(v, "99"); /* output untouched on error */
    }
}

static void test_parse_rejects_null_and_bad_max_scale(void **state)
{
    (void)state;
    Money v;
    assert_int_equal(money_parse(NULL, 2, &v), MONEY_ERR_ARG);
    assert_int_equal(money_parse("1", 2, NULL), MONEY_ERR_ARG);
    assert_int_equal(money_parse("1", -1, &v), MONEY_ERR_ARG);
    assert_int_equal(money_parse("1", 9, &v), MONEY_ERR_ARG);
}

static void test_parse_accepts_fullwidth_ime_input(void **state)
{
    (void)state;
    assert_parse("１２３．４５", 2, "123.45");
    assert_parse("－１，２３４．５", 2, "-1234.5");
    assert_parse("＋０．０５", 2, "0.05");
    assert_parse("　８８　", 0, "88"); /* U+3000 ideographic spaces */
    assert_parse("1２3.4５", 2, "123.45");
}

static void test_parse_detects_out_of_range(void **state)
{
    (void)state;
    assert_parse("100000000000000000000", 0, "100000000000000000000");
    assert_parse("-100000000000000000000", 0, "-100000000000000000000");
    assert_parse_fails("100000000000000000001", 0, MONEY_ERR_RANGE);
    assert_parse_fails("100000000000000000000.01", 2, MONEY_ERR_RANGE);
    assert_parse_fails("99999999999999999999999999999999999999999999", 0, MONEY_ERR_RANGE);
    /* Leading zeros do not count against the range. */
    assert_parse("0000000000000000000000000000000001.5", 1, "1.5");
}

/* ---- construction ------------------------------------------------------------------- */

static void test_from_int_and_from_scaled_build_exact_values(void **state)
{
    (void)state;
    assert_money(money_from_int(0), "0");
    assert_money(money_from_int(-17), "-17");
    assert_money(money_from_int(INT64_MAX), "9223372036854775807");
    Money v;
    assert_int_equal(money_from_scaled(12345, 2, &v), MONEY_OK);
    assert_money(v, "123.45");
    assert_int_equal(money_from_scaled(-75, 4, &v), MONEY_OK);
    assert_money(v, "-0.0075");
    assert_int_equal(money_from_scaled(INT64_MIN, 0, &v), MONEY_OK);
    assert_money(v, "-9223372036854775808");
    assert_int_equal(money_from_scaled(1, 9, &v), MONEY_ERR_ARG);
}

static void test_to_scaled_rounds_to_integer_fen(void **state)
{
    (void)state;
    int64_t fen = 0;
    assert_int_equal(money_to_scaled(m("123.455"), 2, &fen), MONEY_OK);
    assert_int_equal(fen, 12346);
    assert_int_equal(money_to_scaled(m("-0.005"), 2, &fen), MONEY_OK);
    assert_int_equal(fen, -1);
    assert_int_equal(money_to_scaled(m("100000000000000000000"), 2, &fen), MONEY_ERR_RANGE);
    assert_int_equal(fen, -1);
}

/* ---- rounding ----------------------------------------------------------------------- */

static void test_round_half_away_from_zero_at_two_decimals(void **state)
{
    (void)state;
    assert_round("0.005", 2, "0.01");
    assert_round("-0.005", 2, "-0.01");
    assert_round("2.675", 2, "2.68");
    assert_round("-2.675", 2, "-2.68");
    assert_round("2.665", 2, "2.67"); /* banker's rounding would give 2.66 */
    assert_round("1.995", 2, "2.00");
    assert_round("-1.995", 2, "-2.00");
    assert_round("0.0049999", 2, "0.00");
    assert_round("1.0049999", 2, "1.00");
    assert_round("0.00499999", 2, "0.00");
    assert_round("0.0050000", 2, "0.01");
}

static void test_round_half_away_from_zero_at_six_decimals(void **state)
{
    (void)state;
    assert_round("1.0000005", 6, "1.000001");
    assert_round("-1.0000005", 6, "-1.000001");
    assert_round("12.3456785", 6, "12.345679");
    assert_round("1.00000049", 6, "1.000000");
    assert_round("0.9999995", 6, "1");
}

static void test_round_to_zero_and_eight_decimals_and_clamped_scale(void **state)
{
    (void)state;
    assert_round("2.5", 0, "3");
    assert_round("-2.5", 0, "-3");
    assert_round("0.49999999", 0, "0");
    assert_round("0.12345678", 8, "0.12345678");
    assert_round("0.12345678", 99, "0.12345678");
    assert_round("2.5", -3, "3");
}

static void test_round_near_range_limit_stays_in_range(void **state)
{
    (void)state;
    assert_round("99999999999999999999.995", 2, "100000000000000000000");
    assert_round("-99999999999999999999.5", 0, "-100000000000000000000");
}

static void test_decimals_counts_significant_decimals(void **state)
{
    (void)state;
    assert_int_equal(money_decimals(m("3")), 0);
    assert_int_equal(money_decimals(m("1.50")), 1);
    assert_int_equal(money_decimals(m("-0.0075")), 4);
    assert_int_equal(money_decimals(m("0.00000001")), 8);
}

/* ---- formatting --------------------------------------------------------------------- */

static void test_format_inserts_thousands_separators(void **state)
{
    (void)state;
    assert_format("1234567.891", 2, TRUE, "1,234,567.89");
    assert_format("-1234.5", 2, TRUE, "-1,234.50");
    assert_format("0", 2, TRUE, "0.00");
    assert_format("999", 2, TRUE, "999.00");
    assert_format("1000", 2, TRUE, "1,000.00");
    assert_format("999.995", 2, TRUE, "1,000.00");
    assert_format("-100000", 0, TRUE, "-100,000");
    assert_format("100000000000000000000", 2, TRUE, "100,000,000,000,000,000,000.00");
    assert_format("-100000000000000000000", 8, TRUE, "-100,000,000,000,000,000,000.00000000");
}

static void test_format_without_separators_is_plain(void **state)
{
    (void)state;
    assert_format("1234567.891", 2, FALSE, "1234567.89");
    assert_format("-0.5", 2, FALSE, "-0.50");
    assert_format("0.07", 2, FALSE, "0.07");
}

static void test_format_uses_requested_scale_for_prices_and_quantities(void **state)
{
    (void)state;
    assert_format("12.3456785", MONEY_DP_PRICE, TRUE, "12.345679");
    assert_format("1234.5", MONEY_DP_PRICE, TRUE, "1,234.500000");
    assert_format("7.5", MONEY_DP_QTY, FALSE, "7.5000");
    assert_format("0.00005", MONEY_DP_QTY, FALSE, "0.0001");
    assert_format("2.5", 0, FALSE, "3");
    assert_format("0.00000001", 8, FALSE, "0.00000001");
}

static void test_format_value_rounding_to_zero_has_no_sign(void **state)
{
    (void)state;
    assert_format("-0.004", 2, TRUE, "0.00");
    assert_format("-0.4", 0, FALSE, "0");
}

static void test_format_rejects_scale_outside_0_to_8(void **state)
{
    (void)state;
    assert_null(money_format(m("1"), -1, FALSE));
    assert_null(money_format(m("1"), 9, FALSE));
}

static void test_format_buf_reports_buffer_too_small(void **state)
{
    (void)state;
    char buf[9];
    assert_int_equal(money_format_buf(m("1234.5"), 2, TRUE, buf, sizeof buf), MONEY_OK);
    assert_string_equal(buf, "1,234.50");
    assert_int_equal(money_format_buf(m("1234.5"), 2, TRUE, buf, 8), MONEY_ERR_BUFFER);
    assert_string_equal(buf, "");
    assert_int_equal(money_format_buf(m("1"), 2, TRUE, buf, 0), MONEY_ERR_BUFFER);
    assert_int_equal(money_format_buf(m("1"), 2, TRUE, NULL, 10), MONEY_ERR_ARG);
}

static void test_format_output_parses_back_to_same_value(void **state)
{
    (void)state;
    const char *vals[] = {"0",          "-0.01",
                          "1234567.89", "-99999999999999999999.99999999",
                          "0.00000001", "100000000000000000000"};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        for (int thousands = 0; thousands <= 1; thousands++) {
            char *s = money_format(m(vals[i]), 8, thousands);
            Money back;
            assert_int_equal(money_parse(s, 8, &back), MONEY_OK);
            assert_money(back, vals[i]);
            g_free(s);
        }
    }
}

/* ---- arithmetic --------------------------------------------------------------------- */

static void test_add_sub_neg_abs_are_exact(void **state)
{
    (void)state;
    Money r;
    assert_int_equal(money_add(m("0.1"), m("0.2"), &r), MONEY_OK);
    assert_money(r, "0.3");
    assert_int_equal(money_sub(m("0.3"), m("0.1"), &r), MONEY_OK);
    assert_money(r, "0.2");
    assert_int_equal(money_sub(m("1"), m("1.00000001"), &r), MONEY_OK);
    assert_money(r, "-0.00000001");
    assert_money(money_neg(m("5.5")), "-5.5");
    assert_money(money_neg(m("-5.5")), "5.5");
    assert_money(money_abs(m("-5.5")), "5.5");
    assert_money(money_abs(m("5.5")), "5.5");
}

static void test_cmp_and_predicates_compare_by_value(void **state)
{
    (void)state;
    assert_int_equal(money_cmp(m("1.5"), m("1.50")), 0);
    assert_int_equal(money_cmp(m("1.5"), m("1.49999999")), 1);
    assert_int_equal(money_cmp(m("-2"), m("1")), -1);
    assert_true(money_is_zero(m("-0.00")));
    assert_false(money_is_zero(m("0.00000001")));
    assert_true(money_is_negative(m("-0.01")));
    assert_false(money_is_negative(m("0")));
}

static void test_add_and_sub_detect_range_overflow(void **state)
{
    (void)state;
    Money r = money_from_int(7);
    assert_int_equal(money_add(m("100000000000000000000"), m("0.00000001"), &r), MONEY_ERR_RANGE);
    assert_int_equal(money_sub(m("-100000000000000000000"), m("1"), &r), MONEY_ERR_RANGE);
    assert_money(r, "7");
    assert_int_equal(money_add(m("99999999999999999999"), m("1"), &r), MONEY_OK);
    assert_money(r, "100000000000000000000");
}

static void test_mul_rounds_exact_product_to_requested_scale(void **state)
{
    (void)state;
    Money r;
    assert_int_equal(money_mul(m("7.5"), m("12.345678"), 2, &r), MONEY_OK);
    assert_money(r, "92.59");
    assert_int_equal(money_mul(m("7.5"), m("12.345678"), 6, &r), MONEY_OK);
    assert_money(r, "92.592585");
    assert_int_equal(money_mul(m("-0.5"), m("0.01"), 2, &r), MONEY_OK);
    assert_money(r, "-0.01"); /* -0.005 rounds away from zero */
    assert_int_equal(money_mul(m("0.00000001"), m("0.5"), 8, &r), MONEY_OK);
    assert_money(r, "0.00000001");
    /* Realistic extremes: 10^12 CNY × rate, and a large quantity × 6-dp price. */
    assert_int_equal(money_mul(m("1000000000000"), m("1.13"), 2, &r), MONEY_OK);
    assert_money(r, "1130000000000");
    assert_int_equal(money_mul(m("999999.9999"), m("9999999.999999"), 2, &r), MONEY_OK);
    assert_money(r, "9999999998999.00");
    assert_int_equal(money_mul(m("1"), m("1"), 9, &r), MONEY_ERR_ARG);
}

static void test_mul_detects_overflow_instead_of_wrapping(void **state)
{
    (void)state;
    Money r = MONEY_ZERO;
    assert_int_equal(money_mul(m("100000000000000000000"), m("100000000000000000000"), 2, &r),
                     MONEY_ERR_RANGE);
    assert_int_equal(money_mul(m("-100000000000000000000"), m("1.00000001"), 2, &r),
                     MONEY_ERR_RANGE);
    assert_int_equal(money_mul(m("10000000000000000000"), m("10.00000001"), 8, &r),
                     MONEY_ERR_RANGE);
    assert_money(r, "0");
    assert_int_equal(money_mul(m("10000000000000000000"), m("10"), 8, &r), MONEY_OK);
    assert_money(r, "100000000000000000000");
}

static void test_div_rounds_exact_quotient_to_requested_scale(void **state)
{
    (void)state;
    Money r;
    assert_int_equal(money_div(m("100"), m("1.13"), 2, &r), MONEY_OK);
    assert_money(r, "88.50");
    assert_int_equal(money_div(m("1"), m("3"), 8, &r), MONEY_OK);
    assert_money(r, "0.33333333");
    assert_int_equal(money_div(m("2"), m("3"), 2, &r), MONEY_OK);
    assert_money(r, "0.67");
    assert_int_equal(money_div(m("-2"), m("3"), 2, &r), MONEY_OK);
    assert_money(r, "-0.67");
    assert_int_equal(money_div(m("2"), m("-3"), 0, &r), MONEY_OK);
    assert_money(r, "-1");
    assert_int_equal(money_div(m("0.01"), m("2"), 2, &r), MONEY_OK);
    assert_money(r, "0.01");
    assert_int_equal(money_div(m("100000000000000000000"), m("0.00000001"), 2, &r),
                     MONEY_ERR_RANGE);
}

static void test_div_by_zero_is_an_error(void **state)
{
    (void)state;
    Money r = money_from_int(3);
    assert_int_equal(money_div(m("1"), m("0"), 2, &r), MONEY_ERR_DIV_ZERO);
    assert_int_equal(money_div(m("0"), m("-0.00"), 2, &r), MONEY_ERR_DIV_ZERO);
    assert_money(r, "3");
}

static void test_strerror_describes_every_error(void **state)
{
    (void)state;
    for (int e = MONEY_OK; e >= MONEY_ERR_BUFFER; e--)
        assert_string_not_equal(money_strerror(e), money_strerror(-100));
    assert_non_null(money_strerror(42));
}

/* ---- tax lines ---------------------------------------------------------------------- */

static void test_line_tax_inclusive_qty3_price113_at_13_percent(void **state)
{
    (void)state;
    MoneyLine l = line_in("3", "113.00", TRUE, "0.13", "0");
    assert_int_equal(money_line_compute(&l), MONEY_OK);
    assert_money(l.total, "339.00");
    assert_money(l.amount, "300.00");
    assert_money(l.tax, "39.00");
    assert_money(l.price_incl, "113");
    assert_money(l.price_excl, "100");
    assert_money(l.discount_amount, "0");
}

static void test_line_tax_inclusive_price100_rounds_amount_and_tax_absorbs_rest(void **state)
{
    (void)state;
    MoneyLine l = line_in("1", "100", TRUE, "0.13", "0");
    assert_int_equal(money_line_compute(&l), MONEY_OK);
    assert_money(l.total, "100.00");
    assert_money(l.amount, "88.50"); /* 88.495575... */
    assert_money(l.tax, "11.50");
    assert_money(l.price_excl, "88.495575");
}

static void test_line_tax_exclusive_qty7_5_price12_345678_at_9_percent(void **state)
{
    (void)state;
    /* By hand: 7.5 × 12.345678 = 92.592585 -> 92.59; 92.59 × 0.09 = 8.3331 -> 8.33;
     * total 100.92; 12.345678 × 1.09 = 13.45678902 -> 13.456789. */
    MoneyLine l = line_in("7.5", "12.345678", FALSE, "0.09", "0");
    assert_int_equal(money_line_compute(&l), MONEY_OK);
    assert_money(l.amount, "92.59");
    assert_money(l.tax, "8.33");
    assert_money(l.total, "100.92");
    assert_money(l.price_excl, "12.345678");
    assert_money(l.price_incl, "13.456789");
}

static void test_line_discount_rate_applies_to_unit_price_tax_exclusive(void **state)
{
    (void)state;
    MoneyLine l = line_in("2", "100", FALSE, "0.13", "0.05");
    assert_int_equal(money_line_compute(&l), MONEY_OK);
    assert_money(l.price_excl, "95");
    assert_money(l.price_incl, "107.35");
    assert_money(l.amount, "190.00");
    assert_money(l.tax, "24.70");
    assert_money(l.total, "214.70");
    assert_money(l.discount_amount, "10.00"); /* 200.00 − 190.00, excl. tax basis */
}

static void test_line_discount_rate_applies_to_unit_price_tax_inclusive(void **state)
{
    (void)state;
    /* 19.99 × 0.85 = 16.9915; 3 × 16.9915 = 50.9745 -> 50.97; 50.97 / 1.13 = 45.106… ->
     * 45.11; tax 5.86; discount 59.97 − 50.97 = 9.00 in the tax-inclusive basis. */
    MoneyLine l = line_in("3", "19.99", TRUE, "0.13", "0.15");
    assert_int_equal(money_line_compute(&l), MONEY_OK);
    assert_money(l.price_incl, "16.9915");
    assert_money(l.price_excl, "15.036726");
    assert_money(l.total, "50.97");
    assert_money(l.amount, "45.11");
    assert_money(l.tax, "5.86");
    assert_money(l.discount_amount, "9.00");
}

static void test_line_full_discount_gives_zero_line(void **state)
{
    (void)state;
    MoneyLine l = line_in("4", "25", FALSE, "0.06", "1");
    assert_int_equal(money_line_compute(&l), MONEY_OK);
    assert_money(l.total, "0");
    assert_money(l.discount_amount, "100");
}

static void test_line_negative_qty_mirrors_positive_line(void **state)
{
    (void)state;
    MoneyLine pos = line_in("1", "100", TRUE, "0.13", "0");
    MoneyLine neg = line_in("-1", "100", TRUE, "0.13", "0");
    assert_int_equal(money_line_compute(&pos), MONEY_OK);
    assert_int_equal(money_line_compute(&neg), MONEY_OK);
    assert_int_equal(money_cmp(neg.amount, money_neg(pos.amount)), 0);
    assert_int_equal(money_cmp(neg.tax, money_neg(pos.tax)), 0);
    assert_money(neg.total, "-100.00");
    assert_money(neg.amount, "-88.50");
    assert_money(neg.tax, "-11.50");
}

static void test_line_zero_rate_has_no_tax(void **state)
{
    (void)state;
    MoneyLine l = line_in("2.5", "3.333333", TRUE, "0", "0");
    assert_int_equal(money_line_compute(&l), MONEY_OK);
    assert_money(l.total, "8.33");
    assert_money(l.amount, "8.33");
    assert_money(l.tax, "0");
    assert_money(l.price_excl, "3.333333");
}

static void test_line_rejects_bad_inputs_and_keeps_outputs(void **state)
{
    (void)state;
    MoneyLine l = line_in("1.00001", "1", FALSE, "0.13", "0"); /* qty > 4 dp */
    l.total = money_from_int(123);
    assert_int_equal(money_line_compute(&l), MONEY_ERR_SCALE);
    assert_money(l.total, "123");

    l = line_in("1", "1.0000001", FALSE, "0.13", "0"); /* price > 6 dp */
    assert_int_equal(money_line_compute(&l), MONEY_ERR_SCALE);
    l = line_in("1", "1", FALSE, "0.13", "0.00001"); /* discount > 4 dp */
    assert_int_equal(money_line_compute(&l), MONEY_ERR_SCALE);
    l = line_in("1", "1", FALSE, "13", "0"); /* 13 instead of 0.13 */
    assert_int_equal(money_line_compute(&l), MONEY_ERR_ARG);
    l = line_in("1", "1", FALSE, "-0.13", "0");
    assert_int_equal(money_line_compute(&l), MONEY_ERR_ARG);
    l = line_in("1", "1", FALSE, "0.13", "1.5");
    assert_int_equal(money_line_compute(&l), MONEY_ERR_ARG);
    l = line_in("1", "-1", FALSE, "0.13", "0");
    assert_int_equal(money_line_compute(&l), MONEY_ERR_ARG);
    assert_int_equal(money_line_compute(NULL), MONEY_ERR_ARG);
    l = line_in("100000000000000", "100000000", FALSE, "0.13", "0");
    assert_int_equal(money_line_compute(&l), MONEY_ERR_RANGE);
}

/* ---- document totals ---------------------------------------------------------------- */

static void test_totals_sum_lines_with_subtotals_per_rate(void **state)
{
    (void)state;
    MoneyLine lines[] = {
        line_in("3", "113.00", TRUE, "0.13", "0"),       /* 300.00 + 39.00 = 339.00 */
        line_in("7.5", "12.345678", FALSE, "0.09", "0"), /* 92.59 + 8.33 = 100.92 */
        line_in("1", "100", TRUE, "0.130", "0"),         /* 88.50 + 11.50 = 100.00 */
        line_in("2", "100", FALSE, "0.13", "0.05"),      /* 190.00 + 24.70, discount 10 */
    };
    size_t n = sizeof lines / sizeof lines[0];
    for (size_t i = 0; i < n; i++)
        assert_int_equal(money_line_compute(&lines[i]), MONEY_OK);

    MoneyTotals t;
    assert_int_equal(money_totals_compute(lines, n, &t), MONEY_OK);
    assert_int_equal(t.n_lines, 4);
    assert_int_equal(t.n_rates, 2);

    assert_money(t.by_rate[0].rate, "0.13");
    assert_money(t.by_rate[0].amount, "578.50");
    assert_money(t.by_rate[0].tax, "75.20");
    assert_money(t.by_rate[0].total, "653.70");

    assert_money(t.by_rate[1].rate, "0.09");
    assert_money(t.by_rate[1].amount, "92.59");
    assert_money(t.by_rate[1].tax, "8.33");
    assert_money(t.by_rate[1].total, "100.92");

    assert_money(t.amount, "671.09");
    assert_money(t.tax, "83.53");
    assert_money(t.total, "754.62");
    assert_money(t.discount_amount, "10.00");
}

static void test_totals_reject_more_than_max_rates_and_stay_unchanged(void **state)
{
    (void)state;
    MoneyTotals t;
    money_totals_init(&t);
    char rate[16];
    for (int i = 0; i < MONEY_MAX_RATES; i++) {
        g_snprintf(rate, sizeof rate, "0.0%d", i + 1);
        MoneyLine l = line_in("1", "10", FALSE, rate, "0");
        assert_int_equal(money_line_compute(&l), MONEY_OK);
        assert_int_equal(money_totals_add_line(&t, &l), MONEY_OK);
    }
    MoneyTotals before = t;
    MoneyLine extra = line_in("1", "10", FALSE, "0.13", "0");
    assert_int_equal(money_line_compute(&extra), MONEY_OK);
    assert_int_equal(money_totals_add_line(&t, &extra), MONEY_ERR_TOO_MANY_RATES);
    assert_memory_equal(&t, &before, sizeof t);

    /* A line at an existing rate still fits. */
    MoneyLine same = line_in("1", "10", FALSE, "0.01", "0");
    assert_int_equal(money_line_compute(&same), MONEY_OK);
    assert_int_equal(money_totals_add_line(&t, &same), MONEY_OK);
    assert_money(t.by_rate[0].amount, "20");
}

static void test_totals_of_no_lines_are_zero(void **state)
{
    (void)state;
    MoneyTotals t;
    t.n_rates = 5;
    assert_int_equal(money_totals_compute(NULL, 0, &t), MONEY_OK);
    assert_int_equal(t.n_rates, 0);
    assert_true(money_is_zero(t.total));
    assert_int_equal(money_totals_compute(NULL, 1, &t), MONEY_ERR_ARG);
}

/* ---- currency ----------------------------------------------------------------------- */

static void test_convert_foreign_amount_to_cny_rounded_to_fen(void **state)
{
    (void)state;
    Money cny;
    assert_int_equal(money_convert(m("100"), m("7.123456"), &cny), MONEY_OK);
    assert_money(cny, "712.35"); /* 712.3456 */
    assert_int_equal(money_convert(m("1234.56"), m("0.048765"), &cny), MONEY_OK);
    assert_money(cny, "60.20"); /* 60.2033184 */
    assert_int_equal(money_convert(m("0.01"), m("7.1"), &cny), MONEY_OK);
    assert_money(cny, "0.07"); /* 0.071 */
    assert_int_equal(money_convert(m("-250.75"), m("7.0827"), &cny), MONEY_OK);
    assert_money(cny, "-1775.99"); /* -1775.986... away from zero */
}

static void test_convert_rejects_bad_rates(void **state)
{
    (void)state;
    Money cny = MONEY_ZERO;
    assert_int_equal(money_convert(m("1"), m("7.1234567"), &cny), MONEY_ERR_SCALE);
    assert_int_equal(money_convert(m("1"), m("0"), &cny), MONEY_ERR_ARG);
    assert_int_equal(money_convert(m("1"), m("-7"), &cny), MONEY_ERR_ARG);
    assert_int_equal(money_convert(m("1"), m("7"), NULL), MONEY_ERR_ARG);
    assert_int_equal(money_convert(m("100000000000000000000"), m("7"), &cny), MONEY_ERR_RANGE);
    assert_money(cny, "0");
}

/* ---- 大写金额 -------------------------------------------------------------------------- */

static void check_upper(const char *amount, const char *expected)
{
    char *s = money_to_chinese_upper(m(amount));
    assert_non_null(s);
    if (strcmp(s, expected) != 0) fail_msg("大写 of %s is %s, expected %s", amount, s, expected);
    g_free(s);
}

/* One test per required case, so a failure names the rule that broke. */
#define UPPER_TEST(name, amount, expected)                                                         \
    static void test_upper_##name(void **state)                                                    \
    {                                                                                              \
        (void)state;                                                                               \
        check_upper(amount, expected);                                                             \
    }

UPPER_TEST(12345_67_all_places_with_jiao_fen, "12345.67", "壹万贰仟叁佰肆拾伍元陆角柒分")
UPPER_TEST(100_whole_ends_with_zheng, "100.00", "壹佰元整")
UPPER_TEST(1005_50_inner_zero_and_no_zheng_after_jiao, "1005.50", "壹仟零伍元伍角")
UPPER_TEST(0_is_ling_yuan_zheng, "0.00", "零元整")
UPPER_TEST(0_05_fen_only_omits_ling_yuan, "0.05", "伍分")
UPPER_TEST(0_50_jiao_only_omits_ling_yuan, "0.50", "伍角")
UPPER_TEST(1_05_ling_between_yuan_and_fen, "1.05", "壹元零伍分")
UPPER_TEST(10_leading_ten_is_yi_shi, "10.00", "壹拾元整")
UPPER_TEST(100000_yi_shi_wan, "100000.00", "壹拾万元整")
UPPER_TEST(100010_ling_across_wan_boundary, "100010.00", "壹拾万零壹拾元整")
UPPER_TEST(1000000001_ling_across_empty_wan_group, "1000000001.00", "壹拾亿零壹元整")
UPPER_TEST(10000000_qian_wan, "10000000.00", "壹仟万元整")
UPPER_TEST(105000000_ling_after_yi, "105000000.00", "壹亿零伍佰万元整")
UPPER_TEST(120000_30_ling_between_yuan_and_jiao, "120000.30", "壹拾贰万元零叁角")
UPPER_TEST(negative_starts_with_fu, "-123.40", "负壹佰贰拾叁元肆角")
UPPER_TEST(1001000_no_ling_when_lower_group_starts_nonzero, "1001000", "壹佰万壹仟元整")
UPPER_TEST(107000_53_ling_at_yuan_not_at_wan, "107000.53", "壹拾万柒仟元零伍角叁分")
UPPER_TEST(10_05_single_ling_for_zero_units_and_jiao, "10.05", "壹拾元零伍分")
UPPER_TEST(10_50_ling_before_jiao_when_yuan_ends_in_zero, "10.50", "壹拾元零伍角")
UPPER_TEST(0_35_jiao_and_fen_without_yuan, "0.35", "叁角伍分")
UPPER_TEST(110_shi_in_middle_has_yi, "110", "壹佰壹拾元整")
UPPER_TEST(trillion_uses_wan_yi, "1000000000000", "壹万亿元整")
UPPER_TEST(trillion_plus_5_ling_after_wan_yi, "1000000000005", "壹万亿零伍元整")
UPPER_TEST(wan_yi_followed_by_nonzero_yi_group, "1000100000000", "壹万零壹亿元整")
UPPER_TEST(wan_yi_then_empty_yi_group_writes_ling, "1000050000000", "壹万亿零伍仟万元整")
UPPER_TEST(max_supported_amount, "9999999999999999.99",
           "玖仟玖佰玖拾玖万玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分")
UPPER_TEST(rounds_to_fen_first, "0.005", "壹分")
UPPER_TEST(rounding_carries_into_yuan, "9.995", "壹拾元整")
UPPER_TEST(negative_rounding_to_zero_has_no_fu, "-0.004", "零元整")

static void test_upper_returns_null_at_ten_thousand_trillion(void **state)
{
    (void)state;
    assert_null(money_to_chinese_upper(m("10000000000000000")));
    assert_null(money_to_chinese_upper(m("-9999999999999999.995")));
}

/* ---- main --------------------------------------------------------------------------- */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts_integers_and_decimals),
        cmocka_unit_test(test_parse_accepts_sign_and_trims_whitespace),
        cmocka_unit_test(test_parse_accepts_correctly_grouped_thousands),
        cmocka_unit_test(test_parse_rejects_misplaced_thousands_separators),
        cmocka_unit_test(test_parse_rejects_more_decimals_than_max_scale),
        cmocka_unit_test(test_parse_rejects_garbage_and_empty),
        cmocka_unit_test(test_parse_rejects_null_and_bad_max_scale),
        cmocka_unit_test(test_parse_accepts_fullwidth_ime_input),
        cmocka_unit_test(test_parse_detects_out_of_range),
        cmocka_unit_test(test_from_int_and_from_scaled_build_exact_values),
        cmocka_unit_test(test_to_scaled_rounds_to_integer_fen),
        cmocka_unit_test(test_round_half_away_from_zero_at_two_decimals),
        cmocka_unit_test(test_round_half_away_from_zero_at_six_decimals),
        cmocka_unit_test(test_round_to_zero_and_eight_decimals_and_clamped_scale),
        cmocka_unit_test(test_round_near_range_limit_stays_in_range),
        cmocka_unit_test(test_decimals_counts_significant_decimals),
        cmocka_unit_test(test_format_inserts_thousands_separators),
        cmocka_unit_test(test_format_without_separators_is_plain),
        cmocka_unit_test(test_format_uses_requested_scale_for_prices_and_quantities),
        cmocka_unit_test(test_format_value_rounding_to_zero_has_no_sign),
        cmocka_unit_test(test_format_rejects_scale_outside_0_to_8),
        cmocka_unit_test(test_format_buf_reports_buffer_too_small),
        cmocka_unit_test(test_format_output_parses_back_to_same_value),
        cmocka_unit_test(test_add_sub_neg_abs_are_exact),
        cmocka_unit_test(test_cmp_and_predicates_compare_by_value),
        cmocka_unit_test(test_add_and_sub_detect_range_overflow),
        cmocka_unit_test(test_mul_rounds_exact_product_to_requested_scale),
        cmocka_unit_test(test_mul_detects_overflow_instead_of_wrapping),
        cmocka_unit_test(test_div_rounds_exact_quotient_to_requested_scale),
        cmocka_unit_test(test_div_by_zero_is_an_error),
        cmocka_unit_test(test_strerror_describes_every_error),
        cmocka_unit_test(test_line_tax_inclusive_qty3_price113_at_13_percent),
        cmocka_unit_test(test_line_tax_inclusive_price100_rounds_amount_and_tax_absorbs_rest),
        cmocka_unit_test(test_line_tax_exclusive_qty7_5_price12_345678_at_9_percent),
        cmocka_unit_test(test_line_discount_rate_applies_to_unit_price_tax_exclusive),
        cmocka_unit_test(test_line_discount_rate_applies_to_unit_price_tax_inclusive),
        cmocka_unit_test(test_line_full_discount_gives_zero_line),
        cmocka_unit_test(test_line_negative_qty_mirrors_positive_line),
        cmocka_unit_test(test_line_zero_rate_has_no_tax),
        cmocka_unit_test(test_line_rejects_bad_inputs_and_keeps_outputs),
        cmocka_unit_test(test_totals_sum_lines_with_subtotals_per_rate),
        cmocka_unit_test(test_totals_reject_more_than_max_rates_and_stay_unchanged),
        cmocka_unit_test(test_totals_of_no_lines_are_zero),
        cmocka_unit_test(test_convert_foreign_amount_to_cny_rounded_to_fen),
        cmocka_unit_test(test_convert_rejects_bad_rates),
        cmocka_unit_test(test_upper_12345_67_all_places_with_jiao_fen),
        cmocka_unit_test(test_upper_100_whole_ends_with_zheng),
        cmocka_unit_test(test_upper_1005_50_inner_zero_and_no_zheng_after_jiao),
        cmocka_unit_test(test_upper_0_is_ling_yuan_zheng),
        cmocka_unit_test(test_upper_0_05_fen_only_omits_ling_yuan),
        cmocka_unit_test(test_upper_0_50_jiao_only_omits_ling_yuan),
        cmocka_unit_test(test_upper_1_05_ling_between_yuan_and_fen),
        cmocka_unit_test(test_upper_10_leading_ten_is_yi_shi),
        cmocka_unit_test(test_upper_100000_yi_shi_wan),
        cmocka_unit_test(test_upper_100010_ling_across_wan_boundary),
        cmocka_unit_test(test_upper_1000000001_ling_across_empty_wan_group),
        cmocka_unit_test(test_upper_10000000_qian_wan),
        cmocka_unit_test(test_upper_105000000_ling_after_yi),
        cmocka_unit_test(test_upper_120000_30_ling_between_yuan_and_jiao),
        cmocka_unit_test(test_upper_negative_starts_with_fu),
        cmocka_unit_test(test_upper_1001000_no_ling_when_lower_group_starts_nonzero),
        cmocka_unit_test(test_upper_107000_53_ling_at_yuan_not_at_wan),
        cmocka_unit_test(test_upper_10_05_single_ling_for_zero_units_and_jiao),
        cmocka_unit_test(test_upper_10_50_ling_before_jiao_when_yuan_ends_in_zero),
        cmocka_unit_test(test_upper_0_35_jiao_and_fen_without_yuan),
        cmocka_unit_test(test_upper_110_shi_in_middle_has_yi),
        cmocka_unit_test(test_upper_trillion_uses_wan_yi),
        cmocka_unit_test(test_upper_trillion_plus_5_ling_after_wan_yi),
        cmocka_unit_test(test_upper_wan_yi_followed_by_nonzero_yi_group),
        cmocka_unit_test(test_upper_wan_yi_then_empty_yi_group_writes_ling),
        cmocka_unit_test(test_upper_max_supported_amount),
        cmocka_unit_test(test_upper_rounds_to_fen_first),
        cmocka_unit_test(test_upper_rounding_carries_into_yuan),
        cmocka_unit_test(test_upper_negative_rounding_to_zero_has_no_fu),
        cmocka_unit_test(test_upper_returns_null_at_ten_thousand_trillion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
