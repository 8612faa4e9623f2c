/* Outbound HTTPS through libcurl's multi interface on the event loop (see fetch.h). */
#include "config.h"

#include "fetch.h"

#include "addr.h"
#include "clock.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

/* Handles kept for reuse, and idle upstream connections kept alive. Without the second,
 * curl keeps 4 per call in flight at the moment one ends, so a quiet moment closes the
 * connections a busy one needs again, each then paying a full TLS handshake. */
#define FETCH_SPARE_MAX 64
#define FETCH_KEEP_CONNECTIONS 256

struct fetch_engine {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	struct event *deadline; /* shutdown: cancels what is still in flight */
	char *ca_file;
	bool allow_private;
	struct fetch *calls; /* every call in flight, for cancelling and freeing */
	struct fetch *spare; /* finished calls whose curl handles serve the next ones */
	size_t n_spare;
	unsigned generation; /* of the options: a reload makes older handles unfit to keep */
	struct fetch_socket *sockets; /* every socket watched, freed with the engine */
};

struct fetch {
	struct fetch_engine *engine;
	CURL *easy;
	struct curl_slist *headers;
	fetch_done_fn done;
	void *arg;
	double started;
	bool refused; /* the socket callback refused a non-public address */
	unsigned generation;
	char *body;
	size_t body_len, body_size;
	struct fetch *prev, *next;
};

/* One per socket libcurl watches, kept with curl_multi_assign. */
struct fetch_socket {
	struct event *ev;
	curl_socket_t fd;
	struct fetch_socket *prev, *next;
};

static void calls_link(struct fetch_engine *e, struct fetch *f)
{
	f->next = e->calls;
	if (e->calls)
		e->calls->prev = f;
	e->calls = f;
}

static void calls_unlink(struct fetch_engine *e, struct fetch *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		e->calls = f->next;
	if (f->next)
		f->next->prev = f->prev;
}

static void fetch_destroy(struct fetch *f)
{
	curl_easy_cleanup(f->easy);
	curl_slist_free_all(f->headers);
	free(f->body);
	free(f);
}

static void spares_free(struct fetch_engine *e)
{
	while (e->spare) {
		struct fetch *f = e->spare;
		e->spare = f->next;
		fetch_destroy(f);
	}
	e->n_spare = 0;
}

/* A finished call's handle is kept for the next call: curl_easy_init and the options
 * that never change cost more than the rest of a call's own work. */
static void fetch_free(struct fetch *f)
{
	struct fetch_engine *e = f->engine;

	calls_unlink(e, f);
	curl_multi_remove_handle(e->multi, f->easy);
	if (e->n_spare >= FETCH_SPARE_MAX || f->generation != e->generation) {
		fetch_destroy(f);
		return;
	}
	curl_slist_free_all(f->headers);
	f->headers = NULL;
	f->body_len = 0;
	f->refused = false;
	f->prev = NULL;
	f->next = e->spare;
	e->spare = f;
	e->n_spare++;
}

static enum fetch_outcome outcome_of(const struct fetch *f, CURLcode rc)
{
	if (rc == CURLE_OK)
		return FETCH_ANSWERED;
	if (f->refused)
		return FETCH_REFUSED;
	return rc == CURLE_OPERATION_TIMEDOUT ? FETCH_TIMEOUT : FETCH_UNAVAILABLE;
}

static void fetch_finish(struct fetch *f, enum fetch_outcome outcome)
{
	struct fetch_result r = { outcome,     0,
				  NULL,        f->body ? f->body : "",
				  f->body_len, clock_now() - f->started };
	char *ctype = NULL;

	if (outcome == FETCH_ANSWERED) {
		curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &r.status);
		curl_easy_getinfo(f->easy, CURLINFO_CONTENT_TYPE, &ctype);
		r.content_type = ctype;
	} else {
		r.body = "";
		r.body_len = 0;
	}
	f->done(f->arg, &r);
	fetch_free(f);
}

/* Drains finished transfers after every action (hiperfifo's check_multi_info). */
static void finished_drain(struct fetch_engine *e)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(e->multi, &left))) {
		struct fetch *f = NULL;
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&f);
		fetch_finish(f, outcome_of(f, msg->data.result));
	}
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
	struct fetch_engine *e = arg;
	int running, action = (what & EV_READ ? CURL_CSELECT_IN : 0) |
			      (what & EV_WRITE ? CURL_CSELECT_OUT : 0);

	curl_multi_socket_action(e->multi, fd, action, &running);
	finished_drain(e);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct fetch_engine *e = arg;
	int running;

	curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	finished_drain(e);
}

