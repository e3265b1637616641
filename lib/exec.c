/*
 * exec.c: the driver of mv-exec.  With the embedded store a seeded discrete
 * scheduler interleaves the logical processes: each step advances one of
 * them from idle to invoked (write the invoke), from invoked to applied
 * (the atomic apply, its linearization point) or from applied to done
 * (write the completion), so histories overlap without threads.  With a
 * command SUT, ops go to its stdin as lines and completions come back on
 * its stdout, up to one op in flight per process, multiplexed with poll.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "drv.h"
#include "exec.h"
#include "gen.h"
#include "history.h"
#include "json.h"
#include "memsut.h"

#define OUT_CHUNK (1 << 16)
#define FLUSH_NS 50000000 /* longest a written event waits in the buffer */

enum sst { S_IDLE, S_INVOKED, S_APPLYING, S_APPLIED };

/* One logical process. */
struct slot {
	enum sst st;
	int64_t proc;
	int64_t count; /* events of this process: its vector clock entry */
	struct mv_event ev;
	struct mv_memsut_op op;
	int64_t id, deadline, applied;
	int inject; /* --info-rate: 1 ends info unapplied, 2 applied */
};

struct run {
	const struct mv_exec_opts *o;
	struct mv_exec_result *res;
	struct mv_err *e;
	struct mv_reader *rd;
	FILE *in;
	const char *name;
	int out;
	struct mv_buf b;
	int64_t t0, last_flush, index;
	int out_failed;
	struct mv_event la; /* the next input record, once peeked */
	int have_la, input_done;
	/* A command SUT's own clock for the completion being written. */
	const char *obs_src;
	int64_t obs_ns;
	int in_stream;  /* input is a pipe or terminal, not a file */
	int want_input; /* peek_op stopped short of a blocking read */
	struct slot *s;
	int c, active;
	struct mv_rng rng;
	struct mv_memsut *mem;
	int workload;
	/* command SUT */
	pid_t pid;
	int to, from;
	struct mv_buf rbuf, line;
	int64_t next_id;
	/* stream: the version the clients last saw, per key */
	struct seen {
		char *key;
		int64_t version;
	} * seen;
	size_t nseen, capseen;
};

void
mv_exec_opts_init(struct mv_exec_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->concurrency = 5;
	o->workload = -1;
	o->bug_rate = 0.05;
	o->seed = 1;
	o->limit = -1;
}

static int
stopped(const struct run *r)
{
	return r->o->stop && *r->o->stop;
}

static int64_t
ctl_now(const struct run *r)
{
	return mv_now_ns() - r->t0;
}

/* Writes out the buffer; after a failure everything is dropped. */
static void
flush_out(struct run *r)
{
	size_t off = 0;

	while (!r->out_failed && off < r->b.len) {
		ssize_t n = write(r->out, r->b.p + off, r->b.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r->out_failed = errno;
			break;
		}
		off += (size_t)n;
	}
	mv_buf_reset(&r->b);
	r->last_flush = mv_now_ns();
}

/* Called after each whole event: complete lines only ever reach out. */
static void
event_done(struct run *r, int64_t now)
{
	r->res->events++;
	if (r->o->line_buffered || r->b.len >= OUT_CHUNK
	    || now + r->t0 - r->last_flush >= FLUSH_NS)
		flush_out(r);
}

/*
 * Writes a client event of slot x: type, the op's f, key, value and extra,
 * the error, and the OVC.  lo is the earliest controller time at which the
 * event could have happened (its own time for an invocation).
 */
