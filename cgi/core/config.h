/* config.h — process-wide settings from one INI file (GKeyFile) plus KEXIN_* environment overrides. */
#ifndef KEXIN_CONFIG_H
#define KEXIN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct Config {
    char *root;         /* repository root: templates/, sql/, static/ live here */
    char *var;          /* runtime state: sockets, files, logs */
    char *socket;       /* FastCGI unix socket path */
    char *socket_group; /* group given the socket (nginx's), or NULL */
    int workers;        /* worker processes; default 2 per core */
    int max_requests;   /* a worker recycles after this many requests */
    size_t body_max;    /* largest accepted request body (bytes); nginx uses the same */
    int field_max;      /* most form/query fields per request */
    size_t value_max;   /* longest single urlencoded value (bytes) */
    char *dsn;          /* application database connection */
    char *migrate_dsn;  /* owner connection used by `kexin migrate` */
    int session_idle_min;
    int session_abs_hours;
    bool secure_cookie; /* force Secure cookies (otherwise: when the request came over https) */
    char *secret_file;  /* server secret for CSRF tokens; shared by all worker hosts */
    char **trusted_proxies; /* addresses whose X-Forwarded-For is believed */
    char *timezone;         /* the company's time zone: business dates, document numbers */
} Config;

extern Config cfg;

/* Loads defaults, then the file named by KEXIN_CONFIG (or var/kexin.ini when present), then
 * the environment. Returns 0, or -1 with a message logged. Safe to call again (SIGHUP). */
int config_load(void);
/* The 32-byte server secret (loaded or created at config_load). */
const unsigned char *config_secret(void);

#endif
