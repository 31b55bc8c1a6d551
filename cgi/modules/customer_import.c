/* customer_import.c — batch import of customers with their contacts (M13): a template, the upload
 * of an .xlsx or CSV file (UTF-8 or GB18030, told apart by cgi/core/tabular.c), column mapping, a
 * preview of every row's outcome, one all-or-nothing commit, and the failed rows as .xlsx.
 *
 * Every row goes through the customer module's own validation (customers_validate,
 * contacts_validate, field tables of customers.h) and is written by the customer module's own
 * operations (customers_insert_many / customers_update / contacts_insert_many) inside one
 * transaction; nothing here re-implements a rule. Shortcuts: the rows' duplicate keys
 * (dedup_name_key) are looked up first, one query per thousand, and a row whose customer exists
 * is skipped (or refused in mode "stop") at once, with the message customers_validate gives for
 * it (a row whose key is not there skips that look-up: CUSTOMER_NAME_FREE); new customers and
 * contacts are written a thousand rows per statement, and their search rows once at the end
 * (customers_search_write).
 *
 * State between the steps lives on disk, outside the web root: <cfg.var>/imports/<token>/ holds
 * the uploaded file and a GKeyFile state.ini (uploader, mode, owner, mapping, results). The token
 * (32 random hex digits) travels as ?t=; only its uploader may use it (anyone else gets 404), and
 * it expires after 24 hours. */
#include "customers.h"

#include "../core/audit.h"
#include "../core/auth.h"
#include "../core/config.h"
#include "../core/db.h"
#include "../core/dedup.h"
#include "../core/i18n.h"
#include "../core/log.h"
#include "../core/numbering.h"
#include "../core/perm.h"
#include "../core/response.h"
#include "../docs/xlsx.h"
#include "../core/router.h"
#include "../core/scope.h"
#include "../core/tabular.h"
#include "../core/upload.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <xlsxwriter.h>

#define IMPORT_FILE_MAX ((size_t)10 << 20) /* bytes of an uploaded file */
#define IMPORT_ROWS_MAX 50000              /* data rows (the header row not counted) */
#define IMPORT_COLS_MAX 60
#define IMPORT_TTL_S (24 * 3600)           /* an upload is forgotten after a day */
#define PREVIEW_ROWS_MAX 200               /* rows listed on the preview page */
#define SAMPLE_ROWS 3                      /* example values per column on the mapping page */
#define BATCH_ROWS 1000                    /* rows validated per scratch arena (bounds memory), written per statement */
#define CELL_SHOWN_MAX 60                  /* characters of a value shown in the preview */
#define OWNER_OPTIONS_MAX 500
/* What writing one customer or contact costs (its check, customers_insert / contacts_insert with
 * their audit rows), for the preview's estimate until this server has measured its own: every
 * commit of RATE_MIN_WRITES or more records its rate in <cfg.var>/imports/rate.ini. */
#define COMMIT_US_PER_WRITE_DEFAULT 400
#define RATE_MIN_WRITES 100

/* ==== what a column can become ============================================================== */

typedef enum {
    T_NONE = 0,
    T_NAME, T_SHORT_NAME, T_CODE, T_CATEGORY, T_LEVEL, T_SOURCE, T_INDUSTRY, T_STATUS,
    T_PROVINCE, T_CITY, T_ADDRESS, T_PHONE, T_WEBSITE, T_TAX_ID, T_BANK_NAME, T_BANK_ACCOUNT,
    T_CREDIT_LIMIT, T_PAYMENT_TERMS, T_LAST_CONTACT, T_REMARKS,
    T_C_NAME, T_C_TITLE, T_C_DEPARTMENT, T_C_MOBILE, T_C_PHONE, T_C_EMAIL, T_C_WECHAT,
    T__MAX
} Target;

#define T_FIRST_CONTACT T_C_NAME

typedef struct TargetDef {
    const char *key;      /* in the mapping form and state.ini */
    const char *label;    /* English msgid: the template's header, the mapping choice */
    const char *field;    /* name in customer_fields (customer targets) or contact_fields */
    const char *lookup;   /* lookups.kind for names turned into ids */
    const char *example;  /* the template's example row (Chinese), NULL: taken from the database */
    const char *synonyms; /* other headers people use, '|'-separated (compared normalised) */
} TargetDef;

static const TargetDef targets[T__MAX] = {
    [T_NAME] = {"name", N_("Customer name"), "name", NULL, "杭州示例科技有限公司",
                "客户名称|客户全称|公司名称|公司全称|企业名称|单位名称|名称|客户|公司|customer|company|companyname|customername|name"},
    [T_SHORT_NAME] = {"short_name", N_("Short name"), "short_name", NULL, "示例科技",
                      "简称|客户简称|公司简称|shortname|abbreviation"},
    [T_CODE] = {"code", N_("Customer code"), "code", NULL, "",
                "客户编号|客户编码|客户代码|编号|编码|代码|code|customercode|customerno"},
    [T_CATEGORY] = {"category", N_("Category"), "category_id", "customer_category", NULL,
                    "客户类别|客户类型|客户分类|类别|类型|分类|category|type"},
    [T_LEVEL] = {"level", N_("Level"), "level_id", "customer_level", NULL,
                 "客户等级|客户级别|等级|级别|level|grade|rating"},
    [T_SOURCE] = {"source", N_("Source"), "source_id", "customer_source", NULL,
                  "客户来源|来源|来源渠道|source|leadsource"},
    [T_INDUSTRY] = {"industry", N_("Industry"), "industry_id", "industry", NULL,
                    "所属行业|行业|行业类别|industry|sector"},
    [T_STATUS] = {"status", N_("Status"), "status", NULL, NULL, "客户状态|状态|status"},
    [T_PROVINCE] = {"province", N_("Province"), "province_id", NULL, "浙江",
                    "省份|省|所在省份|所在省|省市|地区|province|state|region"},
    [T_CITY] = {"city", N_("City"), "city_id", NULL, "杭州", "城市|所在城市|市|地市|city"},
    [T_ADDRESS] = {"address", N_("Address"), "address", NULL, "西湖区文三路 100 号",
                   "地址|详细地址|公司地址|通讯地址|联系地址|办公地址|address"},
    [T_PHONE] = {"phone", N_("Phone"), "phone", NULL, "0571-88886666",
                 "电话|公司电话|座机|固定电话|总机|办公电话|phone|tel|telephone|companyphone"},
    [T_WEBSITE] = {"website", N_("Website"), "website", NULL, "www.example.cn",
                   "网址|网站|公司网址|公司网站|主页|website|web|url|homepage"},
    [T_TAX_ID] = {"tax_id", N_("Tax ID"), "tax_id", NULL, "91330106MA2H0XYZ1K",
                  "税号|纳税人识别号|统一社会信用代码|社会信用代码|信用代码|taxid|taxno|taxnumber|vatno"},
    [T_BANK_NAME] = {"bank_name", N_("Bank"), "bank_name", NULL, "中国工商银行杭州文三路支行",
                     "开户银行|开户行|银行|银行名称|bank|bankname"},
    [T_BANK_ACCOUNT] = {"bank_account", N_("Bank account"), "bank_account", NULL,
                        "1202 0211 0900 1234 567",
                        "银行账号|银行帐号|账号|帐号|开户账号|bankaccount|accountno|accountnumber"},
    [T_CREDIT_LIMIT] = {"credit_limit", N_("Credit limit (CNY)"), "credit_limit", NULL, "50000",
                        "信用额度|授信额度|额度|creditlimit|credit"},
    [T_PAYMENT_TERMS] = {"payment_terms", N_("Payment terms"), "payment_terms", NULL, "月结 30 天",
                         "付款条件|付款方式|结算方式|账期|paymentterms|terms"},
    [T_LAST_CONTACT] = {"last_contact_on", N_("Last contact"), "last_contact_on", NULL, "2024-05-20",
                        "最后联系日期|最后联系|最近联系|上次联系|lastcontact|lastcontacted|lastcontactdate"},
    [T_REMARKS] = {"remarks", N_("Remarks"), "remarks", NULL, "示例行：导入前请删除",
                   "备注|说明|附注|remarks|remark|notes|note|comments|comment"},
    [T_C_NAME] = {"contact_name", N_("Contact name"), "name", NULL, "张伟",
                  "联系人|联系人姓名|联系人名称|姓名|主要联系人|contact|contactname|contactperson|primarycontact"},
    [T_C_TITLE] = {"contact_title", N_("Contact title"), "title", NULL, "采购经理",
                   "联系人职务|职务|职位|头衔|title|jobtitle|position"},
    [T_C_DEPARTMENT] = {"contact_department", N_("Contact department"), "department", NULL, "采购部",
                        "联系人部门|部门|所在部门|department|dept"},
    [T_C_MOBILE] = {"contact_mobile", N_("Contact mobile"), "mobile", NULL, "13800138000",
                    "联系人手机|手机|手机号|手机号码|移动电话|mobile|mobilephone|cell|cellphone"},
    [T_C_PHONE] = {"contact_phone", N_("Contact phone"), "phone", NULL, "0571-88886667",
                   "联系人电话|联系电话|联系人座机|直线电话|contactphone|officephone|directline"},
    [T_C_EMAIL] = {"contact_email", N_("Contact e-mail"), "email", NULL, "zhangwei@example.cn",
                   "联系人邮箱|邮箱|电子邮箱|电子邮件|邮件|email|mail|emailaddress"},
    [T_C_WECHAT] = {"contact_wechat", N_("Contact WeChat"), "wechat", NULL, "zhangwei_hz",
                    "联系人微信|微信|微信号|wechat|weixin|wechatid"},
};

static bool is_contact_target(int t)
{
    return t >= T_FIRST_CONTACT && t < T__MAX;
}

typedef enum { MODE_SKIP, MODE_UPDATE, MODE_STOP } Mode;
static const char *const mode_codes[] = {"skip", "update", "stop"};

/* What becomes of a row. */
typedef enum { O_NEW, O_UPDATE, O_CONTACT, O_SKIP, O_ERROR } Outcome;
static const char *const outcome_codes[] = {"new", "update", "contact", "skip", "error"};
static const char *const outcome_labels[] = {N_("New"), N_("Update"), N_("Contact"), N_("Skip"),
                                             N_("Error")};
static const char *const outcome_badges[] = {"badge badge-ok", "badge badge-warn", "badge badge-ok",
                                             "badge", "badge badge-danger"};

/* ==== an upload on disk ====================================================================== */

typedef struct Import {
    const char *token;
    const char *dir;
    const char *state_path;
    const char *src_path;
    const char *filename; /* as uploaded, for people */
    const char *format;   /* "xlsx" or "csv" */
    const char *encoding;
    long user_id;
    gint64 created;
    Mode mode;
    long owner_id; /* 0 = the public pool */
    bool mapped;
    int map[IMPORT_COLS_MAX]; /* column → Target */
    bool committed;
    GKeyFile *kf;
} Import;

static void keyfile_free(void *p)
{
    g_key_file_free(p);
}

static void hash_free(void *p)
{
    g_hash_table_destroy(p);
}

static const char *imports_root(Arena *a)
{
    return arena_printf(a, "%s/imports", cfg.var);
}

static bool token_ok(const char *t)
{
    if (!t || strlen(t) != 32)
        return false;
    for (const char *p = t; *p; p++)
        if (!g_ascii_isdigit(*p) && !(*p >= 'a' && *p <= 'f'))
            return false;
    return true;
}

/* Removes an import folder: only the plain files this module puts there, then the folder. */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            g_autofree gchar *p = g_build_filename(dir, e->d_name, NULL);
            g_unlink(p);
        }
        closedir(d);
    }
    g_rmdir(dir);
}

/* Forgets uploads older than a day (run at each new upload: cheap, and no timer needed). */
static void sweep_expired(Request *req)
{
    const char *root = imports_root(req->arena);
    DIR *d = opendir(root);
    if (!d)
        return;
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!token_ok(e->d_name))
            continue;
        g_autofree gchar *dir = g_build_filename(root, e->d_name, NULL);
        g_autofree gchar *state = g_build_filename(dir, "state.ini", NULL);
        GKeyFile *kf = g_key_file_new();
        gint64 created = 0;
        if (g_key_file_load_from_file(kf, state, G_KEY_FILE_NONE, NULL))
            created = g_key_file_get_int64(kf, "import", "created", NULL);
        else {
            GStatBuf st;
            created = g_stat(dir, &st) == 0 ? (gint64)st.st_mtime : 0;
        }
        g_key_file_free(kf);
        if (now - created > IMPORT_TTL_S)
            remove_dir(dir);
    }
    closedir(d);
}

static int state_save(Import *im)
{
    GError *err = NULL;
    if (!g_key_file_save_to_file(im->kf, im->state_path, &err)) {
        log_error("import: cannot save %s: %s", im->state_path, err->message);
        g_error_free(err);
        return -1;
    }
    return 0;
}

static void state_put_mapping(Import *im, int ncols)
{
    const gchar *keys[IMPORT_COLS_MAX];
    for (int c = 0; c < ncols && c < IMPORT_COLS_MAX; c++)
        keys[c] = im->map[c] ? targets[im->map[c]].key : "";
    g_key_file_set_string_list(im->kf, "import", "mapping", keys, (gsize)ncols);
    g_key_file_set_boolean(im->kf, "import", "mapped", TRUE);
    im->mapped = true;
}

