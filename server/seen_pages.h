/*
 * Memory for the relay's seen tables (common/seen.h): a large table comes straight from
 * the kernel, on huge pages.
 */
#ifndef OAUTH_RELAY_SEEN_PAGES_H
#define OAUTH_RELAY_SEEN_PAGES_H

#include "seen.h"

extern const struct seen_memory seen_pages;

#endif
