/* upload.c — multipart/form-data as a state machine fed with byte chunks of any size: fields go
 * into a ParamList with the urlencoded limits, file parts stream to mkstemp files that the
 * request arena unlinks. Nothing grows with the body except the temp files themselves. */
#include "upload.h"
#include "config.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UPLOAD_HEADER_MAX 8192 /* one part's header block */
#define UPLOAD_PAD_MAX 256     /* transport padding (spaces) allowed after a boundary */
#define UPLOAD_WBUF 65536      /* file writes are batched: a body fed byte by byte stays cheap */

typedef enum {
    ST_PREAMBLE,  /* before the first boundary: ignored */
    ST_DELIM_END, /* just after "--boundary": "--" closes, CRLF opens a part */
    ST_DASH2,
    ST_PAD,
    ST_LF,
    ST_HEADERS,
    ST_BODY,
    ST_EPILOGUE, /* after the closing boundary: ignored */
    ST_ERROR,
} MpState;

typedef struct TempFile {
    char *path;
    int fd;
} TempFile;

struct MultipartParser {
    Arena *a;
    MpLimits lim;
    char *delim; /* "\r\n--" + boundary: a part ends where this appears */
    size_t dlen;
    MpState st;
    size_t match; /* bytes of delim matched so far (they are data if the match fails) */
    size_t fed;
    size_t pad;
    int err;
    const char *errmsg;

    char *hdr; /* header block of the current part, lim.header_max bytes */
    size_t hlen;
    int nparts;

    /* The current part. */
    bool is_file, skip;
    const char *name, *filename, *ctype;
    GString *value; /* non-file value, never beyond lim.value_max */
    TempFile *tf;
    char *wbuf;
    size_t wlen, fsize;

    MpResult res;
    int fields_cap, files_cap;
};

static int fail(MultipartParser *mp, int status, const char *msg)
{
    if (!mp->err) {
        mp->err = status;
        mp->errmsg = msg;
    }
    mp->st = ST_ERROR;
    if (mp->tf && mp->tf->fd >= 0) {
        close(mp->tf->fd);
        mp->tf->fd = -1;
    }
    return mp->err;
}

static void temp_cleanup(void *p)
{
    TempFile *t = p;
    if (t->fd >= 0) close(t->fd);
    unlink(t->path);
}

static void gstring_cleanup(void *p)
{
    g_string_free(p, TRUE);
}

bool upload_is_multipart(const char *ct)
{
    if (!ct) return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strlen("multipart/form-data");
    return g_ascii_strncasecmp(ct, "multipart/form-data", n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ' || ct[n] == '\t');
}

void mp_limits_from_cfg(MpLimits *lim, Arena *a)
{
    lim->body_max = cfg.body_max;
    lim->part_max = cfg.field_max;
    lim->value_max = cfg.value_max;
    lim->header_max = UPLOAD_HEADER_MAX;
    char *dir = arena_printf(a, "%s/tmp", cfg.var ? cfg.var : ".");
    if (g_mkdir_with_parents(dir, 0700) != 0)
        log_error("cannot create %s: %s", dir, g_strerror(errno));
    lim->tmpdir = dir;
}

/* --- header values ------------------------------------------------------------------------ */

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* The next "; name=value" parameter at *pp (value unquoted; inside quotes \" and \\ are
 * escapes, any other backslash is literal, as browsers send Windows paths unescaped).
 * Returns 1 with name and value in the arena, 0 at the end, -1 when malformed. Allocates no
 * more than the length of what it consumed. */
static int next_param(Arena *a, const char **pp, char **name, char **value)
{
    const char *p = *pp;
    while (is_ows(*p))
        p++;
    if (!*p) return 0;
    if (*p != ';') return -1;
    p++;
    while (is_ows(*p))
        p++;
    if (!*p) { /* a trailing ';' */
        *pp = p;
        return 0;
    }
    const char *ns = p;
    while (*p && *p != '=' && *p != ';' && !is_ows(*p))
        p++;
    if (p == ns) return -1;
    *name = arena_strndup(a, ns, (size_t)(p - ns));
    while (is_ows(*p))
        p++;
    if (*p != '=') return -1;
    p++;
    while (is_ows(*p))
        p++;
    if (*p == '"') {
        p++;
        size_t n = 0;
        const char *q = p;
        for (;; n++) {
            if (!*q) return -1; /* unterminated */
            if (*q == '"') break;
            q += (*q == '\\' && (q[1] == '"' || q[1] == '\\')) ? 2 : 1;
        }
        char *out = arena_alloc(a, n + 1);
        for (size_t k = 0; k < n; k++) {
            if (*p == '\\' && (p[1] == '"' || p[1] == '\\')) p++;
            out[k] = *p++;
        }
        p++; /* closing quote */
        *value = out;
    } else {
        const char *vs = p;
        while (*p && *p != ';')
            p++;
        const char *ve = p;
        while (ve > vs && is_ows(ve[-1]))
            ve--;
        *value = arena_strndup(a, vs, (size_t)(ve - vs));
    }
    *pp = p;
    return 1;
}

/* RFC 2046 bchars; a space may not end the boundary. */
static bool boundary_ok(const char *b)
{
    size_t n = strlen(b);
    if (n < 1 || n > UPLOAD_BOUNDARY_MAX || b[n - 1] == ' ') return false;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isalnum(b[i]) && !strchr("'()+_,-./:=? ", b[i])) return false;
    return true;
}