static int target_by_key(const char *key)
{
    for (int t = 1; t < T__MAX; t++)
        if (strcmp(targets[t].key, key) == 0)
            return t;
    return T_NONE;
}

/* The caller's import named by ?t=, or NULL after answering 404 (unknown, someone else's,
 * expired). */
static Import *import_load(Request *req)
{
    Arena *a = req->arena;
    const char *t = req_query(req, "t");
    if (!token_ok(t)) {
        resp_error(req, 404);
        return NULL;
    }
    Import *im = arena_alloc(a, sizeof *im);
    im->token = arena_strdup(a, t);
    im->dir = arena_printf(a, "%s/%s", imports_root(a), t);
    im->state_path = arena_printf(a, "%s/state.ini", im->dir);
    im->kf = arena_defer(a, keyfile_free, g_key_file_new());
    if (!g_key_file_load_from_file(im->kf, im->state_path, G_KEY_FILE_NONE, NULL)) {
        resp_error(req, 404);
        return NULL;
    }
    GKeyFile *kf = im->kf;
    im->user_id = (long)g_key_file_get_int64(kf, "import", "user_id", NULL);
    im->created = g_key_file_get_int64(kf, "import", "created", NULL);
    /* Someone else's import does not exist as far as this caller can tell. */
    if (im->user_id != req->user->id) {
        resp_error(req, 404);
        return NULL;
    }
    if (g_get_real_time() / G_USEC_PER_SEC - im->created > IMPORT_TTL_S) {
        remove_dir(im->dir);
        resp_error(req, 404);
        return NULL;
    }
    g_autofree gchar *file = g_key_file_get_string(kf, "import", "file", NULL);
    g_autofree gchar *name = g_key_file_get_string(kf, "import", "filename", NULL);
    g_autofree gchar *fmt = g_key_file_get_string(kf, "import", "format", NULL);
    g_autofree gchar *enc = g_key_file_get_string(kf, "import", "encoding", NULL);
    g_autofree gchar *mode = g_key_file_get_string(kf, "import", "mode", NULL);
    if (!file || strchr(file, '/') || file[0] == '.') {
        resp_error(req, 404);
        return NULL;
    }
    im->src_path = arena_printf(a, "%s/%s", im->dir, file);
    im->filename = arena_strdup(a, name ? name : file);
    im->format = arena_strdup(a, fmt ? fmt : "csv");
    im->encoding = arena_strdup(a, enc ? enc : "UTF-8");
    im->mode = MODE_SKIP;
    for (int m = 0; m < 3; m++)
        if (mode && strcmp(mode, mode_codes[m]) == 0)
            im->mode = (Mode)m;
    im->owner_id = (long)g_key_file_get_int64(kf, "import", "owner_id", NULL);
    im->mapped = g_key_file_get_boolean(kf, "import", "mapped", NULL);
    im->committed = g_key_file_get_boolean(kf, "result", "committed", NULL);
    gsize n = 0;
    gchar **keys = g_key_file_get_string_list(kf, "import", "mapping", &n, NULL);
    for (gsize c = 0; keys && c < n && c < IMPORT_COLS_MAX; c++)
        im->map[c] = target_by_key(keys[c]);
    g_strfreev(keys);
    return im;
}

/* Progress of a commit, for the preview page to show while it waits: "done total" in the
 * import's directory, replaced atomically after each batch of rows. */
static void progress_write(const Import *im, int done, int total)
{
    g_autofree gchar *path = g_build_filename(im->dir, "progress", NULL);
    char buf[48];
    snprintf(buf, sizeof buf, "%d %d\n", done, total);
    g_file_set_contents(path, buf, -1, NULL); /* only the progress bar misses a step if it fails */
}

/* GET /customers/import/progress?t=: 200 {"done": n, "total": m, "committed": bool} while the
 * import's commit runs (and after it), 404 like every step for anyone else's import. Numbers
 * only: no text of the file goes into it. */
static void progress_page(Request *req)
{
    Import *im = import_load(req);
    if (!im)
        return;
    g_autofree gchar *path = g_build_filename(im->dir, "progress", NULL);
    g_autofree gchar *text = NULL;
    int done = 0, total = 0;
    if (g_file_get_contents(path, &text, NULL, NULL) && sscanf(text, "%d %d", &done, &total) != 2)
        done = total = 0;
    resp_json(req, 200, arena_printf(req->arena, "{\"done\":%d,\"total\":%d,\"committed\":%s}", done, total,
                                     im->committed ? "true" : "false"));
}

static const char *import_url(Request *req, const Import *im, const char *step)
{
    return arena_printf(req->arena, "/customers/import/%s?t=%s", step, im->token);
}

/* The measured cost of one write on this server (microseconds), or the default. */
static long rate_get(Request *req)
{
    const char *path = arena_printf(req->arena, "%s/rate.ini", imports_root(req->arena));
    GKeyFile *kf = g_key_file_new();
    long us = COMMIT_US_PER_WRITE_DEFAULT;
    if (g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, NULL)) {
        gint64 v = g_key_file_get_int64(kf, "rate", "us_per_write", NULL);
        if (v > 0 && v < 10 * G_USEC_PER_SEC)
            us = (long)v;
    }
    g_key_file_free(kf);
    return us;
}

static void rate_put(Request *req, gint64 us, int writes)
{
    if (writes < RATE_MIN_WRITES)
        return;
    const char *path = arena_printf(req->arena, "%s/rate.ini", imports_root(req->arena));
    GKeyFile *kf = g_key_file_new();
    g_key_file_set_int64(kf, "rate", "us_per_write", us / writes);
    g_key_file_set_int64(kf, "rate", "writes", writes);
    g_key_file_save_to_file(kf, path, NULL); /* only an estimate is lost when this fails */
    g_key_file_free(kf);
}

/* ==== reading the file ======================================================================= */

typedef struct Row {
    int line; /* as Excel numbers it */
    int n;
    const char **cells;
} Row;

typedef struct Sheet {
    int ncols;
    int nheaders; /* cells of the header row */
    const char **headers; /* ncols entries, "" for an empty header cell */
    int header_line;
    GPtrArray *rows; /* of Row*, data rows only */
} Sheet;

static void ptr_array_free(void *p)
{
    g_ptr_array_free(p, TRUE);
}

static void array_free(void *p)
{
    g_array_free(p, TRUE);
}

/* A cell as the import reads it: an apostrophe that an export put before = + - @ to keep a
 * spreadsheet from running it is taken off again, so exported files import as they were. */
static const char *cell_text(Arena *a, const char *s)
{
    if (s[0] == '\'' && s[1] && strchr("=+-@", s[1]))
        s++;
    return arena_strdup(a, s);
}

/* Gives the sheet ncols columns at least (data rows may reach beyond the header row; the mapping
 * page reads a few rows only, so the width of the whole file comes from state.ini). */
static void sheet_widen(Request *req, Sheet *sh, int ncols)
{
    if (ncols > IMPORT_COLS_MAX)
        ncols = IMPORT_COLS_MAX;
    if (ncols < sh->ncols)
        ncols = sh->ncols;
    const char **h = arena_alloc(req->arena, sizeof(char *) * (size_t)(ncols + 1));
    for (int c = 0; c < ncols; c++)
        h[c] = sh->headers && c < sh->nheaders ? sh->headers[c] : "";
    sh->headers = h;
    sh->ncols = ncols;
}

/* Reads the header row and up to max_rows data rows (-1: all). Returns 0, or -1 with *msg (in the
 * request's language) set for the person. */
static int sheet_read(Request *req, const char *path, int max_rows, Sheet *sh, const char **msg,
                      const char **format, const char **encoding)
{
    Arena *a = req->arena;
    memset(sh, 0, sizeof *sh);
    sh->rows = arena_defer(a, ptr_array_free, g_ptr_array_new());
    TabLimits lim = {.max_rows = IMPORT_ROWS_MAX + 1, .max_cols = IMPORT_COLS_MAX, .lang = req->lang};
    GError *err = NULL;
    TabularReader *r = tab_open(path, &lim, &err);
    if (!r) {
        *msg = arena_strdup(a, err ? err->message : i18n_get(req->lang, N_("The file could not be read.")));
        if (err)
            g_error_free(err);
        return -1;
    }
    if (format)
        *format = tab_format(r);
    if (encoding)
        *encoding = tab_encoding(r);
    const char *const *cells;
    int n, rc;
    while ((rc = tab_next(r, &cells, &n)) == 1) {
        if (!sh->headers) {
            sh->header_line = tab_row(r);
            sh->ncols = sh->nheaders = n;
            sh->headers = arena_alloc(a, sizeof(char *) * (size_t)(n + 1));
            for (int c = 0; c < n; c++)
                sh->headers[c] = arena_strdup(a, g_strstrip(arena_strdup(a, cells[c])));
            continue;
        }
        if (max_rows >= 0 && (int)sh->rows->len >= max_rows)
            break;
        Row *row = arena_alloc(a, sizeof *row);
        row->line = tab_row(r);
        row->n = n;
        row->cells = arena_alloc(a, sizeof(char *) * (size_t)(n + 1));
        for (int c = 0; c < n; c++)
            row->cells[c] = cell_text(a, cells[c]);
        if (n > sh->ncols)
            sh->ncols = n;
        g_ptr_array_add(sh->rows, row);
    }
    if (rc < 0) {
        const TabError *e = tab_error_info(r);
        if (e->code == TAB_ERR_ROWS)
            *msg = arena_printf(a, i18n_get(req->lang, N_("The file has more than %d rows. Split it into smaller files.")),
                                IMPORT_ROWS_MAX);
        else
            *msg = arena_strdup(a, tab_error(r));
        tab_close(r);
        return -1;
    }
    tab_close(r);
    if (!sh->headers) {
        *msg = i18n_get(req->lang, N_("The file is empty."));
        return -1;
    }
    sheet_widen(req, sh, sh->ncols);
    return 0;
}

static const char *col_letters(Arena *a, int c)
{
    char buf[8];
    int i = 7;
    buf[i] = '\0';
    c++;
    while (c > 0 && i > 0) {
        buf[--i] = (char)('A' + (c - 1) % 26);
        c = (c - 1) / 26;
    }
    return arena_strdup(a, buf + i);
}

/* A header as shown: its text, or "Column C" when the file left it empty. */
static const char *header_label(Request *req, const Sheet *sh, int c)
{
    const char *h = c < sh->ncols ? sh->headers[c] : "";
    if (*h)
        return h;
    return arena_printf(req->arena, i18n_get(req->lang, N_("Column %s")), col_letters(req->arena, c));
}

static const char *cell_of(const Row *r, int c)
{
    return c < r->n ? r->cells[c] : "";
}

/* ==== matching headers to fields ============================================================ */

/* Header text reduced for comparison: NFKC (full-width → half-width), case-folded, anything in
 * brackets dropped ("信用额度（元）", "Credit limit (CNY)"), then only letters and digits. */
static char *header_key(const char *s)
{
    gchar *n = g_utf8_normalize(s, -1, G_NORMALIZE_NFKC);
    if (!n)
        return g_strdup("");
    gchar *f = g_utf8_casefold(n, -1);
    g_free(n);
    GString *out = g_string_new(NULL);
    int depth = 0;
    for (const char *p = f; *p; p = g_utf8_next_char(p)) {
        gunichar ch = g_utf8_get_char(p);
        if (ch == '(' || ch == '[' || ch == 0x3010 /* 【 */) {
            depth++;
            continue;
        }
        if (ch == ')' || ch == ']' || ch == 0x3011) {
            if (depth > 0)
                depth--;
            continue;
        }
        if (depth == 0 && g_unichar_isalnum(ch))
            g_string_append_unichar(out, ch);
    }
    g_free(f);
    /* "必填" (required) marks in Chinese templates are no part of the name. */
    char *req_mark = strstr(out->str, "必填");
    if (req_mark)
        g_string_erase(out, req_mark - out->str, (gssize)strlen("必填"));
    return g_string_free(out, FALSE);
}

/* The target whose label (in either language) or synonym matches header h, or T_NONE. */
static int match_header(const char *h)
{
    g_autofree char *k = header_key(h);
    if (!*k)
        return T_NONE;
    for (int t = 1; t < T__MAX; t++) {
        const char *names[] = {targets[t].key, targets[t].label, i18n_get("zh_CN", targets[t].label)};
        for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
            g_autofree char *nk = header_key(names[i]);
            if (strcmp(nk, k) == 0)
                return t;
        }
    }
    for (int t = 1; t < T__MAX; t++) {
        gchar **syn = g_strsplit(targets[t].synonyms, "|", -1);
        bool hit = false;
        for (int i = 0; syn[i] && !hit; i++) {
            g_autofree char *sk = header_key(syn[i]);
            hit = strcmp(sk, k) == 0;
        }
        g_strfreev(syn);
        if (hit)
            return t;
    }
    /* The list export's headers, in the language it was made in. */
    static const struct {
        const char *msgid;
        int target;
    } exported[] = {
        {N_("Code"), T_CODE}, {N_("Primary contact"), T_C_NAME}, {N_("Contact phone"), T_C_PHONE},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(exported); i++)
        for (int l = 0; l < I18N_NLANGS; l++) {
            g_autofree char *ek = header_key(i18n_get(i18n_langs[l], exported[i].msgid));
            if (strcmp(ek, k) == 0)
                return exported[i].target;
        }
    return T_NONE;
}

