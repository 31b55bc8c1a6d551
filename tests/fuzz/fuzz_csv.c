/* fuzz_csv.c — libFuzzer target for the tabular reader on text input (CSV path: encoding
 * detection, GB18030 conversion, delimiter guess, libcsv slicing, limits). Every row must be
 * valid UTF-8 within the limits, with increasing row numbers. */
#include "tabular.h"

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_rows(TabularReader *r, const TabLimits *lim)
{
    const char *const *cells;
    int n, rc, last = 0, rows = 0;
    while ((rc = tab_next(r, &cells, &n)) == 1) {
        if (n < 1 || n > lim->max_cols || tab_row(r) <= last || ++rows > lim->max_rows) abort();
        last = tab_row(r);
        if (!*cells[n - 1]) /* trailing empty cells are dropped */
            abort();
        for (int i = 0; i < n; i++)
            if (!g_utf8_validate(cells[i], -1, NULL) || g_utf8_strlen(cells[i], -1) > lim->max_cell)
                abort();
    }
    if (rc < 0 && !*tab_error(r)) abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* libzip turns DOS times into time_t; with TZ unset glibc stats /etc/localtime each time. */
    setenv("TZ", "UTC", 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    TabLimits lim = {.max_rows = 500, .max_cols = 20, .max_cell = 300, .max_entry = 1 << 20};
    GError *err = NULL;
    TabularReader *r = tab_open_mem(data, size, &lim, &err);
    if (!r) {
        if (!err || err->domain != TAB_ERROR || !*err->message) abort();
        g_error_free(err);
        return 0;
    }
    check_rows(r, &lim);
    tab_close(r);
    return 0;
}
