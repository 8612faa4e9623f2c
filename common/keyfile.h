/*
 * Who may read or change a file of secrets (the keyring, the TLS key): the rule behind
 * refusing one that others could read or rewrite. Pure: the caller stat()s the file.
 *
 * Refused: a file others can read, a file anyone but its owner can write, and a file
 * owned by someone other than the relay's user or root (its owner could rewrite or
 * chmod it). Group read is allowed: Debian's convention for TLS keys is 0640
 * root:ssl-cert, with the service's user in that group.
 */
#ifndef OAUTH_RELAY_KEYFILE_H
#define OAUTH_RELAY_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* mode and owner are the file's, euid the relay's. On refusal says why in why, ending
 * with what to do. */
bool keyfile_mode_check(mode_t mode, uid_t owner, uid_t euid, char *why, size_t whysize);

#endif
