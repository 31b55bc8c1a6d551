/* pool.c — pre-fork worker pool: replace dead workers (with back-off), reload on SIGHUP, stop on SIGTERM. */
#include "pool.h"
#include "app.h"
#include "config.h"
#include "log.h"

#include <errno.h>
#include <fcgiapp.h>
#include <glib.h>
#include <grp.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 256
#define STOP_GRACE_S 15

typedef struct Worker {
    pid_t pid;
    int generation;
    gint64 started_us;
} Worker;

static volatile sig_atomic_t got_term, got_hup, got_chld;
static volatile sig_atomic_t worker_stop;

static void on_master_signal(int sig)
{
    if (sig == SIGTERM || sig == SIGINT)
        got_term = 1;
    else if (sig == SIGHUP)
        got_hup = 1;
    else if (sig == SIGCHLD)
        got_chld = 1;
}

static void on_worker_term(int sig)
{
    (void)sig;
    worker_stop = 1;
    FCGX_ShutdownPending();
}

/* No SA_RESTART: a blocked accept() must return EINTR so idle workers stop promptly. */
static void set_handler(int sig, void (*fn)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(sig, &sa, NULL);
}

static void block_signals(bool block)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGTERM);
    sigaddset(&s, SIGHUP);
    sigprocmask(block ? SIG_BLOCK : SIG_UNBLOCK, &s, NULL);
}

static int worker_main(int sock)
{
    set_handler(SIGTERM, on_worker_term);
    set_handler(SIGINT, SIG_IGN); /* Ctrl-C reaches the master, which stops us gracefully */
    set_handler(SIGHUP, SIG_IGN);
    set_handler(SIGCHLD, SIG_DFL);
    set_handler(SIGPIPE, SIG_IGN);
    /* A page body and its copies are 50–500 KB: above glibc's default mmap threshold every one
     * would be mapped, faulted in page by page and unmapped again per request. Keep them on the
     * heap and keep freed memory for the next request (a worker's peak stays small). */
    mallopt(M_MMAP_THRESHOLD, 16 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    if (config_load() < 0 || app_worker_init() < 0) {
        log_error("worker failed to initialise");
        return 2;
    }
    FCGX_Init();
    FCGX_Request fr;
    FCGX_InitRequest(&fr, sock, FCGI_FAIL_ACCEPT_ON_INTR);
    int served = 0;
    while (!worker_stop && served < cfg.max_requests) {
        block_signals(false);
        if (worker_stop)
            break;
        int rc = FCGX_Accept_r(&fr);
        /* A request in flight finishes even if SIGTERM arrives meanwhile. */
        block_signals(true);
        if (rc < 0)
            break;
        app_handle(&fr);
        FCGX_Finish_r(&fr);
        served++;
    }
    FCGX_Free(&fr, 1);
    app_worker_release();
    return 0;
}

static Worker workers[MAX_WORKERS];
static int generation;
static gint64 backoff_us;
static gint64 next_spawn_us;

static int count_current(void)
{
    int n = 0;
    for (int i = 0; i < MAX_WORKERS; i++)
        if (workers[i].pid > 0 && workers[i].generation == generation)
            n++;
    return n;
}

static int spawn(int sock)
{
    int slot = -1;
    for (int i = 0; i < MAX_WORKERS; i++)
        if (workers[i].pid == 0) {
            slot = i;
            break;
        }
    if (slot < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        log_error("fork: %s", g_strerror(errno));
        return -1;
    }
    if (pid == 0)
        _exit(worker_main(sock));
    workers[slot].pid = pid;
    workers[slot].generation = generation;
    workers[slot].started_us = g_get_monotonic_time();
    return 0;
}

static void signal_generation(int gen_below, int sig)
{
    for (int i = 0; i < MAX_WORKERS; i++)
        if (workers[i].pid > 0 && workers[i].generation < gen_below)
            kill(workers[i].pid, sig);
}

static int reap(void)
{
    int reaped = 0;
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < MAX_WORKERS; i++) {
            if (workers[i].pid != pid)
                continue;
            gint64 lived = g_get_monotonic_time() - workers[i].started_us;
            bool current = workers[i].generation == generation;
            workers[i].pid = 0;
            reaped++;
            if (WIFSIGNALED(status))
                log_warn("worker %d killed by signal %d", (int)pid, WTERMSIG(status));
            else if (WEXITSTATUS(status) != 0)
                log_warn("worker %d exited with %d", (int)pid, WEXITSTATUS(status));
            /* Workers dying young in a loop (bad config, broken template) get a growing
             * pause instead of a fork storm; a normal death is replaced at once. */
            if (current && lived < 1000000 && (WIFSIGNALED(status) || WEXITSTATUS(status))) {
                backoff_us = backoff_us ? MIN(backoff_us * 2, 10000000) : 250000;
                next_spawn_us = g_get_monotonic_time() + backoff_us;
            } else if (current) {
                backoff_us = 0;
            }
        }
    }
    return reaped;
}

