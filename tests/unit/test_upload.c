/* test_upload.c — unit tests for multipart/form-data parsing: fields, streamed files, file name
 * cleaning, any chunking, limits (413), malformed bodies (400), temp file cleanup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "arena.h"
#include "config.h"
#include "request.h"
#include "upload.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CT "multipart/form-data; boundary=----kxB0undary7MA4YWxkTrZu0gW"
#define B "----kxB0undary7MA4YWxkTrZu0gW"

static char *tmpdir;

static int setup(void **state)
{
    (void)state;
    tmpdir = g_dir_make_tmp("kexin-upload-XXXXXX", NULL);
    assert_non_null(tmpdir);
    cfg.field_max = 10;
    cfg.value_max = 64;
    cfg.body_max = 1 << 20;
    cfg.var = tmpdir; /* upload_read_request writes to <var>/tmp */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    g_autofree char *sub = g_build_filename(tmpdir, "tmp", NULL);
    g_rmdir(sub);
    assert_int_equal(g_rmdir(tmpdir), 0); /* fails if a temp file was left behind */
    g_free(tmpdir);
    cfg.var = NULL;
    return 0;
}

static MpLimits limits(void)
{
    return (MpLimits){
        .body_max = 1 << 20, .part_max = 10, .value_max = 64, .header_max = 8192, .tmpdir = tmpdir};
}

static int files_in_tmpdir(void)
{
    GDir *d = g_dir_open(tmpdir, 0, NULL);
    int n = 0;
    for (const char *e; (e = g_dir_read_name(d));)
        n += g_str_has_prefix(e, "upload-");
    g_dir_close(d);
    return n;
}

/* Parses body fed in chunks of `chunk` bytes (0: at once); returns mp_feed/mp_finish's code. */
static int parse(Arena *a, const char *ct, const char *body, size_t len, size_t chunk,
                 const MpLimits *lim, const MpResult **res)
{
    MultipartParser *mp = mp_new(a, ct, lim);
    if (!mp) return -1;
    int rc = 0;
    if (chunk == 0) chunk = len ? len : 1;
    for (size_t i = 0; i < len && rc == 0; i += chunk)
        rc = mp_feed(mp, body + i, MIN(chunk, len - i));
    if (rc == 0) rc = mp_finish(mp);
    if (res) *res = mp_result(mp);
    return rc;
}

static char *read_file(const char *path, size_t *len)
{
    char *data;
    gsize n;
    assert_true(g_file_get_contents(path, &data, &n, NULL));
    *len = n;
    return data;
}

/* A body with two fields and one binary file whose bytes look like the delimiter's start. */
static const char filebytes[] = "\x00\x01\r\n--\r\n-" B "X\r\r\n\n\xff\x00end";
#define FILELEN (sizeof filebytes - 1)

static GString *sample_body(void)
{
    GString *b = g_string_new(NULL);
    g_string_append(b, "--" B "\r\n"
                       "Content-Disposition: form-data; name=\"title\"\r\n\r\n"
                       "客户 A\r\n"
                       "--" B "\r\n"
                       "Content-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n"
                       "Content-Type: application/octet-stream\r\n\r\n");
    g_string_append_len(b, filebytes, FILELEN);
    g_string_append(b, "\r\n--" B "\r\n"
                       "content-disposition: form-data; name=empty\r\n\r\n"
                       "\r\n--" B "--\r\n");
    return b;
}

static void check_sample(const MpResult *res)
{
    assert_int_equal(res->fields.n, 2);
    assert_string_equal(param_get(&res->fields, "title"), "客户 A");
    assert_string_equal(param_get(&res->fields, "empty"), "");
    assert_int_equal(res->files.n, 1);
    const UploadedFile *f = &res->files.items[0];
    assert_string_equal(f->field, "file");
    assert_string_equal(f->filename, "a.bin");
    assert_string_equal(f->content_type, "application/octet-stream");
    assert_int_equal(f->size, FILELEN);
    size_t n;
    g_autofree char *data = read_file(f->path, &n);
    assert_int_equal(n, FILELEN);
    assert_memory_equal(data, filebytes, FILELEN);
}

