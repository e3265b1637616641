/*
 * test_wgl_more.c: mv_check against a brute-force oracle on small random
 * histories of the kv, set, counter and stream models, the ones whose
 * reads the search takes greedily (lib/wgl.c, GREEDY): a correct object
 * is simulated under random timing, some results are then perturbed,
 * updates go missing or are claimed ok without taking effect, ops end
 * ok, fail, info or not at all, results go missing, and --nil-unknown
 * varies (none of these models takes --init).  Reads dominate, so that
 * several overlap one another and the writes around them.  The oracle
 * tries every order of the ops and every subset of those that may not
 * have happened.  MV_ORACLE_N sets the histories per model (10000 by
 * default; the long run of the manual uses 1000000).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle.h"

enum { M_KV, M_SET, M_COUNTER, M_STREAM, NMODEL };

static const char *const mname[NMODEL] = {"kv", "set", "counter", "stream"};

enum { F_READ, F_WRITE, F_ADD }; /* F_ADD: add, or append */

/* Stream expectations other than a version N >= -1. */
#define E_ANY (-100)
#define E_EXISTS (-101)

/*
 * The state (struct oracle_st).  kv: the string's characters, n -1 when
 * absent; set: n is the bit mask of the members; counter: n is the sum;
 * stream: the event ids, oldest first.
 */
struct gop {
	struct oracle_op t; /* first: the harness's part */
	int f;
	int arg[2], narg;     /* kv: characters; set, counter: arg[0]; stream:
	                         the batch's event ids */
	int expect;           /* stream append */
	int from;             /* stream read */
	struct oracle_st res; /* read result; stream append: res.n the
	                         version */
	int null;             /* the read returned null */
	int actual;           /* stream append failed: the stream's version */
};

struct gen {
	struct oracle o; /* first: the harness's part */
	int many_reads;  /* this history: three processes, mostly reads */
	struct gop op[ORACLE_MAXOP];
};

static void
add_str(struct mv_buf *b, const struct oracle_st *s)
{
	int j;

	mv_buf_addc(b, '"');
	for (j = 0; j < s->n; j++)
		mv_buf_addc(b, (char)s->v[j]);
	mv_buf_addc(b, '"');
}

/* A set's members in a random order, some twice. */
static void
add_members(struct gen *g, struct mv_buf *b, int mask)
{
	int m[8], n = 0, j, k, t;

	for (j = 0; j < 8; j++)
		if (mask >> j & 1) {
			m[n++] = j;
			if (mv_rng_below(&g->o.rng, 8) == 0)
				m[n++] = j;
		}
	for (j = n - 1; j > 0; j--) {
		k = (int)mv_rng_below(&g->o.rng, (uint64_t)j + 1);
		t = m[j];
		m[j] = m[k];
		m[k] = t;
	}
	mv_buf_addc(b, '[');
	for (j = 0; j < n; j++)
		mv_buf_addf(b, "%s%d", j ? "," : "", m[j]);
	mv_buf_addc(b, ']');
}

static void
add_events(struct mv_buf *b, const int *v, int n)
{
	int j;

	mv_buf_addc(b, '[');
	for (j = 0; j < n; j++)
		mv_buf_addf(b, "%s%d", j ? "," : "", v[j]);
	mv_buf_addc(b, ']');
}

