/*
 * test_wgl_order.c: mv_wgl_check puts calls and returns in history order
 * however the ops are numbered.  Random register histories, some with
 * long ops, are searched as generated (calls in order: the sort's fast
 * path) and renumbered (reversed or shuffled: calls far out of order, the
 * sort's fallback); verdict, steps, depth, memo and stuck op must agree,
 * and every witness must be a linearization.
 */
#include <stdlib.h>
#include <string.h>

#include "mv.h"
#include "tap.h"
#include "wgl.h"

#define MAXN 150

struct hist {
	size_t n;
	struct mv_mop ops[MAXN];
	uint64_t inv[MAXN], ret[MAXN];
};

struct evt {
	uint64_t t;
	size_t id; /* 2 * op, + 1 for the return */
};

static int
evt_cmp(const void *a, const void *b)
{
	const struct evt *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static struct mv_rng rng;

/*
 * A register run with n ops invoked in turn, each taking effect at a
 * random point of its interval; one op in ten lasts long, one in ten
 * never returns.  With bad set, one read returns a value never written.
 */
static void
generate(struct hist *h, size_t n, int bad)
{
	static struct evt ev[2 * MAXN];
	uint64_t at[MAXN], state = 0;
	size_t i, j, order[MAXN];

	h->n = n;
	for (i = 0; i < n; i++) {
		uint64_t t = i * 8 + mv_rng_below(&rng, 8);
		uint64_t d = 1 + mv_rng_below(&rng, 24);

		if (mv_rng_below(&rng, 10) == 0)
			d += mv_rng_below(&rng, 2 * n);
		ev[2 * i].t = t;
		ev[2 * i].id = 2 * i;
		ev[2 * i + 1].t = t + d;
		ev[2 * i + 1].id = 2 * i + 1;
		at[i] = t + mv_rng_below(&rng, d);
		order[i] = i;
		h->ops[i].f =
		    mv_rng_below(&rng, 2) ? MV_MOP_READ : MV_MOP_WRITE;
		h->ops[i].a =
		    h->ops[i].f == MV_MOP_WRITE ? (int64_t)(i + 1) : 0;
	}
	/* Effects in the order of their points: reads see the last write. */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && at[order[j]] < at[order[j - 1]]; j--) {
			size_t x = order[j];

			order[j] = order[j - 1];
			order[j - 1] = x;
		}
	for (i = 0; i < n; i++) {
		struct mv_mop *op = &h->ops[order[i]];

		if (op->f == MV_MOP_WRITE)
			state = (uint64_t)op->a;
		else
			op->a = (int64_t)state;
	}
	qsort(ev, 2 * n, sizeof(*ev), evt_cmp);
	for (i = 0; i < 2 * n; i++)
		if (ev[i].id & 1)
			h->ret[ev[i].id / 2] = i;
		else
			h->inv[ev[i].id / 2] = i;
	for (i = 0; i < n; i++)
		if (h->ops[i].f == MV_MOP_WRITE && mv_rng_below(&rng, 10) == 0)
			h->ret[i] = MV_WGL_OPEN;
	if (bad)
		for (i = n / 2; i < n; i++)
			if (h->ops[i].f == MV_MOP_READ
			    && h->ret[i] != MV_WGL_OPEN) {
				h->ops[i].a = 9999;
				break;
			}
}

/* out = h with op i renumbered perm[i]. */
static void
renumber(const struct hist *h, const size_t *perm, struct hist *out)
{
	size_t i;

	out->n = h->n;
	for (i = 0; i < h->n; i++) {
		out->ops[perm[i]] = h->ops[i];
		out->inv[perm[i]] = h->inv[i];
		out->ret[perm[i]] = h->ret[i];
	}
}

/* Whether the np ops of w are a linearization of h that covers it. */
static int
is_witness(const struct hist *h, const uint32_t *w, size_t np)
{
	static unsigned char in[MAXN];
	uint64_t state = 0;
	size_t i, j;

	memset(in, 0, sizeof(in));
	for (i = 0; i < np; i++) {
		const struct mv_mop *op = &h->ops[w[i]];

		if (w[i] >= h->n || in[w[i]]++)
			return 0;
		if (op->f == MV_MOP_READ && (uint64_t)op->a != state)
			return 0;
		if (op->f == MV_MOP_WRITE)
			state = (uint64_t)op->a;
		/* Nothing after it in w may have returned before its call. */
		for (j = i + 1; j < np; j++)
			if (h->ret[w[j]] < h->inv[w[i]])
				return 0;
	}
	for (i = 0; i < h->n; i++)
		if (!in[i] && h->ret[i] != MV_WGL_OPEN)
			return 0;
	return 1;
}

static int
search(struct mv_model *m, const struct hist *h, uint32_t *prefix,
    struct mv_wgl_res *r)
{
	struct mv_wgl_in in;

	memset(&in, 0, sizeof(in));
	in.n = h->n;
	in.ops = h->ops;
	in.inv = h->inv;
	in.ret = h->ret;
	in.prefix = prefix;
	/* A budget keeps the odd exponential search short; it too must agree.
	 */
	in.mem_limit = (size_t)16 << 20;
	mv_model_clear(m);
	return mv_wgl_check(m, &in, r);
}

int
main(void)
{
	static struct hist h, g;
	static uint32_t pa[MAXN], pb[MAXN];
	static const size_t sizes[] = {1, 2, 7, 40, 80, MAXN};
	struct mv_model *m = mv_model_new(MV_MODEL_REGISTER);
	struct mv_wgl_res a, b;
	size_t perm[MAXN], i, k, s;
	int t, agree = 1, witness = 1, nvalid = 0, ninvalid = 0;

	mv_rng_seed(&rng, 7);
	for (t = 0; t < 600; t++) {
		generate(&h, sizes[t % 6], t % 3 == 0);
		search(m, &h, pa, &a);
		if (a.status == MV_WGL_VALID) {
			nvalid++;
			witness &= is_witness(&h, pa, a.nprefix);
		} else
			ninvalid += a.status == MV_WGL_INVALID;
		/* Reversed, then shuffled. */
		for (i = 0; i < h.n; i++)
			perm[i] = (t & 1) ? h.n - 1 - i : i;
		for (i = h.n; (t & 1) == 0 && i > 1; i--) {
			k = (size_t)mv_rng_below(&rng, i);
			s = perm[i - 1];
			perm[i - 1] = perm[k];
			perm[k] = s;
		}
		renumber(&h, perm, &g);
		search(m, &g, pb, &b);
		if (b.status == MV_WGL_VALID)
			witness &= is_witness(&g, pb, b.nprefix);
		if (a.status != b.status || a.steps != b.steps
		    || a.depth != b.depth || a.memo != b.memo
		    || (a.stuck == SIZE_MAX ? b.stuck != SIZE_MAX
		                            : b.stuck != perm[a.stuck])) {
			if (agree)
				printf("# history %d (%zu ops): status %d/%d, "
				       "steps %llu/%llu\n",
				    t, h.n, a.status, b.status,
				    (unsigned long long)a.steps,
				    (unsigned long long)b.steps);
			agree = 0;
		}
	}
	printf("# %d valid, %d invalid\n", nvalid, ninvalid);
	OK(agree, "same search however the ops are numbered");
	OK(witness, "every witness is a linearization");
	OK(nvalid > 100 && ninvalid > 100, "both verdicts well represented");
	mv_model_free(m);
	return TAP_DONE();
}