static int open_socket(void)
{
    /* "host:port" or ":port" is FastCGI over TCP (worker hosts behind a remote nginx);
     * restrict callers with FCGI_WEB_SERVER_ADDRS. */
    if (cfg.socket[0] != '/') {
        int tcp = FCGX_OpenSocket(cfg.socket, SOMAXCONN);
        if (tcp < 0)
            log_error("cannot listen on %s", cfg.socket);
        return tcp;
    }
    g_autofree gchar *dir = g_path_get_dirname(cfg.socket);
    g_mkdir_with_parents(dir, 0755);
    unlink(cfg.socket);
    mode_t old = umask(0117);
    /* A deep queue: bursts wait in the kernel for a free worker instead of failing (502). */
    int sock = FCGX_OpenSocket(cfg.socket, SOMAXCONN);
    umask(old);
    if (sock < 0) {
        log_error("cannot listen on %s", cfg.socket);
        return -1;
    }
    chmod(cfg.socket, 0660);
    if (cfg.socket_group && *cfg.socket_group) {
        struct group *g = getgrnam(cfg.socket_group);
        if (!g || chown(cfg.socket, (uid_t)-1, g->gr_gid) != 0)
            log_warn("cannot give socket to group %s", cfg.socket_group);
    }
    return sock;
}

int pool_run(void)
{
    if (config_load() < 0)
        return 1;
    FCGX_Init();
    int sock = open_socket();
    if (sock < 0)
        return 1;
    set_handler(SIGTERM, on_master_signal);
    set_handler(SIGINT, on_master_signal);
    set_handler(SIGHUP, on_master_signal);
    set_handler(SIGCHLD, on_master_signal);
    set_handler(SIGPIPE, SIG_IGN);
    log_info("kexin serving on %s with %d workers", cfg.socket, cfg.workers);

    sigset_t all, none;
    sigemptyset(&all);
    sigaddset(&all, SIGTERM);
    sigaddset(&all, SIGINT);
    sigaddset(&all, SIGHUP);
    sigaddset(&all, SIGCHLD);
    sigprocmask(SIG_BLOCK, &all, &none);

    while (!got_term) {
        got_chld = 0;
        reap();
        if (got_hup) {
            got_hup = 0;
            int want_before = cfg.workers;
            if (config_load() < 0)
                log_error("reload: config invalid, keeping the old one");
            log_info("reload: starting %d new workers (was %d)", cfg.workers, want_before);
            generation++;
            backoff_us = 0;
            next_spawn_us = 0;
            for (int i = 0; i < cfg.workers; i++)
                spawn(sock);
            /* Old workers finish their request, then exit; their slots are reaped. */
            signal_generation(generation, SIGTERM);
        }
        gint64 now = g_get_monotonic_time();
        if (now >= next_spawn_us) {
            while (count_current() < cfg.workers && now >= next_spawn_us)
                if (spawn(sock) < 0)
                    break;
        }
        /* Sleep until a signal, or until the back-off expires (at most 200 ms). */
        struct timespec ts = {0, 200000000};
        sigset_t wait = none;
        sigdelset(&wait, SIGCHLD);
        if (!got_chld && !got_term && !got_hup) {
            /* pselect atomically unblocks the signals while it waits */
            pselect(0, NULL, NULL, NULL, &ts, &wait);
        }
    }

    log_info("stopping: waiting for workers to finish");
    signal_generation(generation + 1, SIGTERM);
    gint64 deadline = g_get_monotonic_time() + STOP_GRACE_S * 1000000LL;
    for (;;) {
        reap();
        int alive = 0;
        for (int i = 0; i < MAX_WORKERS; i++)
            if (workers[i].pid > 0)
                alive++;
        if (!alive)
            break;
        if (g_get_monotonic_time() > deadline) {
            log_warn("workers still busy after %d s: killing them", STOP_GRACE_S);
            signal_generation(generation + 1, SIGKILL);
        }
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    if (cfg.socket[0] == '/')
        unlink(cfg.socket);
    log_info("stopped");
    return 0;
}
