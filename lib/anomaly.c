/*
 * anomaly.c: names what is wrong with one key's history.
 *
 * Two kinds of code live here.  Pre-checks (streams, sets, counters) look
 * for a pattern that by itself proves the history non-linearizable, such
 * as a read that began after an append completed yet lacks its events on
 * an append-only stream; they are linear or n log n, and they name the
 * anomaly.  Classification runs only after WGL proved a key invalid, so
 * its patterns need not be proofs: they choose the most telling name.
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
mv_anomaly_value(const struct mv_kctx *k, size_t i)
{
	const struct mv_kop *o = &k->op[i];
	const char *v;

	if (o->mop.f == MV_MOP_READ) {
		v = o->ret != MV_NOPOS ? k->h->ev[o->ret].value : NULL;
		return v ? v : "unknown";
	}
	v = k->h->ev[o->inv].value;
	return v ? v : "null";
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

/* Appends the events of append a as a JSON array. */
static void
add_events(const struct mv_kctx *k, size_t a, struct mv_buf *b)
{
	size_t n, p;
	const uint32_t *ev = atoms_of(k, k->op[a].mop.a, &n);

	mv_buf_addc(b, '[');
	for (p = 0; p < n; p++)
		mv_buf_addf(
		    b, "%s%s", p ? "," : "", mv_model_atom_text(k->m, ev[p]));
	mv_buf_addc(b, ']');
}

static int
is_ok(const struct mv_kctx *k, size_t i, int f)
{
	return k->op[i].mop.f == f && k->op[i].status == MV_OK;
}

/* Stream: indexes each event atom to (append, position, count). */
static void
stream_index(struct mv_kctx *k, struct mv_anomaly_scratch *s)
{
	size_t i, p, n;

	for (i = 0; i < k->n; i++) {
		const uint32_t *ev;

		if (k->op[i].mop.f != MV_MOP_APPEND)
			continue;
		ev = atoms_of(k, k->op[i].mop.a, &n);
		for (p = 0; p < n; p++) {
			if (s->stamp[ev[p]] != k->stamp) {
				s->stamp[ev[p]] = k->stamp;
				s->x[ev[p]] = (uint32_t)i;
				s->y[ev[p]] = (uint32_t)p;
				s->z[ev[p]] = 1;
			} else
				s->z[ev[p]]++;
		}
	}
}

/* The append event e surely comes from, or MV_NOPOS. */
static size_t
owner(const struct mv_kctx *k, const struct mv_anomaly_scratch *s, uint32_t e)
{
	return s->stamp[e] == k->stamp && s->z[e] == 1 ? s->x[e] : MV_NOPOS;
}

static int
stream_dup(
    struct mv_kctx *k, struct mv_anomaly_scratch *s, struct mv_finding *f)
{
	size_t i, p, n;

	for (i = 0; i < k->n; i++) {
		const uint32_t *ev;

		if (!is_ok(k, i, MV_MOP_READ))
			continue;
		ev = atoms_of(k, k->op[i].mop.a, &n);
		s->serial++;
		for (p = 0; p < n; p++) {
			if (s->seen[ev[p]] != s->serial) {
				s->seen[ev[p]] = s->serial;
				continue;
			}
			if (s->stamp[ev[p]] == k->stamp && s->z[ev[p]] > 1)
				continue;
			found(f, "duplicate-append", owner(k, s, ev[p]), i);
			describe_read(k, i, &f->why);
			mv_buf_addf(&f->why, ": event %s appears twice",
			    mv_model_atom_text(k->m, ev[p]));
			return 1;
		}
	}
	return 0;
}

/*
 * A read shows whole batches, contiguous and in order, except that a read
 * from R > 0 may begin inside one.  Returns the torn batch's append.
 */
