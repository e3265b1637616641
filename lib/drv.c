/*
 * drv.c: the serving loop shared by mv-exec's drivers (see drv.h).
 *
 * One reader (the child's main thread) and one worker thread per client
 * connection.  The reader owns the worker table; a worker owns its
 * connection and the op it was handed until it marks itself idle.  Writes
 * of completion lines are serialised by out_mu so that lines never mix.
 */
#define _GNU_SOURCE /* setns */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drv.h"
#include "gen.h"

#define MAX_WORKERS 4096

static const struct mv_driver *const drivers[] = {
    &mv_drv_redis, &mv_drv_etcd, &mv_drv_pg,
    NULL, /* each driver adds itself above this line */
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
	mv_buf_adds(b, "{\"id\":");
	mv_buf_addi(b, op.id);
	mv_buf_adds(b,
	    res.type == MV_OK         ? ",\"type\":\"ok\""
	        : res.type == MV_FAIL ? ",\"type\":\"fail\""
	                              : ",\"type\":\"info\"");
	if (res.value.len) {
		mv_buf_adds(b, ",\"value\":");
		mv_buf_add(b, res.value.p, res.value.len);
	}
	if (res.error.len) {
		mv_buf_adds(b, ",\"error\":");
		mv_buf_add(b, res.error.p, res.error.len);
	}
	if (res.node[0] && mv_node_name_ok(res.node, strlen(res.node))
	    && res.node_time > 0) {
		mv_buf_adds(b, ",\"node\":");
		mv_buf_add_jstr(b, res.node, strlen(res.node));
		mv_buf_adds(b, ",\"node_time\":");
		mv_buf_addi(b, res.node_time);
	}
	mv_buf_adds(b, "}\n");
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

static int
enter_netns(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "mv-exec: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		fprintf(
		    stderr, "mv-exec: setns %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
mv_drv_serve(const struct mv_driver *d, const char *target, int64_t timeout_ns,
    int workload, const char *netns, int in, int out)
{
	struct serve s;
	struct mv_buf rb = MV_BUF_INIT;
	int rc = 0;

	if (netns && enter_netns(netns) < 0)
		return MV_EXIT_TROUBLE;
	/*
	 * A client library writing to a connection the server reset
	 * (hiredis uses plain write) must get EPIPE, not kill every
	 * worker; a closed completion pipe is noticed as EPIPE too.
	 */
	signal(SIGPIPE, SIG_IGN);
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