/* The invocation's value of o, or nothing. */
static void
inv_value(struct gen *g, const struct gop *o, struct mv_buf *b)
{
	struct oracle_st a;

	if (o->f == F_READ) {
		/* A stream read from 0 may leave its argument out. */
		if (g->o.model == M_STREAM
		    && (o->from || mv_rng_below(&g->o.rng, 2)))
			mv_buf_addf(b, "{\"from\":%d}", o->from);
		return;
	}
	switch (g->o.model) {
	case M_KV:
		a.n = o->narg;
		memcpy(a.v, o->arg, sizeof(o->arg));
		add_str(b, &a);
		return;
	case M_SET:
	case M_COUNTER: mv_buf_addf(b, "%d", o->arg[0]); return;
	default: break;
	}
	mv_buf_adds(b, "{\"events\":");
	add_events(b, o->arg, o->narg);
	if (o->expect == E_EXISTS)
		mv_buf_adds(b, ",\"expect\":\"exists\"");
	else if (o->expect == -1 && mv_rng_below(&g->o.rng, 2))
		mv_buf_adds(b, ",\"expect\":\"no-stream\"");
	else if (o->expect >= -1)
		mv_buf_addf(b, ",\"expect\":%d", o->expect);
	else if (mv_rng_below(&g->o.rng, 2))
		mv_buf_adds(b, ",\"expect\":\"any\"");
	mv_buf_addc(b, '}');
}

/* The completion's value of o (status t), or nothing. */
static void
ret_value(struct gen *g, enum mv_type t, const struct gop *o, struct mv_buf *b)
{
	if (t == MV_FAIL && g->o.model == M_STREAM && o->t.applied == 2
	    && o->t.known) {
		mv_buf_addf(b, "{\"actual\":%d}", o->actual);
		return;
	}
	if (t != MV_OK || !o->t.known)
		return;
	if (o->f != F_READ) {
		if (g->o.model == M_STREAM)
			mv_buf_addf(b, "{\"version\":%d}", o->res.n);
		else
			inv_value(g, o, b); /* echoed */
		return;
	}
	if (o->null) {
		mv_buf_adds(b, "null");
		return;
	}
	switch (g->o.model) {
	case M_KV: add_str(b, &o->res); return;
	case M_SET: add_members(g, b, o->res.n); return;
	case M_COUNTER: mv_buf_addf(b, "%d", o->res.n); return;
	default: add_events(b, o->res.v, o->res.n); return;
	}
}

static void
event(struct oracle *og, struct mv_event *ev, const struct oracle_op *t)
{
	static const char *const fn[NMODEL][3] = {{"get", "put", "append"},
	    {"read", "", "add"}, {"read", "", "add"}, {"read", "", "append"}};
	struct gen *g = (struct gen *)og;
	const struct gop *o = (const struct gop *)t;
	struct mv_buf b = MV_BUF_INIT;

	ev->f = strdup(fn[g->o.model][o->f]);
	if (ev->type == MV_INVOKE)
		inv_value(g, o, &b);
	else
		ret_value(g, ev->type, o, &b);
	if (b.len)
		ev->value = strdup(b.p);
	if (ev->type == MV_FAIL && g->o.model == M_STREAM && t->applied == 2)
		ev->error = strdup("\"wrong-expected-version\"");
	mv_buf_release(&b);
}

static int
expect_ok(int expect, int len)
{
	if (expect == E_ANY)
		return 1;
	if (expect == E_EXISTS)
		return len > 0;
	return expect == len - 1;
}

static void
init(const struct oracle *og, struct oracle_st *s)
{
	const struct gen *g = (const struct gen *)og;

	memset(s, 0, sizeof(*s));
	if (g->o.model == M_KV)
		s->n = -1;
}

/* Applies o to s as the real object would. */
static void
apply(struct oracle *og, struct oracle_op *t, struct oracle_st *s)
{
	struct gop *o = (struct gop *)t;
	int j;

	if (o->f == F_READ) {
		o->null = 0;
		switch (og->model) {
		case M_KV:
			o->res = *s;
			if (s->n < 0) {
				o->null = 1;
				o->res.n = 0;
			}
			return;
		case M_STREAM:
			o->res.n = 0;
			for (j = o->from; j < s->n; j++)
				o->res.v[o->res.n++] = s->v[j];
			/* A store may say null of a stream that is not. */
			if (s->n == 0)
				o->null = (int)mv_rng_below(&og->rng, 2);
			return;
		default: o->res.n = s->n; return;
		}
	}
	switch (og->model) {
	case M_KV:
		if (o->f == F_WRITE)
			s->n = 0;
		else if (s->n < 0)
			s->n = 0;
		for (j = 0; j < o->narg; j++)
			s->v[s->n++] = o->arg[j];
		return;
	case M_SET: s->n |= 1 << o->arg[0]; return;
	case M_COUNTER: s->n += o->arg[0]; return;
	default: break;
	}
	if (!expect_ok(o->expect, s->n)) {
		t->applied = 2;
		o->actual = s->n - 1;
		return;
	}
	for (j = 0; j < o->narg; j++)
		s->v[s->n++] = o->arg[j];
	o->res.n = s->n - 1;
}

