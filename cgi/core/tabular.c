/* tabular.c — row readers for imports. .xlsx: libzip + libxml2's streaming xmlReader over
 * zip_fread (the sheet is never loaded whole), first worksheet found through the workbook's
 * relationships, shared/inline/rich strings, literal numbers, date styles as YYYY-MM-DD.
 * CSV: encoding by content (BOM, valid UTF-8, else GB18030 through iconv), libcsv fed one
 * line-sized slice at a time so a call completes at most one row. Every size has a cap. */
#include "tabular.h"
#include "i18n.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <libxml/xmlreader.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>

#define TAB_DEF_ROWS 200000
#define TAB_DEF_COLS 200
#define TAB_DEF_CELL 32767
#define TAB_DEF_ENTRY ((size_t)64 << 20)
#define TAB_CHUNK 16384    /* raw bytes read at a time */
#define TAB_CSV_SLICE 4096 /* most bytes given to libcsv at once (bounds a cell's buffer) */
#define TAB_XLSX_MAXROW 1048576
#define TAB_XLSX_MAXCOL 16384
#define TAB_MAX_XF 100000   /* cell formats looked at for dates (Excel allows 64000) */
#define TAB_MAX_SST 4000000 /* shared strings: bounds the table's memory (~10 bytes each) */

G_DEFINE_QUARK(kexin - tabular - error - quark, tab_error)

/* Messages for people, with {placeholders}. English source; the catalogue translates them
 * through TabLimits.lang. */
static const char *const msgids[] = {
    [TAB_OK] = "",
    [TAB_ERR_IO] = "The file could not be read.",
    [TAB_ERR_BINARY] = "The file is neither an Excel workbook (.xlsx) nor a CSV text file.",
    [TAB_ERR_XLS] = "Old Excel files (.xls) cannot be imported. Save the file as Excel "
                    "workbook (.xlsx) or CSV and upload it again.",
    [TAB_ERR_UTF16] = "Unicode text (UTF-16) files cannot be imported. Save the file as CSV "
                      "(UTF-8) and upload it again.",
    [TAB_ERR_ENCODING] = "Line {line} of the file is neither UTF-8 nor GB18030 text. Save the "
                         "file as CSV (UTF-8) and upload it again.",
    [TAB_ERR_DAMAGED] = "The Excel file is damaged or not an .xlsx workbook.",
    [TAB_ERR_NO_SHEET] = "The Excel workbook has no worksheet.",
    [TAB_ERR_TOO_LARGE] = "The Excel file is too large to import (a part of it unpacks to more "
                          "than {limit} MB).",
    [TAB_ERR_ROWS] = "The file has more than {limit} rows. Split it into smaller files.",
    [TAB_ERR_COLUMNS] = "Row {row} has more than {limit} columns.",
    [TAB_ERR_CELL] = "Row {row}, column {col}: the text is longer than {limit} characters.",
    [TAB_ERR_QUOTE] = "Row {row}: a field opens with a quotation mark that is never closed.",
};

typedef struct Src {
    int fd; /* -1: memory */
    const unsigned char *mem;
    size_t len, pos;
    char *path;
} Src;

typedef struct ZipIn {
    zip_file_t *zf;
    size_t total, limit;
    bool over;
} ZipIn;

typedef struct Xml {
    ZipIn in;
    xmlTextReaderPtr xr;
} Xml;

struct TabularReader {
    TabLimits lim;
    bool xlsx;
    const char *encoding;
    char delim;
    int row;      /* number of the row returned last */
    int cur_row;  /* number of the row being assembled */
    int returned; /* rows returned */
    bool done;
    TabError err;
    Src src;

    /* The row being assembled: texts NUL-separated in one buffer. */
    GString *text;
    gssize *off; /* per column: offset in text, -1 when empty */
    int ncols;   /* last non-empty column + 1 */
    const char **cells;

    /* CSV */
    struct csv_parser csv;
    bool csv_ready;
    GIConv cd;     /* (GIConv)-1 for UTF-8 */
    char *raw;     /* TAB_CHUNK bytes */
    size_t rawlen; /* bytes carried over: an incomplete character */
    int line;      /* raw lines consumed (for encoding errors) */
    GString *dec;  /* decoded UTF-8 waiting for the parser */
    size_t decpos;
    int csv_col;
    int rec; /* records (rows) completed */
    int last_term;
    bool row_has_fields, row_ready, reset_pending;

    /* xlsx */
    zip_t *zip;
    Xml *sheet;
    GPtrArray *sst; /* shared strings (in sst_chunk) */
    GStringChunk *sst_chunk;
    guint8 *xf_date; /* per cell format index: 1 when it shows a date */
    int nxf;
    bool date1904;
    GString *cell;
    int xcol;
    char ctype; /* 's' shared, 'i' inline, 'b' bool, 'n' number, 'o' other text */
    int cstyle;
    bool in_row, in_c, in_v, in_is, in_t, in_rph;
};

/* --- errors ------------------------------------------------------------------------------- */

const char *tab_error_msgid(TabErrorCode code)
{
    if ((int)code < 0 || (size_t)code >= G_N_ELEMENTS(msgids)) return "";
    return msgids[code];
}

