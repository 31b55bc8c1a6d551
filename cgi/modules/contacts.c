/* contacts.c — placeholder while the module is being written (replaced in the same change). */
#include "../core/router.h"

const Module contacts_module = {"contacts", NULL, NULL};
