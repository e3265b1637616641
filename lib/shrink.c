/*
 * shrink.c: ddmin (Zeller and Hildebrandt, "Simplifying and isolating
 * failure-inducing input", 2002) over the operations of a failing history.
 *
 * The test of a candidate is "mv_check says invalid, with the same anomaly
 * name".  Before the search proper two cheap guesses are tried, since on
 * real histories they usually cut thousands of operations in one check:
 * the operations of the key the verdict names (keys are independent, so
 * the others cannot matter), then the operations the verdict lists.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shrink.h"

/* An operation: its invocation and completion, or one lone event. */
struct unit {
	size_t ev[2];
	int n;
};

struct shrink {
	const struct mv_history *h;
	const char *name;
	struct mv_check_opts co;
	struct mv_shrink_result *r;
	const struct mv_shrink_opts *o;
	struct unit *u;
	size_t nu;
	size_t *ev_unit;         /* event position -> unit */
	size_t *pos;             /* scratch: event positions of a candidate */
	struct mv_event *sub_ev; /* scratch: the candidate's events */
	size_t *last_ops;        /* units named by the last failing verdict */
	size_t nlast;
	char model[32];
};

void
mv_shrink_result_release(struct mv_shrink_result *r)
{
	free(r->evs);
	r->evs = NULL;
	r->nevs = 0;
}

/* Pairs each invocation with the next completion of its process. */
static void
build_units(struct shrink *s)
{
	const struct mv_history *h = s->h;
	size_t *open = mv_xcalloc(h->n + 1, sizeof(*open));
	size_t nopen = 0, i, j;

	s->u = mv_xcalloc(h->n + 1, sizeof(*s->u));
	s->ev_unit = mv_xcalloc(h->n + 1, sizeof(*s->ev_unit));
	for (i = 0; i < h->n; i++) {
		const struct mv_event *ev = &h->ev[i];
		struct unit *u = NULL;

		if (ev->type != MV_INVOKE && ev->process != MV_NEMESIS) {
			/* A completion: close the open invocation. */
			for (j = 0; j < nopen; j++) {
				u = &s->u[open[j]];
				if (h->ev[u->ev[0]].process == ev->process)
					break;
			}
			if (j < nopen) {
				u->ev[u->n++] = i;
				s->ev_unit[i] = open[j];
				open[j] = open[--nopen];
				continue;
			}
		}
		s->ev_unit[i] = s->nu;
		u = &s->u[s->nu];
		u->ev[0] = i;
		u->n = 1;
		if (ev->type == MV_INVOKE && ev->process != MV_NEMESIS)
			open[nopen++] = s->nu;
		s->nu++;
	}
	free(open);
}

static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* Event positions of units c[0..n), ascending, into s->pos; their count. */
static size_t
gather(struct shrink *s, const size_t *c, size_t n)
{
	size_t i, m = 0;
	int k;

	for (i = 0; i < n; i++)
		for (k = 0; k < s->u[c[i]].n; k++)
			s->pos[m++] = s->u[c[i]].ev[k];
	qsort(s->pos, m, sizeof(*s->pos), cmp_size);
	return m;
}

/* Remembers the units of the operations a failing verdict names. */
static void
note_ops(struct shrink *s, const struct mv_verdict *v)
{
	size_t i;

	free(s->last_ops);
	s->last_ops = mv_xcalloc(v->nops + 1, sizeof(*s->last_ops));
	s->nlast = 0;
	for (i = 0; i < v->nops; i++)
		s->last_ops[s->nlast++] = s->ev_unit[s->pos[v->ops[i]]];
	qsort(s->last_ops, s->nlast, sizeof(*s->last_ops), cmp_size);
	for (i = 1; i < s->nlast; i++)
		if (s->last_ops[i] == s->last_ops[i - 1]) {
			memmove(&s->last_ops[i], &s->last_ops[i + 1],
			    (s->nlast - i - 1) * sizeof(*s->last_ops));
			s->nlast--, i--;
		}
}

/*
 * Whether the history made of units c[0..n) still fails the same way.  A
 * check that errs or runs out of budget counts as "does not fail".
 */
