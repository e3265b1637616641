/*
 * memsut.c: the embedded store of mv-exec.  Each apply is atomic (the
 * caller is single-threaded), so a history of it is linearizable unless a
 * bug was asked for.  Bugs keep up to OLD earlier states per key, so a
 * stale read or a stale compare returns something that really was there.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "json.h"
#include "memsut.h"

#define OLD 3

#define EXPECT_ANY INT64_MIN
#define EXPECT_EXISTS (INT64_MIN + 1)
#define EXPECT_NO_STREAM (-1)

static const char *const bug_names[] = {"stale-read", "lost-write",
    "lost-update", "duplicate-append", "torn-batch"};
#define NBUGS (sizeof(bug_names) / sizeof(bug_names[0]))

/* One key's state; which members are used depends on the workload. */
struct skey {
	char *name;
	uint64_t hash;
	int64_t v; /* register, cas-register, counter */
	int has;   /* register: written; kv: present */
	int64_t old[OLD];
	int oldhas[OLD];
	int nold;
	int seen;                   /* a read returned the current state */
	int oldseen[OLD];           /* a read returned old[i] */
	int lastapp;                /* kv: the last mutation was an append */
	struct mv_buf s, olds[OLD]; /* kv, escaped JSON without quotes */
	int64_t *sorted, *ins;      /* set: sorted, and in insertion order */
	size_t n, cap;
	struct mv_buf ev; /* stream: quoted event ids */
	size_t *off;      /* stream: start of each event in ev, plus end */
	size_t nev, capev;
	size_t oldn[OLD]; /* stream: earlier lengths */
};

struct mv_memsut {
	int workload;
	unsigned bugs;
	double rate;
	struct mv_rng rng;
	uint64_t version;
	struct skey **tab;
	size_t ntab, captab;
	int keep_old_strings;
};

int
mv_bug_parse(const char *list, unsigned *bugs, struct mv_err *e)
{
	const char *p = list;

	*bugs = 0;
	while (*p) {
		size_t n = strcspn(p, ","), i;

		for (i = 0; i < NBUGS; i++)
			if (strlen(bug_names[i]) == n
			    && memcmp(bug_names[i], p, n) == 0)
				break;
		if (i == NBUGS)
			return mv_err_set(e, "unknown bug: %.*s", (int)n, p);
		*bugs |= 1u << i;
		p += n + (p[n] == ',');
	}
	return 0;
}

void
mv_bug_write(struct mv_buf *b, unsigned bugs)
{
	size_t i;
	int first = 1;

	mv_buf_addc(b, '[');
	for (i = 0; i < NBUGS; i++)
		if (bugs & (1u << i)) {
			mv_buf_adds(b, first ? "\"" : ",\"");
			mv_buf_adds(b, bug_names[i]);
			mv_buf_addc(b, '"');
			first = 0;
		}
	mv_buf_addc(b, ']');
}

struct mv_memsut *
mv_memsut_new(int workload, unsigned bugs, double bug_rate, uint64_t seed)
{
	struct mv_memsut *s = mv_xcalloc(1, sizeof(*s));

	s->workload = workload;
	s->bugs = bugs;
	s->rate = bug_rate;
	/* Apart from the scheduler's stream, so bugs do not reorder it. */
	mv_rng_seed(&s->rng, seed ^ 0x6d656d737574ULL);
	s->captab = 64;
	s->tab = mv_xcalloc(s->captab, sizeof(*s->tab));
	s->keep_old_strings =
	    (bugs & (MV_BUG_STALE_READ | MV_BUG_LOST_UPDATE)) != 0;
	return s;
}

static void
key_free(struct skey *k)
{
	int i;

	free(k->name);
	mv_buf_release(&k->s);
	for (i = 0; i < OLD; i++)
		mv_buf_release(&k->olds[i]);
	free(k->sorted);
	free(k->ins);
	mv_buf_release(&k->ev);
	free(k->off);
	free(k);
}

void
mv_memsut_free(struct mv_memsut *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->captab; i++)
		if (s->tab[i])
			key_free(s->tab[i]);
	free(s->tab);
	free(s);
}

