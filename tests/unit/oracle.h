/*
 * oracle.h: the harness of the brute-force oracle tests (test_wgl*.c).
 * A correct object is simulated under random timing into a small
 * history: ops are invoked, take effect or not, and end ok, fail, info
 * or not at all.  The oracle tries every order of the ops (and every
 * subset of those that may not have happened), and mv_check must find
 * what it finds.  Each test supplies its model: its ops, how the object
 * behaves, how the events read, and the oracle's step (struct
 * oracle_model); the timing, the search and the run are here.
 *
 * Included by one test file each (so static).  The hooks get the struct
 * oracle at the start of the test's own struct, and the struct
 * oracle_op at the start of the test's own op.
 */
#ifndef ORACLE_H
#define ORACLE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "history.h"
#include "tap.h"

/* The placed ops are a bit mask; and 8! orders are quick to try. */
#define ORACLE_MAXOP 8
#define ORACLE_MAXV 24

/* The timing of one op, common to every model. */
struct oracle_op {
	int status;      /* MV_OK, MV_INFO, MV_FAIL; -1: never completed */
	int known;       /* the completion reports a result */
	int proc;        /* the invoking process */
	int applied;     /* 1 took effect, 2 tried and had none */
	size_t inv, ret; /* event positions; ret SIZE_MAX if open or info */
};

/* A state of the object, each model reading n and v[] its own way. */
struct oracle_st {
	int n;
	int v[ORACLE_MAXV];
};

struct oracle;

struct oracle_model {
	size_t opsize;   /* the test's op, a struct oracle_op first */
	int maxwant;     /* a history invokes 1 to maxwant ops */
	int nil_unknown; /* --nil-unknown is drawn for each history */
	/* The object's initial state, simulated and for the oracle. */
	void (*init)(const struct oracle *, struct oracle_st *);
	/* NULL, or may change the processes and ops of a new history. */
	void (*begin)(struct oracle *, int *nproc, int *want);
	/* Draws the op's own part (the timing is set). */
	void (*invoke)(struct oracle *, struct oracle_op *);
	/* The op takes effect on the simulated object s (g->sim): applied
	 * is 1, 2 if it had none. */
	void (*apply)(struct oracle *, struct oracle_op *, struct oracle_st *s);
	/* Sets the status of the op completing (known is drawn), and may
	 * perturb its result. */
	void (*complete)(struct oracle *, struct oracle_op *);
	/* Fills f, key, value and error of the event ev (type set) of o. */
	void (*event)(
	    struct oracle *, struct mv_event *ev, const struct oracle_op *o);
	/* NULL, or how many ways o may go from s (its step's k). */
	int (*choices)(const struct oracle *, const struct oracle_op *o,
	    const struct oracle_st *s);
	/* Applies o (way k) to s into ns, a copy of s: 1 if legal. */
	int (*step)(const struct oracle *, const struct oracle_op *o, int k,
	    const struct oracle_st *s, struct oracle_st *ns);
};

struct oracle {
	const struct oracle_model *m;
	int model;       /* which of the test's models (oracle_models) */
	int nil_unknown; /* this history's --nil-unknown */
	struct mv_rng rng;
	void *op; /* the test's ORACLE_MAXOP ops */
	int nop;
	struct oracle_st sim; /* the simulated object */
	int next;             /* the next fresh value, from 1 a history */
	struct mv_history h;
};

static struct oracle_op *
oracle_op(const struct oracle *g, int i)
{
	return (struct oracle_op *)((char *)g->op + (size_t)i * g->m->opsize);
}

/* The usual end: fail or info if the op had no effect, else mostly ok. */
static int
oracle_status(struct oracle *g, const struct oracle_op *o)
{
	if (o->applied != 1)
		return mv_rng_below(&g->rng, 2) ? MV_FAIL : MV_INFO;
	return mv_rng_below(&g->rng, 6) ? MV_OK : MV_INFO;
}