static void fields_go_into_the_form_like_urlencoded(void **state)
{
    (void)state;
    Arena *a = arena_new();
    MpLimits lim = limits();
    const MpResult *res;
    const char *body = "--" B "\r\n"
                       "Content-Disposition: form-data; name=\"name\"\r\n\r\n"
                       "客信贸易\r\n"
                       "--" B "\r\n"
                       "Content-Disposition: form-data; name=\"_csrf\"\r\n"
                       "Content-Type: text/plain; charset=UTF-8\r\n\r\n"
                       "tok\r\n"
                       "--" B "\r\n"
                       "Content-Disposition: form-data; name=\"multi\"\r\n\r\n"
                       "line1\r\nline2\r\n"
                       "--" B "--";
    assert_int_equal(parse(a, CT, body, strlen(body), 0, &lim, &res), 0);
    assert_int_equal(res->fields.n, 3);
    assert_string_equal(param_get(&res->fields, "name"), "客信贸易");
    assert_string_equal(param_get(&res->fields, "_csrf"), "tok");
    assert_string_equal(param_get(&res->fields, "multi"), "line1\r\nline2");
    assert_int_equal(res->files.n, 0);
    arena_free(a);
}

static void file_part_is_streamed_to_a_0600_temp_file_with_exact_bytes(void **state)
{
    (void)state;
    Arena *a = arena_new();
    MpLimits lim = limits();
    const MpResult *res;
    GString *b = sample_body();
    assert_int_equal(parse(a, CT, b->str, b->len, 0, &lim, &res), 0);
    check_sample(res);
    const UploadedFile *f = &res->files.items[0];
    assert_true(g_str_has_prefix(f->path, tmpdir));
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    g_string_free(b, TRUE);
    arena_free(a);
}

static void large_file_part_is_written_completely(void **state)
{
    (void)state;
    Arena *a = arena_new();
    MpLimits lim = limits();
    const MpResult *res;
    GString *b = g_string_new("--" B "\r\nContent-Disposition: form-data; name=f; "
                              "filename=big.csv\r\n\r\n");
    size_t start = b->len, size = 300000;
    for (size_t i = 0; i < size; i++)
        g_string_append_c(b, (char)(i * 7 % 251));
    g_string_append(b, "\r\n--" B "--\r\n");
    assert_int_equal(parse(a, CT, b->str, b->len, 4093, &lim, &res), 0);
    assert_int_equal(res->files.n, 1);
    assert_int_equal(res->files.items[0].size, size);
    size_t n;
    g_autofree char *data = read_file(res->files.items[0].path, &n);
    assert_int_equal(n, size);
    assert_memory_equal(data, b->str + start, size);
    g_string_free(b, TRUE);
    arena_free(a);
}

static const char *filename_of(Arena *a, const char *disposition_params)
{
    MpLimits lim = limits();
    const MpResult *res;
    char *body = arena_printf(a,
                              "--" B "\r\nContent-Disposition: form-data; name=\"f\"; %s\r\n\r\n"
                              "x\r\n--" B "--\r\n",
                              disposition_params);
    int rc = parse(a, CT, body, strlen(body), 0, &lim, &res);
    if (rc != 0) return NULL;
    assert_int_equal(res->files.n, 1);
    return res->files.items[0].filename;
}

static void filename_loses_directories(void **state)
{
    (void)state;
    Arena *a = arena_new();
    assert_string_equal(filename_of(a, "filename=\"../../etc/passwd\""), "passwd");
    assert_string_equal(filename_of(a, "filename=\"C:\\x\\a.csv\""), "a.csv");
    assert_string_equal(filename_of(a, "filename=\"C:\\\\x\\\\b.csv\""), "b.csv");
    assert_string_equal(filename_of(a, "filename=\"..\""), "");
    assert_string_equal(filename_of(a, "filename=\"dir/\""), "");
    arena_free(a);
}

static void filename_keeps_utf8_chinese(void **state)
{
    (void)state;
    Arena *a = arena_new();
    assert_string_equal(filename_of(a, "filename=\"客户导入.csv\""), "客户导入.csv");
    assert_string_equal(filename_of(a, "filename=\"a \\\"q\\\".csv\""), "a \"q\".csv");
    /* RFC 5987 form wins over the plain one. */
    assert_string_equal(filename_of(a, "filename=\"fallback.csv\"; "
                                       "filename*=UTF-8''%E5%AE%A2%E6%88%B7%E5%AF%BC%E5%85%A5.csv"),
                        "客户导入.csv");
    assert_string_equal(filename_of(a, "filename*=utf-8'zh'..%2F..%2Fx.csv"), "x.csv");
    assert_null(filename_of(a, "filename=\"\xc3\x28.csv\"")); /* not UTF-8: 400 */
    arena_free(a);
}

