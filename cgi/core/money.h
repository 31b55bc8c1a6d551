/* money.h — exact decimal money: parse, round, format, tax lines, totals, 大写金额. */
#ifndef KEXIN_MONEY_H
#define KEXIN_MONEY_H

/*
 * Every amount, price, quantity and rate in Kexin goes through this module, so that all
 * screens, invoices and reports round the same way and agree to the fen.
 *
 * Representation
 *   A Money is a signed integer count of 10^-8 units (MONEY_SCALE = 8), held in a 128-bit
 *   integer. Eight decimals cover quantities (4 dp), unit prices (6 dp), exchange rates
 *   (6 dp) and tax/discount rates exactly; binary fractions are never used anywhere, so
 *   0.1 + 0.2 is exactly 0.3 and 2.675 really rounds to 2.68.
 *
 * Range
 *   -10^20 <= value <= +10^20 (MONEY_MAX_WHOLE). Any operation whose exact result would
 *   leave that range fails with MONEY_ERR_RANGE instead of wrapping. Every int64_t whole
 *   number fits, and so does every product or quotient whose result is in range (the
 *   128-bit intermediates have room for it), so "overflow" only ever means "the answer is
 *   bigger than 10^20". money_to_chinese_upper() is narrower: below 10^16 (万亿 is the
 *   largest group word written).
 *
 * Rounding
 *   Always half AWAY from zero (四舍五入 applied to the magnitude): 0.005 -> 0.01,
 *   -0.005 -> -0.01. Never banker's rounding. Functions that produce a rounded result take
 *   the number of decimals to keep, 0..MONEY_SCALE.
 *
 * Errors
 *   Functions that can fail return an int: MONEY_OK (0) or a negative MoneyError, and
 *   leave their output untouched on failure. Functions returning a string return NULL on
 *   failure. Nothing aborts on bad input. The module has no global state and is safe to
 *   use from any thread.
 *
 * Treat Money.units as private: build values with money_parse(), money_from_int() or
 * money_from_scaled(), and read them with money_format() or money_to_scaled().
 */

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

/* Number of decimals stored; the unit is 10^-MONEY_SCALE. */
#define MONEY_SCALE 8

/* Largest magnitude, in whole currency units (10^20). */
#define MONEY_MAX_WHOLE_DIGITS 20

/* Conventional decimals for each kind of value; use these instead of bare numbers. */
#define MONEY_DP_AMOUNT 2   /* amounts, tax, totals: 元 to the 分 */
#define MONEY_DP_QTY 4      /* quantities */
#define MONEY_DP_PRICE 6    /* unit prices */
#define MONEY_DP_FX_RATE 6  /* exchange rates */
#define MONEY_DP_TAX_RATE 6 /* tax rates (0.13, 0.09, 0.06, 0.03 ...) */
#define MONEY_DP_DISCOUNT 4 /* discount rates (0.05 = 5% off) */

/* Buffer size that fits any money_format_buf() result, sign, separators and NUL included. */
#define MONEY_FORMAT_MAX 48

/* Most distinct tax rates one document may carry (MoneyTotals subtotals). */
#define MONEY_MAX_RATES 8

__extension__ typedef __int128 money_i128;

typedef struct {
    money_i128 units; /* value × 10^MONEY_SCALE; private, see above */
} Money;

/* Zero, usable as an initialiser. */
#define MONEY_ZERO ((Money){0})

typedef enum {
    MONEY_OK = 0,
    MONEY_ERR_SYNTAX = -1,         /* not a number: empty, letters, misplaced ',' '.' or sign */
    MONEY_ERR_SCALE = -2,          /* more decimals than allowed */
    MONEY_ERR_RANGE = -3,          /* result outside ±10^20 (or the function's narrower limit) */
    MONEY_ERR_DIV_ZERO = -4,       /* division by zero */
    MONEY_ERR_ARG = -5,            /* NULL pointer, scale outside 0..8, rate out of bounds */
    MONEY_ERR_TOO_MANY_RATES = -6, /* document has more than MONEY_MAX_RATES tax rates */
    MONEY_ERR_BUFFER = -7,         /* caller's buffer too small */
} MoneyError;

/* Short English description of a MoneyError (static string, never NULL). */
const char *money_strerror(int err);

/* ---- Construction and conversion ---------------------------------------------------- */

/* Whole number of currency units; cannot fail (every int64_t is in range). */
Money money_from_int(int64_t whole);

/* value × 10^-scale, e.g. (12345, 2) -> 123.45; the usual way to load BIGINT fen columns.
 * MONEY_ERR_ARG if scale is outside 0..8 or out is NULL. */
int money_from_scaled(int64_t value, int scale, Money *out);

/* Rounds v to scale decimals and stores it as an integer count of 10^-scale units
 * (e.g. scale 2 -> fen). MONEY_ERR_RANGE if that count does not fit an int64_t. */
int money_to_scaled(Money v, int scale, int64_t *out);

