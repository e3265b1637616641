/*
 * test_wgl_models.c: mv_check against a brute-force oracle on small
 * random histories of the multi-register, mutex, fifo-queue and
 * unordered-queue models: a correct object is simulated under random
 * timing, some results are then perturbed, ops end ok, fail, info or not
 * at all, results go missing, and --init and --nil-unknown vary.  The
 * oracle tries every order of the ops (and every subset of those that may
 * not have happened; every choice of an unknown unordered dequeue).
 * MV_ORACLE_N sets the histories per model (10000 by default; the long
 * run of the manual uses 1000000).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "history.h"
#include "model.h"
#include "tap.h"

enum { M_MR, M_MUTEX, M_FIFO, M_UQ, NMODEL };

static const char *const mname[NMODEL] = {
    "multi-register", "mutex", "fifo-queue", "unordered-queue"};

#define NIL (-1)

/* A state of any of the models: registers x, y; held; queue contents. */
struct st {
	int v[8];
	int n;
};

/* One op.  MR: micro-ops mf (0 read, 1 write), mk (0 x, 1 y), mv. */
struct gop {
	int f; /* mutex: 0 acquire, 1 release; queues: 0 enqueue, 1 dequeue */
	int nm, mf[2], mk[2], mv[2];
	int val;    /* enqueued value, or dequeue result */
	int known;  /* the completion reports a result */
	int status; /* MV_OK, MV_INFO, MV_FAIL; -1: never completed */
	size_t inv, ret;
	int proc, applied; /* 1 took effect, 2 tried and had none */
};

struct gen {
	struct mv_rng rng;
	int model, nil_unknown, init;
	struct gop op[8];
	int nop;
	struct mv_history h;
};

static void
add_val(struct mv_buf *b, int v)
{
	if (v == NIL)
		mv_buf_adds(b, "null");
	else
		mv_buf_addf(b, "%d", v);
}

/* The value member of an event of op o, or nothing. */
static void
value_of(
    const struct gen *g, enum mv_type t, const struct gop *o, struct mv_buf *b)
{
	int j, res = t == MV_OK && o->known;

	switch (g->model) {
	case M_MR:
		if (t == MV_OK && !o->known)
			return;
		mv_buf_addc(b, '[');
		for (j = 0; j < o->nm; j++) {
			mv_buf_addf(b, "%s[\"%s\",\"%c\",", j ? "," : "",
			    o->mf[j] ? "write" : "read", o->mk[j] ? 'y' : 'x');
			add_val(b, o->mf[j] || res ? o->mv[j] : NIL);
			mv_buf_addc(b, ']');
		}
		mv_buf_addc(b, ']');
		return;
	case M_MUTEX: return;
	default:
		if (o->f == 0)
			add_val(b, o->val);
		else if (res)
			add_val(b, o->val);
		return;
	}
}

static void
add_event(struct gen *g, enum mv_type t, const struct gop *o)
{
	static const char *const fn[NMODEL][2] = {{"txn", "txn"},
	    {"acquire", "release"}, {"enqueue", "dequeue"},
	    {"enqueue", "dequeue"}};
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
	value_of(g, t, o, &b);
	if (b.len)
		ev->value = strdup(b.p);
	mv_buf_release(&b);
	g->h.n++;
}

/* Applies o to the true state s as the real object would. */
static void
sim_apply(struct gen *g, struct st *s, struct gop *o)
{
	int j;

	o->applied = 1;
	switch (g->model) {
	case M_MR:
		for (j = 0; j < o->nm; j++)
			if (o->mf[j])
				s->v[o->mk[j]] = o->mv[j];
			else
				o->mv[j] = s->v[o->mk[j]];
		return;
	case M_MUTEX:
		if (s->n == (o->f == 0))
			o->applied = 2; /* acquire when held, release free */
		else
			s->n = o->f == 0;
		return;
	default:
		if (o->f == 0) {
			s->v[s->n++] = o->val;
			return;
		}
		if (s->n == 0) {
			o->val = NIL;
			return;
		}
		j = g->model == M_FIFO
		    ? 0
		    : (int)mv_rng_below(&g->rng, (uint64_t)s->n);
		o->val = s->v[j];
		memmove(s->v + j, s->v + j + 1,
		    (size_t)(s->n - j - 1) * sizeof(int));
		s->n--;
	}
}

