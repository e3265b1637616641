/*
 * drv.c: the serving loop shared by mv-exec's drivers (see drv.h).
 *
 * A driver with non-blocking ops (nb_drivers[]) is served by serve_poll:
 * one thread polling the op pipe and every connection, with a deadline
 * per op.  The others get one reader (the child's main thread) and one
 * worker thread per client connection.  The reader owns the worker
 * table; a worker owns its connection and the op it was handed until it
 * marks itself idle.  Writes of completion lines are serialised by out_mu
 * so that lines never mix.
 */
#define _GNU_SOURCE /* setns */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drv.h"
#include "gen.h"
#include "ns.h"

#define MAX_WORKERS 4096

static const struct mv_driver *const drivers[] = {
    &mv_drv_redis, &mv_drv_etcd, &mv_drv_pg,
    NULL, /* each driver adds itself above this line */
};

/* The drivers that can run ops without blocking (drv.h). */
static const struct mv_drv_nb *const nb_drivers[] = {
    &mv_drv_redis_nb,
    NULL,
};

struct worker {
	pthread_t th;
	struct serve *s;
	char *line; /* the op handed over, or NULL when idle */
	size_t len;
	int quit;
	pthread_cond_t cv;
	void *conn;
};

struct serve {
	const struct mv_driver *d;
	const char *target;
	int64_t timeout_ns;
	int workload, out, out_broken;
	pthread_mutex_t mu; /* the workers' line, quit and the idle count */
	pthread_cond_t idle_cv;
	pthread_mutex_t out_mu;
	struct worker **w;
	size_t nw, nidle;
};