static void filename_drops_control_characters_and_is_capped(void **state)
{
    (void)state;
    Arena *a = arena_new();
    assert_string_equal(filename_of(a, "filename=\"a\tb\x01\x7f.csv\""), "ab.csv");
    assert_string_equal(filename_of(a, "filename=\"evil\xe2\x80\xaegpj.exe\""), "evilgpj.exe");
    assert_string_equal(filename_of(a, "filename=\"  spaced.csv. \""), "spaced.csv");
    GString *lng = g_string_new("filename=\"");
    for (int i = 0; i < 300; i++)
        g_string_append(lng, "客");
    g_string_append(lng, ".xlsx\"");
    const char *f = filename_of(a, lng->str);
    assert_int_equal(g_utf8_strlen(f, -1), UPLOAD_FILENAME_MAX);
    assert_true(g_str_has_suffix(f, "客.xlsx"));
    assert_true(g_utf8_validate(f, -1, NULL));
    g_string_free(lng, TRUE);
    arena_free(a);
}

static void any_chunking_gives_the_same_result(void **state)
{
    (void)state;
    MpLimits lim = limits();
    GString *b = sample_body();
    /* One byte at a time, and every split of the body into two pieces. */
    Arena *a = arena_new();
    const MpResult *res;
    assert_int_equal(parse(a, CT, b->str, b->len, 1, &lim, &res), 0);
    check_sample(res);
    arena_free(a);
    for (size_t cut = 1; cut < b->len; cut++) {
        a = arena_new();
        MultipartParser *mp = mp_new(a, CT, &lim);
        assert_int_equal(mp_feed(mp, b->str, cut), 0);
        assert_int_equal(mp_feed(mp, b->str + cut, b->len - cut), 0);
        assert_int_equal(mp_finish(mp), 0);
        check_sample(mp_result(mp));
        arena_free(a);
    }
    assert_int_equal(files_in_tmpdir(), 0);
    g_string_free(b, TRUE);
}

static void preamble_epilogue_and_padding_are_ignored(void **state)
{
    (void)state;
    Arena *a = arena_new();
    MpLimits lim = limits();
    const MpResult *res;
    const char *body = "This is the preamble.\r\n--" B "  \t\r\n"
                       "Content-Disposition: form-data; name=a\r\n\r\n"
                       "1\r\n--" B "--\r\nepilogue --" B "\r\n garbage";
    assert_int_equal(parse(a, CT, body, strlen(body), 0, &lim, &res), 0);
    assert_int_equal(res->fields.n, 1);
    assert_string_equal(param_get(&res->fields, "a"), "1");
    arena_free(a);
}

static void missing_final_boundary_is_400(void **state)
{
    (void)state;
    MpLimits lim = limits();
    const char *bodies[] = {
        "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n",
        "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--" B,
        "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--" B "\r\n",
        "--" B "\r\nContent-Disposition: form-data; name=f; filename=x\r\n\r\nabc",
        "--" B "\r\nContent-Disposition: form-data; name=a\r\n", /* headers never end */
        "",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bodies); i++) {
        Arena *a = arena_new();
        assert_int_equal(parse(a, CT, bodies[i], strlen(bodies[i]), 0, &lim, NULL), 400);
        arena_free(a);
    }
    assert_int_equal(files_in_tmpdir(), 0);
}

static void too_many_parts_is_413(void **state)
{
    (void)state;
    Arena *a = arena_new();
    MpLimits lim = limits();
    GString *b = g_string_new(NULL);
    for (int i = 0; i < 11; i++)
        g_string_append_printf(
            b, "--" B "\r\nContent-Disposition: form-data; name=f%d\r\n\r\nv\r\n", i);
    g_string_append(b, "--" B "--\r\n");
    assert_int_equal(parse(a, CT, b->str, b->len, 0, &lim, NULL), 413);
    g_string_free(b, TRUE);
    arena_free(a);
}

