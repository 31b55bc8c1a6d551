/* test_tabular.c — unit tests for the import readers: .xlsx written here with libxlsxwriter or
 * assembled part by part with libzip, CSV in UTF-8 (with and without BOM) and GB18030,
 * delimiters, quoting, limits, and broken or hostile files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tabular.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdbool.h>
#include <string.h>
#include <xlsxwriter.h>
#include <zip.h>

static char *tmpdir;

static int setup(void **state)
{
    (void)state;
    tmpdir = g_dir_make_tmp("kexin-tabular-XXXXXX", NULL);
    return tmpdir ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    GDir *d = g_dir_open(tmpdir, 0, NULL);
    for (const char *e; (e = g_dir_read_name(d));) {
        g_autofree char *p = g_build_filename(tmpdir, e, NULL);
        g_unlink(p);
    }
    g_dir_close(d);
    g_rmdir(tmpdir);
    g_free(tmpdir);
    return 0;
}

static char *path_of(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static char *write_bytes(const char *name, const void *data, size_t len)
{
    char *p = path_of(name);
    assert_true(g_file_set_contents(p, data, (gssize)len, NULL));
    return p;
}

/* The rows as "row:cell|cell" lines; a failure ends the text with "ERR <code> row col". */
static char *dump(TabularReader *r)
{
    GString *s = g_string_new(NULL);
    const char *const *cells;
    int n, rc;
    while ((rc = tab_next(r, &cells, &n)) == 1) {
        g_string_append_printf(s, "%d:", tab_row(r));
        for (int i = 0; i < n; i++) {
            assert_non_null(cells[i]);
            g_string_append_printf(s, "%s%s", i ? "|" : "", cells[i]);
        }
        g_string_append_c(s, '\n');
    }
    if (rc < 0) {
        const TabError *e = tab_error_info(r);
        assert_true(strlen(tab_error(r)) > 0);
        g_string_append_printf(s, "ERR %d %d %s", e->code, e->row, e->col);
    }
    return g_string_free(s, FALSE);
}

static char *read_path(const char *path, const TabLimits *lim)
{
    GError *err = NULL;
    TabularReader *r = tab_open(path, lim, &err);
    if (!r) {
        assert_non_null(err);
        assert_true(err->domain == TAB_ERROR);
        char *out = g_strdup_printf("OPEN %d", err->code);
        g_error_free(err);
        return out;
    }
    char *out = dump(r);
    tab_close(r);
    return out;
}

static char *read_csv(const char *text, size_t len, const TabLimits *lim)
{
    g_autofree char *p = write_bytes("t.csv", text, len);
    return read_path(p, lim);
}

#define CSV(s) read_csv((s), sizeof(s) - 1, NULL)

/* --- .xlsx fixtures ------------------------------------------------------------------------- */

/* A workbook as Excel users make them: Chinese text, numbers, dates in two kinds of date
 * format, gaps, an empty row, a rich string, a formula, and a second sheet to ignore. */
static char *make_workbook(const char *name, bool constant_memory)
{
    char *path = path_of(name);
    lxw_workbook_options opt = {.constant_memory = constant_memory, .tmpdir = tmpdir};
    lxw_workbook *wb = workbook_new_opt(path, &opt);
    assert_non_null(wb);
    lxw_worksheet *ws = workbook_add_worksheet(wb, "客户");
    lxw_worksheet *other = workbook_add_worksheet(wb, "Other");
    lxw_format *ymd = workbook_add_format(wb);
    format_set_num_format(ymd, "yyyy-mm-dd");
    lxw_format *builtin = workbook_add_format(wb);
    format_set_num_format_index(builtin, 14);
    lxw_format *hm = workbook_add_format(wb);
    format_set_num_format(hm, "h:mm");
    lxw_format *bold = workbook_add_format(wb);
    format_set_bold(bold);

    const char *head[] = {"名称", "数量", "单价", "日期", "备注"};
    for (int c = 0; c < 5; c++)
        worksheet_write_string(ws, 0, (lxw_col_t)c, head[c], NULL);
    worksheet_write_string(ws, 1, 0, "客信贸易有限公司", NULL);
    worksheet_write_number(ws, 1, 1, 12.5, NULL);
    worksheet_write_number(ws, 1, 2, 0.1, NULL);
    lxw_datetime d1 = {2024, 3, 5, 0, 0, 0};
    worksheet_write_datetime(ws, 1, 3, &d1, ymd);
    /* row 3 (index 2) left empty */
    worksheet_write_string(ws, 3, 0, "A", NULL);
    worksheet_write_number(ws, 3, 2, 100, NULL); /* B4 empty in the middle */
    lxw_datetime d2 = {2023, 12, 31, 0, 0, 0};
    worksheet_write_datetime(ws, 3, 3, &d2, builtin);
    worksheet_write_boolean(ws, 3, 4, 1, NULL);
    worksheet_write_number(ws, 3, 5, 0.75, hm); /* a time stays a number */
    worksheet_write_number(ws, 3, 6, -1234567.125, NULL);
    if (!constant_memory) {
        lxw_rich_string_tuple f1 = {.format = bold, .string = "富"};
        lxw_rich_string_tuple f2 = {.format = NULL, .string = "文本"};
        lxw_rich_string_tuple *rich[] = {&f1, &f2, NULL};
        worksheet_write_rich_string(ws, 3, 7, rich, NULL);
    } else {
        worksheet_write_string(ws, 3, 7, "富文本", NULL);
    }
    worksheet_write_formula_str(ws, 4, 0, "=A1", NULL, "名称");
    worksheet_write_string(ws, 4, 1, "  spaced  ", NULL);
    worksheet_write_blank(ws, 4, 6, bold); /* trailing styled blank: not a value */
    worksheet_write_string(other, 0, 0, "ignored", NULL);
    assert_int_equal(workbook_close(wb), LXW_NO_ERROR);
    return path;
}