/* A first guess for every column; a field is taken by its first column only. */
static void auto_map(const Sheet *sh, int *map)
{
    bool taken[T__MAX] = {false};
    for (int c = 0; c < sh->ncols && c < IMPORT_COLS_MAX; c++) {
        int t = match_header(sh->headers[c]);
        map[c] = t && !taken[t] ? t : T_NONE;
        taken[map[c]] = map[c] != T_NONE;
    }
}

/* ==== names → ids, loaded once per request ================================================== */

typedef struct Names {
    GHashTable *lookups;   /* "kind\nkey" → id */
    GHashTable *provinces; /* key → id */
    GHashTable *cities;    /* "province id\nkey" → id */
    GHashTable *city_any;  /* key → id, or "" when several provinces have it */
    GHashTable *statuses;  /* key → status code */
} Names;

/* Names compare NFKC, case-folded, without spaces ("A 重点客户" = "a重点客户"). */
static char *name_key(const char *s)
{
    gchar *n = g_utf8_normalize(s ? s : "", -1, G_NORMALIZE_NFKC);
    if (!n)
        return g_strdup("");
    gchar *f = g_utf8_casefold(n, -1);
    g_free(n);
    GString *out = g_string_new(NULL);
    for (const char *p = f; *p; p = g_utf8_next_char(p)) {
        gunichar ch = g_utf8_get_char(p);
        if (!g_unichar_isspace(ch))
            g_string_append_unichar(out, ch);
    }
    g_free(f);
    return g_string_free(out, FALSE);
}

static GHashTable *str_table(Arena *a)
{
    return arena_defer(a, hash_free, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free));
}

static void put(GHashTable *h, char *key, const char *value)
{
    g_hash_table_replace(h, key, g_strdup(value));
}

static int names_load(Request *req, Names *nm)
{
    Arena *a = req->arena;
    nm->lookups = str_table(a);
    nm->provinces = str_table(a);
    nm->cities = str_table(a);
    nm->city_any = str_table(a);
    nm->statuses = str_table(a);
    PGresult *r = db_exec0(a,
        "SELECT kind, name, id::text FROM lookups"
        " WHERE kind IN ('customer_category', 'customer_level', 'customer_source', 'industry')"
        " ORDER BY active, id DESC");
    if (!r)
        return -1;
    /* Active ones last, so they win over an inactive one with the same key. */
    for (int i = 0; i < PQntuples(r); i++) {
        g_autofree char *k = name_key(PQgetvalue(r, i, 1));
        put(nm->lookups, g_strdup_printf("%s\n%s", PQgetvalue(r, i, 0), k), PQgetvalue(r, i, 2));
    }
    r = db_exec0(a, "SELECT id::text, coalesce(parent_id::text, ''), level, name, short_name, name_en"
                    "  FROM regions ORDER BY level, sort, id");
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *id = PQgetvalue(r, i, 0), *parent = PQgetvalue(r, i, 1);
        bool province = strcmp(PQgetvalue(r, i, 2), "1") == 0;
        for (int c = 3; c <= 5; c++) {
            char *k = name_key(PQgetvalue(r, i, c));
            if (!*k) {
                g_free(k);
                continue;
            }
            if (province) {
                if (!g_hash_table_contains(nm->provinces, k))
                    put(nm->provinces, g_strdup(k), id);
            } else {
                put(nm->cities, g_strdup_printf("%s\n%s", parent, k), id);
                const char *was = g_hash_table_lookup(nm->city_any, k);
                if (was && strcmp(was, id) != 0)
                    put(nm->city_any, g_strdup(k), ""); /* ambiguous */
                else if (!was)
                    put(nm->city_any, g_strdup(k), id);
            }
            g_free(k);
        }
    }
    /* Status: its code, or its name in either language. */
    for (const Choice *c = customer_statuses; c->value; c++) {
        put(nm->statuses, name_key(c->value), c->value);
        for (int l = 0; l < I18N_NLANGS; l++)
            put(nm->statuses, name_key(i18n_get(i18n_langs[l], c->label)), c->value);
    }
    static const struct {
        const char *text, *code;
    } more[] = {
        {"潜在", "potential"}, {"潜在客户", "potential"}, {"意向客户", "potential"},
        {"活跃", "active"}, {"活跃客户", "active"}, {"成交客户", "active"}, {"正式客户", "active"},
        {"休眠", "dormant"}, {"休眠客户", "dormant"}, {"沉睡客户", "dormant"},
        {"流失", "lost"}, {"流失客户", "lost"}, {"已流失", "lost"},
    };
    for (size_t i = 0; i < G_N_ELEMENTS(more); i++)
        if (!g_hash_table_contains(nm->statuses, more[i].text))
            put(nm->statuses, name_key(more[i].text), more[i].code);
    return 0;
}

/* ==== evaluating rows ======================================================================= */

typedef struct Msg {
    const char *label; /* the column's header, or an English msgid when label_msgid */
    bool label_msgid;
    const char *msgid; /* English, may hold one %s */
    const char *arg;
    bool error;
    struct Msg *next;
} Msg;

typedef struct RowOut {
    Outcome outcome;
    int leader;       /* index of the row that holds this row's customer (-1: itself) */
    long customer_id; /* existing (update) or created (commit) */
    Msg *msgs, *last;
} RowOut;

typedef struct Counts {
    int rows, created, updated, contacts, skipped, errors;
} Counts;

/* A customer already in the database with a row's key: only its owner may be named (the rule of
 * customers_find_duplicate). */
typedef struct DbDup {
    char *owner;
    bool pool;
} DbDup;

static void dbdup_free(gpointer p)
{
    DbDup *d = p;
    g_free(d->owner);
    g_free(d);
}

typedef struct Eval {
    Request *req;
    Arena *main;      /* the request's own arena: results live here */
    Import *im;
    Sheet *sh;
    Names nm;
    bool commit;
    int col_of[T__MAX]; /* target → column, -1 when not mapped */
    RowOut *out;
    GHashTable *groups; /* dedup key → 1 + index of the row that holds the customer */
    GHashTable *codes;  /* customer code key → 1 + row index */
    GHashTable *dbdups; /* dedup key → DbDup of customers already in the database */
    char **keys;        /* dedup key of every row's name ("" when none) */
    GChecksum *digest;
    Counts n;
    const char *example_key; /* the template's example row is skipped */
    /* commit: the first row that could not be written */
    int failed_row;
    /* commit: writes kept for the end of the batch of rows (one statement each for its new
     * customers and for its contacts), and every customer written, for their search rows */
    GPtrArray *new_forms; /* Form * of new customers … */
    GArray *new_rows;     /* … and their rows (int) */
    GArray *contacts;     /* PendingContact */
    GArray *written;      /* long: ids of the customers created or updated */
} Eval;

/* A contact to add at the end of the batch, to the customer of row `holder` (its id is known
 * once that row's customer is written). */
typedef struct PendingContact {
    int row, holder;
    Form *form;
} PendingContact;

static void add_msg(Eval *ev, int i, bool error, const char *label, bool label_msgid,
                    const char *msgid, const char *arg)
{
    Msg *m = arena_alloc(ev->main, sizeof *m);
    m->label = label ? arena_strdup(ev->main, label) : NULL;
    m->label_msgid = label_msgid;
    m->msgid = msgid;
    m->arg = arg ? arena_strdup(ev->main, arg) : NULL;
    m->error = error;
    RowOut *o = &ev->out[i];
    if (o->last)
        o->last->next = m;
    else
        o->msgs = m;
    o->last = m;
}

static const char *val(const Eval *ev, const Row *r, int t)
{
    int c = ev->col_of[t];
    return c >= 0 ? cell_of(r, c) : "";
}

static bool has_val(const Eval *ev, const Row *r, int t)
{
    const char *v = val(ev, r, t);
    while (*v == ' ' || *v == '\t')
        v++;
    return *v != '\0';
}

static bool has_contact(const Eval *ev, const Row *r)
{
    for (int t = T_FIRST_CONTACT; t < T__MAX; t++)
        if (has_val(ev, r, t))
            return true;
    return false;
}

/* The label of a message about target t: the header of its column in the file. */
static const char *target_label(Eval *ev, int t, bool *is_msgid)
{
    int c = ev->col_of[t];
    if (c >= 0) {
        *is_msgid = false;
        return header_label(ev->req, ev->sh, c);
    }
    *is_msgid = true;
    return targets[t].label;
}

static int target_of_field(const char *field, bool contact)
{
    for (int t = 1; t < T__MAX; t++)
        if (is_contact_target(t) == contact && strcmp(targets[t].field, field) == 0)
            return t;
    return T_NONE;
}

/* Copies a form's messages into the row's list. */
static void take_form_errors(Eval *ev, int i, Form *f, bool contact, bool error)
{
    for (int k = 0; k < f->n; k++) {
        if (!f->errors[k])
            continue;
        int t = target_of_field(f->defs[k].name, contact);
        bool is_msgid = true;
        const char *label = t ? target_label(ev, t, &is_msgid) : f->defs[k].label;
        add_msg(ev, i, error, label, is_msgid, f->errors[k], f->err_args[k]);
    }
}

/* Puts a raw value through the field's pure validator, as form_read would. */
static void form_take(Form *f, int k, const char *raw)
{
    const char *out = "";
    const char *err = field_validate(&f->defs[k], raw, f->req->arena, &out);
    f->values[k] = out;
    if (err)
        form_error(f, f->defs[k].name, err);
}

static int field_index(const Form *f, const char *name)
{
    for (int k = 0; k < f->n; k++)
        if (strcmp(f->defs[k].name, name) == 0)
            return k;
    return -1;
}

/* The raw value of customer target t in row r, names turned into ids; NULL when the name is
 * unknown (a message is added). */
static const char *customer_raw(Eval *ev, int i, const Row *r, int t, const char *province_id)
{
    const char *v = val(ev, r, t);
    g_autofree char *k = NULL;
    bool is_msgid = true;
    if (!has_val(ev, r, t))
        return "";
    if (targets[t].lookup) {
        k = name_key(v);
        g_autofree char *hk = g_strdup_printf("%s\n%s", targets[t].lookup, k);
        const char *id = g_hash_table_lookup(ev->nm.lookups, hk);
        if (id)
            return arena_strdup(ev->req->arena, id);
        static const char *const unknown[] = {
            [T_CATEGORY] = N_("Unknown category “%s”: use one of the categories in the settings."),
            [T_LEVEL] = N_("Unknown level “%s”: use one of the levels in the settings."),
            [T_SOURCE] = N_("Unknown source “%s”: use one of the sources in the settings."),
            [T_INDUSTRY] = N_("Unknown industry “%s”: use one of the industries in the settings."),
        };
        add_msg(ev, i, true, target_label(ev, t, &is_msgid), is_msgid, unknown[t], v);
        return NULL;
    }
    switch (t) {
    case T_STATUS: {
        k = name_key(v);
        const char *code = g_hash_table_lookup(ev->nm.statuses, k);
        if (code)
            return code;
        add_msg(ev, i, true, target_label(ev, t, &is_msgid), is_msgid,
                N_("Unknown status “%s”: use potential, active, dormant or lost."), v);
        return NULL;
    }
    case T_PROVINCE: {
        k = name_key(v);
        const char *id = g_hash_table_lookup(ev->nm.provinces, k);
        if (id)
            return arena_strdup(ev->req->arena, id);
        add_msg(ev, i, true, target_label(ev, t, &is_msgid), is_msgid, N_("Unknown province “%s”."), v);
        return NULL;
    }
    case T_CITY: {
        k = name_key(v);
        if (province_id && *province_id) {
            g_autofree char *hk = g_strdup_printf("%s\n%s", province_id, k);
            const char *id = g_hash_table_lookup(ev->nm.cities, hk);
            if (id)
                return arena_strdup(ev->req->arena, id);
        }
        const char *id = g_hash_table_lookup(ev->nm.city_any, k);
        if (id && *id)
            return arena_strdup(ev->req->arena, id); /* the validator checks the province */
        add_msg(ev, i, true, target_label(ev, t, &is_msgid), is_msgid,
                id ? N_("There are several cities called “%s”: add the province.")
                   : N_("Unknown city “%s”."), v);
        return NULL;
    }
    default:
        return v;
    }
}

/* Fills a customer form from row r. For an update, f holds the stored customer (form_load) and
 * only the file's non-empty cells replace its values. Returns the number of names not found. */
static int fill_customer(Eval *ev, int i, const Row *r, Form *f, bool update)
{
    int unknown = 0;
    const char *province_id = "";
    /* The province first: a city is looked up inside it. */
    static const int order[] = {T_PROVINCE, T_NAME, T_SHORT_NAME, T_CODE, T_CATEGORY, T_LEVEL,
                                T_SOURCE, T_INDUSTRY, T_STATUS, T_CITY, T_ADDRESS, T_PHONE,
                                T_WEBSITE, T_TAX_ID, T_BANK_NAME, T_BANK_ACCOUNT, T_CREDIT_LIMIT,
                                T_PAYMENT_TERMS, T_LAST_CONTACT, T_REMARKS};
    for (size_t j = 0; j < G_N_ELEMENTS(order); j++) {
        int t = order[j];
        int k = field_index(f, targets[t].field);
        if (k < 0)
            continue;
        const char *raw = customer_raw(ev, i, r, t, province_id);
        if (!raw) {
            unknown++;
            continue;
        }
        if (t == T_PROVINCE)
            province_id = raw;
        if (update && !*raw)
            continue; /* an empty cell keeps what is stored */
        if (t == T_STATUS && !*raw)
            raw = "potential";
        form_take(f, k, raw);
    }
    int kp = field_index(f, "province_id"), kc = field_index(f, "city_id");
    if (update && !*province_id && has_val(ev, r, T_CITY))
        f->values[kp] = ""; /* a new city from the file names its province (customers_validate) */
    if (update && *province_id && !has_val(ev, r, T_CITY) && strcmp(f->orig[kp], f->values[kp]) != 0)
        f->values[kc] = ""; /* another province: the stored city cannot stay */
    /* The owner is chosen once for the whole file and checked once (owner_ok); owner_id stays
     * as loaded for an update, empty for a new customer (customers_insert takes the owner). */
    if (!update) {
        int k = field_index(f, "owner_id");
        if (k >= 0)
            f->values[k] = "";
    }
    return unknown;
}

