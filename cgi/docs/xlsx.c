/* xlsx.c — libxlsxwriter in constant-memory mode writing to a temp file, then sent as a download. */
#include "xlsx.h"
#include "../core/audit.h"
#include "../core/config.h"
#include "../core/db.h"
#include "../core/i18n.h"
#include "../core/log.h"
#include "../core/listing.h"
#include "../core/response.h"

#include <dlfcn.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>
#include <zlib.h>

/* ==== the compression: level 1, on every core ============================================== */

/* libxlsxwriter (Debian's 1.1.4) deflates every part of a workbook at zlib's default level (6)
 * on one core and offers no setting for it: for an export of 100,000 customers that was 2.5 s of
 * a 5 s request, deflating 117 MB of sheet XML. Its three calls into minizip for each part (open,
 * write, close) are answered here first (ELF symbol interposition: the executable's definition of
 * an undefined symbol of a library wins over the one in libminizip). The part is opened "raw"
 * (minizip stores what it is given) and deflated here at XLSX_ZIP_LEVEL, pigz-style: the data is
 * cut into DEFLATE_CHUNK pieces, each deflated by a thread of the pool with the previous 32 KB as
 * its dictionary and ended by a sync flush (a byte boundary), so the pieces, written in order, are
 * one deflate stream; their CRCs are combined. Level 1 takes about 40 % less time than 6 for a
 * file about 20 % bigger; two cores halve what is left. The prototypes are minizip's (zip.h,
 * unchanged since minizip 1.1); should a libxlsxwriter ever bundle its own minizip, none of this
 * is called and the files are as before. tests/http/customers.test.js checks the level and every
 * CRC of an export. */
#define XLSX_ZIP_LEVEL 1
#define DEFLATE_CHUNK (512 * 1024)
#define DEFLATE_WINDOW 32768   /* deflate's window: the dictionary carried to the next piece */
#define ZIP_ERRNO (-1)         /* minizip's error codes */
#define ZIP_INTERNALERROR (-104)

typedef int (*ZipOpenFn)(void *file, const char *filename, const void *zipfi, const void *extra_local,
                         uInt size_extra_local, const void *extra_global, uInt size_extra_global,
                         const char *comment, int method, int level, int raw, int window_bits,
                         int mem_level, int strategy, const char *password, uLong crc_for_crypting,
                         uLong version_made_by, uLong flag_base, int zip64);
typedef int (*ZipWriteFn)(void *file, const void *buf, unsigned len);
typedef int (*ZipCloseFn)(void *file);
typedef int (*ZipCloseRawFn)(void *file, guint64 uncompressed_size, uLong crc);

int zipOpenNewFileInZip4_64(void *file, const char *filename, const void *zipfi, const void *extra_local,
                            uInt size_extra_local, const void *extra_global, uInt size_extra_global,
                            const char *comment, int method, int level, int raw, int window_bits,
                            int mem_level, int strategy, const char *password, uLong crc_for_crypting,
                            uLong version_made_by, uLong flag_base, int zip64);
int zipWriteInFileInZip(void *file, const void *buf, unsigned len);
int zipCloseFileInZip(void *file);

/* minizip's own definition of a symbol answered here (NULL when there is none). */
static void *minizip(const char *symbol)
{
    return dlsym(RTLD_NEXT, symbol);
}

/* One piece of a part: its input, the 32 KB before it, and what its thread made of them. */
typedef struct DeflatePiece {
    guchar *in;
    gsize in_len;
    guchar dict[DEFLATE_WINDOW];
    gsize dict_len;
    bool last;   /* ends the stream (Z_FINISH) rather than a sync flush */
    guchar *out; /* written by the thread; read once done */
    gsize out_len;
    uLong crc;   /* of the input */
    bool ok, done;
} DeflatePiece;

