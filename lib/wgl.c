/*
 * wgl.c: Lowe's variant of the Wing-Gong linearizability search.
 *
 * Calls and returns sit in one doubly linked list in history order.  The
 * search walks it from the front, linearizing a call whenever the model
 * allows it and the resulting configuration (set of linearized ops, model
 * state) is new, and backtracks when it meets the return of an op not yet
 * linearized.  Ops that may never take effect have their return after
 * every other event, so meeting one means every required op is placed.
 *
 * The memo holds a configuration as 128 bits: two Zobrist hashes of the
 * linearized set, each mixed with the state.  A collision can only prune a
 * branch that was not explored, which could turn a valid verdict into an
 * invalid one (at odds of about 2^-100 for a billion entries), never the
 * reverse; in exchange an entry is 16 bytes whatever the history's length.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mv.h"
#include "wgl.h"

struct memo {
	uint64_t *k; /* pairs; (0, 0) is empty */
	size_t cap, n;
};

struct srt {
	uint64_t pos;
	uint32_t ent;
};

static uint64_t
splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int
srt_cmp(const void *a, const void *b)
{
	const struct srt *x = a, *y = b;

	if (x->pos != y->pos)
		return x->pos < y->pos ? -1 : 1;
	return x->ent < y->ent ? -1 : x->ent > y->ent;
}

/* Doubles the table; -1 if that would pass limit (0: none). */
static int
memo_grow(struct memo *mm, size_t limit, size_t other)
{
	size_t i, ncap = mm->cap ? mm->cap * 2 : 4096;
	uint64_t *old = mm->k;

	if (limit && ncap * 16 + mm->cap * 16 + other > limit)
		return -1;
	mm->k = mv_xcalloc(ncap * 2, sizeof(uint64_t));
	for (i = 0; i < mm->cap; i++) {
		size_t j;

		if ((old[2 * i] | old[2 * i + 1]) == 0)
			continue;
		j = (size_t)(old[2 * i + 1] & (ncap - 1));
		while (mm->k[2 * j] | mm->k[2 * j + 1])
			j = (j + 1) & (ncap - 1);
		mm->k[2 * j] = old[2 * i];
		mm->k[2 * j + 1] = old[2 * i + 1];
	}
	free(old);
	mm->cap = ncap;
	return 0;
}

/* Adds (k1, k2); returns 1 if it was new, 0 if seen. */
static inline int
memo_add(struct memo *mm, uint64_t k1, uint64_t k2)
{
	size_t mask = mm->cap - 1, j = (size_t)(k2 & mask);

	if ((k1 | k2) == 0)
		k1 = 1;
	for (; mm->k[2 * j] | mm->k[2 * j + 1]; j = (j + 1) & mask)
		if (mm->k[2 * j] == k1 && mm->k[2 * j + 1] == k2)
			return 0;
	mm->k[2 * j] = k1;
	mm->k[2 * j + 1] = k2;
	mm->n++;
	return 1;
}

static inline uint64_t
mix(uint64_t s, uint64_t c)
{
	s = (s ^ (s >> 31)) * c;
	return s ^ (s >> 29);
}

/* The search proper; arrays are set up by mv_wgl_check. */
struct search {
	struct mv_model *m;
	const struct mv_wgl_in *in;
	uint32_t *next, *prev, *stk;
	uint64_t *sst, *z;
	struct memo memo;
	size_t fixed;
};

static inline void
lift(struct search *w, uint32_t c)
{
	uint32_t r = c + 1;

	w->next[w->prev[c]] = w->next[c];
	w->prev[w->next[c]] = w->prev[c];
	w->next[w->prev[r]] = w->next[r];
	w->prev[w->next[r]] = w->prev[r];
}

static inline void
unlift(struct search *w, uint32_t c)
{
	uint32_t r = c + 1;

	w->next[w->prev[r]] = r;
	w->prev[w->next[r]] = r;
	w->next[w->prev[c]] = c;
	w->prev[w->next[c]] = c;
}

/* Budget check every few thousand steps: 0 to go on, else a status. */
static int
budget(struct search *w)
{
	const struct mv_wgl_in *in = w->in;

	if (in->deadline_ns && mv_now_ns() > in->deadline_ns)
		return MV_WGL_TIME;
	if (in->mem_limit
	    && w->memo.cap * 16 + w->fixed + mv_model_bytes(w->m)
	        > in->mem_limit)
		return MV_WGL_MEMORY;
	return 0;
}