static const char *const workbook_rows = "1:名称|数量|单价|日期|备注\n"
                                         "2:客信贸易有限公司|12.5|0.1|2024-03-05\n"
                                         "4:A||100|2023-12-31|TRUE|0.75|-1234567.125|富文本\n"
                                         "5:名称|  spaced  \n";

static char *zip_entry_text(const char *path, const char *name)
{
    zip_t *z = zip_open(path, ZIP_RDONLY, NULL);
    assert_non_null(z);
    zip_stat_t st;
    assert_int_equal(zip_stat(z, name, 0, &st), 0);
    zip_file_t *f = zip_fopen(z, name, 0);
    char *buf = g_malloc0(st.size + 1);
    assert_int_equal(zip_fread(f, buf, st.size), (zip_int64_t)st.size);
    zip_fclose(f);
    zip_discard(z);
    return buf;
}

/* A zip from name/content pairs (NULL-terminated). */
static char *write_zip(const char *name, const char *const *entries)
{
    char *path = path_of(name);
    int zerr;
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    assert_non_null(z);
    for (int i = 0; entries[i]; i += 2) {
        zip_source_t *src = zip_source_buffer(z, entries[i + 1], strlen(entries[i + 1]), 0);
        assert_non_null(src);
        assert_true(zip_file_add(z, entries[i], src, ZIP_FL_ENC_UTF_8) >= 0);
    }
    assert_int_equal(zip_close(z), 0);
    return path;
}

#define NS_MAIN "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#define NS_REL "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#define NS_PKG "http://schemas.openxmlformats.org/package/2006/relationships"
#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"

static const char pkg_rels[] =
    XML_DECL "<Relationships xmlns=\"" NS_PKG "\"><Relationship Id=\"rId1\" Type=\"" NS_REL
             "/officeDocument\" Target=\"xl/workbook.xml\"/></Relationships>";

static const char wb_rels[] = XML_DECL
    "<Relationships xmlns=\"" NS_PKG "\">"
    "<Relationship Id=\"rId1\" Type=\"" NS_REL "/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
    "<Relationship Id=\"rId7\" Type=\"" NS_REL "/worksheet\" Target=\"/xl/worksheets/data.xml\"/>"
    "<Relationship Id=\"rId3\" Type=\"" NS_REL "/sharedStrings\" Target=\"./sharedStrings.xml\"/>"
    "<Relationship Id=\"rId4\" Type=\"" NS_REL "/styles\" Target=\"../xl/styles.xml\"/>"
    "<Relationship Id=\"rId9\" Type=\"" NS_REL "/hyperlink\" Target=\"http://example.com/\" "
    "TargetMode=\"External\"/>"
    "</Relationships>";

static const char shared_strings[] =
    XML_DECL "<sst xmlns=\"" NS_MAIN "\" count=\"3\" uniqueCount=\"3\">"
             "<si><t>plain</t></si>"
             "<si><r><rPr><b/></rPr><t>富</t></r><r><t xml:space=\"preserve\"> text</t></r>"
             "<rPh sb=\"0\" eb=\"1\"><t>フ</t></rPh></si>"
             "<si><t/></si>"
             "</sst>";

static const char styles[] = XML_DECL
    "<styleSheet xmlns=\"" NS_MAIN "\">"
    "<numFmts count=\"2\"><numFmt numFmtId=\"164\" "
    "formatCode=\"yyyy&quot;年&quot;m&quot;月&quot;d&quot;日&quot;\"/>"
    "<numFmt numFmtId=\"165\" formatCode=\"[h]:mm\"/></numFmts>"
    "<cellStyleXfs count=\"1\"><xf numFmtId=\"14\"/></cellStyleXfs>"
    "<cellXfs count=\"5\"><xf numFmtId=\"0\"/><xf numFmtId=\"164\" applyNumberFormat=\"1\"/>"
    "<xf numFmtId=\"165\"/><xf numFmtId=\"14\"/><xf numFmtId=\"22\"/></cellXfs>"
    "<dxfs count=\"1\"><dxf><numFmt numFmtId=\"14\" formatCode=\"0.00\"/></dxf></dxfs>"
    "</styleSheet>";