uint64_t
mv_memsut_version(const struct mv_memsut *s)
{
	return s->version;
}

static uint64_t
hash_str(const char *p)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

static void
tab_put(struct mv_memsut *s, struct skey *k)
{
	size_t i = k->hash & (s->captab - 1);

	while (s->tab[i])
		i = (i + 1) & (s->captab - 1);
	s->tab[i] = k;
	s->ntab++;
}

/* The record of key name, created on first use. */
static struct skey *
key_get(struct mv_memsut *s, const char *name)
{
	uint64_t h = hash_str(name);
	size_t i = h & (s->captab - 1);
	struct skey *k;

	for (; s->tab[i]; i = (i + 1) & (s->captab - 1))
		if (s->tab[i]->hash == h && strcmp(s->tab[i]->name, name) == 0)
			return s->tab[i];
	if (s->ntab * 2 >= s->captab) {
		struct skey **old = s->tab;
		size_t oldcap = s->captab;

		s->captab *= 2;
		s->tab = mv_xcalloc(s->captab, sizeof(*s->tab));
		s->ntab = 0;
		for (i = 0; i < oldcap; i++)
			if (old[i])
				tab_put(s, old[i]);
		free(old);
	}
	k = mv_xcalloc(1, sizeof(*k));
	k->name = mv_xstrdup(name);
	k->hash = h;
	tab_put(s, k);
	return k;
}

void
mv_memsut_op_init(struct mv_memsut_op *op)
{
	/* Buffers stay unallocated until used: an idle op owns nothing. */
	memset(op, 0, sizeof(*op));
}

void
mv_memsut_op_release(struct mv_memsut_op *op)
{
	mv_buf_release(&op->str);
	mv_buf_release(&op->res_value);
	free(op->evoff);
	mv_memsut_op_init(op);
}

/* Whether a bug of kind fires on this op. */
static int
bug(struct mv_memsut *s, unsigned kind)
{
	return (s->bugs & kind) && mv_rng_double(&s->rng) < s->rate;
}

/* ---- preparing: the op record's shape for the workload ---- */

static int
prep_cas(const struct mv_event *ev, struct mv_memsut_op *op, struct mv_err *e)
{
	struct mv_jv *v = mv_jv_parse(ev->value, strlen(ev->value), e);
	int ok = v && v->kind == MV_JARR && v->len == 2
	    && v->items[0].kind == MV_JINT && v->items[1].kind == MV_JINT;

	if (ok) {
		op->a = v->items[0].i;
		op->b = v->items[1].i;
	}
	mv_jv_free(v);
	return ok ? 0 : mv_err_set(e, "\"value\" of a cas is not [from,to]");
}

static int
prep_expect(const struct mv_jv *x, struct mv_memsut_op *op)
{
	if (x == NULL)
		op->b = EXPECT_ANY;
	else if (x->kind == MV_JINT && x->i >= -1)
		op->b = x->i;
	else if (x->kind != MV_JSTR)
		return -1;
	else if (strcmp(x->s, "any") == 0)
		op->b = EXPECT_ANY;
	else if (strcmp(x->s, "exists") == 0)
		op->b = EXPECT_EXISTS;
	else if (strcmp(x->s, "no-stream") == 0)
		op->b = EXPECT_NO_STREAM;
	else
		return -1;
	return 0;
}

static int
prep_sappend(
    const struct mv_event *ev, struct mv_memsut_op *op, struct mv_err *e)
{
	struct mv_jv *v = mv_jv_parse(ev->value, strlen(ev->value), e);
	const struct mv_jv *evs = v ? mv_jv_get(v, "events") : NULL;
	size_t i;
	int ok = evs && evs->kind == MV_JARR && evs->len > 0
	    && prep_expect(mv_jv_get(v, "expect"), op) == 0;

	for (i = 0; ok && i < evs->len; i++)
		ok = evs->items[i].kind == MV_JSTR;
	if (ok) {
		op->nev = evs->len;
		op->evoff = mv_xmalloc((evs->len + 1) * sizeof(*op->evoff));
		for (i = 0; i < evs->len; i++) {
			op->evoff[i] = op->str.len;
			mv_buf_add_jstr(
			    &op->str, evs->items[i].s, evs->items[i].len);
		}
		op->evoff[i] = op->str.len;
	}
	mv_jv_free(v);
	return ok ? 0
	          : mv_err_set(e,
	              "\"value\" of a stream append is not "
	              "{\"events\":[...],\"expect\":...}");
}

