/* xlsx.c — libxlsxwriter in constant-memory mode writing to a temp file, then sent as a download. */
#include "xlsx.h"
#include "../core/audit.h"
#include "../core/config.h"
#include "../core/db.h"
#include "../core/i18n.h"
#include "../core/log.h"
#include "../core/listing.h"
#include "../core/response.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

static void set_cell(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, const XlsxColumn *c,
                     const char *v, lxw_format *fmt, lxw_format *text_quoted)
{
    if (!v || !*v)
        return;
    switch (c->type) {
    case XL_INT:
    case XL_AMOUNT:
    case XL_PRICE:
    case XL_QTY:
        /* Excel stores every number as an IEEE double: the exact decimal from PostgreSQL becomes
         * one only here, at the file-format boundary, and is never read back or computed with. */
        worksheet_write_number(ws, row, col, g_ascii_strtod(v, NULL), fmt);
        return;
    case XL_DATE:
    case XL_DATETIME: {
        lxw_datetime dt = {0};
        int sec = 0;
        if (sscanf(v, "%d-%d-%d %d:%d:%d", &dt.year, &dt.month, &dt.day, &dt.hour, &dt.min, &sec) >= 3) {
            dt.sec = sec;
            worksheet_write_datetime(ws, row, col, &dt, fmt);
            return;
        }
        break;
    }
    default:
        break;
    }
    /* A string cell is never evaluated, but text that looks like a formula would become one
     * the moment someone edits the cell (or saves the sheet as CSV): prefix it with an
     * apostrophe, as OWASP advises. This libxlsxwriter (1.1) has no quote-prefix format. */
    bool formula_like = strchr("=+-@", v[0]) != NULL || v[0] == '\t' || v[0] == '\r';
    if (formula_like) {
        gchar *safe = g_strconcat("'", v, NULL);
        worksheet_write_string(ws, row, col, safe, text_quoted);
        g_free(safe);
    } else {
        worksheet_write_string(ws, row, col, v, NULL);
    }
}