const struct mv_driver *
mv_drv_find(const char *sut, const char **target)
{
	const char *sep = strstr(sut, "://");
	size_t i, n;

	if (sep == NULL)
		return NULL;
	n = (size_t)(sep - sut);
	for (i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (drivers[i] && strlen(drivers[i]->scheme) == n
		    && strncmp(drivers[i]->scheme, sut, n) == 0) {
			*target = sep + 3;
			return drivers[i];
		}
	return NULL;
}

int
mv_drv_check(const struct mv_driver *d, const char *target, struct mv_err *e)
{
	void *c = d->open(target, 0, e);

	if (c == NULL)
		return -1;
	d->close(c);
	return 0;
}

/* Writes all of b to s->out; a broken pipe ends the output for good. */
static void
put_line(struct serve *s, const struct mv_buf *b)
{
	size_t off = 0;

	pthread_mutex_lock(&s->out_mu);
	while (off < b->len && !s->out_broken) {
		ssize_t n = write(s->out, b->p + off, b->len - off);

		if (n < 0 && errno != EINTR)
			s->out_broken = 1;
		else if (n > 0)
			off += (size_t)n;
	}
	pthread_mutex_unlock(&s->out_mu);
}

/* Appends the completion line of op id with result res to b. */
static void
put_res(struct mv_buf *b, int64_t id, const struct mv_drv_res *res)
{
	mv_buf_adds(b, "{\"id\":");
	mv_buf_addi(b, id);
	mv_buf_adds(b,
	    res->type == MV_OK         ? ",\"type\":\"ok\""
	        : res->type == MV_FAIL ? ",\"type\":\"fail\""
	                               : ",\"type\":\"info\"");
	if (res->value.len) {
		mv_buf_adds(b, ",\"value\":");
		mv_buf_add(b, res->value.p, res->value.len);
	}
	if (res->error.len) {
		mv_buf_adds(b, ",\"error\":");
		mv_buf_add(b, res->error.p, res->error.len);
	}
	if (res->node[0] && mv_node_name_ok(res->node, strlen(res->node))
	    && res->node_time > 0) {
		mv_buf_adds(b, ",\"node\":");
		mv_buf_add_jstr(b, res->node, strlen(res->node));
		mv_buf_adds(b, ",\"node_time\":");
		mv_buf_addi(b, res->node_time);
	}
	mv_buf_adds(b, "}\n");
}

/* Runs one op line on w's connection; its completion line goes to b. */
static void
run_op(struct worker *w, const char *line, size_t len, struct mv_buf *b)
{
	const struct mv_driver *d = w->s->d;
	struct mv_drv_res res;
	struct mv_drv_op op;
	struct mv_err e;
	struct mv_jv *v = mv_jv_parse(line, len, &e);
	const struct mv_jv *id = v ? mv_jv_get(v, "id") : NULL;
	const struct mv_jv *f = v ? mv_jv_get(v, "f") : NULL;
	const struct mv_jv *k = v ? mv_jv_get(v, "key") : NULL;

	if (id == NULL || id->kind != MV_JINT || f == NULL
	    || f->kind != MV_JSTR) {
		mv_jv_free(v); /* mv-exec never sends this */
		return;
	}
	memset(&res, 0, sizeof(res));
	res.type = MV_INFO;
	op.id = id->i;
	op.f = f->s;
	op.key = k && k->kind == MV_JSTR ? k->s : NULL;
	op.value = mv_jv_get(v, "value");
	op.workload = w->s->workload;
	if (w->conn == NULL)
		w->conn = d->open(w->s->target, w->s->timeout_ns, &e);
	if (w->conn == NULL) {
		/* Nothing was sent: the op certainly did not happen. */
		res.type = MV_FAIL;
		mv_buf_add_jstr(&res.error, e.msg, strlen(e.msg));
	} else if (d->invoke(w->conn, &op, &res) < 0) {
		d->close(w->conn);
		w->conn = NULL;
	}
	put_res(b, op.id, &res);
	mv_buf_release(&res.value);
	mv_buf_release(&res.error);
	mv_jv_free(v);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct serve *s = w->s;
	struct mv_buf b = MV_BUF_INIT;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		char *line;

		while (w->line == NULL && !w->quit)
			pthread_cond_wait(&w->cv, &s->mu);
		if (w->line == NULL)
			break;
		line = w->line;
		pthread_mutex_unlock(&s->mu);
		run_op(w, line, w->len, &b);
		free(line);
		/*
		 * Idle before the answer goes out: mv-exec's next op for
		 * this process then finds an idle worker instead of making
		 * a new worker and connection.
		 */
		pthread_mutex_lock(&s->mu);
		w->line = NULL;
		s->nidle++;
		pthread_cond_signal(&s->idle_cv);
		pthread_mutex_unlock(&s->mu);
		if (b.len > 0)
			put_line(s, &b);
		mv_buf_reset(&b);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	mv_buf_release(&b);
	if (w->conn)
		s->d->close(w->conn);
	return NULL;
}

/* Hands line[0..len) (taken over) to an idle worker, or a new one. */
static int
dispatch(struct serve *s, char *line, size_t len)
{
	struct worker *w = NULL;
	size_t i;

	pthread_mutex_lock(&s->mu);
	while (s->nidle == 0 && s->nw >= MAX_WORKERS)
		pthread_cond_wait(&s->idle_cv, &s->mu);
	if (s->nidle > 0) {
		for (i = 0; i < s->nw && w == NULL; i++)
			if (s->w[i]->line == NULL)
				w = s->w[i];
		s->nidle--;
	} else {
		w = mv_xcalloc(1, sizeof(*w));
		w->s = s;
		pthread_cond_init(&w->cv, NULL);
		if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
			pthread_mutex_unlock(&s->mu);
			free(w);
			free(line);
			return -1;
		}
		s->w = mv_xrealloc(s->w, (s->nw + 1) * sizeof(*s->w));
		s->w[s->nw++] = w;
	}
	w->line = line;
	w->len = len;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* Joins every worker once its op is done. */
static void
finish(struct serve *s)
{
	size_t i;

	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->nw; i++) {
		s->w[i]->quit = 1;
		pthread_cond_signal(&s->w[i]->cv);
	}
	pthread_mutex_unlock(&s->mu);
	for (i = 0; i < s->nw; i++) {
		pthread_join(s->w[i]->th, NULL);
		pthread_cond_destroy(&s->w[i]->cv);
		free(s->w[i]);
	}
	free(s->w);
}