/* The part being deflated (one at a time: libxlsxwriter closes each part before the next). */
static struct {
    void *zip;             /* minizip's handle; NULL when no part is being deflated here */
    DeflatePiece *filling; /* the piece being filled from libxlsxwriter's writes */
    GQueue pieces;         /* handed to the pool, in stream order */
    guchar window[DEFLATE_WINDOW]; /* the last input so far: the next piece's dictionary */
    gsize window_len;
    uLong crc;
    guint64 total;
    bool failed;
} part;

static GThreadPool *deflaters;
static guint deflaters_n;
static bool deflaters_failed;
static GMutex piece_lock;
static GCond piece_done;

static void deflate_piece(gpointer data, gpointer unused)
{
    (void)unused;
    DeflatePiece *p = data;
    z_stream s = {0};
    bool ok = deflateInit2(&s, XLSX_ZIP_LEVEL, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    if (ok && p->dict_len)
        ok = deflateSetDictionary(&s, p->dict, (uInt)p->dict_len) == Z_OK;
    if (ok) {
        /* The bound is for a whole stream; a sync flush adds an empty stored block (5 bytes). */
        uLong room = deflateBound(&s, (uLong)p->in_len) + 64;
        p->out = g_malloc(room);
        s.next_in = p->in;
        s.avail_in = (uInt)p->in_len;
        s.next_out = p->out;
        s.avail_out = (uInt)room;
        int rc = deflate(&s, p->last ? Z_FINISH : Z_SYNC_FLUSH);
        ok = (p->last ? rc == Z_STREAM_END : rc == Z_OK) && s.avail_in == 0 && s.avail_out > 0;
        p->out_len = room - s.avail_out;
    }
    deflateEnd(&s);
    uLong crc = crc32(0L, p->in, (uInt)p->in_len);
    g_mutex_lock(&piece_lock);
    p->crc = crc;
    p->ok = ok;
    p->done = true;
    g_cond_broadcast(&piece_done);
    g_mutex_unlock(&piece_lock);
}

static void piece_free(DeflatePiece *p)
{
    g_free(p->in);
    g_free(p->out);
    g_free(p);
}

static DeflatePiece *piece_new(void)
{
    DeflatePiece *p = g_new0(DeflatePiece, 1);
    p->in = g_malloc(DEFLATE_CHUNK);
    return p;
}

/* Waits for the oldest piece and writes it into the part (or, once something failed, drops it). */
static void piece_write_oldest(void)
{
    DeflatePiece *p = g_queue_pop_head(&part.pieces);
    g_mutex_lock(&piece_lock);
    while (!p->done)
        g_cond_wait(&piece_done, &piece_lock);
    g_mutex_unlock(&piece_lock);
    static ZipWriteFn write;
    if (!write)
        write = (ZipWriteFn)minizip("zipWriteInFileInZip");
    if (!p->ok || !write)
        part.failed = true;
    for (gsize at = 0; !part.failed && at < p->out_len;) {
        unsigned n = (unsigned)MIN(p->out_len - at, (gsize)1 << 30);
        if (write(part.zip, p->out + at, n) != 0)
            part.failed = true;
        at += n;
    }
    part.crc = crc32_combine(part.crc, p->crc, (z_off_t)p->in_len);
    part.total += p->in_len;
    piece_free(p);
}

/* Hands the piece being filled to the pool (its dictionary: the window before it) and keeps at
 * most two pieces per thread in flight. */
static void piece_submit(bool last)
{
    DeflatePiece *p = part.filling;
    part.filling = NULL;
    p->last = last;
    memcpy(p->dict, part.window, part.window_len);
    p->dict_len = part.window_len;
    if (p->in_len >= DEFLATE_WINDOW) {
        memcpy(part.window, p->in + p->in_len - DEFLATE_WINDOW, DEFLATE_WINDOW);
        part.window_len = DEFLATE_WINDOW;
    } else { /* a short piece: the window slides by its length */
        gsize keep = MIN(part.window_len, DEFLATE_WINDOW - p->in_len);
        memmove(part.window, part.window + part.window_len - keep, keep);
        memcpy(part.window + keep, p->in, p->in_len);
        part.window_len = keep + p->in_len;
    }
    g_queue_push_tail(&part.pieces, p);
    g_thread_pool_push(deflaters, p, NULL);
    while (g_queue_get_length(&part.pieces) > 2 * deflaters_n)
        piece_write_oldest();
}

/* Writes (or, after a failure, drops) every piece handed to the pool — the threads use their
 * memory until they are done — and frees the one being filled: no part is deflated here any more. */
static void part_end(void)
{
    while (!g_queue_is_empty(&part.pieces))
        piece_write_oldest();
    if (part.filling)
        piece_free(part.filling);
    part.filling = NULL;
    part.zip = NULL;
}

int zipOpenNewFileInZip4_64(void *file, const char *filename, const void *zipfi, const void *extra_local,
                            uInt size_extra_local, const void *extra_global, uInt size_extra_global,
                            const char *comment, int method, int level, int raw, int window_bits,
                            int mem_level, int strategy, const char *password, uLong crc_for_crypting,
                            uLong version_made_by, uLong flag_base, int zip64)
{
    static ZipOpenFn open;
    if (!open)
        open = (ZipOpenFn)minizip("zipOpenNewFileInZip4_64");
    if (!open)
        return ZIP_INTERNALERROR;
    if (part.zip) /* a part left open (never the case with libxlsxwriter 1.1): let it go */
        part_end();
    if (!deflaters && !deflaters_failed) { /* made in the worker, at its first export */
        deflaters_n = MAX(1u, MIN(g_get_num_processors(), 8u));
        /* Exclusive: its threads start now, or the pool is not used (a piece handed to a pool
         * without threads would be waited for forever). */
        deflaters = g_thread_pool_new(deflate_piece, NULL, (gint)deflaters_n, TRUE, NULL);
        deflaters_failed = !deflaters;
        if (deflaters_failed)
            log_error("xlsx: no deflate threads; parts are deflated by minizip");
    }
    bool here = method == Z_DEFLATED && level == Z_DEFAULT_COMPRESSION && !raw && !password && deflaters &&
                minizip("zipCloseFileInZipRaw64") && minizip("zipWriteInFileInZip");
    if (method == Z_DEFLATED && level == Z_DEFAULT_COMPRESSION)
        level = XLSX_ZIP_LEVEL; /* also what the entry's flags say: zipinfo shows "superfast" */
    int rc = open(file, filename, zipfi, extra_local, size_extra_local, extra_global, size_extra_global,
                  comment, method, level, here ? 1 : raw, window_bits, mem_level, strategy, password,
                  crc_for_crypting, version_made_by, flag_base, zip64);
    if (rc == 0 && here) {
        part.zip = file;
        part.filling = piece_new();
        part.window_len = 0;
        part.crc = crc32(0L, Z_NULL, 0);
        part.total = 0;
        part.failed = false;
    }
    return rc;
}

int zipWriteInFileInZip(void *file, const void *buf, unsigned len)
{
    if (!file || file != part.zip) {
        static ZipWriteFn write;
        if (!write)
            write = (ZipWriteFn)minizip("zipWriteInFileInZip");
        return write ? write(file, buf, len) : ZIP_INTERNALERROR;
    }
    const guchar *b = buf;
    while (len > 0 && !part.failed) {
        DeflatePiece *p = part.filling;
        gsize n = MIN((gsize)len, DEFLATE_CHUNK - p->in_len);
        memcpy(p->in + p->in_len, b, n);
        p->in_len += n;
        b += n;
        len -= (unsigned)n;
        if (p->in_len == DEFLATE_CHUNK) {
            piece_submit(false);
            part.filling = piece_new();
        }
    }
    if (!part.failed)
        return 0;
    /* libxlsxwriter gives up on the workbook without closing the part: end it here. */
    part_end();
    return ZIP_ERRNO;
}

int zipCloseFileInZip(void *file)
{
    if (!file || file != part.zip) {
        static ZipCloseFn close;
        if (!close)
            close = (ZipCloseFn)minizip("zipCloseFileInZip");
        return close ? close(file) : ZIP_INTERNALERROR;
    }
    piece_submit(true); /* the last piece, even empty, ends the stream */
    part_end();
    ZipCloseRawFn close_raw = (ZipCloseRawFn)minizip("zipCloseFileInZipRaw64");
    int rc = close_raw(file, part.total, part.crc);
    return part.failed ? ZIP_ERRNO : rc;
}

/* ==== cells ================================================================================= */

/* Reads n digits of s (no sign, no spaces); -1 when they are not all digits. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!g_ascii_isdigit(s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* "YYYY-MM-DD", "YYYY-MM-DD HH:MM" or "YYYY-MM-DD HH:MM:SS" as PostgreSQL's to_char writes them
 * (sscanf cost a third of the writer's time at 100k rows). */
static bool parse_datetime(const char *v, lxw_datetime *dt)
{
    size_t n = strlen(v);
    if (n < 10 || v[4] != '-' || v[7] != '-')
        return false;
    dt->year = digits(v, 4);
    dt->month = digits(v + 5, 2);
    dt->day = digits(v + 8, 2);
    if (dt->year < 0 || dt->month < 1 || dt->day < 1)
        return false;
    if (n >= 16 && v[10] == ' ' && v[13] == ':') {
        dt->hour = digits(v + 11, 2);
        dt->min = digits(v + 14, 2);
        int sec = n >= 19 && v[16] == ':' ? digits(v + 17, 2) : 0;
        if (dt->hour < 0 || dt->min < 0 || sec < 0)
            return false;
        dt->sec = sec;
    }
    return true;
}

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
        if (parse_datetime(v, &dt)) {
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

#define XLSX_TMP_BUFFER (1 << 20)

struct XlsxSheet {
    Request *req;
    const XlsxColumn *cols;
    char *path, *tmpdir;
    lxw_workbook *wb;
    lxw_worksheet *ws;
    lxw_format *head, *quoted, *total, *fmts[XLSX_MAX_COLS];
    int ncols, idx[XLSX_MAX_COLS];
    bool mapped; /* idx[] read from the first result */
    long rows;
};

static lxw_format *number_format(lxw_workbook *wb, const char *pattern)
{
    lxw_format *f = workbook_add_format(wb);
    format_set_num_format(f, pattern);
    return f;
}

XlsxSheet *xlsx_begin(Request *req, const char *sheet, const XlsxColumn *cols)
{
    XlsxSheet *x = arena_alloc(req->arena, sizeof *x);
    x->req = req;
    x->cols = cols;
    g_autofree gchar *tmpdir = g_build_filename(cfg.var, "tmp", NULL);
    x->tmpdir = arena_strdup(req->arena, tmpdir);
    g_mkdir_with_parents(x->tmpdir, 0700);
    g_autofree gchar *path = g_build_filename(x->tmpdir, "export-XXXXXX.xlsx", NULL);
    int fd = g_mkstemp(path);
    if (fd < 0) {
        log_error("xlsx: cannot create a temp file in %s", x->tmpdir);
        return NULL;
    }
    close(fd);
    x->path = arena_strdup(req->arena, path);
    /* Constant memory: each row goes to a temp file as it is written, whatever the row count. */
    lxw_workbook_options opt = {.constant_memory = LXW_TRUE, .tmpdir = x->tmpdir};
    x->wb = workbook_new_opt(x->path, &opt);
    if (!x->wb) {
        g_unlink(x->path);
        return NULL;
    }
    lxw_workbook *wb = x->wb;
    x->head = workbook_add_format(wb);
    format_set_bold(x->head);
    format_set_bg_color(x->head, 0xE8F0FE);
    format_set_border(x->head, LXW_BORDER_THIN);
    lxw_format *f_int = number_format(wb, "#,##0"), *f_amount = number_format(wb, "#,##0.00"),
               *f_price = number_format(wb, "#,##0.00####"), *f_qty = number_format(wb, "#,##0.####"),
               *f_date = number_format(wb, "yyyy-mm-dd"), *f_dt = number_format(wb, "yyyy-mm-dd hh:mm");
    x->quoted = workbook_add_format(wb);
    format_set_font_color(x->quoted, 0x7F1D1D);
    x->total = number_format(wb, "#,##0.00");
    format_set_bold(x->total);
    format_set_top(x->total, LXW_BORDER_THIN);

    x->ws = workbook_add_worksheet(wb, sheet);
    /* Constant memory writes each row to this temp file through stdio's 4 KB buffer: 29,000
     * write calls for 100k rows. A bigger buffer, set before the first row (the struct is
     * libxlsxwriter's public one; its stream is only read here), makes them 120. */
    if (x->ws && x->ws->optimize_tmpfile)
        setvbuf(x->ws->optimize_tmpfile, arena_alloc(req->arena, XLSX_TMP_BUFFER), _IOFBF, XLSX_TMP_BUFFER);
    for (; cols[x->ncols].column && x->ncols < XLSX_MAX_COLS; x->ncols++) {
        const XlsxColumn *c = &cols[x->ncols];
        x->fmts[x->ncols] = c->type == XL_INT ? f_int : c->type == XL_AMOUNT ? f_amount
                          : c->type == XL_PRICE ? f_price : c->type == XL_QTY ? f_qty
                          : c->type == XL_DATE ? f_date : c->type == XL_DATETIME ? f_dt : NULL;
        worksheet_set_column(x->ws, (lxw_col_t)x->ncols, (lxw_col_t)x->ncols, c->width ? c->width : 14, NULL);
    }
    for (int c = 0; c < x->ncols; c++)
        worksheet_write_string(x->ws, 0, (lxw_col_t)c, i18n_get(req->lang, cols[c].header), x->head);
    worksheet_freeze_panes(x->ws, 1, 0);
    return x;
}

void xlsx_rows(XlsxSheet *x, const PGresult *res)
{
    if (!x->mapped) {
        for (int c = 0; c < x->ncols; c++)
            x->idx[c] = PQfnumber(res, x->cols[c].column);
        x->mapped = true;
    }
    int n = PQntuples(res);
    for (int r = 0; r < n; r++) {
        x->rows++;
        for (int c = 0; c < x->ncols; c++)
            if (x->idx[c] >= 0 && !PQgetisnull(res, r, x->idx[c]))
                set_cell(x->ws, (lxw_row_t)x->rows, (lxw_col_t)c, &x->cols[c], PQgetvalue(res, r, x->idx[c]),
                         x->fmts[c], x->quoted);
    }
}

long xlsx_row_count(const XlsxSheet *x)
{
    return x->rows;
}

void xlsx_abort(XlsxSheet *x)
{
    if (!x)
        return;
    workbook_close(x->wb);
    g_unlink(x->path);
}

int xlsx_end(XlsxSheet *x, const char *filename, const char *total_label)
{
    Request *req = x->req;
    lxw_worksheet *ws = x->ws;
    if (total_label && x->rows > 0) {
        lxw_row_t tr = (lxw_row_t)(x->rows + 1);
        worksheet_write_string(ws, tr, 0, i18n_get(req->lang, total_label), x->total);
        for (int c = 1; c < x->ncols; c++) {
            if (x->cols[c].type != XL_AMOUNT && x->cols[c].type != XL_QTY)
                continue;
            char colname[8], formula[64];
            lxw_col_to_name(colname, (lxw_col_t)c, LXW_FALSE);
            snprintf(formula, sizeof formula, "=SUBTOTAL(9,%s2:%s%ld)", colname, colname, x->rows + 1);
            worksheet_write_formula(ws, tr, (lxw_col_t)c, formula, x->total);
        }
    }
    worksheet_autofilter(ws, 0, 0, (lxw_row_t)(x->rows > 0 ? x->rows : 1), (lxw_col_t)(x->ncols - 1));
    lxw_error err = workbook_close(x->wb);
    if (err != LXW_NO_ERROR) {
        log_error("xlsx: %s", lxw_strerror(err));
        g_unlink(x->path);
        resp_error(req, 500);
        return -1;
    }
    if (resp_download_file(req, XLSX_TYPE, filename, x->path, true) < 0) {
        resp_error(req, 500);
        return -1;
    }
    return 0;
}

#define EXPORT_FETCH 2000

void xlsx_export_list(Request *req, SqlBuf *q, const char *prefix, const char *sheet_msgid,
                      const XlsxColumn *cols, const char *module, const char *object_type)
{
    PGresult *day = db_exec(req->arena, "SELECT to_char(now() AT TIME ZONE $1::text, 'YYYYMMDD')",
                            cfg.timezone);
    if (!q || !day || db_begin(req->arena) < 0) {
        resp_error(req, 503);
        return;
    }
    /* A cursor hands the rows over EXPORT_FETCH at a time; each batch goes into the sheet and
     * is freed before the next, so memory stays flat however many rows match. */
    /* The next batch is asked for before this one is written: the database reads while the
     * sheet is written. The plan is made for reading every row (not the first 10 %), without
     * JIT (its compile time is more than it saves here). */
    static const char fetch[] = "FETCH " G_STRINGIFY(EXPORT_FETCH) " FROM kx_export";
    g_string_prepend(q->sql, "DECLARE kx_export NO SCROLL CURSOR FOR ");
    bool ok = db_exec0(req->arena, "SET LOCAL cursor_tuple_fraction = 1") &&
              db_exec0(req->arena, "SET LOCAL jit = off") && sql_exec(q) && db_send(fetch) == 0;
    XlsxSheet *x = ok ? xlsx_begin(req, i18n_get(req->lang, sheet_msgid), cols) : NULL;
    PGresult *chunk = NULL;
    if (ok && !x)
        chunk = db_receive(fetch); /* drain the connection */
    ok = x != NULL;
    while (ok) {
        chunk = db_receive(fetch);
        ok = chunk != NULL;
        if (!ok)
            break;
        bool more = PQntuples(chunk) == EXPORT_FETCH;
        if (more && db_send(fetch) < 0)
            ok = false;
        xlsx_rows(x, chunk);
        PQclear(chunk);
        chunk = NULL;
        if (!more)
            break;
    }
    PQclear(chunk);
    const char *file = arena_printf(req->arena, "%s-%s.xlsx", prefix, PQgetvalue(day, 0, 0));
    /* The label names the file, the row count and the filters: data, the same in every language. */
    const char *names[] = {"page"};
    const char *values[] = {NULL};
    const char *filters = list_query_with(req, names, values, 1);
    AuditDiff *d = audit_diff_new(req->arena);
    audit_diff(d, "filters", "", *filters ? filters + 1 : "");
    if (!ok || audit_write(req, module, "export", object_type, 0,
                           arena_printf(req->arena, "%s (%ld)", file, xlsx_row_count(x)), d, "ok") < 0) {
        xlsx_abort(x);
        db_rollback(req->arena);
        resp_error(req, 500);
        return;
    }
    if (xlsx_end(x, file, NULL) < 0) {
        db_rollback(req->arena); /* xlsx_end has answered 500 */
        return;
    }
    if (db_commit(req->arena) < 0) {
        /* No audit row, no file: an export nobody can account for must not leave. */
        g_string_truncate(req->headers, 0);
        g_string_truncate(req->body, 0);
        resp_error(req, 500);
    }
}
