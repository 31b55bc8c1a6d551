/* money.c — exact decimal money on 128-bit integers; see money.h for the conventions. */
#include "money.h"

#include <string.h>

__extension__ typedef unsigned __int128 money_u128;

/* 10^8: one whole currency unit in Money units. */
#define UNIT ((money_i128)100000000)

/* The range bound is inclusive and a multiple of every 10^-scale step, so rounding an
 * in-range value can never step outside the range. */
static money_i128 max_units(void)
{
    static const money_i128 e14 = (money_i128)100000000000000;
    return e14 * e14; /* 10^28 = 10^20 whole units */
}

static money_i128 pow10_i128(int n)
{
    money_i128 p = 1;
    for (int i = 0; i < n; i++)
        p *= 10;
    return p;
}

static gboolean in_range(money_i128 u)
{
    return u <= max_units() && u >= -max_units();
}

static gboolean scale_ok(int scale)
{
    return scale >= 0 && scale <= MONEY_SCALE;
}

/* n ÷ d rounded half away from zero. d != 0. Callers keep |n| well below 2^126 so the
 * negation and 2 × remainder below cannot overflow. */
static money_i128 div_round(money_i128 n, money_i128 d)
{
    if (d < 0) {
        n = -n;
        d = -d;
    }
    money_i128 q = n / d;
    money_i128 r = n % d;
    if (r < 0) r = -r;
    if (2 * r >= d) q += n < 0 ? -1 : 1;
    return q;
}

const char *money_strerror(int err)
{
    switch (err) {
    case MONEY_OK:
        return "ok";
    case MONEY_ERR_SYNTAX:
        return "not a valid number";
    case MONEY_ERR_SCALE:
        return "too many decimals";
    case MONEY_ERR_RANGE:
        return "number out of range";
    case MONEY_ERR_DIV_ZERO:
        return "division by zero";
    case MONEY_ERR_ARG:
        return "invalid argument";
    case MONEY_ERR_TOO_MANY_RATES:
        return "too many distinct tax rates";
    case MONEY_ERR_BUFFER:
        return "buffer too small";
    default:
        return "unknown money error";
    }
}

/* ---- Construction and conversion ---------------------------------------------------- */

Money money_from_int(int64_t whole)
{
    return (Money){(money_i128)whole * UNIT};
}

int money_from_scaled(int64_t value, int scale, Money *out)
{
    if (!out || !scale_ok(scale)) return MONEY_ERR_ARG;
    out->units = (money_i128)value * pow10_i128(MONEY_SCALE - scale);
    return MONEY_OK;
}

int money_to_scaled(Money v, int scale, int64_t *out)
{
    if (!out || !scale_ok(scale)) return MONEY_ERR_ARG;
    money_i128 q = div_round(v.units, pow10_i128(MONEY_SCALE - scale));
    if (q > INT64_MAX || q < INT64_MIN) return MONEY_ERR_RANGE;
    *out = (int64_t)q;
    return MONEY_OK;
}

/* ---- Parsing ------------------------------------------------------------------------ */

/* Sentinel for any character the grammar does not know; never a valid token. */
#define CH_OTHER '\x7f'
#define CH_SPACE ' '

/*
 * Reads one character of s and maps it to its ASCII meaning, so the grammar below only
 * deals with ASCII whether the user typed half-width or full-width (IME) characters.
 * Stores the byte length in *len. Returns '\0' at the end of the string.
 */