static int
run(struct search *w, struct mv_wgl_res *res)
{
	const struct mv_wgl_in *in = w->in;
	uint32_t head = (uint32_t)(2 * in->n), tail = head + 1, e, i;
	uint64_t state = mv_model_init(w->m), ns, h1 = 0, h2 = 0, k1, k2;
	size_t sp = 0, stuck_depth = 0;
	int r;

	e = w->next[head];
	for (;;) {
		if (e == tail)
			return MV_WGL_VALID;
		i = e >> 1;
		if ((e & 1) == 0) {
			if ((++res->steps & 4095) == 0 && (r = budget(w)) != 0)
				return r;
			if (mv_model_step(w->m, state, &in->ops[i], i, &ns)) {
				k1 = h1 ^ w->z[2 * i];
				k2 = h2 ^ w->z[2 * i + 1];
				if (w->memo.n * 2 >= w->memo.cap
				    && memo_grow(&w->memo, in->mem_limit,
				        w->fixed + mv_model_bytes(w->m)))
					return MV_WGL_MEMORY;
				if (memo_add(&w->memo,
				        k1 ^ mix(ns, 0xbf58476d1ce4e5b9ULL),
				        k2 ^ mix(ns, 0x94d049bb133111ebULL))) {
					w->stk[sp] = e;
					w->sst[sp++] = state;
					if (sp > res->depth)
						res->depth = sp;
					state = ns;
					h1 = k1;
					h2 = k2;
					lift(w, e);
					e = w->next[head];
					continue;
				}
			}
			e = w->next[e];
			continue;
		}
		if (in->ret[i] == MV_WGL_OPEN)
			return MV_WGL_VALID;
		if (res->stuck == SIZE_MAX || sp > stuck_depth) {
			res->stuck = i;
			stuck_depth = sp;
		}
		if (sp == 0)
			return MV_WGL_INVALID;
		e = w->stk[--sp];
		state = w->sst[sp];
		i = e >> 1;
		h1 ^= w->z[2 * i];
		h2 ^= w->z[2 * i + 1];
		unlift(w, e);
		e = w->next[e];
	}
}

/* Links calls and returns in history order, open returns last. */
static void
build_list(struct search *w)
{
	const struct mv_wgl_in *in = w->in;
	size_t n = in->n, i;
	struct srt *s = mv_xmalloc((2 * n + 1) * sizeof(*s));
	uint32_t prev = (uint32_t)(2 * n);

	for (i = 0; i < n; i++) {
		s[2 * i].pos = in->inv[i];
		s[2 * i].ent = (uint32_t)(2 * i);
		s[2 * i + 1].pos = in->ret[i];
		s[2 * i + 1].ent = (uint32_t)(2 * i + 1);
	}
	qsort(s, 2 * n, sizeof(*s), srt_cmp);
	for (i = 0; i < 2 * n; i++) {
		w->next[prev] = s[i].ent;
		w->prev[s[i].ent] = prev;
		prev = s[i].ent;
	}
	w->next[prev] = (uint32_t)(2 * n + 1);
	w->prev[2 * n + 1] = prev;
	free(s);
}

int
mv_wgl_check(
    struct mv_model *m, const struct mv_wgl_in *in, struct mv_wgl_res *res)
{
	struct search w;
	size_t n = in->n, i;
	uint64_t seed = 0x5eed;

	memset(res, 0, sizeof(*res));
	res->stuck = SIZE_MAX;
	memset(&w, 0, sizeof(w));
	w.m = m;
	w.in = in;
	w.next = mv_xmalloc((2 * n + 2) * sizeof(uint32_t));
	w.prev = mv_xmalloc((2 * n + 2) * sizeof(uint32_t));
	w.stk = mv_xmalloc((n + 1) * sizeof(uint32_t));
	w.sst = mv_xmalloc((n + 1) * sizeof(uint64_t));
	w.z = mv_xmalloc((2 * n + 1) * sizeof(uint64_t));
	w.fixed = (2 * n + 2) * 8 + (n + 1) * 12 + (2 * n + 1) * 8;
	for (i = 0; i < 2 * n; i++)
		w.z[i] = splitmix(&seed);
	build_list(&w);
	if (memo_grow(&w.memo, in->mem_limit, w.fixed + mv_model_bytes(m)))
		res->status = MV_WGL_MEMORY;
	else
		res->status = run(&w, res);
	res->bytes = w.memo.cap * 16 + w.fixed;
	free(w.memo.k);
	free(w.next);
	free(w.prev);
	free(w.stk);
	free(w.sst);
	free(w.z);
	return res->status;
}
