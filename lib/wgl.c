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

/* For search(): its two copies are what specializes them. */
#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

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

static uint64_t
splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
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

/* Adds (k1, k2) to table k; returns 1 if it was new, 0 if seen. */
static inline int
memo_add(uint64_t *k, size_t mask, uint64_t k1, uint64_t k2)
{
	if ((k1 | k2) == 0)
		k1 = 1;
	return memo_put(k, mask, k1, k2);
}

static inline uint64_t
mix(uint64_t s, uint64_t c)
{
	s = (s ^ (s >> 31)) * c;
	return s ^ (s >> 29);
}

/*
 * A kv state is dead when its bytes are a prefix of no read's value (and
 * it is not absent, state 0).  Every read fails in it; an append leaves
 * it dead, since a prefix of what it makes would be a prefix of it; a put
 * leaves the put's value whatever the state.  So every dead state allows
 * exactly the same sequences of ops as every other, to equivalent states,
 * and the search takes them all as one, KV_DEAD: configurations that
 * differ only in which dead string they hold are one in the memo.
 * Appends that no read sees, as the retried appends of a real store,
 * otherwise multiply the search by every order they can be taken in.
 * The witness and prefix are op numbers, replayed on real states.
 *
 * Prefixes are known by their hashes (pre): a state whose hash is not
 * among them is dead for certain, and a collision can only keep a dead
 * state apart, never merge a live one.  live[] caches the answer per
 * blob id: 0 unknown, 1 live, 2 dead.
 */
#define KV_DEAD UINT64_MAX

struct kvdead {
	uint64_t *pre; /* prefix hashes, 0 empty; NULL: merging is off */
	size_t npre;   /* slots, a power of two */
	unsigned char *live;
	size_t nlive;
};

/* The search proper; arrays are set up by mv_wgl_check. */
struct search {
	struct mv_model *m;
	const struct mv_wgl_in *in;
	uint32_t *next, *prev, *stk;
	uint64_t *sst, *z;
	struct memo memo;
	size_t fixed;
	int pure; /* the model's reads never change its state */
	int kv;   /* the kv model, dead states merged */
	struct kvdead kd;
};

#define FNV_BASIS 0xcbf29ce484222325ULL

/* Prefixes whose hashes kv_setup keeps at most: 16 MB of table. */
#define KV_PRE_MAX ((size_t)1 << 20)

static inline uint64_t
fnv_byte(uint64_t h, unsigned char c)
{
	return (h ^ c) * 0x100000001b3ULL;
}

/* The slot key of a prefix hash: never 0, which marks an empty slot. */
static inline uint64_t
pre_key(uint64_t h)
{
	h = mix(h, 0xbf58476d1ce4e5b9ULL);
	return h ? h : 1;
}

/* Adds h to the prefixes, or finds it there; 1 if it was there. */
static int
pre_put(struct kvdead *kd, uint64_t h, int add)
{
	uint64_t k = pre_key(h);
	size_t j = (size_t)k & (kd->npre - 1);

	for (; kd->pre[j]; j = (j + 1) & (kd->npre - 1))
		if (kd->pre[j] == k)
			return 1;
	if (add)
		kd->pre[j] = k;
	return 0;
}

/* Adds the hash of every prefix of blob id, "" and itself included. */
static void
pre_add_blob(struct search *w, uint32_t id)
{
	size_t n, k;
	const unsigned char *p = mv_model_blob(w->m, id, &n);
	uint64_t h = FNV_BASIS;

	pre_put(&w->kd, h, 1);
	for (k = 0; k < n; k++) {
		h = fnv_byte(h, p[k]);
		pre_put(&w->kd, h, 1);
	}
}

/*
 * Collects the prefixes of the values the key's reads return (a read of
 * absent, blob 0, matches state 0 alone, which is never dead).  Leaves
 * merging off when they are too many to keep.
 */