static const char data_sheet[] = XML_DECL
    "<worksheet xmlns=\"" NS_MAIN "\"><sheetData>"
    "<row r=\"2\"><c r=\"A2\" t=\"s\"><v>1</v></c>"
    "<c r=\"C2\" t=\"inlineStr\"><is><r><t>in</t></r><r><t>line</t></r><rPh><t>x</t></rPh></is></c>"
    "<c r=\"D2\" s=\"1\"><v>45321</v></c><c r=\"E2\" s=\"2\"><v>0.5</v></c>"
    "<c r=\"F2\" s=\"3\"><v>45321.75</v></c><c r=\"G2\" t=\"b\"><v>1</v></c>"
    "<c r=\"H2\" t=\"e\"><v>#N/A</v></c><c r=\"I2\" t=\"str\"><f>A1</f><v>calc</v></c>"
    "<c r=\"J2\"><v>1.5E-3</v></c><c r=\"K2\" s=\"4\"><v>60</v></c><c r=\"L2\" t=\"s\"><v>2</v></c>"
    "</row>"
    "<row r=\"4\" spans=\"1:3\"><c r=\"A4\" t=\"s\"><v>0</v></c><c r=\"B4\"/><c r=\"C4\" "
    "s=\"1\"/></row>"
    "<row r=\"5\"/>"
    "<row><c><v>7</v></c><c><v>8</v></c></row>"
    "</sheetData></worksheet>";

static char *write_handmade(const char *name, const char *workbook_pr, const char *sheet)
{
    g_autofree char *wb = g_strdup_printf(
        XML_DECL "<workbook xmlns=\"" NS_MAIN "\" xmlns:r=\"" NS_REL "\">%s<sheets>"
                 "<sheet name=\"Data\" sheetId=\"2\" r:id=\"rId7\"/>"
                 "<sheet name=\"Other\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>",
        workbook_pr);
    const char *entries[] = {
        "_rels/.rels",
        pkg_rels,
        "xl/workbook.xml",
        wb,
        "xl/_rels/workbook.xml.rels",
        wb_rels,
        "xl/sharedStrings.xml",
        shared_strings,
        "xl/styles.xml",
        styles,
        "xl/worksheets/data.xml",
        sheet,
        "xl/worksheets/sheet1.xml",
        XML_DECL "<worksheet xmlns=\"" NS_MAIN "\"><sheetData>"
                 "<row r=\"1\"><c t=\"inlineStr\"><is><t>WRONG SHEET</t></is>"
                 "</c></row></sheetData></worksheet>",
        NULL,
    };
    return write_zip(name, entries);
}

/* --- .xlsx --------------------------------------------------------------------------------- */

static void xlsx_reads_text_numbers_dates_and_gaps_exactly(void **state)
{
    (void)state;
    g_autofree char *p = make_workbook("book.xlsx", false);
    GError *err = NULL;
    TabularReader *r = tab_open(p, NULL, &err);
    assert_non_null(r);
    assert_string_equal(tab_format(r), "xlsx");
    assert_string_equal(tab_encoding(r), "UTF-8");
    g_autofree char *rows = dump(r);
    assert_string_equal(rows, workbook_rows);
    tab_close(r);
}

static void xlsx_inline_strings_read_like_shared_ones(void **state)
{
    (void)state;
    g_autofree char *p = make_workbook("inline.xlsx", true);
    g_autofree char *xml = zip_entry_text(p, "xl/worksheets/sheet1.xml");
    assert_non_null(strstr(xml, "t=\"inlineStr\"")); /* the path under test */
    g_autofree char *rows = read_path(p, NULL);
    assert_string_equal(rows, workbook_rows);
}

static void xlsx_first_sheet_found_through_relationships(void **state)
{
    (void)state;
    g_autofree char *p = write_handmade("hand.xlsx", "", data_sheet);
    g_autofree char *rows = read_path(p, NULL);
    assert_string_equal(rows,
                        "2:富 text||inline|2024-01-30|0.5|2024-01-30|TRUE|#N/A|calc|1.5E-3|60\n"
                        "4:plain\n"
                        "6:7|8\n");
}

static void xlsx_1904_date_system_is_honoured(void **state)
{
    (void)state;
    g_autofree char *p = write_handmade("d1904.xlsx", "<workbookPr date1904=\"1\"/>", data_sheet);
    g_autofree char *rows = read_path(p, NULL);
    assert_non_null(strstr(rows, "|inline|2028-01-31|0.5|2028-01-31|"));
}

