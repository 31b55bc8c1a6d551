/* xlsx.h — Excel exports of query results: real number and date cells, frozen header,
 * autofilter, column widths, formula-looking text neutralised, constant memory. */
#ifndef KEXIN_XLSX_H
#define KEXIN_XLSX_H

#include "../core/request.h"
#include "../core/sqlbuf.h"

#include <libpq-fe.h>

typedef enum {
    XL_TEXT,
    XL_INT,
    XL_AMOUNT,   /* 2 decimals, thousands separators */
    XL_PRICE,    /* 6 decimals */
    XL_QTY,      /* up to 4 decimals */
    XL_DATE,     /* value "YYYY-MM-DD" */
    XL_DATETIME, /* value "YYYY-MM-DD HH:MM[:SS]" */
} XlsxType;

typedef struct XlsxColumn {
    const char *column; /* result column name */
    const char *header; /* English msgid, translated into the request's language */
    XlsxType type;
    int width;          /* characters; 0 = 14 */
} XlsxColumn;

#define XLSX_MAX_COLS 64
#define XLSX_TYPE "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

/* A worksheet written in steps, for results that come in batches (a cursor): xlsx_begin (NULL
 * when no temp file can be made; nothing answered), xlsx_rows for each batch (columns are found
 * by name in the first one), then xlsx_end, which answers with the file (streamed from disk) or
 * with 500 and returns -1; or xlsx_abort to give up. */
typedef struct XlsxSheet XlsxSheet;
XlsxSheet *xlsx_begin(Request *req, const char *sheet, const XlsxColumn *cols);
void xlsx_rows(XlsxSheet *x, const PGresult *res);
long xlsx_row_count(const XlsxSheet *x);
int xlsx_end(XlsxSheet *x, const char *filename, const char *total_label);
void xlsx_abort(XlsxSheet *x);

/* The audited list export every module uses: in one transaction it reads q (the list's query
 * without LIMIT) through a cursor in batches, writes the audit row (module, "export", object_type; label
 * "<prefix>-YYYYMMDD.xlsx (rows)"; changed field "filters" = the list's query string), and answers
 * with the file. No audit row, no file: a failure answers 500/503 and sends nothing. */
void xlsx_export_list(Request *req, SqlBuf *q, const char *prefix, const char *sheet_msgid,
                      const XlsxColumn *cols, const char *module, const char *object_type);

#endif