/* The stored customer as the edit form loads it (the columns of CUSTOMER_FORM_SQL). */
static const char CUSTOMER_LOAD_SQL[] =
    "SELECT name, short_name, code, category_id::text AS category_id, level_id::text AS level_id,"
    "       source_id::text AS source_id, industry_id::text AS industry_id, status,"
    "       province_id::text AS province_id, city_id::text AS city_id, address, phone, website,"
    "       tax_id, bank_name, bank_account, owner_id::text AS owner_id,"
    "       credit_limit::text AS credit_limit, payment_terms,"
    "       coalesce(last_contact_on::text, '') AS last_contact_on, remarks, version"
    "  FROM customers WHERE id = $1";

static Form *contact_form(Eval *ev, int i, const Row *r)
{
    Form *c = form_new(ev->req, contact_fields);
    for (int t = T_FIRST_CONTACT; t < T__MAX; t++) {
        int k = field_index(c, targets[t].field);
        if (k >= 0)
            form_take(c, k, val(ev, r, t));
    }
    contacts_validate(ev->req, c);
    take_form_errors(ev, i, c, true, true);
    return c;
}

/* Whether customer id already has a contact of this name (an update adds only new ones). */
static int contact_exists(Eval *ev, long id, const char *name)
{
    PGresult *r = db_exec(ev->req->arena,
        "SELECT 1 FROM contacts WHERE customer_id = $1 AND lower(name) = lower($2) LIMIT 1",
        arena_printf(ev->req->arena, "%ld", id), name);
    if (!r)
        return -1;
    return PQntuples(r) > 0;
}

static void record(Eval *ev, int i)
{
    const Row *r = g_ptr_array_index(ev->sh->rows, i);
    char buf[64];
    snprintf(buf, sizeof buf, "%d:%s:%ld;", r->line, outcome_codes[ev->out[i].outcome],
             ev->out[i].outcome == O_UPDATE ? ev->out[i].customer_id : 0L);
    g_checksum_update(ev->digest, (const guchar *)buf, (gssize)strlen(buf));
    switch (ev->out[i].outcome) {
    case O_NEW: ev->n.created++; break;
    case O_UPDATE: ev->n.updated++; break;
    case O_CONTACT: break;
    case O_SKIP: ev->n.skipped++; break;
    case O_ERROR: ev->n.errors++; break;
    }
}

/* Marks the commit as failed at row i (the caller rolls back). */
static int commit_failed(Eval *ev, int i, Form *f, bool contact)
{
    ev->failed_row = i;
    ev->out[i].outcome = O_ERROR;
    if (f && f->nerrors)
        take_form_errors(ev, i, f, contact, true);
    else
        add_msg(ev, i, true, N_("Database"), true, N_("This row could not be saved."), NULL);
    return -1;
}

/* The first row with a queued write (the batch's failure is reported there when no row is). */
static int first_queued_row(const Eval *ev)
{
    return ev->new_rows->len ? g_array_index(ev->new_rows, int, 0)
                             : g_array_index(ev->contacts, PendingContact, 0).row;
}

static void queue_contact(Eval *ev, int row, int holder, Form *cf)
{
    PendingContact pc = {row, holder, cf};
    g_array_append_val(ev->contacts, pc);
}

/* Writes the queued customers (one statement), then the queued contacts (another). Returns 0 or
 * -1. */
static int write_many(Eval *ev)
{
    Request *req = ev->req;
    int n = (int)ev->new_rows->len, nc = (int)ev->contacts->len;
    if (n) {
        long *ids = arena_alloc(req->arena, sizeof(long) * (size_t)n);
        if (customers_insert_many(req, (Form **)ev->new_forms->pdata, n, ev->im->owner_id, ids) < 0)
            return -1;
        for (int j = 0; j < n; j++)
            ev->out[g_array_index(ev->new_rows, int, j)].customer_id = ids[j];
        g_array_append_vals(ev->written, ids, (guint)n);
    }
    if (nc) {
        Form **forms = arena_alloc(req->arena, sizeof(Form *) * (size_t)nc);
        long *cids = arena_alloc(req->arena, sizeof(long) * (size_t)nc);
        for (int j = 0; j < nc; j++) {
            const PendingContact *pc = &g_array_index(ev->contacts, PendingContact, j);
            forms[j] = pc->form;
            cids[j] = ev->out[pc->holder].customer_id;
        }
        if (contacts_insert_many(req, forms, cids, nc, NULL) < 0)
            return -1;
    }
    return 0;
}

/* After the batch's statements failed: the same writes one at a time, to tell which row failed
 * (the import fails whatever this finds). Returns -1 with ev->failed_row set. */
static int find_failed_row(Eval *ev)
{
    Request *req = ev->req;
    for (guint j = 0; j < ev->new_rows->len; j++) {
        int row = g_array_index(ev->new_rows, int, j);
        Form *f = g_ptr_array_index(ev->new_forms, j);
        long id;
        if (customers_insert_many(req, &f, 1, ev->im->owner_id, &id) < 0)
            return commit_failed(ev, row, f, false);
        ev->out[row].customer_id = id;
    }
    for (guint j = 0; j < ev->contacts->len; j++) {
        PendingContact *pc = &g_array_index(ev->contacts, PendingContact, j);
        long cid = ev->out[pc->holder].customer_id;
        if (contacts_insert_many(req, &pc->form, &cid, 1, NULL) < 0)
            return commit_failed(ev, pc->row, NULL, true);
    }
    return commit_failed(ev, first_queued_row(ev), NULL, false);
}

/* Writes what the batch's rows queued: its new customers in one statement, then its contacts in
 * another, inside a savepoint. When they fail, the savepoint is rolled back and the rows are
 * written one by one to find the row that fails, for the message (the import is rolled back
 * either way). One savepoint per batch of rows: at most IMPORT_ROWS_MAX / BATCH_ROWS (50)
 * subtransactions, within what PostgreSQL keeps per session without slowing other sessions
 * down (64). Returns 0, or -1 with ev->failed_row set. */
static int write_queued(Eval *ev)
{
    Arena *a = ev->req->arena;
    int rc = 0;
    if (!ev->new_rows->len && !ev->contacts->len)
        return 0;
    if (!db_exec0(a, "SAVEPOINT import_rows"))
        rc = -1;
    else if (write_many(ev) == 0)
        rc = db_exec0(a, "RELEASE SAVEPOINT import_rows") ? 0 : -1;
    else {
        for (guint j = 0; j < ev->new_rows->len; j++) {
            Form *f = g_ptr_array_index(ev->new_forms, j);
            if (f->nerrors) /* a typed code taken meanwhile */
                return commit_failed(ev, g_array_index(ev->new_rows, int, j), f, false);
        }
        if (!db_exec0(a, "ROLLBACK TO SAVEPOINT import_rows"))
            rc = -1;
        else
            return find_failed_row(ev);
    }
    if (rc < 0)
        return commit_failed(ev, first_queued_row(ev), NULL, false);
    g_ptr_array_set_size(ev->new_forms, 0);
    g_array_set_size(ev->new_rows, 0);
    g_array_set_size(ev->contacts, 0);
    return 0;
}

/* A row that holds a customer (the first row of its name in the file). Returns 0, or -1 when
 * the database failed or (commit) a write failed. */
static int eval_leader(Eval *ev, int i, const Row *r)
{
    Request *req = ev->req;
    RowOut *o = &ev->out[i];
    /* Known to exist: skipped, or refused in mode stop, with the message customers_validate gives;
     * an update needs the full check below. */
    const DbDup *exists = *ev->keys[i] ? g_hash_table_lookup(ev->dbdups, ev->keys[i]) : NULL;
    if (exists && ev->im->mode != MODE_UPDATE) {
        bool is_msgid = true;
        const char *nlabel = target_label(ev, T_NAME, &is_msgid);
        o->outcome = ev->im->mode == MODE_SKIP ? O_SKIP : O_ERROR;
        if (exists->pool)
            add_msg(ev, i, o->outcome == O_ERROR, nlabel, is_msgid,
                    N_("This customer already exists in the public pool."), NULL);
        else
            add_msg(ev, i, o->outcome == O_ERROR, nlabel, is_msgid,
                    N_("This customer already exists, owned by %s."), *exists->owner ? exists->owner : "—");
        return 0;
    }
    Form *f = form_new(req, customer_fields);
    int unknown = fill_customer(ev, i, r, f, false);
    CustomerDup dup;
    memset(&dup, 0, sizeof dup);
    if (customers_validate(req, f, 0, &dup, exists ? 0 : CUSTOMER_NAME_FREE) < 0)
        return -1;
    Form *cf = NULL;
    bool contact_bad = false;

    if (dup.id > 0) {
        /* The customer exists: what the mode says. */
        int kn = field_index(f, "name");
        const char *dmsg = kn >= 0 ? f->errors[kn] : NULL, *darg = kn >= 0 ? f->err_args[kn] : NULL;
        bool is_msgid = true;
        const char *nlabel = target_label(ev, T_NAME, &is_msgid);
        if (ev->im->mode == MODE_SKIP) {
            o->outcome = O_SKIP;
            add_msg(ev, i, false, nlabel, is_msgid, dmsg, darg);
            return 0;
        }
        CustomerAccess acc;
        memset(&acc, 0, sizeof acc);
        if (ev->im->mode == MODE_UPDATE && customers_access(req, dup.id, &acc) < 0)
            return -1;
        if (ev->im->mode == MODE_STOP || !acc.writable) {
            /* The name's message says that it exists and who owns it, nothing more. */
            o->outcome = O_ERROR;
            take_form_errors(ev, i, f, false, true);
            return 0;
        }
        /* Update: the stored customer with the file's non-empty cells over it. */
        cf = has_contact(ev, r) ? contact_form(ev, i, r) : NULL;
        contact_bad = cf && cf->nerrors;
        PGresult *stored = db_exec(req->arena, CUSTOMER_LOAD_SQL, arena_printf(req->arena, "%ld", dup.id));
        if (!stored)
            return -1;
        if (PQntuples(stored) != 1) {
            o->outcome = O_ERROR;
            add_msg(ev, i, true, nlabel, is_msgid, N_("This customer was deleted meanwhile."), NULL);
            return 0;
        }
        Form *u = form_new(req, customer_fields);
        form_load(u, stored, 0);
        /* The name as stored: the file's spelling may differ only in what the key ignores. */
        int nk = field_index(u, "name");
        const char *stored_name = u->values[nk];
        unknown = fill_customer(ev, i, r, u, true);
        u->values[nk] = stored_name;
        if (customers_validate(req, u, dup.id, NULL, 0) < 0)
            return -1;
        take_form_errors(ev, i, u, false, true);
        o->customer_id = dup.id;
        if (u->nerrors || unknown || contact_bad) {
            o->outcome = O_ERROR;
            return 0;
        }
        o->outcome = O_UPDATE;
        int known = cf ? contact_exists(ev, dup.id, form_get(cf, "name")) : 0;
        if (known < 0)
            return -1;
        if (known)
            add_msg(ev, i, false, target_label(ev, T_C_NAME, &is_msgid), is_msgid,
                    N_("This contact exists already and is left as it is."), NULL);
        else if (cf)
            ev->n.contacts++;
        if (!ev->commit)
            return 0;
        int changes = 0;
        int rc = customers_update(req, u, dup.id, &changes);
        if (rc <= 0) {
            if (rc == 0)
                form_error(u, "name", N_("Someone else saved this customer meanwhile."));
            return commit_failed(ev, i, u, false);
        }
        g_array_append_val(ev->written, dup.id);
        if (cf && !known)
            queue_contact(ev, i, i, cf);
        return 0;
    }

    take_form_errors(ev, i, f, false, true);
    cf = has_contact(ev, r) ? contact_form(ev, i, r) : NULL;
    contact_bad = cf && cf->nerrors;
    /* The same code twice in the file. */
    const char *code = form_get(f, "code");
    if (*code && !f->nerrors) {
        g_autofree char *ck = g_utf8_casefold(code, -1);
        gpointer prev = g_hash_table_lookup(ev->codes, ck);
        if (prev) {
            const Row *pr = g_ptr_array_index(ev->sh->rows, GPOINTER_TO_INT(prev) - 1);
            bool is_msgid = true;
            add_msg(ev, i, true, target_label(ev, T_CODE, &is_msgid), is_msgid,
                    N_("Row %s of the file has the same customer code."),
                    arena_printf(req->arena, "%d", pr->line));
            f->nerrors++;
        } else {
            g_hash_table_insert(ev->codes, g_strdup(ck), GINT_TO_POINTER(i + 1));
        }
    }
    if (f->nerrors || unknown || contact_bad) {
        o->outcome = O_ERROR;
        return 0;
    }
    o->outcome = O_NEW;
    if (cf)
        ev->n.contacts++;
    if (!ev->commit)
        return 0;
    g_ptr_array_add(ev->new_forms, f);
    g_array_append_val(ev->new_rows, i);
    if (cf)
        queue_contact(ev, i, i, cf);
    return 0;
}