static void oversize_field_value_or_name_is_413(void **state)
{
    (void)state;
    MpLimits lim = limits();
    Arena *a = arena_new();
    char v[66];
    memset(v, 'x', 65);
    v[65] = '\0';
    char *body = arena_printf(a,
                              "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\n%s\r\n"
                              "--" B "--",
                              v);
    assert_int_equal(parse(a, CT, body, strlen(body), 7, &lim, NULL), 413);
    v[64] = '\0'; /* exactly the limit is fine */
    body = arena_printf(
        a, "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\n%s\r\n--" B "--", v);
    assert_int_equal(parse(a, CT, body, strlen(body), 7, &lim, NULL), 0);
    GString *name = g_string_new(NULL);
    for (int i = 0; i < 257; i++)
        g_string_append_c(name, 'n');
    body = arena_printf(
        a, "--" B "\r\nContent-Disposition: form-data; name=%s\r\n\r\nx\r\n--" B "--", name->str);
    assert_int_equal(parse(a, CT, body, strlen(body), 0, &lim, NULL), 413);
    g_string_free(name, TRUE);
    arena_free(a);
}

static void oversize_headers_or_body_is_413(void **state)
{
    (void)state;
    MpLimits lim = limits();
    lim.header_max = 128;
    Arena *a = arena_new();
    GString *b = g_string_new("--" B "\r\nContent-Disposition: form-data; name=a\r\nX-Pad: ");
    for (int i = 0; i < 200; i++)
        g_string_append_c(b, 'p');
    g_string_append(b, "\r\n\r\nv\r\n--" B "--");
    assert_int_equal(parse(a, CT, b->str, b->len, 0, &lim, NULL), 413);
    lim = limits();
    lim.body_max = 100;
    g_string_assign(b, "--" B "\r\nContent-Disposition: form-data; name=f; filename=x\r\n\r\n");
    for (int i = 0; i < 200; i++)
        g_string_append_c(b, 'z');
    g_string_append(b, "\r\n--" B "--");
    assert_int_equal(parse(a, CT, b->str, b->len, 10, &lim, NULL), 413);
    g_string_free(b, TRUE);
    arena_free(a);
    assert_int_equal(files_in_tmpdir(), 0);
}

static void garbage_is_400(void **state)
{
    (void)state;
    MpLimits lim = limits();
    const char *bodies[] = {
        "--" B "X\r\n",                                              /* boundary runs on */
        "--" B "\r\nno colon here\r\n\r\nv\r\n--" B "--",            /* header without ':' */
        "--" B "\r\nContent-Type: text/plain\r\n\r\nv\r\n--" B "--", /* no disposition */
        "--" B "\r\nContent-Disposition: attachment; name=a\r\n\r\nv\r\n--" B "--",
        "--" B "\r\nContent-Disposition: form-data; filename=x\r\n\r\nv\r\n--" B "--",
        "--" B "\r\nContent-Disposition: form-data; name=\"a\r\n\r\nv\r\n--" B "--",
        "--" B "\r\nContent-Disposition: form-data; name=a\nX: y\r\n\r\nv\r\n--" B "--",
        "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\n\xc3\x28\r\n--" B "--",
        "--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\nnul\0x\r\n--" B "--",
        "--" B "\r\nContent-Disposition: form-data; name=a\r\nContent-Disposition: "
        "form-data; name=b\r\n\r\nv\r\n--" B "--",
        "--" B "-x",
        "\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
    };
    /* Embedded NULs: the lengths are taken from the literals. */
    const size_t lens[] = {
        sizeof("--" B "X\r\n") - 1,
        sizeof("--" B "\r\nno colon here\r\n\r\nv\r\n--" B "--") - 1,
        sizeof("--" B "\r\nContent-Type: text/plain\r\n\r\nv\r\n--" B "--") - 1,
        sizeof("--" B "\r\nContent-Disposition: attachment; name=a\r\n\r\nv\r\n--" B "--") - 1,
        sizeof("--" B "\r\nContent-Disposition: form-data; filename=x\r\n\r\nv\r\n--" B "--") - 1,
        sizeof("--" B "\r\nContent-Disposition: form-data; name=\"a\r\n\r\nv\r\n--" B "--") - 1,
        sizeof("--" B "\r\nContent-Disposition: form-data; name=a\nX: y\r\n\r\nv\r\n--" B "--") - 1,
        sizeof("--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\n\xc3\x28\r\n--" B "--") -
            1,
        sizeof("--" B "\r\nContent-Disposition: form-data; name=a\r\n\r\nnul\0x\r\n--" B "--") - 1,
        sizeof("--" B "\r\nContent-Disposition: form-data; name=a\r\nContent-Disposition: "
               "form-data; name=b\r\n\r\nv\r\n--" B "--") -
            1,
        sizeof("--" B "-x") - 1,
        sizeof("\x89PNG\r\n\x1a\n\0\0\0\rIHDR") - 1,
    };
    G_STATIC_ASSERT(G_N_ELEMENTS(bodies) == G_N_ELEMENTS(lens));
    for (size_t i = 0; i < G_N_ELEMENTS(bodies); i++) {
        Arena *a = arena_new();
        assert_int_equal(parse(a, CT, bodies[i], lens[i], 0, &lim, NULL), 400);
        arena_free(a);
    }
}