static void
oracle_event(struct oracle *g, enum mv_type t, const struct oracle_op *o)
{
	struct mv_event *ev;

	if (g->h.n == g->h.cap) {
		g->h.cap = g->h.cap ? g->h.cap * 2 : 32;
		g->h.ev = realloc(g->h.ev, g->h.cap * sizeof(*g->h.ev));
	}
	ev = &g->h.ev[g->h.n];
	mv_event_init(ev);
	ev->type = t;
	ev->process = o->proc;
	ev->index = (int64_t)g->h.n;
	ev->line = g->h.n + 1;
	g->m->event(g, ev, o);
	g->h.n++;
}

/*
 * Makes g->h: up to three processes pick at random to invoke an op, let
 * theirs take effect, or complete it; a process whose op ended info
 * never invokes again (a new one takes its place); some ops are left
 * open.
 */
static void
oracle_generate(struct oracle *g)
{
	int nproc = 1 + (int)mv_rng_below(&g->rng, 3), next_proc;
	int busy[16], pid[16], i, pending = 0, started = 0;
	int want = 1 + (int)mv_rng_below(&g->rng, (uint64_t)g->m->maxwant);

	if (g->m->begin)
		g->m->begin(g, &nproc, &want);
	next_proc = nproc;
	memset(&g->h, 0, sizeof(g->h));
	mv_event_init(&g->h.meta);
	g->m->init(g, &g->sim);
	g->next = 1;
	g->nop = 0;
	for (i = 0; i < 16; i++) {
		busy[i] = -1;
		pid[i] = i;
	}
	while (started < want || pending > 0) {
		int p = (int)mv_rng_below(&g->rng, (uint64_t)nproc);
		int act = (int)mv_rng_below(&g->rng, 3);
		struct oracle_op *o;

		if (busy[p] < 0) {
			if (started == want) {
				if (mv_rng_below(&g->rng, 8) == 0)
					break; /* leave the rest pending */
				continue;
			}
			o = oracle_op(g, g->nop);
			memset(o, 0, g->m->opsize);
			o->status = -1;
			o->ret = SIZE_MAX;
			o->proc = pid[p];
			o->inv = g->h.n;
			g->m->invoke(g, o);
			busy[p] = g->nop++;
			started++;
			pending++;
			oracle_event(g, MV_INVOKE, o);
			continue;
		}
		o = oracle_op(g, busy[p]);
		if (act == 0 && !o->applied) {
			o->applied = 1;
			g->m->apply(g, o, &g->sim);
			continue;
		}
		if (act != 1 && o->applied == 0)
			continue;
		o->known = mv_rng_below(&g->rng, 10) != 0;
		g->m->complete(g, o);
		o->ret = g->h.n;
		oracle_event(g, (enum mv_type)o->status, o);
		busy[p] = -1;
		pending--;
		if (o->status == MV_INFO)
			pid[p] = next_proc++;
	}
	for (i = 0; i < g->nop; i++)
		if (oracle_op(g, i)->status == MV_INFO)
			oracle_op(g, i)->ret = SIZE_MAX;
}

/* Whether o may come next: no ok op left to place returned before o
 * was invoked. */
static int
oracle_may_come(
    const struct oracle *g, unsigned placed, const struct oracle_op *o)
{
	int j;

	for (j = 0; j < g->nop; j++)
		if (oracle_op(g, j)->status == MV_OK && !(placed >> j & 1)
		    && oracle_op(g, j)->ret < o->inv)
			return 0;
	return 1;
}

/* Depth-first over every order of the ops and every subset of those
 * not ok: 1 once every ok op is placed from state s. */
static int
oracle_search(
    const struct oracle *g, unsigned placed, const struct oracle_st *s)
{
	int i, k, nk, need = 0;
	struct oracle_st ns;

	for (i = 0; i < g->nop; i++)
		if (oracle_op(g, i)->status == MV_OK && !(placed >> i & 1))
			need = 1;
	if (!need)
		return 1;
	for (i = 0; i < g->nop; i++) {
		const struct oracle_op *o = oracle_op(g, i);

		if (placed >> i & 1 || o->status == MV_FAIL
		    || !oracle_may_come(g, placed, o))
			continue;
		nk = g->m->choices ? g->m->choices(g, o, s) : 1;
		for (k = 0; k < nk; k++) {
			ns = *s;
			if (g->m->step(g, o, k, s, &ns)
			    && oracle_search(g, placed | 1u << i, &ns))
				return 1;
		}
	}
	return 0;
}