/* Characters a file name must not carry: controls, and the invisible ones that reorder or
 * hide text (bidi overrides turn "gpj.exe" into a harmless-looking name). */
static bool name_char_dropped(gunichar c)
{
    return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x200e || c == 0x200f ||
           (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0x2028 ||
           c == 0x2029 || c == 0xfeff;
}

/* The original file name as shown to people: last path component, UTF-8 (else NULL),
 * controls removed, trimmed, at most UPLOAD_FILENAME_MAX characters keeping a short
 * extension. Never used as a path. */
static char *clean_filename(Arena *a, const char *raw)
{
    const char *base = raw;
    for (const char *p = raw; *p; p++)
        if (*p == '/' || *p == '\\') base = p + 1;
    if (!g_utf8_validate(base, -1, NULL)) return NULL;
    GString *s = g_string_sized_new(strlen(base));
    for (const char *p = base; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        if (!name_char_dropped(c)) g_string_append_unichar(s, c);
    }
    /* Spaces around, and trailing dots (Windows drops them), carry no meaning. */
    size_t end = s->len;
    while (end > 0 && (s->str[end - 1] == ' ' || s->str[end - 1] == '.'))
        end--;
    g_string_truncate(s, end);
    size_t start = 0;
    while (start < s->len && s->str[start] == ' ')
        start++;
    g_string_erase(s, 0, (gssize)start);

    glong nchars = g_utf8_strlen(s->str, -1);
    if (nchars > UPLOAD_FILENAME_MAX) {
        const char *dot = strrchr(s->str, '.');
        glong ext = dot && dot != s->str ? g_utf8_strlen(dot, -1) : 0;
        if (ext > 16) ext = 0;
        const char *cut = g_utf8_offset_to_pointer(s->str, UPLOAD_FILENAME_MAX - ext);
        GString *t = g_string_new_len(s->str, cut - s->str);
        if (ext) g_string_append(t, dot);
        g_string_free(s, TRUE);
        s = t;
    }
    char *out = arena_strndup(a, s->str, s->len);
    g_string_free(s, TRUE);
    return out;
}

/* RFC 5987 ext-value "UTF-8''%E5%AE%A2.csv" → decoded, or NULL when not UTF-8 or malformed. */
static char *decode_ext_value(Arena *a, const char *v)
{
    const char *q1 = strchr(v, '\'');
    if (!q1 || (size_t)(q1 - v) != 5 || g_ascii_strncasecmp(v, "utf-8", 5) != 0) return NULL;
    const char *q2 = strchr(q1 + 1, '\'');
    if (!q2) return NULL;
    char *dec = g_uri_unescape_string(q2 + 1, NULL);
    if (!dec) return NULL;
    char *out = arena_strdup(a, dec);
    g_free(dec);
    return out;
}

/* --- parts -------------------------------------------------------------------------------- */

static void start_part(MultipartParser *mp)
{
    mp->hlen = 0;
    mp->is_file = mp->skip = false;
    mp->name = mp->filename = mp->ctype = NULL;
    mp->tf = NULL;
    mp->wlen = mp->fsize = 0;
    g_string_truncate(mp->value, 0);
}

static int open_temp(MultipartParser *mp)
{
    TempFile *t = arena_alloc(mp->a, sizeof *t);
    t->path = arena_printf(mp->a, "%s/upload-XXXXXX", mp->lim.tmpdir ? mp->lim.tmpdir : ".");
    t->fd = mkostemp(t->path, O_CLOEXEC); /* mode 0600 */
    if (t->fd < 0) {
        log_error("upload: cannot create a temp file in %s: %s", mp->lim.tmpdir, g_strerror(errno));
        return fail(mp, 500, "cannot create a temp file");
    }
    arena_defer(mp->a, temp_cleanup, t);
    mp->tf = t;
    if (!mp->wbuf) mp->wbuf = arena_alloc(mp->a, UPLOAD_WBUF);
    return 0;
}

/* Parses the complete header block in mp->hdr (ends with an empty line). */
static int part_headers(MultipartParser *mp)
{
    if (++mp->nparts > mp->lim.part_max) return fail(mp, 413, "too many parts");
    if (memchr(mp->hdr, '\0', mp->hlen)) return fail(mp, 400, "NUL in part headers");
    /* Lines end in CRLF; the final CRLF is the blank line. */
    char *block = arena_strndup(mp->a, mp->hdr, mp->hlen - 2);
    size_t blen = mp->hlen - 2;
    for (size_t i = 0; i + 2 < blen; i++) /* obsolete line folding → spaces */
        if (block[i] == '\r' && block[i + 1] == '\n' && is_ows(block[i + 2]))
            block[i] = block[i + 1] = ' ';
    const char *disp = NULL, *ctype = NULL;
    char *line = block;
    while (*line) {
        char *eol = strstr(line, "\r\n");
        if (!eol) /* cannot happen: the block ends in CRLF */
            return fail(mp, 400, "bad part header line");
        *eol = '\0';
        if (strpbrk(line, "\r\n")) return fail(mp, 400, "bare CR or LF in part headers");
        char *colon = strchr(line, ':');
        if (!colon || colon == line) return fail(mp, 400, "part header without a name");
        *colon = '\0';
        char *hname = g_strstrip(line);
        char *hval = g_strstrip(colon + 1);
        if (g_ascii_strcasecmp(hname, "Content-Disposition") == 0) {
            if (disp) return fail(mp, 400, "two Content-Disposition headers");
            disp = hval;
        } else if (g_ascii_strcasecmp(hname, "Content-Type") == 0) {
            ctype = hval;
        }
        line = eol + 2;
    }
    if (!disp) return fail(mp, 400, "part without Content-Disposition");

    if (g_ascii_strncasecmp(disp, "form-data", 9) != 0 ||
        (disp[9] && disp[9] != ';' && !is_ows(disp[9])))
        return fail(mp, 400, "part is not form-data");
    const char *p = disp + 9;
    char *name = NULL, *filename = NULL, *filename_ext = NULL;
    bool has_filename = false;
    for (;;) {
        char *pn, *pv;
        int rc = next_param(mp->a, &p, &pn, &pv);
        if (rc < 0) return fail(mp, 400, "malformed Content-Disposition");
        if (rc == 0) break;
        if (g_ascii_strcasecmp(pn, "name") == 0 && !name) {
            name = pv;
        } else if (g_ascii_strcasecmp(pn, "filename") == 0 && !filename) {
            filename = pv;
            has_filename = true;
        } else if (g_ascii_strcasecmp(pn, "filename*") == 0 && !filename_ext) {
            filename_ext = decode_ext_value(mp->a, pv);
            has_filename = true;
        }
    }
    if (!name) return fail(mp, 400, "part without a name");
    if (strlen(name) > UPLOAD_NAME_MAX) return fail(mp, 413, "field name too long");
    if (!g_utf8_validate(name, -1, NULL)) return fail(mp, 400, "field name not UTF-8");
    mp->name = name;
    mp->is_file = has_filename;
    if (!*name) { /* like urlencoded "=x": dropped */
        mp->skip = true;
        return 0;
    }
    if (!mp->is_file) return 0;

    const char *raw = filename_ext ? filename_ext : filename ? filename : "";
    mp->filename = clean_filename(mp->a, raw);
    if (!mp->filename) return fail(mp, 400, "file name not UTF-8");
    /* The declared type is only a hint; keep it when it looks like one. */
    mp->ctype = "application/octet-stream";
    if (ctype && *ctype && strlen(ctype) <= 255) {
        bool ok = true;
        for (const char *c = ctype; *c; c++)
            if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) ok = false;
        if (ok) mp->ctype = arena_strdup(mp->a, ctype);
    }
    return open_temp(mp);
}

