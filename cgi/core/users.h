/* users.h — account operations shared by the `kexin user` command and the admin pages. */
#ifndef KEXIN_USERS_H
#define KEXIN_USERS_H

#include <libpq-fe.h>
#include <stdbool.h>

/* Creates a user; returns 0, -2 when the name is taken, -1 on other failure. */
int users_add(PGconn *c, const char *username, const char *display_name, const char *password,
              bool is_admin);
/* Sets a new password and ends the user's sessions. 0, -2 unknown user, -1 failure. */
int users_set_password(PGconn *c, const char *username, const char *password);
/* Disables the account and ends its sessions. 0, -2 unknown user, -1 failure. */
int users_disable(PGconn *c, const char *username);

#endif