/*
 * Parses user or database text.
 *
 * Accepted: optional surrounding whitespace (ASCII, U+3000 ideographic space, U+00A0);
 * an optional '+' or '-'; digits; at most one '.'; and at most max_scale digits after it.
 * ".5" and "5." are accepted. Full-width forms typed with a Chinese IME are accepted too:
 * ０-９, '．', '，', '＋', '－'.
 *
 * Thousands separators: ',' is accepted only in correct groups of three — a first group of
 * 1-3 digits, then ",ddd" groups up to the '.' ("1,234.5" and "12,345,678" are fine;
 * "1,23", "1234,567", ",123", "1,,234" and "1,234," are MONEY_ERR_SYNTAX). Separators are
 * never allowed after the '.'. A space is not a separator.
 *
 * Decimals are counted as written, trailing zeros included: "1.500" with max_scale 2 is
 * MONEY_ERR_SCALE, so a form can say "at most 2 decimals" and mean what the user typed.
 *
 * Returns MONEY_OK, MONEY_ERR_SYNTAX (checked first), MONEY_ERR_SCALE, MONEY_ERR_RANGE
 * (|value| > 10^20), or MONEY_ERR_ARG (NULL s/out, max_scale outside 0..8).
 * Leading zeros are allowed ("007"); exponents, hex, inf/nan are syntax errors.
 */
int money_parse(const char *s, int max_scale, Money *out);

/* ---- Rounding and formatting -------------------------------------------------------- */

/* Rounds half away from zero to scale decimals: 2.675 -> 2.68, -0.005 -> -0.01,
 * 1.0049999 -> 1.00. Cannot leave the range. A scale below 0 is treated as 0 and one
 * above 8 as 8 (no change), so the function stays total. */
Money money_round(Money v, int scale);

/* Number of decimals actually needed to write v exactly (0..8): 1.50 -> 1, 3 -> 0.
 * Used to enforce "at most N decimals" on computed or stored values. */
int money_decimals(Money v);

/*
 * Formats v rounded (half away from zero) to exactly scale decimals, with ASCII digits,
 * '.' as decimal point and, if thousands, ',' between groups of three:
 * 1234567.891 at 2 -> "1,234,567.89"; -1234.5 -> "-1,234.50"; 0 -> "0.00".
 * A value that rounds to zero is written without a sign ("-0.001" at 2 -> "0.00").
 * Output without separators parses back with money_parse(), so it is also the text to
 * send to a NUMERIC column.
 * Returns a g_malloc'd string (g_free it) or NULL if scale is outside 0..8.
 */
char *money_format(Money v, int scale, gboolean thousands);

/* Same as money_format() into buf; MONEY_ERR_BUFFER if size is too small (buf then holds
 * ""), MONEY_ERR_ARG for a bad scale or NULL buf. MONEY_FORMAT_MAX always suffices. */
int money_format_buf(Money v, int scale, gboolean thousands, char *buf, size_t size);

/* ---- Arithmetic --------------------------------------------------------------------- */

/* Exact; MONEY_ERR_RANGE if the result leaves ±10^20. */
int money_add(Money a, Money b, Money *out);
int money_sub(Money a, Money b, Money *out);

/* Cannot fail: the range is symmetric. */
Money money_neg(Money v);
Money money_abs(Money v);

/* -1, 0 or 1, like strcmp; 1.5 and 1.50 compare equal. */
int money_cmp(Money a, Money b);
gboolean money_is_zero(Money v);
gboolean money_is_negative(Money v);

/* a × b computed exactly, then rounded half away from zero to scale decimals (0..8).
 * MONEY_ERR_RANGE if the rounded result leaves ±10^20; MONEY_ERR_ARG for a bad scale. */
int money_mul(Money a, Money b, int scale, Money *out);

/* a ÷ b rounded half away from zero to scale decimals (0..8); the rounding is decided on
 * the exact quotient, never on a pre-rounded one. MONEY_ERR_DIV_ZERO if b is zero. */
int money_div(Money a, Money b, int scale, Money *out);

/* ---- Tax lines (Chinese VAT convention) --------------------------------------------- */

/*
 * One document line. Fill the inputs, call money_line_compute(), read the outputs.
 *
 * The discount rate is applied to the UNIT PRICE first, in whatever basis the price was
 * entered, and the discounted price is rounded to 6 decimals:
 *     p = round6(price × (1 − discount_rate))
 * Then, if the price includes tax (价税合计 is what the customer agreed):
 *     total  = round2(qty × p)
 *     amount = round2(total ÷ (1 + tax_rate))       不含税金额
 *     tax    = total − amount                        税额 (absorbs the rounding)
 *     price_incl = p, price_excl = round6(p ÷ (1 + tax_rate))
 * and if the price excludes tax:
 *     amount = round2(qty × p)
 *     tax    = round2(amount × tax_rate)
 *     total  = amount + tax
 *     price_excl = p, price_incl = round6(p × (1 + tax_rate))
 * so amount + tax == total always holds exactly, the property invoices are checked on.
 *
 * discount_amount is what the discount took off the line, in the basis the price was
 * entered in: round2(qty × price) − total when prices include tax, − amount otherwise.
 *
 * Negative quantities (returns, red-letter invoices) give exactly mirrored results.
 */