/*
 * Moves this thread into namespace name for good (the workers it starts
 * inherit it), so the descriptor of the old one is not kept.
 */
static int
enter_netns(const char *name)
{
	struct mv_err e;
	int back;

	if (mv_netns_enter(name, &back, &e) < 0) {
		fprintf(stderr, "mv-exec: %s\n", e.msg);
		return -1;
	}
	close(back);
	return 0;
}

/* ---- the poll loop, for drivers with start, step and expire ---- */

#define DEFAULT_DEADLINE_NS 5000000000LL

/* A connection of the poll loop, and the op it runs (v set) if any. */
struct slot {
	void *conn;
	struct mv_jv *v; /* the op line, parsed; NULL when idle */
	struct mv_drv_op op;
	struct mv_drv_res res;
	int fd;
	short events;
	int64_t deadline;
	struct slot *prev, *next; /* the busy list */
	struct slot *idle_next;
};

/*
 * The busy list is in start order, and every op has the same timeout, so
 * it is in deadline order too: its head is the next op to expire.
 */
struct pserve {
	const struct mv_driver *d;
	const struct mv_drv_nb *nb;
	const char *target;
	int64_t timeout_ns, deadline_ns;
	int workload;
	struct slot **sl; /* every slot, to free them */
	size_t ns, nbusy;
	struct slot *idle, *head, *tail;
	struct mv_buf out; /* completion lines not yet written */
};

static int64_t
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The op of sl is done: its line is queued, sl idle again (rc as invoke). */
static void
slot_done(struct pserve *s, struct slot *sl, int rc)
{
	if (sl->prev)
		sl->prev->next = sl->next;
	else
		s->head = sl->next;
	if (sl->next)
		sl->next->prev = sl->prev;
	else
		s->tail = sl->prev;
	sl->prev = sl->next = NULL;
	s->nbusy--;
	put_res(&s->out, sl->op.id, &sl->res);
	if (rc < 0 && sl->conn) {
		s->d->close(sl->conn);
		sl->conn = NULL;
	}
	mv_buf_release(&sl->res.value);
	mv_buf_release(&sl->res.error);
	mv_jv_free(sl->v);
	sl->v = NULL;
	sl->idle_next = s->idle;
	s->idle = sl;
}

/* Starts the op line[0..len) on an idle slot, or on a new one. */
static void
start_op(struct pserve *s, const char *line, size_t len, int64_t now)
{
	struct mv_err e;
	struct mv_jv *v = mv_jv_parse(line, len, &e);
	const struct mv_jv *id = v ? mv_jv_get(v, "id") : NULL;
	const struct mv_jv *f = v ? mv_jv_get(v, "f") : NULL;
	const struct mv_jv *k = v ? mv_jv_get(v, "key") : NULL;
	struct slot *sl;
	int rc;

	if (id == NULL || id->kind != MV_JINT || f == NULL
	    || f->kind != MV_JSTR) {
		mv_jv_free(v); /* mv-exec never sends this */
		return;
	}
	if ((sl = s->idle) != NULL)
		s->idle = sl->idle_next;
	else {
		sl = mv_xcalloc(1, sizeof(*sl));
		s->sl = mv_xrealloc(s->sl, (s->ns + 1) * sizeof(*s->sl));
		s->sl[s->ns++] = sl;
	}
	memset(&sl->res, 0, sizeof(sl->res));
	sl->res.type = MV_INFO;
	sl->v = v;
	sl->op.id = id->i;
	sl->op.f = f->s;
	sl->op.key = k && k->kind == MV_JSTR ? k->s : NULL;
	sl->op.value = mv_jv_get(v, "value");
	sl->op.workload = s->workload;
	sl->deadline = now + s->deadline_ns;
	sl->prev = s->tail;
	sl->next = NULL;
	if (s->tail)
		s->tail->next = sl;
	else
		s->head = sl;
	s->tail = sl;
	s->nbusy++;
	sl->fd = -1;
	sl->events = 0;
	if (sl->conn == NULL)
		sl->conn = s->d->open(s->target, s->timeout_ns, &e);
	if (sl->conn == NULL) {
		/* Nothing was sent: the op certainly did not happen. */
		sl->res.type = MV_FAIL;
		mv_buf_add_jstr(&sl->res.error, e.msg, strlen(e.msg));
		slot_done(s, sl, 0);
		return;
	}
	rc = s->nb->start(sl->conn, &sl->op, &sl->res, &sl->fd, &sl->events);
	if (rc <= 0)
		slot_done(s, sl, rc);
}

