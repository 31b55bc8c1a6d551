/* gen_corpus.c — writes the fuzzers' seed corpus: build/fuzz/corpus/{multipart,csv,xlsx}/.
 * Seeds are small valid inputs of each shape the readers know, so mutations start deep.
 * usage: gen_corpus DIR */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <xlsxwriter.h>

static const char *root;

static void seed(const char *kind, const char *name, const void *data, size_t len)
{
    g_autofree char *dir = g_build_filename(root, kind, NULL);
    g_mkdir_with_parents(dir, 0755);
    g_autofree char *path = g_build_filename(dir, name, NULL);
    if (!g_file_set_contents(path, data, (gssize)len, NULL)) {
        fprintf(stderr, "gen_corpus: cannot write %s\n", path);
        exit(1);
    }
}

#define SEED(kind, name, lit) seed(kind, name, lit, sizeof(lit) - 1)

#define B "XyZ"
static void multipart(void)
{
    SEED("multipart", "fields",
         "\x00"
         "--" B "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n客户\r\n"
         "--" B "\r\nContent-Disposition: form-data; name=b\r\nContent-Type: text/plain\r\n\r\n"
         "x\r\ny\r\n--" B "--\r\n");
    SEED("multipart", "file",
         "\x07"
         "--" B
         "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"../C:\\a\\客户.csv\"\r\n"
         "Content-Type: text/csv\r\n\r\nname,phone\r\n\x00\xff--" B "\r\r\n\r\n--" B "--");
    SEED("multipart", "ext",
         "\xff"
         "multipart/form-data; charset=utf-8; boundary=\"a b:c?\"\n"
         "preamble\r\n--a b:c?  \r\nContent-Disposition: form-data; name=f; filename=x; "
         "filename*=UTF-8''%E5%AE%A2.csv\r\n\r\n\r\n--a b:c?\r\n"
         "Content-Disposition: form-data; name=\"\"\r\n\r\nskip\r\n--a b:c?--epilogue");
    SEED("multipart", "folded",
         "\x02"
         "--" B "\r\nContent-Disposition: form-data;\r\n name=\"fold\"\r\n\r\nv\r\n--" B "--");
}

static void csv(void)
{
    SEED("csv", "utf8", "名称,电话,备注\n客信贸易,010-1234,\"a,b\"\n");
    SEED("csv", "bom", "\xef\xbb\xbf名称,电话\r\n客信,1\r\n\r\n,,\r\nx,\"multi\r\nline\"\r\n");
    SEED("csv", "semicolon", "a;b;c\n1;2,5;\"x;y\"\n");
    SEED("csv", "tab", "a\tb\t\tc\n1\t2\t\t3\n");
    SEED("csv", "quotes", "\"x\"\"y\",z\n5\" screen,\"unterminated\n");
    SEED("csv", "cr", "h\rv\r\r");
    gsize len;
    gchar *gb = g_convert("名称,地址\r\n客信贸易有限公司,\"北京,朝阳区\"\r\n𠀀,€\r\n", -1,
                          "GB18030", "UTF-8", NULL, &len, NULL);
    seed("csv", "gb18030", gb, len);
    g_free(gb);
}

#define NS_MAIN "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
#define NS_REL "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#define NS_PKG "http://schemas.openxmlformats.org/package/2006/relationships"
#define SEP "\n#PART\n"