static void
emit(struct run *r, struct slot *x, enum mv_type type, const char *value,
    const char *error, int64_t lo)
{
	int64_t now = ctl_now(r);
	struct mv_buf *b = &r->b;

	x->count++;
	mv_buf_adds(b, "{\"index\":");
	mv_buf_addi(b, r->index++);
	mv_buf_adds(b, ",\"type\":\"");
	mv_buf_adds(b, mv_type_name(type));
	mv_buf_adds(b, "\",\"process\":");
	mv_buf_addi(b, x->proc);
	mv_buf_adds(b, ",\"f\":");
	mv_buf_add_jstr(b, x->ev.f, strlen(x->ev.f));
	if (x->ev.key) {
		mv_buf_adds(b, ",\"key\":");
		mv_buf_add_jstr(b, x->ev.key, strlen(x->ev.key));
	}
	if (value) {
		mv_buf_adds(b, ",\"value\":");
		mv_buf_adds(b, value);
	}
	mv_buf_adds(b, ",\"time\":");
	mv_buf_addi(b, now);
	if (error) {
		mv_buf_adds(b, ",\"error\":");
		mv_buf_adds(b, error);
	}
	mv_buf_adds(b, ",\"ovc\":{\"ctl\":");
	mv_buf_addi(b, now);
	mv_buf_adds(b, ",\"obs\":");
	mv_buf_addi(b, r->obs_src ? r->obs_ns : mv_wall_ns());
	mv_buf_adds(b, ",\"src\":");
	if (r->obs_src)
		mv_buf_add_jstr(b, r->obs_src, strlen(r->obs_src));
	else
		mv_buf_adds(b, "\"exec\"");
	mv_buf_adds(b, ",\"vc\":{\"p");
	mv_buf_addi(b, x->proc);
	mv_buf_adds(b, "\":");
	mv_buf_addi(b, x->count);
	if (r->mem) {
		mv_buf_adds(b, ",\"n1\":");
		mv_buf_addi(b, (int64_t)mv_memsut_version(r->mem));
	}
	mv_buf_adds(b, "},\"lo\":");
	mv_buf_addi(b, lo < 0 ? now : lo);
	mv_buf_adds(b, ",\"hi\":");
	mv_buf_addi(b, now);
	mv_buf_addc(b, '}');
	if (x->ev.extra && type == MV_INVOKE) {
		mv_buf_addc(b, ',');
		mv_buf_adds(b, x->ev.extra);
	}
	mv_buf_adds(b, "}\n");
	event_done(r, now);
}

/* Ends slot x's op with info; the process is then replaced by p + c. */
static void
close_info(struct run *r, struct slot *x, const char *error)
{
	emit(r, x, MV_INFO, NULL, error, x->applied);
	x->st = S_IDLE;
	x->proc += r->c;
	x->count = 0;
	r->active--;
}

/* A nemesis event goes through as it is, stamped with index and time. */
static void
pass_nemesis(struct run *r, struct mv_event *ev)
{
	int64_t now = ctl_now(r);

	ev->index = r->index++;
	ev->time = now;
	mv_event_write(&r->b, ev);
	event_done(r, now);
}

static void
write_meta(struct run *r, const char *raw)
{
	const struct mv_exec_opts *o = r->o;
	size_t n = raw ? strlen(raw) : 0;

	if (raw) {
		while (n > 0 && raw[n - 1] != '}')
			n--;
		mv_buf_add(&r->b, raw, n - 1);
		mv_buf_adds(&r->b, ",\"exec\":{");
	} else
		mv_buf_adds(&r->b, "{\"type\":\"meta\",\"exec\":{");
	mv_buf_addf(&r->b, "\"mv\":\"%s\",\"sut\":", MV_VERSION);
	if (o->sut_cmd) {
		struct mv_buf t = MV_BUF_INIT;

		/* A driver's sut_cmd is its whole --sut text. */
		mv_buf_adds(&t, o->drv ? "" : "cmd:");
		mv_buf_adds(&t, o->sut_cmd);
		mv_buf_add_jstr(&r->b, t.p, t.len);
		mv_buf_release(&t);
	} else
		mv_buf_adds(&r->b, "\"mem\"");
	mv_buf_addf(&r->b,
	    ",\"workload\":\"%s\",\"concurrency\":%d,\"seed\":%llu,"
	    "\"bugs\":",
	    mv_workload_name(r->workload), o->concurrency,
	    (unsigned long long)o->seed);
	mv_bug_write(&r->b, o->bugs);
	mv_buf_addf(&r->b,
	    ",\"bug_rate\":%.6g,\"timeout\":%lld,\"limit\":%lld,"
	    "\"pace\":%s}}\n",
	    o->bug_rate, (long long)o->timeout_ns, (long long)o->limit,
	    o->pace ? "true" : "false");
	/* Only when asked for, so that other meta lines stay as they were. */
	if (o->info_rate > 0) {
		r->b.len -= 3; /* reopen the exec member before its "}}\n" */
		mv_buf_addf(&r->b, ",\"info_rate\":%.6g}}\n", o->info_rate);
	}
	flush_out(r);
}

