/* tabular.h — rows of an uploaded spreadsheet for imports: .xlsx (first worksheet) or CSV
 * (UTF-8 or GB18030, ',' ';' or tab), told apart by content, read as text exactly as written,
 * with limits that hold against hostile files (zip bombs, huge rows, endless cells). */
#ifndef KEXIN_TABULAR_H
#define KEXIN_TABULAR_H

#include <glib.h>
#include <stddef.h>

typedef struct TabLimits {
    int max_rows;     /* non-empty rows returned, header included (0: 200000) */
    int max_cols;     /* columns of a row up to its last non-empty cell (0: 200) */
    int max_cell;     /* characters of one cell (0: 32767, Excel's own limit) */
    size_t max_entry; /* uncompressed bytes of one .xlsx part (0: 64 MiB) */
    const char *lang; /* language of error messages (i18n_get); NULL: English */
} TabLimits;

typedef enum TabErrorCode {
    TAB_OK = 0,
    TAB_ERR_IO,        /* the file cannot be read */
    TAB_ERR_BINARY,    /* neither a zip nor text */
    TAB_ERR_XLS,       /* an old binary .xls workbook */
    TAB_ERR_UTF16,     /* UTF-16 text ("Unicode text") */
    TAB_ERR_ENCODING,  /* text neither UTF-8 nor GB18030; line = first bad line */
    TAB_ERR_DAMAGED,   /* broken zip or XML, or not an .xlsx workbook */
    TAB_ERR_NO_SHEET,  /* workbook without a worksheet */
    TAB_ERR_TOO_LARGE, /* an .xlsx part beyond max_entry when unpacked; limit in MiB */
    TAB_ERR_ROWS,      /* more than max_rows rows */
    TAB_ERR_COLUMNS,   /* row has a value beyond max_cols */
    TAB_ERR_CELL,      /* cell longer than max_cell */
    TAB_ERR_QUOTE,     /* CSV: a quoted field never closed */
} TabErrorCode;

typedef struct TabError {
    TabErrorCode code;
    int row;       /* 1-based row as a spreadsheet shows it; 0 when not about a row */
    char col[8];   /* column letters ("C"), "" when not about a cell */
    int line;      /* TAB_ERR_ENCODING: 1-based line of the file */
    long limit;    /* the limit that was exceeded */
    char *message; /* full sentence in TabLimits.lang */
} TabError;

#define TAB_ERROR (tab_error_quark())
GQuark tab_error_quark(void);

typedef struct TabularReader TabularReader;

/* Opens path (format from its first bytes: "PK\3\4" is .xlsx, anything else CSV). NULL on
 * failure with err set: domain TAB_ERROR, code a TabErrorCode, message for the user. */
TabularReader *tab_open(const char *path, const TabLimits *lim, GError **err);
/* The same over memory, which must stay valid until tab_close. */
TabularReader *tab_open_mem(const void *data, size_t len, const TabLimits *lim, GError **err);

/* Next non-empty row: 1 with *cells (UTF-8, never NULL; "" for empty cells inside the row;
 * trailing empty cells dropped) valid until the next call, 0 at the end, -1 on error
 * (tab_error). Empty rows are skipped; tab_row tells the original row number. */
int tab_next(TabularReader *r, const char *const **cells, int *ncells);
/* The 1-based row number (as Excel shows it) of the row tab_next returned last. */
int tab_row(const TabularReader *r);
const char *tab_format(const TabularReader *r);   /* "xlsx" or "csv" */
const char *tab_encoding(const TabularReader *r); /* "UTF-8" or "GB18030" (xlsx: "UTF-8") */
char tab_delimiter(const TabularReader *r);       /* CSV: ',' ';' or '\t'; xlsx: 0 */
/* Why tab_next returned -1: a message for the user, and its parts. */
const char *tab_error(const TabularReader *r);
const TabError *tab_error_info(const TabularReader *r);
void tab_close(TabularReader *r);

/* English message template of a code ({row} {col} {line} {limit} placeholders): the msgid
 * to give the catalogue. */
const char *tab_error_msgid(TabErrorCode code);

#endif
