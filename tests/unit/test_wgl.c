/*
 * test_wgl.c: mv_check against a brute-force oracle on small random
 * register and cas-register histories (info, fail, pending and unknown
 * results included), plus a few fixed cases.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "history.h"
#include "tap.h"

enum { F_READ, F_WRITE, F_CAS };

/* One op of a generated history, as the oracle sees it. */
struct gop {
	int f, from, to, val; /* val: written or read; 0 is null */
	int known;            /* read result present */
	int status;           /* MV_OK, MV_INFO, MV_FAIL; -1: never completed */
	size_t inv, ret;      /* event positions; ret SIZE_MAX if open */
	int proc, applied;
};

struct gen {
	struct mv_rng rng;
	struct gop op[8];
	int nop;
	struct mv_history h;
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
add_event(struct gen *g, enum mv_type t, const struct gop *o)
{
	static const char *fn[] = {"read", "write", "cas"};
	struct mv_event *ev;
	char buf[32];

	if (g->h.n == g->h.cap) {
		g->h.cap = g->h.cap ? g->h.cap * 2 : 32;
		g->h.ev = realloc(g->h.ev, g->h.cap * sizeof(*g->h.ev));
	}
	ev = &g->h.ev[g->h.n];
	mv_event_init(ev);
	ev->type = t;
	ev->process = o->proc;
	ev->f = strdup(fn[o->f]);
	ev->key = strdup("r0");
	ev->index = (int64_t)g->h.n;
	ev->line = g->h.n + 1;
	buf[0] = '\0';
	if (t == MV_INVOKE && o->f == F_WRITE)
		put_val(buf, sizeof(buf), o->val);
	if (o->f == F_CAS) {
		char a[8], b[8];

		put_val(a, sizeof(a), o->from);
		put_val(b, sizeof(b), o->to);
		snprintf(buf, sizeof(buf), "[%s,%s]", a, b);
	}
	if (t == MV_OK && o->f == F_READ && o->known)
		put_val(buf, sizeof(buf), o->val);
	if (buf[0])
		ev->value = strdup(buf);
	g->h.n++;
}

/* Simulates a correct register with random timing, then perturbs it. */
static void
generate(struct gen *g, int cas)
{
	int reg = 0, nproc = 1 + (int)mv_rng_below(&g->rng, 3), next_proc;
	int busy[16], pid[16], i, pending = 0, started = 0;
	int want = 1 + (int)mv_rng_below(&g->rng, 7);

	memset(&g->h, 0, sizeof(g->h));
	mv_event_init(&g->h.meta);
	g->nop = 0;
	next_proc = nproc;
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
			memset(o, 0, sizeof(*o));
			o->f = (int)mv_rng_below(&g->rng, cas ? 3 : 2);
			o->val = 1 + (int)mv_rng_below(&g->rng, 3);
			o->from = (int)mv_rng_below(&g->rng, 4);
			o->to = 1 + (int)mv_rng_below(&g->rng, 3);
			o->proc = pid[p];
			o->status = -1;
			o->ret = SIZE_MAX;
			o->inv = g->h.n;
			busy[p] = g->nop++;
			started++;
			pending++;
			add_event(g, MV_INVOKE, o);
			continue;
		}
		o = &g->op[busy[p]];
		if (act == 0 && !o->applied) {
			o->applied = 1;
			if (o->f == F_READ)
				o->val = reg;
			else if (o->f == F_WRITE)
				reg = o->val;
			else if (reg == o->from)
				reg = o->to;
			else
				o->applied = 2; /* cas found another value */
			continue;
		}
		if (act != 1 && o->applied == 0)
			continue;
		/* complete */
		o->known = mv_rng_below(&g->rng, 10) != 0;
		if (o->applied == 2 || (o->applied == 0 && o->f != F_READ))
			o->status =
			    mv_rng_below(&g->rng, 2) ? MV_FAIL : MV_INFO;
		else if (o->applied == 0)
			o->status = MV_INFO;
		else
			o->status = mv_rng_below(&g->rng, 6) ? MV_OK : MV_INFO;
		o->ret = g->h.n;
		if (o->status == MV_OK && o->f == F_READ
		    && mv_rng_below(&g->rng, 2) == 0)
			o->val = (int)mv_rng_below(&g->rng, 4); /* perturb */
		add_event(g, (enum mv_type)o->status, o);
		busy[p] = -1;
		pending--;
		/* A process whose op ended info never invokes again. */
		if (o->status == MV_INFO)
			pid[p] = next_proc++;
	}
	for (i = 0; i < g->nop; i++)
		if (g->op[i].status == MV_INFO)
			g->op[i].ret = SIZE_MAX;
}