static void bad_content_type_boundary_is_refused(void **state)
{
    (void)state;
    MpLimits lim = limits();
    Arena *a = arena_new();
    char b71[80];
    memset(b71, 'b', 71);
    b71[71] = '\0';
    const char *bad[] = {
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"\"",
        arena_printf(a, "multipart/form-data; boundary=%s", b71),
        "multipart/form-data; boundary=\"a\rb\"",
        "multipart/form-data; boundary=\"ab \"",
        "multipart/form-data; boundary=a{b}",
        "multipart/form-data; boundary=\"unterminated",
        "multipart/mixed; boundary=abc",
        "application/x-www-form-urlencoded",
        NULL,
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
        assert_null(mp_new(a, bad[i], &lim));
    b71[70] = '\0';
    assert_non_null(mp_new(a, arena_printf(a, "multipart/form-data; boundary=%s", b71), &lim));
    assert_non_null(mp_new(a, "Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b:c?'()\"", &lim));
    const MpResult *res;
    const char *body = "--a b:c?'()\r\nContent-Disposition: form-data; name=q\r\n\r\nok\r\n"
                       "--a b:c?'()--";
    assert_int_equal(
        parse(a, "multipart/form-data; boundary=\"a b:c?'()\"", body, strlen(body), 0, &lim, &res),
        0);
    assert_string_equal(param_get(&res->fields, "q"), "ok");
    arena_free(a);
}

static void empty_file_input_is_not_listed(void **state)
{
    (void)state;
    Arena *a = arena_new();
    MpLimits lim = limits();
    const MpResult *res;
    const char *body =
        "--" B "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"\"\r\n"
        "Content-Type: application/octet-stream\r\n\r\n\r\n"
        "--" B "\r\nContent-Disposition: form-data; name=\"g\"; filename=\"e.csv\"\r\n"
        "Content-Type: text/csv\r\n\r\n\r\n--" B "--";
    assert_int_equal(parse(a, CT, body, strlen(body), 0, &lim, &res), 0);
    assert_int_equal(res->files.n, 1);
    assert_string_equal(res->files.items[0].field, "g");
    assert_string_equal(res->files.items[0].content_type, "text/csv");
    assert_int_equal(res->files.items[0].size, 0);
    arena_free(a);
}

static void temp_files_are_removed_when_the_arena_is_freed(void **state)
{
    (void)state;
    MpLimits lim = limits();
    GString *b = sample_body();
    Arena *a = arena_new();
    const MpResult *res;
    assert_int_equal(parse(a, CT, b->str, b->len, 0, &lim, &res), 0);
    char *path = g_strdup(res->files.items[0].path);
    assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
    assert_int_equal(files_in_tmpdir(), 1);
    arena_free(a);
    assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    g_free(path);
    /* Also when parsing stops half-way through a file. */
    a = arena_new();
    MultipartParser *mp = mp_new(a, CT, &lim);
    const char *in_file = memmem(b->str, b->len, filebytes, FILELEN);
    assert_non_null(in_file);
    assert_int_equal(mp_feed(mp, b->str, (size_t)(in_file - b->str) + 5), 0);
    assert_int_equal(files_in_tmpdir(), 1);
    assert_int_equal(mp_finish(mp), 400);
    arena_free(a);
    assert_int_equal(files_in_tmpdir(), 0);
    g_string_free(b, TRUE);
}

/* --- through req_parse, with a FastCGI stream over memory ---------------------------------- */

static void fake_fill(FCGX_Stream *s)
{
    s->isClosed = 1; /* everything was in the first buffer */
}

static int run_req_parse_only(Arena *a, const char *ct, const char *body, size_t len,
                              const char *content_length, Request *req)
{
    static FCGX_Stream in;
    static FCGX_Request fx;
    static char *env[8];
    in = (FCGX_Stream){.rdNext = (unsigned char *)body,
                       .stop = (unsigned char *)body + len,
                       .stopUnget = (unsigned char *)body,
                       .isReader = 1,
                       .fillBuffProc = fake_fill};
    env[0] = "REQUEST_METHOD=POST";
    env[1] = "REQUEST_URI=/import";
    env[2] = arena_printf(a, "CONTENT_TYPE=%s", ct);
    env[3] = arena_printf(a, "CONTENT_LENGTH=%s", content_length);
    env[4] = "REMOTE_ADDR=127.0.0.1";
    env[5] = NULL;
    fx = (FCGX_Request){.in = &in, .envp = env};
    *req = (Request){.arena = a, .fcgx = &fx};
    return req_parse(req);
}

static int run_req_parse(Arena *a, const char *ct, const char *body, size_t len,
                         const char *content_length, Request *req)
{
    int rc = run_req_parse_only(a, ct, body, len, content_length, req);
    /* The front door reads a multipart body after its gates (session, ROUTE_UPLOAD): here at once. */
    return rc ? rc : req_read_multipart(req);
}

static void req_parse_streams_multipart_from_fastcgi(void **state)
{
    (void)state;
    GString *b = sample_body();
    Arena *a = arena_new();
    Request req;
    char *cl = arena_printf(a, "%zu", b->len);
    /* req_parse alone reads nothing of a multipart body: it waits for the front door's gates. */
    assert_int_equal(run_req_parse_only(a, CT, b->str, b->len, cl, &req), 0);
    assert_int_equal(req.multipart_len, b->len);
    assert_null(req_form(&req, "title"));
    assert_null(req_file(&req, "file"));
    arena_free(a);
    a = arena_new();
    cl = arena_printf(a, "%zu", b->len);
    assert_int_equal(run_req_parse(a, CT, b->str, b->len, cl, &req), 0);
    assert_string_equal(req_form(&req, "title"), "客户 A");
    const UploadedFile *f = req_file(&req, "file");
    assert_non_null(f);
    assert_int_equal(f->size, FILELEN);
    assert_null(req_file(&req, "title"));
    g_autofree char *dir = g_build_filename(tmpdir, "tmp", NULL);
    assert_true(g_str_has_prefix(f->path, dir));
    arena_free(a);

    /* Content-Length promising more than arrives. */
    a = arena_new();
    cl = arena_printf(a, "%zu", b->len + 10);
    assert_int_equal(run_req_parse(a, CT, b->str, b->len, cl, &req), 400);
    arena_free(a);
    /* No boundary. */
    a = arena_new();
    assert_int_equal(run_req_parse(a, "multipart/form-data", b->str, b->len, "10", &req), 400);
    arena_free(a);
    g_string_free(b, TRUE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fields_go_into_the_form_like_urlencoded),
        cmocka_unit_test(file_part_is_streamed_to_a_0600_temp_file_with_exact_bytes),
        cmocka_unit_test(large_file_part_is_written_completely),
        cmocka_unit_test(filename_loses_directories),
        cmocka_unit_test(filename_keeps_utf8_chinese),
        cmocka_unit_test(filename_drops_control_characters_and_is_capped),
        cmocka_unit_test(any_chunking_gives_the_same_result),
        cmocka_unit_test(preamble_epilogue_and_padding_are_ignored),
        cmocka_unit_test(missing_final_boundary_is_400),
        cmocka_unit_test(too_many_parts_is_413),
        cmocka_unit_test(oversize_field_value_or_name_is_413),
        cmocka_unit_test(oversize_headers_or_body_is_413),
        cmocka_unit_test(garbage_is_400),
        cmocka_unit_test(bad_content_type_boundary_is_refused),
        cmocka_unit_test(empty_file_input_is_not_listed),
        cmocka_unit_test(temp_files_are_removed_when_the_arena_is_freed),
        cmocka_unit_test(req_parse_streams_multipart_from_fastcgi),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