/*
 * Starts the ops of the whole lines in rb, as long as a slot is to be
 * had; returns whether some whole line is left.
 */
static int
take_lines(struct pserve *s, struct mv_buf *rb, int64_t now)
{
	size_t off = 0;
	char *nl;
	int left = 0;

	while ((nl = memchr(rb->p + off, '\n', rb->len - off)) != NULL) {
		size_t len = (size_t)(nl - (rb->p + off));

		if (s->idle == NULL && s->ns >= MAX_WORKERS) {
			left = 1;
			break;
		}
		if (len > 0)
			start_op(s, rb->p + off, len, now);
		off += len + 1;
	}
	memmove(rb->p, rb->p + off, rb->len - off);
	rb->len -= off;
	return left;
}

/*
 * mv_drv_serve for a driver that can run ops without blocking: one
 * thread, one poll over the op pipe and every connection with an op in
 * flight.  Op lines are read and completion lines written in batches, so
 * that an op costs no thread hand-off and few system calls.
 */
static int
serve_poll(const struct mv_drv_nb *nb, const char *target, int64_t timeout_ns,
    int workload, int in, int out)
{
	const struct mv_driver *d = nb->d;
	struct pserve s;
	struct mv_buf rb = MV_BUF_INIT;
	struct pollfd *pf = NULL;
	struct slot **ps = NULL;
	size_t cap = 0, i;
	int eof = 0, broken = 0, left = 0, rc = 0;

	memset(&s, 0, sizeof(s));
	s.d = d;
	s.nb = nb;
	s.target = target;
	s.timeout_ns = timeout_ns;
	s.deadline_ns = timeout_ns > 0 ? timeout_ns : DEFAULT_DEADLINE_NS;
	s.workload = workload;
	while (!eof || left || s.nbusy > 0) {
		struct slot *sl;
		size_t np = 0;
		int64_t now;
		int wait = -1, n;

		if (cap < s.nbusy + 1) {
			cap = 2 * (s.nbusy + 1);
			pf = mv_xrealloc(pf, cap * sizeof(*pf));
			ps = mv_xrealloc(ps, cap * sizeof(*ps));
		}
		if (!eof && !left) {
			pf[np].fd = in;
			pf[np].events = POLLIN;
			ps[np++] = NULL;
		}
		for (sl = s.head; sl; sl = sl->next) {
			pf[np].fd = sl->fd;
			pf[np].events = sl->events;
			ps[np++] = sl;
		}
		if (s.head) {
			int64_t ms =
			    (s.head->deadline - now_ns() + 999999) / 1000000;

			wait = ms < 0 ? 0 : ms > 60000 ? 60000 : (int)ms;
		}
		n = poll(pf, (nfds_t)np, wait);
		if (n < 0 && errno != EINTR) {
			rc = MV_EXIT_TROUBLE;
			break;
		}
		now = now_ns();
		for (i = 0; n > 0 && i < np; i++) {
			int r;

			if (ps[i] == NULL || pf[i].revents == 0)
				continue;
			sl = ps[i];
			r = nb->step(sl->conn, &sl->res, &sl->fd, &sl->events);
			if (r <= 0)
				slot_done(&s, sl, r);
		}
		/* Expired ops end as the driver says; their connection goes. */
		while (s.head && s.head->deadline <= now) {
			sl = s.head;
			nb->expire(sl->conn, &sl->res);
			slot_done(&s, sl, -1);
		}
		if (n > 0 && np > 0 && ps[0] == NULL && pf[0].revents) {
			ssize_t r;

			mv_buf_grow(&rb, 1 << 16);
			r = read(in, rb.p + rb.len, 1 << 16);
			if (r > 0)
				rb.len += (size_t)r;
			else if (r == 0 || errno != EINTR)
				eof = 1;
		}
		left = take_lines(&s, &rb, now);
		/* A broken completion pipe: the ops still run out, unheard. */
		for (i = 0; i < s.out.len && !broken;) {
			ssize_t r = write(out, s.out.p + i, s.out.len - i);

			if (r < 0 && errno != EINTR)
				broken = 1;
			else if (r > 0)
				i += (size_t)r;
		}
		mv_buf_reset(&s.out);
	}
	for (i = 0; i < s.ns; i++) {
		if (s.sl[i]->v) {
			mv_buf_release(&s.sl[i]->res.value);
			mv_buf_release(&s.sl[i]->res.error);
			mv_jv_free(s.sl[i]->v);
		}
		if (s.sl[i]->conn)
			d->close(s.sl[i]->conn);
		free(s.sl[i]);
	}
	free(s.sl);
	free(pf);
	free(ps);
	mv_buf_release(&s.out);
	mv_buf_release(&rb);
	return rc;
}

