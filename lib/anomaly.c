/*
 * anomaly.c: names what is wrong with one key's history.
 *
 * Two kinds of code live here.  Pre-checks (sets, counters) look for a
 * pattern that by itself proves the history non-linearizable, such as a
 * read that began after an add completed yet lacks its element; they are
 * linear or n log n, and they name the anomaly.  (Streams have theirs in
 * estore.c, over the whole history.)  Classification runs only after WGL
 * proved a key invalid, so its patterns need not be proofs: they choose
 * the most telling name.
 */
#include <stdlib.h>
#include <string.h>

#include "anomaly.h"

struct mv_anomaly_scratch {
	uint32_t *stamp, *x, *y, *z, *seen;
	size_t cap;
	uint32_t serial;
};

struct mv_anomaly_scratch *
mv_anomaly_scratch_new(void)
{
	return mv_xcalloc(1, sizeof(struct mv_anomaly_scratch));
}

void
mv_anomaly_scratch_free(struct mv_anomaly_scratch *s)
{
	if (s == NULL)
		return;
	free(s->stamp);
	free(s->x);
	free(s->y);
	free(s->z);
	free(s->seen);
	free(s);
}

static uint32_t *
grow0(uint32_t *p, size_t old, size_t n)
{
	p = mv_xrealloc(p, n * sizeof(*p));
	memset(p + old, 0, (n - old) * sizeof(*p));
	return p;
}

/* Makes the per-atom arrays cover every atom interned so far. */
static struct mv_anomaly_scratch *
scratch(struct mv_kctx *k)
{
	struct mv_anomaly_scratch *s = k->scr;
	size_t n = mv_model_natoms(k->m) + 1;

	if (n > s->cap) {
		n = n * 2;
		s->stamp = grow0(s->stamp, s->cap, n);
		s->x = grow0(s->x, s->cap, n);
		s->y = grow0(s->y, s->cap, n);
		s->z = grow0(s->z, s->cap, n);
		s->seen = grow0(s->seen, s->cap, n);
		s->cap = n;
	}
	return s;
}

static const struct mv_event *
ev_of(const struct mv_kctx *k, size_t i)
{
	const struct mv_kop *o = &k->op[i];

	return &k->h->ev[o->ret != MV_NOPOS ? o->ret : o->inv];
}

const char *
mv_anomaly_raw_value(const struct mv_kctx *k, size_t i)
{
	const struct mv_kop *o = &k->op[i];
	const char *r = o->ret != MV_NOPOS ? k->h->ev[o->ret].value : NULL;

	/* What a read or dequeue returned, what a transaction's reads saw. */
	if (o->mop.f == MV_MOP_READ)
		return r;
	if ((o->mop.f == MV_MOP_DEQUEUE || o->mop.f == MV_MOP_TXN) && r)
		return r;
	return k->h->ev[o->inv].value;
}

const char *
mv_anomaly_value(const struct mv_kctx *k, size_t i)
{
	const char *v = mv_anomaly_raw_value(k, i);

	if (v == NULL)
		return k->op[i].mop.f == MV_MOP_READ ? "unknown" : "null";
	return v;
}

void
mv_anomaly_describe(const struct mv_kctx *k, size_t i, struct mv_buf *b)
{
	const struct mv_event *inv = &k->h->ev[k->op[i].inv];

	mv_buf_addf(b, "%s by process %lld (line %zu)", inv->f,
	    (long long)inv->process, ev_of(k, i)->line);
}

static void
found(struct mv_finding *f, const char *anomaly, size_t a, size_t b)
{
	f->anomaly = anomaly;
	f->nop = 0;
	if (a != MV_NOPOS)
		f->op[f->nop++] = a;
	if (b != MV_NOPOS)
		f->op[f->nop++] = b;
	mv_buf_reset(&f->why);
}

/* "read by process 3 (line 14) returned 5" */
static void
describe_read(const struct mv_kctx *k, size_t r, struct mv_buf *b)
{
	mv_anomaly_describe(k, r, b);
	mv_buf_addf(b, " returned %s", mv_anomaly_value(k, r));
}

static const uint32_t *
atoms_of(const struct mv_kctx *k, int64_t blob, size_t *n)
{
	const uint32_t *p = mv_model_blob(k->m, (uint32_t)blob, n);

	*n /= 4;
	return p;
}

static int
is_ok(const struct mv_kctx *k, size_t i, int f)
{
	return k->op[i].mop.f == f && k->op[i].status == MV_OK;
}

/* Sort keys of op indexes, so that qsort needs no global context. */
struct ksort {
	int64_t k1;
	uint64_t k2;
	size_t i;
};

static int
cmp_ksort(const void *a, const void *b)
{
	const struct ksort *x = a, *y = b;

	if (x->k1 != y->k1)
		return x->k1 < y->k1 ? -1 : 1;
	return x->k2 < y->k2 ? -1 : x->k2 > y->k2;
}

enum { BY_EXPECT, BY_FROM, BY_RET };

/* Sorts op indexes ix[0..m) by expectation, cas from, or completion. */
static void
sort_ops(const struct mv_kctx *k, size_t *ix, size_t m, int by)
{
	struct ksort *t = mv_xmalloc((m + 1) * sizeof(*t));
	size_t i;

	for (i = 0; i < m; i++) {
		const struct mv_kop *o = &k->op[ix[i]];

		t[i].i = ix[i];
		t[i].k1 = by == BY_EXPECT ? o->mop.b
		    : by == BY_FROM       ? o->mop.a
		                          : 0;
		t[i].k2 = by == BY_RET ? o->ret : o->inv;
	}
	qsort(t, m, sizeof(*t), cmp_ksort);
	for (i = 0; i < m; i++)
		ix[i] = t[i].i;
	free(t);
}

static int
has_sorted(const struct mv_kctx *k, size_t r, uint32_t e)
{
	size_t n, lo = 0, hi;
	const uint32_t *v = atoms_of(k, k->op[r].mop.a, &n);

	hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (v[mid] < e)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo] == e;
}

