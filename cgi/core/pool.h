/* pool.h — `kexin serve`: the master process and its FastCGI workers. */
#ifndef KEXIN_POOL_H
#define KEXIN_POOL_H

/* Binds the socket, forks cfg.workers workers, replaces dead ones, SIGTERM = graceful stop,
 * SIGHUP = graceful reload. Returns the process exit code. */
int pool_run(void);

#endif