static void col_letters(int col, char out[8])
{
    char tmp[8];
    int n = 0;
    col++;
    while (col > 0 && n < 7) {
        tmp[n++] = (char)('A' + (col - 1) % 26);
        col = (col - 1) / 26;
    }
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

static char *render(const char *tmpl, const TabError *e)
{
    GString *s = g_string_new(NULL);
    for (const char *p = tmpl; *p; p++) {
        if (g_str_has_prefix(p, "{row}")) {
            g_string_append_printf(s, "%d", e->row);
            p += 4;
        } else if (g_str_has_prefix(p, "{col}")) {
            g_string_append(s, e->col);
            p += 4;
        } else if (g_str_has_prefix(p, "{line}")) {
            g_string_append_printf(s, "%d", e->line);
            p += 5;
        } else if (g_str_has_prefix(p, "{limit}")) {
            g_string_append_printf(s, "%ld", e->limit);
            p += 6;
        } else {
            g_string_append_c(s, *p);
        }
    }
    return g_string_free(s, FALSE);
}

/* Records the first error only; returns -1 for chaining. col < 0: no column. */
static int set_error(TabularReader *r, TabErrorCode code, int row, int col, long limit)
{
    if (r->err.code) return -1;
    r->err.code = code;
    r->err.row = row;
    r->err.limit = limit;
    if (col >= 0) col_letters(col, r->err.col);
    if (code == TAB_ERR_ENCODING) { /* about a line of the file, not a row */
        r->err.line = row;
        r->err.row = 0;
    }
    const char *id = tab_error_msgid(code);
    r->err.message = render(r->lim.lang ? i18n_get(r->lim.lang, id) : id, &r->err);
    return -1;
}

/* An .xlsx part beyond lim.max_entry; the message gives the limit in MB, rounded up. */
static int too_large(TabularReader *r)
{
    return set_error(r, TAB_ERR_TOO_LARGE, 0, -1, (long)((r->lim.max_entry + (1 << 20) - 1) >> 20));
}

/* --- input -------------------------------------------------------------------------------- */

static gssize src_read(Src *s, void *buf, size_t n)
{
    if (s->fd < 0) {
        size_t k = MIN(n, s->len - s->pos);
        memcpy(buf, s->mem + s->pos, k);
        s->pos += k;
        return (gssize)k;
    }
    for (;;) {
        ssize_t got = read(s->fd, buf, n);
        if (got < 0 && errno == EINTR) continue;
        return got;
    }
}

static int src_seek(Src *s, size_t off)
{
    if (s->fd < 0) {
        s->pos = MIN(off, s->len);
        return 0;
    }
    return lseek(s->fd, (off_t)off, SEEK_SET) < 0 ? -1 : 0;
}

/* Reads up to n bytes, short only at the end. */
static gssize src_read_full(Src *s, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        gssize k = src_read(s, (char *)buf + got, n - got);
        if (k < 0) return -1;
        if (k == 0) break;
        got += (size_t)k;
    }
    return (gssize)got;
}

/* --- the row being assembled -------------------------------------------------------------- */

static void row_reset(TabularReader *r)
{
    g_string_truncate(r->text, 0);
    for (int i = 0; i < r->ncols; i++)
        r->off[i] = -1;
    r->ncols = 0;
}

/* Appends UTF-8 text to s but keeps no more than 4 * (max + 1) bytes: enough to tell that a
 * text has more than max characters, never an unbounded buffer. */
static void append_bounded(GString *s, const char *t, size_t n, int max)
{
    size_t cap = 4 * ((size_t)max + 1);
    if (s->len >= cap) return;
    if (n > cap - s->len) {
        n = cap - s->len;
        while (n > 0 && (t[n] & 0xc0) == 0x80) /* cut before a continuation byte */
            n--;
    }
    g_string_append_len(s, t, (gssize)n);
}

/* A non-empty cell; empty ones are simply not set. The first value of a column wins. */
static int row_set(TabularReader *r, int col, const char *s, size_t len)
{
    if (len == 0) return 0;
    if (col >= r->lim.max_cols)
        return set_error(r, TAB_ERR_COLUMNS, r->cur_row, -1, r->lim.max_cols);
    if (g_utf8_strlen(s, (gssize)len) > r->lim.max_cell)
        return set_error(r, TAB_ERR_CELL, r->cur_row, col, r->lim.max_cell);
    if (r->off[col] >= 0) return 0;
    r->off[col] = (gssize)r->text->len;
    g_string_append_len(r->text, s, (gssize)len);
    g_string_append_c(r->text, '\0');
    if (col + 1 > r->ncols) r->ncols = col + 1;
    return 0;
}

static int row_finish(TabularReader *r)
{
    for (int i = 0; i < r->ncols; i++)
        r->cells[i] = r->off[i] >= 0 ? r->text->str + r->off[i] : "";
    return r->ncols;
}

/* --- CSV ---------------------------------------------------------------------------------- */

static int count_nl(const char *p, size_t n)
{
    int k = 0;
    for (size_t i = 0; i < n; i++)
        k += p[i] == '\n';
    return k;
}

/* Decodes more input into r->dec. Returns bytes appended (> 0), 0 at the end, -1 on error
 * (NUL byte, or a sequence invalid in the chosen encoding). */
static gssize decode_more(TabularReader *r)
{
    for (;;) {
        gssize n = src_read(&r->src, r->raw + r->rawlen, TAB_CHUNK - r->rawlen);
        if (n < 0) return set_error(r, TAB_ERR_IO, 0, -1, 0);
        if (n == 0) {
            if (r->rawlen) /* the file ends inside a character */
                return set_error(r, TAB_ERR_ENCODING, r->line, -1, 0);
            return 0;
        }
        if (memchr(r->raw + r->rawlen, '\0', (size_t)n))
            return set_error(r, TAB_ERR_BINARY, 0, -1, 0);
        size_t total = r->rawlen + (size_t)n, good;
        size_t before = r->dec->len;
        if (r->cd == (GIConv)-1) {
            const gchar *end;
            if (g_utf8_validate_len(r->raw, total, &end)) {
                good = total;
            } else {
                good = (size_t)(end - r->raw);
                size_t rest = total - good;
                if (rest >= 4 || g_utf8_get_char_validated(end, (gssize)rest) != (gunichar)-2)
                    return set_error(r, TAB_ERR_ENCODING, r->line + count_nl(r->raw, good), -1, 0);
            }
            g_string_append_len(r->dec, r->raw, (gssize)good);
        } else {
            gchar *in = r->raw;
            gsize inleft = total;
            char out[16384];
            while (inleft > 0) {
                gchar *o = out;
                gsize outleft = sizeof out;
                gsize rc = g_iconv(r->cd, &in, &inleft, &o, &outleft);
                g_string_append_len(r->dec, out, o - out);
                if (rc != (gsize)-1) continue;
                if (errno == E2BIG) continue;
                if (errno == EINVAL && inleft < 4) /* incomplete: wait for more */
                    break;
                return set_error(r, TAB_ERR_ENCODING,
                                 r->line + count_nl(r->raw, (size_t)(in - r->raw)), -1, 0);
            }
            good = (size_t)(in - r->raw);
        }
        r->line += count_nl(r->raw, good);
        memmove(r->raw, r->raw + good, total - good);
        r->rawlen = total - good;
        if (r->dec->len > before) return (gssize)(r->dec->len - before);
    }
}