static void xlsx_hidden_first_sheet_gives_way_to_a_visible_one(void **state)
{
    (void)state;
    g_autofree char *wb = g_strdup(
        XML_DECL "<workbook xmlns=\"" NS_MAIN "\" xmlns:r=\"" NS_REL "\"><sheets>"
                 "<sheet name=\"Hidden\" sheetId=\"2\" state=\"hidden\" r:id=\"rId7\"/>"
                 "<sheet name=\"Shown\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>");
    const char *entries[] = {
        "_rels/.rels",
        pkg_rels,
        "xl/workbook.xml",
        wb,
        "xl/_rels/workbook.xml.rels",
        wb_rels,
        "xl/worksheets/data.xml",
        data_sheet,
        "xl/worksheets/sheet1.xml",
        XML_DECL "<worksheet xmlns=\"" NS_MAIN "\"><sheetData>"
                 "<row><c t=\"inlineStr\"><is><t>shown</t></is></c></row>"
                 "</sheetData></worksheet>",
        NULL,
    };
    g_autofree char *p = write_zip("hidden.xlsx", entries);
    g_autofree char *rows = read_path(p, NULL);
    assert_string_equal(rows, "1:shown\n");
}

static void xlsx_format_is_found_by_content_not_name(void **state)
{
    (void)state;
    g_autofree char *p = make_workbook("looks-like.csv", false);
    g_autofree char *rows = read_path(p, NULL);
    assert_string_equal(rows, workbook_rows);
    g_autofree char *q = write_bytes("looks-like.xlsx", "a,b\n", 4);
    GError *err = NULL;
    TabularReader *r = tab_open(q, NULL, &err);
    assert_non_null(r);
    assert_string_equal(tab_format(r), "csv");
    tab_close(r);
}

static void xlsx_truncated_or_corrupted_zip_is_a_clean_error(void **state)
{
    (void)state;
    g_autofree char *p = make_workbook("good.xlsx", false);
    gchar *data;
    gsize len;
    assert_true(g_file_get_contents(p, &data, &len, NULL));
    char open_damaged[16];
    snprintf(open_damaged, sizeof open_damaged, "OPEN %d", TAB_ERR_DAMAGED);
    for (gsize cut = 4; cut < len; cut += len / 7) {
        g_autofree char *q = write_bytes("cut.xlsx", data, cut);
        g_autofree char *rows = read_path(q, NULL);
        assert_string_equal(rows, open_damaged);
    }
    /* Damage the compressed sheet: the error comes from open or while reading, never a crash. */
    const char *name = "xl/worksheets/sheet1.xml";
    char *at = memmem(data, len, name, strlen(name));
    assert_non_null(at);
    for (int i = 0; i < 40; i++)
        at[strlen(name) + 8 + i] ^= 0x5a;
    g_autofree char *q = write_bytes("bad.xlsx", data, len);
    g_autofree char *rows = read_path(q, NULL);
    assert_true(g_str_has_prefix(rows, "OPEN ") || strstr(rows, "ERR ") != NULL);
    g_free(data);
    /* Memory reader, same verdicts. */
    GError *err = NULL;
    assert_null(tab_open_mem("PK\x03\x04garbage", 11, NULL, &err));
    assert_int_equal(err->code, TAB_ERR_DAMAGED);
    g_error_free(err);
}

/* A worksheet of about `bytes` bytes that deflates to almost nothing. */
static char *big_sheet(size_t bytes)
{
    GString *s = g_string_new(XML_DECL "<worksheet xmlns=\"" NS_MAIN "\"><sheetData>");
    while (s->len < bytes)
        g_string_append(
            s, "<row><c t=\"inlineStr\"><is><t>zzzzzzzzzzzzzzzzzzzzzzzz</t></is></c></row>");
    g_string_append(s, "</sheetData></worksheet>");
    return g_string_free(s, FALSE);
}

static void xlsx_oversized_entry_is_refused(void **state)
{
    (void)state;
    g_autofree char *sheet = big_sheet(3 << 20);
    g_autofree char *wb = g_strdup(XML_DECL "<workbook xmlns=\"" NS_MAIN "\" xmlns:r=\"" NS_REL
                                            "\"><sheets><sheet name=\"S\" sheetId=\"1\" "
                                            "r:id=\"rId7\"/></sheets></workbook>");
    const char *entries[] = {
        "_rels/.rels",
        pkg_rels,
        "xl/workbook.xml",
        wb,
        "xl/_rels/workbook.xml.rels",
        wb_rels,
        "xl/worksheets/data.xml",
        sheet,
        NULL,
    };
    g_autofree char *p = write_zip("bomb.xlsx", entries);
    TabLimits lim = {.max_entry = 1 << 20};
    GError *err = NULL;
    assert_null(tab_open(p, &lim, &err));
    assert_int_equal(err->code, TAB_ERR_TOO_LARGE);
    assert_non_null(strstr(err->message, "1 MB"));
    g_error_free(err);
    /* Within the limit it reads. */
    lim.max_entry = 4 << 20;
    TabularReader *r = tab_open(p, &lim, &err);
    assert_non_null(r);
    tab_close(r);
}