static int flush_file(MultipartParser *mp)
{
    size_t off = 0;
    while (off < mp->wlen) {
        ssize_t w = write(mp->tf->fd, mp->wbuf + off, mp->wlen - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            log_error("upload: cannot write %s: %s", mp->tf->path, g_strerror(errno));
            return fail(mp, 500, "cannot write the temp file");
        }
        off += (size_t)w;
    }
    mp->wlen = 0;
    return 0;
}

/* Part content (or preamble, which is dropped). */
static int emit(MultipartParser *mp, const char *p, size_t n)
{
    if (mp->st == ST_PREAMBLE || mp->skip || n == 0) return 0;
    if (mp->is_file) {
        mp->fsize += n;
        while (n > 0) {
            size_t k = UPLOAD_WBUF - mp->wlen;
            if (k > n) k = n;
            memcpy(mp->wbuf + mp->wlen, p, k);
            mp->wlen += k;
            p += k;
            n -= k;
            if (mp->wlen == UPLOAD_WBUF && flush_file(mp)) return mp->err;
        }
        return 0;
    }
    if (n > mp->lim.value_max - mp->value->len) return fail(mp, 413, "field value too long");
    g_string_append_len(mp->value, p, (gssize)n);
    return 0;
}

static int end_part(MultipartParser *mp)
{
    if (mp->skip) return 0;
    Arena *a = mp->a;
    if (mp->is_file) {
        if (flush_file(mp)) return mp->err;
        close(mp->tf->fd);
        mp->tf->fd = -1;
        /* A file input left empty arrives as filename="" with no content. */
        if (!*mp->filename && mp->fsize == 0) return 0;
        UploadList *l = &mp->res.files;
        if (l->n == mp->files_cap) {
            mp->files_cap = mp->files_cap ? mp->files_cap * 2 : 4;
            UploadedFile *items = arena_alloc(a, sizeof *items * (size_t)mp->files_cap);
            if (l->n) memcpy(items, l->items, sizeof *items * (size_t)l->n);
            l->items = items;
        }
        l->items[l->n++] =
            (UploadedFile){mp->name, mp->filename, mp->ctype, mp->fsize, mp->tf->path};
        return 0;
    }
    GString *v = mp->value;
    if (memchr(v->str, '\0', v->len) || !g_utf8_validate(v->str, (gssize)v->len, NULL))
        return fail(mp, 400, "field value not UTF-8 text");
    ParamList *l = &mp->res.fields;
    if (l->n == mp->fields_cap) {
        mp->fields_cap = mp->fields_cap ? mp->fields_cap * 2 : 8;
        Param *items = arena_alloc(a, sizeof *items * (size_t)mp->fields_cap);
        if (l->n) memcpy(items, l->items, sizeof *items * (size_t)l->n);
        l->items = items;
    }
    l->items[l->n++] = (Param){mp->name, arena_strndup(a, v->str, v->len)};
    return 0;
}