/* An error about input record ev: "FILE:LINE: what". */
static int
in_err(struct run *r, const struct mv_event *ev, const char *what)
{
	char msg[sizeof(r->e->msg)];

	snprintf(msg, sizeof(msg), "%s", what);
	return mv_err_set(r->e, "%s:%zu: %s", r->name, ev->line, msg);
}

/*
 * Before a read of the input that would block, writes out what the reader
 * of our output is waiting for; a line already buffered or input ready
 * costs no flush.
 */
static void
flush_before_read(struct run *r, int stream)
{
	struct pollfd p;

	if (!stream || r->b.len == 0 || mv_reader_ready(r->rd))
		return;
	p.fd = fileno(r->in);
	p.events = POLLIN;
	if (poll(&p, 1, 0) == 0)
		flush_out(r);
}

/* 1 if reading the input now will not block (a file always reads). */
static int
input_ready(struct run *r)
{
	struct pollfd p;

	if (!r->in_stream || mv_reader_ready(r->rd))
		return 1;
	p.fd = fileno(r->in);
	p.events = POLLIN;
	return poll(&p, 1, 0) != 0;
}

/*
 * Makes r->la the next op record, passing nemesis events through on the
 * way; sets input_done at the end of input or of --limit.  Returns -1 on
 * malformed input, else 0 (nothing to do when stopped).
 */
static int
peek_op(struct run *r)
{
	int rc;

	if (r->have_la || r->input_done)
		return 0;
	if (r->o->limit >= 0 && r->res->ops >= r->o->limit) {
		r->input_done = 1;
		return 0;
	}
	while (!stopped(r)) {
		if (r->la.type == MV_OP && r->la.f != NULL) {
			r->have_la = 1;
			return 0;
		}
		if (r->la.f != NULL && r->la.process == MV_NEMESIS
		    && r->la.type != MV_META && r->la.type != MV_OP) {
			pass_nemesis(r, &r->la);
			/* Written: a return below must not pass it again. */
			mv_event_release(&r->la);
		} else if (r->la.f != NULL || r->la.type == MV_META)
			return in_err(r, &r->la,
			    r->la.type == MV_META
			        ? "\"meta\" record after the first line"
			        : "expected an op record (from mv-gen)");
		/*
		 * With a server answering ops in flight, never block on the
		 * input: a completion would wait for the next input line and
		 * be stamped late (mv-nemesis holds records until their time).
		 * run_cmd polls the input and the server together instead.
		 */
		if (r->mem == NULL && r->active > 0 && !input_ready(r)) {
			r->want_input = 1;
			return 0;
		}
		flush_before_read(r, r->in_stream);
		rc = mv_reader_next(r->rd, &r->la, r->e);
		if (rc < 0)
			return stopped(r) ? 0 : -1;
		if (rc == 0) {
			r->input_done = 1;
			return 0;
		}
	}
	return 0;
}

/* Sleeps until controller time at, or until stopped. */
static void
wait_until(struct run *r, int64_t at)
{
	int64_t now;

	flush_out(r);
	while (!stopped(r) && (now = ctl_now(r)) < at) {
		int64_t d = at - now < 100000000 ? at - now : 100000000;
		struct timespec ts = {0, (long)d};

		nanosleep(&ts, NULL);
	}
}