/* Same bomb, but the zip directory claims a small size: the count while reading stops it. */
static void xlsx_entry_lying_about_its_size_is_refused(void **state)
{
    (void)state;
    g_autofree char *sheet = big_sheet(3 << 20);
    g_autofree char *wb = g_strdup(XML_DECL "<workbook xmlns=\"" NS_MAIN "\" xmlns:r=\"" NS_REL
                                            "\"><sheets><sheet name=\"S\" sheetId=\"1\" "
                                            "r:id=\"rId7\"/></sheets></workbook>");
    const char *entries[] = {
        "_rels/.rels",
        pkg_rels,
        "xl/workbook.xml",
        wb,
        "xl/_rels/workbook.xml.rels",
        wb_rels,
        "xl/worksheets/data.xml",
        sheet,
        NULL,
    };
    g_autofree char *p = write_zip("liar.xlsx", entries);
    gchar *data;
    gsize len;
    assert_true(g_file_get_contents(p, &data, &len, NULL));
    /* Patch the uncompressed size (local header offset 22, central directory offset 24) of
     * every record naming the sheet. */
    const char *name = "xl/worksheets/data.xml";
    int patched = 0;
    for (gsize i = 0; i + 46 < len; i++) {
        uint32_t sig = (uint32_t)(guchar)data[i] | (uint32_t)(guchar)data[i + 1] << 8 |
                       (uint32_t)(guchar)data[i + 2] << 16 | (uint32_t)(guchar)data[i + 3] << 24;
        size_t name_at = sig == 0x04034b50 ? 30 : sig == 0x02014b50 ? 46 : 0;
        size_t size_at = sig == 0x04034b50 ? 22 : 24;
        if (!name_at || i + name_at + strlen(name) > len ||
            memcmp(data + i + name_at, name, strlen(name)) != 0)
            continue;
        const unsigned char small[4] = {0x00, 0x10, 0, 0}; /* 4096 */
        memcpy(data + i + size_at, small, 4);
        patched++;
    }
    assert_int_equal(patched, 2);
    g_autofree char *q = write_bytes("liar2.xlsx", data, len);
    g_free(data);
    TabLimits lim = {.max_entry = 1 << 20};
    g_autofree char *rows = read_path(q, &lim);
    /* libzip (1.7) believes the directory; the count while reading does not. */
    char too_large[32];
    snprintf(too_large, sizeof too_large, "ERR %d 0 ", TAB_ERR_TOO_LARGE);
    const char *tail = strrchr(rows, '\n') ? strrchr(rows, '\n') + 1 : rows;
    assert_string_equal(tail, too_large);
}

static void xlsx_doctype_and_external_entities_are_refused(void **state)
{
    (void)state;
    const char *sheet =
        XML_DECL "<!DOCTYPE worksheet [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                 "<worksheet xmlns=\"" NS_MAIN "\"><sheetData><row><c t=\"inlineStr\">"
                 "<is><t>&x;</t></is></c></row></sheetData></worksheet>";
    g_autofree char *p = write_handmade("xxe.xlsx", "", sheet);
    g_autofree char *rows = read_path(p, NULL);
    char want[32];
    snprintf(want, sizeof want, "ERR %d 0 ", TAB_ERR_DAMAGED);
    assert_string_equal(rows, want);
}

static void xlsx_without_worksheet_is_refused(void **state)
{
    (void)state;
    const char *entries[] = {
        "_rels/.rels",
        pkg_rels,
        "xl/workbook.xml",
        XML_DECL "<workbook xmlns=\"" NS_MAIN "\"><sheets/></workbook>",
        "xl/_rels/workbook.xml.rels",
        wb_rels,
        NULL,
    };
    g_autofree char *p = write_zip("nosheet.xlsx", entries);
    g_autofree char *rows = read_path(p, NULL);
    char want[16];
    snprintf(want, sizeof want, "OPEN %d", TAB_ERR_NO_SHEET);
    assert_string_equal(rows, want);
}