static int
prep_sread(const struct mv_event *ev, struct mv_memsut_op *op, struct mv_err *e)
{
	struct mv_jv *v;
	const struct mv_jv *from;
	int ok;

	op->a = 0;
	if (ev->value == NULL)
		return 0;
	v = mv_jv_parse(ev->value, strlen(ev->value), e);
	from = v ? mv_jv_get(v, "from") : NULL;
	ok = v && v->kind == MV_JOBJ
	    && (from == NULL || (from->kind == MV_JINT && from->i >= 0));
	if (ok && from)
		op->a = from->i;
	mv_jv_free(v);
	return ok ? 0
	          : mv_err_set(e,
	              "\"value\" of a stream read is not "
	              "{\"from\":N}");
}

/* The op's f for the workload, or -1. */
static int
op_kind(int w, const char *f)
{
	if (strcmp(f, "read") == 0)
		return w == MV_W_KV    ? -1
		    : w == MV_W_STREAM ? MV_SOP_SREAD
		                       : MV_SOP_READ;
	if (w == MV_W_KV)
		return strcmp(f, "get") == 0   ? MV_SOP_READ
		    : strcmp(f, "put") == 0    ? MV_SOP_WRITE
		    : strcmp(f, "append") == 0 ? MV_SOP_APPEND
		                               : -1;
	if (w == MV_W_STREAM)
		return strcmp(f, "append") == 0 ? MV_SOP_SAPPEND : -1;
	if (w == MV_W_SET || w == MV_W_COUNTER)
		return strcmp(f, "add") == 0 ? MV_SOP_ADD : -1;
	if (strcmp(f, "write") == 0)
		return MV_SOP_WRITE;
	return w == MV_W_CAS_REGISTER && strcmp(f, "cas") == 0 ? MV_SOP_CAS
	                                                       : -1;
}

int
mv_memsut_prepare(struct mv_memsut *s, const struct mv_event *ev,
    struct mv_memsut_op *op, struct mv_err *e)
{
	mv_memsut_op_release(op);
	if ((op->f = op_kind(s->workload, ev->f)) < 0)
		return mv_err_set(e,
		    "\"f\" \"%s\" is not an operation of "
		    "the %s workload",
		    ev->f, mv_workload_name(s->workload));
	if (ev->key == NULL)
		return mv_err_set(e, "missing \"key\"");
	op->key = key_get(s, ev->key);
	switch (op->f) {
	case MV_SOP_READ: return 0;
	case MV_SOP_SREAD: return prep_sread(ev, op, e);
	case MV_SOP_SAPPEND:
		if (ev->value == NULL)
			break;
		return prep_sappend(ev, op, e);
	case MV_SOP_CAS:
		if (ev->value == NULL)
			break;
		return prep_cas(ev, op, e);
	case MV_SOP_WRITE:
	case MV_SOP_APPEND:
		if (s->workload != MV_W_KV)
			break;
		if (ev->value == NULL || ev->value[0] != '"')
			return mv_err_set(
			    e, "\"value\" of %s is not a string", ev->f);
		mv_buf_add(&op->str, ev->value + 1, strlen(ev->value) - 2);
		return 0;
	default: break;
	}
	if (op->f == MV_SOP_ADD || op->f == MV_SOP_WRITE) {
		if (mv_raw_int(ev->value, &op->a) == 0)
			return 0;
		return mv_err_set(
		    e, "\"value\" of %s is not an integer", ev->f);
	}
	return mv_err_set(e, "missing \"value\" for %s", ev->f);
}

/* ---- applying ---- */

