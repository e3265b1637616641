/*
 * seqcon.c: sequential consistency.  A history is sequentially consistent
 * when its operations can be put in one order, legal for the model, that
 * keeps each process's own order; unlike linearizability there is no
 * real-time constraint between processes.  Info and unfinished operations
 * may take effect at their place in their process's order, or never; fail
 * ones never happened.
 *
 * Sequential consistency is not compositional (two keys can each be fine
 * while the whole is not: the store-buffering litmus test), so the search
 * runs over all keys at once, with one model state per key.  It is a
 * depth-first search over configurations (how far each process has got,
 * the state of every key) with a memo of configurations already explored,
 * as in WGL: each configuration is kept as two 64-bit hashes, Zobrist
 * hashes of the ops placed mixed with the key states.  WGL's own search
 * cannot be reused: program order across processes is not an interval
 * order (two independent chains are the forbidden 2+2), so no choice of
 * invocation and return positions encodes it.
 */
#include <stdlib.h>
#include <string.h>

#include "anomaly.h"
#include "model.h"
#include "xcheck.h"

struct frame {
	uint32_t op;    /* the op this step placed or skipped */
	uint32_t proc;  /* its process (index into chain) */
	int skipped;    /* 1: passed over without effect (info only) */
	uint64_t old;   /* the state of its key before */
	uint64_t tried; /* the last choice code tried from this config */
};

struct sc {
	struct mv_xctx *x;
	struct mv_model *m;
	const struct mv_kop *op;
	const uint32_t *key, *gid; /* gid: op number for the model's cache */
	size_t n, nkeys, np;
	uint32_t **chain; /* per process: its ops in program order */
	size_t *len, *cur, *best;
	uint64_t *st, *z;
	uint64_t *memo;
	size_t mcap, mn, depth, steps;
	size_t cap; /* steps before giving up quietly, 0: none */
	struct frame *fr;
};

/* Steps the search of one key alone may take before the whole is tried. */
#define PER_KEY 100000

#define GID(s, i) ((s)->gid ? (s)->gid[i] : (i))

static uint64_t
splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* The hash of key k holding state s, in one of two independent flavours. */
static uint64_t
kh(uint64_t k, uint64_t s, int which)
{
	uint64_t v = (k * 0x9e3779b97f4a7c15ULL) ^ (s + (uint64_t)which);

	return splitmix(&v) ^ (which ? 0x5bd1e995ULL : 0);
}

/* Adds (a, b) to the memo; 1 if new, 0 if seen, -1 when over budget. */
static int
memo_add(struct sc *s, uint64_t a, uint64_t b)
{
	size_t j, mask;

	if ((a | b) == 0)
		a = 1;
	if (s->mn * 2 >= s->mcap) {
		uint64_t *old = s->memo;
		size_t oc = s->mcap, i;
		size_t lim = s->x->o->memory_limit;

		s->mcap = oc ? oc * 2 : 4096;
		if (lim
		    && s->mcap * 16 + s->n * 64 + mv_model_bytes(s->m) > lim)
			return -1;
		s->memo = mv_xcalloc(s->mcap * 2, sizeof(uint64_t));
		for (i = 0; i < oc; i++) {
			if ((old[2 * i] | old[2 * i + 1]) == 0)
				continue;
			j = (size_t)old[2 * i + 1] & (s->mcap - 1);
			while (s->memo[2 * j] | s->memo[2 * j + 1])
				j = (j + 1) & (s->mcap - 1);
			s->memo[2 * j] = old[2 * i];
			s->memo[2 * j + 1] = old[2 * i + 1];
		}
		free(old);
	}
	mask = s->mcap - 1;
	for (j = (size_t)b & mask; s->memo[2 * j] | s->memo[2 * j + 1];
	     j = (j + 1) & mask)
		if (s->memo[2 * j] == a && s->memo[2 * j + 1] == b)
			return 0;
	s->memo[2 * j] = a;
	s->memo[2 * j + 1] = b;
	s->mn++;
	return 1;
}

/* Groups the ops by process, in invocation (program) order. */
static void
build_chains(struct sc *s)
{
	const struct mv_history *h = s->x->h;
	int64_t *pid = mv_xmalloc((s->n + 1) * sizeof(*pid));
	uint32_t *pno = mv_xmalloc((s->n + 1) * sizeof(*pno));
	size_t i, j;

	for (i = 0; i < s->n; i++) {
		int64_t p = h->ev[s->op[i].inv].process;

		for (j = 0; j < s->np && pid[j] != p; j++)
			;
		if (j == s->np)
			pid[s->np++] = p;
		pno[i] = (uint32_t)j;
	}
	s->chain = mv_xcalloc(s->np + 1, sizeof(*s->chain));
	s->len = mv_xcalloc(s->np + 1, sizeof(*s->len));
	s->cur = mv_xcalloc(s->np + 1, sizeof(*s->cur));
	s->best = mv_xcalloc(s->np + 1, sizeof(*s->best));
	for (i = 0; i < s->n; i++)
		s->len[pno[i]]++;
	for (j = 0; j < s->np; j++) {
		s->chain[j] = mv_xmalloc((s->len[j] + 1) * sizeof(uint32_t));
		s->len[j] = 0;
	}
	for (i = 0; i < s->n; i++)
		s->chain[pno[i]][s->len[pno[i]]++] = (uint32_t)i;
	free(pid);
	free(pno);
}

