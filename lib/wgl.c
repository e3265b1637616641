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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mv.h"
#include "wgl.h"

/*
 * The memo: (k1, k2) pairs under linear probing from slot k2, at most
 * half full.  Buckets of four pairs on one cache line, filled to three
 * quarters, measured slower on the search bench/bench.sh times: the
 * probe's miss is the cost either way, and its scan of a bucket adds to it.
 */
struct memo {
	uint64_t *k; /* pairs; (0, 0) is empty */
	size_t cap, n;
	size_t first;  /* the first capacity: small keys stay small */
	size_t mapped; /* bytes mapped at k, 0 if from calloc */
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

/* The table is probed at random over megabytes: see mv_bigalloc. */
static void
memo_alloc(struct memo *mm, size_t bytes)
{
	mm->k = mv_bigalloc(bytes, &mm->mapped);
}

static void
memo_free(struct memo *mm)
{
	mv_bigfree(mm->k, mm->mapped);
	mm->k = NULL;
}

/* Puts (k1, k2), not (0, 0), in the table; 1 if it was new, 0 if seen. */
static inline int
memo_put(uint64_t *k, size_t mask, uint64_t k1, uint64_t k2)
{
	size_t j = (size_t)(k2 & mask);

	for (; k[2 * j] | k[2 * j + 1]; j = (j + 1) & mask)
		if (k[2 * j] == k1 && k[2 * j + 1] == k2)
			return 0;
	k[2 * j] = k1;
	k[2 * j + 1] = k2;
	return 1;
}

/* Doubles the table; -1 if that would pass limit (0: none). */
static int
memo_grow(struct memo *mm, size_t limit, size_t other)
{
	size_t i, ncap = mm->cap ? mm->cap * 2 : mm->first;
	struct memo old = *mm;

	if (limit && ncap * 16 + mm->cap * 16 + other > limit)
		return -1;
	memo_alloc(mm, ncap * 16);
	for (i = 0; i < old.cap; i++) {
		size_t j;

		/* No pair is in twice: only free slots need looking for. */
		if ((old.k[2 * i] | old.k[2 * i + 1]) == 0)
			continue;
		j = (size_t)(old.k[2 * i + 1] & (ncap - 1));
		while (mm->k[2 * j] | mm->k[2 * j + 1])
			j = (j + 1) & (ncap - 1);
		mm->k[2 * j] = old.k[2 * i];
		mm->k[2 * j + 1] = old.k[2 * i + 1];
	}
	if (old.k != NULL)
		memo_free(&old);
	mm->cap = ncap;
	return 0;
}

/* Adds (k1, k2); returns 1 if it was new, 0 if seen. */
static inline int
memo_add(struct memo *mm, uint64_t k1, uint64_t k2)
{
	if ((k1 | k2) == 0)
		k1 = 1;
	if (!memo_put(mm->k, mm->cap - 1, k1, k2))
		return 0;
	mm->n++;
	return 1;
}

/* Whether the memo must grow before the next add. */
static inline int
memo_full(const struct memo *mm)
{
	return mm->n * 2 >= mm->cap;
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
	int reg; /* a register: steps inline, see step() */
};

/*
 * One model step.  Register steps are the bulk of many searches and a
 * call into model.c for them costs as much as the step itself, so they
 * are done here, exactly as mv_model_step does them.
 */
static inline int
step(struct search *w, uint64_t s, uint32_t i, uint64_t *ns)
{
	const struct mv_mop *op = &w->in->ops[i];

	if (!w->reg)
		return mv_model_step(w->m, s, op, i, ns);
	if (op->f == MV_MOP_READ) {
		*ns = s;
		return s == (uint64_t)op->a;
	}
	if (op->f == MV_MOP_WRITE) {
		*ns = (uint64_t)op->a;
		return 1;
	}
	*ns = (uint64_t)op->b;
	return s == (uint64_t)op->a;
}

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
budget(struct search *w, const struct mv_wgl_res *res)
{
	const struct mv_wgl_in *in = w->in;

	if (in->progress)
		in->progress(in->progress_arg, res->steps, w->memo.n);
	if (in->deadline_ns && mv_now_ns() > in->deadline_ns)
		return MV_WGL_TIME;
	if (in->mem_limit
	    && w->memo.cap * 16 + w->fixed + mv_model_bytes(w->m)
	        > in->mem_limit)
		return MV_WGL_MEMORY;
	return 0;
}

/*
 * Keeps in->prefix equal to the deepest stack seen.  Only the part of the
 * stack below the low-water mark lw since the last copy can differ, so
 * the copying costs at most one entry per push.
 */
static inline void
keep_best(struct search *w, size_t sp, size_t *lw)
{
	uint32_t *best = w->in->prefix;
	size_t j;

	if (best == NULL)
		return;
	for (j = *lw; j < sp; j++)
		best[j] = w->stk[j] >> 1;
	*lw = sp;
}

/*
 * Starts loading the memo slot that call e would probe from (state, h2):
 * when the probe in hand finds a configuration already seen, the search
 * moves on to the next call, whose slot is then on its way.  Memo probes
 * miss the cache in large searches, and this overlaps two of them.
 */
static inline void
prefetch_call(struct search *w, uint32_t e, uint64_t state, uint64_t h2)
{
#if defined(__GNUC__)
	uint64_t ns;
	size_t j;

	if ((e & 1) || e >= 2 * w->in->n || !step(w, state, e >> 1, &ns))
		return;
	j = (size_t)((h2 ^ w->z[e + 1] ^ mix(ns, 0x94d049bb133111ebULL))
	    & (w->memo.cap - 1));
	__builtin_prefetch(&w->memo.k[2 * j]);
#else
	(void)w;
	(void)e;
	(void)state;
	(void)h2;
#endif
}

/* The first entry of the list once call e and its return are lifted. */
static inline uint32_t
first_after_lift(const struct search *w, uint32_t head, uint32_t e)
{
	uint32_t f = w->next[head];

	if (f == e)
		f = w->next[e];
	if (f == e + 1)
		f = w->next[e + 1];
	return f;
}

static int
run(struct search *w, struct mv_wgl_res *res)
{
	const struct mv_wgl_in *in = w->in;
	uint32_t head = (uint32_t)(2 * in->n), tail = head + 1, e, i;
	uint64_t state = mv_model_init(w->m), ns, h1 = 0, h2 = 0, k1, k2;
	size_t sp = 0, stuck_depth = 0, lw = 0;
	int r;

	e = w->next[head];
	for (;;) {
		if (e == tail)
			break;
		i = e >> 1;
		if ((e & 1) == 0) {
			if ((++res->steps & 4095) == 0
			    && (r = budget(w, res)) != 0)
				return r;
			if (step(w, state, i, &ns)) {
				k1 = h1 ^ w->z[2 * i];
				k2 = h2 ^ w->z[2 * i + 1];
				if (memo_full(&w->memo)
				    && memo_grow(&w->memo, in->mem_limit,
				        w->fixed + mv_model_bytes(w->m)))
					return MV_WGL_MEMORY;
				prefetch_call(w, w->next[e], state, h2);
				prefetch_call(
				    w, first_after_lift(w, head, e), ns, k2);
				if (memo_add(&w->memo,
				        k1 ^ mix(ns, 0xbf58476d1ce4e5b9ULL),
				        k2 ^ mix(ns, 0x94d049bb133111ebULL))) {
					w->stk[sp] = e;
					w->sst[sp++] = state;
					if (sp > res->depth) {
						res->depth = sp;
						keep_best(w, sp, &lw);
					}
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
			break;
		if (res->stuck == SIZE_MAX || sp > stuck_depth) {
			res->stuck = i;
			stuck_depth = sp;
		}
		if (sp == 0)
			return MV_WGL_INVALID;
		e = w->stk[--sp];
		if (sp < lw)
			lw = sp;
		state = w->sst[sp];
		i = e >> 1;
		h1 ^= w->z[2 * i];
		h2 ^= w->z[2 * i + 1];
		unlift(w, e);
		e = w->next[e];
	}
	/* Valid: the stack is a witness. */
	lw = 0;
	keep_best(w, sp, &lw);
	res->nprefix = sp;
	return MV_WGL_VALID;
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
	w.reg = mv_model_kind(m) == MV_MODEL_REGISTER
	    || mv_model_kind(m) == MV_MODEL_CAS_REGISTER;
	/* 8 slots an op to begin with, at most 4096: most keys are small. */
	for (w.memo.first = 64; w.memo.first < 4096 && w.memo.first < 8 * n;)
		w.memo.first *= 2;
	w.next = mv_xmalloc((2 * n + 2) * sizeof(uint32_t));
	w.prev = mv_xmalloc((2 * n + 2) * sizeof(uint32_t));
	w.stk = mv_xmalloc((n + 1) * sizeof(uint32_t));
	w.sst = mv_xmalloc((n + 1) * sizeof(uint64_t));
	w.z = mv_xmalloc((2 * n + 1) * sizeof(uint64_t));
	w.fixed = (2 * n + 2) * 8 + (n + 1) * 12 + (2 * n + 1) * 8
	    + (in->prefix ? n * 4 : 0);
	for (i = 0; i < 2 * n; i++)
		w.z[i] = splitmix(&seed);
	build_list(&w);
	if (memo_grow(&w.memo, in->mem_limit, w.fixed + mv_model_bytes(m)))
		res->status = MV_WGL_MEMORY;
	else
		res->status = run(&w, res);
	if (res->status != MV_WGL_VALID)
		res->nprefix = res->depth;
	res->bytes = w.memo.cap * 16 + w.fixed;
	res->memo = w.memo.n;
	if (w.memo.k != NULL)
		memo_free(&w.memo);
	free(w.next);
	free(w.prev);
	free(w.stk);
	free(w.sst);
	free(w.z);
	return res->status;
}

size_t
mv_wgl_frontier(const struct mv_wgl_in *in, const uint32_t *prefix, size_t np,
    uint32_t *out)
{
	unsigned char *in_prefix = mv_xcalloc(in->n + 1, 1);
	uint64_t first = MV_WGL_OPEN;
	size_t i, m = 0;

	for (i = 0; i < np; i++)
		in_prefix[prefix[i]] = 1;
	for (i = 0; i < in->n; i++)
		if (!in_prefix[i] && in->ret[i] < first)
			first = in->ret[i];
	for (i = 0; i < in->n; i++)
		if (!in_prefix[i] && in->inv[i] < first)
			out[m++] = (uint32_t)i;
	free(in_prefix);
	return m;
}
