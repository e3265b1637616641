/*
 * setcheck.c: property checks in the manner of Jepsen's set-full,
 * counter, bank and unique-ids checkers, each linear or n log n in the
 * size of the history (plus the total size of the reads).
 *
 * Set.  Ops "add" of a value and "read" returning an array of values, per
 * key.  An element is known from the first instant it is certainly in the
 * set: the completion of its first ok add, or of the first read that
 * returned it, whichever is first.  Then:
 *   lost: known, and a read began after it was known and after the last
 *     read that returned it had completed, and lacks it (so every read
 *     from some point on lacks it);
 *   stale: known, not lost, yet a read that began after it was known
 *     lacks it (it came back later);
 *   unexpected: a read returned it but no ok or info add of it had begun
 *     before that read completed (a failed add does not count);
 *   duplicated: one read returned it more than once (set-full never
 *     reports these);
 *   never-read, stable: known, and no read began after that, or every
 *     read that did has it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "model.h"
#include "xcheck.h"

#define NEX 5 /* examples kept per kind */

/*
 * Interns the canonical text of the JSON value raw[0..n), prefixed by a
 * key number, as an atom of m.  Text without escapes, arrays, objects or
 * "-0" is already canonical (the reader keeps values compact).
 */
static uint32_t
canon_atom(struct mv_model *m, struct mv_buf *b, uint32_t key,
    const struct mv_jv *v, const char *raw)
{
	mv_buf_reset(b);
	mv_buf_addf(b, "%u ", key);
	if (v)
		mv_jv_write(b, v);
	else if (raw)
		mv_buf_adds(b, raw);
	return mv_model_atom(m, b->p, b->len);
}

static int
canon_raw_ok(const char *raw)
{
	return raw[0] != '[' && raw[0] != '{' && strchr(raw, '\\') == NULL
	    && strcmp(raw, "-0") != 0;
}

/* The atom of raw (key-prefixed); -1 when raw is not JSON. */
static int64_t
raw_atom(struct mv_model *m, struct mv_buf *b, uint32_t key, const char *raw)
{
	struct mv_jv *v;
	struct mv_err e;
	uint32_t a;

	if (canon_raw_ok(raw))
		return canon_atom(m, b, key, NULL, raw);
	if ((v = mv_jv_parse(raw, strlen(raw), &e)) == NULL)
		return -1;
	a = canon_atom(m, b, key, v, NULL);
	mv_jv_free(v);
	return a;
}

/* Numbers the keys of x's ops from 1 (keyno[i] for op i); returns the
 * largest number. */