static int
fails(struct shrink *s, const size_t *c, size_t n)
{
	struct mv_history sub;
	struct mv_verdict v;
	struct mv_err e;
	size_t m = gather(s, c, n), i;
	int bad;

	for (i = 0; i < m; i++)
		s->sub_ev[i] = s->h->ev[s->pos[i]];
	memset(&sub, 0, sizeof(sub));
	sub.ev = s->sub_ev;
	sub.n = sub.cap = m;
	sub.meta = s->h->meta;
	mv_verdict_init(&v);
	s->r->checks++;
	bad = mv_check(&sub, s->name, &s->co, &v, &e) == 0
	    && v.status == MV_EXIT_INVALID
	    && strcmp(v.anomaly, s->r->anomaly) == 0;
	if (bad)
		note_ops(s, &v);
	mv_verdict_release(&v);
	return bad;
}

static void
progress(struct shrink *s, size_t n, size_t gran)
{
	struct mv_buf b = MV_BUF_INIT;

	if (s->o->progress == NULL)
		return;
	mv_buf_addf(
	    &b, "%zu ops, granularity %zu, %zu checks", n, gran, s->r->checks);
	s->o->progress(s->o->arg, b.p);
	mv_buf_release(&b);
}

/* Copies c[0..n) without its part [lo, hi) into t; returns the count. */
static size_t
complement(size_t *t, const size_t *c, size_t n, size_t lo, size_t hi)
{
	memcpy(t, c, lo * sizeof(*c));
	memcpy(t + lo, c + hi, (n - hi) * sizeof(*c));
	return n - (hi - lo);
}

/*
 * ddmin over the failing set c[0..*np) (owned, may be replaced): split it
 * in gran parts, keep a part that fails alone, else drop a part whose
 * complement fails, else split finer.  Ends 1-minimal: at gran == n every
 * single removal was tried and none failed.
 */
static void
ddmin(struct shrink *s, size_t *c, size_t *np)
{
	size_t n = *np, gran = 2, i, lo, hi, m;
	size_t *t = mv_xcalloc(n + 1, sizeof(*t));
	int done;

	while (n >= 2) {
		done = 0;
		for (i = 0; i < gran && !done; i++) {
			lo = i * n / gran, hi = (i + 1) * n / gran;
			if (hi - lo < n && fails(s, c + lo, hi - lo)) {
				memmove(c, c + lo, (hi - lo) * sizeof(*c));
				n = hi - lo, gran = 2, done = 1;
			}
		}
		for (i = 0; i < gran && !done && gran > 2; i++) {
			lo = i * n / gran, hi = (i + 1) * n / gran;
			m = complement(t, c, n, lo, hi);
			if (fails(s, t, m)) {
				memcpy(c, t, m * sizeof(*c));
				n = m, gran = gran - 1 > 2 ? gran - 1 : 2;
				done = 1;
			}
		}
		if (done) {
			progress(s, n, gran);
			continue;
		}
		if (gran >= n)
			break;
		gran = 2 * gran < n ? 2 * gran : n;
	}
	free(t);
	*np = n;
}

/* Units whose key is the verdict's; -1 when that is all of them. */
static size_t
restrict_to_key(struct shrink *s, size_t *c)
{
	size_t i, n = 0;

	for (i = 0; i < s->nu; i++) {
		const struct mv_event *ev = &s->h->ev[s->u[i].ev[0]];
		const char *k = ev->key ? ev->key : "";

		if (ev->process != MV_NEMESIS && strcmp(k, s->r->key) == 0)
			c[n++] = i;
	}
	return n;
}

/* The first, whole-history check: fills r's status, anomaly and key. */
static int
first_check(struct shrink *s, struct mv_err *e)
{
	struct mv_verdict v;
	size_t i;

	for (i = 0; i < s->h->n; i++)
		s->pos[i] = i;
	mv_verdict_init(&v);
	s->r->checks++;
	if (mv_check(s->h, s->name, &s->co, &v, e) < 0) {
		mv_verdict_release(&v);
		return -1;
	}
	s->r->status = v.status;
	snprintf(s->r->anomaly, sizeof(s->r->anomaly), "%s", v.anomaly);
	snprintf(s->r->key, sizeof(s->r->key), "%s", v.key);
	/* Later checks must not guess another model from fewer ops. */
	snprintf(s->model, sizeof(s->model), "%s", v.model);
	if (v.model[0] != '\0')
		s->co.model = s->model;
	if (v.status == MV_EXIT_INVALID)
		note_ops(s, &v);
	mv_verdict_release(&v);
	return 0;
}