/* Customer cells of row r that say something else than the row holding the customer (empty cells
 * agree with anything). */
static bool customer_cells_agree(Eval *ev, const Row *r, const Row *lead)
{
    for (int t = 1; t < T_FIRST_CONTACT; t++) {
        if (t == T_NAME || !has_val(ev, r, t))
            continue;
        g_autofree char *a = name_key(val(ev, r, t));
        g_autofree char *b = name_key(val(ev, lead, t));
        if (strcmp(a, b) != 0)
            return false;
    }
    return true;
}

/* A later row with the name of an earlier customer: one more contact of it, or a duplicate. */
static int eval_follower(Eval *ev, int i, const Row *r, int lead)
{
    RowOut *o = &ev->out[i], *lo = &ev->out[lead];
    const Row *lr = g_ptr_array_index(ev->sh->rows, lead);
    const char *lead_line = arena_printf(ev->main, "%d", lr->line);
    bool is_msgid = true;
    const char *nlabel = target_label(ev, T_NAME, &is_msgid);
    o->leader = lead;
    if (!customer_cells_agree(ev, r, lr)) {
        o->outcome = O_ERROR;
        add_msg(ev, i, true, nlabel, is_msgid,
                N_("Duplicate in the file: row %s has the same customer with other details."), lead_line);
        return 0;
    }
    if (!has_contact(ev, r)) {
        o->outcome = O_ERROR;
        add_msg(ev, i, true, nlabel, is_msgid, N_("Duplicate in the file: see row %s."), lead_line);
        return 0;
    }
    /* The same contact twice. */
    g_autofree char *ck = name_key(val(ev, r, T_C_NAME));
    for (int j = lead; j < i; j++) {
        const RowOut *jo = &ev->out[j];
        const Row *jr = g_ptr_array_index(ev->sh->rows, j);
        if ((j != lead && jo->leader != lead) || !*ck)
            continue;
        g_autofree char *jk = name_key(val(ev, jr, T_C_NAME));
        if (strcmp(jk, ck) == 0) {
            o->outcome = O_ERROR;
            add_msg(ev, i, true, target_label(ev, T_C_NAME, &is_msgid), is_msgid,
                    N_("Duplicate in the file: row %s has the same contact."),
                    arena_printf(ev->main, "%d", jr->line));
            return 0;
        }
    }
    Form *cf = contact_form(ev, i, r);
    if (lo->outcome == O_ERROR) {
        o->outcome = O_ERROR;
        add_msg(ev, i, true, nlabel, is_msgid, N_("The customer's row %s has errors."), lead_line);
        return 0;
    }
    if (cf->nerrors) {
        o->outcome = O_ERROR;
        return 0;
    }
    if (lo->outcome == O_SKIP) {
        o->outcome = O_SKIP;
        add_msg(ev, i, false, nlabel, is_msgid, N_("The customer of row %s is skipped."), lead_line);
        return 0;
    }
    if (lo->outcome == O_UPDATE) {
        int known = contact_exists(ev, lo->customer_id, form_get(cf, "name"));
        if (known < 0)
            return -1;
        if (known) {
            o->outcome = O_SKIP;
            add_msg(ev, i, false, target_label(ev, T_C_NAME, &is_msgid), is_msgid,
                    N_("This contact exists already and is left as it is."), NULL);
            return 0;
        }
    }
    o->outcome = O_CONTACT;
    ev->n.contacts++;
    if (ev->commit)
        queue_contact(ev, i, lead, cf);
    return 0;
}

static int eval_row(Eval *ev, int i)
{
    const Row *r = g_ptr_array_index(ev->sh->rows, i);
    RowOut *o = &ev->out[i];
    o->leader = -1;
    const char *k = ev->keys[i];
    if (*k && ev->example_key && strcmp(k, ev->example_key) == 0) {
        o->outcome = O_SKIP;
        add_msg(ev, i, false, NULL, true, N_("The template's example row is not imported."), NULL);
        return 0;
    }
    gpointer lead = *k ? g_hash_table_lookup(ev->groups, k) : NULL;
    if (lead)
        return eval_follower(ev, i, r, GPOINTER_TO_INT(lead) - 1);
    int rc = eval_leader(ev, i, r);
    /* Later rows of this name attach to this one, whatever became of it. */
    if (*k)
        g_hash_table_insert(ev->groups, g_strdup(k), GINT_TO_POINTER(i + 1));
    return rc;
}

#define DUP_BATCH 1000 /* keys per duplicate query */

/* Every row's dedup key, and which of them exist already: one query per DUP_BATCH keys instead of
 * one per row. Rows whose customer exists are then skipped (or refused) without a full check. */
static int load_keys(Eval *ev)
{
    Request *req = ev->req;
    int nrows = (int)ev->sh->rows->len;
    ev->keys = arena_alloc(req->arena, sizeof(char *) * (size_t)(nrows + 1));
    ev->dbdups = arena_defer(req->arena, hash_free, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, dbdup_free));
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
    const char **batch = arena_alloc(req->arena, sizeof(char *) * DUP_BATCH);
    int nb = 0, rc = 0;
    for (int i = 0; i <= nrows && rc == 0; i++) {
        if (i < nrows) {
            char *k = dedup_name_key(val(ev, g_ptr_array_index(ev->sh->rows, i), T_NAME));
            ev->keys[i] = arena_strdup(req->arena, k ? k : "");
            g_free(k);
            if (*ev->keys[i] && g_hash_table_add(seen, ev->keys[i]))
                batch[nb++] = ev->keys[i];
        }
        if (nb == 0 || (nb < DUP_BATCH && i < nrows))
            continue;
        /* One probe of the unique btree per key: written as "name_key = ANY($1)" the planner may
         * take the trigram index (it answers "=" too) and spend half a second per batch. */
        PGresult *r = db_exec(req->arena,
            "SELECT c.name_key, c.owner, c.pool FROM unnest($1::text[]) AS k(key),"
            " LATERAL (SELECT c.name_key, coalesce(nullif(u.display_name, ''), u.username, '') AS owner,"
            "                 c.owner_id IS NULL AS pool"
            "            FROM customers c LEFT JOIN users u ON u.id = c.owner_id"
            "           WHERE c.name_key = k.key LIMIT 1) c",
            sql_text_array(req->arena, batch, nb));
        if (!r) {
            rc = -1;
            break;
        }
        for (int j = 0; j < PQntuples(r); j++) {
            DbDup *d = g_new0(DbDup, 1);
            d->owner = g_strdup(PQgetvalue(r, j, 1));
            d->pool = PQgetvalue(r, j, 2)[0] == 't';
            g_hash_table_replace(ev->dbdups, g_strdup(PQgetvalue(r, j, 0)), d);
        }
        nb = 0;
    }
    g_hash_table_destroy(seen);
    return rc;
}

/* The owner chosen for new customers, checked once by the customer module's own rule (active, in
 * the caller's scope): a form with nothing but the owner goes through customers_validate. */
static int owner_ok(Request *req, long owner_id)
{
    if (owner_id == 0)
        return req->user->is_admin || req->user->scope > SCOPE_OWN;
    if (owner_id == req->user->id)
        return 1;
    Form *f = form_new(req, customer_fields);
    for (int k = 0; k < f->n; k++)
        if (strcmp(f->defs[k].name, "owner_id") != 0)
            f->errors[k] = "-"; /* not looked at: only the owner is */
    f->nerrors = f->n - 1;
    form_set(f, "owner_id", arena_printf(req->arena, "%ld", owner_id));
    if (customers_validate(req, f, 0, NULL, 0) < 0)
        return -1;
    return f->errors[field_index(f, "owner_id")] == NULL;
}

/* Evaluates every row (and, when commit, writes them as it goes, inside the caller's transaction).
 * Rows are handled in batches on a scratch arena so memory stays bounded whatever the file's
 * size: the request's arena pointer is swapped for the batch and restored after; everything that
 * outlives a batch (messages, ids) is copied to the request's own arena. Returns 0 or -1. */
static int evaluate(Request *req, Eval *ev)
{
    ev->req = req;
    ev->main = req->arena;
    int nrows = (int)ev->sh->rows->len;
    ev->out = arena_alloc(req->arena, sizeof(RowOut) * (size_t)(nrows + 1));
    ev->groups = arena_defer(req->arena, hash_free, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL));
    ev->codes = arena_defer(req->arena, hash_free, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL));
    ev->digest = g_checksum_new(G_CHECKSUM_SHA256);
    arena_defer(req->arena, (ArenaCleanup)g_checksum_free, ev->digest);
    ev->failed_row = -1;
    ev->n.rows = nrows;
    for (int t = 0; t < T__MAX; t++)
        ev->col_of[t] = -1;
    for (int c = 0; c < ev->sh->ncols && c < IMPORT_COLS_MAX; c++)
        if (ev->im->map[c] && ev->col_of[ev->im->map[c]] < 0)
            ev->col_of[ev->im->map[c]] = c;
    char *ex = dedup_name_key(targets[T_NAME].example);
    ev->example_key = arena_strdup(req->arena, ex ? ex : "");
    g_free(ex);
    if (names_load(req, &ev->nm) < 0)
        return -1;
    /* Computed now, on the request's arena: the data scope is cached for the whole request. */
    const char *ids;
    bool all;
    if (scope_visible_users(req, &ids, &all) < 0 || load_keys(ev) < 0)
        return -1;
    ev->new_forms = arena_defer(req->arena, ptr_array_free, g_ptr_array_new());
    ev->new_rows = arena_defer(req->arena, array_free, g_array_new(FALSE, FALSE, sizeof(int)));
    ev->contacts = arena_defer(req->arena, array_free, g_array_new(FALSE, FALSE, sizeof(PendingContact)));
    ev->written = arena_defer(req->arena, array_free, g_array_new(FALSE, FALSE, sizeof(long)));
    int rc = 0;
    for (int start = 0; start < nrows && rc == 0; start += BATCH_ROWS) {
        Arena *scratch = arena_new();
        req->arena = scratch;
        for (int i = start; i < nrows && i < start + BATCH_ROWS && rc == 0; i++) {
            rc = eval_row(ev, i);
            if (rc == 0)
                record(ev, i);
        }
        if (rc == 0 && ev->commit)
            rc = write_queued(ev);
        req->arena = ev->main;
        arena_free(scratch);
        if (ev->commit)
            progress_write(ev->im, start + BATCH_ROWS < nrows ? start + BATCH_ROWS : nrows, nrows);
    }
    /* Every customer's changes are final now: their search rows in a few statements. */
    if (rc == 0 && ev->commit)
        rc = customers_search_write(req, (const long *)(void *)ev->written->data, (int)ev->written->len);
    return rc;
}

static const char *eval_digest(Eval *ev)
{
    return arena_strdup(ev->main, g_checksum_get_string(ev->digest));
}

static const char *msg_text(Request *req, const Sheet *sh, const Msg *m)
{
    (void)sh;
    const char *fmt = m->msgid ? i18n_get(req->lang, m->msgid) : "";
    char *text = m->arg ? g_strdup_printf(fmt, m->arg) : g_strdup(fmt);
    const char *out;
    if (m->label)
        out = arena_printf(req->arena, i18n_get(req->lang, N_("%s: %s")),
                           m->label_msgid ? i18n_get(req->lang, m->label) : m->label, text);
    else
        out = arena_strdup(req->arena, text);
    g_free(text);
    return out;
}

static const char *row_messages(Request *req, const Sheet *sh, const RowOut *o, bool errors_only)
{
    GString *s = g_string_new(NULL);
    for (const Msg *m = o->msgs; m; m = m->next) {
        if (errors_only && !m->error)
            continue;
        if (s->len)
            g_string_append(s, "; ");
        g_string_append(s, msg_text(req, sh, m));
    }
    const char *out = arena_strdup(req->arena, s->str);
    g_string_free(s, TRUE);
    return out;
}

/* ==== xlsx files (template, failed rows) ===================================================== */

typedef struct Book {
    char *path;
    lxw_workbook *wb;
    lxw_format *head, *required, *quoted, *example;
} Book;

/* big: constant-memory mode (rows strictly in order, inline strings), for files of any length. */
static int book_open(Book *b, bool big)
{
    g_autofree gchar *tmpdir = g_build_filename(cfg.var, "tmp", NULL);
    g_mkdir_with_parents(tmpdir, 0700);
    b->path = g_build_filename(tmpdir, "import-XXXXXX.xlsx", NULL);
    int fd = g_mkstemp(b->path);
    if (fd < 0) {
        g_free(b->path);
        b->path = NULL;
        return -1;
    }
    close(fd);
    lxw_workbook_options opt = {.constant_memory = big ? LXW_TRUE : LXW_FALSE, .tmpdir = tmpdir};
    b->wb = workbook_new_opt(b->path, &opt);
    if (!b->wb) {
        g_unlink(b->path);
        g_free(b->path);
        return -1;
    }
    b->head = workbook_add_format(b->wb);
    format_set_bold(b->head);
    format_set_bg_color(b->head, 0xE8F0FE);
    format_set_border(b->head, LXW_BORDER_THIN);
    b->required = workbook_add_format(b->wb);
    format_set_bold(b->required);
    format_set_bg_color(b->required, 0xE8F0FE);
    format_set_border(b->required, LXW_BORDER_THIN);
    format_set_font_color(b->required, 0xB91C1C);
    b->quoted = workbook_add_format(b->wb);
    format_set_font_color(b->quoted, 0x7F1D1D);
    b->example = workbook_add_format(b->wb);
    format_set_font_color(b->example, 0x6B7280);
    format_set_italic(b->example);
    return 0;
}

