/*
 * test_wgl.c: mv_check against a brute-force oracle (oracle.h) on small
 * random register and cas-register histories (info, fail, pending and
 * unknown results included).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oracle.h"

enum { M_REGISTER, M_CAS_REGISTER };

enum { F_READ, F_WRITE, F_CAS };

/* One op; the register's value is the state's n. */
struct gop {
	struct oracle_op t;   /* first: the harness's part */
	int f, from, to, val; /* val: written or read; 0 is null */
};

struct gen {
	struct oracle o; /* first: the harness's part */
	struct gop op[ORACLE_MAXOP];
};

static void
put_val(char *buf, size_t n, int v)
{
	if (v == 0)
		snprintf(buf, n, "null");
	else
		snprintf(buf, n, "%d", v);
}

static void
init(const struct oracle *og, struct oracle_st *s)
{
	(void)og;
	memset(s, 0, sizeof(*s));
}

static void
invoke(struct oracle *og, struct oracle_op *t)
{
	struct gop *o = (struct gop *)t;

	o->f = (int)mv_rng_below(&og->rng, og->model == M_CAS_REGISTER ? 3 : 2);
	o->val = 1 + (int)mv_rng_below(&og->rng, 3);
	o->from = (int)mv_rng_below(&og->rng, 4);
	o->to = 1 + (int)mv_rng_below(&og->rng, 3);
}

static void
apply(struct oracle *og, struct oracle_op *t, struct oracle_st *s)
{
	struct gop *o = (struct gop *)t;

	(void)og;
	if (o->f == F_READ)
		o->val = s->n;
	else if (o->f == F_WRITE)
		s->n = o->val;
	else if (s->n == o->from)
		s->n = o->to;
	else
		t->applied = 2; /* cas found another value */
}

static void
complete(struct oracle *og, struct oracle_op *t)
{
	struct gop *o = (struct gop *)t;

	/* A read that never took effect cannot fail: it changed nothing. */
	if (t->applied == 0 && o->f == F_READ)
		t->status = MV_INFO;
	else
		t->status = oracle_status(og, t);
	if (t->status == MV_OK && o->f == F_READ
	    && mv_rng_below(&og->rng, 2) == 0)
		o->val = (int)mv_rng_below(&og->rng, 4); /* perturb */
}

static void
event(struct oracle *og, struct mv_event *ev, const struct oracle_op *t)
{
	static const char *fn[] = {"read", "write", "cas"};
	const struct gop *o = (const struct gop *)t;
	char buf[32];

	(void)og;
	ev->f = strdup(fn[o->f]);
	ev->key = strdup("r0");
	buf[0] = '\0';
	if (ev->type == MV_INVOKE && o->f == F_WRITE)
		put_val(buf, sizeof(buf), o->val);
	if (o->f == F_CAS) {
		char a[8], b[8];

		put_val(a, sizeof(a), o->from);
		put_val(b, sizeof(b), o->to);
		snprintf(buf, sizeof(buf), "[%s,%s]", a, b);
	}
	if (ev->type == MV_OK && o->f == F_READ && t->known)
		put_val(buf, sizeof(buf), o->val);
	if (buf[0])
		ev->value = strdup(buf);
}

static int
step(const struct oracle *og, const struct oracle_op *t, int k,
    const struct oracle_st *s, struct oracle_st *ns)
{
	const struct gop *o = (const struct gop *)t;

	(void)og;
	(void)k;
	switch (o->f) {
	case F_READ:
		/* One not ok changed nothing: never worth placing. */
		return t->status == MV_OK && (!t->known || o->val == s->n);
	case F_WRITE: ns->n = o->val; return 1;
	default:
		if (s->n != o->from)
			return 0;
		ns->n = o->to;
		return 1;
	}
}

static const struct oracle_model model = {sizeof(struct gop), 7, 0, init, NULL,
    invoke, apply, complete, event, NULL, step};

/* Registers and cas-registers alternate. */
static void
setup(struct oracle *og, long i, struct mv_check_opts *o)
{
	og->model = i % 2 ? M_CAS_REGISTER : M_REGISTER;
	o->model = og->model == M_CAS_REGISTER ? "cas-register" : "register";
}

int
main(void)
{
	static struct gen g;
	/* MV_ORACLE_N histories per model (test_wgl_models.c). */
	const char *env = getenv("MV_ORACLE_N");
	long n = 2 * (env && atol(env) > 0 ? atol(env) : 10000);

	g.o.m = &model;
	g.o.op = g.op;
	mv_rng_seed(&g.o.rng, 42);
	oracle_run(&g.o, NULL, n, 1000, setup);
	return TAP_DONE();
}