/* Back to the first byte of text (after a BOM), decoder state cleared. */
static int csv_rewind(TabularReader *r, size_t start)
{
    if (src_seek(&r->src, start) < 0) return set_error(r, TAB_ERR_IO, 0, -1, 0);
    r->rawlen = 0;
    r->line = 1;
    g_string_truncate(r->dec, 0);
    r->decpos = 0;
    if (r->cd != (GIConv)-1) g_iconv(r->cd, NULL, NULL, NULL, NULL);
    return 0;
}

/* Decodes the whole file once, discarding the text: 1 valid, 0 not in this encoding, -1
 * another error (recorded). */
static int csv_check_encoding(TabularReader *r, size_t start)
{
    if (csv_rewind(r, start) < 0) return -1;
    for (;;) {
        gssize n = decode_more(r);
        g_string_truncate(r->dec, 0);
        if (n == 0) return 1;
        if (n < 0) {
            if (r->err.code != TAB_ERR_ENCODING) return -1;
            return 0;
        }
    }
}

/* The delimiter the first record uses most: ',' unless ';' or tab outnumber it. */
static char guess_delimiter(const char *s, size_t n)
{
    int comma = 0, semi = 0, tab = 0;
    bool quoted = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '"')
            quoted = !quoted;
        else if (quoted)
            continue;
        else if (c == '\n' || c == '\r')
            break;
        else if (c == ',')
            comma++;
        else if (c == ';')
            semi++;
        else if (c == '\t')
            tab++;
    }
    if (semi > comma && semi >= tab) return ';';
    if (tab > comma && tab > semi) return '\t';
    return ',';
}

static void csv_cb_field(void *s, size_t len, void *data)
{
    TabularReader *r = data;
    if (r->err.code) return;
    int col = r->csv_col++;
    r->row_has_fields = true;
    row_set(r, col, s, len);
}

static void csv_cb_row(int c, void *data)
{
    TabularReader *r = data;
    if (r->err.code) return;
    /* CSV_REPALL_NL reports every line end, so empty lines count as rows the way Excel shows
     * them; the LF of a CRLF is the same line end, not another row. */
    if (c == '\n' && !r->row_has_fields && r->last_term == '\r') {
        r->last_term = 0;
        return;
    }
    r->last_term = c;
    r->rec++;
    r->csv_col = 0;
    r->row_has_fields = false;
    if (row_finish(r) > 0) {
        r->row = r->cur_row;
        r->row_ready = true;
    } else {
        row_reset(r);
    }
    r->cur_row = r->rec + 1;
}

static int csv_open(TabularReader *r, size_t start)
{
    r->raw = g_malloc(TAB_CHUNK);
    r->dec = g_string_sized_new(TAB_CHUNK);
    r->encoding = "UTF-8";
    /* With a BOM the file must be UTF-8; without one, UTF-8 if the whole file is, else
     * GB18030 (what Chinese Excel writes as "CSV"). Checked before the first row is given
     * out, so an import never stops half-way on the encoding. */
    int ok = csv_check_encoding(r, start);
    if (ok < 0 || (!ok && start > 0)) return -1;
    if (!ok) {
        int bad_line = r->err.line;
        g_free(r->err.message);
        memset(&r->err, 0, sizeof r->err);
        r->cd = g_iconv_open("UTF-8", "GB18030");
        if (r->cd == (GIConv)-1) return set_error(r, TAB_ERR_IO, 0, -1, 0);
        ok = csv_check_encoding(r, 0);
        if (ok < 0) return -1;
        if (!ok) { /* report where UTF-8 failed: that is the line people look at */
            g_free(r->err.message);
            memset(&r->err, 0, sizeof r->err);
            return set_error(r, TAB_ERR_ENCODING, bad_line, -1, 0);
        }
        r->encoding = "GB18030";
    }
    if (csv_rewind(r, start) < 0) return -1;
    /* Enough text for the first record (or the whole file) to pick the delimiter. */
    while (r->dec->len < TAB_CHUNK && !memchr(r->dec->str, '\n', r->dec->len)) {
        gssize n = decode_more(r);
        if (n < 0) return -1;
        if (n == 0) break;
    }
    r->delim = guess_delimiter(r->dec->str, r->dec->len);
    if (csv_init(&r->csv, CSV_APPEND_NULL | CSV_REPALL_NL) != 0)
        return set_error(r, TAB_ERR_IO, 0, -1, 0);
    r->csv_ready = true;
    csv_set_delim(&r->csv, (unsigned char)r->delim);
    r->cur_row = 1;
    return 0;
}

static int csv_next(TabularReader *r)
{
    for (;;) {
        if (r->err.code) return -1;
        if (r->row_ready) {
            r->row_ready = false;
            return 1;
        }
        if (r->done) return 0;
        if (r->decpos == r->dec->len) {
            g_string_truncate(r->dec, 0);
            r->decpos = 0;
            gssize n = decode_more(r);
            if (n < 0) return -1;
            if (n == 0) {
                /* Still inside quotes at the end: libcsv 3 only reports this in its strict
                 * mode, which would also refuse the stray quotes (5" screen) people type;
                 * its state is public, 2 = FIELD_BEGUN. */
                if (r->csv.quoted && r->csv.pstate == 2)
                    return set_error(r, TAB_ERR_QUOTE, r->cur_row, -1, 0);
                if (csv_fini(&r->csv, csv_cb_field, csv_cb_row, r) != 0)
                    return set_error(r, TAB_ERR_IO, 0, -1, 0);
                r->done = true;
                continue;
            }
        }
        /* One slice ends right after a CR or LF: libcsv finishes at most one row per call. */
        const char *p = r->dec->str + r->decpos;
        size_t avail = MIN(r->dec->len - r->decpos, (size_t)TAB_CSV_SLICE), k = 0;
        while (k < avail && p[k] != '\r' && p[k] != '\n')
            k++;
        if (k < avail) k++;
        r->decpos += k;
        if (csv_parse(&r->csv, p, k, csv_cb_field, csv_cb_row, r) != k)
            return set_error(r, TAB_ERR_IO, 0, -1, 0);
        if (!r->err.code && r->csv.entry_pos > 4 * ((size_t)r->lim.max_cell + 1))
            set_error(r, TAB_ERR_CELL, r->cur_row, r->csv_col, r->lim.max_cell);
    }
}

