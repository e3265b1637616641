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

#include "check.h"
#include "history.h"
#include "tap.h"

enum { M_KV, M_SET, M_COUNTER, M_STREAM, NMODEL };

static const char *const mname[NMODEL] = {"kv", "set", "counter", "stream"};

enum { F_READ, F_WRITE, F_ADD }; /* F_ADD: add, or append */

/* Stream expectations other than a version N >= -1. */
#define E_ANY (-100)
#define E_EXISTS (-101)

#define MAXV 24

/*
 * A state of any of the models.  kv: the string's characters, n -1 when
 * absent; set: n is the bit mask of the members; counter: n is the sum;
 * stream: the event ids, oldest first.
 */
struct st {
	int n;
	int v[MAXV];
};

struct gop {
	int f;
	int arg[2], narg; /* kv: characters; set, counter: arg[0]; stream:
	                     the batch's event ids */
	int expect;       /* stream append */
	int from;         /* stream read */
	struct st res;    /* read result; stream append: res.n the version */
	int null;         /* the read returned null */
	int known;        /* the completion reports a result */
	int status;       /* MV_OK, MV_INFO, MV_FAIL; -1: never completed */
	int actual;       /* stream append failed: the stream's version */
	size_t inv, ret;
	int proc, applied; /* 1 took effect, 2 tried and had none */
};

struct gen {
	struct mv_rng rng;
	int model, nil_unknown;
	int many_reads; /* this history: three processes, mostly reads */
	struct gop op[8];
	int nop;
	struct mv_history h;
};