/* A text cell; text a spreadsheet would take for a formula gets an apostrophe in front (the
 * import takes it off again, see cell_text). */
static void book_text(Book *b, lxw_worksheet *ws, int row, int col, const char *v, lxw_format *fmt)
{
    if (!v || !*v)
        return;
    if (strchr("=+-@", v[0]) || v[0] == '\t' || v[0] == '\r') {
        gchar *safe = g_strconcat("'", v, NULL);
        worksheet_write_string(ws, (lxw_row_t)row, (lxw_col_t)col, safe, fmt ? fmt : b->quoted);
        g_free(safe);
    } else {
        worksheet_write_string(ws, (lxw_row_t)row, (lxw_col_t)col, v, fmt);
    }
}

/* Closes the workbook and answers the request with it. Returns 0, or -1 after answering 500. */
static int book_send(Request *req, Book *b, const char *filename)
{
    lxw_error err = workbook_close(b->wb);
    if (err != LXW_NO_ERROR)
        log_error("import xlsx: %s", lxw_strerror(err));
    bool ok = err == LXW_NO_ERROR && resp_download_file(req, XLSX_TYPE, filename, b->path, true) == 0;
    if (!ok)
        g_unlink(b->path);
    g_free(b->path);
    if (!ok) {
        resp_error(req, 500);
        return -1;
    }
    return 0;
}

/* ==== pages ================================================================================= */

static bool may_update(Request *req)
{
    return auth_can(req, "customers.edit");
}

static bool may_choose_owner(Request *req)
{
    return req->user->is_admin || req->user->scope > SCOPE_OWN;
}

/* Owner choices: me first, then the active people in my scope, then the pool (value "0"). */
static PGresult *owner_rows(Request *req)
{
    SqlBuf *q = sql_new(req->arena,
        "SELECT u.id::text, CASE WHEN u.display_name <> '' AND u.display_name <> u.username"
        "  THEN u.display_name || ' (' || u.username || ')' ELSE u.username END"
        "  FROM users u WHERE u.active AND u.id <> ");
    sql_add(q, sql_param(q, arena_printf(req->arena, "%ld", req->user->id)));
    sql_add(q, " AND ");
    if (scope_filter(req, q, "u.id", NULL) < 0)
        return NULL;
    sql_add(q, arena_printf(req->arena, " ORDER BY lower(u.display_name), lower(u.username), u.id LIMIT %d",
                            OWNER_OPTIONS_MAX));
    return sql_exec_prepared(q);
}

static int push_owner_options(Request *req, View *v, long selected)
{
    GPtrArray *rows = g_ptr_array_new();
    const char *me = req->user->display_name && *req->user->display_name ? req->user->display_name
                                                                          : req->user->username;
    const char **row = arena_alloc(req->arena, sizeof(char *) * 4);
    row[0] = arena_printf(req->arena, "%ld", req->user->id);
    row[1] = arena_printf(req->arena, "%s (%s)", i18n_get(req->lang, N_("Me")), me);
    row[2] = selected == req->user->id ? "1" : "";
    g_ptr_array_add(rows, row);
    if (may_choose_owner(req)) {
        PGresult *r = owner_rows(req);
        if (!r) {
            g_ptr_array_free(rows, TRUE);
            return -1;
        }
        for (int i = 0; i < PQntuples(r); i++) {
            row = arena_alloc(req->arena, sizeof(char *) * 4);
            row[0] = PQgetvalue(r, i, 0);
            row[1] = PQgetvalue(r, i, 1);
            row[2] = atol(row[0]) == selected ? "1" : "";
            g_ptr_array_add(rows, row);
        }
        row = arena_alloc(req->arena, sizeof(char *) * 4);
        row[0] = "0";
        row[1] = i18n_get(req->lang, N_("Public pool (no owner)"));
        row[2] = selected == 0 ? "1" : "";
        g_ptr_array_add(rows, row);
    }
    view_set_table(v, "owners", rows);
    g_ptr_array_free(rows, TRUE);
    return 0;
}

static void push_mode(Request *req, View *v, Mode mode)
{
    view_set(v, "mode", mode_codes[mode]);
    view_set_int(v, "has_update", may_update(req));
}

/* Reads mode and owner from the posted form; a message (msgid) when they are not acceptable. */
static const char *read_mode_owner(Request *req, Mode *mode, long *owner)
{
    const char *m = req_form(req, "mode");
    *mode = MODE_SKIP;
    bool found = false;
    for (int k = 0; k < 3; k++)
        if (m && strcmp(m, mode_codes[k]) == 0) {
            *mode = (Mode)k;
            found = true;
        }
    if (!found)
        return N_("Choose what to do with customers that already exist.");
    if (*mode == MODE_UPDATE && !may_update(req))
        return N_("You may not edit customers: choose to skip existing customers or to stop.");
    const char *o = req_form(req, "owner");
    long id = 0;
    if (!o || !*o)
        *owner = req->user->id;
    else if (strcmp(o, "0") == 0)
        *owner = 0;
    else if (customers_parse_id(o, &id))
        *owner = id;
    else
        return N_("Choose the owner of the new customers from the list.");
    int ok = owner_ok(req, *owner);
    if (ok < 0)
        return "";
    if (!ok)
        return N_("Choose the owner of the new customers from the list.");
    return NULL;
}

static void render_start(Request *req, const char *message, Mode mode, long owner, int status)
{
    View *v = view_new(req);
    view_set_tr(v, "title", N_("Import customers"));
    view_set(v, "message", message ? message : "");
    push_mode(req, v, mode);
    if (push_owner_options(req, v, owner) < 0) {
        resp_error(req, 503);
        return;
    }
    view_render(req, v, "import/start", status);
}

/* GET /customers/import: 200 the steps, the template link and the upload form. */
static void start_page(Request *req)
{
    render_start(req, NULL, MODE_SKIP, req->user->id, 200);
}

/* GET /customers/import/template.xlsx: 200 the template (headers in the caller's language, an
 * example row in Chinese, a second sheet with the names the lists accept). */
static void template_xlsx(Request *req)
{
    PGresult *lk = db_exec0(req->arena,
        "SELECT kind, name FROM lookups WHERE active AND kind IN"
        " ('customer_category', 'customer_level', 'customer_source', 'industry') ORDER BY kind, sort, id");
    if (!lk) {
        resp_error(req, 503);
        return;
    }
    Book b;
    if (book_open(&b, false) < 0) {
        resp_error(req, 500);
        return;
    }
    lxw_worksheet *ws = workbook_add_worksheet(b.wb, i18n_get(req->lang, N_("Customers")));
    lxw_worksheet *lists = workbook_add_worksheet(b.wb, i18n_get(req->lang, N_("Allowed values")));
    for (int t = 1; t < T__MAX; t++) {
        int c = t - 1;
        worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, t == T_NAME || t == T_ADDRESS ? 28 : 16, NULL);
        book_text(&b, ws, 0, c, i18n_get(req->lang, targets[t].label), t == T_NAME ? b.required : b.head);
    }
    /* Examples: the first name of each list as configured, the rest fixed. */
    for (int t = 1; t < T__MAX; t++) {
        const char *ex = targets[t].example;
        if (t == T_STATUS)
            ex = i18n_get("zh_CN", customer_statuses[0].label);
        for (int i = 0; !ex && i < PQntuples(lk); i++)
            if (strcmp(PQgetvalue(lk, i, 0), targets[t].lookup) == 0)
                ex = PQgetvalue(lk, i, 1);
        book_text(&b, ws, 1, t - 1, ex, b.example);
    }
    worksheet_freeze_panes(ws, 1, 0);
    /* The allowed names, one column per list. */
    const int list_targets[] = {T_CATEGORY, T_LEVEL, T_SOURCE, T_INDUSTRY, T_STATUS};
    for (size_t j = 0; j < G_N_ELEMENTS(list_targets); j++) {
        int t = list_targets[j], row = 1;
        worksheet_set_column(lists, (lxw_col_t)j, (lxw_col_t)j, 18, NULL);
        book_text(&b, lists, 0, (int)j, i18n_get(req->lang, targets[t].label), b.head);
        if (t == T_STATUS) {
            for (const Choice *c = customer_statuses; c->value; c++)
                book_text(&b, lists, row++, (int)j, i18n_get(req->lang, c->label), NULL);
            continue;
        }
        for (int i = 0; i < PQntuples(lk); i++)
            if (strcmp(PQgetvalue(lk, i, 0), targets[t].lookup) == 0)
                book_text(&b, lists, row++, (int)j, PQgetvalue(lk, i, 1), NULL);
    }
    book_send(req, &b, strcmp(req->lang, "en") == 0 ? "customer-import-template.xlsx" : "客户导入模板.xlsx");
}

/* A file name as people see it: no directories, at most 100 characters. */
static const char *display_name(Request *req, const char *name)
{
    if (!name || !*name)
        return i18n_get(req->lang, N_("(no name)"));
    const char *slash = strrchr(name, '/');
    if (slash)
        name = slash + 1;
    char buf[512];
    g_utf8_strncpy(buf, name, 100);
    return arena_strdup(req->arena, buf);
}

/* POST /customers/import (multipart: file, mode, owner): 303 to the mapping step; 422 with the
 * form and a message when the file cannot be imported (format, encoding, empty, too big). */
static void upload(Request *req)
{
    Mode mode;
    long owner = req->user->id;
    const char *problem = read_mode_owner(req, &mode, &owner);
    if (problem && !*problem) {
        resp_error(req, 503);
        return;
    }
    if (problem) {
        render_start(req, i18n_get(req->lang, problem), mode, owner, 422);
        return;
    }
    const UploadedFile *up = req_file(req, "file");
    if (!up) {
        render_start(req, i18n_get(req->lang, N_("Choose the file to import.")), mode, owner, 422);
        return;
    }
    if (up->size == 0) {
        render_start(req, i18n_get(req->lang, N_("The file is empty.")), mode, owner, 422);
        return;
    }
    if (up->size > IMPORT_FILE_MAX) {
        render_start(req, i18n_get(req->lang, N_("The file is larger than 10 MB. Split it into smaller files.")),
                     mode, owner, 422);
        return;
    }
    /* Read it whole now: a file that cannot be imported is refused before anything is kept. */
    Sheet sh;
    const char *msg = NULL, *format = "csv", *encoding = "UTF-8";
    if (sheet_read(req, up->path, -1, &sh, &msg, &format, &encoding) < 0) {
        render_start(req, msg, mode, owner, 422);
        return;
    }
    if (sh.rows->len == 0) {
        render_start(req, i18n_get(req->lang, N_("The file has a header row but no customers below it.")),
                     mode, owner, 422);
        return;
    }
    sweep_expired(req);
    unsigned char rnd[16];
    randombytes_buf(rnd, sizeof rnd);
    char token[33];
    for (int i = 0; i < 16; i++)
        snprintf(token + 2 * i, 3, "%02x", rnd[i]);
    const char *root = imports_root(req->arena);
    const char *dir = arena_printf(req->arena, "%s/%s", root, token);
    if (g_mkdir_with_parents(root, 0700) < 0 || g_mkdir(dir, 0700) < 0) {
        log_error("import: cannot create %s: %s", dir, g_strerror(errno));
        resp_error(req, 500);
        return;
    }
    const char *file = strcmp(format, "xlsx") == 0 ? "source.xlsx" : "source.csv";
    const char *dest = arena_printf(req->arena, "%s/%s", dir, file);
    /* The temp file is on the same file system (<var>/tmp): moving it is enough; the arena's
     * cleanup then finds nothing to unlink. */
    if (g_rename(up->path, dest) < 0) {
        gchar *data = NULL;
        gsize len = 0;
        GError *err = NULL;
        if (!g_file_get_contents(up->path, &data, &len, &err) ||
            !g_file_set_contents(dest, data, (gssize)len, &err)) {
            log_error("import: cannot keep the upload: %s", err ? err->message : "?");
            if (err)
                g_error_free(err);
            g_free(data);
            remove_dir(dir);
            resp_error(req, 500);
            return;
        }
        g_free(data);
    }
    Import im = {0};
    im.token = token;
    im.dir = dir;
    im.state_path = arena_printf(req->arena, "%s/state.ini", dir);
    im.kf = arena_defer(req->arena, keyfile_free, g_key_file_new());
    GKeyFile *kf = im.kf;
    g_key_file_set_int64(kf, "import", "user_id", req->user->id);
    g_key_file_set_int64(kf, "import", "created", g_get_real_time() / G_USEC_PER_SEC);
    g_key_file_set_string(kf, "import", "file", file);
    g_key_file_set_string(kf, "import", "filename", display_name(req, up->filename));
    g_key_file_set_string(kf, "import", "format", format);
    g_key_file_set_string(kf, "import", "encoding", encoding);
    g_key_file_set_int64(kf, "import", "rows", sh.rows->len);
    g_key_file_set_string(kf, "import", "mode", mode_codes[mode]);
    g_key_file_set_int64(kf, "import", "owner_id", owner);
    auto_map(&sh, im.map);
    state_put_mapping(&im, sh.ncols);
    g_key_file_set_boolean(kf, "import", "mapped", FALSE); /* a guess until confirmed */
    if (state_save(&im) < 0) {
        remove_dir(dir);
        resp_error(req, 500);
        return;
    }
    resp_redirect(req, arena_printf(req->arena, "/customers/import/map?t=%s", token));
}

