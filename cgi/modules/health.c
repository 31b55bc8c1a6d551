/* health.c — GET /healthz for load balancers and the test harness. */
#include "../core/db.h"
#include "../core/response.h"
#include "../core/router.h"

/* GET /healthz: 200 "ok" when the database answers, 503 otherwise. */
static void health(Request *req)
{
    if (db_ready() && db_exec0(req->arena, "SELECT 1")) {
        resp_text(req, 200, "text/plain; charset=utf-8", "ok\n");
        return;
    }
    resp_header(req, "Retry-After", "5");
    resp_text(req, 503, "text/plain; charset=utf-8", "database unavailable\n");
}

static const Route routes[] = {
    {"GET", "/healthz", health, NULL, ROUTE_PUBLIC | ROUTE_NODB},
    {NULL, NULL, NULL, NULL, 0},
};

const Module health_module = {"health", routes, NULL};