static void
kv_setup(struct search *w)
{
	const struct mv_wgl_in *in = w->in;
	struct kvdead *kd = &w->kd;
	size_t i, n, total = 0;
	uint32_t a, maxid = 0;
	unsigned char *seen;

	for (i = 0; i < in->n; i++)
		if (in->ops[i].f == MV_MOP_READ
		    && (uint32_t)in->ops[i].a > maxid)
			maxid = (uint32_t)in->ops[i].a;
	seen = mv_xcalloc((size_t)maxid + 1, 1);
	for (i = 0; i < in->n; i++) {
		a = (uint32_t)in->ops[i].a;
		if (in->ops[i].f != MV_MOP_READ || a == 0 || seen[a])
			continue;
		seen[a] = 1;
		mv_model_blob(w->m, a, &n);
		total += n + 1;
	}
	if (total <= KV_PRE_MAX) {
		for (kd->npre = 64; kd->npre < 2 * total;)
			kd->npre *= 2;
		kd->pre = mv_xcalloc(kd->npre, sizeof(*kd->pre));
		w->fixed += kd->npre * sizeof(*kd->pre);
		for (a = 1; a <= maxid; a++)
			if (seen[a])
				pre_add_blob(w, a);
	}
	free(seen);
}

/* Whether kv state s (a blob id, not 0) is dead; cached per id. */
static int
kv_is_dead(struct search *w, uint64_t s)
{
	struct kvdead *kd = &w->kd;
	const unsigned char *p;
	size_t n, k;
	uint64_t h = FNV_BASIS;

	if (s >= kd->nlive) {
		for (n = kd->nlive ? kd->nlive : 1024; n <= s;)
			n *= 2;
		kd->live = mv_xrealloc(kd->live, n);
		memset(kd->live + kd->nlive, 0, n - kd->nlive);
		w->fixed += n - kd->nlive;
		kd->nlive = n;
	}
	if (kd->live[s] == 0) {
		p = mv_model_blob(w->m, (uint32_t)s, &n);
		for (k = 0; k < n; k++)
			h = fnv_byte(h, p[k]);
		kd->live[s] = pre_put(kd, h, 0) ? 1 : 2;
	}
	return kd->live[s] == 2;
}

/* A kv step as mv_model_step takes it, with dead states made KV_DEAD. */
static int
kv_step(struct search *w, uint64_t s, uint32_t i, uint64_t *ns)
{
	const struct mv_mop *op = &w->in->ops[i];

	if (s == KV_DEAD) {
		if (op->f == MV_MOP_READ)
			return 0;
		if (op->f != MV_MOP_WRITE) {
			*ns = KV_DEAD;
			return 1;
		}
		*ns = (uint64_t)op->a;
	} else if (!mv_model_step(w->m, s, op, i, ns))
		return 0;
	if (op->f != MV_MOP_READ && *ns != 0 && w->kd.pre != NULL
	    && kv_is_dead(w, *ns))
		*ns = KV_DEAD;
	return 1;
}

/*
 * A stack entry taken as a pure read (see search): when it is popped, the
 * configuration below it has failed too.  Entries are < 2^31.
 */
#define GREEDY ((uint32_t)1 << 31)

/*
 * One model step.  Register steps are the bulk of many searches and a
 * call into model.c for them costs as much as the step itself, so they
 * are done here, exactly as mv_model_step does them.
 */
static inline int
step(struct search *w, int reg, uint64_t s, uint32_t i, uint64_t *ns)
{
	const struct mv_mop *op = &w->in->ops[i];
	uint64_t a, b;
	int f;

	if (!reg)
		return w->kv ? kv_step(w, s, i, ns)
		             : mv_model_step(w->m, s, op, i, ns);
	/* Selects, not branches: the kind of the next op is anyone's guess. */
	f = op->f;
	a = (uint64_t)op->a;
	b = (uint64_t)op->b;
	*ns = f == MV_MOP_READ ? s : f == MV_MOP_WRITE ? a : b;
	return (s == a) | (f == MV_MOP_WRITE);
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
		best[j] = (w->stk[j] & ~GREEDY) >> 1;
	*lw = sp;
}

/*
 * Starts loading the memo slot that call e would probe from (state, h2):
 * when the probe in hand finds a configuration already seen, the search
 * moves on to the next call, whose slot is then on its way.  Memo probes
 * miss the cache in large searches, and this overlaps two of them.
 */
static inline void
prefetch_call(
    struct search *w, int reg, uint32_t e, uint64_t state, uint64_t h2)
{
#if defined(__GNUC__)
	uint64_t ns;
	size_t j;