static void xlsx_row_column_and_cell_limits(void **state)
{
    (void)state;
    GString *s =
        g_string_new(XML_DECL "<worksheet xmlns=\"" NS_MAIN "\"><sheetData>"
                              "<row r=\"1\"><c r=\"C1\"><v>1</v></c><c r=\"XFD1\" s=\"1\"/></row>"
                              "<row r=\"2\"><c r=\"D2\"><v>2</v></c></row>"
                              "<row r=\"3\"><c r=\"B3\" t=\"inlineStr\"><is><t>");
    for (int i = 0; i < 40000; i++)
        g_string_append(s, "长");
    g_string_append(
        s, "</t></is></c></row><row r=\"9\"><c><v>9</v></c></row></sheetData></worksheet>");
    g_autofree char *p = write_handmade("limits.xlsx", "", s->str);
    g_string_free(s, TRUE);

    TabLimits lim = {.max_cols = 3};
    g_autofree char *a = read_path(p, &lim);
    assert_string_equal(a, "1:||1\nERR 10 2 "); /* D2 is the 4th column */
    lim = (TabLimits){.max_cell = 32767};
    g_autofree char *b = read_path(p, &lim);
    assert_string_equal(b, "1:||1\n2:|||2\nERR 11 3 B");
    lim = (TabLimits){.max_rows = 1};
    g_autofree char *c = read_path(p, &lim);
    assert_string_equal(c, "1:||1\nERR 9 2 ");
    lim = (TabLimits){.max_cell = 40000};
    g_autofree char *d = read_path(p, &lim);
    assert_true(g_str_has_suffix(d, "长\n9:9\n"));
}

static void xlsx_long_shared_string_hits_the_cell_limit_where_used(void **state)
{
    (void)state;
    GString *sst = g_string_new(XML_DECL "<sst xmlns=\"" NS_MAIN "\"><si><t>ok</t></si><si><t>");
    for (int i = 0; i < 5000; i++)
        g_string_append(sst, "abcdefghij");
    g_string_append(sst, "</t></si></sst>");
    const char *sheet =
        XML_DECL "<worksheet xmlns=\"" NS_MAIN "\"><sheetData>"
                 "<row r=\"3\"><c r=\"A3\" t=\"s\"><v>0</v></c><c r=\"E3\" t=\"s\"><v>1</v></c>"
                 "</row></sheetData></worksheet>";
    g_autofree char *wb = g_strdup(XML_DECL "<workbook xmlns=\"" NS_MAIN "\" xmlns:r=\"" NS_REL
                                            "\"><sheets><sheet name=\"S\" sheetId=\"1\" "
                                            "r:id=\"rId7\"/></sheets></workbook>");
    const char *entries[] = {
        "_rels/.rels",
        pkg_rels,
        "xl/workbook.xml",
        wb,
        "xl/_rels/workbook.xml.rels",
        wb_rels,
        "xl/worksheets/data.xml",
        sheet,
        "xl/sharedStrings.xml",
        sst->str,
        NULL,
    };
    g_autofree char *p = write_zip("longsst.xlsx", entries);
    g_string_free(sst, TRUE);
    TabLimits lim = {.max_cell = 1000};
    g_autofree char *rows = read_path(p, &lim);
    assert_string_equal(rows, "ERR 11 3 E");
}

/* --- CSV ---------------------------------------------------------------------------------- */

static void csv_utf8_without_bom(void **state)
{
    (void)state;
    const char text[] = "名称,电话,备注\n客信贸易,010-12345678,\n";
    g_autofree char *p = write_bytes("u.csv", text, sizeof text - 1);
    GError *err = NULL;
    TabularReader *r = tab_open(p, NULL, &err);
    assert_non_null(r);
    assert_string_equal(tab_format(r), "csv");
    assert_string_equal(tab_encoding(r), "UTF-8");
    assert_int_equal(tab_delimiter(r), ',');
    g_autofree char *rows = dump(r);
    assert_string_equal(rows, "1:名称|电话|备注\n2:客信贸易|010-12345678\n");
    tab_close(r);
}

static void csv_utf8_bom_is_skipped(void **state)
{
    (void)state;
    g_autofree char *rows = CSV("\xef\xbb\xbf名称,电话\r\n客信,1\r\n");
    assert_string_equal(rows, "1:名称|电话\n2:客信|1\n");
}

static void csv_gb18030_is_converted(void **state)
{
    (void)state;
    const char *utf8 = "名称,地址\r\n客信贸易有限公司,\"北京,朝阳区\"\r\n𠀀字,€\r\n";
    gsize len;
    g_autofree char *gb = g_convert(utf8, -1, "GB18030", "UTF-8", NULL, &len, NULL);
    assert_non_null(gb);
    assert_false(g_utf8_validate(gb, (gssize)len, NULL));
    g_autofree char *p = write_bytes("gb.csv", gb, len);
    GError *err = NULL;
    TabularReader *r = tab_open(p, NULL, &err);
    assert_non_null(r);
    assert_string_equal(tab_encoding(r), "GB18030");
    g_autofree char *rows = dump(r);
    assert_string_equal(rows, "1:名称|地址\n2:客信贸易有限公司|北京,朝阳区\n3:𠀀字|€\n");
    tab_close(r);
}