int xlsx_send(Request *req, const char *filename, const char *sheet, const XlsxColumn *cols,
              const PGresult *res, const char *total_label)
{
    g_autofree gchar *tmpdir = g_build_filename(cfg.var, "tmp", NULL);
    g_mkdir_with_parents(tmpdir, 0700);
    g_autofree gchar *path = g_build_filename(tmpdir, "export-XXXXXX.xlsx", NULL);
    int fd = g_mkstemp(path);
    if (fd < 0) {
        log_error("xlsx: cannot create a temp file in %s", tmpdir);
        resp_error(req, 500);
        return -1;
    }
    close(fd);
    lxw_workbook_options opt = {.constant_memory = LXW_TRUE, .tmpdir = tmpdir};
    lxw_workbook *wb = workbook_new_opt(path, &opt);
    if (!wb) {
        g_unlink(path);
        resp_error(req, 500);
        return -1;
    }
    lxw_format *head = workbook_add_format(wb);
    format_set_bold(head);
    format_set_bg_color(head, 0xE8F0FE);
    format_set_border(head, LXW_BORDER_THIN);
    lxw_format *f_int = workbook_add_format(wb);
    format_set_num_format(f_int, "#,##0");
    lxw_format *f_amount = workbook_add_format(wb);
    format_set_num_format(f_amount, "#,##0.00");
    lxw_format *f_price = workbook_add_format(wb);
    format_set_num_format(f_price, "#,##0.00####");
    lxw_format *f_qty = workbook_add_format(wb);
    format_set_num_format(f_qty, "#,##0.####");
    lxw_format *f_date = workbook_add_format(wb);
    format_set_num_format(f_date, "yyyy-mm-dd");
    lxw_format *f_dt = workbook_add_format(wb);
    format_set_num_format(f_dt, "yyyy-mm-dd hh:mm");
    lxw_format *f_quoted = workbook_add_format(wb);
    format_set_font_color(f_quoted, 0x7F1D1D);
    lxw_format *f_total = workbook_add_format(wb);
    format_set_bold(f_total);
    format_set_num_format(f_total, "#,##0.00");
    format_set_top(f_total, LXW_BORDER_THIN);

    lxw_worksheet *ws = workbook_add_worksheet(wb, sheet);
    int ncols = 0, idx[64];
    lxw_format *fmts[64];
    for (; cols[ncols].column && ncols < 64; ncols++) {
        const XlsxColumn *c = &cols[ncols];
        idx[ncols] = PQfnumber(res, c->column);
        fmts[ncols] = c->type == XL_INT ? f_int : c->type == XL_AMOUNT ? f_amount
                    : c->type == XL_PRICE ? f_price : c->type == XL_QTY ? f_qty
                    : c->type == XL_DATE ? f_date : c->type == XL_DATETIME ? f_dt : NULL;
        worksheet_set_column(ws, (lxw_col_t)ncols, (lxw_col_t)ncols, c->width ? c->width : 14, NULL);
    }
    for (int c = 0; c < ncols; c++)
        worksheet_write_string(ws, 0, (lxw_col_t)c, i18n_get(req->lang, cols[c].header), head);
    worksheet_freeze_panes(ws, 1, 0);
    int nrows = PQntuples(res);
    for (int r = 0; r < nrows; r++)
        for (int c = 0; c < ncols; c++)
            if (idx[c] >= 0 && !PQgetisnull(res, r, idx[c]))
                set_cell(ws, (lxw_row_t)(r + 1), (lxw_col_t)c, &cols[c], PQgetvalue(res, r, idx[c]),
                         fmts[c], f_quoted);
    if (total_label && nrows > 0) {
        lxw_row_t tr = (lxw_row_t)(nrows + 1);
        worksheet_write_string(ws, tr, 0, i18n_get(req->lang, total_label), f_total);
        for (int c = 1; c < ncols; c++) {
            if (cols[c].type != XL_AMOUNT && cols[c].type != XL_QTY)
                continue;
            char colname[8], formula[64];
            lxw_col_to_name(colname, (lxw_col_t)c, LXW_FALSE);
            snprintf(formula, sizeof formula, "=SUBTOTAL(9,%s2:%s%d)", colname, colname, nrows + 1);
            worksheet_write_formula(ws, tr, (lxw_col_t)c, formula, f_total);
        }
    }
    worksheet_autofilter(ws, 0, 0, (lxw_row_t)(nrows > 0 ? nrows : 1), (lxw_col_t)(ncols - 1));
    lxw_error err = workbook_close(wb);
    if (err != LXW_NO_ERROR) {
        log_error("xlsx: %s", lxw_strerror(err));
        g_unlink(path);
        resp_error(req, 500);
        return -1;
    }
    gchar *data = NULL;
    gsize len = 0;
    gboolean ok = g_file_get_contents(path, &data, &len, NULL);
    g_unlink(path);
    if (!ok) {
        resp_error(req, 500);
        return -1;
    }
    resp_download(req, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  filename, data, len);
    g_free(data);
    return 0;
}

void xlsx_export_list(Request *req, SqlBuf *q, const char *prefix, const char *sheet_msgid,
                      const XlsxColumn *cols, const char *module, const char *object_type)
{
    PGresult *day = db_exec(req->arena, "SELECT to_char(now() AT TIME ZONE $1::text, 'YYYYMMDD')",
                            cfg.timezone);
    if (!q || !day || db_begin(req->arena) < 0) {
        resp_error(req, 503);
        return;
    }
    PGresult *rows = sql_exec(q);
    if (!rows) {
        db_rollback(req->arena);
        resp_error(req, 500);
        return;
    }
    const char *file = arena_printf(req->arena, "%s-%s.xlsx", prefix, PQgetvalue(day, 0, 0));
    /* The label names the file, the row count and the filters: data, the same in every language. */
    const char *names[] = {"page"};
    const char *values[] = {NULL};
    const char *filters = list_query_with(req, names, values, 1);
    AuditDiff *d = audit_diff_new(req->arena);
    audit_diff(d, "filters", "", *filters ? filters + 1 : "");
    if (audit_write(req, module, "export", object_type, 0,
                    arena_printf(req->arena, "%s (%d)", file, PQntuples(rows)), d, "ok") < 0) {
        db_rollback(req->arena);
        resp_error(req, 500);
        return;
    }
    if (xlsx_send(req, file, i18n_get(req->lang, sheet_msgid), cols, rows, NULL) < 0) {
        db_rollback(req->arena); /* xlsx_send has answered 500 */
        return;
    }
    if (db_commit(req->arena) < 0) {
        /* No audit row, no file: an export nobody can account for must not leave. */
        g_string_truncate(req->headers, 0);
        g_string_truncate(req->body, 0);
        resp_error(req, 500);
    }
}