int
mv_drv_serve(const struct mv_driver *d, const char *target, int64_t timeout_ns,
    int workload, const char *netns, int in, int out)
{
	struct serve s;
	struct mv_buf rb = MV_BUF_INIT;
	size_t i;
	int rc = 0;

	if (netns && enter_netns(netns) < 0)
		return MV_EXIT_TROUBLE;
	/*
	 * A client library writing to a connection the server reset
	 * (hiredis uses plain write) must get EPIPE, not kill every
	 * worker; a closed completion pipe is noticed as EPIPE too.
	 */
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; nb_drivers[i]; i++)
		if (nb_drivers[i]->d == d)
			return serve_poll(nb_drivers[i], target, timeout_ns,
			    workload, in, out);
	memset(&s, 0, sizeof(s));
	s.d = d;
	s.target = target;
	s.timeout_ns = timeout_ns;
	s.workload = workload;
	s.out = out;
	pthread_mutex_init(&s.mu, NULL);
	pthread_mutex_init(&s.out_mu, NULL);
	pthread_cond_init(&s.idle_cv, NULL);
	for (;;) {
		char *nl;
		ssize_t n;

		mv_buf_grow(&rb, 1 << 16);
		n = read(in, rb.p + rb.len, 1 << 16);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		rb.len += (size_t)n;
		while ((nl = memchr(rb.p, '\n', rb.len)) != NULL) {
			size_t len = (size_t)(nl - rb.p);

			if (len > 0
			    && dispatch(&s, mv_xstrndup(rb.p, len), len) < 0) {
				rc = MV_EXIT_TROUBLE;
				break;
			}
			memmove(rb.p, nl + 1, rb.len - len - 1);
			rb.len -= len + 1;
		}
		if (rc)
			break;
	}
	finish(&s);
	mv_buf_release(&rb);
	pthread_mutex_destroy(&s.mu);
	pthread_mutex_destroy(&s.out_mu);
	pthread_cond_destroy(&s.idle_cv);
	return rc;
}