static void
new_op(struct gen *g, struct gop *o, int *next_val)
{
	int j;

	memset(o, 0, sizeof(*o));
	o->status = -1;
	o->ret = SIZE_MAX;
	o->val = NIL;
	switch (g->model) {
	case M_MR:
		o->nm = 1 + (int)mv_rng_below(&g->rng, 2);
		for (j = 0; j < o->nm; j++) {
			o->mf[j] = (int)mv_rng_below(&g->rng, 2);
			o->mk[j] = (int)mv_rng_below(&g->rng, 2);
			o->mv[j] = (int)mv_rng_below(&g->rng, 3);
		}
		break;
	case M_MUTEX: o->f = (int)mv_rng_below(&g->rng, 2); break;
	default:
		o->f = (int)mv_rng_below(&g->rng, 2);
		if (o->f == 0)
			o->val = (*next_val)++;
		break;
	}
}

/* Perturbs the result of an ok op (half the time). */
static void
perturb(struct gen *g, struct gop *o)
{
	if (mv_rng_below(&g->rng, 2))
		return;
	switch (g->model) {
	case M_MR: {
		int j = (int)mv_rng_below(&g->rng, (uint64_t)o->nm);

		if (!o->mf[j])
			o->mv[j] = (int)mv_rng_below(&g->rng, 4) - 1;
		break;
	}
	case M_MUTEX: break;
	default:
		if (o->f == 1)
			o->val = (int)mv_rng_below(&g->rng, 5) - 1;
	}
}