/* CURLMOPT_TIMERFUNCTION: one timer for the whole multi; never act from inside it. */
static int timer_update(CURLM *multi, long timeout_ms, void *arg)
{
	struct fetch_engine *e = arg;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

	if (timeout_ms < 0)
		evtimer_del(e->timer);
	else
		evtimer_add(e->timer, &tv);
	return 0;
}

static struct fetch_socket *socket_watch(struct fetch_engine *e, curl_socket_t fd)
{
	struct fetch_socket *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->fd = fd;
	s->next = e->sockets;
	if (e->sockets)
		e->sockets->prev = s;
	e->sockets = s;
	curl_multi_assign(e->multi, fd, s);
	return s;
}

static void socket_forget(struct fetch_engine *e, struct fetch_socket *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		e->sockets = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (e->multi)
		curl_multi_assign(e->multi, s->fd, NULL);
	if (s->ev)
		event_free(s->ev);
	free(s);
}

/* CURLMOPT_SOCKETFUNCTION: one persistent event per socket, re-armed for what curl wants. */
static int socket_update(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct fetch_engine *e = arg;
	struct fetch_socket *s = sockp;
	short kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
		     (what & CURL_POLL_OUT ? EV_WRITE : 0);

	if (what == CURL_POLL_REMOVE) {
		if (s)
			socket_forget(e, s);
		return 0;
	}
	if (!s && !(s = socket_watch(e, fd)))
		return -1;
	if (s->ev)
		event_free(s->ev);
	s->ev = event_new(e->base, fd, kind, on_socket_event, e);
	if (!s->ev || event_add(s->ev, NULL) != 0) {
		socket_forget(e, s);
		return -1;
	}
	return 0;
}

/* CURLOPT_OPENSOCKETFUNCTION: sees the address resolved, before connecting to it. */
static curl_socket_t socket_open(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct fetch *f = arg;

	if (purpose != CURLSOCKTYPE_IPCXN ||
	    (!f->engine->allow_private && !addr_is_public(&a->addr))) {
		f->refused = true;
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype, a->protocol);
}

static size_t body_write(char *data, size_t size, size_t n, void *arg)
{
	struct fetch *f = arg;
	size_t len = size * n;
	char *grown;

	/* Returning short fails the transfer: the answer is too large to pass on. */
	if (f->body_len + len > FETCH_BODY_MAX)
		return 0;
	if (f->body_len + len + 1 > f->body_size) {
		grown = realloc(f->body, f->body_len + len + 1);
		if (!grown)
			return 0;
		f->body = grown;
		f->body_size = f->body_len + len + 1;
	}
	memcpy(f->body + f->body_len, data, len);
	f->body_len += len;
	f->body[f->body_len] = '\0';
	return len;
}

static bool header_add(struct fetch *f, const char *name, const char *value)
{
	char line[8192];
	struct curl_slist *grown;

	if (snprintf(line, sizeof(line), "%s%s", name, value) >= (int)sizeof(line))
		return false;
	grown = curl_slist_append(f->headers, line);
	if (!grown)
		return false;
	f->headers = grown;
	return true;
}

static bool headers_build(struct fetch *f, const struct fetch_request *r)
{
	/* "Expect:" with no value: never wait for 100-continue. */
	return header_add(f, "Content-Type: ", r->content_type) &&
	       (!r->accept || header_add(f, "Accept: ", r->accept)) &&
	       (!r->authorization || header_add(f, "Authorization: ", r->authorization)) &&
	       (!r->extra_header || header_add(f, "", r->extra_header)) &&
	       header_add(f, "Expect:", "");
}

/* Connections kept alive to upstreams, and those waiting for an answer, hold no record
 * buffers while idle. */
static CURLcode ssl_ctx_setup(CURL *easy, void *ssl_ctx, void *arg)
{
	SSL_CTX_set_mode((SSL_CTX *)ssl_ctx, SSL_MODE_RELEASE_BUFFERS);
	return CURLE_OK;
}

/* The options every call has, set once per handle. */
static bool easy_setup_fixed(struct fetch *f)
{
	struct fetch_engine *e = f->engine;
	CURL *c = f->easy;

	return curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK &&
	       curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
	       curl_easy_setopt(c, CURLOPT_PROXY, "") == CURLE_OK &&
	       curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
	       curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK &&
	       (!e->ca_file || curl_easy_setopt(c, CURLOPT_CAINFO, e->ca_file) == CURLE_OK) &&
	       curl_easy_setopt(c, CURLOPT_CA_CACHE_TIMEOUT, (long)FETCH_CA_CACHE_SECONDS) ==
		       CURLE_OK &&
	       curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_setup) == CURLE_OK &&
	       curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1) == CURLE_OK &&
	       curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	       curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)FETCH_CONNECT_TIMEOUT_MS) ==
		       CURLE_OK &&
	       curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)FETCH_BODY_MAX) ==
		       CURLE_OK &&
	       curl_easy_setopt(c, CURLOPT_USERAGENT, "oauth-relay/" PACKAGE_VERSION) == CURLE_OK &&
	       curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, socket_open) == CURLE_OK &&
	       curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, f) == CURLE_OK &&
	       curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write) == CURLE_OK &&
	       curl_easy_setopt(c, CURLOPT_WRITEDATA, f) == CURLE_OK &&
	       curl_easy_setopt(c, CURLOPT_PRIVATE, f) == CURLE_OK;
}

