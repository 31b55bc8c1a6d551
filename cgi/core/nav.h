/* nav.h — the top navigation: modules that exist, minus links the user may not use. */
#ifndef KEXIN_NAV_H
#define KEXIN_NAV_H

#include "request.h"

typedef struct View View;
/* Pushes `nav` rows [href, label, active] for the current user. */
void nav_push(Request *req, View *v);

#endif