/* --- xlsx: zip parts as XML streams ------------------------------------------------------- */

static int zin_read(void *ctx, char *buf, int len)
{
    ZipIn *z = ctx;
    zip_int64_t n = zip_fread(z->zf, buf, (zip_uint64_t)len);
    if (n < 0) return -1;
    z->total += (size_t)n;
    if (z->total > z->limit) { /* the directory lied about the size, or a bomb */
        z->over = true;
        return -1;
    }
    return (int)n;
}

static int zin_close(void *ctx)
{
    (void)ctx; /* the zip file is closed by xml_close */
    return 0;
}

static void xml_quiet(void *ctx, xmlErrorPtr e)
{
    (void)ctx;
    (void)e;
}

static void xml_close(Xml *x)
{
    if (!x) return;
    if (x->xr) xmlFreeTextReader(x->xr);
    if (x->in.zf) zip_fclose(x->in.zf);
    g_free(x);
}

/* The part name as an XML stream; NULL when it does not exist (*missing) or on error. */
static Xml *xml_open(TabularReader *r, const char *name, bool *missing)
{
    *missing = false;
    zip_int64_t idx = zip_name_locate(r->zip, name, ZIP_FL_NOCASE);
    if (idx < 0) {
        *missing = true;
        return NULL;
    }
    zip_stat_t st;
    if (zip_stat_index(r->zip, (zip_uint64_t)idx, 0, &st) != 0) {
        set_error(r, TAB_ERR_DAMAGED, 0, -1, 0);
        return NULL;
    }
    if ((st.valid & ZIP_STAT_SIZE) && st.size > r->lim.max_entry) {
        too_large(r);
        return NULL;
    }
    Xml *x = g_new0(Xml, 1);
    x->in.limit = r->lim.max_entry;
    x->in.zf = zip_fopen_index(r->zip, (zip_uint64_t)idx, 0);
    if (!x->in.zf) {
        xml_close(x);
        set_error(r, TAB_ERR_DAMAGED, 0, -1, 0);
        return NULL;
    }
    /* No network, no DTD loading, no entity substitution (and a DOCTYPE is refused). */
    x->xr = xmlReaderForIO(zin_read, zin_close, &x->in, NULL, NULL, XML_PARSE_NONET);
    if (!x->xr) {
        xml_close(x);
        set_error(r, TAB_ERR_DAMAGED, 0, -1, 0);
        return NULL;
    }
    xmlTextReaderSetStructuredErrorHandler(x->xr, xml_quiet, NULL);
    return x;
}

/* Next node: 1, 0 at the end, -1 on error (recorded). */
static int xml_step(TabularReader *r, Xml *x)
{
    int rc = xmlTextReaderRead(x->xr);
    if (rc == 1 && xmlTextReaderNodeType(x->xr) == XML_READER_TYPE_DOCUMENT_TYPE)
        rc = -1; /* OOXML has no DTD; one here is an attack or junk */
    if (rc < 0) {
        if (x->in.over) return too_large(r);
        return set_error(r, TAB_ERR_DAMAGED, 0, -1, 0);
    }
    return rc;
}

static bool is_elem(Xml *x, const char *local)
{
    return xmlTextReaderNodeType(x->xr) == XML_READER_TYPE_ELEMENT &&
           strcmp((const char *)xmlTextReaderConstLocalName(x->xr), local) == 0;
}

static bool is_end(Xml *x, const char *local)
{
    return xmlTextReaderNodeType(x->xr) == XML_READER_TYPE_END_ELEMENT &&
           strcmp((const char *)xmlTextReaderConstLocalName(x->xr), local) == 0;
}

static bool is_text(Xml *x)
{
    int t = xmlTextReaderNodeType(x->xr);
    return t == XML_READER_TYPE_TEXT || t == XML_READER_TYPE_CDATA ||
           t == XML_READER_TYPE_WHITESPACE || t == XML_READER_TYPE_SIGNIFICANT_WHITESPACE;
}

/* An attribute by local name, whatever its prefix (g_free it). */
static char *attr(Xml *x, const char *name)
{
    xmlChar *v = xmlTextReaderGetAttribute(x->xr, (const xmlChar *)name);
    char *out = v ? g_strdup((const char *)v) : NULL;
    xmlFree(v);
    return out;
}

/* The relationship id of a <sheet>: r:id in the transitional or strict namespace. */
static char *attr_rel_id(Xml *x)
{
    static const char *const ns[] = {
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
        "http://purl.oclc.org/ooxml/officeDocument/relationships",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(ns); i++) {
        xmlChar *v =
            xmlTextReaderGetAttributeNs(x->xr, (const xmlChar *)"id", (const xmlChar *)ns[i]);
        if (v) {
            char *out = g_strdup((const char *)v);
            xmlFree(v);
            return out;
        }
    }
    return NULL;
}

typedef struct Rel {
    char *id, *type, *target; /* target resolved to a part name */
} Rel;

static void rel_free(gpointer p)
{
    Rel *rel = p;
    g_free(rel->id);
    g_free(rel->type);
    g_free(rel->target);
    g_free(rel);
}

/* target relative to the directory of part (or absolute from the package root), with "."
 * and ".." resolved; no leading slash, as zip names go. */