static uint32_t
number_keys(struct mv_xctx *x, struct mv_model *km, uint32_t *keyno)
{
	uint32_t nk = 0;
	size_t i;

	for (i = 0; i < x->n; i++) {
		keyno[i] =
		    mv_model_atom(km, x->op[i].key, strlen(x->op[i].key));
		if (keyno[i] > nk)
			nk = keyno[i];
	}
	return nk;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Per element of the set check. */
struct elem {
	size_t okadd;   /* op of the first-completing ok add, or MV_XNONE */
	size_t anyinv;  /* earliest invocation of an ok or info add */
	size_t failadd; /* some failed add, or MV_XNONE */
	size_t seen;    /* the first-completing read that returned it */
	size_t lastp;   /* the last-completing read that returned it */
	size_t known;   /* event position it is known from, or MV_XNONE */
	size_t dup;     /* a read that returned it twice */
	size_t unexp;   /* a read that returned it unexpectedly */
	uint32_t key, present_after; /* reads after known that have it */
	const char *text;            /* its value, as JSON */
};

struct setrun {
	struct mv_xctx *x;
	struct mv_model *m, *km; /* elements; keys */
	struct mv_buf tmp;
	struct elem *el;
	size_t nel;
	uint32_t **rd; /* per op: the read's sorted atoms, or NULL */
	size_t *rdn;   /* their counts */
	uint32_t *keyno;
	size_t **kreads; /* per key: its read ops, in invocation order */
	size_t *nkreads;
	uint32_t nkeys;
};

static struct elem *
elem_of(struct setrun *s, uint32_t a, uint32_t key, const char *text)
{
	if (a >= s->nel) {
		size_t old = s->nel, i;

		s->nel = (a + 1) * 2;
		s->el = mv_xrealloc(s->el, s->nel * sizeof(*s->el));
		for (i = old; i < s->nel; i++) {
			memset(&s->el[i], 0, sizeof(s->el[i]));
			s->el[i].okadd = s->el[i].anyinv = MV_XNONE;
			s->el[i].failadd = s->el[i].seen = MV_XNONE;
			s->el[i].lastp = s->el[i].known = MV_XNONE;
			s->el[i].dup = s->el[i].unexp = MV_XNONE;
		}
	}
	if (s->el[a].text == NULL) {
		s->el[a].key = key;
		s->el[a].text = text;
	}
	return &s->el[a];
}

/* The value text of atom a without its key prefix. */
static const char *
atom_value(const struct setrun *s, uint32_t a)
{
	const char *t = mv_model_atom_text(s->m, a);

	return strchr(t, ' ') + 1;
}

/* Reads op i's array into s->rd[i], sorted; -1 on a malformed result. */
static int
load_read(struct setrun *s, size_t i)
{
	struct mv_xctx *x = s->x;
	const struct mv_xop *o = &x->op[i];
	struct mv_jv *v;
	struct mv_err e;
	size_t j, n;

	if (strcmp(o->out, "null") == 0) {
		s->rd[i] = mv_xmalloc(sizeof(uint32_t));
		s->rdn[i] = 0;
		return 0;
	}
	v = mv_jv_parse(o->out, strlen(o->out), &e);
	if (v == NULL || v->kind != MV_JARR) {
		mv_jv_free(v);
		return mv_xbad(x, o->ret, "read result is not an array");
	}
	n = v->len;
	s->rd[i] = mv_xmalloc((n + 1) * sizeof(uint32_t));
	for (j = 0; j < n; j++)
		s->rd[i][j] =
		    canon_atom(s->m, &s->tmp, s->keyno[i], &v->items[j], NULL);
	mv_jv_free(v);
	qsort(s->rd[i], n, sizeof(uint32_t), cmp_u32);
	s->rdn[i] = n;
	return 0;
}

static int
has(const struct setrun *s, size_t r, uint32_t a)
{
	return bsearch(&a, s->rd[r], s->rdn[r], sizeof(a), cmp_u32) != NULL;
}

/* An ok read with a result (null is unknown under --nil-unknown). */
static int
is_ok_read(const struct mv_xctx *x, const struct mv_xop *o)
{
	return strcmp(o->f, "read") == 0 && o->status == MV_OK && o->out
	    && !(x->o->nil_unknown && strcmp(o->out, "null") == 0);
}

/* Pass 1: adds, reads and what each element is known from. */
static int
set_scan(struct setrun *s)
{
	struct mv_xctx *x = s->x;
	size_t i, j;

	for (i = 0; i < x->n; i++) {
		const struct mv_xop *o = &x->op[i];
		int64_t a;
		struct elem *el;

		if (strcmp(o->f, "add") == 0) {
			if (o->in == NULL
			    || (a = raw_atom(s->m, &s->tmp, s->keyno[i], o->in))
			        < 0)
				return mv_xbad(x, o->inv, "add has no value");
			el = elem_of(s, (uint32_t)a, s->keyno[i], o->in);
			if (o->status == MV_FAIL)
				el->failadd = i;
			else if (el->anyinv == MV_XNONE)
				el->anyinv = o->inv;
			if (o->status == MV_OK
			    && (el->okadd == MV_XNONE
			        || o->ret < x->op[el->okadd].ret))
				el->okadd = i;
			continue;
		}
		if (strcmp(o->f, "read") != 0)
			return mv_xbad(x, o->inv,
			    "\"%s\" is not an operation of the set check",
			    o->f);
		if (!is_ok_read(x, o))
			continue;
		if (load_read(s, i) < 0)
			return -1;
	}
	for (i = 0; i < x->n; i++) {
		if (s->rd[i] == NULL)
			continue;
		for (j = 0; j < s->rdn[i]; j++) {
			uint32_t a = s->rd[i][j];
			struct elem *el = elem_of(s, a, s->keyno[i], NULL);

			if (j > 0 && s->rd[i][j - 1] == a
			    && el->dup == MV_XNONE)
				el->dup = i;
			if ((el->anyinv == MV_XNONE
			        || el->anyinv > x->op[i].ret)
			    && el->unexp == MV_XNONE)
				el->unexp = i;
			if (el->seen == MV_XNONE
			    || x->op[i].ret < x->op[el->seen].ret)
				el->seen = i;
			if (el->lastp == MV_XNONE
			    || x->op[i].ret > x->op[el->lastp].ret)
				el->lastp = i;
		}
	}
	for (i = 0; i < s->nel; i++) {
		struct elem *el = &s->el[i];
		size_t k = MV_XNONE;

		if (el->okadd != MV_XNONE)
			k = x->op[el->okadd].ret;
		if (el->seen != MV_XNONE
		    && (k == MV_XNONE || x->op[el->seen].ret < k))
			k = x->op[el->seen].ret;
		el->known = k;
	}
	return 0;
}

/* Index in key k's reads of the first read invoked after pos. */
static size_t
first_read_after(const struct setrun *s, uint32_t k, size_t pos)
{
	const size_t *r = s->kreads[k];
	size_t lo = 0, hi = s->nkreads[k];

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->x->op[r[mid]].inv <= pos)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
group_reads(struct setrun *s)
{
	size_t i;

	s->kreads = mv_xcalloc(s->nkeys + 2, sizeof(*s->kreads));
	s->nkreads = mv_xcalloc(s->nkeys + 2, sizeof(*s->nkreads));
	for (i = 0; i < s->x->n; i++)
		if (s->rd[i])
			s->nkreads[s->keyno[i]]++;
	for (i = 0; i < s->nkeys + 2; i++) {
		s->kreads[i] = mv_xmalloc((s->nkreads[i] + 1) * sizeof(size_t));
		s->nkreads[i] = 0;
	}
	for (i = 0; i < s->x->n; i++)
		if (s->rd[i])
			s->kreads[s->keyno[i]][s->nkreads[s->keyno[i]]++] = i;
}

enum { K_LOST, K_UNEXP, K_DUP, K_STALE, K_NEVER, K_STABLE, K_NKIND };
static const char *const kind_name[] = {
    "lost", "unexpected", "duplicated", "stale", "never-read", "stable"};

/* The first read of key k from index j on that lacks a. */
static size_t
absent_from(const struct setrun *s, uint32_t k, size_t j, uint32_t a)
{
	for (; j < s->nkreads[k]; j++)
		if (!has(s, s->kreads[k][j], a))
			return s->kreads[k][j];
	return MV_XNONE;
}

/* Says why element a is lost or stale: absent is the read lacking it. */
static void
why_missing(struct setrun *s, uint32_t a, size_t absent, int lost)
{
	struct mv_xctx *x = s->x;
	const struct elem *el = &s->el[a];
	size_t from = el->okadd != MV_XNONE
	        && (el->seen == MV_XNONE
	            || x->op[el->okadd].ret <= x->op[el->seen].ret)
	    ? el->okadd
	    : el->seen;

	mv_xfound(x, lost ? "lost" : "stale");
	mv_xaddop(x, from);
	if (lost && el->lastp != MV_XNONE && el->lastp != from)
		mv_xaddop(x, el->lastp);
	mv_xaddop(x, absent);
	mv_xdescribe(x, absent, &x->why);
	mv_buf_addf(
	    &x->why, " lacks %s, though it began after ", atom_value(s, a));
	mv_xdescribe(x, from, &x->why);
	mv_buf_adds(&x->why, from == el->okadd ? " completed" : " returned it");
	if (!lost) {
		mv_buf_adds(&x->why, "; a later read has it again");
		return;
	}
	if (el->lastp != MV_XNONE && el->lastp != from) {
		mv_buf_adds(&x->why, " and after ");
		mv_xdescribe(x, el->lastp, &x->why);
		mv_buf_adds(&x->why, ", the last read to have it, completed");
	}
	mv_buf_adds(&x->why, "; no later read has it");
}

static void
why_read(struct setrun *s, uint32_t a, int dup)
{
	struct mv_xctx *x = s->x;
	const struct elem *el = &s->el[a];
	size_t r = dup ? el->dup : el->unexp;

	mv_xfound(x, dup ? "duplicated" : "unexpected");
	mv_xaddop(x, r);
	mv_xdescribe(x, r, &x->why);
	if (dup) {
		mv_buf_addf(
		    &x->why, " returned %s more than once", atom_value(s, a));
		return;
	}
	mv_buf_addf(&x->why,
	    " returned %s, which no add begun before it "
	    "completed could have added",
	    atom_value(s, a));
	if (el->failadd != MV_XNONE) {
		mv_xaddop(x, el->failadd);
		mv_buf_adds(&x->why, " (");
		mv_xdescribe(x, el->failadd, &x->why);
		mv_buf_adds(&x->why, " failed)");
	}
}

/* Adds element a to a list of examples: its value, or with its key. */
static void
add_example(struct setrun *s, struct mv_buf *b, size_t *n, uint32_t a)
{
	const char *key = mv_model_atom_text(s->km, s->el[a].key);

	if (*n >= NEX)
		return;
	mv_buf_adds(b, *n ? "," : "");
	(*n)++;
	if (key[0] == '\0') {
		mv_buf_adds(b, atom_value(s, a));
		return;
	}
	mv_buf_adds(b, "{\"key\":");
	mv_buf_add_jstr(b, key, strlen(key));
	mv_buf_addf(b, ",\"value\":%s}", atom_value(s, a));
}

/* Pass 2: classifies every known element; fills counts and the finding. */
static void
set_classify(struct setrun *s)
{
	struct mv_xctx *x = s->x;
	size_t cnt[K_NKIND] = {0}, nex[K_NKIND] = {0}, i, j, attempted = 0;
	size_t acked = 0, first[K_NKIND], k, abs;
	struct mv_buf ex[K_NKIND];

	for (k = 0; k < K_NKIND; k++) {
		mv_buf_init(&ex[k]);
		first[k] = MV_XNONE;
	}
	/* reads after known that have the element */
	for (i = 0; i < x->n; i++)
		for (j = 0; s->rd[i] && j < s->rdn[i]; j++) {
			struct elem *el = &s->el[s->rd[i][j]];

			if ((j == 0 || s->rd[i][j - 1] != s->rd[i][j])
			    && el->known != MV_XNONE
			    && x->op[i].inv > el->known)
				el->present_after++;
		}
	for (i = 0; i < s->nel; i++) {
		struct elem *el = &s->el[i];
		uint32_t a = (uint32_t)i;
		size_t after, t;
		int kind = -1;

		if (el->text == NULL && el->seen == MV_XNONE)
			continue;
		attempted += el->anyinv != MV_XNONE || el->failadd != MV_XNONE;
		acked += el->okadd != MV_XNONE;
		if (el->unexp != MV_XNONE) {
			cnt[K_UNEXP]++;
			add_example(s, &ex[K_UNEXP], &nex[K_UNEXP], a);
			if (first[K_UNEXP] == MV_XNONE)
				first[K_UNEXP] = i;
		}
		if (el->dup != MV_XNONE) {
			cnt[K_DUP]++;
			add_example(s, &ex[K_DUP], &nex[K_DUP], a);
			if (first[K_DUP] == MV_XNONE)
				first[K_DUP] = i;
		}
		/* elements nobody tried to add are only unexpected */
		if (el->known == MV_XNONE || el->anyinv == MV_XNONE)
			continue;
		t = el->known;
		if (el->lastp != MV_XNONE && x->op[el->lastp].ret > t)
			t = x->op[el->lastp].ret;
		after = first_read_after(s, el->key, el->known);
		if (first_read_after(s, el->key, t) < s->nkreads[el->key])
			kind = K_LOST;
		else if (after == s->nkreads[el->key])
			kind = K_NEVER;
		else if (s->nkreads[el->key] - after > el->present_after)
			kind = K_STALE;
		else
			kind = K_STABLE;
		cnt[kind]++;
		add_example(s, &ex[kind], &nex[kind], a);
		if (first[kind] == MV_XNONE)
			first[kind] = i;
	}
	/* The finding: the worst kind first. */
	if ((i = first[K_LOST]) != MV_XNONE) {
		const struct elem *el = &s->el[i];
		size_t t = el->known;

		if (el->lastp != MV_XNONE && x->op[el->lastp].ret > t)
			t = x->op[el->lastp].ret;
		abs = s->kreads[el->key][first_read_after(s, el->key, t)];
		why_missing(s, (uint32_t)i, abs, 1);
	} else if ((i = first[K_UNEXP]) != MV_XNONE)
		why_read(s, (uint32_t)i, 0);
	else if ((i = first[K_DUP]) != MV_XNONE)
		why_read(s, (uint32_t)i, 1);
	else if ((i = first[K_STALE]) != MV_XNONE) {
		const struct elem *el = &s->el[i];

		abs = absent_from(s, el->key,
		    first_read_after(s, el->key, el->known), (uint32_t)i);
		why_missing(s, (uint32_t)i, abs, 0);
	}
	mv_buf_addf(&x->extra,
	    ",\"counts\":{\"attempted\":%zu,\"acknowledged\":%zu", attempted,
	    acked);
	for (k = 0; k < K_NKIND; k++)
		mv_buf_addf(&x->extra, ",\"%s\":%zu", kind_name[k], cnt[k]);
	mv_buf_adds(&x->extra, "},\"examples\":{");
	for (k = 0; k < K_NKIND - 1; k++) {
		mv_buf_addf(
		    &x->extra, "%s\"%s\":[", k ? "," : "", kind_name[k]);
		mv_buf_add(&x->extra, ex[k].p, ex[k].len);
		mv_buf_addc(&x->extra, ']');
	}
	mv_buf_addc(&x->extra, '}');
	for (k = 0; k < K_NKIND; k++)
		mv_buf_release(&ex[k]);
}

int
mv_setcheck_set(struct mv_xctx *x)
{
	struct setrun s;
	struct mv_model *km = mv_model_new(MV_MODEL_SET);
	size_t i;
	int rc;

	memset(&s, 0, sizeof(s));
	s.x = x;
	s.km = km;
	s.m = mv_model_new(MV_MODEL_SET);
	mv_buf_init(&s.tmp);
	s.rd = mv_xcalloc(x->n + 1, sizeof(*s.rd));
	s.rdn = mv_xcalloc(x->n + 1, sizeof(*s.rdn));
	s.keyno = mv_xmalloc((x->n + 1) * sizeof(*s.keyno));
	s.nkeys = number_keys(x, km, s.keyno);
	rc = set_scan(&s);
	if (rc == 0) {
		group_reads(&s);
		set_classify(&s);
	}
	for (i = 0; i < x->n; i++)
		free(s.rd[i]);
	for (i = 0; s.kreads && i < s.nkeys + 2; i++)
		free(s.kreads[i]);
	free(s.kreads);
	free(s.nkreads);
	free(s.rd);
	free(s.rdn);
	free(s.keyno);
	free(s.el);
	mv_buf_release(&s.tmp);
	mv_model_free(s.m);
	mv_model_free(km);
	return rc;
}

/* As mv_raw_int, but null counts as 0 (a counter nobody added to). */
static int
raw_int(const char *raw, int64_t *out)
{
	if (raw && strcmp(raw, "null") == 0) {
		*out = 0;
		return 0;
	}
	return mv_raw_int(raw, out);
}

static int
cmp_pos(const void *a, const void *b)
{
	const size_t *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/*
 * Counter, per key (ops[0..n) of one key, in invocation order; *bad the
 * first read out of bounds, *nbad their count): a read must lie between the sum
 * of the ok adds that completed before it began, plus every negative add that
 * may have taken effect by its end, and that sum plus every positive one (adds
 * ok or info invoked before it completed).  An add may be negative.
 */
static int
counter_key(struct mv_xctx *x, const size_t *ops, size_t n, size_t *bad,
    size_t *nread, size_t *nbad)
{
	/* (ret, op) of ok adds in completion order, and prefix sums */
	size_t *done = mv_xmalloc((2 * n + 2) * sizeof(*done)), nd = 0, i, j;
	int64_t *val = mv_xmalloc((n + 1) * sizeof(*val));
	int64_t *sum = mv_xmalloc((n + 1) * sizeof(*sum));
	int64_t *neg = mv_xmalloc((n + 1) * sizeof(*neg));
	int64_t lo, hi, inneg = 0, inpos = 0, c;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		const struct mv_xop *o = &x->op[ops[i]];

		if (strcmp(o->f, "add") == 0) {
			if (raw_int(o->in, &val[i]) < 0)
				rc = mv_xbad(x, o->inv,
				    "add value is not an "
				    "integer");
			else if (o->status == MV_OK) {
				done[2 * nd] = o->ret;
				done[2 * nd++ + 1] = i;
			}
		} else if (strcmp(o->f, "read") != 0)
			rc = mv_xbad(x, o->inv,
			    "\"%s\" is not an operation of the counter check",
			    o->f);
		else if (is_ok_read(x, o) && raw_int(o->out, &val[i]) < 0)
			rc =
			    mv_xbad(x, o->ret, "read result is not an integer");
	}
	qsort(done, nd, 2 * sizeof(*done), cmp_pos);
	sum[0] = neg[0] = 0;
	for (j = 0; j < nd; j++) {
		c = val[done[2 * j + 1]];
		sum[j + 1] = sum[j] + c;
		neg[j + 1] = neg[j] + (c < 0 ? c : 0);
	}
	/* ops are in invocation order: one sweep keeps the adds begun
	 * before each read completed, another the adds done before it began */
	for (i = 0; i < n && rc == 0; i++) {
		const struct mv_xop *o = &x->op[ops[i]];
		size_t k, a, b;
		int64_t p = 0, q = 0;

		if (strcmp(o->f, "add") == 0 && o->status != MV_FAIL) {
			*(val[i] < 0 ? &inneg : &inpos) += val[i];
			continue;
		}
		if (!is_ok_read(x, o))
			continue;
		(*nread)++;
		for (k = i + 1; k < n && x->op[ops[k]].inv < o->ret; k++)
			if (strcmp(x->op[ops[k]].f, "add") == 0
			    && x->op[ops[k]].status != MV_FAIL)
				*(val[k] < 0 ? &q : &p) += val[k];
		for (a = 0, b = nd; a < b;) {
			size_t mid = (a + b) / 2;

			if (done[2 * mid] < o->inv)
				a = mid + 1;
			else
				b = mid;
		}
		/* certain: sum[a]; maybe: the rest of those begun */
		lo = sum[a] + (inneg + q - neg[a]);
		hi = sum[a] + (inpos + p - (sum[a] - neg[a]));
		if (val[i] >= lo && val[i] <= hi)
			continue;
		if (*bad == MV_XNONE) {
			*bad = ops[i];
			mv_xfound(x, "counter-out-of-bounds");
			mv_xaddop(x, ops[i]);
			mv_xdescribe(x, ops[i], &x->why);
			mv_buf_addf(&x->why,
			    " returned %lld, outside [%lld, %lld]: ",
			    (long long)val[i], (long long)lo, (long long)hi);
			mv_buf_addf(&x->why,
			    "ok adds completed before it began total %lld",
			    (long long)sum[a]);
			if (a > 0) {
				mv_buf_adds(&x->why, " (the last: ");
				mv_xdescribe(
				    x, ops[done[2 * (a - 1) + 1]], &x->why);
				mv_buf_addc(&x->why, ')');
				mv_xaddop(x, ops[done[2 * (a - 1) + 1]]);
			}
		}
		(*nbad)++;
	}
	free(done);
	free(val);
	free(sum);
	free(neg);
	return rc;
}

/* Groups x's ops by key, stably: returns the order, start[k] per key. */
static size_t *
by_key(struct mv_xctx *x, struct mv_model *km, size_t **start, uint32_t *nk)
{
	uint32_t *keyno = mv_xmalloc((x->n + 1) * sizeof(*keyno));
	size_t *order = mv_xmalloc((x->n + 1) * sizeof(*order)), i, *st;

	*nk = number_keys(x, km, keyno) + 1;
	st = *start = mv_xcalloc(*nk + 2, sizeof(**start));
	for (i = 0; i < x->n; i++)
		st[keyno[i] + 2]++;
	for (i = 2; i < *nk + 2; i++)
		st[i] += st[i - 1];
	for (i = 0; i < x->n; i++)
		order[st[keyno[i] + 1]++] = i;
	free(keyno);
	return order;
}

int
mv_setcheck_counter(struct mv_xctx *x)
{
	struct mv_model *km = mv_model_new(MV_MODEL_SET);
	size_t *start, *order, bad = MV_XNONE, nread = 0, nbad = 0;
	uint32_t nk, k;
	int rc = 0;

	order = by_key(x, km, &start, &nk);
	for (k = 0; k < nk && rc == 0; k++)
		rc = counter_key(x, order + start[k], start[k + 1] - start[k],
		    &bad, &nread, &nbad);
	mv_buf_addf(&x->extra,
	    ",\"counts\":{\"reads\":%zu,\"out-of-bounds\":%zu}", nread, nbad);
	free(start);
	free(order);
	mv_model_free(km);
	return rc;
}

/* The configured bank total: --bank-total, else the meta line's
 * "bank-total" or "bank":{"total":N}.  0 when there is none. */
static int
bank_total(const struct mv_xctx *x, int64_t *total)
{
	struct mv_jv *v;
	const struct mv_jv *t = NULL, *b;
	struct mv_err e;
	int found = 0;

	if (x->o->has_bank_total) {
		*total = x->o->bank_total;
		return 1;
	}
	if (x->h->meta.raw == NULL
	    || (v = mv_jv_parse(x->h->meta.raw, strlen(x->h->meta.raw), &e))
	        == NULL)
		return 0;
	if ((t = mv_jv_get(v, "bank-total")) == NULL
	    && (b = mv_jv_get(v, "bank")) != NULL && b->kind == MV_JOBJ)
		t = mv_jv_get(b, "total");
	if (t && t->kind == MV_JINT) {
		*total = t->i;
		found = 1;
	}
	mv_jv_free(v);
	return found;
}

static int
bank_transfer(struct mv_xctx *x, const struct mv_xop *o)
{
	struct mv_jv *v;
	const struct mv_jv *a;
	struct mv_err e;
	int ok;

	if (o->in == NULL
	    || (v = mv_jv_parse(o->in, strlen(o->in), &e)) == NULL)
		return mv_xbad(x, o->inv, "transfer has no value");
	ok = v->kind == MV_JOBJ && mv_jv_get(v, "from") && mv_jv_get(v, "to")
	    && (a = mv_jv_get(v, "amount")) != NULL && a->kind == MV_JINT;
	mv_jv_free(v);
	if (!ok)
		return mv_xbad(x, o->inv,
		    "transfer value is not {\"from\":A,\"to\":B,\"amount\":N}");
	return 0;
}

/*
 * Bank: every ok read returns a map of account to balance whose total is
 * the bank's, with no balance below zero.  Transfers are only checked for
 * their shape: the reads are what a client sees.
 */
int
mv_setcheck_bank(struct mv_xctx *x)
{
	int64_t total = 0, sum;
	int have = bank_total(x, &total);
	size_t i, j, nread = 0, nwrong = 0, nneg = 0;
	const char *src = x->o->has_bank_total ? "option" : "meta";

	for (i = 0; i < x->n; i++) {
		const struct mv_xop *o = &x->op[i];
		struct mv_jv *v;
		struct mv_err e;
		size_t neg = MV_XNONE;

		if (strcmp(o->f, "transfer") == 0) {
			if (bank_transfer(x, o) < 0)
				return -1;
			continue;
		}
		if (strcmp(o->f, "read") != 0)
			return mv_xbad(x, o->inv,
			    "\"%s\" is not an operation of the bank check",
			    o->f);
		if (o->status != MV_OK || o->out == NULL)
			continue;
		v = mv_jv_parse(o->out, strlen(o->out), &e);
		for (j = 0, sum = 0; v && v->kind == MV_JOBJ && j < v->len;
		     j++) {
			if (v->items[j].kind != MV_JINT)
				break;
			sum += v->items[j].i;
			if (v->items[j].i < 0 && neg == MV_XNONE)
				neg = j;
		}
		if (v == NULL || v->kind != MV_JOBJ || j < v->len) {
			mv_jv_free(v);
			return mv_xbad(x, o->ret,
			    "read result is not an object "
			    "of integer balances");
		}
		nread++;
		if (!have) {
			total = sum;
			have = 1;
			src = "first-read";
		}
		if (sum != total || neg != MV_XNONE) {
			nwrong += sum != total;
			nneg += neg != MV_XNONE;
			if (x->anomaly == NULL) {
				mv_xfound(x,
				    sum != total ? "wrong-total"
				                 : "negative-balance");
				mv_xaddop(x, i);
				mv_xdescribe(x, i, &x->why);
				if (sum != total)
					mv_buf_addf(&x->why,
					    " returned balances totalling "
					    "%lld, not %lld",
					    (long long)sum, (long long)total);
				else
					mv_buf_addf(&x->why,
					    " returned %lld for account %s",
					    (long long)v->items[neg].i,
					    v->keys[neg]);
			}
		}
		mv_jv_free(v);
	}
	mv_buf_addf(&x->extra,
	    ",\"total\":%lld,\"total-from\":\"%s\",\"counts\":{\"reads\":%zu,"
	    "\"wrong-total\":%zu,\"negative-balance\":%zu}",
	    (long long)total, have ? src : "none", nread, nwrong, nneg);
	return 0;
}

/* Unique ids: no two ok "generate" ops return the same value. */
int
mv_setcheck_ids(struct mv_xctx *x)
{
	struct mv_model *m = mv_model_new(MV_MODEL_SET);
	struct mv_buf tmp;
	size_t *owner = NULL, cap = 0, i, att = 0, ack = 0, ndup = 0;
	int64_t a;
	int rc = 0;

	mv_buf_init(&tmp);
	for (i = 0; i < x->n && rc == 0; i++) {
		const struct mv_xop *o = &x->op[i];

		if (strcmp(o->f, "generate") != 0) {
			rc = mv_xbad(x, o->inv,
			    "\"%s\" is not an operation of the unique-ids "
			    "check",
			    o->f);
			break;
		}
		att++;
		if (o->status != MV_OK || o->out == NULL)
			continue;
		ack++;
		if ((a = raw_atom(m, &tmp, 0, o->out)) < 0) {
			rc = mv_xbad(x, o->ret, "result is not JSON");
			break;
		}
		if ((size_t)a >= cap) {
			size_t old = cap;

			cap = ((size_t)a + 1) * 2;
			owner = mv_xrealloc(owner, cap * sizeof(*owner));
			while (old < cap)
				owner[old++] = MV_XNONE;
		}
		if (owner[a] == MV_XNONE) {
			owner[a] = i;
			continue;
		}
		if (ndup++ == 0) {
			mv_xfound(x, "duplicate-id");
			mv_xaddop(x, owner[a]);
			mv_xaddop(x, i);
			mv_xdescribe(x, i, &x->why);
			mv_buf_addf(&x->why, " returned %s, as did ", o->out);
			mv_xdescribe(x, owner[a], &x->why);
		}
	}
	mv_buf_addf(&x->extra,
	    ",\"counts\":{\"attempted\":%zu,\"acknowledged\":%zu,"
	    "\"duplicated\":%zu}",
	    att, ack, ndup);
	free(owner);
	mv_buf_release(&tmp);
	mv_model_free(m);
	return rc;
}
