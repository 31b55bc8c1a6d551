/* fuzz_multipart.c — libFuzzer target for the multipart parser: any body, any chunking, any
 * Content-Type; the parser must answer 0/400/413 and what it accepts must be clean.
 * Input: [chunk size byte] ["multipart/..." Content-Type line "\n"] body. */
#include "arena.h"
#include "upload.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *tmpdir;

static void remove_tmpdir(void)
{
    if (tmpdir) g_rmdir(tmpdir); /* empty unless a temp file leaked, which then shows */
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    tmpdir = g_dir_make_tmp("kexin-fuzz-mp-XXXXXX", NULL);
    if (!tmpdir) abort();
    atexit(remove_tmpdir);
    return 0;
}

static void check_result(const MpResult *res)
{
    for (int i = 0; i < res->fields.n; i++) {
        const Param *p = &res->fields.items[i];
        if (!*p->name || !g_utf8_validate(p->name, -1, NULL) ||
            !g_utf8_validate(p->value, -1, NULL))
            abort();
    }
    for (int i = 0; i < res->files.n; i++) {
        const UploadedFile *f = &res->files.items[i];
        struct stat st;
        if (stat(f->path, &st) != 0 || (size_t)st.st_size != f->size || (st.st_mode & 0777) != 0600)
            abort();
        if (!g_utf8_validate(f->filename, -1, NULL) || strpbrk(f->filename, "/\\") ||
            g_utf8_strlen(f->filename, -1) > UPLOAD_FILENAME_MAX)
            abort();
        for (const char *c = f->filename; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t chunk = (size_t)data[0] + 1;
    data++;
    size--;
    char ct[256] = "multipart/form-data; boundary=XyZ";
    const uint8_t *nl = memchr(data, '\n', size < sizeof ct ? size : sizeof ct - 1);
    if (nl && size >= 10 && memcmp(data, "multipart/", 10) == 0) {
        memcpy(ct, data, (size_t)(nl - data));
        ct[nl - data] = '\0';
        size -= (size_t)(nl - data) + 1;
        data = nl + 1;
    }
    Arena *a = arena_new();
    MpLimits lim = {.body_max = 1 << 20,
                    .part_max = 16,
                    .value_max = 4096,
                    .header_max = 1024,
                    .tmpdir = tmpdir};
    MultipartParser *mp = mp_new(a, ct, &lim);
    if (mp) {
        int rc = 0;
        for (size_t i = 0; i < size && rc == 0; i += chunk)
            rc = mp_feed(mp, (const char *)data + i, size - i < chunk ? size - i : chunk);
        if (rc == 0) rc = mp_finish(mp);
        if (rc != 0 && rc != 400 && rc != 413) abort();
        if ((rc == 0) != (mp_error(mp) == NULL)) abort();
        check_result(mp_result(mp));
    }
    arena_free(a);
    return 0;
}