/* The index in rd[0..nr) of the first read invoked after pos. */
static size_t
first_after(const struct mv_kctx *k, const size_t *rd, size_t nr, size_t pos)
{
	size_t lo = 0, hi = nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (k->op[rd[mid]].inv <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Set: a read shows exactly the elements added; an ok add stays. */
static int
set_missing(struct mv_kctx *k, struct mv_anomaly_scratch *s, const size_t *rd,
    size_t nr, struct mv_finding *f)
{
	size_t i, j, j2;

	for (i = 0; i < k->n; i++) {
		uint32_t e = (uint32_t)k->op[i].mop.a;

		if (!is_ok(k, i, MV_MOP_ADD) || s->x[e] != i
		    || s->z[e] >= nr - s->y[e])
			continue;
		for (j = s->y[e]; j < nr && has_sorted(k, rd[j], e); j++)
			;
		if (j == nr)
			continue;
		for (j2 = j + 1; j2 < nr && !has_sorted(k, rd[j2], e); j2++)
			;
		found(f, j2 < nr ? "stale-read" : "lost-write", i, rd[j]);
		mv_anomaly_describe(k, rd[j], &f->why);
		mv_buf_addf(&f->why, " began after %s of %s",
		    k->h->ev[k->op[i].inv].f, mv_anomaly_value(k, i));
		mv_buf_addf(&f->why, " by process %lld (line %zu)",
		    (long long)k->h->ev[k->op[i].inv].process,
		    ev_of(k, i)->line);
		mv_buf_adds(&f->why,
		    j2 < nr ? " completed but lacks it"
		            : " completed but lacks it, as "
		              "does every later read");
		return 1;
	}
	return 0;
}

static int
set_pre(struct mv_kctx *k, struct mv_finding *f)
{
	struct mv_anomaly_scratch *s = scratch(k);
	size_t *rd = mv_xmalloc((k->n + 1) * sizeof(*rd)), nr = 0, i, j, p, n;
	int hit = 0;

	s->serial++;
	for (i = 0; i < k->n; i++) {
		uint32_t e = (uint32_t)k->op[i].mop.a;

		if (is_ok(k, i, MV_MOP_READ))
			rd[nr++] = i;
		if (k->op[i].mop.f != MV_MOP_ADD)
			continue;
		s->seen[e] = s->serial;
		if (k->op[i].status != MV_OK)
			continue;
		if (s->stamp[e] != k->stamp
		    || k->op[i].ret < k->op[s->x[e]].ret) {
			s->stamp[e] = k->stamp;
			s->x[e] = (uint32_t)i;
		}
	}
	for (i = 0; i < k->n; i++)
		if (is_ok(k, i, MV_MOP_ADD) && s->x[k->op[i].mop.a] == i) {
			s->y[k->op[i].mop.a] =
			    (uint32_t)first_after(k, rd, nr, k->op[i].ret);
			s->z[k->op[i].mop.a] = 0;
		}
	for (j = 0; j < nr && !hit; j++) {
		const uint32_t *ev = atoms_of(k, k->op[rd[j]].mop.a, &n);

		for (p = 0; p < n; p++) {
			if (s->seen[ev[p]] != s->serial) {
				found(f, "nonlinearizable", rd[j], MV_NOPOS);
				describe_read(k, rd[j], &f->why);
				mv_buf_addf(&f->why,
				    " holding %s, which nothing added",
				    mv_model_atom_text(k->m, ev[p]));
				hit = 1;
				break;
			}
			if (s->stamp[ev[p]] == k->stamp && j >= s->y[ev[p]])
				s->z[ev[p]]++;
		}
	}
	if (!hit)
		hit = set_missing(k, s, rd, nr, f);
	free(rd);
	return hit;
}

/* Ok adds invoked before read i completed: ops[0..lo), summed. */
static int64_t
counter_upto(const struct mv_kctx *k, const int64_t *pre, size_t i)
{
	size_t lo, hi;

	for (lo = i, hi = k->n; lo < hi;) {
		size_t mid = (lo + hi) / 2;

		if (k->op[mid].inv < k->op[i].ret)
			lo = mid + 1;
		else
			hi = mid;
	}
	return pre[lo];
}

/*
 * A counter read r returned less than the adds that completed before it
 * began.  If a later read saw every ok add begun before it completed, the
 * sum was whole again and r was stale.  Otherwise some add's effect is
 * gone for good: when a read r2 that no such whole read follows returned
 * less than a read r1 that completed before r2 began, the counter went
 * down, so an add that had been applied (r1 saw it) was overwritten
 * (lost-update; *r1p and *r2p name the pair); else an acknowledged add
 * never counted (lost-write).
 */
static const char *
counter_kind(const struct mv_kctx *k, size_t r, size_t *r1p, size_t *r2p)
{
	int64_t *pre = mv_xmalloc((k->n + 1) * sizeof(*pre));
	size_t *rd = mv_xmalloc((k->n + 1) * sizeof(*rd)), nr = 0;
	size_t i, p, top = MV_NOPOS, whole = 0;
	const char *kind = NULL;

	*r1p = *r2p = MV_NOPOS;
	pre[0] = 0;
	for (i = 0; i < k->n; i++)
		pre[i + 1] =
		    pre[i] + (is_ok(k, i, MV_MOP_ADD) ? k->op[i].mop.a : 0);
	/* whole: 1 + the latest invocation of a read that saw it all. */
	for (i = 0; i < k->n; i++)
		if (is_ok(k, i, MV_MOP_READ)) {
			rd[nr++] = i;
			if (k->op[i].mop.a >= counter_upto(k, pre, i)
			    && k->op[i].inv + 1 > whole)
				whole = k->op[i].inv + 1;
		}
	if (whole > k->op[r].ret + 1)
		kind = "stale-read";
	/* The earliest read below one completed before it began, with no
	 * whole read after it; top: the highest read completed so far. */
	if (kind == NULL) {
		size_t *byret = mv_xmalloc((nr + 1) * sizeof(*byret));

		memcpy(byret, rd, nr * sizeof(*rd));
		sort_ops(k, byret, nr, BY_RET);
		for (i = 0, p = 0; i < nr && kind == NULL; i++) {
			size_t b = rd[i];

			for (; p < nr && k->op[byret[p]].ret < k->op[b].inv;
			     p++)
				if (top == MV_NOPOS
				    || k->op[byret[p]].mop.a > k->op[top].mop.a)
					top = byret[p];
			if (top == MV_NOPOS
			    || k->op[b].mop.a >= k->op[top].mop.a
			    || whole > k->op[b].ret + 1)
				continue;
			kind = "lost-update";
			*r1p = top;
			*r2p = b;
		}
		free(byret);
	}
	free(pre);
	free(rd);
	return kind ? kind : "lost-write";
}

/*
 * Counter with non-negative adds: a read returns at least the adds that
 * completed before it began, at most those begun before it completed.
 */
static int
counter_pre(struct mv_kctx *k, struct mv_finding *f)
{
	size_t *ok = mv_xmalloc((k->n + 1) * sizeof(*ok)), nok = 0, i, j, lo_n;
	int64_t *lo = mv_xmalloc((k->n + 1) * sizeof(*lo)), hi, all = 0;
	int hit = 0;

	for (i = 0; i < k->n; i++)
		if (k->op[i].mop.f == MV_MOP_ADD) {
			if (k->op[i].mop.a < 0 || k->op[i].mop.a > (1LL << 40))
				goto out;
			if (k->op[i].status == MV_OK)
				ok[nok++] = i;
		}
	sort_ops(k, ok, nok, BY_RET);
	lo[0] = 0;
	for (i = 0; i < nok; i++)
		lo[i + 1] = lo[i] + k->op[ok[i]].mop.a;
	for (i = 0, j = 0; i < k->n && !hit; i++) {
		int64_t v = k->op[i].mop.a;
		size_t a, b;

		if (k->op[i].mop.f == MV_MOP_ADD) {
			all += v;
			continue;
		}
		if (!is_ok(k, i, MV_MOP_READ))
			continue;
		for (a = 0, b = nok; a < b;) {
			size_t mid = (a + b) / 2;

			if (k->op[ok[mid]].ret < k->op[i].inv)
				a = mid + 1;
			else
				b = mid;
		}
		lo_n = a;
		/* Adds invoked before the read completed: ops are in
		 * invocation order, so all later adds begin after i. */
		hi = all;
		for (j = i + 1; j < k->n && k->op[j].inv < k->op[i].ret; j++)
			if (k->op[j].mop.f == MV_MOP_ADD)
				hi += k->op[j].mop.a;
		if (v < lo[lo_n]) {
			size_t r1, r2;
			const char *kind = counter_kind(k, i, &r1, &r2);

			if (r1 != MV_NOPOS) {
				found(f, kind, r1, r2);
				describe_read(k, r2, &f->why);
				mv_buf_adds(&f->why, " after ");
				describe_read(k, r1, &f->why);
				mv_buf_adds(&f->why,
				    " completed, and no later read saw every "
				    "add: adds are not negative, so an applied "
				    "add was overwritten");
				hit = 1;
				break;
			}
			if (lo_n == 0) {
				/* Below the start, with no add to blame. */
				found(f, "nonlinearizable", i, MV_NOPOS);
				describe_read(k, i, &f->why);
				mv_buf_adds(&f->why,
				    " but the counter starts at 0 and adds are "
				    "not negative");
				hit = 1;
				break;
			}
			found(f, kind, ok[lo_n - 1], i);
			describe_read(k, i, &f->why);
			mv_buf_addf(&f->why,
			    " but adds completed before it total %lld (the "
			    "last: ",
			    (long long)lo[lo_n]);
			mv_anomaly_describe(k, ok[lo_n - 1], &f->why);
			mv_buf_addc(&f->why, ')');
			hit = 1;
		} else if (v > hi) {
			found(f, "nonlinearizable", i, MV_NOPOS);
			describe_read(k, i, &f->why);
			mv_buf_addf(&f->why,
			    " but adds begun before it completed total %lld",
			    (long long)hi);
			hit = 1;
		}
	}
out:
	free(ok);
	free(lo);
	return hit;
}

int
mv_anomaly_precheck(struct mv_kctx *k, struct mv_finding *f)
{
	switch (mv_model_kind(k->m)) {
	/* Streams: estore.c, over the whole history, before any of this. */
	case MV_MODEL_SET: return set_pre(k, f);
	case MV_MODEL_COUNTER: return counter_pre(k, f);
	default: return 0;
	}
}

/* The value op i leaves in a register-like object, or -1 if none. */
static int
written(const struct mv_kctx *k, size_t i, int64_t *x)
{
	const struct mv_mop *o = &k->op[i].mop;

	if (o->f == MV_MOP_WRITE)
		*x = o->a;
	else if (o->f == MV_MOP_CAS)
		*x = o->b;
	else
		return -1;
	return 0;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* For each value written by an ok op: its earliest completion. */
struct wv {
	int64_t v;
	size_t ret, who;
};

static int
cmp_wv(const void *a, const void *b)
{
	const struct wv *x = a, *y = b;

	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return x->ret < y->ret ? -1 : x->ret > y->ret;
}

static int
cmp_wv_value(const void *a, const void *b)
{
	const struct wv *x = a, *y = b;

	return x->v < y->v ? -1 : x->v > y->v;
}

/* Values some ok read returned or some ok cas found, sorted; and wv. */
struct obs {
	int64_t *v;
	size_t n;
	struct wv *w;
	size_t nw;
};

static int
observed(const struct obs *o, int64_t x)
{
	return bsearch(&x, o->v, o->n, sizeof(*o->v), cmp_i64) != NULL;
}

/* Earliest completion of an ok op writing x (0 for the initial null). */
static size_t
first_written(const struct obs *o, int64_t x, size_t *who)
{
	struct wv key, *w;

	*who = MV_NOPOS;
	if (x == 0)
		return 0;
	key.v = x;
	key.ret = key.who = 0;
	w = bsearch(&key, o->w, o->nw, sizeof(*o->w), cmp_wv_value);
	if (w == NULL)
		return MV_NOPOS;
	*who = w->who;
	return w->ret;
}

/*
 * Read r returned v although a write w2 of another, observed value began
 * after v's write completed and completed before r began.
 */
static int
reg_stale(
    struct mv_kctx *k, const struct obs *o, size_t r, struct mv_finding *f)
{
	int64_t v = k->op[r].mop.a, x;
	size_t w1, t1 = first_written(o, v, &w1), i, w2 = MV_NOPOS;

	if (!is_ok(k, r, MV_MOP_READ) || t1 == MV_NOPOS)
		return 0;
	for (i = 0; i < k->n; i++) {
		if (k->op[i].status != MV_OK || written(k, i, &x) != 0)
			continue;
		if (x == v || !observed(o, x) || k->op[i].ret >= k->op[r].inv)
			continue;
		if (v != 0 && k->op[i].inv <= t1)
			continue;
		if (w2 == MV_NOPOS || k->op[i].ret > k->op[w2].ret)
			w2 = i;
	}
	if (w2 == MV_NOPOS)
		return 0;
	found(f, "stale-read", w1, w2);
	f->op[f->nop++] = r;
	describe_read(k, r, &f->why);
	mv_buf_addf(&f->why, " after %s of %s (line %zu) completed",
	    k->h->ev[k->op[w2].inv].f, mv_anomaly_value(k, w2),
	    ev_of(k, w2)->line);
	return 1;
}

/*
 * Two reads in real-time order, the first returning x, the second y,
 * where every write of y completed before the first read began: the
 * register went from y to x and back with nobody writing y again, so the
 * second read is stale.  The earliest such second read.
 */
/* Per written value: the last completion of its writes, or NOPOS when
 * one of them may take effect at any time (info). */
struct vlast {
	int64_t v;
	size_t last;
};

static int
cmp_vlast(const void *a, const void *b)
{
	const struct vlast *x = a, *y = b;

	return x->v < y->v ? -1 : x->v > y->v;
}

static size_t
vlast_build(const struct mv_kctx *k, struct vlast *t)
{
	size_t i, j, n = 0;
	int64_t x;

	for (i = 0; i < k->n; i++)
		if (written(k, i, &x) == 0) {
			t[n].v = x;
			t[n++].last =
			    k->op[i].status == MV_OK ? k->op[i].ret : MV_NOPOS;
		}
	qsort(t, n, sizeof(*t), cmp_vlast);
	for (i = 0, j = 0; i < n; i++) {
		if (j > 0 && t[j - 1].v == t[i].v) {
			if (t[i].last == MV_NOPOS || t[j - 1].last == MV_NOPOS)
				t[j - 1].last = MV_NOPOS;
			else if (t[i].last > t[j - 1].last)
				t[j - 1].last = t[i].last;
			continue;
		}
		t[j++] = t[i];
	}
	return j;
}

static const struct vlast *
vlast_find(const struct vlast *t, size_t n, int64_t v)
{
	struct vlast key;

	key.v = v;
	key.last = 0;
	return bsearch(&key, t, n, sizeof(*t), cmp_vlast);
}

static int
reg_inversion(struct mv_kctx *k, struct mv_finding *f)
{
	size_t *rd = mv_xmalloc((k->n + 1) * sizeof(*rd)), *byret, nr = 0;
	size_t i, p = 0, top[2] = {MV_NOPOS, MV_NOPOS}, a, nv;
	struct vlast *vt = mv_xmalloc((k->n + 1) * sizeof(*vt));
	const struct vlast *wy;
	int hit = 0;

	nv = vlast_build(k, vt);
	for (i = 0; i < k->n; i++)
		if (is_ok(k, i, MV_MOP_READ))
			rd[nr++] = i;
	byret = mv_xmalloc((nr + 1) * sizeof(*byret));
	memcpy(byret, rd, nr * sizeof(*rd));
	sort_ops(k, byret, nr, BY_RET);
	for (i = 0; i < nr && !hit; i++) {
		size_t b = rd[i], last;
		int64_t y = k->op[b].mop.a;

		/* top[]: the latest-invoked completed reads, of two values. */
		for (; p < nr && k->op[byret[p]].ret < k->op[b].inv; p++) {
			size_t c = byret[p];

			if (top[0] == MV_NOPOS
			    || k->op[c].inv > k->op[top[0]].inv) {
				if (top[0] != MV_NOPOS
				    && k->op[top[0]].mop.a != k->op[c].mop.a)
					top[1] = top[0];
				top[0] = c;
			} else if (k->op[c].mop.a != k->op[top[0]].mop.a
			    && (top[1] == MV_NOPOS
			        || k->op[c].inv > k->op[top[1]].inv))
				top[1] = c;
		}
		a = top[0] != MV_NOPOS && k->op[top[0]].mop.a != y ? top[0]
		                                                   : top[1];
		if (a == MV_NOPOS)
			continue;
		/* Both values must have been written (y may be the initial
		 * null): a read of a value nobody wrote is its own fault. */
		wy = vlast_find(vt, nv, y);
		if ((wy == NULL && y != 0)
		    || vlast_find(vt, nv, k->op[a].mop.a) == NULL)
			continue;
		last = wy ? wy->last : 0;
		if (last == MV_NOPOS || last >= k->op[a].inv)
			continue;
		found(f, "stale-read", a, b);
		describe_read(k, b, &f->why);
		mv_buf_adds(&f->why, " after ");
		describe_read(k, a, &f->why);
		mv_buf_addf(&f->why,
		    ", though every write of %s completed before that one "
		    "began",
		    mv_anomaly_value(k, b));
		hit = 1;
	}
	free(rd);
	free(byret);
	free(vt);
	return hit;
}

/*
 * An ok write nobody observed, while a read (or a cas, which reads its
 * from value) begun after it saw an older value; the earliest such read.
 */
static int
reg_lost(struct mv_kctx *k, const struct obs *o, struct mv_finding *f)
{
	size_t i, j, who, bi = MV_NOPOS, bj = MV_NOPOS;
	int64_t x, y;

	for (i = 0; i < k->n; i++) {
		if (k->op[i].status != MV_OK || written(k, i, &x) != 0
		    || observed(o, x))
			continue;
		for (j = i + 1; j < k->n; j++) {
			if (bj != MV_NOPOS && k->op[j].inv >= k->op[bj].inv)
				break;
			if ((!is_ok(k, j, MV_MOP_READ)
			        && !is_ok(k, j, MV_MOP_CAS))
			    || k->op[j].inv < k->op[i].ret)
				continue;
			y = k->op[j].mop.a;
			if (y == x || first_written(o, y, &who) >= k->op[i].inv)
				continue;
			bi = i;
			bj = j;
			break;
		}
	}
	if (bi == MV_NOPOS)
		return 0;
	found(f, "lost-write", bi, bj);
	mv_anomaly_describe(k, bi, &f->why);
	mv_buf_addf(&f->why, " of %s completed but no read returned it; ",
	    mv_anomaly_value(k, bi));
	if (k->op[bj].mop.f == MV_MOP_READ)
		describe_read(k, bj, &f->why);
	else {
		mv_anomaly_describe(k, bj, &f->why);
		mv_buf_addf(&f->why, " of %s found %s", mv_anomaly_value(k, bj),
		    mv_model_atom_text(k->m, (uint32_t)k->op[bj].mop.a));
	}
	mv_buf_adds(&f->why, " after it");
	return 1;
}

/* Two ok cas from one value, when no other op wrote that value again. */
static int
cas_lu(struct mv_kctx *k, const struct obs *o, struct mv_finding *f)
{
	size_t *ix = mv_xmalloc((k->n + 1) * sizeof(*ix)), m = 0, i, j, w;
	size_t best = MV_NOPOS, bp = 0;
	int64_t x;
	int hit = 0;

	for (i = 0; i < k->n; i++)
		if (is_ok(k, i, MV_MOP_CAS))
			ix[m++] = i;
	sort_ops(k, ix, m, BY_FROM);
	for (i = 0; i + 1 < m; i++) {
		int64_t from = k->op[ix[i]].mop.a;

		if (from != k->op[ix[i + 1]].mop.a)
			continue;
		if (best != MV_NOPOS && ix[i + 1] >= best)
			continue;
		for (w = 0, j = 0; j < k->n; j++)
			if (written(k, j, &x) == 0 && x == from)
				w++;
		if (w > 1)
			continue;
		best = ix[i + 1];
		bp = i;
	}
	if (best != MV_NOPOS) {
		size_t a, b;

		i = bp;
		hit = 1;
		a = k->op[ix[i]].ret < k->op[ix[i + 1]].ret ? ix[i] : ix[i + 1];
		b = a == ix[i] ? ix[i + 1] : ix[i];
		/* The first acknowledged, nobody saw its value, and the second
		 * began after it completed: the first was never applied. */
		if (k->op[a].ret < k->op[b].inv
		    && !observed(o, k->op[a].mop.b)) {
			found(f, "lost-write", a, b);
			mv_anomaly_describe(k, a, &f->why);
			mv_buf_addf(&f->why,
			    " of %s completed but nobody saw its value, and "
			    "then ",
			    mv_anomaly_value(k, a));
			mv_anomaly_describe(k, b, &f->why);
			mv_buf_addf(&f->why, " of %s found %s still in place",
			    mv_anomaly_value(k, b),
			    mv_model_atom_text(k->m, (uint32_t)k->op[b].mop.a));
			free(ix);
			return 1;
		}
		found(f, "lost-update", ix[i], ix[i + 1]);
		mv_anomaly_describe(k, ix[i], &f->why);
		mv_buf_addf(&f->why, " of %s and ", mv_anomaly_value(k, ix[i]));
		mv_anomaly_describe(k, ix[i + 1], &f->why);
		mv_buf_addf(&f->why, " of %s both succeeded from one write",
		    mv_anomaly_value(k, ix[i + 1]));
	}
	free(ix);
	return hit;
}

/*
 * An ok cas from a value that an observed write had already replaced
 * before the cas began: the cas acted on a stale state, and the update
 * of that write is lost.
 */
static int
cas_stale(struct mv_kctx *k, const struct obs *o, struct mv_finding *f)
{
	size_t i, save;

	for (i = 0; i < k->n; i++) {
		if (!is_ok(k, i, MV_MOP_CAS))
			continue;
		/* Pose the cas as a read of its from value. */
		k->op[i].mop.f = MV_MOP_READ;
		save = reg_stale(k, o, i, f);
		k->op[i].mop.f = MV_MOP_CAS;
		if (!save)
			continue;
		f->anomaly = "lost-update";
		mv_buf_reset(&f->why);
		mv_anomaly_describe(k, i, &f->why);
		mv_buf_addf(&f->why,
		    " of %s succeeded after %s of %s (line %zu)",
		    mv_anomaly_value(k, i),
		    k->h->ev[k->op[f->op[f->nop - 2]].inv].f,
		    mv_anomaly_value(k, f->op[f->nop - 2]),
		    ev_of(k, f->op[f->nop - 2])->line);
		mv_buf_adds(&f->why, " completed");
		return 1;
	}
	return 0;
}

/* The latest op a finding cites (ops are in invocation order). */
static size_t
fpos(const struct mv_finding *f)
{
	size_t i, m = 0;

	for (i = 0; i < f->nop; i++)
		if (f->op[i] > m)
			m = f->op[i];
	return m;
}

/* Moves t into f when f is empty (!have) or t comes earlier; returns 1. */
static int
keep_earliest(struct mv_finding *f, const struct mv_finding *t, int have)
{
	if (have && fpos(t) >= fpos(f))
		return 1;
	f->anomaly = t->anomaly;
	f->nop = t->nop;
	memcpy(f->op, t->op, sizeof(f->op));
	mv_buf_reset(&f->why);
	mv_buf_add(&f->why, t->why.p, t->why.len);
	return 1;
}

/*
 * kv, when the appended strings are tokens: every append's suffix starts
 * with one byte c that occurs nowhere else in any suffix or put.  A read
 * then splits into its base (the text before the first c, a put's value)
 * and the suffixes of the appends it shows, in order, each naming its
 * append when exactly one append wrote it.
 */
struct kvr {
	size_t op, blen, tok, ntok; /* tokens at kv.tok[tok..tok+ntok) */
	const char *s;
};

struct kvt {
	struct kvr *r;
	size_t nr;
	uint32_t *tok;      /* append op, or UINT32_MAX when unknown */
	uint32_t *slot;     /* suffix hash table of op + 1 */
	unsigned char *amb; /* per op: another append wrote its suffix */
	size_t mask;
	uint32_t *pslot; /* put hash table of op + 1, by text, mask too */
	size_t *pmax;    /* latest completion of a put in op[0..i), or 0 */
};

static uint64_t
kv_hash(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (n--)
		h = (h ^ (unsigned char)*p++) * 0x100000001b3ULL;
	return h;
}

static const char *
kv_str(const struct mv_kctx *k, int64_t blob, size_t *n)
{
	return mv_model_blob(k->m, (uint32_t)blob, n);
}

/* The byte all suffixes start with, or -1 when they are not tokens. */
static int
kv_sep(const struct mv_kctx *k)
{
	size_t i, n;
	int c = -1;
	const char *p;

	for (i = 0; i < k->n; i++)
		if (k->op[i].mop.f == MV_MOP_APPEND) {
			p = kv_str(k, k->op[i].mop.a, &n);
			if (n > 0 && c < 0)
				c = (unsigned char)p[0];
		}
	if (c < 0)
		return -1;
	for (i = 0; i < k->n; i++) {
		const struct mv_kop *o = &k->op[i];

		if (o->mop.f != MV_MOP_APPEND && o->mop.f != MV_MOP_WRITE)
			continue;
		p = kv_str(k, o->mop.a, &n);
		if (o->mop.f == MV_MOP_APPEND && (n == 0 || p[0] != c))
			return -1;
		if (n > 0
		    && memchr(p + (o->mop.f == MV_MOP_APPEND), c,
		           n - (o->mop.f == MV_MOP_APPEND))
		        != NULL)
			return -1;
	}
	return c;
}

/* The append that wrote suffix p[0..n), or UINT32_MAX. */
static uint32_t
kv_find(const struct mv_kctx *k, const struct kvt *t, const char *p, size_t n)
{
	size_t j, m;
	const char *q;

	for (j = kv_hash(p, n) & t->mask; t->slot[j]; j = (j + 1) & t->mask) {
		q = kv_str(k, k->op[t->slot[j] - 1].mop.a, &m);
		if (m == n && memcmp(p, q, n) == 0)
			return t->amb[t->slot[j] - 1] ? UINT32_MAX
			                              : t->slot[j] - 1;
	}
	return UINT32_MAX;
}

static void
kv_index(const struct mv_kctx *k, struct kvt *t, int c)
{
	size_t i, j, n, cap = 64, ntok = 0, p, q;
	const char *s;

	while (cap < 4 * k->n)
		cap *= 2;
	t->mask = cap - 1;
	t->slot = mv_xcalloc(cap, sizeof(*t->slot));
	t->pslot = mv_xcalloc(cap, sizeof(*t->pslot));
	t->pmax = mv_xmalloc((k->n + 1) * sizeof(*t->pmax));
	t->amb = mv_xcalloc(k->n + 1, 1);
	/* An open put's completion is MV_NOPOS: the latest of all. */
	t->pmax[0] = 0;
	for (i = 0; i < k->n; i++)
		t->pmax[i + 1] =
		    k->op[i].mop.f == MV_MOP_WRITE && k->op[i].ret > t->pmax[i]
		    ? k->op[i].ret
		    : t->pmax[i];
	/* Every put, so that finding those of a text costs no scan. */
	for (i = 0; i < k->n; i++) {
		if (k->op[i].mop.f != MV_MOP_WRITE)
			continue;
		s = kv_str(k, k->op[i].mop.a, &n);
		for (j = kv_hash(s, n) & t->mask; t->pslot[j];
		     j = (j + 1) & t->mask)
			;
		t->pslot[j] = (uint32_t)i + 1;
	}
	for (i = 0; i < k->n; i++) {
		if (k->op[i].mop.f != MV_MOP_APPEND)
			continue;
		s = kv_str(k, k->op[i].mop.a, &n);
		for (j = kv_hash(s, n) & t->mask; t->slot[j];
		     j = (j + 1) & t->mask) {
			size_t m;
			const char *o =
			    kv_str(k, k->op[t->slot[j] - 1].mop.a, &m);

			if (m == n && memcmp(o, s, n) == 0)
				break;
		}
		/* A suffix two appends wrote names neither. */
		if (t->slot[j])
			t->amb[t->slot[j] - 1] = 1;
		else
			t->slot[j] = (uint32_t)i + 1;
	}
	t->r = mv_xmalloc((k->n + 1) * sizeof(*t->r));
	for (i = 0; i < k->n; i++)
		if (is_ok(k, i, MV_MOP_READ)) {
			s = kv_str(k, k->op[i].mop.a, &n);
			for (p = 0; p < n; p++)
				ntok += (unsigned char)s[p] == c;
		}
	t->tok = mv_xmalloc((ntok + 1) * sizeof(*t->tok));
	ntok = 0;
	for (i = 0; i < k->n; i++) {
		struct kvr *r;

		if (!is_ok(k, i, MV_MOP_READ))
			continue;
		r = &t->r[t->nr++];
		s = kv_str(k, k->op[i].mop.a, &n);
		r->op = i;
		r->s = k->op[i].mop.a ? s : NULL;
		r->tok = ntok;
		r->ntok = 0;
		for (p = 0; p < n && (unsigned char)s[p] != c; p++)
			;
		r->blen = p;
		while (p < n) {
			for (q = p + 1; q < n && (unsigned char)s[q] != c; q++)
				;
			t->tok[ntok++] = kv_find(k, t, s + p, q - p);
			r->ntok++;
			p = q;
		}
	}
}

static void
kv_free(struct kvt *t)
{
	free(t->r);
	free(t->tok);
	free(t->slot);
	free(t->pslot);
	free(t->pmax);
	free(t->amb);
}

/*
 * The next put of the text s[0..n) from probe position *j on (start at
 * kv_hash(s, n) & t->mask), or MV_NOPOS when there is no other.
 */
static size_t
kv_put_next(const struct mv_kctx *k, const struct kvt *t, const char *s,
    size_t n, size_t *j)
{
	size_t i, m;
	const char *p;

	for (; t->pslot[*j]; *j = (*j + 1) & t->mask) {
		i = t->pslot[*j] - 1;
		p = kv_str(k, k->op[i].mop.a, &m);
		if (m == n && (n == 0 || memcmp(p, s, n) == 0)) {
			*j = (*j + 1) & t->mask;
			return i;
		}
	}
	return MV_NOPOS;
}

static int
kv_same_base(const struct kvr *a, const struct kvr *b)
{
	return a->blen == b->blen
	    && (a->blen == 0 || memcmp(a->s, b->s, a->blen) == 0);
}

/* The put that wrote base of r (the latest-completing one), or NOPOS. */
static size_t
kv_base_put(const struct mv_kctx *k, const struct kvt *t, const struct kvr *r,
    size_t *first_ret)
{
	size_t i, who = MV_NOPOS, j = kv_hash(r->s, r->blen) & t->mask;

	*first_ret = MV_NOPOS;
	while ((i = kv_put_next(k, t, r->s, r->blen, &j)) != MV_NOPOS) {
		if (k->op[i].status != MV_OK)
			return MV_NOPOS; /* an info put could be anywhere */
		if (*first_ret == MV_NOPOS || k->op[i].ret > *first_ret)
			*first_ret = k->op[i].ret;
		who = i;
	}
	return who;
}

static void
kv_say_read(const struct mv_kctx *k, size_t r, struct mv_buf *b)
{
	describe_read(k, r, b);
}

static int
kv_has(const struct kvt *t, const struct kvr *r, uint32_t a)
{
	size_t j;

	for (j = 0; j < r->ntok; j++)
		if (t->tok[r->tok + j] == a)
			return 1;
	return 0;
}

/* A read showing one append's suffix twice. */
static int
kv_dup(const struct mv_kctx *k, const struct kvt *t, struct mv_finding *f)
{
	uint32_t *stamp = mv_xcalloc(k->n + 1, sizeof(*stamp));
	size_t i, j;
	int hit = 0;

	for (i = 0; i < t->nr && !hit; i++)
		for (j = 0; j < t->r[i].ntok; j++) {
			uint32_t a = t->tok[t->r[i].tok + j];

			if (a == UINT32_MAX)
				continue;
			if (stamp[a] != i + 1) {
				stamp[a] = (uint32_t)i + 1;
				continue;
			}
			found(f, "duplicate-append", a, t->r[i].op);
			kv_say_read(k, t->r[i].op, &f->why);
			mv_buf_addf(&f->why, ", with the suffix %s of ",
			    mv_anomaly_value(k, a));
			mv_anomaly_describe(k, a, &f->why);
			mv_buf_adds(&f->why, " twice");
			hit = 1;
			break;
		}
	free(stamp);
	return hit;
}

/* Whether at most one put wrote r's base (none when it is empty). */
static int
kv_base_once(const struct mv_kctx *k, const struct kvt *t, const struct kvr *r)
{
	size_t w = 0, j = kv_hash(r->s, r->blen) & t->mask;

	while (kv_put_next(k, t, r->s, r->blen, &j) != MV_NOPOS)
		w++;
	return w <= (r->blen > 0);
}

/*
 * Reads a and b of the same base: when a completed before b began (rt),
 * b showing fewer of the same appends is a stale read.  Whatever their
 * order, b dropping an append a showed and having another in its place
 * is a lost update: between puts the states form a chain, each the one
 * before plus a suffix, so two reads can only diverge when an append was
 * applied to a state without the other's suffix.  Overlapping reads are
 * compared only when one put wrote their base, so no put of the same
 * text could have started the chain again.
 */
static int
kv_pair(const struct mv_kctx *k, const struct kvt *t, const struct kvr *a,
    const struct kvr *b, int rt, struct mv_finding *f)
{
	size_t m, la, lb;

	if (!kv_same_base(a, b))
		return 0;
	for (m = 0; m < a->ntok && m < b->ntok
	     && t->tok[a->tok + m] == t->tok[b->tok + m];
	     m++)
		;
	if (rt && m == b->ntok && m < a->ntok) {
		found(f, "stale-read", a->op, b->op);
		kv_say_read(k, b->op, &f->why);
		mv_buf_adds(&f->why, ", older than what ");
		kv_say_read(k, a->op, &f->why);
		mv_buf_adds(&f->why, " before it began");
		return 1;
	}
	if (m >= a->ntok || m >= b->ntok || t->tok[a->tok + m] == UINT32_MAX
	    || t->tok[b->tok + m] == UINT32_MAX
	    || kv_has(t, b, t->tok[a->tok + m])
	    || (!rt && !kv_base_once(k, t, b)))
		return 0;
	la = t->tok[a->tok + m];
	lb = t->tok[b->tok + m];
	found(f, "lost-update", la, lb);
	f->op[f->nop++] = a->op;
	f->op[f->nop++] = b->op;
	kv_say_read(k, b->op, &f->why);
	mv_buf_adds(&f->why, " has ");
	mv_anomaly_describe(k, lb, &f->why);
	mv_buf_adds(&f->why, " where ");
	kv_say_read(k, a->op, &f->why);
	mv_buf_adds(&f->why,
	    rt ? ", which completed before it began, had "
	       : ", from the same put, had ");
	mv_anomaly_describe(k, la, &f->why);
	mv_buf_adds(&f->why,
	    ": an append was applied to a state "
	    "without the other");
	return 1;
}

/*
 * Each read against the read that completed last before it began, and
 * against the read invoked just before it.
 */
static int
kv_pairs(const struct mv_kctx *k, const struct kvt *t, struct mv_finding *f)
{
	size_t *byret = mv_xmalloc((t->nr + 1) * sizeof(*byret)), i, p = 0;
	size_t r1 = MV_NOPOS, j;
	int hit = 0;

	for (i = 0; i < t->nr; i++)
		byret[i] = i;
	/* Insertion sort by completion: reads are nearly in that order. */
	for (i = 1; i < t->nr; i++) {
		size_t x = byret[i];

		for (j = i; j > 0
		     && k->op[t->r[byret[j - 1]].op].ret
		         > k->op[t->r[x].op].ret;
		     j--)
			byret[j] = byret[j - 1];
		byret[j] = x;
	}
	for (i = 0; i < t->nr && !hit; i++) {
		const struct kvr *b = &t->r[i];

		while (p < t->nr
		    && k->op[t->r[byret[p]].op].ret < k->op[b->op].inv)
			r1 = byret[p++];
		if (r1 != MV_NOPOS)
			hit = kv_pair(k, t, &t->r[r1], b, 1, f);
		if (!hit && i > 0 && i - 1 != r1)
			hit = kv_pair(k, t, &t->r[i - 1], b, 0, f);
	}
	free(byret);
	return hit;
}

/* Whether a put may take effect within [from, to] (overlaps it). */
static int
kv_put_within(
    const struct mv_kctx *k, const struct kvt *t, size_t from, size_t to)
{
	size_t lo = 0, hi = k->n;

	/* Ops are in invocation order: those begun by to are op[0..lo). */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (k->op[mid].inv <= to)
			lo = mid + 1;
		else
			hi = mid;
	}
	return t->pmax[lo] >= from;
}

/*
 * An ok append whose suffix no read shows, while a read begun after it
 * completed shows only appends begun before it (with later, also appends
 * begun after it), with no put in between; or an ok put no read starts
 * from, while a read begun after it completed starts from a put that
 * completed before it began.
 */
static int
kv_lost(const struct mv_kctx *k, const struct kvt *t, int later,
    struct mv_finding *f)
{
	unsigned char *seen = mv_xcalloc(k->n + 1, 1);
	size_t i, j, q, best = MV_NOPOS, bw = 0, fr;
	int kind = 0;

	for (i = 0; i < t->nr; i++) {
		for (j = 0; j < t->r[i].ntok; j++)
			if (t->tok[t->r[i].tok + j] != UINT32_MAX)
				seen[t->tok[t->r[i].tok + j]] = 1;
		j = kv_hash(t->r[i].s, t->r[i].blen) & t->mask;
		while ((q = kv_put_next(k, t, t->r[i].s, t->r[i].blen, &j))
		    != MV_NOPOS)
			seen[q] = 1;
	}
	for (i = 0; i < k->n; i++) {
		if (k->op[i].status != MV_OK || seen[i]
		    || (k->op[i].mop.f != MV_MOP_APPEND
		        && k->op[i].mop.f != MV_MOP_WRITE))
			continue;
		for (j = 0; j < t->nr; j++) {
			const struct kvr *r = &t->r[j];
			int hit = 0;

			if (best != MV_NOPOS && r->op >= best)
				break;
			if (k->op[r->op].inv < k->op[i].ret)
				continue;
			if (k->op[i].mop.f == MV_MOP_WRITE) {
				hit = r->s != NULL
				    && kv_base_put(k, t, r, &fr) != MV_NOPOS
				    && fr < k->op[i].inv;
			} else {
				/* Shows only appends begun before i and
				 * no put since: the state before i. */
				hit = !kv_put_within(
				    k, t, k->op[i].inv, k->op[r->op].ret);
				for (q = 0; q < r->ntok && hit; q++) {
					uint32_t b = t->tok[r->tok + q];

					hit = b != UINT32_MAX
					    && k->op[b].inv < k->op[i].inv;
				}
				/* A later append on the state before i: as no
				 * read shows i, nothing says it was ever
				 * applied, so this too is a lost write. */
				for (q = 0; q < r->ntok && !hit && later; q++) {
					uint32_t b = t->tok[r->tok + q];

					if (b != UINT32_MAX
					    && k->op[b].inv > k->op[i].inv
					    && !kv_put_within(k, t,
					        k->op[i].inv, k->op[r->op].ret))
						hit = 2;
				}
			}
			if (hit) {
				best = r->op;
				bw = i;
				kind = hit;
				break;
			}
		}
	}
	free(seen);
	if (best == MV_NOPOS)
		return 0;
	found(f, "lost-write", bw, best);
	mv_anomaly_describe(k, bw, &f->why);
	mv_buf_addf(&f->why, " of %s completed but no read shows it; ",
	    mv_anomaly_value(k, bw));
	kv_say_read(k, best, &f->why);
	mv_buf_adds(&f->why,
	    kind == 2 ? " after it, with later appends but without it"
	              : " after it, still showing the state before it");
	return 1;
}

/*
 * A read starting from a put although another put, which some read
 * started from, began after that one completed and completed before the
 * read began.
 */
static int
kv_stale_base(
    const struct mv_kctx *k, const struct kvt *t, struct mv_finding *f)
{
	unsigned char *seen = mv_xcalloc(k->n + 1, 1);
	size_t i, j, fr, q, n, b;
	const char *p;
	int hit = 0;

	for (i = 0; i < t->nr; i++)
		if (t->r[i].s
		    && (q = kv_base_put(k, t, &t->r[i], &fr)) != MV_NOPOS)
			seen[q] = 1;
	for (i = 0; i < t->nr && !hit; i++) {
		const struct kvr *r = &t->r[i];

		if (r->s == NULL || (q = kv_base_put(k, t, r, &fr)) == MV_NOPOS)
			continue;
		for (j = 0; j < k->n && k->op[j].inv < k->op[r->op].inv; j++) {
			if (!seen[j] || k->op[j].inv <= fr
			    || k->op[j].ret >= k->op[r->op].inv)
				continue;
			p = kv_str(k, k->op[j].mop.a, &n);
			if (n == r->blen && memcmp(p, r->s, n) == 0)
				continue;
			hit = 1;
			/* Showing an append begun after the put completed,
			 * it is no earlier state: the append was applied to
			 * the state before the put. */
			for (b = 0; b < r->ntok; b++) {
				uint32_t a = t->tok[r->tok + b];

				if (a == UINT32_MAX
				    || k->op[a].inv < k->op[j].ret)
					continue;
				found(f, "lost-update", j, a);
				f->op[f->nop++] = r->op;
				kv_say_read(k, r->op, &f->why);
				mv_buf_addf(&f->why,
				    " after put of %s (line %zu) completed: ",
				    mv_anomaly_value(k, j), ev_of(k, j)->line);
				mv_anomaly_describe(k, a, &f->why);
				mv_buf_adds(&f->why,
				    ", begun after the put, was applied to the "
				    "state before it");
				break;
			}
			if (b < r->ntok)
				break;
			found(f, "stale-read", q, j);
			f->op[f->nop++] = r->op;
			kv_say_read(k, r->op, &f->why);
			mv_buf_addf(&f->why,
			    " after put of %s (line %zu) completed",
			    mv_anomaly_value(k, j), ev_of(k, j)->line);
			break;
		}
	}
	free(seen);
	return hit;
}

static int
kv_classify(struct mv_kctx *k, struct mv_finding *f)
{
	struct kvt t;
	struct mv_finding u;
	int c = kv_sep(k), hit = 0;

	if (c < 0)
		return 0;
	memset(&t, 0, sizeof(t));
	kv_index(k, &t, c);
	mv_buf_init(&u.why);
	if (kv_dup(k, &t, &u))
		hit |= keep_earliest(f, &u, hit);
	if (kv_pairs(k, &t, &u))
		hit |= keep_earliest(f, &u, hit);
	if (kv_stale_base(k, &t, &u))
		hit |= keep_earliest(f, &u, hit);
	/* A read showing the state before the write first; one showing
	 * later appends on it only when there is none. */
	if (kv_lost(k, &t, 0, &u) || kv_lost(k, &t, 1, &u))
		hit |= keep_earliest(f, &u, hit);
	mv_buf_release(&u.why);
	kv_free(&t);
	return hit;
}

/*
 * A cas that cannot follow any longest linearizable prefix succeeded
 * although the value it expected was no longer in place: a conditional
 * update acted on a stale state, and the update it overwrote is lost.
 */
static int
frontier_cas(
    struct mv_kctx *k, const uint32_t *next, size_t nnext, struct mv_finding *f)
{
	size_t i;

	for (i = 0; i < nnext; i++) {
		if (!is_ok(k, next[i], MV_MOP_CAS))
			continue;
		found(f, "lost-update", next[i], MV_NOPOS);
		mv_anomaly_describe(k, next[i], &f->why);
		mv_buf_addf(&f->why,
		    " of %s succeeded, yet no order of the operations before "
		    "it leaves %s in place for it",
		    mv_anomaly_value(k, next[i]),
		    mv_model_atom_text(k->m, (uint32_t)k->op[next[i]].mop.a));
		return 1;
	}
	return 0;
}

/* The first read of op c's value when c is its only writer, or NOPOS. */
static size_t
sole_read(const struct mv_kctx *k, size_t c)
{
	size_t i, r = MV_NOPOS;
	int64_t x, b;

	if (written(k, c, &b) != 0)
		return MV_NOPOS;
	for (i = 0; i < k->n; i++) {
		if (i != c && written(k, i, &x) == 0 && x == b)
			return MV_NOPOS;
		if (r == MV_NOPOS && is_ok(k, i, MV_MOP_READ)
		    && k->op[i].mop.a == b)
			r = i;
	}
	return r;
}

/* Whether an ok read of x began after position pos. */
static int
read_after(const struct mv_kctx *k, int64_t x, size_t pos)
{
	size_t i;

	for (i = k->n; i-- > 0 && k->op[i].inv > pos;)
		if (is_ok(k, i, MV_MOP_READ) && k->op[i].mop.a == x)
			return 1;
	return 0;
}

/*
 * An ok cas from a to b, the only op writing b, whose b a read returned
 * after a write W of another value completed: the cas took effect after
 * W, yet every write of a completed before W began, so a was no longer in
 * place.  W's value was read, so W did take effect: the cas compared
 * against a stale state and W's update is lost.  Without o, W need not
 * have been read (the last resort before "nonlinearizable").  Not when a
 * read of W's value began after the cas completed: then W came after the
 * cas, and the read of b is the stale one.
 */
static int
cas_late(struct mv_kctx *k, const struct obs *o, struct mv_finding *f)
{
	size_t c, i, r, w, last;
	int64_t x;
	int hit = 0;

	for (c = 0; c < k->n && !hit; c++) {
		int64_t a = k->op[c].mop.a, b = k->op[c].mop.b;

		if (!is_ok(k, c, MV_MOP_CAS))
			continue;
		last = 0;
		for (i = 0; i < k->n; i++) {
			if (written(k, i, &x) != 0 || (x != a && x != b)
			    || i == c)
				continue;
			if (x == b || k->op[i].status != MV_OK) {
				last = MV_NOPOS;
				break;
			}
			if (k->op[i].ret > last)
				last = k->op[i].ret;
		}
		/* A cas from a value nobody wrote is its own fault. */
		if (last == MV_NOPOS || (last == 0 && a != 0))
			continue;
		r = sole_read(k, c);
		/* One step further: a cas from b, the only writer of its
		 * value, read later, took effect after c. */
		for (i = 0; i < k->n; i++) {
			size_t r2;

			if (!is_ok(k, i, MV_MOP_CAS) || k->op[i].mop.a != b
			    || (r2 = sole_read(k, i)) == MV_NOPOS)
				continue;
			if (r == MV_NOPOS || k->op[r2].inv > k->op[r].inv)
				r = r2;
		}
		if (r == MV_NOPOS)
			continue;
		for (w = 0; w < k->n; w++) {
			if (k->op[w].status != MV_OK || written(k, w, &x) != 0
			    || x == a || x == b || x == k->op[r].mop.a
			    || (o && !observed(o, x))
			    || k->op[w].ret >= k->op[r].inv
			    || k->op[w].inv <= last
			    || k->op[c].ret < k->op[w].inv
			    || read_after(k, x, k->op[c].ret))
				continue;
			found(f, "lost-update", c, w);
			f->op[f->nop++] = r;
			mv_anomaly_describe(k, c, &f->why);
			mv_buf_addf(&f->why, " of %s succeeded, and ",
			    mv_anomaly_value(k, c));
			describe_read(k, r, &f->why);
			mv_buf_adds(&f->why, " after ");
			mv_anomaly_describe(k, w, &f->why);
			mv_buf_addf(&f->why,
			    " of %s completed, though every write of %s "
			    "completed before that one began",
			    mv_anomaly_value(k, w),
			    mv_model_atom_text(k->m, (uint32_t)a));
			hit = 1;
			break;
		}
	}
	return hit;
}

static int
reg_classify(
    struct mv_kctx *k, const uint32_t *next, size_t nnext, struct mv_finding *f)
{
	struct obs o;
	struct mv_finding t;
	size_t i, j;
	int hit = 0, kind = mv_model_kind(k->m);

	o.v = mv_xmalloc((k->n + 1) * sizeof(*o.v));
	o.n = 0;
	for (i = 0; i < k->n; i++) {
		if (is_ok(k, i, MV_MOP_READ) || is_ok(k, i, MV_MOP_CAS))
			o.v[o.n++] = k->op[i].mop.a;
	}
	qsort(o.v, o.n, sizeof(*o.v), cmp_i64);
	o.w = mv_xmalloc((k->n + 1) * sizeof(*o.w));
	o.nw = 0;
	for (i = 0; i < k->n; i++) {
		int64_t x;

		if (k->op[i].status != MV_OK || written(k, i, &x) != 0)
			continue;
		o.w[o.nw].v = x;
		o.w[o.nw].ret = k->op[i].ret;
		o.w[o.nw++].who = i;
	}
	/* Sorted by (value, completion): keep the first of each value. */
	qsort(o.w, o.nw, sizeof(*o.w), cmp_wv);
	for (i = 0, j = 0; i < o.nw; i++)
		if (j == 0 || o.w[j - 1].v != o.w[i].v)
			o.w[j++] = o.w[i];
	o.nw = j;
	/* A read that completed shows its value was in place by then,
	 * however late its write completed. */
	for (i = 0; i < k->n; i++) {
		struct wv key, *w;

		if (!is_ok(k, i, MV_MOP_READ))
			continue;
		key.v = k->op[i].mop.a;
		key.ret = key.who = 0;
		w = bsearch(&key, o.w, o.nw, sizeof(*o.w), cmp_wv_value);
		if (w && k->op[i].ret < w->ret)
			w->ret = k->op[i].ret;
	}
	/*
	 * Each pattern proposes its earliest instance and the earliest
	 * wins: the search failed near the first fault, and a later
	 * instance may be the echo of another bug.  On a tie the order
	 * below decides: stale reads before lost writes, since a register
	 * loses track of many writes that nobody happened to read, while a
	 * store that loses writes never hands out a value overwritten by an
	 * observed write.
	 */
	mv_buf_init(&t.why);
	/* Tokenized kv reads are judged by their own patterns: a read's
	 * string never equals a put's once something was appended. */
	if (kind == MV_MODEL_KV && kv_classify(k, &t)) {
		hit = keep_earliest(f, &t, hit);
		goto out;
	}
	if (cas_lu(k, &o, &t))
		hit |= keep_earliest(f, &t, hit);
	if (cas_stale(k, &o, &t))
		hit |= keep_earliest(f, &t, hit);
	if (cas_late(k, &o, &t))
		hit |= keep_earliest(f, &t, hit);
	for (i = 0; i < k->n; i++)
		if (reg_stale(k, &o, i, &t)) {
			hit |= keep_earliest(f, &t, hit);
			break;
		}
	if (reg_inversion(k, &t))
		hit |= keep_earliest(f, &t, hit);
	if (reg_lost(k, &o, &t))
		hit |= keep_earliest(f, &t, hit);
	if (!hit && cas_late(k, NULL, &t))
		hit |= keep_earliest(f, &t, hit);
	if (!hit && kind == MV_MODEL_CAS_REGISTER
	    && frontier_cas(k, next, nnext, &t))
		hit |= keep_earliest(f, &t, hit);
out:
	mv_buf_release(&t.why);
	free(o.v);
	free(o.w);
	return hit;
}

void
mv_anomaly_classify(struct mv_kctx *k, size_t stuck, const uint32_t *next,
    size_t nnext, struct mv_finding *f)
{
	int kind = mv_model_kind(k->m);

	if ((kind == MV_MODEL_REGISTER || kind == MV_MODEL_CAS_REGISTER
	        || kind == MV_MODEL_KV)
	    && reg_classify(k, next, nnext, f))
		return;
	found(f, "nonlinearizable", stuck, MV_NOPOS);
	if (stuck == MV_NOPOS) {
		mv_buf_adds(&f->why, "no order of the operations is legal");
		return;
	}
	mv_buf_adds(&f->why,
	    "no legal order of the operations before it "
	    "extends to ");
	if (k->op[stuck].mop.f == MV_MOP_READ)
		describe_read(k, stuck, &f->why);
	else {
		mv_anomaly_describe(k, stuck, &f->why);
		mv_buf_addf(&f->why, " of %s", mv_anomaly_value(k, stuck));
	}
}
