/* perm.c — the fixed permission catalogue: every module of SPEC.md and the actions it has. */
#include "perm.h"
#include "i18n.h"

#include <string.h>

#define ALL_ACTIONS (ACT_VIEW | ACT_CREATE | ACT_EDIT | ACT_DELETE | ACT_APPROVE | ACT_EXPORT | ACT_PRINT)
#define CRUD (ACT_VIEW | ACT_CREATE | ACT_EDIT | ACT_DELETE)

const PermActionDef perm_actions[PERM_NACTIONS] = {
    {"view", N_("View")},       {"create", N_("Create")},   {"edit", N_("Edit")},
    {"delete", N_("Delete")},   {"approve", N_("Approve")}, {"export", N_("Export")},
    {"print", N_("Print")},
};

/* Modules follow SPEC.md (M1…M17 plus the platform); a module appears here before its pages
 * exist so roles can be prepared in advance. */
const PermModule perm_modules[] = {
    {"customers", N_("Customers"), CRUD | ACT_EXPORT | ACT_PRINT},
    {"contacts", N_("Contacts"), CRUD | ACT_EXPORT},
    {"followups", N_("Contact records"), CRUD | ACT_APPROVE | ACT_EXPORT},
    {"visits", N_("Field visits"), CRUD | ACT_EXPORT},
    {"opportunities", N_("Opportunities"), CRUD | ACT_EXPORT},
    {"employee", N_("Employee center"), CRUD | ACT_APPROVE},
    {"documents", N_("Documents"), CRUD},
    {"products", N_("Products"), CRUD | ACT_EXPORT},
    {"quotes", N_("Quotes"), ALL_ACTIONS},
    {"orders", N_("Sales orders"), ALL_ACTIONS},
    {"payments", N_("Payments received"), CRUD | ACT_APPROVE | ACT_EXPORT | ACT_PRINT},
    {"invoices", N_("Invoices"), CRUD | ACT_EXPORT},
    {"expenses", N_("Expenses"), ALL_ACTIONS},
    {"shipping", N_("Shipping notices"), ALL_ACTIONS},
    {"outbound", N_("Stock-out"), ALL_ACTIONS},
    {"express", N_("Express tracking"), CRUD | ACT_EXPORT},
    {"purchasing", N_("Purchasing"), ALL_ACTIONS},
    {"inventory", N_("Inventory"), ALL_ACTIONS},
    {"reports", N_("Reports"), ACT_VIEW | ACT_EXPORT | ACT_PRINT},
    {"org", N_("Organisation and roles"), CRUD},
    {"settings", N_("Settings"), ACT_VIEW | ACT_EDIT},
    {"audit", N_("Audit logs"), ACT_VIEW | ACT_EXPORT},
    {NULL, NULL, 0},
};

bool perm_valid(const char *module, const char *action)
{
    int a = -1;
    for (int i = 0; i < PERM_NACTIONS; i++)
        if (action && strcmp(perm_actions[i].code, action) == 0)
            a = i;
    if (a < 0 || !module)
        return false;
    for (const PermModule *m = perm_modules; m->code; m++)
        if (strcmp(m->code, module) == 0)
            return (m->actions & (1u << a)) != 0;
    return false;
}

const ScopeDef scope_defs[6] = {
    {"", ""},
    {"own", N_("Own records")},
    {"subordinates", N_("Own and subordinates'")},
    {"department", N_("Own department")},
    {"department_tree", N_("Department and sub-departments")},
    {"all", N_("All")},
};

Scope scope_from_code(const char *code)
{
    for (int i = 1; i < 6; i++)
        if (code && strcmp(scope_defs[i].code, code) == 0)
            return (Scope)i;
    return SCOPE_NONE;
}
