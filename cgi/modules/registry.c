/* registry.c — the list of modules: their routes and navigation entries, in menu order. */
#include "../core/router.h"

extern const Module home_module;
extern const Module account_module;
extern const Module health_module;
extern const Module customers_module;
extern const Module contacts_module;
extern const Module customer_import_module;
extern const Module customer_rights_module;
extern const Module org_module;
extern const Module settings_module;
extern const Module audit_module;
extern const Module api_module;

const Module *const app_modules[] = {
    &home_module,
    &customers_module,
    &contacts_module,
    &customer_import_module,
    &customer_rights_module,
    &org_module,
    &settings_module,
    &audit_module,
    &account_module,
    &health_module,
    &api_module,
    NULL,
};