/*
 * The next choice after code tried: codes are 2 * inv + 2 to place the
 * next op of a process (the earliest invoked first: a history that is
 * nearly linearizable is then ordered at once), 2 * inv + 3 to pass over
 * an info one.  0 when there is none; *p gets the process.
 */
static uint64_t
next_choice(const struct sc *s, uint64_t tried, size_t *p)
{
	uint64_t best = 0, c;
	size_t j;

	for (j = 0; j < s->np; j++) {
		const struct mv_kop *o;

		if (s->cur[j] == s->len[j])
			continue;
		o = &s->op[s->chain[j][s->cur[j]]];
		c = 2 * (uint64_t)o->inv + 2;
		if (c <= tried)
			c++;
		if (c <= tried || (c & 1 && o->status == MV_OK))
			continue;
		if (best == 0 || c < best) {
			best = c;
			*p = j;
		}
	}
	return best;
}

/*
 * An op that is legal now and leaves its key's state as it is (a read,
 * mostly) can be placed now and need not be tried anywhere else: in any
 * order that places it later, moving it here changes no state and keeps
 * every process's order, since it is its process's next op.  Returns its
 * choice code, with *p its process, or 0.
 */
static uint64_t
free_move(struct sc *s, size_t *p)
{
	size_t j;
	uint64_t ns;

	for (j = 0; j < s->np; j++) {
		uint32_t i;

		if (s->cur[j] == s->len[j])
			continue;
		i = s->chain[j][s->cur[j]];
		if (mv_model_step(
		        s->m, s->st[s->key[i]], &s->op[i].mop, GID(s, i), &ns)
		    && ns == s->st[s->key[i]]) {
			*p = j;
			return 2 * (uint64_t)s->op[i].inv + 2;
		}
	}
	return 0;
}

/*
 * The search; returns 1 valid, 0 invalid, -1 budget (x->budget set), -2
 * when s->cap steps were taken.
 */
static int
search(struct sc *s)
{
	uint64_t h1 = 0, h2 = 0, c, ns;
	size_t sp = 0, placed = 0, p = 0, k;
	uint32_t i;
	int r;

	for (k = 0; k < s->nkeys; k++) {
		h1 ^= kh(k, s->st[k], 0);
		h2 ^= kh(k, s->st[k], 1);
	}
	s->fr[0].tried = 0;
	for (;;) {
		if (placed == s->n)
			return 1;
		if ((++s->steps & 4095) == 0 && mv_xexpired(s->x))
			return -1;
		if (s->steps == s->cap)
			return -2;
		if (s->fr[sp].tried == 0 && (c = free_move(s, &p)) != 0)
			s->fr[sp].tried = UINT64_MAX - 1; /* the only choice */
		else if ((c = next_choice(s, s->fr[sp].tried, &p)) != 0)
			s->fr[sp].tried = c;
		if (c == 0) {
			struct frame *f;

			if (sp == 0)
				return 0;
			f = &s->fr[--sp];
			i = f->op;
			k = s->key[i];
			h1 ^=
			    s->z[2 * i] ^ kh(k, s->st[k], 0) ^ kh(k, f->old, 0);
			h2 ^= s->z[2 * i + 1] ^ kh(k, s->st[k], 1)
			    ^ kh(k, f->old, 1);
			s->st[k] = f->old;
			s->cur[f->proc]--;
			placed--;
			continue;
		}
		i = s->chain[p][s->cur[p]];
		k = s->key[i];
		ns = s->st[k];
		if (!(c & 1)
		    && !mv_model_step(
		        s->m, s->st[k], &s->op[i].mop, GID(s, i), &ns))
			continue;
		r = memo_add(s,
		    h1 ^ s->z[2 * i] ^ kh(k, s->st[k], 0) ^ kh(k, ns, 0),
		    h2 ^ s->z[2 * i + 1] ^ kh(k, s->st[k], 1) ^ kh(k, ns, 1));
		if (r < 0) {
			s->x->budget = "memory";
			return -1;
		}
		if (r == 0)
			continue;
		h1 ^= s->z[2 * i] ^ kh(k, s->st[k], 0) ^ kh(k, ns, 0);
		h2 ^= s->z[2 * i + 1] ^ kh(k, s->st[k], 1) ^ kh(k, ns, 1);
		s->fr[sp].op = i;
		s->fr[sp].proc = (uint32_t)p;
		s->fr[sp].skipped = (int)(c & 1);
		s->fr[sp].old = s->st[k];
		s->st[k] = ns;
		s->cur[p]++;
		placed++;
		s->fr[++sp].tried = 0;
		if (placed > s->depth) {
			s->depth = placed;
			memcpy(s->best, s->cur, s->np * sizeof(*s->best));
		}
	}
}