static size_t
seen_slot(const struct run *r, const char *key)
{
	size_t h = 5381;
	const char *p;

	for (p = key; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (h &= r->capseen - 1;
	     r->seen[h].key && strcmp(r->seen[h].key, key) != 0;
	     h = (h + 1) & (r->capseen - 1))
		;
	return h;
}

/* The stream version last seen for key, or -1 (none seen: no stream). */
static int64_t
seen_get(const struct run *r, const char *key)
{
	size_t i;

	if (r->capseen == 0)
		return -1;
	i = seen_slot(r, key);
	return r->seen[i].key ? r->seen[i].version : -1;
}

static void
seen_put(struct run *r, const char *key, int64_t v)
{
	size_t i;

	if (r->nseen * 2 >= r->capseen) {
		struct seen *old = r->seen;
		size_t oldcap = r->capseen;

		r->capseen = oldcap ? oldcap * 2 : 64;
		r->seen = mv_xcalloc(r->capseen, sizeof(*r->seen));
		for (i = 0; i < oldcap; i++)
			if (old[i].key)
				r->seen[seen_slot(r, old[i].key)] = old[i];
		free(old);
	}
	i = seen_slot(r, key);
	if (r->seen[i].key == NULL) {
		r->seen[i].key = mv_xstrdup(key);
		r->nseen++;
	}
	r->seen[i].version = v;
}

/*
 * A stream append expecting "last" expects the version the clients saw
 * last for its key: ev's value is rewritten before it is invoked.
 */
static void
resolve_last(struct run *r, struct mv_event *ev)
{
	static const char pat[] = "\"expect\":\"last\"";
	char *at;
	struct mv_buf b = MV_BUF_INIT;

	if (r->workload != MV_W_STREAM || ev->value == NULL || ev->key == NULL
	    || (at = strstr(ev->value, pat)) == NULL)
		return;
	mv_buf_add(&b, ev->value, (size_t)(at - ev->value));
	mv_buf_adds(&b, "\"expect\":");
	mv_buf_addi(&b, seen_get(r, ev->key));
	mv_buf_adds(&b, at + sizeof(pat) - 1);
	free(ev->value);
	ev->value = mv_buf_detach(&b, NULL);
}

/* Learns the stream version from a completion of slot x's op. */
static void
observe(struct run *r, const struct slot *x, enum mv_type t, const char *value)
{
	struct mv_err e;
	struct mv_jv *v, *in;
	const struct mv_jv *m;

	if (r->workload != MV_W_STREAM || value == NULL || x->ev.key == NULL
	    || t == MV_INFO)
		return;
	if ((v = mv_jv_parse(value, strlen(value), &e)) == NULL)
		return;
	if (strcmp(x->ev.f, "append") == 0) {
		m = mv_jv_get(v, t == MV_OK ? "version" : "actual");
		if (m && m->kind == MV_JINT)
			seen_put(r, x->ev.key, m->i);
	} else if (t == MV_OK && v->kind == MV_JNULL)
		seen_put(r, x->ev.key, -1);
	else if (t == MV_OK && v->kind == MV_JARR && v->len > 0) {
		int64_t from = 0;

		in = x->ev.value
		    ? mv_jv_parse(x->ev.value, strlen(x->ev.value), &e)
		    : NULL;
		m = in ? mv_jv_get(in, "from") : NULL;
		if (m && m->kind == MV_JINT)
			from = m->i;
		seen_put(r, x->ev.key, from + (int64_t)v->len - 1);
		mv_jv_free(in);
	}
	mv_jv_free(v);
}

/*
 * Gives slot x the next op and writes its invocation.  Returns 1 when it
 * did, 0 when there is none (or the run was stopped while pacing), -1 on
 * malformed input.
 */
static int
start_op(struct run *r, struct slot *x, int pace)
{
	if (peek_op(r) < 0)
		return -1;
	if (!r->have_la)
		return 0;
	resolve_last(r, &r->la);
	if (r->mem && mv_memsut_prepare(r->mem, &r->la, &x->op, r->e) < 0)
		return in_err(r, &r->la, r->e->msg);
	if (pace && r->o->pace && r->la.at >= 0) {
		wait_until(r, r->la.at);
		if (stopped(r))
			return 0;
	}
	mv_event_release(&x->ev);
	x->ev = r->la;
	mv_event_init(&r->la);
	r->have_la = 0;
	r->res->ops++;
	r->active++;
	x->st = S_INVOKED;
	x->applied = -1;
	emit(r, x, MV_INVOKE, x->ev.value, NULL, -1);
	return 1;
}

/* The discrete scheduler over the embedded store. */
static int
run_mem(struct run *r)
{
	while (!stopped(r) && !r->out_failed) {
		struct slot *x;

		if (r->active == 0) {
			if (peek_op(r) < 0)
				return -1;
			if (!r->have_la)
				break;
		}
		x = &r->s[mv_rng_below(&r->rng, (uint64_t)r->c)];
		switch (x->st) {
		case S_IDLE:
			if (start_op(r, x, 1) < 0)
				return -1;
			break;
		case S_INVOKED:
			/* --info-rate: this op ends info, applied or not; the
			 * draws happen only when asked for, so that a seed's
			 * interleaving is otherwise unchanged. */
			x->inject = r->o->info_rate > 0
			        && mv_rng_double(&r->rng) < r->o->info_rate
			    ? 1 + (int)mv_rng_below(&r->rng, 2)
			    : 0;
			if (x->inject == 1) {
				close_info(r, x, "\"injected\"");
				break;
			}
			x->applied = ctl_now(r);
			/* fall through */
		case S_APPLYING:
			x->st = mv_memsut_apply(r->mem, &x->op) ? S_APPLIED
			                                        : S_APPLYING;
			break;
		default:
			if (x->inject) {
				close_info(r, x, "\"injected\"");
				break;
			}
			emit(r, x, (enum mv_type)x->op.res_type,
			    x->op.has_value ? x->op.res_value.p : NULL,
			    x->op.res_error, x->applied);
			observe(r, x, (enum mv_type)x->op.res_type,
			    x->op.has_value ? x->op.res_value.p : NULL);
			x->st = S_IDLE;
			r->active--;
		}
	}
	return 0;
}

/* ---- the command SUT ---- */

static int
spawn(struct run *r)
{
	int in[2], out[2];

	if (pipe(in) < 0)
		return mv_err_set(r->e, "pipe: %s", strerror(errno));
	if (pipe(out) < 0) {
		close(in[0]);
		close(in[1]);
		return mv_err_set(r->e, "pipe: %s", strerror(errno));
	}
	if ((r->pid = fork()) < 0)
		return mv_err_set(r->e, "fork: %s", strerror(errno));
	if (r->pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		close(r->out > 2 ? r->out : -1);
		if (r->o->drv)
			_exit(mv_drv_serve(r->o->drv, r->o->drv_target,
			    r->o->timeout_ns, r->workload, r->o->netns, 0, 1));
		execl("/bin/sh", "sh", "-c", r->o->sut_cmd, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	r->to = in[1];
	r->from = out[0];
	fcntl(r->to, F_SETFD, FD_CLOEXEC);
	fcntl(r->from, F_SETFD, FD_CLOEXEC);
	return 0;
}

/* Sends slot x's op as {"id":N,"f":...,"key":...,"value":...}. */
static void
send_op(struct run *r, struct slot *x)
{
	struct mv_buf *b = &r->line;
	size_t off = 0;

	mv_buf_reset(b);
	x->id = r->next_id++;
	mv_buf_adds(b, "{\"id\":");
	mv_buf_addi(b, x->id);
	mv_buf_adds(b, ",\"f\":");
	mv_buf_add_jstr(b, x->ev.f, strlen(x->ev.f));
	if (x->ev.key) {
		mv_buf_adds(b, ",\"key\":");
		mv_buf_add_jstr(b, x->ev.key, strlen(x->ev.key));
	}
	if (x->ev.value) {
		mv_buf_adds(b, ",\"value\":");
		mv_buf_adds(b, x->ev.value);
	}
	mv_buf_adds(b, "}\n");
	x->applied = ctl_now(r);
	x->deadline = r->o->timeout_ns > 0 ? x->applied + r->o->timeout_ns : -1;
	while (off < b->len && !r->res->sut_died) {
		ssize_t n = write(r->to, b->p + off, b->len - off);

		if (n < 0 && errno != EINTR)
			r->res->sut_died = 1; /* EPIPE: it is gone */
		else if (n > 0)
			off += (size_t)n;
	}
}

/* A value member of a completion as raw JSON text in t, or NULL. */
static const char *
member_text(const struct mv_jv *v, const char *name, struct mv_buf *t)
{
	const struct mv_jv *m = mv_jv_get(v, name);

	if (m == NULL)
		return NULL;
	mv_jv_write(t, m);
	return t->p;
}

/* One completion line from the SUT; -1 on a protocol error. */
static int
completion(struct run *r, const char *line, size_t n)
{
	struct mv_jv *v = mv_jv_parse(line, n, r->e);
	const struct mv_jv *id = v ? mv_jv_get(v, "id") : NULL;
	const struct mv_jv *ty = v ? mv_jv_get(v, "type") : NULL;
	const struct mv_jv *node = v ? mv_jv_get(v, "node") : NULL;
	const struct mv_jv *nt = v ? mv_jv_get(v, "node_time") : NULL;
	struct mv_buf tv = MV_BUF_INIT, te = MV_BUF_INIT;
	enum mv_type t = MV_OK;
	int i;

	if (ty && ty->kind == MV_JSTR)
		t = strcmp(ty->s, "ok") == 0     ? MV_OK
		    : strcmp(ty->s, "fail") == 0 ? MV_FAIL
		    : strcmp(ty->s, "info") == 0 ? MV_INFO
		                                 : MV_META;
	if (id == NULL || id->kind != MV_JINT || id->i < 0
	    || id->i >= r->next_id || ty == NULL || t == MV_META) {
		mv_jv_free(v);
		return mv_err_set(r->e,
		    "SUT: not a completion {\"id\":N,"
		    "\"type\":\"ok|fail|info\",...}: %.*s",
		    (int)(n < 100 ? n : 100), line);
	}
	for (i = 0; i < r->c; i++) {
		struct slot *x = &r->s[i];

		if (x->st != S_INVOKED || x->id != id->i)
			continue;
		/* The node's wall clock, when the SUT says which and when. */
		if (node && node->kind == MV_JSTR && nt && nt->kind == MV_JINT
		    && mv_node_name_ok(node->s, strlen(node->s))) {
			r->obs_src = node->s;
			r->obs_ns = nt->i;
		}
		emit(r, x, t, member_text(v, "value", &tv),
		    member_text(v, "error", &te), x->applied);
		r->obs_src = NULL;
		observe(r, x, t, tv.len ? tv.p : NULL);
		x->st = S_IDLE;
		r->active--;
		if (t == MV_INFO) {
			x->proc += r->c;
			x->count = 0;
		}
	}
	/* No slot: a late answer to an op that timed out; dropped. */
	mv_buf_release(&tv);
	mv_buf_release(&te);
	mv_jv_free(v);
	return 0;
}

/* Reads what the SUT wrote; 0 at its end of file, -1 on protocol error. */
static int
read_sut(struct run *r)
{
	char *nl;
	ssize_t n;

	mv_buf_grow(&r->rbuf, OUT_CHUNK);
	n = read(r->from, r->rbuf.p + r->rbuf.len, OUT_CHUNK);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n == 0)
		return 0;
	r->rbuf.len += (size_t)n;
	while ((nl = memchr(r->rbuf.p, '\n', r->rbuf.len)) != NULL) {
		size_t len = (size_t)(nl - r->rbuf.p);

		if (len > 0 && completion(r, r->rbuf.p, len) < 0)
			return -1;
		memmove(r->rbuf.p, nl + 1, r->rbuf.len - len - 1);
		r->rbuf.len -= len + 1;
	}
	return 1;
}

/* Milliseconds to wait in poll: the next deadline or paced op, or -1. */
static int
poll_ms(struct run *r, int64_t until)
{
	int64_t now = ctl_now(r), ms;
	int i;

	for (i = 0; i < r->c; i++)
		if (r->s[i].st == S_INVOKED && r->s[i].deadline >= 0
		    && (until < 0 || r->s[i].deadline < until))
			until = r->s[i].deadline;
	if (until < 0)
		return -1;
	ms = (until - now + 999999) / 1000000;
	return ms < 0 ? 0 : ms > 1000 ? 1000 : (int)ms;
}

/* Starts ops on idle processes; returns the "at" it waits for, or -1. */
static int64_t
launch(struct run *r, int *err)
{
	int i;

	for (i = 0; i < r->c && !r->res->sut_died; i++) {
		struct slot *x = &r->s[i];

		if (x->st != S_IDLE)
			continue;
		if (peek_op(r) < 0) {
			*err = 1;
			return -1;
		}
		if (!r->have_la)
			return -1;
		if (r->o->pace && r->la.at > ctl_now(r))
			return r->la.at;
		if (start_op(r, x, 0) > 0)
			send_op(r, x);
	}
	return -1;
}

static int
run_cmd(struct run *r)
{
	while (!stopped(r) && !r->out_failed && !r->res->sut_died) {
		struct pollfd p[2];
		int err = 0, i, rc;
		int64_t until = launch(r, &err), now;

		if (err)
			return -1;
		if (r->active == 0 && r->input_done)
			break;
		if (stopped(r) || r->res->sut_died)
			break;
		flush_out(r);
		p[0].fd = r->from;
		p[0].events = POLLIN;
		/* Input waiting to be read wakes us too (see peek_op). */
		p[1].fd = r->want_input ? fileno(r->in) : -1;
		p[1].events = POLLIN;
		r->want_input = 0;
		if (poll(p, 2, poll_ms(r, until)) > 0 && p[0].revents) {
			if ((rc = read_sut(r)) < 0)
				return -1;
			if (rc == 0)
				r->res->sut_died = 1;
		}
		now = ctl_now(r);
		for (i = 0; i < r->c; i++)
			if (r->s[i].st == S_INVOKED && r->s[i].deadline >= 0
			    && r->s[i].deadline <= now)
				close_info(r, &r->s[i], "\"timeout\"");
	}
	return 0;
}

/* Ends the command SUT: EOF on its stdin, then TERM and KILL if needed. */
static void
reap(struct run *r, int hurry)
{
	int i, st = 0;

	if (r->pid <= 0)
		return;
	close(r->to);
	if (hurry)
		kill(r->pid, SIGTERM);
	for (i = 0; i < 300; i++) {
		struct timespec ts = {0, 10000000};

		if (waitpid(r->pid, &st, WNOHANG) == r->pid)
			break;
		if (i == 100)
			kill(r->pid, SIGTERM);
		if (i == 200)
			kill(r->pid, SIGKILL);
		nanosleep(&ts, NULL);
	}
	r->res->sut_status = st;
	close(r->from);
	r->pid = 0;
}

/* The workload named by the meta line's "gen" member, or -1. */
static int
meta_workload(const char *raw)
{
	struct mv_err e;
	struct mv_jv *v = mv_jv_parse(raw, strlen(raw), &e);
	const struct mv_jv *g = v ? mv_jv_get(v, "gen") : NULL;
	const struct mv_jv *w = g ? mv_jv_get(g, "workload") : NULL;
	int k = w && w->kind == MV_JSTR ? mv_workload_lookup(w->s) : -1;

	mv_jv_free(v);
	return k;
}

/* Reads the first record: the meta line, or the first op kept in la. */
static int
first_record(struct run *r, char **meta)
{
	int rc = mv_reader_next(r->rd, &r->la, r->e);

	*meta = NULL;
	if (rc < 0)
		return -1;
	if (rc == 0)
		r->input_done = 1;
	else if (r->la.type == MV_META) {
		*meta = r->la.raw;
		r->la.raw = NULL;
		mv_event_release(&r->la);
	}
	r->workload = r->o->workload;
	if (r->workload < 0 && *meta)
		r->workload = meta_workload(*meta);
	if (r->workload < 0)
		r->workload = MV_W_REGISTER;
	return 0;
}

static void
release_run(struct run *r)
{
	int i;

	for (i = 0; i < r->c; i++) {
		mv_event_release(&r->s[i].ev);
		mv_memsut_op_release(&r->s[i].op);
	}
	free(r->s);
	mv_event_release(&r->la);
	mv_reader_free(r->rd);
	mv_memsut_free(r->mem);
	mv_buf_release(&r->b);
	mv_buf_release(&r->rbuf);
	mv_buf_release(&r->line);
	for (i = 0; i < (int)r->capseen; i++)
		free(r->seen[i].key);
	free(r->seen);
}

int
mv_exec_run(const struct mv_exec_opts *o, FILE *in, const char *name, int out,
    struct mv_exec_result *res, struct mv_err *e)
{
	struct run r;
	struct stat st;
	char *meta = NULL;
	int i, rc = 0;
	const char *why;

	memset(&r, 0, sizeof(r));
	memset(res, 0, sizeof(*res));
	r.o = o;
	r.res = res;
	r.e = e;
	r.in = in;
	r.name = strcmp(name, "-") == 0 ? "<stdin>" : name;
	r.out = out;
	r.c = o->concurrency;
	r.in_stream = fstat(fileno(in), &st) < 0 || !S_ISREG(st.st_mode);
	mv_event_init(&r.la);
	mv_rng_seed(&r.rng, o->seed);
	r.rd = mv_reader_new(in, name, MV_RD_OPS);
	r.s = mv_xcalloc((size_t)r.c, sizeof(*r.s));
	for (i = 0; i < r.c; i++) {
		r.s[i].proc = i;
		mv_event_init(&r.s[i].ev);
		mv_memsut_op_init(&r.s[i].op);
	}
	r.t0 = r.last_flush = mv_now_ns();
	if (first_record(&r, &meta) < 0) {
		release_run(&r);
		return -1;
	}
	if (o->sut_cmd == NULL)
		r.mem =
		    mv_memsut_new(r.workload, o->bugs, o->bug_rate, o->seed);
	else if (spawn(&r) < 0) {
		free(meta);
		release_run(&r);
		return -1;
	}
	write_meta(&r, meta);
	free(meta);
	if (!r.out_failed)
		rc = r.mem ? run_mem(&r) : run_cmd(&r);
	res->interrupted = o->stop ? *o->stop : 0;
	if (rc < 0 && strncmp(e->msg, "SUT:", 4) == 0)
		res->sut_died = 1;
	why = res->sut_died ? "\"sut-died\""
	    : rc < 0        ? "\"aborted\""
	                    : "\"interrupted\"";
	for (i = 0; i < r.c; i++)
		if (r.s[i].st != S_IDLE)
			close_info(&r, &r.s[i], why);
	flush_out(&r);
	reap(&r, rc < 0 || res->sut_died || res->interrupted);
	if (rc == 0 && r.out_failed)
		rc = mv_err_set(e, "stdout: %s", strerror(r.out_failed));
	release_run(&r);
	return rc;
}