/* Remembers the current scalar (and string) state before a mutation. */
static void
push_old(struct mv_memsut *s, struct skey *k)
{
	int i;

	for (i = OLD - 1; i > 0; i--) {
		k->old[i] = k->old[i - 1];
		k->oldhas[i] = k->oldhas[i - 1];
		k->oldseen[i] = k->oldseen[i - 1];
	}
	k->oldseen[0] = k->seen;
	k->old[0] = k->v;
	k->oldhas[0] = k->has;
	if (s->keep_old_strings && s->workload == MV_W_KV) {
		struct mv_buf t = k->olds[OLD - 1];

		memmove(&k->olds[1], &k->olds[0], (OLD - 1) * sizeof(t));
		mv_buf_reset(&t);
		mv_buf_add(&t, k->s.p ? k->s.p : "", k->s.len);
		k->olds[0] = t;
	}
	if (k->nold < OLD)
		k->nold++;
	k->seen = 0;
	s->version++;
}

static void
res_int(struct mv_memsut_op *op, int64_t v)
{
	op->has_value = 1;
	mv_buf_addi(&op->res_value, v);
}

static void
read_scalar(struct mv_memsut *s, struct skey *k, struct mv_memsut_op *op)
{
	int64_t v = k->v;
	int has = k->has;
	const struct mv_buf *str = &k->s;
	int j = -1, i;

	/*
	 * stale-read: an earlier state, but only one that a read saw
	 * replaced (a read returned a state after it): a state nobody saw
	 * replaced looks the same as one whose later writes were all lost.
	 */
	if (k->nold > 0 && bug(s, MV_BUG_STALE_READ)) {
		j = (int)mv_rng_below(&s->rng, (uint64_t)k->nold);
		for (i = 0; i < j && !k->oldseen[i]; i++)
			;
		if (i == j && !k->seen)
			j = -1;
	}
	if (j >= 0) {
		v = k->old[j];
		has = k->oldhas[j];
		str = &k->olds[j];
	} else
		k->seen = 1;
	op->has_value = 1;
	if (s->workload == MV_W_COUNTER)
		mv_buf_addi(&op->res_value, v);
	else if (!has)
		mv_buf_adds(&op->res_value, "null");
	else if (s->workload != MV_W_KV)
		mv_buf_addi(&op->res_value, v);
	else {
		mv_buf_addc(&op->res_value, '"');
		mv_buf_add(&op->res_value, str->p ? str->p : "", str->len);
		mv_buf_addc(&op->res_value, '"');
	}
}

/* A set read; the stale-read bug leaves out the last few adds. */
static void
read_set(struct mv_memsut *s, struct skey *k, struct mv_memsut_op *op)
{
	size_t i, skip = 0, j;
	int first = 1;

	if (k->n > 0 && bug(s, MV_BUG_STALE_READ))
		skip = 1 + mv_rng_below(&s->rng, k->n < OLD ? k->n : OLD);
	op->has_value = 1;
	mv_buf_addc(&op->res_value, '[');
	for (i = 0; i < k->n; i++) {
		for (j = k->n - skip; j < k->n; j++)
			if (k->ins[j] == k->sorted[i])
				break;
		if (j < k->n)
			continue;
		if (!first)
			mv_buf_addc(&op->res_value, ',');
		mv_buf_addi(&op->res_value, k->sorted[i]);
		first = 0;
	}
	mv_buf_addc(&op->res_value, ']');
}

