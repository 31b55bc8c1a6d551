/* app.h — the front door: one function takes a FastCGI request from parse to finish. */
#ifndef KEXIN_APP_H
#define KEXIN_APP_H

#include "request.h"

/* Loads what a worker needs once (catalogues, templates, database). Returns 0 or -1. */
int app_worker_init(void);
void app_worker_release(void);
/* Parse → route (404/405) → database (503) → session → login/permission/CSRF (303/403)
 * → handler → security headers and body → access log. Never fails: errors become pages. */
void app_handle(FCGX_Request *fcgx);
/* The same pipeline for an already built request (unit tests drive it without FastCGI). */
void app_dispatch(Request *req);

#endif