static char *resolve_target(const char *part, const char *target)
{
    GPtrArray *segs = g_ptr_array_new();
    g_autofree char *base = NULL;
    if (target[0] != '/') {
        const char *slash = strrchr(part, '/');
        base = g_strndup(part, slash ? (size_t)(slash - part) : 0);
    }
    g_autofree char *joined =
        base && *base ? g_strconcat(base, "/", target, NULL) : g_strdup(target);
    gchar **parts = g_strsplit(joined, "/", -1);
    for (gchar **p = parts; *p; p++) {
        if (!**p || strcmp(*p, ".") == 0) continue;
        if (strcmp(*p, "..") == 0) {
            if (segs->len) g_ptr_array_remove_index(segs, segs->len - 1);
            continue;
        }
        g_ptr_array_add(segs, *p);
    }
    g_ptr_array_add(segs, NULL);
    char *out = g_strjoinv("/", (gchar **)segs->pdata);
    g_ptr_array_free(segs, TRUE);
    g_strfreev(parts);
    return out;
}

/* Relationships of part ("" for the package). An empty list when there are none; NULL on
 * error. */
static GPtrArray *read_rels(TabularReader *r, const char *part)
{
    const char *slash = strrchr(part, '/');
    g_autofree char *dir = g_strndup(part, slash ? (size_t)(slash - part + 1) : 0);
    g_autofree char *path = g_strconcat(dir, "_rels/", slash ? slash + 1 : part, ".rels", NULL);
    GPtrArray *rels = g_ptr_array_new_with_free_func(rel_free);
    bool missing;
    Xml *x = xml_open(r, path, &missing);
    if (!x) {
        if (missing) return rels;
        g_ptr_array_free(rels, TRUE);
        return NULL;
    }
    int rc;
    while ((rc = xml_step(r, x)) == 1) {
        if (!is_elem(x, "Relationship")) continue;
        g_autofree char *mode = attr(x, "TargetMode");
        if (mode && g_ascii_strcasecmp(mode, "External") == 0) continue;
        Rel *rel = g_new0(Rel, 1);
        rel->id = attr(x, "Id");
        rel->type = attr(x, "Type");
        g_autofree char *target = attr(x, "Target");
        if (!rel->id || !rel->type || !target) {
            rel_free(rel);
            continue;
        }
        rel->target = resolve_target(part, target);
        g_ptr_array_add(rels, rel);
    }
    xml_close(x);
    if (rc < 0) {
        g_ptr_array_free(rels, TRUE);
        return NULL;
    }
    return rels;
}

static const Rel *rel_by_type(GPtrArray *rels, const char *suffix)
{
    for (guint i = 0; i < rels->len; i++) {
        const Rel *rel = rels->pdata[i];
        if (g_str_has_suffix(rel->type, suffix)) return rel;
    }
    return NULL;
}

static const Rel *rel_by_id(GPtrArray *rels, const char *id)
{
    for (guint i = 0; i < rels->len; i++) {
        const Rel *rel = rels->pdata[i];
        if (strcmp(rel->id, id) == 0) return rel;
    }
    return NULL;
}

/* The first worksheet in tab order (the first visible one if any is), and the date system. */
static char *read_workbook(TabularReader *r, const char *part, GPtrArray *rels)
{
    bool missing;
    Xml *x = xml_open(r, part, &missing);
    if (!x) {
        if (missing) set_error(r, TAB_ERR_DAMAGED, 0, -1, 0);
        return NULL;
    }
    char *visible = NULL, *hidden = NULL;
    int rc;
    while (!visible && (rc = xml_step(r, x)) == 1) {
        if (is_elem(x, "workbookPr")) {
            g_autofree char *d = attr(x, "date1904");
            r->date1904 = d && (strcmp(d, "1") == 0 || strcmp(d, "true") == 0);
        } else if (is_elem(x, "sheet")) {
            g_autofree char *id = attr_rel_id(x);
            g_autofree char *state = attr(x, "state");
            const Rel *rel = id ? rel_by_id(rels, id) : NULL;
            if (!rel || !g_str_has_suffix(rel->type, "/worksheet"))
                continue; /* a chart sheet, or junk */
            if (state && strcmp(state, "visible") != 0) {
                if (!hidden) hidden = g_strdup(rel->target);
            } else {
                visible = g_strdup(rel->target);
            }
        }
    }
    xml_close(x);
    if (r->err.code) {
        g_free(visible);
        g_free(hidden);
        return NULL;
    }
    if (!visible && !hidden) set_error(r, TAB_ERR_NO_SHEET, 0, -1, 0);
    if (visible) {
        g_free(hidden);
        return visible;
    }
    return hidden;
}

/* A number format shows a date when it has a year or day, or months without hours or
 * seconds ("mm" next to "h" or "s" means minutes). Quoted text, escapes and [..] are not
 * format codes. */
static bool format_is_date(const char *f)
{
    bool date = false, month = false, time = false;
    for (const char *p = f; *p; p++) {
        char c = g_ascii_tolower(*p);
        if (c == '"') {
            p = strchr(p + 1, '"');
            if (!p) break;
        } else if (c == '\\' || c == '_' || c == '*') {
            if (!p[1]) break;
            p++;
        } else if (c == '[') { /* [Red], [$-804], [DBNum1]; but [h] [mm] [ss] are elapsed time */
            char in = g_ascii_tolower(p[1]);
            if (in == 'h' || in == 'm' || in == 's') time = true;
            p = strchr(p + 1, ']');
            if (!p) break;
        } else if (c == 'y' || c == 'd') {
            date = true;
        } else if (c == 'm') {
            month = true;
        } else if (c == 'h' || c == 's') {
            time = true;
        }
    }
    return date || (month && !time);
}

/* Built-in formats that show a date: 14-17 and 22 everywhere, and the East Asian ones
 * (27-31, 36, 50-54, 57, 58 in zh-CN: yyyy"年"m"月"d"日" and friends). Time-only formats
 * (18-21, 32-35, 45-47, 55, 56) stay numbers. */
static bool builtin_is_date(long id)
{
    return (id >= 14 && id <= 17) || id == 22 || (id >= 27 && id <= 31) || id == 36 ||
           (id >= 50 && id <= 54) || id == 57 || id == 58;
}