static void
invoke(struct oracle *og, struct oracle_op *t)
{
	static const int cadd[4] = {1, 1, 2, -1};
	struct gen *g = (struct gen *)og;
	struct gop *o = (struct gop *)t;
	const struct oracle_st *s = &og->sim;
	int r;

	/* Reads half the time, or three in four: they are what the greedy
	 * rule takes, and it matters most when several overlap. */
	if ((int)mv_rng_below(&g->o.rng, 4) < 2 + g->many_reads) {
		o->f = F_READ;
		if (g->o.model == M_STREAM)
			o->from = mv_rng_below(&g->o.rng, 3) ? 0 : 1;
		return;
	}
	o->f = F_ADD;
	switch (g->o.model) {
	case M_KV:
		if (mv_rng_below(&g->o.rng, 5) < 2)
			o->f = F_WRITE;
		r = (int)mv_rng_below(&g->o.rng, 4);
		if (o->f == F_WRITE) {
			/* "" is not absent: an empty put must show. */
			o->narg = r == 3 ? 0 : 1;
			o->arg[0] = r & 1 ? 'b' : 'a';
		} else {
			o->narg = r == 3 ? 2 : 1;
			o->arg[0] = r & 1 ? 'y' : 'x';
			o->arg[1] = 'y';
		}
		return;
	case M_SET: o->arg[0] = 1 + (int)mv_rng_below(&g->o.rng, 3); return;
	case M_COUNTER: o->arg[0] = cadd[mv_rng_below(&g->o.rng, 4)]; return;
	default: break;
	}
	o->narg = 1 + (mv_rng_below(&g->o.rng, 4) == 0);
	o->arg[0] = og->next++;
	o->arg[1] = og->next++;
	/* What a client last saw, often; else anything. */
	r = (int)mv_rng_below(&g->o.rng, 8);
	o->expect = r < 3 ? s->n - 1
	    : r < 5       ? E_ANY
	    : r == 5      ? E_EXISTS
	                  : (int)mv_rng_below(&g->o.rng, 4) - 1;
}

/* Perturbs the result of an ok op (half the time). */
static void
perturb(struct gen *g, struct gop *o, int next_ev)
{
	int r = (int)mv_rng_below(&g->o.rng, 6), j;

	if (mv_rng_below(&g->o.rng, 2))
		return;
	if (o->f != F_READ) {
		if (g->o.model == M_STREAM)
			o->res.n += r < 3 ? 1 : -1;
		return;
	}
	if (r == 0) {
		o->null = !o->null;
		return;
	}
	switch (g->o.model) {
	case M_KV:
		if (o->null || (r == 1 && o->res.n == 0)) {
			o->null = 0;
			o->res.n = 0;
		} else if (r < 3 && o->res.n > 0)
			o->res.n--;
		else
			o->res.v[o->res.n++] = "abxy"[r - 2];
		return;
	case M_SET:
		o->null = 0;
		o->res.n ^= 1 << (1 + r % 3);
		return;
	case M_COUNTER:
		o->null = 0;
		o->res.n += r < 3 ? r : 2 - r;
		return;
	default: break;
	}
	o->null = 0;
	if (r == 1 && o->res.n > 0)
		o->res.n--;
	else if (r == 2 && o->res.n > 0) {
		o->res.n--;
		memmove(o->res.v, o->res.v + 1, (size_t)o->res.n * sizeof(int));
	} else if (r == 3 && o->res.n > 1) {
		j = o->res.v[0];
		o->res.v[0] = o->res.v[1];
		o->res.v[1] = j;
	} else {
		/* An event appended, or one never appended (next_ev). */
		j = 1 + (int)mv_rng_below(&g->o.rng, (uint64_t)next_ev);
		o->res.v[o->res.n++] = j;
	}
}