static void push_file_info(View *v, const Import *im, int nrows)
{
    view_set(v, "token", im->token);
    view_set(v, "filename", im->filename);
    view_set(v, "format", strcmp(im->format, "xlsx") == 0 ? "Excel (.xlsx)" : "CSV");
    view_set(v, "encoding", strcmp(im->format, "xlsx") == 0 ? "" : im->encoding);
    view_set_int(v, "n_file_rows", nrows);
}

static void render_map(Request *req, Import *im, Sheet *sh, long nrows, const char *message, int status)
{
    View *v = view_new(req);
    view_set_tr(v, "title", N_("Import customers: columns"));
    push_file_info(v, im, (int)nrows);
    view_set(v, "message", message ? message : "");
    push_mode(req, v, im->mode);
    if (push_owner_options(req, v, im->owner_id) < 0) {
        resp_error(req, 503);
        return;
    }
    /* Choices: customer fields, then contact fields. */
    GPtrArray *ct = g_ptr_array_new(), *kt = g_ptr_array_new();
    for (int t = 1; t < T__MAX; t++) {
        const char **row = arena_alloc(req->arena, sizeof(char *) * 3);
        row[0] = targets[t].key;
        row[1] = i18n_get(req->lang, targets[t].label);
        g_ptr_array_add(is_contact_target(t) ? kt : ct, row);
    }
    view_set_table(v, "customer_targets", ct);
    view_set_table(v, "contact_targets", kt);
    g_ptr_array_free(ct, TRUE);
    g_ptr_array_free(kt, TRUE);
    GPtrArray *cols = g_ptr_array_new();
    bool name_mapped = false;
    for (int c = 0; c < sh->ncols && c < IMPORT_COLS_MAX; c++) {
        const char **row = arena_alloc(req->arena, sizeof(char *) * 6);
        row[0] = arena_printf(req->arena, "%d", c);
        row[1] = col_letters(req->arena, c);
        row[2] = header_label(req, sh, c);
        GString *s = g_string_new(NULL);
        for (guint i = 0; i < sh->rows->len && i < SAMPLE_ROWS; i++) {
            const char *cell = cell_of(g_ptr_array_index(sh->rows, i), c);
            if (!*cell)
                continue;
            if (s->len)
                g_string_append(s, " · ");
            char buf[200];
            g_utf8_strncpy(buf, cell, 30);
            g_string_append(s, buf);
        }
        row[3] = arena_strdup(req->arena, s->str);
        g_string_free(s, TRUE);
        row[4] = im->map[c] ? targets[im->map[c]].key : "";
        name_mapped |= im->map[c] == T_NAME;
        g_ptr_array_add(cols, row);
    }
    view_set_columns(v, (const char *const[]){"index", "letter", "header", "samples", "target", NULL});
    view_set_table(v, "cols", cols);
    g_ptr_array_free(cols, TRUE);
    view_set_int(v, "has_name", name_mapped);
    view_render(req, v, "import/map", status);
}

/* GET /customers/import/map?t=: 200 the columns of the file with a field chosen for each (first
 * guess by header, in either language); 404 unknown token, someone else's, or expired. */
static void map_page(Request *req)
{
    Import *im = import_load(req);
    if (!im)
        return;
    if (im->committed) {
        resp_redirect(req, import_url(req, im, "done"));
        return;
    }
    Sheet sh;
    const char *msg = NULL;
    if (sheet_read(req, im->src_path, SAMPLE_ROWS, &sh, &msg, NULL, NULL) < 0) {
        resp_error(req, 500);
        return;
    }
    long nrows = (long)g_key_file_get_int64(im->kf, "import", "rows", NULL);
    render_map(req, im, &sh, nrows, NULL, 200);
}

/* POST /customers/import/map?t= (col_<n> = field key or "", mode, owner): 303 to the preview;
 * 422 with the mapping page when the name column is missing or a field is chosen twice; 404 as
 * for the mapping page. */
static void map_submit(Request *req)
{
    Import *im = import_load(req);
    if (!im)
        return;
    if (im->committed) {
        resp_redirect(req, import_url(req, im, "done"));
        return;
    }
    Sheet sh;
    const char *msg = NULL;
    if (sheet_read(req, im->src_path, SAMPLE_ROWS, &sh, &msg, NULL, NULL) < 0) {
        resp_error(req, 500);
        return;
    }
    long nrows = (long)g_key_file_get_int64(im->kf, "import", "rows", NULL);
    const char *problem = read_mode_owner(req, &im->mode, &im->owner_id);
    if (problem && !*problem) {
        resp_error(req, 503);
        return;
    }
    int seen[T__MAX];
    for (int t = 0; t < T__MAX; t++)
        seen[t] = -1;
    const char *twice = NULL;
    for (int c = 0; c < sh.ncols && c < IMPORT_COLS_MAX; c++) {
        const char *k = req_form(req, arena_printf(req->arena, "col_%d", c));
        int t = k && *k ? target_by_key(k) : T_NONE;
        if (k && *k && t == T_NONE)
            problem = problem ? problem : N_("Choose the fields from the lists.");
        if (t && seen[t] >= 0 && !twice)
            twice = i18n_get(req->lang, targets[t].label);
        if (t && seen[t] < 0)
            seen[t] = c;
        im->map[c] = t;
    }
    if (!problem && seen[T_NAME] < 0)
        problem = N_("Choose the column that holds the customer name: without it nothing can be imported.");
    if (problem || twice) {
        const char *text = problem ? i18n_get(req->lang, problem)
                                   : arena_printf(req->arena,
                                                  i18n_get(req->lang, N_("“%s” is chosen for more than one column: choose it once.")),
                                                  twice);
        render_map(req, im, &sh, nrows, text, 422);
        return;
    }
    g_key_file_set_string(im->kf, "import", "mode", mode_codes[im->mode]);
    g_key_file_set_int64(im->kf, "import", "owner_id", im->owner_id);
    state_put_mapping(im, sh.ncols);
    if (state_save(im) < 0) {
        resp_error(req, 500);
        return;
    }
    resp_redirect(req, import_url(req, im, "preview"));
}

/* The rows table of the preview: built here because its columns are the file's own; every piece
 * of text goes through view_escape. */
static const char *preview_table(Request *req, Eval *ev, int *shown, bool *problems_only)
{
    Arena *a = req->arena;
    const Sheet *sh = ev->sh;
    int nrows = (int)sh->rows->len;
    *problems_only = nrows > PREVIEW_ROWS_MAX;
    GString *h = g_string_new("<table class=\"table compact\"><thead><tr>");
    g_string_append_printf(h, "<th class=\"num\">%s</th><th>%s</th>",
                           view_escape(a, i18n_get(req->lang, N_("Row"))),
                           view_escape(a, i18n_get(req->lang, N_("Result"))));
    for (int c = 0; c < sh->ncols && c < IMPORT_COLS_MAX; c++)
        if (ev->im->map[c])
            g_string_append_printf(h, "<th title=\"%s\">%s</th>",
                                   view_escape(a, i18n_get(req->lang, targets[ev->im->map[c]].label)),
                                   view_escape(a, header_label(req, sh, c)));
    g_string_append_printf(h, "<th>%s</th></tr></thead><tbody>",
                           view_escape(a, i18n_get(req->lang, N_("Messages"))));
    *shown = 0;
    for (int i = 0; i < nrows && *shown < PREVIEW_ROWS_MAX; i++) {
        const RowOut *o = &ev->out[i];
        if (*problems_only && o->outcome != O_ERROR && o->outcome != O_SKIP)
            continue;
        const Row *r = g_ptr_array_index(sh->rows, i);
        (*shown)++;
        g_string_append_printf(h, "<tr data-row=\"%d\" data-outcome=\"%s\"><td class=\"num\">%d</td>"
                                  "<td><span class=\"%s\">%s</span></td>",
                               r->line, outcome_codes[o->outcome], r->line, outcome_badges[o->outcome],
                               view_escape(a, i18n_get(req->lang, outcome_labels[o->outcome])));
        for (int c = 0; c < sh->ncols && c < IMPORT_COLS_MAX; c++) {
            if (!ev->im->map[c])
                continue;
            const char *cell = cell_of(r, c);
            char buf[CELL_SHOWN_MAX * 4 + 8];
            g_utf8_strncpy(buf, cell, CELL_SHOWN_MAX);
            if (g_utf8_strlen(cell, -1) > CELL_SHOWN_MAX)
                g_strlcat(buf, "…", sizeof buf);
            g_string_append_printf(h, "<td>%s</td>", view_escape(a, buf));
        }
        g_string_append(h, "<td>");
        for (const Msg *m = o->msgs; m; m = m->next)
            g_string_append_printf(h, "<div class=\"%s\">%s</div>", m->error ? "field-error" : "muted small",
                                   view_escape(a, msg_text(req, sh, m)));
        g_string_append(h, "</td></tr>");
    }
    g_string_append(h, "</tbody></table>");
    const char *out = arena_strdup(a, h->str);
    g_string_free(h, TRUE);
    return out;
}

/* Runs the evaluation for the preview (no writes). Returns 0, or -1 after answering. */
static int preview_eval(Request *req, Import *im, Sheet *sh, Eval *ev)
{
    const char *msg = NULL;
    if (sheet_read(req, im->src_path, -1, sh, &msg, NULL, NULL) < 0) {
        log_error("import: stored file unreadable: %s", msg ? msg : "?");
        resp_error(req, 500);
        return -1;
    }
    memset(ev, 0, sizeof *ev);
    ev->im = im;
    ev->sh = sh;
    if (evaluate(req, ev) < 0) {
        resp_error(req, 503);
        return -1;
    }
    return 0;
}

static void render_preview(Request *req, Import *im, Eval *ev, gint64 eval_us, const char *alert,
                           int status)
{
    View *v = view_new(req);
    view_set_tr(v, "title", N_("Import customers: preview"));
    push_file_info(v, im, ev->n.rows);
    view_set(v, "alert", alert ? alert : "");
    view_set(v, "mode", mode_codes[im->mode]);
    view_set_int(v, "n_new", ev->n.created);
    view_set_int(v, "n_update", ev->n.updated);
    view_set_int(v, "n_contacts", ev->n.contacts);
    view_set_int(v, "n_skip", ev->n.skipped);
    view_set_int(v, "n_error", ev->n.errors);
    view_set_int(v, "n_rows", ev->n.rows);
    int shown = 0;
    bool problems_only = false;
    view_set_trusted_html(v, "rows_table", preview_table(req, ev, &shown, &problems_only));
    view_set_int(v, "n_shown", shown);
    view_set_int(v, "is_problems_only", problems_only);
    bool blocked = im->mode == MODE_STOP && ev->n.errors > 0;
    int writes = ev->n.created + ev->n.updated + ev->n.contacts;
    view_set_int(v, "is_blocked", blocked);
    view_set_int(v, "has_writes", writes > 0);
    view_set_int(v, "has_commit", !blocked && writes > 0);
    /* The rate this server measured at its last large commit covers the check and the writes. */
    gint64 est_us = (gint64)writes * rate_get(req);
    const char *fmt = !blocked && writes > 0
        ? i18n_get(req->lang, N_("Checking the rows took %ld ms; importing them will take about %ld s. The rows are saved together or not at all: keep this page open until the result appears."))
        : i18n_get(req->lang, N_("Checking the rows took %ld ms."));
    view_set(v, "estimate", arena_printf(req->arena, fmt, (long)(eval_us / 1000), (long)((est_us + 999999) / 1000000)));
    view_set(v, "digest", eval_digest(ev));
    view_set(v, "owner_name", "");
    if (im->owner_id == 0) {
        view_set_tr(v, "owner_name", N_("Public pool (no owner)"));
    } else {
        PGresult *r = db_exec(req->arena,
            "SELECT coalesce(nullif(display_name, ''), username) FROM users WHERE id = $1",
            arena_printf(req->arena, "%ld", im->owner_id));
        if (r && PQntuples(r))
            view_set(v, "owner_name", PQgetvalue(r, 0, 0));
    }
    view_render(req, v, "import/preview", status);
}

/* GET /customers/import/preview?t=: 200 every row's outcome (new / update / contact / skip /
 * error with messages), the counts, the expected commit time and the commit button; 303 to the
 * mapping while none is confirmed; 404 as for the mapping page. */
static void preview_page(Request *req)
{
    Import *im = import_load(req);
    if (!im)
        return;
    if (im->committed) {
        resp_redirect(req, import_url(req, im, "done"));
        return;
    }
    if (!im->mapped) {
        resp_redirect(req, import_url(req, im, "map"));
        return;
    }
    Sheet sh;
    Eval ev;
    gint64 t0 = g_get_monotonic_time();
    if (preview_eval(req, im, &sh, &ev) < 0)
        return;
    render_preview(req, im, &ev, g_get_monotonic_time() - t0, NULL, 200);
}

