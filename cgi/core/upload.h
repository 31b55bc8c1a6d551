/* upload.h — multipart/form-data (RFC 7578) bodies: a byte-chunk state machine that puts fields
 * into a ParamList and streams file parts to temp files owned by the request arena. */
#ifndef KEXIN_UPLOAD_H
#define KEXIN_UPLOAD_H

#include "arena.h"
#include "request.h"

#include <stdbool.h>
#include <stddef.h>

/* One file part of an upload (Request.files.items[i]). Everything lives in the request arena;
 * the temp file is unlinked when the arena is freed, so copy it elsewhere to keep it. */
typedef struct UploadedFile {
    const char *field;        /* form field name */
    const char *filename;     /* original name: UTF-8, no directories, no control
                               * characters, at most UPLOAD_FILENAME_MAX characters, may be "" */
    const char *content_type; /* as the browser declared it; "application/octet-stream" if none */
    size_t size;              /* bytes */
    const char *path;         /* temp file under <cfg.var>/tmp, mode 0600, closed */
} UploadedFile;

#define UPLOAD_FILENAME_MAX 200 /* characters */
#define UPLOAD_NAME_MAX 256     /* bytes of a field name, as for urlencoded fields */
#define UPLOAD_BOUNDARY_MAX 70  /* RFC 2046 */

typedef struct MpLimits {
    size_t body_max;    /* bytes fed in total (cfg.body_max) */
    int part_max;       /* parts, fields and files together (cfg.field_max) */
    size_t value_max;   /* bytes of one non-file value (cfg.value_max) */
    size_t header_max;  /* bytes of one part's header block, blank line included */
    const char *tmpdir; /* where file parts are written; must exist */
} MpLimits;

typedef struct MpResult {
    ParamList fields; /* non-file parts, in order, validated like urlencoded fields */
    UploadList files; /* file parts in order (a file input left empty is not listed) */
} MpResult;

typedef struct MultipartParser MultipartParser;

/* True if content_type names multipart/form-data (whatever its parameters). */
bool upload_is_multipart(const char *content_type);

/* Limits from cfg (8 KiB part headers) and tmpdir <cfg.var>/tmp, created 0700 if missing. */
void mp_limits_from_cfg(MpLimits *lim, Arena *a);

/* A parser for a body of type content_type, allocated in a; NULL when content_type is not
 * multipart/form-data with a boundary of 1..70 allowed characters (answer 400). Temp files
 * and buffers it creates are released when a is freed, whatever happens. */
MultipartParser *mp_new(Arena *a, const char *content_type, const MpLimits *lim);
/* Feeds the next n bytes of the body (any split). Returns 0, or the HTTP status to answer:
 * 400 malformed, 413 over a limit, 500 temp file I/O. Errors are sticky. */
int mp_feed(MultipartParser *mp, const char *buf, size_t n);
/* The body has ended: 0 if the closing boundary was seen, else 400 (or the earlier error). */
int mp_finish(MultipartParser *mp);
/* Fields and files parsed so far (complete parts only). */
const MpResult *mp_result(const MultipartParser *mp);
/* What went wrong, for the log (English, no input echoed); NULL while all is well. */
const char *mp_error(const MultipartParser *mp);

/* Reads a multipart body of len bytes from the request's FastCGI input through a parser with
 * mp_limits_from_cfg and stores the results in req->form and req->files. Returns 0 or the
 * status to answer (400, 413, 500). Called by req_parse. */
int upload_read_request(Request *req, size_t len);

/* The first uploaded file of a field, or NULL. */
const UploadedFile *req_file(const Request *req, const char *field);

#endif