static void
release(struct shrink *s)
{
	free(s->u);
	free(s->ev_unit);
	free(s->pos);
	free(s->sub_ev);
	free(s->last_ops);
}

/* Tries the guesses, then ddmin; c (all units) becomes the answer. */
static size_t
search(struct shrink *s, size_t *c)
{
	size_t n = s->nu, m;
	size_t *t = mv_xcalloc(s->nu + 1, sizeof(*t));

	for (m = 0; m < n; m++)
		c[m] = m;
	m = restrict_to_key(s, t);
	if (m > 0 && m < n && fails(s, t, m)) {
		memcpy(c, t, m * sizeof(*c));
		n = m;
		progress(s, n, 0);
	}
	if (s->nlast > 0 && s->nlast < n) {
		memcpy(t, s->last_ops, s->nlast * sizeof(*t));
		m = s->nlast;
		if (fails(s, t, m)) {
			memcpy(c, t, m * sizeof(*c));
			n = m;
			progress(s, n, 0);
		}
	}
	free(t);
	ddmin(s, c, &n);
	return n;
}

int
mv_shrink(const struct mv_history *h, const char *name,
    const struct mv_shrink_opts *o, struct mv_shrink_result *r,
    struct mv_err *e)
{
	struct shrink s;
	size_t *c, n;

	memset(r, 0, sizeof(*r));
	memset(&s, 0, sizeof(s));
	s.h = h, s.name = name, s.o = o, s.r = r;
	s.co = o->check;
	build_units(&s);
	s.pos = mv_xcalloc(h->n + 1, sizeof(*s.pos));
	s.sub_ev = mv_xcalloc(h->n + 1, sizeof(*s.sub_ev));
	r->ops_before = s.nu;
	if (first_check(&s, e) < 0) {
		release(&s);
		return -1;
	}
	if (r->status != MV_EXIT_INVALID) {
		release(&s);
		return 0;
	}
	c = mv_xcalloc(s.nu + 1, sizeof(*c));
	n = search(&s, c);
	r->ops_after = n;
	r->nevs = gather(&s, c, n);
	r->evs = mv_xcalloc(r->nevs + 1, sizeof(*r->evs));
	memcpy(r->evs, s.pos, r->nevs * sizeof(*r->evs));
	free(c);
	release(&s);
	return 0;
}

/* Appends the meta line with a "shrink" member before its closing brace. */
static void
write_meta(struct mv_buf *b, const struct mv_history *h,
    const struct mv_shrink_result *r)
{
	const char *raw = h->meta.raw;
	size_t len = strlen(raw);

	while (len > 0 && raw[len - 1] != '}')
		len--;
	if (len < 2) {
		mv_event_write(b, &h->meta);
		return;
	}
	mv_buf_add(b, raw, len - 1);
	/* An empty object "{}" takes no comma. */
	if (raw[len - 2] != '{')
		mv_buf_addc(b, ',');
	mv_buf_addf(b, "\"shrink\":{\"mv\":\"%s\",\"anomaly\":", MV_VERSION);
	mv_buf_add_jstr(b, r->anomaly, strlen(r->anomaly));
	mv_buf_adds(b, ",\"key\":");
	mv_buf_add_jstr(b, r->key, strlen(r->key));
	mv_buf_addf(b,
	    ",\"ops_before\":%zu,\"ops_after\":%zu,\"checks\":%zu}}\n",
	    r->ops_before, r->ops_after, r->checks);
}

void
mv_shrink_write(struct mv_buf *b, const struct mv_history *h,
    const struct mv_shrink_result *r)
{
	struct mv_event ev;
	size_t i;

	if (h->meta.raw)
		write_meta(b, h, r);
	for (i = 0; i < r->nevs; i++) {
		ev = h->ev[r->evs[i]];
		ev.index = (int64_t)i;
		mv_event_write(b, &ev);
	}
}