static size_t
torn_in(const struct mv_kctx *k, const struct mv_anomaly_scratch *s, size_t r)
{
	size_t p, n, cur = MV_NOPOS, bl;
	uint32_t pos = 0;
	const uint32_t *ev = atoms_of(k, k->op[r].mop.a, &n);

	for (p = 0; p < n; p++) {
		size_t a = owner(k, s, ev[p]);

		if (a == MV_NOPOS) {
			cur = MV_NOPOS;
			continue;
		}
		if (cur != MV_NOPOS && (a != cur || s->y[ev[p]] != pos + 1))
			return cur;
		if (cur == MV_NOPOS && s->y[ev[p]] != 0
		    && !(p == 0 && k->op[r].mop.b > 0))
			return a;
		cur = a;
		pos = s->y[ev[p]];
		atoms_of(k, k->op[a].mop.a, &bl);
		if (pos + 1 == bl)
			cur = MV_NOPOS;
	}
	return cur;
}

static int
stream_torn(
    struct mv_kctx *k, struct mv_anomaly_scratch *s, struct mv_finding *f)
{
	size_t i, a;

	for (i = 0; i < k->n; i++) {
		if (!is_ok(k, i, MV_MOP_READ))
			continue;
		if ((a = torn_in(k, s, i)) == MV_NOPOS)
			continue;
		found(f, "torn-batch", a, i);
		describe_read(k, i, &f->why);
		mv_buf_adds(&f->why, ", only part of the batch ");
		add_events(k, a, &f->why);
		mv_buf_adds(&f->why, " of ");
		mv_anomaly_describe(k, a, &f->why);
		return 1;
	}
	return 0;
}

static void lu_why(struct mv_kctx *k, struct mv_finding *f);

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
overlap(const struct mv_kctx *k, size_t a, size_t b)
{
	return !(k->op[a].ret < k->op[b].inv || k->op[b].ret < k->op[a].inv);
}

/*
 * Two ok appends expecting the same exact version cannot both succeed, nor
 * can one land elsewhere than right after it.  Concurrent pairs are found
 * first (1); a sequential pair is kept in *late (it may be a lost write).
 */
static int
stream_lu(struct mv_kctx *k, struct mv_finding *f, size_t late[2])
{
	size_t *ix = mv_xmalloc((k->n + 1) * sizeof(*ix)), m = 0, i, n;
	int hit = 0;

	late[0] = late[1] = MV_NOPOS;
	for (i = 0; i < k->n; i++) {
		const struct mv_mop *o = &k->op[i].mop;

		if (!is_ok(k, i, MV_MOP_APPEND) || o->b == MV_EXPECT_ANY
		    || o->b == MV_EXPECT_EXISTS)
			continue;
		atoms_of(k, o->a, &n);
		if (n == 0)
			continue;
		ix[m++] = i;
	}
	sort_ops(k, ix, m, BY_EXPECT);
	for (i = 0; i + 1 < m && !hit; i++) {
		if (k->op[ix[i]].mop.b != k->op[ix[i + 1]].mop.b)
			continue;
		if (!overlap(k, ix[i], ix[i + 1])) {
			if (late[0] == MV_NOPOS) {
				late[0] = ix[i];
				late[1] = ix[i + 1];
			}
			continue;
		}
		hit = 1;
		found(f, "lost-update", ix[i], ix[i + 1]);
		lu_why(k, f);
	}
	free(ix);
	return hit;
}

/* An append expecting version N that succeeded lands at N + 1. */
static int
stream_version(struct mv_kctx *k, struct mv_finding *f)
{
	size_t i, n;

	for (i = 0; i < k->n; i++) {
		const struct mv_mop *o = &k->op[i].mop;

		if (!is_ok(k, i, MV_MOP_APPEND) || o->b == MV_EXPECT_ANY
		    || o->b == MV_EXPECT_EXISTS || o->c == MV_VERSION_UNKNOWN)
			continue;
		atoms_of(k, o->a, &n);
		if (o->c == o->b + (int64_t)n)
			continue;
		found(f, "lost-update", i, MV_NOPOS);
		mv_anomaly_describe(k, i, &f->why);
		mv_buf_addf(&f->why,
		    " expected version %lld and appended %zu events but "
		    "reported version %lld",
		    (long long)o->b, n, (long long)o->c);
		return 1;
	}
	return 0;
}