/* What differs from call to call; every one of these is set on every call. */
static bool easy_setup_call(struct fetch *f, const struct fetch_request *r)
{
	CURL *c = f->easy;

	return curl_easy_setopt(c, CURLOPT_URL, r->url) == CURLE_OK &&
	       curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->timeout_ms) == CURLE_OK &&
	       curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len) == CURLE_OK &&
	       curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, r->body) == CURLE_OK &&
	       headers_build(f, r) &&
	       curl_easy_setopt(c, CURLOPT_HTTPHEADER, f->headers) == CURLE_OK;
}

static struct fetch *fetch_new(struct fetch_engine *e)
{
	struct fetch *f = e->spare;

	if (f) {
		e->spare = f->next;
		e->n_spare--;
		f->next = NULL;
		return f;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->engine = e;
	f->generation = e->generation;
	f->easy = curl_easy_init();
	if (f->easy && easy_setup_fixed(f))
		return f;
	fetch_destroy(f);
	return NULL;
}

struct fetch *fetch_start(struct fetch_engine *e, const struct fetch_request *r, fetch_done_fn done,
			  void *arg)
{
	struct fetch *f = fetch_new(e);

	if (!f)
		return NULL;
	f->done = done;
	f->arg = arg;
	f->started = clock_now();
	/* Adding only arms the timer: the transfer begins from the loop, so done never runs
	 * inside fetch_start. */
	if (!easy_setup_call(f, r) || curl_multi_add_handle(e->multi, f->easy) != CURLM_OK) {
		fetch_destroy(f);
		return NULL;
	}
	calls_link(e, f);
	return f;
}

void fetch_cancel(struct fetch *f)
{
	fetch_free(f);
}

/* Ends every call in flight with FETCH_CANCELLED (their done functions run). */
static void calls_cancel(struct fetch_engine *e)
{
	while (e->calls)
		fetch_finish(e->calls, FETCH_CANCELLED);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	calls_cancel(arg);
}

bool fetch_engine_deadline(struct fetch_engine *e, int seconds)
{
	struct timeval tv = { seconds, 0 };

	if (!e->deadline)
		e->deadline = evtimer_new(e->base, on_deadline, e);
	return e->deadline && evtimer_add(e->deadline, &tv) == 0;
}

bool fetch_engine_configure(struct fetch_engine *e, const struct fetch_options *o)
{
	char *ca = o->ca_file && *o->ca_file ? strdup(o->ca_file) : NULL;

	if (o->ca_file && *o->ca_file && !ca)
		return false;
	free(e->ca_file);
	e->ca_file = ca;
	e->allow_private = o->allow_private;
	/* Kept handles carry the old CA bundle. */
	e->generation++;
	spares_free(e);
	return true;
}

struct fetch_engine *fetch_engine_new(struct event_base *base, const struct fetch_options *o)
{
	struct fetch_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->base = base;
	e->multi = curl_multi_init();
	e->timer = evtimer_new(base, on_timer, e);
	if (!e->multi || !e->timer || !fetch_engine_configure(e, o) ||
	    curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, socket_update) != CURLM_OK ||
	    curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e) != CURLM_OK ||
	    curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, timer_update) != CURLM_OK ||
	    curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e) != CURLM_OK ||
	    curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)FETCH_KEEP_CONNECTIONS) !=
		    CURLM_OK) {
		fetch_engine_free(e);
		return NULL;
	}
	return e;
}

void fetch_engine_free(struct fetch_engine *e)
{
	if (!e)
		return;
	while (e->calls)
		fetch_free(e->calls);
	spares_free(e);
	/* Cleaning the multi closes the kept-alive connections; whatever sockets it did not
	 * report removed are forgotten after it. */
	if (e->multi)
		curl_multi_cleanup(e->multi);
	e->multi = NULL;
	while (e->sockets)
		socket_forget(e, e->sockets);
	if (e->timer)
		event_free(e->timer);
	if (e->deadline)
		event_free(e->deadline);
	free(e->ca_file);
	free(e);
}