static long parse_long(const char *s, long dflt)
{
    guint64 v;
    if (!s || !g_ascii_string_to_unsigned(s, 10, 0, G_MAXINT, &v, NULL)) return dflt;
    return (long)v;
}

static int read_styles(TabularReader *r, const char *part)
{
    bool missing;
    Xml *x = xml_open(r, part, &missing);
    if (!x) return missing ? 0 : -1;
    GHashTable *custom = g_hash_table_new(g_direct_hash, g_direct_equal); /* id → 1 + is date */
    GArray *xfs = g_array_new(FALSE, FALSE, sizeof(long));
    bool in_fmts = false, in_xfs = false;
    int rc;
    while ((rc = xml_step(r, x)) == 1) {
        bool empty = xmlTextReaderIsEmptyElement(x->xr) == 1;
        if (is_elem(x, "numFmts")) {
            in_fmts = !empty;
        } else if (is_end(x, "numFmts")) {
            in_fmts = false;
        } else if (is_elem(x, "cellXfs")) {
            in_xfs = !empty;
        } else if (is_end(x, "cellXfs")) {
            in_xfs = false;
        } else if (in_fmts && is_elem(x, "numFmt")) {
            g_autofree char *id = attr(x, "numFmtId");
            g_autofree char *code = attr(x, "formatCode");
            long n = parse_long(id, -1);
            if (n >= 0 && code)
                g_hash_table_insert(custom, GINT_TO_POINTER(n),
                                    GINT_TO_POINTER(1 + format_is_date(code)));
        } else if (in_xfs && is_elem(x, "xf") && xfs->len < TAB_MAX_XF) {
            g_autofree char *id = attr(x, "numFmtId");
            long n = parse_long(id, 0);
            g_array_append_val(xfs, n);
        }
    }
    xml_close(x);
    if (rc == 0) {
        r->nxf = (int)xfs->len;
        r->xf_date = g_new0(guint8, xfs->len + 1);
        for (guint i = 0; i < xfs->len; i++) {
            long id = g_array_index(xfs, long, i);
            int c = GPOINTER_TO_INT(g_hash_table_lookup(custom, GINT_TO_POINTER(id)));
            r->xf_date[i] = c ? c == 2 : builtin_is_date(id);
        }
    }
    g_hash_table_destroy(custom);
    g_array_free(xfs, TRUE);
    return rc < 0 ? -1 : 0;
}

/* Shared strings: the text of each <si>, runs joined, phonetic guides (<rPh>) left out. */
static int read_shared_strings(TabularReader *r, const char *part)
{
    bool missing;
    Xml *x = xml_open(r, part, &missing);
    if (!x) return missing ? 0 : -1;
    r->sst = g_ptr_array_new();
    r->sst_chunk = g_string_chunk_new(65536);
    GString *s = g_string_new(NULL);
    bool in_si = false, in_t = false, in_rph = false;
    int rc;
    while ((rc = xml_step(r, x)) == 1) {
        int type = xmlTextReaderNodeType(x->xr);
        if (type == XML_READER_TYPE_ELEMENT) {
            const char *n = (const char *)xmlTextReaderConstLocalName(x->xr);
            bool empty = xmlTextReaderIsEmptyElement(x->xr) == 1;
            if (strcmp(n, "si") == 0) {
                g_string_truncate(s, 0);
                in_si = !empty;
                if (empty) g_ptr_array_add(r->sst, g_string_chunk_insert_len(r->sst_chunk, "", 0));
            } else if (in_si && strcmp(n, "rPh") == 0) {
                in_rph = !empty;
            } else if (in_si && strcmp(n, "t") == 0) {
                in_t = !empty && !in_rph;
            }
        } else if (type == XML_READER_TYPE_END_ELEMENT) {
            const char *n = (const char *)xmlTextReaderConstLocalName(x->xr);
            if (strcmp(n, "t") == 0) {
                in_t = false;
            } else if (strcmp(n, "rPh") == 0) {
                in_rph = false;
            } else if (strcmp(n, "si") == 0 && in_si) {
                if (r->sst->len >= TAB_MAX_SST) {
                    too_large(r);
                    rc = -1;
                    break;
                }
                g_ptr_array_add(r->sst,
                                g_string_chunk_insert_len(r->sst_chunk, s->str, (gssize)s->len));
                in_si = false;
            }
        } else if (in_t && is_text(x)) {
            const char *v = (const char *)xmlTextReaderConstValue(x->xr);
            append_bounded(s, v, strlen(v), r->lim.max_cell);
        }
    }
    g_string_free(s, TRUE);
    xml_close(x);
    return rc < 0 ? -1 : 0;
}

static int xlsx_open(TabularReader *r)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *zs = r->src.fd < 0 ? zip_source_buffer_create(r->src.mem, r->src.len, 0, &ze)
                                     : zip_source_file_create(r->src.path, 0, -1, &ze);
    if (zs) r->zip = zip_open_from_source(zs, ZIP_RDONLY, &ze);
    if (zs && !r->zip) zip_source_free(zs);
    zip_error_fini(&ze);
    if (!r->zip) return set_error(r, TAB_ERR_DAMAGED, 0, -1, 0);

    int rc = -1;
    char *sheet = NULL;
    GPtrArray *wrels = NULL, *prels = read_rels(r, "");
    if (!prels) goto out;
    const Rel *doc = rel_by_type(prels, "/officeDocument");
    const char *wb = doc ? doc->target : "xl/workbook.xml";
    wrels = read_rels(r, wb);
    if (!wrels) goto out;
    sheet = read_workbook(r, wb, wrels);
    if (!sheet) goto out;
    const Rel *styles = rel_by_type(wrels, "/styles");
    if (read_styles(r, styles ? styles->target : "xl/styles.xml") < 0) goto out;
    const Rel *sst = rel_by_type(wrels, "/sharedStrings");
    if (read_shared_strings(r, sst ? sst->target : "xl/sharedStrings.xml") < 0) goto out;
    bool missing;
    r->sheet = xml_open(r, sheet, &missing);
    if (!r->sheet) {
        if (missing) set_error(r, TAB_ERR_NO_SHEET, 0, -1, 0);
        goto out;
    }
    r->cell = g_string_new(NULL);
    r->encoding = "UTF-8";
    rc = 0;