static void
lu_why(struct mv_kctx *k, struct mv_finding *f)
{
	mv_buf_reset(&f->why);
	mv_anomaly_describe(k, f->op[0], &f->why);
	mv_buf_adds(&f->why, " and ");
	mv_anomaly_describe(k, f->op[1], &f->why);
	mv_buf_addf(&f->why, " both succeeded expecting version %lld",
	    (long long)k->op[f->op[0]].mop.b);
}

/* Whether read r must show append a's events (a completed before r). */
static int
covers(const struct mv_kctx *k, size_t r, size_t a)
{
	const struct mv_mop *ro = &k->op[r].mop, *ao = &k->op[a].mop;
	size_t bl;

	if (!is_ok(k, a, MV_MOP_APPEND) || k->op[a].ret >= k->op[r].inv)
		return 0;
	if (ro->b <= 0)
		return 1;
	atoms_of(k, ao->a, &bl);
	return ao->c != MV_VERSION_UNKNOWN && ao->c - (int64_t)bl + 1 >= ro->b;
}

static int
has_atom(const struct mv_kctx *k, size_t r, uint32_t e)
{
	size_t n, p;
	const uint32_t *ev = atoms_of(k, k->op[r].mop.a, &n);

	if (k->op[r].mop.a == 0)
		return 0;
	for (p = 0; p < n; p++)
		if (ev[p] == e)
			return 1;
	return 0;
}

/*
 * An ok append must show in every read that began after it completed
 * (streams only grow).  Counts, per append, the covering reads holding its
 * first event, and compares with the number of covering reads.
 */
static int
stream_stale(
    struct mv_kctx *k, struct mv_anomaly_scratch *s, struct mv_finding *f)
{
	uint32_t *cnt = mv_xcalloc(k->n + 1, sizeof(*cnt));
	unsigned char *any = mv_xcalloc(k->n + 1, 1);
	size_t i, j, p, n, a;
	int hit = 0;

	for (i = 0; i < k->n; i++) {
		const uint32_t *ev;

		if (!is_ok(k, i, MV_MOP_READ))
			continue;
		ev = atoms_of(k, k->op[i].mop.a, &n);
		for (p = 0; p < n; p++) {
			a = owner(k, s, ev[p]);
			if (a == MV_NOPOS || s->y[ev[p]] != 0)
				continue;
			any[a] = 1;
			if (covers(k, i, a))
				cnt[a]++;
		}
	}
	for (a = 0; a < k->n && !hit; a++) {
		uint32_t need = 0, e0;
		const uint32_t *ev;

		if (!is_ok(k, a, MV_MOP_APPEND))
			continue;
		ev = atoms_of(k, k->op[a].mop.a, &n);
		if (n == 0 || owner(k, s, ev[0]) != a)
			continue;
		e0 = ev[0];
		for (j = 0; j < k->n; j++)
			if (is_ok(k, j, MV_MOP_READ) && covers(k, j, a))
				need++;
		if (cnt[a] >= need)
			continue;
		for (j = 0; j < k->n; j++)
			if (is_ok(k, j, MV_MOP_READ) && covers(k, j, a)
			    && !has_atom(k, j, e0))
				break;
		if (j == k->n)
			continue;
		hit = 1;
		if (any[a]) {
			found(f, "stale-read", a, j);
			mv_anomaly_describe(k, j, &f->why);
			mv_buf_adds(&f->why, " began after ");
			mv_anomaly_describe(k, a, &f->why);
			mv_buf_adds(
			    &f->why, " completed but lacks its events ");
			add_events(k, a, &f->why);
		} else {
			found(f, "lost-write", a, j);
			mv_anomaly_describe(k, a, &f->why);
			mv_buf_adds(&f->why, " of ");
			add_events(k, a, &f->why);
			mv_buf_adds(
			    &f->why, " completed but no read returned them; ");
			describe_read(k, j, &f->why);
		}
	}
	free(cnt);
	free(any);
	return hit;
}