static void xlsx(void)
{
    /* Structured seeds (see fuzz_xlsx.c): workbook, rels, shared strings, styles, sheet. */
    SEED(
        "xlsx", "parts",
        "<workbook xmlns=\"" NS_MAIN "\" xmlns:r=\"" NS_REL "\"><workbookPr date1904=\"0\"/>"
        "<sheets><sheet name=\"H\" sheetId=\"3\" state=\"hidden\" r:id=\"rId2\"/>"
        "<sheet name=\"S\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>" SEP
        "<Relationships xmlns=\"" NS_PKG "\">"
        "<Relationship Id=\"rId1\" Type=\"" NS_REL "/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
        "<Relationship Id=\"rId2\" Type=\"" NS_REL
        "/worksheet\" Target=\"/xl/worksheets/sheet1.xml\"/>"
        "<Relationship Id=\"rId3\" Type=\"" NS_REL "/sharedStrings\" Target=\"sharedStrings.xml\"/>"
        "<Relationship Id=\"rId4\" Type=\"" NS_REL "/styles\" Target=\"./styles.xml\"/>"
        "</Relationships>" SEP "<sst xmlns=\"" NS_MAIN
        "\"><si><t>plain</t></si><si><r><t>富</t></r><r><t xml:space=\"preserve\"> "
        "text</t></r><rPh><t>x</t></rPh></si><si><t/></si></sst>" SEP "<styleSheet xmlns=\"" NS_MAIN
        "\"><numFmts><numFmt numFmtId=\"164\" "
        "formatCode=\"yyyy&quot;年&quot;m&quot;月&quot;\"/><numFmt numFmtId=\"165\" "
        "formatCode=\"[h]:mm\"/>"
        "</numFmts><cellXfs><xf numFmtId=\"0\"/><xf numFmtId=\"164\"/><xf numFmtId=\"165\"/>"
        "<xf numFmtId=\"14\"/></cellXfs></styleSheet>" SEP "<worksheet xmlns=\"" NS_MAIN
        "\"><sheetData>"
        "<row r=\"2\"><c r=\"A2\" t=\"s\"><v>1</v></c><c r=\"C2\" "
        "t=\"inlineStr\"><is><t>in</t></is></c>"
        "<c r=\"D2\" s=\"1\"><v>45321</v></c><c r=\"E2\" s=\"2\"><v>0.5</v></c>"
        "<c r=\"F2\" s=\"3\"><v>61.5</v></c><c r=\"G2\" t=\"b\"><v>1</v></c>"
        "<c r=\"H2\" t=\"e\"><v>#N/A</v></c><c r=\"I2\" t=\"str\"><f>A1</f><v>calc</v></c></row>"
        "<row r=\"4\"><c r=\"AB4\" t=\"s\"><v>0</v></c><c r=\"B4\"/></row><row/>"
        "<row><c><v>7</v></c><c><v>1.5E-3</v></c></row></sheetData></worksheet>");
    SEED("xlsx", "min",
         "<workbook xmlns:r=\"" NS_REL "\"><sheets><sheet r:id=\"a\"/></sheets></workbook>" SEP
         "<Relationships><Relationship Id=\"a\" Type=\"x/worksheet\" "
         "Target=\"worksheets/sheet1.xml\"/>"
         "</Relationships>" SEP SEP SEP
         "<worksheet><sheetData><row><c t=\"inlineStr\"><is><t>v</t></is></c></row></sheetData>"
         "</worksheet>");

    /* A real workbook from libxlsxwriter. */
    g_autofree char *dir = g_build_filename(root, "xlsx", NULL);
    g_autofree char *path = g_build_filename(dir, "written.xlsx", NULL);
    lxw_workbook *wb = workbook_new(path);
    lxw_worksheet *ws = workbook_add_worksheet(wb, "客户");
    lxw_format *date = workbook_add_format(wb);
    format_set_num_format(date, "yyyy-mm-dd");
    worksheet_write_string(ws, 0, 0, "名称", NULL);
    worksheet_write_number(ws, 0, 2, 12.5, NULL);
    lxw_datetime d = {2024, 3, 5, 0, 0, 0};
    worksheet_write_datetime(ws, 1, 0, &d, date);
    worksheet_write_boolean(ws, 1, 1, 0, NULL);
    if (workbook_close(wb) != LXW_NO_ERROR) {
        fprintf(stderr, "gen_corpus: cannot write %s\n", path);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus DIR\n");
        return 2;
    }
    root = argv[1];
    multipart();
    csv();
    xlsx();
    return 0;
}