/* GET /customers/import/failed.xlsx?t=: 200 the rows with errors, in their original columns plus
 * the messages (after a commit: the rows that were not imported for an error); 404 as above. */
static void failed_xlsx(Request *req)
{
    Import *im = import_load(req);
    if (!im)
        return;
    g_autofree gchar *kept = g_build_filename(im->dir, "failed.xlsx", NULL);
    const char *fname = arena_printf(req->arena, "%s.xlsx", strcmp(req->lang, "en") == 0 ? "failed-rows" : "导入失败行");
    if (im->committed) {
        if (resp_download_file(req, XLSX_TYPE, fname, kept, false) < 0)
            resp_error(req, 404);
        return;
    }
    if (!im->mapped) {
        resp_redirect(req, import_url(req, im, "map"));
        return;
    }
    Sheet sh;
    Eval ev;
    if (preview_eval(req, im, &sh, &ev) < 0)
        return;
    Book b;
    if (book_open(&b, true) < 0) {
        resp_error(req, 500);
        return;
    }
    lxw_worksheet *ws = workbook_add_worksheet(b.wb, i18n_get(req->lang, N_("Failed rows")));
    for (int c = 0; c < sh.ncols; c++) {
        worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, 16, NULL);
        book_text(&b, ws, 0, c, sh.headers[c], b.head);
    }
    worksheet_set_column(ws, (lxw_col_t)sh.ncols, (lxw_col_t)sh.ncols, 60, NULL);
    book_text(&b, ws, 0, sh.ncols, i18n_get(req->lang, N_("Errors")), b.required);
    worksheet_freeze_panes(ws, 1, 0);
    int out = 1;
    for (guint i = 0; i < sh.rows->len; i++) {
        if (ev.out[i].outcome != O_ERROR)
            continue;
        const Row *r = g_ptr_array_index(sh.rows, i);
        for (int c = 0; c < r->n; c++)
            book_text(&b, ws, out, c, r->cells[c], NULL);
        book_text(&b, ws, out, sh.ncols, row_messages(req, &sh, &ev.out[i], true), NULL);
        out++;
    }
    book_send(req, &b, fname);
}

/* Writes the failed rows of a commit next to the upload, for the result page's download. */
static void keep_failed(Request *req, Import *im, Eval *ev)
{
    Book b;
    if (ev->n.errors == 0 || book_open(&b, true) < 0)
        return;
    const Sheet *sh = ev->sh;
    lxw_worksheet *ws = workbook_add_worksheet(b.wb, i18n_get(req->lang, N_("Failed rows")));
    for (int c = 0; c < sh->ncols; c++) {
        worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, 16, NULL);
        book_text(&b, ws, 0, c, sh->headers[c], b.head);
    }
    worksheet_set_column(ws, (lxw_col_t)sh->ncols, (lxw_col_t)sh->ncols, 60, NULL);
    book_text(&b, ws, 0, sh->ncols, i18n_get(req->lang, N_("Errors")), b.required);
    worksheet_freeze_panes(ws, 1, 0);
    int out = 1;
    for (guint i = 0; i < sh->rows->len; i++) {
        if (ev->out[i].outcome != O_ERROR)
            continue;
        const Row *r = g_ptr_array_index(sh->rows, i);
        for (int c = 0; c < r->n; c++)
            book_text(&b, ws, out, c, r->cells[c], NULL);
        book_text(&b, ws, out, sh->ncols, row_messages(req, sh, &ev->out[i], true), NULL);
        out++;
    }
    lxw_error err = workbook_close(b.wb);
    g_autofree gchar *dest = g_build_filename(im->dir, "failed.xlsx", NULL);
    if (err != LXW_NO_ERROR || g_rename(b.path, dest) < 0)
        g_unlink(b.path);
    g_free(b.path);
}

/* One commit at a time per import (a double click, two tabs): an exclusive lock on a file in the
 * import's folder, released by the kernel even if the worker dies. */
static int lock_import(Request *req, Import *im)
{
    const char *p = arena_printf(req->arena, "%s/lock", im->dir);
    int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        close(fd);
        return -2;
    }
    return fd;
}

/* POST /customers/import/commit?t= (digest of the preview shown): 303 to the result after writing
 * every importable row in one transaction; 409 with the fresh preview when the rows no longer come
 * out as previewed (nothing written); 422 with the preview when the mode is "stop" and rows have
 * errors, or a row cannot be saved (nothing written); 404 as above. */
static void commit(Request *req)
{
    Import *im = import_load(req);
    if (!im)
        return;
    if (im->committed) {
        resp_flash(req, "ok", N_("This file has been imported already."));
        resp_redirect(req, import_url(req, im, "done"));
        return;
    }
    if (!im->mapped) {
        resp_redirect(req, import_url(req, im, "map"));
        return;
    }
    int lock = lock_import(req, im);
    if (lock == -2) {
        resp_flash(req, "error", N_("This import is being committed already."));
        resp_redirect(req, import_url(req, im, "preview"));
        return;
    }
    if (lock < 0) {
        resp_error(req, 500);
        return;
    }
    gint64 t0 = g_get_monotonic_time();
    Sheet sh;
    const char *msg = NULL;
    progress_write(im, 0, 0); /* reading the file: no total yet */
    if (sheet_read(req, im->src_path, -1, &sh, &msg, NULL, NULL) < 0) {
        close(lock);
        resp_error(req, 500);
        return;
    }
    Eval ev;
    memset(&ev, 0, sizeof ev);
    ev.im = im;
    ev.sh = &sh;
    ev.commit = true;
    ev.failed_row = -1;
    /* Thousands of small statements run in this transaction, among them the customer module's
     * audit snapshot with its eight joins: planning each one afresh with every join order would
     * cost more than running it, so the joins are planned in the order they are written. */
    if (db_begin(req->arena) < 0 || !db_exec0(req->arena, "SET LOCAL join_collapse_limit = 1")) {
        db_rollback(req->arena);
        close(lock);
        resp_error(req, 503);
        return;
    }
    /* Customer numbers for every row in one step (the unused ones go back before the commit). */
    int rc = sh.rows->len ? numbering_reserve(req->arena, "customer", (long)sh.rows->len) : 0;
    audit_batch_begin(req); /* an audit row per customer and per contact, 1,000 per statement */
    if (rc == 0)
        rc = evaluate(req, &ev);
    if (rc == 0 && audit_batch_end(req) < 0)
        rc = -1;
    else if (rc != 0)
        audit_batch_pending(); /* it is all rolled back: nothing to write */
    if (rc == 0)
        rc = numbering_release(req->arena);
    const char *seen = req_form(req, "digest");
    bool changed = rc == 0 && (!seen || strcmp(seen, eval_digest(&ev)) != 0);
    bool blocked = rc == 0 && im->mode == MODE_STOP && ev.n.errors > 0;
    if (rc == 0 && !changed && !blocked) {
        AuditDiff *d = audit_diff_new(req->arena);
        audit_diff(d, "file", "", im->filename);
        audit_diff(d, "mode", "", mode_codes[im->mode]);
        audit_diff(d, "rows", "", arena_printf(req->arena, "%d", ev.n.rows));
        audit_diff(d, "created", "", arena_printf(req->arena, "%d", ev.n.created));
        audit_diff(d, "updated", "", arena_printf(req->arena, "%d", ev.n.updated));
        audit_diff(d, "contacts", "", arena_printf(req->arena, "%d", ev.n.contacts));
        audit_diff(d, "skipped", "", arena_printf(req->arena, "%d", ev.n.skipped));
        audit_diff(d, "errors", "", arena_printf(req->arena, "%d", ev.n.errors));
        /* Data, the same in every language; the numbers are also in the changes. */
        const char *label = arena_printf(req->arena, "%s: %d new, %d updated, %d contacts", im->filename,
                                         ev.n.created, ev.n.updated, ev.n.contacts);
        rc = audit_write(req, "customers", "import", "customer", 0, label, d, "ok");
        if (rc == 0)
            rc = db_commit(req->arena);
        /* The search indexes' pending entries merged now rather than read by every search until
         * VACUUM (0015). The import stands whatever this answers. */
        if (rc == 0 && !db_exec0(req->arena, "SELECT kx_search_tidy()"))
            log_warn("import: the search indexes were not tidied");
    }
    if (rc < 0 || changed || blocked) {
        db_rollback(req->arena);
        int failed = ev.failed_row;
        const char *fail_text = NULL;
        if (failed >= 0) {
            const Row *r = g_ptr_array_index(sh.rows, failed);
            fail_text = arena_printf(req->arena, i18n_get(req->lang, N_("Nothing was imported: row %d could not be saved (%s). The preview below shows the rows as they are now.")),
                                     r->line, row_messages(req, &sh, &ev.out[failed], true));
        } else if (rc < 0) {
            close(lock);
            resp_error(req, 503);
            return;
        }
        /* Show the rows as they come out now. */
        Sheet sh2;
        Eval ev2;
        gint64 t1 = g_get_monotonic_time();
        if (preview_eval(req, im, &sh2, &ev2) < 0) {
            close(lock);
            return;
        }
        const char *alert = fail_text ? fail_text
                          : blocked ? i18n_get(req->lang, N_("Nothing was imported: some rows have errors and the mode is “stop”."))
                          : i18n_get(req->lang, N_("Nothing was imported: the data changed since the preview (someone saved customers meanwhile, or the preview is from another tab). Check the rows below and commit again."));
        close(lock);
        render_preview(req, im, &ev2, g_get_monotonic_time() - t1, alert, changed && !fail_text ? 409 : 422);
        return;
    }
    gint64 us = g_get_monotonic_time() - t0, ms = us / 1000;
    rate_put(req, us, ev.n.created + ev.n.updated + ev.n.contacts);
    keep_failed(req, im, &ev);
    GKeyFile *kf = im->kf;
    g_key_file_set_boolean(kf, "result", "committed", TRUE);
    g_key_file_set_int64(kf, "result", "at", g_get_real_time() / G_USEC_PER_SEC);
    g_key_file_set_int64(kf, "result", "ms", ms);
    g_key_file_set_integer(kf, "result", "rows", ev.n.rows);
    g_key_file_set_integer(kf, "result", "created", ev.n.created);
    g_key_file_set_integer(kf, "result", "updated", ev.n.updated);
    g_key_file_set_integer(kf, "result", "contacts", ev.n.contacts);
    g_key_file_set_integer(kf, "result", "skipped", ev.n.skipped);
    g_key_file_set_integer(kf, "result", "errors", ev.n.errors);
    /* The data is in the database: a state file that cannot be written only loses the summary. */
    state_save(im);
    close(lock);
    log_info("import %s: %d rows, %d created, %d updated, %d contacts in %ld ms", im->token,
             ev.n.rows, ev.n.created, ev.n.updated, ev.n.contacts, (long)ms);
    resp_flash(req, "ok", N_("Import finished."));
    resp_redirect(req, import_url(req, im, "done"));
}

/* GET /customers/import/done?t=: 200 what the commit did (counts, time); 303 to the preview
 * before a commit; 404 as above. */
static void done_page(Request *req)
{
    Import *im = import_load(req);
    if (!im)
        return;
    if (!im->committed) {
        resp_redirect(req, import_url(req, im, im->mapped ? "preview" : "map"));
        return;
    }
    GKeyFile *kf = im->kf;
    View *v = view_new(req);
    view_set_tr(v, "title", N_("Import customers: done"));
    push_file_info(v, im, g_key_file_get_integer(kf, "result", "rows", NULL));
    view_set_int(v, "n_new", g_key_file_get_integer(kf, "result", "created", NULL));
    view_set_int(v, "n_update", g_key_file_get_integer(kf, "result", "updated", NULL));
    view_set_int(v, "n_contacts", g_key_file_get_integer(kf, "result", "contacts", NULL));
    view_set_int(v, "n_skip", g_key_file_get_integer(kf, "result", "skipped", NULL));
    view_set_int(v, "n_error", g_key_file_get_integer(kf, "result", "errors", NULL));
    gint64 ms = g_key_file_get_int64(kf, "result", "ms", NULL);
    view_set(v, "elapsed", ms < 10000 ? arena_printf(req->arena, "%ld ms", (long)ms)
                                      : arena_printf(req->arena, "%ld.%ld s", (long)(ms / 1000), (long)(ms % 1000 / 100)));
    view_render(req, v, "import/done", 200);
}

/* ==== routes ================================================================================ */

static const Route routes[] = {
    {"GET", "/customers/import", start_page, "customers.create", 0},
    {"POST", "/customers/import", upload, "customers.create", ROUTE_UPLOAD},
    {"GET", "/customers/import/template.xlsx", template_xlsx, "customers.create", 0},
    {"GET", "/customers/import/map", map_page, "customers.create", 0},
    {"POST", "/customers/import/map", map_submit, "customers.create", 0},
    {"GET", "/customers/import/preview", preview_page, "customers.create", 0},
    {"POST", "/customers/import/preview", map_submit, "customers.create", 0},
    {"GET", "/customers/import/failed.xlsx", failed_xlsx, "customers.create", 0},
    {"POST", "/customers/import/commit", commit, "customers.create", 0},
    {"GET", "/customers/import/progress", progress_page, "customers.create", 0},
    {"GET", "/customers/import/done", done_page, "customers.create", 0},
    {NULL, NULL, NULL, NULL, 0},
};

static const NavItem nav[] = {
    {NULL},
};

const Module customer_import_module = {"customer_import", routes, nav};
