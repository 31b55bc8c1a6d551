/* customers.c — placeholder while the module is being written (replaced in the same change). */
#include "../core/router.h"

const Module customers_module = {"customers", NULL, NULL};
