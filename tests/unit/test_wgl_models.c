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

#include "model.h"
#include "oracle.h"

enum { M_MR, M_MUTEX, M_FIFO, M_UQ, NMODEL };

static const char *const mname[NMODEL] = {
    "multi-register", "mutex", "fifo-queue", "unordered-queue"};

#define NIL (-1)

/*
 * One op.  MR: micro-ops mf (0 read, 1 write), mk (0 x, 1 y), mv.  The
 * state: registers x, y in v[0], v[1]; the mutex held in n; the queue's
 * n elements in v[].
 */
struct gop {
	struct oracle_op t; /* first: the harness's part */
	int f; /* mutex: 0 acquire, 1 release; queues: 0 enqueue, 1 dequeue */
	int nm, mf[2], mk[2], mv[2];
	int val; /* enqueued value, or dequeue result */
};

struct gen {
	struct oracle o; /* first: the harness's part */
	int init;        /* the registers': 0 (--init 0) or NIL */
	struct gop op[ORACLE_MAXOP];
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
	int j, res = t == MV_OK && o->t.known;

	switch (g->o.model) {
	case M_MR:
		if (t == MV_OK && !o->t.known)
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
event(struct oracle *og, struct mv_event *ev, const struct oracle_op *t)
{
	static const char *const fn[NMODEL][2] = {{"txn", "txn"},
	    {"acquire", "release"}, {"enqueue", "dequeue"},
	    {"enqueue", "dequeue"}};
	const struct gen *g = (const struct gen *)og;
	const struct gop *o = (const struct gop *)t;
	struct mv_buf b = MV_BUF_INIT;

	ev->f = strdup(fn[g->o.model][o->f]);
	value_of(g, ev->type, o, &b);
	if (b.len)
		ev->value = strdup(b.p);
	mv_buf_release(&b);
}

static void
init(const struct oracle *og, struct oracle_st *s)
{
	const struct gen *g = (const struct gen *)og;

	memset(s, 0, sizeof(*s));
	s->v[0] = s->v[1] = g->init;
}

/* Applies o to s as the real object would. */
static void
apply(struct oracle *og, struct oracle_op *t, struct oracle_st *s)
{
	struct gop *o = (struct gop *)t;
	int j;

	switch (og->model) {
	case M_MR:
		for (j = 0; j < o->nm; j++)
			if (o->mf[j])
				s->v[o->mk[j]] = o->mv[j];
			else
				o->mv[j] = s->v[o->mk[j]];
		return;
	case M_MUTEX:
		if (s->n == (o->f == 0))
			t->applied = 2; /* acquire when held, release free */
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
		j = og->model == M_FIFO
		    ? 0
		    : (int)mv_rng_below(&og->rng, (uint64_t)s->n);
		o->val = s->v[j];
		memmove(s->v + j, s->v + j + 1,
		    (size_t)(s->n - j - 1) * sizeof(int));
		s->n--;
	}
}

static void
invoke(struct oracle *og, struct oracle_op *t)
{
	struct gen *g = (struct gen *)og;
	struct gop *o = (struct gop *)t;
	int j;

	o->val = NIL;
	switch (g->o.model) {
	case M_MR:
		o->nm = 1 + (int)mv_rng_below(&og->rng, 2);
		for (j = 0; j < o->nm; j++) {
			o->mf[j] = (int)mv_rng_below(&og->rng, 2);
			o->mk[j] = (int)mv_rng_below(&og->rng, 2);
			o->mv[j] = (int)mv_rng_below(&og->rng, 3);
		}
		break;
	case M_MUTEX: o->f = (int)mv_rng_below(&og->rng, 2); break;
	default:
		o->f = (int)mv_rng_below(&og->rng, 2);
		if (o->f == 0)
			o->val = og->next++;
		break;
	}
}

/* Perturbs the result of an ok op (half the time). */
static void
perturb(struct gen *g, struct gop *o)
{
	if (mv_rng_below(&g->o.rng, 2))
		return;
	switch (g->o.model) {
	case M_MR: {
		int j = (int)mv_rng_below(&g->o.rng, (uint64_t)o->nm);

		if (!o->mf[j])
			o->mv[j] = (int)mv_rng_below(&g->o.rng, 4) - 1;
		break;
	}
	case M_MUTEX: break;
	default:
		if (o->f == 1)
			o->val = (int)mv_rng_below(&g->o.rng, 5) - 1;
	}
}

static void
complete(struct oracle *og, struct oracle_op *t)
{
	struct gen *g = (struct gen *)og;

	t->status = oracle_status(og, t);
	/* A mutex that claims an acquire or release it had not. */
	if (g->o.model == M_MUTEX && t->applied == 2
	    && mv_rng_below(&og->rng, 3) == 0)
		t->status = MV_OK;
	if (t->status == MV_OK)
		perturb(g, (struct gop *)t);
}

/* Whether an ok op's result v is known (nil may mean unknown). */
static int
known(const struct oracle *og, const struct gop *o, int v)
{
	return o->t.status == MV_OK && o->t.known
	    && !(og->nil_unknown && v == NIL);
}

/* An unknown dequeue of an unordered queue may have taken any element. */
static int
choices(const struct oracle *og, const struct oracle_op *t,
    const struct oracle_st *s)
{
	const struct gop *o = (const struct gop *)t;

	if (og->model == M_UQ && o->f == 1 && !known(og, o, o->val) && s->n > 0)
		return s->n;
	return 1;
}

/* Applies o to s into ns: 1 if legal.  An unknown unordered dequeue
 * takes element k. */
static int
step(const struct oracle *og, const struct oracle_op *t, int k,
    const struct oracle_st *s, struct oracle_st *ns)
{
	const struct gop *o = (const struct gop *)t;
	int j;

	switch (og->model) {
	case M_MR:
		for (j = 0; j < o->nm; j++) {
			if (o->mf[j])
				ns->v[o->mk[j]] = o->mv[j];
			else if (known(og, o, o->mv[j])
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
	if (!known(og, o, o->val)) {
		if (s->n == 0)
			return 1;
		/* FIFO: the head goes (k is 0); unordered: element k. */
		j = k;
	} else if (o->val == NIL)
		return s->n == 0;
	else {
		for (j = 0; j < s->n; j++)
			if (s->v[j] == o->val)
				break;
		if (j == s->n || (og->model == M_FIFO && j != 0))
			return 0;
	}
	memmove(
	    ns->v + j, ns->v + j + 1, (size_t)(ns->n - j - 1) * sizeof(int));
	ns->n--;
	return 1;
}

static const struct oracle_model model = {sizeof(struct gop), 7, 1, init, NULL,
    invoke, apply, complete, event, choices, step};

/* --init varies for the multi-register. */
static void
setup(struct oracle *og, long i, struct mv_check_opts *o)
{
	struct gen *g = (struct gen *)og;

	(void)i;
	g->init = og->model == M_MR && mv_rng_below(&og->rng, 2) ? 0 : NIL;
	o->init = g->init == 0 ? "0" : NULL;
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
	static struct gen g;

	state_text();
	g.o.m = &model;
	g.o.op = g.op;
	oracle_models(&g.o, mname, NMODEL, 1000, setup);
	return TAP_DONE();
}