static void
oracle_dump(const struct oracle *g)
{
	size_t k;

	for (k = 0; k < g->h.n; k++) {
		struct mv_buf b = MV_BUF_INIT;

		mv_event_write(&b, &g->h.ev[k]);
		printf("#   %s", b.p);
		mv_buf_release(&b);
	}
}

/*
 * Checks n histories against the oracle: setup (or NULL) draws the
 * options of history i into the test's struct and o before it is
 * generated.  label is the model, starting the test names, or NULL
 * (setup sets the model); each verdict must come more than least times.
 */
static void
oracle_run(struct oracle *g, const char *label, long n, long least,
    void (*setup)(struct oracle *, long i, struct mv_check_opts *))
{
	struct mv_check_opts o;
	struct mv_verdict v;
	struct mv_err e;
	struct oracle_st s0;
	const char *sep = label ? ": " : "";
	long i;
	int bad = 0, nvalid = 0, ninvalid = 0, errs = 0;
	char name[128];

	memset(&o, 0, sizeof(o));
	o.model = label;
	if (!label)
		label = "";
	for (i = 0; i < n; i++) {
		int want, got;

		if (g->m->nil_unknown) {
			g->nil_unknown = (int)mv_rng_below(&g->rng, 2);
			o.nil_unknown = g->nil_unknown;
		}
		if (setup)
			setup(g, i, &o);
		oracle_generate(g);
		g->m->init(g, &s0);
		want = oracle_search(g, 0, &s0);
		mv_verdict_init(&v);
		if (mv_check(&g->h, "gen", &o, &v, &e) < 0) {
			if (errs++ < 3) {
				printf("# %s%serror: %s\n", label, sep, e.msg);
				oracle_dump(g);
			}
			got = -1;
		} else
			got = v.status == MV_EXIT_OK;
		if (got != want && bad++ < 3) {
			printf("# %s%soracle %d, mv_check %d (model %s, "
			       "nil-unknown %d, init %s): %s\n",
			    label, sep, want, got, o.model, o.nil_unknown,
			    o.init ? o.init : "none", v.json.p ? v.json.p : "");
			oracle_dump(g);
		}
		want ? nvalid++ : ninvalid++;
		mv_verdict_release(&v);
		mv_history_release(&g->h);
	}
	printf("# %s%s%d valid, %d invalid per the oracle, %d disagreements\n",
	    label, sep, nvalid, ninvalid, bad);
	snprintf(name, sizeof(name), "%s%sno history rejected", label, sep);
	OK(errs == 0, name);
	snprintf(name, sizeof(name),
	    "%s%sWGL agrees with brute force on %ld histories", label, sep, n);
	OK(bad == 0, name);
	snprintf(name, sizeof(name), "%s%sboth verdicts well represented",
	    label, sep);
	OK(nvalid > least && ninvalid > least, name);
}

/*
 * Runs each of the test's models (g->model) in turn, from seed + its
 * number, on MV_ORACLE_N histories (10000 by default, 10 at least).
 * Unused by test_wgl.c, which alternates its two models in one run.
 */
static void oracle_models(struct oracle *, const char *const *, int, uint64_t,
    void (*)(struct oracle *, long, struct mv_check_opts *))
    __attribute__((unused));

static void
oracle_models(struct oracle *g, const char *const *name, int nmodel,
    uint64_t seed, void (*setup)(struct oracle *, long, struct mv_check_opts *))
{
	const char *env = getenv("MV_ORACLE_N");
	long n = env ? atol(env) : 10000;

	if (n < 10)
		n = 10;
	for (g->model = 0; g->model < nmodel; g->model++) {
		mv_rng_seed(&g->rng, seed + (uint64_t)g->model);
		oracle_run(g, name[g->model], n, n / 10, setup);
	}
}

#endif