static void
generate(struct gen *g)
{
	int nproc = 1 + (int)mv_rng_below(&g->rng, 3), next_proc = nproc;
	int busy[16], pid[16], i, pending = 0, started = 0, next_val = 1;
	int want = 1 + (int)mv_rng_below(&g->rng, 7);
	struct st s;

	memset(&g->h, 0, sizeof(g->h));
	mv_event_init(&g->h.meta);
	memset(&s, 0, sizeof(s));
	s.v[0] = s.v[1] = g->init;
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
			new_op(g, o, &next_val);
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
		/* A mutex that claims an acquire or release it had not. */
		if (g->model == M_MUTEX && o->applied == 2
		    && mv_rng_below(&g->rng, 3) == 0)
			o->status = MV_OK;
		o->ret = g->h.n;
		if (o->status == MV_OK)
			perturb(g, o);
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

/* Whether an ok op's result v is known (nil may mean unknown). */
static int
known(const struct gen *g, const struct gop *o, int v)
{
	return o->status == MV_OK && o->known && !(g->nil_unknown && v == NIL);
}

static int search(const struct gen *g, unsigned placed, const struct st *s);

/* Applies op i to s into ns: 1 if legal.  An unknown unordered dequeue
 * of a non-empty queue is the caller's to branch on. */
static int
oracle_step(const struct gen *g, int i, const struct st *s, struct st *ns)
{
	const struct gop *o = &g->op[i];
	int j;

	*ns = *s;
	switch (g->model) {
	case M_MR:
		for (j = 0; j < o->nm; j++) {
			if (o->mf[j])
				ns->v[o->mk[j]] = o->mv[j];
			else if (known(g, o, o->mv[j])
			    && ns->v[o->mk[j]] != o->mv[j])
				return 0;
		}
		return 1;
	case M_MUTEX:
		if (s->n == (o->f == 0))
			return 0;
		ns->n = o->f == 0;
		return 1;
	default: break;
	}
	if (o->f == 0) {
		ns->v[ns->n++] = o->val;
		return 1;
	}
	if (!known(g, o, o->val)) {
		if (s->n == 0)
			return 1;
		/* FIFO: the head goes; unordered: the caller branches. */
		memmove(ns->v, ns->v + 1, (size_t)(ns->n - 1) * sizeof(int));
		ns->n--;
		return 1;
	}
	if (o->val == NIL)
		return s->n == 0;
	for (j = 0; j < s->n; j++)
		if (s->v[j] == o->val)
			break;
	if (j == s->n || (g->model == M_FIFO && j != 0))
		return 0;
	memmove(
	    ns->v + j, ns->v + j + 1, (size_t)(ns->n - j - 1) * sizeof(int));
	ns->n--;
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
		if (!ok)
			continue;
		if (g->model == M_UQ && o->f == 1 && !known(g, o, o->val)
		    && s->n > 0) {
			/* An unknown dequeue may have taken any element. */
			for (j = 0; j < s->n; j++) {
				ns = *s;
				memmove(ns.v + j, ns.v + j + 1,
				    (size_t)(ns.n - j - 1) * sizeof(int));
				ns.n--;
				if (search(g, placed | 1u << i, &ns))
					return 1;
			}
			continue;
		}
		if (oracle_step(g, i, s, &ns)
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
	mv_rng_seed(&g.rng, 1000 + (uint64_t)model);
	g.model = model;
	o.model = mname[model];
	for (i = 0; i < n; i++) {
		int want, got;

		g.nil_unknown = (int)mv_rng_below(&g.rng, 2);
		g.init = model == M_MR && mv_rng_below(&g.rng, 2) ? 0 : NIL;
		o.nil_unknown = g.nil_unknown;
		o.init = g.init == 0 ? "0" : NULL;
		generate(&g);
		memset(&s0, 0, sizeof(s0));
		s0.v[0] = s0.v[1] = g.init;
		want = search(&g, 0, &s0);
		mv_verdict_init(&v);
		if (mv_check(&g.h, "gen", &o, &v, &e) < 0) {
			if (errs++ < 3)
				printf("# error: %s\n", e.msg);
			got = -1;
		} else
			got = v.status == MV_EXIT_OK;
		if (got != want && bad++ < 3) {
			printf("# %s: oracle %d, mv_check %d (nil-unknown %d, "
			       "init %d): %s\n",
			    mname[model], want, got, g.nil_unknown, g.init,
			    v.json.p ? v.json.p : "");
			dump(&g);
		}
		want ? nvalid++ : ninvalid++;
		mv_verdict_release(&v);
		mv_history_release(&g.h);
	}
	printf("# %s: %d valid, %d invalid per the oracle\n", mname[model],
	    nvalid, ninvalid);
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

/* States rendered for explanations (mv_model_state_json). */
static void
state_text(void)
{
	struct mv_model *m = mv_model_new(MV_MODEL_UNORDERED_QUEUE);
	struct mv_mop op = {MV_MOP_ENQUEUE, 0, 0, 0};
	struct mv_buf b = MV_BUF_INIT;
	uint64_t s = mv_model_init(m), t;
	uint32_t txn[3];

	op.a = mv_model_atom(m, "2", 1);
	mv_model_step(m, s, &op, 0, &s);
	op.a = mv_model_atom(m, "1", 1);
	mv_model_step(m, s, &op, 1, &s);
	mv_model_state_json(m, s, &b);
	OK(strcmp(b.p, "[2,1]") == 0 || strcmp(b.p, "[1,2]") == 0,
	    "unordered-queue state");
	op.f = MV_MOP_DEQUEUE;
	op.a = op.b = 0;
	OK(mv_model_step(m, s, &op, 2, &t), "unknown dequeue is legal");
	mv_buf_reset(&b);
	mv_model_state_json(m, t, &b);
	OK(strcmp(b.p, "{\"one of\":[[1],[2]]}") == 0
	        || strcmp(b.p, "{\"one of\":[[2],[1]]}") == 0,
	    "unknown dequeue: either element may be left");
	op.b = 1;
	OK(!mv_model_step(m, s, &op, 3, &t), "dequeue of null from [1,2]");
	mv_model_free(m);
	m = mv_model_new(MV_MODEL_MULTI_REGISTER);
	mv_model_set_init(m, mv_model_atom(m, "0", 1));
	s = mv_model_init(m);
	txn[0] = 1;
	txn[1] = mv_model_atom(m, "\"x\"", 3);
	txn[2] = mv_model_atom(m, "5", 1);
	op.f = MV_MOP_TXN;
	op.a = mv_model_intern(m, txn, sizeof(txn));
	mv_model_step(m, s, &op, 0, &s);
	mv_buf_reset(&b);
	mv_model_state_json(m, s, &b);
	OK(strcmp(b.p, "{\"x\":5}") == 0, "multi-register state");
	txn[2] = mv_model_atom(m, "0", 1);
	op.a = mv_model_intern(m, txn, sizeof(txn));
	mv_model_step(m, s, &op, 1, &t);
	OK(t == mv_model_init(m), "back at the initial value: one state");
	mv_model_free(m);
	mv_buf_release(&b);
}

int
main(void)
{
	const char *env = getenv("MV_ORACLE_N");
	long n = env ? atol(env) : 10000;
	int m;

	if (n < 10)
		n = 10;
	state_text();
	for (m = 0; m < NMODEL; m++)
		oracle_model(m, n);
	return TAP_DONE();
}
