/* The clock that rate limits and request timings run on. */
#ifndef OAUTH_RELAY_CLOCK_H
#define OAUTH_RELAY_CLOCK_H

/* CLOCK_MONOTONIC seconds: steady across wall-clock changes. */
double clock_now(void);

#endif
