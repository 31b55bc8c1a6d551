/* fuzz_xlsx.c — libFuzzer target for the .xlsx reader. Input starting with "PK\3\4" is taken as
 * a zip as is (container damage); any other input is split on "\n#PART\n" into workbook.xml,
 * its .rels, sharedStrings.xml, styles.xml and the sheet, packed into a fresh zip, so the
 * mutations reach the XML handling instead of dying on a CRC. */
#include "tabular.h"

#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

static const char pkg_rels[] =
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
    "relationships/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>";

static const char *const part_names[] = {
    "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/sharedStrings.xml",
    "xl/styles.xml",   "xl/worksheets/sheet1.xml",
};

/* A stored (uncompressed) zip of the parts, in memory; g_free it. */
static unsigned char *pack(const uint8_t *data, size_t size, size_t *out_len)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *buf = zip_source_buffer_create(NULL, 0, 0, &ze);
    zip_source_keep(buf);
    zip_t *z = zip_open_from_source(buf, ZIP_TRUNCATE, &ze);
    unsigned char *out = NULL;
    if (!z) goto done;
    zip_source_t *s = zip_source_buffer(z, pkg_rels, sizeof pkg_rels - 1, 0);
    zip_file_add(z, "_rels/.rels", s, 0);
    const uint8_t *p = data, *end = data + size;
    for (size_t i = 0; i < G_N_ELEMENTS(part_names) && p <= end; i++) {
        const uint8_t *sep = memmem(p, (size_t)(end - p), "\n#PART\n", 7);
        const uint8_t *stop = sep ? sep : end;
        s = zip_source_buffer(z, p, (zip_uint64_t)(stop - p), 0);
        zip_int64_t idx = zip_file_add(z, part_names[i], s, 0);
        if (idx >= 0) zip_set_file_compression(z, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
        if (!sep) break;
        p = sep + 7;
    }
    if (zip_close(z) != 0) {
        zip_discard(z);
        goto done;
    }
    if (zip_source_open(buf) == 0) {
        zip_source_seek(buf, 0, SEEK_END);
        zip_int64_t n = zip_source_tell(buf);
        zip_source_seek(buf, 0, SEEK_SET);
        out = g_malloc((size_t)n + 1);
        *out_len = (size_t)zip_source_read(buf, out, (zip_uint64_t)n);
        zip_source_close(buf);
    }
done:
    zip_source_free(buf);
    zip_error_fini(&ze);
    return out;
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
    TabLimits lim = {.max_rows = 500, .max_cols = 30, .max_cell = 300, .max_entry = 256 << 10};
    unsigned char *zipped = NULL;
    size_t len = size;
    if (size < 4 || memcmp(data, "PK\x03\x04", 4) != 0) {
        zipped = pack(data, size, &len);
        if (!zipped) return 0;
        data = zipped;
    }
    GError *err = NULL;
    TabularReader *r = tab_open_mem(data, len, &lim, &err);
    if (!r) {
        if (!err || err->domain != TAB_ERROR || !*err->message) abort();
        g_error_free(err);
    } else {
        const char *const *cells;
        int n, rc, rows = 0;
        while ((rc = tab_next(r, &cells, &n)) == 1) {
            if (n < 1 || n > lim.max_cols || ++rows > lim.max_rows || !*cells[n - 1]) abort();
            for (int i = 0; i < n; i++)
                if (!g_utf8_validate(cells[i], -1, NULL) ||
                    g_utf8_strlen(cells[i], -1) > lim.max_cell)
                    abort();
        }
        if (rc < 0 && !*tab_error(r)) abort();
        tab_close(r);
    }
    g_free(zipped);
    return 0;
}
