/* perm.h — the catalogue of permission modules and actions shown in the role matrix. */
#ifndef KEXIN_PERM_H
#define KEXIN_PERM_H

#include <stdbool.h>

enum PermAction {
    ACT_VIEW = 1 << 0,
    ACT_CREATE = 1 << 1,
    ACT_EDIT = 1 << 2,
    ACT_DELETE = 1 << 3,
    ACT_APPROVE = 1 << 4,
    ACT_EXPORT = 1 << 5,
    ACT_PRINT = 1 << 6,
};
#define PERM_NACTIONS 7

typedef struct PermActionDef {
    const char *code;  /* "view" */
    const char *label; /* English msgid */
} PermActionDef;

typedef struct PermModule {
    const char *code;  /* "customers"; permission strings are "customers.view" */
    const char *label; /* English msgid */
    unsigned actions;  /* which actions make sense for it (ACT_* bits) */
} PermModule;

extern const PermActionDef perm_actions[PERM_NACTIONS];
extern const PermModule perm_modules[]; /* ended by {NULL} */

/* Whether "module.action" names a real permission of the catalogue. */
bool perm_valid(const char *module, const char *action);

/* Data scopes, narrowest first: the numeric order is what "widest wins" compares. */
typedef enum {
    SCOPE_NONE = 0,
    SCOPE_OWN = 1,
    SCOPE_SUBORDINATES = 2,
    SCOPE_DEPARTMENT = 3,
    SCOPE_DEPARTMENT_TREE = 4,
    SCOPE_ALL = 5,
} Scope;

typedef struct ScopeDef {
    const char *code;  /* as stored in roles.data_scope */
    const char *label; /* English msgid */
} ScopeDef;
extern const ScopeDef scope_defs[6]; /* indexed by Scope; [0] unused */
Scope scope_from_code(const char *code);

#endif