static void csv_gb18030_split_across_reads_converts_whole(void **state)
{
    (void)state;
    /* Long enough that the 64 KiB read boundary falls inside two-byte characters. */
    GString *u = g_string_new("列\n");
    for (int i = 0; i < 30000; i++)
        g_string_append(u, i % 2 ? "客户\n" : "信息\n");
    gsize len;
    g_autofree char *gb = g_convert(u->str, (gssize)u->len, "GB18030", "UTF-8", NULL, &len, NULL);
    g_string_free(u, TRUE);
    g_autofree char *p = write_bytes("gbbig.csv", gb, len);
    GError *err = NULL;
    TabularReader *r = tab_open(p, NULL, &err);
    assert_non_null(r);
    const char *const *cells;
    int n, rows = 0;
    while (tab_next(r, &cells, &n) == 1) {
        assert_int_equal(n, 1);
        if (rows > 0) assert_string_equal(cells[0], rows % 2 ? "信息" : "客户");
        rows++;
    }
    assert_int_equal(rows, 30001);
    assert_int_equal(tab_row(r), 30001);
    tab_close(r);
}

static void csv_quoted_fields_keep_commas_quotes_and_newlines(void **state)
{
    (void)state;
    g_autofree char *rows =
        CSV("a,\"b,c\",\"line1\nline2\"\n\"x\"\"y\",z\n\n  spaced , \"  kept  \"\nlast");
    assert_string_equal(rows, "1:a|b,c|line1\nline2\n2:x\"y|z\n4:spaced|  kept  \n5:last\n");
    g_autofree char *stray = CSV("5\" screen,x\n"); /* a quote inside a field is text */
    assert_string_equal(stray, "1:5\" screen|x\n");
}

static void csv_semicolon_and_tab_delimiters_are_detected(void **state)
{
    (void)state;
    const char semi[] = "名称;金额;备注\n客信;2,50;\"x;y\"\n";
    g_autofree char *p = write_bytes("semi.csv", semi, sizeof semi - 1);
    GError *err = NULL;
    TabularReader *r = tab_open(p, NULL, &err);
    assert_int_equal(tab_delimiter(r), ';');
    g_autofree char *rows = dump(r);
    assert_string_equal(rows, "1:名称|金额|备注\n2:客信|2,50|x;y\n");
    tab_close(r);
    g_autofree char *tabs = CSV("a\tb\t\tc\n1\t2,5\t\t3\n");
    assert_string_equal(tabs, "1:a|b||c\n2:1|2,5||3\n");
    g_autofree char *commas = CSV("a,b;c\n");
    assert_string_equal(commas, "1:a|b;c\n");
}

static void csv_empty_rows_are_skipped_with_original_numbers(void **state)
{
    (void)state;
    g_autofree char *crlf = CSV("\r\nh1,h2\r\n\r\n,,\r\n  \r\nv1,,v3,,\r\n");
    assert_string_equal(crlf, "2:h1|h2\n6:v1||v3\n");
    g_autofree char *lf = CSV("\n\nh\n\nv\n");
    assert_string_equal(lf, "3:h\n5:v\n");
    g_autofree char *cr = CSV("h\rv\r");
    assert_string_equal(cr, "1:h\n2:v\n");
    g_autofree char *empty = CSV("");
    assert_string_equal(empty, "");
}

static void csv_text_in_neither_encoding_is_refused(void **state)
{
    (void)state;
    char want[16];
    snprintf(want, sizeof want, "OPEN %d", TAB_ERR_ENCODING);
    g_autofree char *bad = CSV("ok,1\nfine,2\n\x80\xff,3\n");
    assert_string_equal(bad, want);
    GError *err = NULL;
    const char text[] = "ok\nfine\n\x80\xff\n";
    assert_null(tab_open_mem(text, sizeof text - 1, NULL, &err));
    assert_int_equal(err->code, TAB_ERR_ENCODING);
    assert_non_null(strstr(err->message, "Line 3 "));
    g_error_free(err);
    /* A BOM promises UTF-8: no second guess. */
    g_autofree char *bom = CSV("\xef\xbb\xbfok\n\xb0\xa1\n");
    assert_string_equal(bom, want);
    /* A file ending inside a GB18030 character. */
    g_autofree char *cut = CSV("a,\xb0");
    assert_string_equal(cut, want);
}

static void csv_binary_utf16_and_xls_files_are_refused(void **state)
{
    (void)state;
    char want[16];
    snprintf(want, sizeof want, "OPEN %d", TAB_ERR_BINARY);
    g_autofree char *nul = CSV("a,b\n\0\0\0c\n");
    assert_string_equal(nul, want);
    snprintf(want, sizeof want, "OPEN %d", TAB_ERR_UTF16);
    g_autofree char *u16 = CSV("\xff\xfe"
                               "a\0,\0b\0");
    assert_string_equal(u16, want);
    snprintf(want, sizeof want, "OPEN %d", TAB_ERR_XLS);
    g_autofree char *xls = CSV("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1");
    assert_string_equal(xls, want);
    GError *err = NULL;
    assert_null(tab_open("/nonexistent/kexin.csv", NULL, &err));
    assert_int_equal(err->code, TAB_ERR_IO);
    g_error_free(err);
}