	if ((e & 1) || e >= 2 * w->in->n || !step(w, reg, state, e >> 1, &ns))
		return;
	j = (size_t)((h2 ^ w->z[e + 1] ^ mix(ns, 0x94d049bb133111ebULL))
	    & (w->memo.cap - 1));
	__builtin_prefetch(&w->memo.k[2 * j]);
#else
	(void)w;
	(void)reg;
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

/*
 * Below this many memo slots (256 KB) the table stays in cache and the
 * prefetches of prefetch_call cost more than they save.
 */
#define PREFETCH_SLOTS ((size_t)1 << 14)

/*
 * The search; reg is a constant at each call below, so that a register
 * search has no model dispatch left in its loop.
 */
static ALWAYS_INLINE int
search(struct search *w, struct mv_wgl_res *res, int reg)
{
	const struct mv_wgl_in *in = w->in;
	const uint64_t *z = w->z, *ret = in->ret;
	uint32_t *next = w->next, *stk = w->stk;
	uint64_t *sst = w->sst, *mk = w->memo.k;
	uint32_t head = (uint32_t)(2 * in->n), tail = head + 1, e, i;
	uint64_t state = mv_model_init(w->m), ns, h1 = 0, h2 = 0, k1, k2, m1,
	         m2;
	uint64_t steps = 0;
	size_t sp = 0, stuck_depth = 0, lw = 0, depth = 0, stuck = SIZE_MAX;
	size_t mask = w->memo.cap - 1, mn = w->memo.n;
	int r = MV_WGL_VALID, g;

	/*
	 * What the loop reads and writes lives in locals: stores through
	 * sst and the memo could alias the fields of w and res, and the
	 * compiler would reload them at every step.
	 */
	e = next[head];
	for (;;) {
		if (e == tail)
			break;
		i = e >> 1;
		if ((e & 1) == 0) {
			if ((++steps & 4095) == 0) {
				res->steps = steps;
				w->memo.n = mn;
				if ((r = budget(w, res)) != 0)
					break;
			}
			if (!step(w, reg, state, i, &ns)) {
				e = next[e];
				continue;
			}
			k1 = h1 ^ z[2 * i];
			k2 = h2 ^ z[2 * i + 1];
			if (mn * 2 >= mask + 1) {
				w->memo.n = mn;
				if (memo_grow(&w->memo, in->mem_limit,
				        w->fixed + mv_model_bytes(w->m))) {
					r = MV_WGL_MEMORY;
					break;
				}
				mk = w->memo.k;
				mask = w->memo.cap - 1;
			}
			if (mask >= PREFETCH_SLOTS) {
				prefetch_call(w, reg, next[e], state, h2);
				prefetch_call(w, reg,
				    first_after_lift(w, head, e), ns, k2);
			}
			/* The memo's key: the set's hashes, each with the
			 * state. */
			m1 = k1 ^ mix(ns, 0xbf58476d1ce4e5b9ULL);
			m2 = k2 ^ mix(ns, 0x94d049bb133111ebULL);
			/*
			 * A read that may come next and is legal here is
			 * taken without trying the others in its place: a
			 * pure op legal now can be moved to the front of
			 * any linearization of what is left (whatever must
			 * precede it already has been, whatever must follow
			 * it still follows, and it changes no state), so
			 * this configuration succeeds if and only if the
			 * one after the read does.  Concurrent reads of
			 * one value no longer multiply the search.
			 */
			g = w->pure && in->ops[i].f == MV_MOP_READ;
			if (!memo_add(mk, mask, m1, m2)) {
				/* Seen before, and so failed (a
				 * configuration on the path has fewer ops). */
				if (g)
					goto backtrack;
				e = next[e];
				continue;
			}
			mn++;
			stk[sp] = e | (g ? GREEDY : 0);
			sst[sp++] = state;
			if (sp > depth) {
				depth = sp;
				keep_best(w, sp, &lw);
			}
			state = ns;
			h1 = k1;
			h2 = k2;
			lift(w, e);
			e = next[head];
			continue;
		}
		if (ret[i] == MV_WGL_OPEN)
			break;
		if (stuck == SIZE_MAX || sp > stuck_depth) {
			stuck = i;
			stuck_depth = sp;
		}
	backtrack:
		if (sp == 0) {
			r = MV_WGL_INVALID;
			break;
		}
		e = stk[--sp];
		g = (e & GREEDY) != 0;
		e &= ~GREEDY;
		if (sp < lw)
			lw = sp;
		state = sst[sp];
		i = e >> 1;
		h1 ^= z[2 * i];
		h2 ^= z[2 * i + 1];
		unlift(w, e);
		if (g)
			goto backtrack;
		e = next[e];
	}
	res->steps = steps;
	res->depth = depth;
	res->stuck = stuck;
	w->memo.n = mn;
	if (r == MV_WGL_VALID) {
		/* The stack is a witness. */
		lw = 0;
		keep_best(w, sp, &lw);
		res->nprefix = sp;
	}
	return r;
}

static int
run_register(struct search *w, struct mv_wgl_res *res)
{
	return search(w, res, 1);
}

static int
run_model(struct search *w, struct mv_wgl_res *res)
{
	return search(w, res, 0);
}

/* Whether entry a comes before b, their positions in key. */
static inline int
key_before(const uint64_t *key, uint32_t a, uint32_t b)
{
	uint64_t ka = key[a], kb = key[b];

	return (ka < kb) | ((ka == kb) & (a < b));
}

/* Merges the sorted runs a[lo..mid) and a[mid..hi) into out[lo..hi). */
static void
merge(const uint64_t *key, const uint32_t *a, uint32_t *out, size_t lo,
    size_t mid, size_t hi)
{
	size_t i = lo, j = mid, k;

	if (mid == hi || !key_before(key, a[mid], a[mid - 1])) {
		memcpy(out + lo, a + lo, (hi - lo) * sizeof(*a));
		return;
	}
	for (k = lo; k < hi; k++)
		if (j == hi || (i < mid && !key_before(key, a[j], a[i])))
			out[k] = a[i++];
		else
			out[k] = a[j++];
}

/*
 * Sorts the n entries of a by key, using tmp (n entries); returns which
 * of the two holds the result.  A merge sort of runs of ever longer
 * length, skipping merges already in order.
 */
static uint32_t *
sort_all(const uint64_t *key, uint32_t *a, uint32_t *tmp, size_t n)
{
	size_t w, lo, mid, hi;
	uint32_t *t;

	for (w = 1; w < n; w *= 2) {
		for (lo = 0; lo < n; lo += 2 * w) {
			mid = lo + w < n ? lo + w : n;
			hi = lo + 2 * w < n ? lo + 2 * w : n;
			merge(key, a, tmp, lo, mid, hi);
		}
		t = a;
		a = tmp;
		tmp = t;
	}
	return a;
}

/*
 * Insertion-sorts the n entries of a by key while that takes at most
 * *budget moves; 0 when done, -1 when the budget ran out (a then holds
 * the same entries in some order).
 */
static int
sort_near(const uint64_t *key, uint32_t *a, size_t n, size_t *budget)
{
	size_t i, j;
	uint32_t x;

	for (i = 1; i < n; i++) {
		x = a[i];
		for (j = i; j > 0 && key_before(key, x, a[j - 1]); j--) {
			if ((*budget)-- == 0) {
				a[j] = x; /* a[j] is the hole */
				return -1;
			}
			a[j] = a[j - 1];
		}
		a[j] = x;
	}
	return 0;
}

/*
 * Puts the calls and returns in history order, open returns last, in s
 * or t (2n entries each; returns which), key holding their positions.
 * Calls come in order and returns nearly so, an op overtaken only by the
 * few that overlap it: the calls and the closed returns are sorted apart
 * by insertion and merged, unless that takes too many moves.  (qsort
 * was slower, and glibc's asks the kernel for the size of memory on its
 * first call: a syscall that cost more than the whole search of a small
 * key.)
 */
static uint32_t *
order(const struct mv_wgl_in *in, const uint64_t *key, uint32_t *s, uint32_t *t)
{
	size_t n = in->n, i, j, k, m = n, budget = 8 * n + 64;

	for (i = 0; i < n; i++)
		s[i] = (uint32_t)(2 * i);
	for (i = 0; i < n; i++)
		if (in->ret[i] != MV_WGL_OPEN)
			s[m++] = (uint32_t)(2 * i + 1);
	for (i = 0, k = m; i < n; i++)
		if (in->ret[i] == MV_WGL_OPEN)
			s[k++] = (uint32_t)(2 * i + 1);
	if (sort_near(key, s, n, &budget) < 0
	    || sort_near(key, s + n, m - n, &budget) < 0)
		return sort_all(key, s, t, 2 * n);
	/*
	 * Without branches: which side comes next is anyone's guess.  s[m]
	 * exists (s has 2n + 2 entries) and is read but not taken when the
	 * returns run out.
	 */
	for (i = 0, j = n, k = 0; k < m; k++) {
		uint32_t c = s[i < n ? i : n - 1], r = s[j];
		int call = (i < n) & ((j == m) | key_before(key, c, r));

		t[k] = call ? c : r;
		i += (size_t)call;
		j += (size_t)!call;
	}
	memcpy(t + m, s + m, (2 * n - m) * sizeof(*t));
	return t;
}

/*
 * Links calls and returns in history order.  The sort borrows arrays
 * free until the search starts: z for the positions, sst and next.
 */
static void
build_list(struct search *w)
{
	const struct mv_wgl_in *in = w->in;
	size_t n = in->n, i;
	uint32_t *s, prev = (uint32_t)(2 * n);

	for (i = 0; i < n; i++) {
		w->z[2 * i] = in->inv[i];
		w->z[2 * i + 1] = in->ret[i];
	}
	s = order(in, w->z, (uint32_t *)w->sst, w->next);
	for (i = 0; i < 2 * n; i++) {
		w->prev[s[i]] = prev;
		prev = s[i];
	}
	w->prev[2 * n + 1] = prev;
	/* next after prev: s may be next itself. */
	for (i = 0; i < 2 * n + 2; i++)
		if (i != 2 * n)
			w->next[w->prev[i]] = (uint32_t)i;
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
	/* Models whose MV_MOP_READ is legal in one state and keeps it. */
	switch (mv_model_kind(m)) {
	case MV_MODEL_REGISTER:
	case MV_MODEL_CAS_REGISTER:
	case MV_MODEL_COUNTER:
	case MV_MODEL_KV:
	case MV_MODEL_SET:
	case MV_MODEL_STREAM: w.pure = 1; break;
	default: w.pure = 0; break;
	}
	/* 8 slots an op to begin with, at most 4096: most keys are small. */
	for (w.memo.first = 64; w.memo.first < 4096 && w.memo.first < 8 * n;)
		w.memo.first *= 2;
	/* One block, 64-bit arrays first: sst, z, next, prev, stk. */
	w.sst = mv_xmalloc(
	    (n + 1) * 8 + (2 * n + 1) * 8 + (2 * n + 2) * 8 + (n + 1) * 4);
	w.z = w.sst + (n + 1);
	w.next = (uint32_t *)(w.z + 2 * n + 1);
	w.prev = w.next + 2 * n + 2;
	w.stk = w.prev + 2 * n + 2;
	w.fixed = (2 * n + 2) * 8 + (n + 1) * 12 + (2 * n + 1) * 8
	    + (in->prefix ? n * 4 : 0);
	build_list(&w);
	for (i = 0; i < 2 * n; i++)
		w.z[i] = splitmix(&seed);
	if ((w.kv = mv_model_kind(m) == MV_MODEL_KV))
		kv_setup(&w);
	if (memo_grow(&w.memo, in->mem_limit, w.fixed + mv_model_bytes(m)))
		res->status = MV_WGL_MEMORY;
	else
		res->status = mv_model_kind(m) == MV_MODEL_REGISTER
		        || mv_model_kind(m) == MV_MODEL_CAS_REGISTER
		    ? run_register(&w, res)
		    : run_model(&w, res);
	if (res->status != MV_WGL_VALID)
		res->nprefix = res->depth;
	res->bytes = w.memo.cap * 16 + w.fixed;
	res->memo = w.memo.n;
	if (w.memo.k != NULL)
		memo_free(&w.memo);
	free(w.sst);
	free(w.kd.pre);
	free(w.kd.live);
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