static void
add_str(struct mv_buf *b, const struct st *s)
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
			if (mv_rng_below(&g->rng, 8) == 0)
				m[n++] = j;
		}
	for (j = n - 1; j > 0; j--) {
		k = (int)mv_rng_below(&g->rng, (uint64_t)j + 1);
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
	struct st a;

	if (o->f == F_READ) {
		/* A stream read from 0 may leave its argument out. */
		if (g->model == M_STREAM
		    && (o->from || mv_rng_below(&g->rng, 2)))
			mv_buf_addf(b, "{\"from\":%d}", o->from);
		return;
	}
	switch (g->model) {
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
	else if (o->expect == -1 && mv_rng_below(&g->rng, 2))
		mv_buf_adds(b, ",\"expect\":\"no-stream\"");
	else if (o->expect >= -1)
		mv_buf_addf(b, ",\"expect\":%d", o->expect);
	else if (mv_rng_below(&g->rng, 2))
		mv_buf_adds(b, ",\"expect\":\"any\"");
	mv_buf_addc(b, '}');
}

/* The completion's value of o (status t), or nothing. */
static void
ret_value(struct gen *g, enum mv_type t, const struct gop *o, struct mv_buf *b)
{
	if (t == MV_FAIL && g->model == M_STREAM && o->applied == 2
	    && o->known) {
		mv_buf_addf(b, "{\"actual\":%d}", o->actual);
		return;
	}
	if (t != MV_OK || !o->known)
		return;
	if (o->f != F_READ) {
		if (g->model == M_STREAM)
			mv_buf_addf(b, "{\"version\":%d}", o->res.n);
		else
			inv_value(g, o, b); /* echoed */
		return;
	}
	if (o->null) {
		mv_buf_adds(b, "null");
		return;
	}
	switch (g->model) {
	case M_KV: add_str(b, &o->res); return;
	case M_SET: add_members(g, b, o->res.n); return;
	case M_COUNTER: mv_buf_addf(b, "%d", o->res.n); return;
	default: add_events(b, o->res.v, o->res.n); return;
	}
}

static void
add_event(struct gen *g, enum mv_type t, const struct gop *o)
{
	static const char *const fn[NMODEL][3] = {{"get", "put", "append"},
	    {"read", "", "add"}, {"read", "", "add"}, {"read", "", "append"}};
	struct mv_event *ev;
	struct mv_buf b = MV_BUF_INIT;

	if (g->h.n == g->h.cap) {
		g->h.cap = g->h.cap ? g->h.cap * 2 : 32;
		g->h.ev = realloc(g->h.ev, g->h.cap * sizeof(*g->h.ev));
	}
	ev = &g->h.ev[g->h.n];
	mv_event_init(ev);
	ev->type = t;
	ev->process = o->proc;
	ev->f = strdup(fn[g->model][o->f]);
	ev->index = (int64_t)g->h.n;
	ev->line = g->h.n + 1;
	if (t == MV_INVOKE)
		inv_value(g, o, &b);
	else
		ret_value(g, t, o, &b);
	if (b.len)
		ev->value = strdup(b.p);
	if (t == MV_FAIL && g->model == M_STREAM && o->applied == 2)
		ev->error = strdup("\"wrong-expected-version\"");
	mv_buf_release(&b);
	g->h.n++;
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

/* Applies o to the true state s as the real object would. */
static void
sim_apply(struct gen *g, struct st *s, struct gop *o)
{
	int j;

	o->applied = 1;
	if (o->f == F_READ) {
		o->null = 0;
		switch (g->model) {
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
				o->null = (int)mv_rng_below(&g->rng, 2);
			return;
		default: o->res.n = s->n; return;
		}
	}
	switch (g->model) {
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
		o->applied = 2;
		o->actual = s->n - 1;
		return;
	}
	for (j = 0; j < o->narg; j++)
		s->v[s->n++] = o->arg[j];
	o->res.n = s->n - 1;
}

static void
new_op(struct gen *g, struct gop *o, const struct st *s, int *next_ev)
{
	static const int cadd[4] = {1, 1, 2, -1};
	int r;

	memset(o, 0, sizeof(*o));
	o->status = -1;
	o->ret = SIZE_MAX;
	/* Reads half the time, or three in four: they are what the greedy
	 * rule takes, and it matters most when several overlap. */
	if ((int)mv_rng_below(&g->rng, 4) < 2 + g->many_reads) {
		o->f = F_READ;
		if (g->model == M_STREAM)
			o->from = mv_rng_below(&g->rng, 3) ? 0 : 1;
		return;
	}
	o->f = F_ADD;
	switch (g->model) {
	case M_KV:
		if (mv_rng_below(&g->rng, 5) < 2)
			o->f = F_WRITE;
		r = (int)mv_rng_below(&g->rng, 4);
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
	case M_SET: o->arg[0] = 1 + (int)mv_rng_below(&g->rng, 3); return;
	case M_COUNTER: o->arg[0] = cadd[mv_rng_below(&g->rng, 4)]; return;
	default: break;
	}
	o->narg = 1 + (mv_rng_below(&g->rng, 4) == 0);
	o->arg[0] = (*next_ev)++;
	o->arg[1] = (*next_ev)++;
	/* What a client last saw, often; else anything. */
	r = (int)mv_rng_below(&g->rng, 8);
	o->expect = r < 3 ? s->n - 1
	    : r < 5       ? E_ANY
	    : r == 5      ? E_EXISTS
	                  : (int)mv_rng_below(&g->rng, 4) - 1;
}

/* Perturbs the result of an ok op (half the time). */
static void
perturb(struct gen *g, struct gop *o, int next_ev)
{
	int r = (int)mv_rng_below(&g->rng, 6), j;

	if (mv_rng_below(&g->rng, 2))
		return;
	if (o->f != F_READ) {
		if (g->model == M_STREAM)
			o->res.n += r < 3 ? 1 : -1;
		return;
	}
	if (r == 0) {
		o->null = !o->null;
		return;
	}
	switch (g->model) {
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
		j = 1 + (int)mv_rng_below(&g->rng, (uint64_t)next_ev);
		o->res.v[o->res.n++] = j;
	}
}

static void
generate(struct gen *g)
{
	int nproc = 1 + (int)mv_rng_below(&g->rng, 3), next_proc;
	int busy[16], pid[16], i, pending = 0, started = 0, next_ev = 1;
	int want = 1 + (int)mv_rng_below(&g->rng, 8);
	struct st s;

	g->many_reads = mv_rng_below(&g->rng, 3) == 0;
	if (g->many_reads) {
		nproc = 3;
		want = 4 + (int)mv_rng_below(&g->rng, 5);
	}
	next_proc = nproc;

	memset(&g->h, 0, sizeof(g->h));
	mv_event_init(&g->h.meta);
	memset(&s, 0, sizeof(s));
	if (g->model == M_KV)
		s.n = -1;
	g->nop = 0;
	for (i = 0; i < 16; i++) {
		busy[i] = -1;
		pid[i] = i;
	}
	while (started < want || pending > 0) {
		int p = (int)mv_rng_below(&g->rng, (uint64_t)nproc);
		int act = (int)mv_rng_below(&g->rng, 3);
		struct gop *o;

		if (busy[p] < 0) {
			if (started == want) {
				if (mv_rng_below(&g->rng, 8) == 0)
					break; /* leave the rest pending */
				continue;
			}
			o = &g->op[g->nop];
			new_op(g, o, &s, &next_ev);
			o->proc = pid[p];
			o->inv = g->h.n;
			busy[p] = g->nop++;
			started++;
			pending++;
			add_event(g, MV_INVOKE, o);
			continue;
		}
		o = &g->op[busy[p]];
		if (act == 0 && !o->applied) {
			sim_apply(g, &s, o);
			continue;
		}
		if (act != 1 && o->applied == 0)
			continue;
		o->known = mv_rng_below(&g->rng, 10) != 0;
		if (o->applied != 1)
			o->status =
			    mv_rng_below(&g->rng, 2) ? MV_FAIL : MV_INFO;
		else
			o->status = mv_rng_below(&g->rng, 6) ? MV_OK : MV_INFO;
		/* An update claimed ok that had no effect: a lost write, or
		 * an append whose expectation did not hold. */
		if (o->f != F_READ && o->applied != 1
		    && mv_rng_below(&g->rng, o->applied ? 3 : 8) == 0) {
			o->status = MV_OK;
			o->res.n = s.n + o->narg - 1;
			o->applied = 0;
		}
		o->ret = g->h.n;
		if (o->status == MV_OK)
			perturb(g, o, next_ev);
		add_event(g, (enum mv_type)o->status, o);
		busy[p] = -1;
		pending--;
		if (o->status == MV_INFO)
			pid[p] = next_proc++;
	}
	for (i = 0; i < g->nop; i++)
		if (g->op[i].status == MV_INFO)
			g->op[i].ret = SIZE_MAX;
}

/* Whether the oracle must hold an op's result against the state. */
static int
known(const struct gen *g, const struct gop *o)
{
	return o->status == MV_OK && o->known && !(g->nil_unknown && o->null);
}

static int
same(const int *a, const int *b, int n)
{
	return memcmp(a, b, (size_t)n * sizeof(int)) == 0;
}

/* Applies op i to s into ns: 1 if legal. */
static int
oracle_step(const struct gen *g, int i, const struct st *s, struct st *ns)
{
	const struct gop *o = &g->op[i];
	int j;

	*ns = *s;
	if (o->f == F_READ) {
		if (!known(g, o))
			return 1;
		switch (g->model) {
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
	switch (g->model) {
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
	if (o->status == MV_OK && o->known && o->res.n != s->n + o->narg - 1)
		return 0;
	for (j = 0; j < o->narg; j++)
		ns->v[ns->n++] = o->arg[j];
	return 1;
}

static int
search(const struct gen *g, unsigned placed, const struct st *s)
{
	int i, j, need = 0;
	struct st ns;

	for (i = 0; i < g->nop; i++)
		if (g->op[i].status == MV_OK && !(placed >> i & 1))
			need = 1;
	if (!need)
		return 1;
	for (i = 0; i < g->nop; i++) {
		const struct gop *o = &g->op[i];
		int ok = 1;

		if (placed >> i & 1 || o->status == MV_FAIL)
			continue;
		for (j = 0; j < g->nop && ok; j++)
			if (g->op[j].status == MV_OK && !(placed >> j & 1)
			    && g->op[j].ret < o->inv)
				ok = 0;
		if (ok && oracle_step(g, i, s, &ns)
		    && search(g, placed | 1u << i, &ns))
			return 1;
	}
	return 0;
}

static void
dump(const struct gen *g)
{
	size_t k;

	for (k = 0; k < g->h.n; k++) {
		struct mv_buf b = MV_BUF_INIT;

		mv_event_write(&b, &g->h.ev[k]);
		printf("#   %s", b.p);
		mv_buf_release(&b);
	}
}

static void
oracle_model(int model, long n)
{
	struct gen g;
	struct mv_check_opts o;
	struct mv_verdict v;
	struct mv_err e;
	struct st s0;
	long i;
	int bad = 0, nvalid = 0, ninvalid = 0, errs = 0;
	char name[128];

	memset(&o, 0, sizeof(o));
	mv_rng_seed(&g.rng, 2000 + (uint64_t)model);
	g.model = model;
	o.model = mname[model];
	for (i = 0; i < n; i++) {
		int want, got;

		g.nil_unknown = (int)mv_rng_below(&g.rng, 2);
		o.nil_unknown = g.nil_unknown;
		generate(&g);
		memset(&s0, 0, sizeof(s0));
		if (model == M_KV)
			s0.n = -1;
		want = search(&g, 0, &s0);
		mv_verdict_init(&v);
		if (mv_check(&g.h, "gen", &o, &v, &e) < 0) {
			if (errs++ < 3) {
				printf("# error: %s\n", e.msg);
				dump(&g);
			}
			got = -1;
		} else
			got = v.status == MV_EXIT_OK;
		if (got != want && bad++ < 3) {
			printf("# %s: oracle %d, mv_check %d (nil-unknown %d): "
			       "%s\n",
			    mname[model], want, got, g.nil_unknown,
			    v.json.p ? v.json.p : "");
			dump(&g);
		}
		want ? nvalid++ : ninvalid++;
		mv_verdict_release(&v);
		mv_history_release(&g.h);
	}
	printf("# %s: %d valid, %d invalid per the oracle, %d disagreements\n",
	    mname[model], nvalid, ninvalid, bad);
	snprintf(name, sizeof(name), "%s: no history rejected", mname[model]);
	OK(errs == 0, name);
	snprintf(name, sizeof(name),
	    "%s: WGL agrees with brute force on %ld histories", mname[model],
	    n);
	OK(bad == 0, name);
	snprintf(name, sizeof(name), "%s: both verdicts well represented",
	    mname[model]);
	OK(nvalid > n / 10 && ninvalid > n / 10, name);
}

int
main(void)
{
	const char *env = getenv("MV_ORACLE_N");
	long n = env ? atol(env) : 10000;
	int m;

	if (n < 10)
		n = 10;
	/* Line by line: a crash in mv_check keeps the results before it. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (m = 0; m < NMODEL; m++)
		oracle_model(m, n);
	return TAP_DONE();
}