/* Depth-first over every order and every subset of open ops. */
static int
search(const struct gen *g, unsigned placed, int reg)
{
	int i, j, need = 0;

	for (i = 0; i < g->nop; i++)
		if (g->op[i].status == MV_OK && !(placed >> i & 1))
			need = 1;
	if (!need)
		return 1;
	for (i = 0; i < g->nop; i++) {
		const struct gop *o = &g->op[i];
		int next = reg, ok = 1;

		if (placed >> i & 1 || o->status == MV_FAIL)
			continue;
		if (o->status != MV_OK && o->f == F_READ)
			continue;
		for (j = 0; j < g->nop && ok; j++)
			if (g->op[j].status == MV_OK && !(placed >> j & 1)
			    && g->op[j].ret < o->inv)
				ok = 0;
		if (!ok)
			continue;
		if (o->f == F_READ)
			ok = !o->known || o->val == reg;
		else if (o->f == F_WRITE)
			next = o->val;
		else if (reg == o->from)
			next = o->to;
		else
			ok = 0;
		if (ok && search(g, placed | 1u << i, next))
			return 1;
	}
	return 0;
}

static void
oracle_cases(void)
{
	struct gen g;
	struct mv_check_opts o;
	struct mv_verdict v;
	struct mv_err e;
	int i, bad = 0, nvalid = 0, ninvalid = 0, errs = 0;
	/* MV_ORACLE_N histories per model (test_wgl_models.c). */
	const char *env = getenv("MV_ORACLE_N");
	long n = 2 * (env && atol(env) > 0 ? atol(env) : 10000);
	char name[96];

	memset(&o, 0, sizeof(o));
	mv_rng_seed(&g.rng, 42);
	for (i = 0; i < n; i++) {
		int cas = i % 2, want, got;

		generate(&g, cas);
		o.model = cas ? "cas-register" : "register";
		want = search(&g, 0, 0);
		mv_verdict_init(&v);
		if (mv_check(&g.h, "gen", &o, &v, &e) < 0) {
			errs++;
			printf("# error: %s\n", e.msg);
			got = -1;
		} else
			got = v.status == MV_EXIT_OK;
		if (got != want && bad++ < 3) {
			size_t k;

			printf("# disagreement: oracle %d, mv_check %d: %s\n",
			    want, got, v.json.p ? v.json.p : "");
			for (k = 0; k < g.h.n; k++) {
				struct mv_buf b = MV_BUF_INIT;

				mv_event_write(&b, &g.h.ev[k]);
				printf("#   %s", b.p);
				mv_buf_release(&b);
			}
		}
		want ? nvalid++ : ninvalid++;
		mv_verdict_release(&v);
		mv_history_release(&g.h);
	}
	printf("# %d valid, %d invalid per the oracle\n", nvalid, ninvalid);
	OK(errs == 0, "no history rejected");
	snprintf(name, sizeof(name),
	    "WGL agrees with brute force on %ld histories", n);
	OK(bad == 0, name);
	OK(nvalid > 1000 && ninvalid > 1000, "both verdicts well represented");
}

int
main(void)
{
	oracle_cases();
	return TAP_DONE();
}