/* A third of the histories: three processes, mostly reads. */
static void
begin(struct oracle *og, int *nproc, int *want)
{
	struct gen *g = (struct gen *)og;

	g->many_reads = mv_rng_below(&og->rng, 3) == 0;
	if (g->many_reads) {
		*nproc = 3;
		*want = 4 + (int)mv_rng_below(&og->rng, 5);
	}
}

static void
complete(struct oracle *og, struct oracle_op *t)
{
	struct gop *o = (struct gop *)t;

	t->status = oracle_status(og, t);
	/* An update claimed ok that had no effect: a lost write, or an
	 * append whose expectation did not hold. */
	if (o->f != F_READ && t->applied != 1
	    && mv_rng_below(&og->rng, t->applied ? 3 : 8) == 0) {
		t->status = MV_OK;
		o->res.n = og->sim.n + o->narg - 1;
		t->applied = 0;
	}
	if (t->status == MV_OK)
		perturb((struct gen *)og, o, og->next);
}

/* Whether the oracle must hold an op's result against the state. */
static int
known(const struct oracle *og, const struct gop *o)
{
	return o->t.status == MV_OK && o->t.known
	    && !(og->nil_unknown && o->null);
}

static int
same(const int *a, const int *b, int n)
{
	return memcmp(a, b, (size_t)n * sizeof(int)) == 0;
}

/* Applies o to s into ns: 1 if legal. */
static int
step(const struct oracle *og, const struct oracle_op *t, int k,
    const struct oracle_st *s, struct oracle_st *ns)
{
	const struct gop *o = (const struct gop *)t;
	int j;

	(void)k;
	if (o->f == F_READ) {
		if (!known(og, o))
			return 1;
		switch (og->model) {
		case M_KV:
			if (o->null)
				return s->n < 0;
			return s->n == o->res.n && same(s->v, o->res.v, s->n);
		case M_SET:
		case M_COUNTER:
			/* A null read of a set is the empty set; of a
			 * counter, 0. */
			return s->n == (o->null ? 0 : o->res.n);
		default: break;
		}
		if (s->n <= o->from)
			return o->null || o->res.n == 0;
		return !o->null && o->res.n == s->n - o->from
		    && same(s->v + o->from, o->res.v, o->res.n);
	}
	switch (og->model) {
	case M_KV:
		if (o->f == F_WRITE || ns->n < 0)
			ns->n = 0;
		for (j = 0; j < o->narg; j++)
			ns->v[ns->n++] = o->arg[j];
		return 1;
	case M_SET: ns->n |= 1 << o->arg[0]; return 1;
	case M_COUNTER: ns->n += o->arg[0]; return 1;
	default: break;
	}
	if (!expect_ok(o->expect, s->n))
		return 0;
	if (o->t.status == MV_OK && o->t.known
	    && o->res.n != s->n + o->narg - 1)
		return 0;
	for (j = 0; j < o->narg; j++)
		ns->v[ns->n++] = o->arg[j];
	return 1;
}

static const struct oracle_model model = {sizeof(struct gop), 8, 1, init, begin,
    invoke, apply, complete, event, NULL, step};

int
main(void)
{
	static struct gen g;

	/* Line by line: a crash in mv_check keeps the results before it. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	g.o.m = &model;
	g.o.op = g.op;
	oracle_models(&g.o, mname, NMODEL, 2000, NULL);
	return TAP_DONE();
}