typedef struct {
    /* inputs */
    Money qty;                   /* at most 4 decimals; may be negative */
    Money price;                 /* unit price as entered, >= 0, at most 6 decimals */
    gboolean price_includes_tax; /* TRUE: price is 含税单价; FALSE: 不含税单价 */
    Money tax_rate;              /* 0.13 for 13%; 0 <= rate <= 1, at most 6 decimals */
    Money discount_rate;         /* 0.05 = 5% off; 0 <= rate <= 1, at most 4 decimals */

    /* outputs (written only on success) */
    Money price_incl;      /* discounted unit price including tax, 6 dp */
    Money price_excl;      /* discounted unit price excluding tax, 6 dp */
    Money amount;          /* line amount excluding tax, 2 dp */
    Money tax;             /* tax, 2 dp */
    Money total;           /* amount + tax, 2 dp */
    Money discount_amount; /* amount removed by the discount, 2 dp, see above */
} MoneyLine;

/* Computes the outputs of line from its inputs. MONEY_ERR_ARG for NULL or a rate/price
 * out of bounds, MONEY_ERR_SCALE if an input has more decimals than allowed,
 * MONEY_ERR_RANGE on overflow. On failure the outputs are left as they were. */
int money_line_compute(MoneyLine *line);

/* ---- Document totals ---------------------------------------------------------------- */

/* Sums for one tax rate (one row of the invoice's rate breakdown). */
typedef struct {
    Money rate;
    Money amount;
    Money tax;
    Money total;
} MoneyRateSubtotal;

/*
 * Grand totals are the sums of the lines' rounded values — never recomputed from the
 * summed amount — so the document always equals the sum of what is printed on its lines.
 * Subtotals appear in order of first use; rates are compared by value (0.13 == 0.130).
 */
typedef struct {
    Money amount;
    Money tax;
    Money total;
    Money discount_amount;
    size_t n_lines;
    size_t n_rates;
    MoneyRateSubtotal by_rate[MONEY_MAX_RATES];
} MoneyTotals;

/* Empties t. */
void money_totals_init(MoneyTotals *t);

/* Adds one already computed line. MONEY_ERR_TOO_MANY_RATES if it would bring a
 * (MONEY_MAX_RATES + 1)th distinct rate, MONEY_ERR_RANGE on overflow; t is unchanged on
 * failure. */
int money_totals_add_line(MoneyTotals *t, const MoneyLine *line);

/* Initialises out and adds n computed lines (lines may be NULL when n is 0). On failure out
 * holds the totals of the lines before the failing one. */
int money_totals_compute(const MoneyLine *lines, size_t n, MoneyTotals *out);

/* ---- Currency ----------------------------------------------------------------------- */

/* CNY = round2(foreign × rate), where rate is CNY per ONE unit of the foreign currency
 * (for JPY quoted per 100, divide the quote by 100 first). rate must be > 0 and have at
 * most 6 decimals (MONEY_ERR_ARG / MONEY_ERR_SCALE otherwise). */
int money_convert(Money foreign, Money rate, Money *cny_out);

/* ---- 大写金额 -------------------------------------------------------------------------- */

/*
 * Chinese capital amount as written on cheques and invoices, after rounding to 2 decimals:
 *   12345.67 -> 壹万贰仟叁佰肆拾伍元陆角柒分    100 -> 壹佰元整     0 -> 零元整
 *   10 -> 壹拾元整 (a leading ten is always 壹拾, as banks write it)
 *   100010 -> 壹拾万零壹拾元整   1005.50 -> 壹仟零伍元伍角   0.05 -> 伍分
 *   1.05 -> 壹元零伍分   120000.30 -> 壹拾贰万元零叁角   -123.40 -> 负壹佰贰拾叁元肆角
 * Conventions chosen (the 支付结算办法 allows either in some places; these are fixed):
 *   - one 零 for any run of zero digits, never a trailing 零 before a group word or 元;
 *   - across 万/亿 a 零 is written only when the lower group starts with a zero
 *     (壹拾万零壹拾, but 壹佰万壹仟 for 1001000);
 *   - 整 only when there are neither 角 nor 分 (so 伍角, not 伍角整);
 *   - 零元 is omitted when there is no yuan (0.50 -> 伍角);
 *   - between 元 and 角 a 零 is written when the yuan ends in 0 (壹拾元零伍角), and
 *     between 元 and 分 whenever 角 is zero (壹元零伍分);
 *   - 10^12 and above use 万亿 (壹万亿元整, 壹万亿零伍仟万元整); 10^16 and above -> NULL.
 * Negative amounts start with 负; an amount that rounds to zero has no sign.
 * Returns a g_malloc'd UTF-8 string (g_free it), or NULL if out of range.
 */
char *money_to_chinese_upper(Money v);

#endif