/* The index in x->op of the op invoked at event position inv. */
static size_t
xop_of(const struct mv_xctx *x, size_t inv)
{
	size_t lo = 0, hi = x->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (x->op[mid].inv < inv)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Names the ops that could not come next at the deepest configuration. */
static void
explain(struct sc *s)
{
	struct mv_xctx *x = s->x;
	size_t j, shown = 0;

	mv_xfound(x, "nonsequential");
	x->prefix = s->depth;
	if (s->gid)
		mv_buf_addf(&x->why, "on key %s alone, ",
		    x->op[xop_of(x, s->op[0].inv)].key);
	mv_buf_addf(&x->why,
	    "no order of the operations that keeps each process's own "
	    "order is legal for the model: at most %zu of %zu fit, and then "
	    "none of ",
	    s->depth, s->n);
	for (j = 0; j < s->np; j++) {
		size_t xi;

		if (s->best[j] == s->len[j])
			continue;
		xi = xop_of(x, s->op[s->chain[j][s->best[j]]].inv);
		if (shown++ < 8) {
			mv_xaddop(x, xi);
			mv_buf_adds(&x->why, shown > 1 ? ", " : "");
			mv_xdescribe(x, xi, &x->why);
		}
	}
	if (shown > 8)
		mv_buf_addf(&x->why, " and %zu more", shown - 8);
	mv_buf_adds(&x->why, " can come next");
}

static void
sc_release(struct sc *s)
{
	size_t j;

	for (j = 0; s->chain && j < s->np; j++)
		free(s->chain[j]);
	free(s->chain);
	free(s->len);
	free(s->cur);
	free(s->best);
	free(s->st);
	free(s->z);
	free(s->memo);
	free(s->fr);
}

/*
 * A linearizable history is sequentially consistent (info ops may take
 * effect later, or never, under both), and linearizability is decided
 * per key, with real time pruning the search: try it first.  Returns 1
 * when that settles it, 0 to search, -1 on malformed input.
 */
static int
linearizable(struct mv_xctx *x)
{
	struct mv_check_opts lo = *x->o;
	struct mv_verdict v;
	int rc;

	lo.check = NULL;
	if (x->deadline) /* what is left of the time limit */
		lo.time_limit_ns = x->deadline - mv_now_ns() > 0
		    ? x->deadline - mv_now_ns()
		    : 1;
	mv_verdict_init(&v);
	rc = mv_check(x->h, x->name, &lo, &v, x->e);
	if (rc == 0 && v.status == MV_EXIT_OK) {
		x->model = mv_model_name(mv_model_lookup(v.model));
		mv_buf_adds(&x->extra, ",\"linearizable\":true");
		rc = 1;
	}
	mv_verdict_release(&v);
	return rc;
}

/*
 * Sequential consistency implies causal convergence and causal memory,
 * and their bad patterns take polynomial time where the search may not:
 * on a read/write history with unique values, a causal anomaly settles
 * it.  Returns 1 with that finding in x, else 0 (whatever went wrong in
 * the causal checks, such as a value written twice, only means they do
 * not apply).
 */
static int
causal_first(struct mv_xctx *x)
{
	static const char *const which[] = {"ccv", "cm"};
	struct mv_xctx y;
	struct mv_err e;
	size_t i;
	int found = 0;

	for (i = 0; i < 2 && !found; i++) {
		y = *x;
		y.e = &e;
		y.anomaly = y.budget = NULL;
		y.fop = NULL;
		y.nfop = y.capfop = 0;
		mv_buf_init(&y.why);
		mv_buf_init(&y.extra);
		if (mv_causal_check(&y, which[i]) == 0 && y.anomaly) {
			found = 1;
			mv_xfound(x, y.anomaly);
			for (size_t j = 0; j < y.nfop; j++)
				mv_xaddop(x, y.fop[j]);
			mv_buf_addf(&x->why,
			    "not even causally consistent (%s): ", which[i]);
			mv_buf_add(&x->why, y.why.p, y.why.len);
		}
		free(y.fop);
		mv_buf_release(&y.why);
		mv_buf_release(&y.extra);
	}
	return found;
}

/*
 * Searches ops[0..n) (keys key[], model numbers gid[], NULL for 0..n-1)
 * for at most cap steps (0: no cap).  Returns 1 invalid (the finding in
 * x), 0 valid or capped, -1 over budget.
 */
static int
run_search(struct mv_xctx *x, struct mv_model *m, const struct mv_kop *op,
    const uint32_t *key, const uint32_t *gid, size_t n, size_t *steps,
    size_t cap)
{
	struct sc s;
	uint64_t seed = 0x5eed, init = mv_model_init(m);
	size_t i;
	int r;

	memset(&s, 0, sizeof(s));
	s.x = x;
	s.m = m;
	s.op = op;
	s.key = key;
	s.gid = gid;
	s.n = n;
	s.cap = cap;
	for (i = 0; i < n; i++)
		if (key[i] + 1 > s.nkeys)
			s.nkeys = key[i] + 1;
	s.st = mv_xmalloc((s.nkeys + 1) * sizeof(*s.st));
	for (i = 0; i < s.nkeys; i++)
		s.st[i] = init;
	s.z = mv_xmalloc((2 * n + 1) * sizeof(*s.z));
	for (i = 0; i < 2 * n; i++)
		s.z[i] = splitmix(&seed);
	s.fr = mv_xmalloc((n + 1) * sizeof(*s.fr));
	build_chains(&s);
	r = search(&s);
	if (r == 0)
		explain(&s);
	*steps += s.steps;
	sc_release(&s);
	return r == -1 ? -1 : r == 0;
}

/*
 * Each key's ops alone must be sequentially consistent (an order of the
 * whole, cut down to one key, is one for that key), and a key alone is a
 * far smaller search: a cheap way to an anomaly, and a narrow one to
 * report.  A key that takes long is left to the search of the whole.
 * Returns as run_search.
 */
static int
per_key(struct mv_xctx *x, struct mv_model *m, const struct mv_kop *op,
    const uint32_t *key, size_t n, size_t *steps)
{
	size_t nk = 0, i, k, *start, *cnt;
	uint32_t *order, *skey;
	struct mv_kop *sop;
	int r = 0;

	for (i = 0; i < n; i++)
		if (key[i] + 1 > nk)
			nk = key[i] + 1;
	if (nk < 2)
		return 0;
	start = mv_xcalloc(nk + 1, sizeof(*start));
	cnt = mv_xcalloc(nk + 1, sizeof(*cnt));
	order = mv_xmalloc((n + 1) * sizeof(*order));
	sop = mv_xmalloc((n + 1) * sizeof(*sop));
	skey = mv_xmalloc((n + 1) * sizeof(*skey));
	for (i = 0; i < n; i++)
		start[key[i] + 1]++;
	for (k = 1; k <= nk; k++)
		start[k] += start[k - 1];
	for (i = 0; i < n; i++)
		order[start[key[i]] + cnt[key[i]]++] = (uint32_t)i;
	for (k = 0; k < nk && r == 0; k++) {
		size_t a = start[k], b = k + 1 < nk ? start[k + 1] : n;

		for (i = a; i < b; i++) {
			sop[i - a] = op[order[i]];
			skey[i - a] = 0;
		}
		if (b > a)
			r = run_search(
			    x, m, sop, skey, order + a, b - a, steps, PER_KEY);
	}
	free(start);
	free(cnt);
	free(order);
	free(sop);
	free(skey);
	return r;
}

int
mv_seqcon_check(struct mv_xctx *x)
{
	struct mv_model *m = NULL;
	struct mv_kop *op = NULL;
	uint32_t *key = NULL;
	size_t n = 0, steps = 0;
	int kind, r;

	if ((r = linearizable(x)) != 0)
		return r < 0 ? -1 : 0;
	if (mv_check_mops(x->h, x->name, x->o, &m, &kind, &op, &key, &n, x->e)
	    < 0) {
		free(op);
		free(key);
		mv_model_free(m);
		return -1;
	}
	x->model = mv_model_name(kind);
	r = (kind == MV_MODEL_REGISTER || kind == MV_MODEL_CAS_REGISTER
	        || kind == MV_MODEL_KV)
	    && causal_first(x);
	if (r == 0)
		r = per_key(x, m, op, key, n, &steps);
	if (r == 0)
		run_search(x, m, op, key, NULL, n, &steps, 0);
	mv_buf_addf(&x->extra, ",\"steps\":%zu", steps);
	if (x->anomaly && strcmp(x->anomaly, "nonsequential") == 0)
		mv_buf_addf(&x->extra, ",\"prefix\":%zu", x->prefix);
	free(op);
	free(key);
	mv_model_free(m);
	return 0;
}