/* --- the machine -------------------------------------------------------------------------- */

MultipartParser *mp_new(Arena *a, const char *content_type, const MpLimits *lim)
{
    if (!upload_is_multipart(content_type)) return NULL;
    const char *p = strchr(content_type, ';');
    const char *boundary = NULL;
    while (p) {
        char *pn, *pv;
        int rc = next_param(a, &p, &pn, &pv);
        if (rc < 0) return NULL;
        if (rc == 0) break;
        if (g_ascii_strcasecmp(pn, "boundary") == 0 && !boundary) boundary = pv;
    }
    if (!boundary || !boundary_ok(boundary)) return NULL;
    MultipartParser *mp = arena_alloc(a, sizeof *mp);
    mp->a = a;
    mp->lim = *lim;
    if (mp->lim.header_max < 4) mp->lim.header_max = UPLOAD_HEADER_MAX;
    mp->delim = arena_printf(a, "\r\n--%s", boundary);
    mp->dlen = strlen(mp->delim);
    mp->st = ST_PREAMBLE;
    mp->match = 2; /* the first boundary may open the body without a CRLF before it */
    mp->hdr = arena_alloc(a, mp->lim.header_max);
    mp->value = arena_defer(a, gstring_cleanup, g_string_new(NULL));
    return mp;
}

/* Preamble or part content: looks for the delimiter, passing everything else on. The
 * delimiter holds one CR (its first byte; boundaries cannot contain CR), so after a failed
 * partial match no suffix of the matched bytes can start a new match: they are data, and
 * only the current byte needs a second look. */
static size_t scan_body(MultipartParser *mp, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (mp->match == 0) {
            const char *cr = memchr(p + i, '\r', n - i);
            size_t run = cr ? (size_t)(cr - (p + i)) : n - i;
            if (emit(mp, p + i, run)) return i;
            i += run;
            if (!cr) break;
            mp->match = 1;
            i++;
            continue;
        }
        if (p[i] == mp->delim[mp->match]) {
            mp->match++;
            i++;
            if (mp->match == mp->dlen) {
                mp->match = 0;
                if (mp->st == ST_BODY && end_part(mp)) return i;
                mp->st = ST_DELIM_END;
                return i;
            }
        } else {
            size_t m = mp->match;
            mp->match = 0;
            if (emit(mp, mp->delim, m)) return i;
        }
    }
    return i;
}