static char next_char(const char *s, size_t *len)
{
    const unsigned char *u = (const unsigned char *)s;
    *len = 1;
    if (u[0] == 0) {
        *len = 0;
        return '\0';
    }
    if (u[0] < 0x80) {
        char c = (char)u[0];
        if (c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') return CH_SPACE;
        return c;
    }
    /* U+00A0 no-break space: spreadsheets paste it around numbers. */
    if (u[0] == 0xC2 && u[1] == 0xA0) {
        *len = 2;
        return CH_SPACE;
    }
    /* U+3000 ideographic space. Checking u[1] before u[2] keeps reads inside the string. */
    if (u[0] == 0xE3 && u[1] == 0x80 && u[2] == 0x80) {
        *len = 3;
        return CH_SPACE;
    }
    /* U+FF0B..U+FF19: ＋ ， － ． ／ ０-９ (all EF BC xx). */
    if (u[0] == 0xEF && u[1] == 0xBC && u[2] >= 0x8B && u[2] <= 0x99) {
        *len = 3;
        if (u[2] == 0x8F) /* ／ is not part of a number */
            return CH_OTHER;
        return (char)('+' + (u[2] - 0x8B)); /* same order as ASCII "+,-./0123456789" */
    }
    return CH_OTHER;
}

static const char *skip_spaces(const char *p)
{
    size_t len;
    while (next_char(p, &len) == CH_SPACE)
        p += len;
    return p;
}

static gboolean is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int money_parse(const char *s, int max_scale, Money *out)
{
    if (!s || !out || !scale_ok(max_scale)) return MONEY_ERR_ARG;

    const char *p = skip_spaces(s);
    size_t len;
    char c = next_char(p, &len);

    gboolean negative = FALSE;
    if (c == '+' || c == '-') {
        negative = c == '-';
        p += len;
        c = next_char(p, &len);
    }

    /* Integer part. Digits past the range still get scanned so that a long garbage string
     * reports a syntax error rather than a range error. */
    const money_i128 int_limit = pow10_i128(MONEY_MAX_WHOLE_DIGITS);
    money_i128 whole = 0;
    gboolean too_big = FALSE;
    int int_digits = 0;
    int group_len = 0; /* digits since the start or the last ',' */
    gboolean grouped = FALSE;
    for (;; p += len, c = next_char(p, &len)) {
        if (is_digit(c)) {
            if (!too_big) {
                whole = whole * 10 + (c - '0');
                if (whole > int_limit) too_big = TRUE;
            }
            int_digits++;
            group_len++;
            if (grouped && group_len > 3) return MONEY_ERR_SYNTAX;
        } else if (c == ',') {
            if (group_len == 0 || group_len > 3 || (grouped && group_len != 3))
                return MONEY_ERR_SYNTAX;
            grouped = TRUE;
            group_len = 0;
        } else {
            break;
        }
    }
    if (grouped && group_len != 3) return MONEY_ERR_SYNTAX;

    money_i128 frac = 0;
    int frac_digits = 0;
    if (c == '.') {
        for (p += len, c = next_char(p, &len); is_digit(c); p += len, c = next_char(p, &len)) {
            /* Beyond MONEY_SCALE digits the answer is MONEY_ERR_SCALE anyway. */
            if (frac_digits < MONEY_SCALE) frac = frac * 10 + (c - '0');
            frac_digits++;
        }
    }
    if (int_digits == 0 && frac_digits == 0) return MONEY_ERR_SYNTAX;

    p = skip_spaces(p);
    if (*p != '\0') return MONEY_ERR_SYNTAX;
    if (frac_digits > max_scale) return MONEY_ERR_SCALE;
    if (too_big) return MONEY_ERR_RANGE;

    money_i128 units = whole * UNIT + frac * pow10_i128(MONEY_SCALE - frac_digits);
    if (!in_range(units)) return MONEY_ERR_RANGE;
    out->units = negative ? -units : units;
    return MONEY_OK;
}

/* ---- Rounding and formatting -------------------------------------------------------- */

Money money_round(Money v, int scale)
{
    if (scale < 0) scale = 0;
    if (scale >= MONEY_SCALE) return v;
    money_i128 step = pow10_i128(MONEY_SCALE - scale);
    return (Money){div_round(v.units, step) * step};
}

int money_decimals(Money v)
{
    money_i128 u = v.units;
    int d = MONEY_SCALE;
    while (d > 0 && u % 10 == 0) {
        u /= 10;
        d--;
    }
    return d;
}

/* Writes the decimal digits of u into buf (no NUL) and returns how many; buf must hold 40. */
static int u128_digits(money_u128 u, char *buf)
{
    char tmp[40];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u != 0);
    for (int i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    return n;
}

int money_format_buf(Money v, int scale, gboolean thousands, char *buf, size_t size)
{
    if (!buf || !scale_ok(scale)) return MONEY_ERR_ARG;

    Money r = money_round(v, scale);
    money_u128 mag = (money_u128)(r.units < 0 ? -r.units : r.units);
    money_u128 whole = mag / (money_u128)UNIT;
    money_u128 frac = (mag % (money_u128)UNIT) / (money_u128)pow10_i128(MONEY_SCALE - scale);

    char digits[40];
    int nd = u128_digits(whole, digits);

    char tmp[MONEY_FORMAT_MAX];
    size_t n = 0;
    if (r.units < 0) tmp[n++] = '-';
    for (int i = 0; i < nd; i++) {
        if (thousands && i > 0 && (nd - i) % 3 == 0) tmp[n++] = ',';
        tmp[n++] = digits[i];
    }
    if (scale > 0) {
        tmp[n++] = '.';
        /* Left-pad the fraction with zeros to exactly scale digits. */
        for (int i = scale - 1; i >= 0; i--) {
            tmp[n + (size_t)i] = (char)('0' + (int)(frac % 10));
            frac /= 10;
        }
        n += (size_t)scale;
    }

    if (n + 1 > size) {
        if (size > 0) buf[0] = '\0';
        return MONEY_ERR_BUFFER;
    }
    memcpy(buf, tmp, n);
    buf[n] = '\0';
    return MONEY_OK;
}

char *money_format(Money v, int scale, gboolean thousands)
{
    char buf[MONEY_FORMAT_MAX];
    if (money_format_buf(v, scale, thousands, buf, sizeof buf) != MONEY_OK) return NULL;
    return g_strdup(buf);
}

/* ---- Arithmetic --------------------------------------------------------------------- */

/* Operands are always in range (|u| <= 10^28), so sums cannot overflow 128 bits; only the
 * Money range needs checking. */
int money_add(Money a, Money b, Money *out)
{
    if (!out) return MONEY_ERR_ARG;
    money_i128 u = a.units + b.units;
    if (!in_range(u)) return MONEY_ERR_RANGE;
    out->units = u;
    return MONEY_OK;
}

int money_sub(Money a, Money b, Money *out)
{
    if (!out) return MONEY_ERR_ARG;
    money_i128 u = a.units - b.units;
    if (!in_range(u)) return MONEY_ERR_RANGE;
    out->units = u;
    return MONEY_OK;
}

Money money_neg(Money v)
{
    return (Money){-v.units};
}

Money money_abs(Money v)
{
    return (Money){v.units < 0 ? -v.units : v.units};
}

int money_cmp(Money a, Money b)
{
    return (a.units > b.units) - (a.units < b.units);
}

gboolean money_is_zero(Money v)
{
    return v.units == 0;
}

gboolean money_is_negative(Money v)
{
    return v.units < 0;
}

int money_mul(Money a, Money b, int scale, Money *out)
{
    if (!out || !scale_ok(scale)) return MONEY_ERR_ARG;
    /* The exact product has 2 × MONEY_SCALE decimals. Any product whose result is within
     * ±10^20 is below 10^36 in those units and fits; an overflow here therefore always
     * means the result is out of range. */
    money_i128 p;
    if (__builtin_mul_overflow(a.units, b.units, &p)) return MONEY_ERR_RANGE;
    money_i128 q = div_round(p, pow10_i128(2 * MONEY_SCALE - scale));
    money_i128 u;
    if (__builtin_mul_overflow(q, pow10_i128(MONEY_SCALE - scale), &u) || !in_range(u))
        return MONEY_ERR_RANGE;
    out->units = u;
    return MONEY_OK;
}

int money_div(Money a, Money b, int scale, Money *out)
{
    if (!out || !scale_ok(scale)) return MONEY_ERR_ARG;
    if (b.units == 0) return MONEY_ERR_DIV_ZERO;
    /* |a| <= 10^28 so a × 10^scale <= 10^36: no overflow before the one rounding step. */
    money_i128 q = div_round(a.units * pow10_i128(scale), b.units);
    money_i128 u;
    if (__builtin_mul_overflow(q, pow10_i128(MONEY_SCALE - scale), &u) || !in_range(u))
        return MONEY_ERR_RANGE;
    out->units = u;
    return MONEY_OK;
}

/* ---- Tax lines ---------------------------------------------------------------------- */

/* 0 <= v <= 1: rates above 100% are data-entry mistakes, not real taxes or discounts. */
static gboolean is_unit_fraction(Money v)
{
    return v.units >= 0 && v.units <= UNIT;
}

int money_line_compute(MoneyLine *line)
{
    if (!line) return MONEY_ERR_ARG;
    if (line->price.units < 0 || !is_unit_fraction(line->tax_rate) ||
        !is_unit_fraction(line->discount_rate))
        return MONEY_ERR_ARG;
    if (money_decimals(line->qty) > MONEY_DP_QTY || money_decimals(line->price) > MONEY_DP_PRICE ||
        money_decimals(line->tax_rate) > MONEY_DP_TAX_RATE ||
        money_decimals(line->discount_rate) > MONEY_DP_DISCOUNT)
        return MONEY_ERR_SCALE;

    Money one_plus_rate = {UNIT + line->tax_rate.units};
    Money keep = {UNIT - line->discount_rate.units};
    Money p, gross, amount, tax, total, price_incl, price_excl, discount;
    int rc;

    /* The discounted price is what the customer sees per unit, so it is rounded like
     * any entered price before quantities multiply it. */
    if ((rc = money_mul(line->price, keep, MONEY_DP_PRICE, &p)) != MONEY_OK) return rc;
    if ((rc = money_mul(line->qty, line->price, MONEY_DP_AMOUNT, &gross)) != MONEY_OK) return rc;

    if (line->price_includes_tax) {
        price_incl = p;
        if ((rc = money_mul(line->qty, p, MONEY_DP_AMOUNT, &total)) != MONEY_OK ||
            (rc = money_div(total, one_plus_rate, MONEY_DP_AMOUNT, &amount)) != MONEY_OK ||
            (rc = money_sub(total, amount, &tax)) != MONEY_OK ||
            (rc = money_div(p, one_plus_rate, MONEY_DP_PRICE, &price_excl)) != MONEY_OK ||
            (rc = money_sub(gross, total, &discount)) != MONEY_OK)
            return rc;
    } else {
        price_excl = p;
        if ((rc = money_mul(line->qty, p, MONEY_DP_AMOUNT, &amount)) != MONEY_OK ||
            (rc = money_mul(amount, line->tax_rate, MONEY_DP_AMOUNT, &tax)) != MONEY_OK ||
            (rc = money_add(amount, tax, &total)) != MONEY_OK ||
            (rc = money_mul(p, one_plus_rate, MONEY_DP_PRICE, &price_incl)) != MONEY_OK ||
            (rc = money_sub(gross, amount, &discount)) != MONEY_OK)
            return rc;
    }

    line->price_incl = price_incl;
    line->price_excl = price_excl;
    line->amount = amount;
    line->tax = tax;
    line->total = total;
    line->discount_amount = discount;
    return MONEY_OK;
}

/* ---- Document totals ---------------------------------------------------------------- */

void money_totals_init(MoneyTotals *t)
{
    if (t) memset(t, 0, sizeof *t);
}

int money_totals_add_line(MoneyTotals *t, const MoneyLine *line)
{
    if (!t || !line) return MONEY_ERR_ARG;

    /* Work on a copy so a failure half-way leaves the caller's totals consistent. */
    MoneyTotals n = *t;
    size_t i = 0;
    while (i < n.n_rates && money_cmp(n.by_rate[i].rate, line->tax_rate) != 0)
        i++;
    if (i == n.n_rates) {
        if (n.n_rates == MONEY_MAX_RATES) return MONEY_ERR_TOO_MANY_RATES;
        n.by_rate[i] = (MoneyRateSubtotal){.rate = line->tax_rate};
        n.n_rates++;
    }
    MoneyRateSubtotal *s = &n.by_rate[i];
    int rc;
    if ((rc = money_add(s->amount, line->amount, &s->amount)) != MONEY_OK ||
        (rc = money_add(s->tax, line->tax, &s->tax)) != MONEY_OK ||
        (rc = money_add(s->total, line->total, &s->total)) != MONEY_OK ||
        (rc = money_add(n.amount, line->amount, &n.amount)) != MONEY_OK ||
        (rc = money_add(n.tax, line->tax, &n.tax)) != MONEY_OK ||
        (rc = money_add(n.total, line->total, &n.total)) != MONEY_OK ||
        (rc = money_add(n.discount_amount, line->discount_amount, &n.discount_amount)) != MONEY_OK)
        return rc;
    n.n_lines++;
    *t = n;
    return MONEY_OK;
}

int money_totals_compute(const MoneyLine *lines, size_t n, MoneyTotals *out)
{
    if (!out || (!lines && n > 0)) return MONEY_ERR_ARG;
    money_totals_init(out);
    for (size_t i = 0; i < n; i++) {
        int rc = money_totals_add_line(out, &lines[i]);
        if (rc != MONEY_OK) return rc;
    }
    return MONEY_OK;
}

/* ---- Currency ----------------------------------------------------------------------- */

int money_convert(Money foreign, Money rate, Money *cny_out)
{
    if (!cny_out || rate.units <= 0) return MONEY_ERR_ARG;
    if (money_decimals(rate) > MONEY_DP_FX_RATE) return MONEY_ERR_SCALE;
    return money_mul(foreign, rate, MONEY_DP_AMOUNT, cny_out);
}

/* ---- 大写金额 -------------------------------------------------------------------------- */

static const char *const cn_digit[10] = {"零", "壹", "贰", "叁", "肆",
                                         "伍", "陆", "柒", "捌", "玖"};
static const char *const cn_place[4] = {"", "拾", "佰", "仟"};

/* Appends the words for n (0 < n < 10^16) without 元. Digits are walked from the top; a
 * pending 零 is written only when a non-zero digit follows, which gives one 零 per run
 * of zeros and none at the end. */
static void cn_integer(GString *out, int64_t n)
{
    int d[16];
    for (int i = 0; i < 16; i++) {
        d[i] = (int)(n % 10);
        n /= 10;
    }
    int top = 15;
    while (top > 0 && d[top] == 0)
        top--;

    gboolean pending_zero = FALSE;
    gboolean group_nonzero = FALSE;
    for (int pos = top; pos >= 0; pos--) {
        if (d[pos] == 0) {
            pending_zero = TRUE;
        } else {
            if (pending_zero) g_string_append(out, cn_digit[0]);
            pending_zero = FALSE;
            group_nonzero = TRUE;
            g_string_append(out, cn_digit[d[pos]]);
            g_string_append(out, cn_place[pos % 4]);
        }
        if (pos % 4 != 0 || pos == 0) continue;

        /* End of a 4-digit group. The 万亿 group (positions 12-15) is written "…万" and
         * then needs its 亿 even when the 亿 group itself is all zeros; those zeros then
         * stay pending like any skipped group (壹万亿零伍仟万). */
        gboolean above_yi = pos == 8 && (d[12] || d[13] || d[14] || d[15]);
        if (group_nonzero || above_yi) g_string_append(out, pos == 8 ? "亿" : "万");
        /* Zeros closing a group do not carry over the group word: only zeros that open
         * the next group earn a 零 (壹佰万壹仟, 壹拾万零壹拾). */
        if (group_nonzero) pending_zero = FALSE;
        group_nonzero = FALSE;
    }
}

char *money_to_chinese_upper(Money v)
{
    Money r = money_round(v, MONEY_DP_AMOUNT);
    money_i128 mag = r.units < 0 ? -r.units : r.units;
    money_i128 cents = mag / pow10_i128(MONEY_SCALE - MONEY_DP_AMOUNT);
    money_i128 limit = pow10_i128(16 + MONEY_DP_AMOUNT);
    if (cents >= limit) return NULL;

    int64_t yuan = (int64_t)(cents / 100);
    int jiao = (int)(cents / 10 % 10);
    int fen = (int)(cents % 10);

    if (cents == 0) return g_strdup("零元整");

    GString *out = g_string_new(NULL);
    if (r.units < 0) g_string_append(out, "负");
    if (yuan > 0) {
        cn_integer(out, yuan);
        g_string_append(out, "元");
    }
    if (jiao == 0 && fen == 0) {
        g_string_append(out, "整");
        return g_string_free(out, FALSE);
    }
    if (jiao > 0) {
        if (yuan > 0 && yuan % 10 == 0) g_string_append(out, cn_digit[0]);
        g_string_append(out, cn_digit[jiao]);
        g_string_append(out, "角");
    } else if (yuan > 0) {
        g_string_append(out, cn_digit[0]);
    }
    if (fen > 0) {
        g_string_append(out, cn_digit[fen]);
        g_string_append(out, "分");
    }
    return g_string_free(out, FALSE);
}