static void
set_add(struct skey *k, int64_t x)
{
	size_t lo = 0, hi = k->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (k->sorted[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < k->n && k->sorted[lo] == x)
		return;
	if (k->n == k->cap) {
		k->cap = k->cap ? k->cap * 2 : 16;
		k->sorted = mv_xrealloc(k->sorted, k->cap * sizeof(int64_t));
		k->ins = mv_xrealloc(k->ins, k->cap * sizeof(int64_t));
	}
	memmove(
	    &k->sorted[lo + 1], &k->sorted[lo], (k->n - lo) * sizeof(int64_t));
	k->sorted[lo] = x;
	k->ins[k->n++] = x;
}

/* Mutations of register, cas-register, counter, set and kv. */
static void
apply_mutation(struct mv_memsut *s, struct skey *k, struct mv_memsut_op *op)
{
	op->res_type = MV_OK;
	if (op->f == MV_SOP_CAS) {
		int hit = k->has && k->v == op->a;

		/*
		 * lost-update: compares with an earlier value too, when
		 * reads returned every state since: the history then shows
		 * the writes of those states overwritten, not lost.
		 */
		if (!hit && k->nold > 0 && bug(s, MV_BUG_LOST_UPDATE)) {
			int j;

			for (j = 0; j < k->nold && !hit; j++) {
				if (!(j == 0 ? k->seen : k->oldseen[j - 1]))
					break;
				hit = k->oldhas[j] && k->old[j] == op->a;
			}
		}
		if (!hit) {
			op->res_type = MV_FAIL;
			op->res_error = "\"mismatch\"";
			return;
		}
	}
	if (bug(s, MV_BUG_LOST_WRITE))
		return; /* acknowledged, never applied */
	if (op->f == MV_SOP_ADD && s->workload == MV_W_SET) {
		s->version++;
		set_add(k, op->a);
		return;
	}
	if (op->f == MV_SOP_ADD) {
		int64_t base = k->v;
		int j;

		/*
		 * lost-update: read-modify-write on an earlier value, lower
		 * than the current one after the add, and only once a read
		 * returned the current one: the counter then goes down, so
		 * the history shows an applied add overwritten, which a
		 * lost write could never do.
		 */
		if (k->seen && k->nold > 0 && bug(s, MV_BUG_LOST_UPDATE))
			for (j = 0; j < k->nold; j++)
				if (k->old[j] + op->a < k->v) {
					base = k->old[j];
					break;
				}
		push_old(s, k);
		k->v = base + op->a;
		return;
	}
	if (op->f == MV_SOP_APPEND) {
		int dup = bug(s, MV_BUG_DUPLICATE_APPEND);

		/*
		 * lost-update: on the state before the last append, once a
		 * read returned the state after it.  The history then shows
		 * that append's suffix replaced by this one's, which no
		 * stale read or lost write can produce (a put would leave
		 * no trace of the order).
		 */
		if (k->seen && k->lastapp && k->nold > 0 && s->keep_old_strings
		    && bug(s, MV_BUG_LOST_UPDATE)) {
			struct mv_buf t = k->olds[0];

			push_old(s, k);
			mv_buf_reset(&k->s);
			mv_buf_add(&k->s, t.p ? t.p : "", t.len);
		} else
			push_old(s, k);
		mv_buf_add(&k->s, op->str.p ? op->str.p : "", op->str.len);
		if (dup)
			mv_buf_add(
			    &k->s, op->str.p ? op->str.p : "", op->str.len);
		k->has = 1;
		k->lastapp = 1;
		return;
	}
	push_old(s, k);
	k->has = 1;
	k->lastapp = 0;
	if (s->workload == MV_W_KV) {
		mv_buf_reset(&k->s);
		mv_buf_add(&k->s, op->str.p ? op->str.p : "", op->str.len);
	} else
		k->v = op->f == MV_SOP_CAS ? op->b : op->a;
}

static void
stream_push(
    struct skey *k, const struct mv_memsut_op *op, size_t from, size_t to)
{
	size_t i;

	if (k->nev + (to - from) + 1 > k->capev) {
		k->capev = (k->nev + (to - from) + 1) * 2;
		k->off = mv_xrealloc(k->off, k->capev * sizeof(*k->off));
	}
	for (i = from; i < to; i++) {
		k->off[k->nev++] = k->ev.len;
		mv_buf_add(&k->ev, op->str.p + op->evoff[i],
		    op->evoff[i + 1] - op->evoff[i]);
	}
	k->off[k->nev] = k->ev.len;
}

static void
stream_old(struct mv_memsut *s, struct skey *k)
{
	memmove(&k->oldn[1], &k->oldn[0], (OLD - 1) * sizeof(k->oldn[0]));
	k->oldn[0] = k->nev;
	if (k->nold < OLD)
		k->nold++;
	s->version++;
}

static int
expect_ok(int64_t expect, int64_t version)
{
	if (expect == EXPECT_ANY)
		return 1;
	if (expect == EXPECT_EXISTS)
		return version >= 0;
	return expect == version;
}

static void
res_version(struct mv_memsut_op *op, int64_t v)
{
	op->has_value = 1;
	mv_buf_adds(&op->res_value, "{\"version\":");
	mv_buf_addi(&op->res_value, v);
	mv_buf_addc(&op->res_value, '}');
}

/* A stream append; returns 0 when a torn batch still needs its rest. */
static int
apply_sappend(struct mv_memsut *s, struct skey *k, struct mv_memsut_op *op)
{
	int64_t cur = (int64_t)k->nev - 1;
	int ok = expect_ok(op->b, cur);
	size_t half;

	if (op->steps++ > 0) { /* the rest of a torn batch */
		stream_push(k, op, op->nev / 2, op->nev);
		res_version(op, (int64_t)k->nev - 1);
		return 1;
	}
	/* lost-update: checks the expectation against an earlier version. */
	if (!ok && op->b >= -1 && k->nold > 0 && bug(s, MV_BUG_LOST_UPDATE))
		ok = op->b
		    == (int64_t)
		            k->oldn[mv_rng_below(&s->rng, (uint64_t)k->nold)]
		        - 1;
	if (!ok) {
		op->res_type = MV_FAIL;
		op->res_error = "\"wrong-expected-version\"";
		op->has_value = 1;
		mv_buf_adds(&op->res_value, "{\"actual\":");
		mv_buf_addi(&op->res_value, cur);
		mv_buf_addc(&op->res_value, '}');
		return 1;
	}
	op->res_type = MV_OK;
	if (bug(s, MV_BUG_LOST_WRITE)) {
		res_version(op, cur + (int64_t)op->nev);
		return 1;
	}
	stream_old(s, k);
	if (op->nev >= 2 && bug(s, MV_BUG_TORN_BATCH)) {
		half = op->nev / 2;
		stream_push(k, op, 0, half);
		op->torn = 1;
		return 0;
	}
	stream_push(k, op, 0, op->nev);
	if (bug(s, MV_BUG_DUPLICATE_APPEND))
		stream_push(k, op, 0, op->nev);
	res_version(op, (int64_t)k->nev - 1);
	return 1;
}

static void
apply_sread(struct mv_memsut *s, struct skey *k, struct mv_memsut_op *op)
{
	size_t n = k->nev, i;

	if (k->nold > 0 && bug(s, MV_BUG_STALE_READ))
		n = k->oldn[mv_rng_below(&s->rng, (uint64_t)k->nold)];
	op->res_type = MV_OK;
	op->has_value = 1;
	if (n == 0) {
		mv_buf_adds(&op->res_value, "null");
		return;
	}
	mv_buf_addc(&op->res_value, '[');
	for (i = (size_t)op->a; i < n; i++) {
		if (i > (size_t)op->a)
			mv_buf_addc(&op->res_value, ',');
		mv_buf_add(&op->res_value, k->ev.p + k->off[i],
		    k->off[i + 1] - k->off[i]);
	}
	mv_buf_addc(&op->res_value, ']');
}

int
mv_memsut_apply(struct mv_memsut *s, struct mv_memsut_op *op)
{
	struct skey *k = op->key;

	switch (op->f) {
	case MV_SOP_SAPPEND: return apply_sappend(s, k, op);
	case MV_SOP_SREAD: apply_sread(s, k, op); return 1;
	case MV_SOP_READ:
		op->res_type = MV_OK;
		if (s->workload == MV_W_SET)
			read_set(s, k, op);
		else
			read_scalar(s, k, op);
		return 1;
	default: break;
	}
	apply_mutation(s, k, op);
	/* Writes complete with the value they wrote, as invoked. */
	if (s->workload == MV_W_KV) {
		op->has_value = 1;
		mv_buf_addc(&op->res_value, '"');
		mv_buf_add(
		    &op->res_value, op->str.p ? op->str.p : "", op->str.len);
		mv_buf_addc(&op->res_value, '"');
	} else if (op->f == MV_SOP_CAS) {
		op->has_value = 1;
		mv_buf_addf(&op->res_value, "[%lld,%lld]", (long long)op->a,
		    (long long)op->b);
	} else
		res_int(op, op->a);
	return 1;
}