static size_t scan_headers(MultipartParser *mp, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (mp->hlen == mp->lim.header_max) {
            fail(mp, 413, "part headers too long");
            return i;
        }
        char c = p[i++];
        char *h = mp->hdr;
        size_t k = mp->hlen++;
        h[k] = c;
        if (c == '\n' && k >= 1 && h[k - 1] == '\r' &&
            (k == 1 || (k >= 3 && h[k - 2] == '\n' && h[k - 3] == '\r'))) {
            if (part_headers(mp) == 0) {
                mp->st = ST_BODY;
                mp->match = 0;
            }
            return i;
        }
    }
    return i;
}

int mp_feed(MultipartParser *mp, const char *buf, size_t n)
{
    if (mp->err) return mp->err;
    if (n > mp->lim.body_max - mp->fed) return fail(mp, 413, "body too large");
    mp->fed += n;
    size_t i = 0;
    while (i < n && !mp->err) {
        char c;
        switch (mp->st) {
        case ST_PREAMBLE:
        case ST_BODY:
            i += scan_body(mp, buf + i, n - i);
            break;
        case ST_HEADERS:
            i += scan_headers(mp, buf + i, n - i);
            break;
        case ST_DELIM_END:
            c = buf[i++];
            if (c == '-')
                mp->st = ST_DASH2;
            else if (c == '\r')
                mp->st = ST_LF;
            else if (is_ows(c)) {
                mp->st = ST_PAD;
                mp->pad = 1;
            } else
                fail(mp, 400, "boundary followed by other text");
            break;
        case ST_DASH2:
            if (buf[i++] != '-')
                fail(mp, 400, "boundary followed by other text");
            else
                mp->st = ST_EPILOGUE;
            break;
        case ST_PAD:
            c = buf[i++];
            if (c == '\r')
                mp->st = ST_LF;
            else if (!is_ows(c) || ++mp->pad > UPLOAD_PAD_MAX)
                fail(mp, 400, "boundary followed by other text");
            break;
        case ST_LF:
            if (buf[i++] != '\n') {
                fail(mp, 400, "boundary line without LF");
            } else {
                start_part(mp);
                mp->st = ST_HEADERS;
            }
            break;
        case ST_EPILOGUE:
            i = n;
            break;
        case ST_ERROR:
            return mp->err;
        }
    }
    return mp->err;
}

int mp_finish(MultipartParser *mp)
{
    if (mp->err) return mp->err;
    if (mp->st != ST_EPILOGUE)
        return fail(mp, 400,
                    mp->st == ST_HEADERS ? "body ends inside part headers"
                                         : "body ends before the closing boundary");
    return 0;
}

const MpResult *mp_result(const MultipartParser *mp)
{
    return &mp->res;
}

const char *mp_error(const MultipartParser *mp)
{
    return mp->err ? mp->errmsg : NULL;
}

/* --- the request -------------------------------------------------------------------------- */

int upload_read_request(Request *req, size_t len)
{
    MpLimits lim;
    mp_limits_from_cfg(&lim, req->arena);
    MultipartParser *mp = mp_new(req->arena, req->content_type, &lim);
    if (!mp) {
        log_warn("request %s: multipart body without a usable boundary", req->id);
        return 400;
    }
    char buf[16384];
    size_t left = len;
    int rc = 0;
    while (left > 0 && rc == 0) {
        int want = left < sizeof buf ? (int)left : (int)sizeof buf;
        int got = FCGX_GetStr(buf, want, req->fcgx->in);
        if (got <= 0) {
            rc = 400;
            break;
        }
        rc = mp_feed(mp, buf, (size_t)got);
        left -= (size_t)got;
    }
    if (rc == 0) rc = mp_finish(mp);
    if (rc) {
        if (rc != 500)
            log_warn("request %s: upload refused (%d): %s", req->id, rc,
                     mp_error(mp) ? mp_error(mp) : "body shorter than Content-Length");
        return rc;
    }
    const MpResult *res = mp_result(mp);
    req->form = res->fields;
    req->files = res->files;
    return 0;
}

const UploadedFile *req_file(const Request *req, const char *field)
{
    for (int i = 0; i < req->files.n; i++)
        if (strcmp(req->files.items[i].field, field) == 0) return &req->files.items[i];
    return NULL;
}