static void csv_unclosed_quote_is_an_error(void **state)
{
    (void)state;
    g_autofree char *rows = CSV("a,b\nc,\"never closed\nd,e\n");
    char want[32];
    snprintf(want, sizeof want, "1:a|b\nERR %d 2 ", TAB_ERR_QUOTE);
    assert_string_equal(rows, want);
}

static void csv_row_column_and_cell_limits(void **state)
{
    (void)state;
    const char many[] = "1\n2\n\n3\n4\n";
    TabLimits lim = {.max_rows = 3};
    g_autofree char *a = read_csv(many, sizeof many - 1, &lim);
    assert_string_equal(a, "1:1\n2:2\n4:3\nERR 9 5 ");
    lim = (TabLimits){.max_rows = 4};
    g_autofree char *a2 = read_csv(many, sizeof many - 1, &lim);
    assert_string_equal(a2, "1:1\n2:2\n4:3\n5:4\n");

    const char wide[] = "a,b,c,,,,\nd,e,f,g\n";
    lim = (TabLimits){.max_cols = 3};
    g_autofree char *b = read_csv(wide, sizeof wide - 1, &lim);
    assert_string_equal(b, "1:a|b|c\nERR 10 2 ");

    const char cell[] = "一二三四五六七八九十,x\n1234567890a\n";
    lim = (TabLimits){.max_cell = 10};
    g_autofree char *c = read_csv(cell, sizeof cell - 1, &lim);
    assert_string_equal(c, "1:一二三四五六七八九十|x\nERR 11 2 A");

    /* A quoted cell of megabytes is stopped while it is still being read. */
    GString *huge = g_string_new("h\n\"");
    for (int i = 0; i < (1 << 20); i++)
        g_string_append_c(huge, 'q');
    g_string_append(huge, "\"\n");
    lim = (TabLimits){.max_cell = 100};
    g_autofree char *d = read_csv(huge->str, huge->len, &lim);
    assert_string_equal(d, "1:h\nERR 11 2 A");
    g_string_free(huge, TRUE);
}

static void csv_cells_stay_valid_until_the_next_row(void **state)
{
    (void)state;
    const char text[] = "first,row\nsecond,row\n";
    GError *err = NULL;
    TabularReader *r = tab_open_mem(text, sizeof text - 1, NULL, &err);
    const char *const *cells;
    int n;
    assert_int_equal(tab_next(r, &cells, &n), 1);
    assert_string_equal(cells[0], "first");
    assert_string_equal(cells[1], "row");
    assert_int_equal(tab_next(r, &cells, &n), 1);
    assert_string_equal(cells[0], "second");
    assert_int_equal(tab_next(r, &cells, &n), 0);
    assert_int_equal(tab_next(r, &cells, &n), 0);
    tab_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(xlsx_reads_text_numbers_dates_and_gaps_exactly),
        cmocka_unit_test(xlsx_inline_strings_read_like_shared_ones),
        cmocka_unit_test(xlsx_first_sheet_found_through_relationships),
        cmocka_unit_test(xlsx_1904_date_system_is_honoured),
        cmocka_unit_test(xlsx_hidden_first_sheet_gives_way_to_a_visible_one),
        cmocka_unit_test(xlsx_format_is_found_by_content_not_name),
        cmocka_unit_test(xlsx_truncated_or_corrupted_zip_is_a_clean_error),
        cmocka_unit_test(xlsx_oversized_entry_is_refused),
        cmocka_unit_test(xlsx_entry_lying_about_its_size_is_refused),
        cmocka_unit_test(xlsx_doctype_and_external_entities_are_refused),
        cmocka_unit_test(xlsx_without_worksheet_is_refused),
        cmocka_unit_test(xlsx_row_column_and_cell_limits),
        cmocka_unit_test(xlsx_long_shared_string_hits_the_cell_limit_where_used),
        cmocka_unit_test(csv_utf8_without_bom),
        cmocka_unit_test(csv_utf8_bom_is_skipped),
        cmocka_unit_test(csv_gb18030_is_converted),
        cmocka_unit_test(csv_gb18030_split_across_reads_converts_whole),
        cmocka_unit_test(csv_quoted_fields_keep_commas_quotes_and_newlines),
        cmocka_unit_test(csv_semicolon_and_tab_delimiters_are_detected),
        cmocka_unit_test(csv_empty_rows_are_skipped_with_original_numbers),
        cmocka_unit_test(csv_text_in_neither_encoding_is_refused),
        cmocka_unit_test(csv_binary_utf16_and_xls_files_are_refused),
        cmocka_unit_test(csv_unclosed_quote_is_an_error),
        cmocka_unit_test(csv_row_column_and_cell_limits),
        cmocka_unit_test(csv_cells_stay_valid_until_the_next_row),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