static int
stream_pre(struct mv_kctx *k, struct mv_finding *f)
{
	struct mv_anomaly_scratch *s = scratch(k);
	size_t late[2];

	stream_index(k, s);
	if (stream_dup(k, s, f) || stream_torn(k, s, f))
		return 1;
	/* Version mismatches first, then missing events, then pairs of
	 * appends expecting one version: an append acknowledged but never
	 * applied lets a second one expecting the same version succeed,
	 * and that is a lost write rather than a lost update. */
	if (stream_version(k, f) || stream_stale(k, s, f))
		return 1;
	if (stream_lu(k, f, late))
		return 1;
	if (late[0] != MV_NOPOS) {
		found(f, "lost-update", late[0], late[1]);
		lu_why(k, f);
		return 1;
	}
	return 0;
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
			for (j = 0; j < k->n; j++)
				if (is_ok(k, j, MV_MOP_READ)
				    && k->op[j].mop.a >= lo[lo_n])
					break;
			found(f, j < k->n ? "stale-read" : "lost-write",
			    ok[lo_n - 1], i);
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
	case MV_MODEL_STREAM: return stream_pre(k, f);
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

/* An ok write nobody observed, while a read begun after it saw older. */
static int
reg_lost(struct mv_kctx *k, const struct obs *o, struct mv_finding *f)
{
	size_t i, j, who;
	int64_t x, y;

	for (i = 0; i < k->n; i++) {
		if (k->op[i].status != MV_OK || written(k, i, &x) != 0
		    || observed(o, x))
			continue;
		for (j = 0; j < k->n; j++) {
			if (!is_ok(k, j, MV_MOP_READ)
			    || k->op[j].inv < k->op[i].ret)
				continue;
			y = k->op[j].mop.a;
			if (y == x || first_written(o, y, &who) >= k->op[i].inv)
				continue;
			found(f, "lost-write", i, j);
			mv_anomaly_describe(k, i, &f->why);
			mv_buf_addf(&f->why,
			    " of %s completed but no read returned it; ",
			    mv_anomaly_value(k, i));
			describe_read(k, j, &f->why);
			mv_buf_adds(&f->why, " after it");
			return 1;
		}
	}
	return 0;
}

/* Two ok cas from one value, when no other op wrote that value again. */
static int
cas_lu(struct mv_kctx *k, struct mv_finding *f)
{
	size_t *ix = mv_xmalloc((k->n + 1) * sizeof(*ix)), m = 0, i, j, w;
	int64_t x;
	int hit = 0;

	for (i = 0; i < k->n; i++)
		if (is_ok(k, i, MV_MOP_CAS))
			ix[m++] = i;
	sort_ops(k, ix, m, BY_FROM);
	for (i = 0; i + 1 < m && !hit; i++) {
		int64_t from = k->op[ix[i]].mop.a;

		if (from != k->op[ix[i + 1]].mop.a)
			continue;
		for (w = 0, j = 0; j < k->n; j++)
			if (written(k, j, &x) == 0 && x == from)
				w++;
		if (w > 1)
			continue;
		hit = 1;
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

static int
reg_classify(struct mv_kctx *k, size_t stuck, struct mv_finding *f)
{
	struct obs o;
	size_t i, j;
	int hit = 0;

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
	/* Stale reads before lost writes: a register loses track of many
	 * writes that nobody happened to read, so the lost-write pattern
	 * also shows in histories whose fault is a stale read, while a
	 * store that loses writes never hands out a value overwritten by
	 * an observed write. */
	hit = cas_lu(k, f) || cas_stale(k, &o, f);
	if (!hit && stuck != MV_NOPOS)
		hit = reg_stale(k, &o, stuck, f);
	for (i = 0; i < k->n && !hit; i++)
		hit = reg_stale(k, &o, i, f);
	if (!hit)
		hit = reg_lost(k, &o, f);
	free(o.v);
	free(o.w);
	return hit;
}

void
mv_anomaly_classify(struct mv_kctx *k, size_t stuck, struct mv_finding *f)
{
	int kind = mv_model_kind(k->m);

	if ((kind == MV_MODEL_REGISTER || kind == MV_MODEL_CAS_REGISTER
	        || kind == MV_MODEL_KV)
	    && reg_classify(k, stuck, f))
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
