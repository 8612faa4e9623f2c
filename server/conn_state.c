#include "config.h"

#include "conn_private.h"
#include "log.h"

#include <assert.h>
#include <event2/event.h>

/* After an error response the peer may still be sending; reading (and discarding) for a
 * moment before closing keeps the kernel from resetting the connection under the
 * response, so the client gets to read it. */
#define LINGER_SECONDS 2

enum conn_timer {
	TIMER_NONE,
	TIMER_FIRST,   /* handshake_timeout: a silent new connection holds its slot this long */
	TIMER_WAIT,    /* TIMER_FIRST until the first response, then TIMER_IDLE */
	TIMER_IDLE,    /* idle_timeout */
	TIMER_REQUEST, /* request_timeout, from a request's first byte to its last */
	TIMER_LINGER,
};

#define TO(s) (1u << (s))

/* Per state: where it may go, its timer and what the timer's expiry means (refuse the
 * request with a status, or close with a reason; neither for states with no timer). */
static const struct conn_rule {
	const char *name;
	unsigned next;
	enum conn_timer timer;
	int refuse;
	enum conn_close close;
} rules[CONN_STATES] = {
	[CONN_NEW] = { "new", TO(CONN_HANDSHAKE) | TO(CONN_IDLE), TIMER_NONE, 0, CONN_CLOSE_NONE },
	[CONN_HANDSHAKE] = { "handshake", TO(CONN_IDLE), TIMER_FIRST, 0, CONN_CLOSE_TIMEOUT },
	[CONN_IDLE] = { "idle", TO(CONN_HEAD), TIMER_WAIT, 0, CONN_CLOSE_TIMEOUT },
	[CONN_HEAD] = { "head", TO(CONN_BODY) | TO(CONN_HANDLING), TIMER_REQUEST, 408,
			CONN_CLOSE_NONE },
	[CONN_BODY] = { "body", TO(CONN_HANDLING), TIMER_REQUEST, 408, CONN_CLOSE_NONE },
	[CONN_HANDLING] = { "handling", TO(CONN_PENDING) | TO(CONN_WRITING) | TO(CONN_SENT),
			    TIMER_NONE, 0, CONN_CLOSE_NONE },
	[CONN_PENDING] = { "pending", TO(CONN_WRITING) | TO(CONN_SENT), TIMER_NONE, 0,
			   CONN_CLOSE_NONE },
	[CONN_WRITING] = { "writing", TO(CONN_SENT), TIMER_IDLE, 0, CONN_CLOSE_TIMEOUT },
	[CONN_SENT] = { "sent", TO(CONN_IDLE) | TO(CONN_LINGER), TIMER_NONE, 0, CONN_CLOSE_NONE },
	[CONN_LINGER] = { "linger", 0, TIMER_LINGER, 0, CONN_CLOSE_LINGER },
};

static enum conn_timer timer_of(const struct conn *c, enum conn_state state)
{
	enum conn_timer t = rules[state].timer;

	if (t == TIMER_WAIT)
		return c->served ? TIMER_IDLE : TIMER_FIRST;
	return t;
}

static int timer_seconds(const struct settings *s, enum conn_timer t)
{
	switch (t) {
	case TIMER_FIRST:
		return s->handshake_timeout;
	case TIMER_IDLE:
	case TIMER_WAIT:
		return s->idle_timeout;
	case TIMER_REQUEST:
		return s->request_timeout;
	case TIMER_LINGER:
		return LINGER_SECONDS;
	case TIMER_NONE:
		break;
	}
	return 0;
}

/* Every connection uses the same few durations: libevent's common timeouts keep them
 * in O(1) queues instead of the heap, re-armed on every request. */
static void timer_arm(struct conn *c, int seconds)
{
	struct timeval tv = { seconds, 0 };
	const struct timeval *common = event_base_init_common_timeout(c->relay->base, &tv);

	evtimer_add(&c->timer, common ? common : &tv);
}

/* A timer goes on from one state to the next when both run the same one (the handshake's
 * into the first idle wait, a request's from head to body); otherwise it starts anew. */
bool conn_set_state(struct conn *c, enum conn_state next)
{
	enum conn_timer was = timer_of(c, c->state), now = timer_of(c, next);

	if (!(rules[c->state].next & TO(next))) {
		conn_bug(c, "transition", next, true);
		return false;
	}
	c->state = next;
	if (now == TIMER_NONE)
		evtimer_del(&c->timer);
	else if (now != was)
		timer_arm(c, timer_seconds(&c->relay->settings, now));
	return true;
}

void conn_bug(struct conn *c, const char *what, enum conn_state next, bool close)
{
	log_error("conn_bug", LF_ENUM("what", what), LF_ENUM("state", rules[c->state].name),
		  LF_ENUM("next", rules[next].name));
	assert(!"a connection broke a rule of its state machine (conn_private.h)");
	if (!close)
		return;
	conn_close_after(c, CONN_CLOSE_BUG);
	event_active(&c->ev, EV_WRITE, 1);
}

void conn_close_after(struct conn *c, enum conn_close why)
{
	if (why > c->close)
		c->close = why;
}

void conn_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	const struct conn_rule *r = &rules[c->state];

	if (r->refuse)
		conn_reject(c, r->refuse);
	else if (r->close != CONN_CLOSE_NONE)
		conn_free(c, r->close);
}