out:
    g_free(sheet);
    if (prels) g_ptr_array_free(prels, TRUE);
    if (wrels) g_ptr_array_free(wrels, TRUE);
    return rc;
}

/* "C5" → 2; -1 when there are no column letters. */
static int cell_col(const char *ref)
{
    if (!ref) return -1;
    int col = 0, n = 0;
    for (; g_ascii_isalpha(ref[n]); n++) {
        if (n == 3) return -1;
        col = col * 26 + (g_ascii_toupper(ref[n]) - 'A' + 1);
    }
    if (n == 0 || col > TAB_XLSX_MAXCOL) return -1;
    return col - 1;
}

/* An Excel serial day number as written ("45321" or "45321.5") → "YYYY-MM-DD", by whole days
 * on a GDate (no floating point). False when it is no plain positive number or a day Excel
 * invented (1900-02-29, day 0). */
static bool serial_to_date(const char *s, bool d1904, char out[16])
{
    guint n = 0;
    int nd = 0;
    const char *p = s;
    for (; g_ascii_isdigit(*p); p++) {
        if (++nd > 7) return false;
        n = n * 10 + (guint)(*p - '0');
    }
    if (nd == 0) return false;
    if (*p == '.')
        for (p++; g_ascii_isdigit(*p); p++)
            ;
    if (*p || n > 2958465) /* 9999-12-31 */
        return false;
    GDate d;
    g_date_clear(&d, 1);
    if (d1904) {
        g_date_set_dmy(&d, 1, G_DATE_JANUARY, 1904);
    } else if (n == 0 || n == 60) {
        return false;
    } else if (n < 60) { /* before Excel's fictitious 1900-02-29 */
        g_date_set_dmy(&d, 31, G_DATE_DECEMBER, 1899);
    } else {
        g_date_set_dmy(&d, 30, G_DATE_DECEMBER, 1899);
    }
    g_date_add_days(&d, n);
    snprintf(out, 16, "%04d-%02d-%02d", (int)g_date_get_year(&d), (int)g_date_get_month(&d),
             (int)g_date_get_day(&d));
    return true;
}

static int xlsx_cell_done(TabularReader *r)
{
    const char *v = r->cell->str;
    size_t len = r->cell->len;
    char date[16];
    switch (r->ctype) {
    case 's': {
        g_autofree char *t = g_strstrip(g_strdup(v));
        guint64 idx;
        if (!*t) return 0;
        if (!r->sst ||
            !g_ascii_string_to_unsigned(t, 10, 0, r->sst->len ? r->sst->len - 1 : 0, &idx, NULL) ||
            idx >= r->sst->len)
            return set_error(r, TAB_ERR_DAMAGED, 0, -1, 0);
        v = r->sst->pdata[idx];
        len = strlen(v);
        break;
    }
    case 'b':
        if (strcmp(v, "1") == 0 || strcmp(v, "0") == 0) {
            v = v[0] == '1' ? "TRUE" : "FALSE";
            len = strlen(v);
        }
        break;
    case 'n':
        if (r->cstyle >= 0 && r->cstyle < r->nxf && r->xf_date[r->cstyle] &&
            serial_to_date(v, r->date1904, date)) {
            v = date;
            len = 10;
        }
        break;
    default:
        break;
    }
    return row_set(r, r->xcol, v, len);
}

static int xlsx_next(TabularReader *r)
{
    Xml *x = r->sheet;
    for (;;) {
        if (r->done) return 0;
        int rc = xml_step(r, x);
        if (rc <= 0) {
            r->done = true;
            return rc;
        }
        int type = xmlTextReaderNodeType(x->xr);
        if (type == XML_READER_TYPE_ELEMENT) {
            const char *n = (const char *)xmlTextReaderConstLocalName(x->xr);
            bool empty = xmlTextReaderIsEmptyElement(x->xr) == 1;
            if (strcmp(n, "row") == 0) {
                g_autofree char *rn = attr(x, "r");
                long num = parse_long(rn, 0);
                r->cur_row = num >= 1 && num <= TAB_XLSX_MAXROW ? (int)num : r->cur_row + 1;
                row_reset(r);
                r->xcol = -1;
                r->in_row = !empty;
                r->in_c = false;
            } else if (strcmp(n, "c") == 0 && r->in_row) {
                g_autofree char *ref = attr(x, "r");
                g_autofree char *t = attr(x, "t");
                g_autofree char *s = attr(x, "s");
                int col = cell_col(ref);
                r->xcol = col >= 0 ? col : r->xcol + 1;
                r->cstyle = (int)parse_long(s, -1);
                r->ctype = !t || strcmp(t, "n") == 0     ? 'n'
                           : strcmp(t, "s") == 0         ? 's'
                           : strcmp(t, "b") == 0         ? 'b'
                           : strcmp(t, "inlineStr") == 0 ? 'i'
                                                         : 'o';
                g_string_truncate(r->cell, 0);
                r->in_c = !empty;
                r->in_v = r->in_is = r->in_t = r->in_rph = false;
            } else if (r->in_c && !empty) {
                if (strcmp(n, "v") == 0 && r->ctype != 'i')
                    r->in_v = true;
                else if (strcmp(n, "is") == 0 && r->ctype == 'i')
                    r->in_is = true;
                else if (strcmp(n, "rPh") == 0)
                    r->in_rph = true;
                else if (strcmp(n, "t") == 0 && r->in_is && !r->in_rph)
                    r->in_t = true;
            }
        } else if (type == XML_READER_TYPE_END_ELEMENT) {
            const char *n = (const char *)xmlTextReaderConstLocalName(x->xr);
            if (strcmp(n, "v") == 0) {
                r->in_v = false;
            } else if (strcmp(n, "t") == 0) {
                r->in_t = false;
            } else if (strcmp(n, "rPh") == 0) {
                r->in_rph = false;
            } else if (strcmp(n, "is") == 0) {
                r->in_is = false;
            } else if (strcmp(n, "c") == 0 && r->in_c) {
                r->in_c = false;
                if (xlsx_cell_done(r) < 0) return -1;
            } else if (strcmp(n, "row") == 0 && r->in_row) {
                r->in_row = false;
                if (row_finish(r) > 0) {
                    r->row = r->cur_row;
                    return 1;
                }
            } else if (strcmp(n, "sheetData") == 0) {
                r->done = true;
                return 0;
            }
        } else if (r->in_c && (r->in_v || r->in_t) && is_text(x)) {
            const char *v = (const char *)xmlTextReaderConstValue(x->xr);
            append_bounded(r->cell, v, strlen(v), r->lim.max_cell);
        }
    }
}

