/* config.c — defaults that make the local stack work with no file, then INI file, then environment. */
#include "config.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

Config cfg;
static unsigned char secret[32];

static void set_str(char **dst, const char *v)
{
    g_free(*dst);
    *dst = g_strdup(v);
}

static void env_str(char **dst, const char *name)
{
    const char *v = getenv(name);
    if (v && *v)
        set_str(dst, v);
}

static void env_int(int *dst, const char *name)
{
    const char *v = getenv(name);
    if (v && *v)
        *dst = atoi(v);
}

static void file_str(GKeyFile *kf, const char *grp, const char *key, char **dst)
{
    gchar *v = g_key_file_get_string(kf, grp, key, NULL);
    if (v) {
        g_free(*dst);
        *dst = g_strstrip(v);
    }
}

static void file_int(GKeyFile *kf, const char *grp, const char *key, int *dst)
{
    GError *e = NULL;
    int v = g_key_file_get_integer(kf, grp, key, &e);
    if (!e)
        *dst = v;
    g_clear_error(&e);
}

static int load_secret(void)
{
    int fd = open(cfg.secret_file, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, secret, sizeof secret);
        close(fd);
        if (n == (ssize_t)sizeof secret)
            return 0;
        log_error("secret file %s is shorter than 32 bytes", cfg.secret_file);
        return -1;
    }
    if (errno != ENOENT) {
        log_error("cannot read secret file %s: %s", cfg.secret_file, g_strerror(errno));
        return -1;
    }
    /* First start: create it (O_EXCL so concurrent starters agree on one secret). */
    randombytes_buf(secret, sizeof secret);
    fd = open(cfg.secret_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return load_secret();
        log_error("cannot create secret file %s: %s", cfg.secret_file, g_strerror(errno));
        return -1;
    }
    ssize_t n = write(fd, secret, sizeof secret);
    close(fd);
    return n == (ssize_t)sizeof secret ? 0 : -1;
}

int config_load(void)
{
    g_autofree gchar *cwd = g_get_current_dir();
    set_str(&cfg.root, cwd);
    env_str(&cfg.root, "KEXIN_ROOT");
    g_autofree gchar *defvar = g_build_filename(cfg.root, "var", NULL);
    set_str(&cfg.var, defvar);
    env_str(&cfg.var, "KEXIN_VAR");

    g_autofree gchar *sock = g_build_filename(cfg.var, "run", "kexin.sock", NULL);
    set_str(&cfg.socket, sock);
    set_str(&cfg.socket_group, NULL);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cfg.workers = (int)(cores > 0 ? cores * 2 : 2);
    cfg.max_requests = 10000;
    int body_mb = 10;
    cfg.field_max = 1000;
    int value_kb = 256;
    g_autofree gchar *pgrun = g_build_filename(cfg.var, "pgrun", NULL);
    g_autofree gchar *dsn = g_strdup_printf("host=%s dbname=kexin user=kexin_app", pgrun);
    g_autofree gchar *mdsn = g_strdup_printf("host=%s dbname=kexin user=kexin", pgrun);
    set_str(&cfg.dsn, dsn);
    set_str(&cfg.migrate_dsn, mdsn);
    cfg.session_idle_min = 30;
    cfg.session_abs_hours = 12;
    int secure = 0;
    g_autofree gchar *sf = g_build_filename(cfg.var, "secret", NULL);
    set_str(&cfg.secret_file, sf);
    set_str(&cfg.timezone, "Asia/Shanghai");
    char *proxies = g_strdup(""); /* none: X-Forwarded-For is ignored unless configured */

    const char *path = getenv("KEXIN_CONFIG");
    g_autofree gchar *defpath = g_build_filename(cfg.var, "kexin.ini", NULL);
    if (!path && g_file_test(defpath, G_FILE_TEST_EXISTS))
        path = defpath;
    if (path) {
        GKeyFile *kf = g_key_file_new();
        GError *e = NULL;
        if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &e)) {
            log_error("config %s: %s", path, e->message);
            g_error_free(e);
            g_key_file_free(kf);
            g_free(proxies);
            return -1;
        }
        file_str(kf, "server", "socket", &cfg.socket);
        file_str(kf, "server", "socket_group", &cfg.socket_group);
        file_int(kf, "server", "workers", &cfg.workers);
        file_int(kf, "server", "max_requests", &cfg.max_requests);
        file_int(kf, "server", "body_max_mb", &body_mb);
        file_int(kf, "server", "field_max", &cfg.field_max);
        file_int(kf, "server", "value_max_kb", &value_kb);
        file_str(kf, "database", "dsn", &cfg.dsn);
        file_str(kf, "database", "migrate_dsn", &cfg.migrate_dsn);
        file_int(kf, "session", "idle_minutes", &cfg.session_idle_min);
        file_int(kf, "session", "absolute_hours", &cfg.session_abs_hours);
        file_int(kf, "session", "secure_cookie", &secure);
        file_str(kf, "security", "secret_file", &cfg.secret_file);
        file_str(kf, "security", "trusted_proxies", &proxies);
        file_str(kf, "app", "timezone", &cfg.timezone);
        g_key_file_free(kf);
    }

    env_str(&cfg.socket, "KEXIN_SOCKET");
    env_str(&cfg.socket_group, "KEXIN_SOCKET_GROUP");
    env_int(&cfg.workers, "KEXIN_WORKERS");
    env_int(&cfg.max_requests, "KEXIN_MAX_REQUESTS");
    env_int(&body_mb, "KEXIN_BODY_MAX_MB");
    env_str(&cfg.dsn, "KEXIN_DSN");
    env_str(&cfg.migrate_dsn, "KEXIN_MIGRATE_DSN");
    env_int(&cfg.session_idle_min, "KEXIN_SESSION_IDLE_MIN");
    env_int(&cfg.session_abs_hours, "KEXIN_SESSION_ABS_HOURS");
    env_str(&cfg.secret_file, "KEXIN_SECRET_FILE");
    env_str(&proxies, "KEXIN_TRUSTED_PROXIES");
    env_str(&cfg.timezone, "KEXIN_TIMEZONE");

    cfg.secure_cookie = secure != 0;
    cfg.body_max = (size_t)(body_mb > 0 ? body_mb : 10) * 1024 * 1024;
    cfg.value_max = (size_t)(value_kb > 0 ? value_kb : 256) * 1024;
    if (cfg.workers < 1)
        cfg.workers = 1;
    if (cfg.max_requests < 1)
        cfg.max_requests = 10000;
    g_strfreev(cfg.trusted_proxies);
    cfg.trusted_proxies = g_strsplit_set(proxies, ", ", -1);
    g_free(proxies);

    if (sodium_init() < 0) {
        log_error("libsodium failed to initialise");
        return -1;
    }
    return load_secret();
}

const unsigned char *config_secret(void)
{
    return secret;
}