/* --- the reader --------------------------------------------------------------------------- */

static TabularReader *tab_open_src(Src src, const TabLimits *lim, GError **err)
{
    static bool xml_ready;
    if (!xml_ready) {
        xmlInitParser();
        xml_ready = true;
    }
    TabularReader *r = g_new0(TabularReader, 1);
    r->src = src;
    r->cd = (GIConv)-1;
    if (lim) r->lim = *lim;
    if (r->lim.max_rows <= 0) r->lim.max_rows = TAB_DEF_ROWS;
    if (r->lim.max_cols <= 0) r->lim.max_cols = TAB_DEF_COLS;
    if (r->lim.max_cell <= 0) r->lim.max_cell = TAB_DEF_CELL;
    if (r->lim.max_entry == 0) r->lim.max_entry = TAB_DEF_ENTRY;
    r->text = g_string_new(NULL);
    r->off = g_new(gssize, (size_t)r->lim.max_cols);
    for (int i = 0; i < r->lim.max_cols; i++)
        r->off[i] = -1;
    r->cells = g_new0(const char *, (size_t)r->lim.max_cols);

    unsigned char head[4] = {0};
    gssize n = src_read_full(&r->src, head, sizeof head);
    int rc;
    r->xlsx = n == 4 && memcmp(head, "PK\x03\x04", 4) == 0;
    if (n < 0)
        rc = set_error(r, TAB_ERR_IO, 0, -1, 0);
    else if (r->xlsx)
        rc = xlsx_open(r);
    else if (n == 4 && memcmp(head, "\xd0\xcf\x11\xe0", 4) == 0)
        rc = set_error(r, TAB_ERR_XLS, 0, -1, 0);
    else if (n >= 2 && (memcmp(head, "\xff\xfe", 2) == 0 || memcmp(head, "\xfe\xff", 2) == 0))
        rc = set_error(r, TAB_ERR_UTF16, 0, -1, 0);
    else
        rc = csv_open(r, n >= 3 && memcmp(head, "\xef\xbb\xbf", 3) == 0 ? 3 : 0);
    if (rc < 0) {
        g_set_error_literal(err, TAB_ERROR, (int)r->err.code, r->err.message);
        tab_close(r);
        return NULL;
    }
    return r;
}

TabularReader *tab_open(const char *path, const TabLimits *lim, GError **err)
{
    Src src = {.fd = open(path, O_RDONLY | O_CLOEXEC)};
    if (src.fd < 0) {
        const char *id = tab_error_msgid(TAB_ERR_IO);
        g_set_error_literal(err, TAB_ERROR, TAB_ERR_IO,
                            lim && lim->lang ? i18n_get(lim->lang, id) : id);
        return NULL;
    }
    src.path = g_strdup(path);
    return tab_open_src(src, lim, err);
}

TabularReader *tab_open_mem(const void *data, size_t len, const TabLimits *lim, GError **err)
{
    Src src = {.fd = -1, .mem = data, .len = len};
    return tab_open_src(src, lim, err);
}

int tab_next(TabularReader *r, const char *const **cells, int *ncells)
{
    *cells = NULL;
    *ncells = 0;
    if (r->err.code) return -1;
    if (r->reset_pending) { /* the row returned last dies now, not before */
        row_reset(r);
        r->reset_pending = false;
    }
    int rc = r->xlsx ? xlsx_next(r) : csv_next(r);
    if (rc != 1) return rc;
    if (++r->returned > r->lim.max_rows)
        return set_error(r, TAB_ERR_ROWS, r->row, -1, r->lim.max_rows);
    *cells = r->cells;
    *ncells = r->ncols;
    r->reset_pending = !r->xlsx; /* xlsx resets at the next <row> */
    return 1;
}

int tab_row(const TabularReader *r)
{
    return r->row;
}

const char *tab_format(const TabularReader *r)
{
    return r->xlsx ? "xlsx" : "csv";
}

const char *tab_encoding(const TabularReader *r)
{
    return r->encoding ? r->encoding : "UTF-8";
}

char tab_delimiter(const TabularReader *r)
{
    return r->xlsx ? 0 : r->delim;
}

const char *tab_error(const TabularReader *r)
{
    return r->err.message ? r->err.message : "";
}

const TabError *tab_error_info(const TabularReader *r)
{
    return &r->err;
}

void tab_close(TabularReader *r)
{
    if (!r) return;
    xml_close(r->sheet);
    if (r->zip) zip_discard(r->zip);
    if (r->csv_ready) csv_free(&r->csv);
    if (r->cd != (GIConv)-1) g_iconv_close(r->cd);
    if (r->src.fd >= 0) close(r->src.fd);
    g_free(r->src.path);
    if (r->sst) g_ptr_array_free(r->sst, TRUE);
    if (r->sst_chunk) g_string_chunk_free(r->sst_chunk);
    g_free(r->xf_date);
    if (r->cell) g_string_free(r->cell, TRUE);
    if (r->dec) g_string_free(r->dec, TRUE);
    g_free(r->raw);
    g_string_free(r->text, TRUE);
    g_free(r->off);
    g_free(r->cells);
    g_free(r->err.message);
    g_free(r);
}
