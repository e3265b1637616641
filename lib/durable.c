/*
 * durable.c: acknowledged writes must survive crashes.
 *
 * A write is acknowledged when it completed ok, or, when its outcome was
 * unknown, when a read that began after a crash (the crash came after
 * the write began) showed it: it had then survived one recovery.  Every
 * read that begins after a later crash must still show it: for a
 * register, a read may not return a value whose every writer completed
 * before the acknowledged write began; for a set, a read must hold every
 * element acknowledged before the last crash.  Streams are checked in
 * estore.c.  Other failures (a stale read with no crash between) are left
 * to the linearizability check, which names them.
 */
#include <stdlib.h>
#include <string.h>

#include "durable.h"
#include "json.h"
#include "model.h"

#define NOPOS SIZE_MAX
#define NONE UINT32_MAX

int
mv_durable_crash(const struct mv_event *ev)
{
	static const char *const down[] = {"kill", "term", "restart", "crash"};
	static const char *const idle[] = {"\"effect\":\"not-killed\"",
	    "\"effect\":\"no-target\"", "\"effect\":\"still-running\""};
	size_t i;

	if (ev->process != MV_NEMESIS || ev->f == NULL)
		return 0;
	for (i = 0; i < 4 && strcmp(ev->f, down[i]) != 0; i++)
		;
	if (i == 4)
		return 0;
	for (i = 0; ev->value && i < 3; i++)
		if (strstr(ev->value, idle[i]) != NULL)
			return 0;
	return 1;
}

/* An operation: a write (register write, cas, kv put, set add) or read. */
struct dop {
	size_t inv, ret; /* ret NOPOS: never completed */
	int w, status;
	uint32_t key;
};

/*
 * One (key, value) pair.  maxret: the latest completion of a writer of it
 * (NOPOS when one may still take effect); ack: when it was acknowledged,
 * by op ackop (pseudo: by a read after a recovery); stamp: per read.
 */
struct dval {
	size_t maxret, ack;
	uint32_t key, nw, ackop, infoop, stamp;
	int pseudo;
};

struct dur {
	const struct mv_history *h;
	int kind, nil_unknown;
	struct dop *op;
	size_t nop;
	size_t *crash, ncrash;
	struct dval *val;
	size_t nval, capval;
	char **vtext;
	uint32_t *tab;
	size_t tabcap;
	struct mv_buf tmp;
};

static uint64_t
hash_str(const char *s, uint64_t h)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	h ^= h >> 29;
	return h * 0xbf58476d1ce4e5b9ULL;
}

/* The index of text (a key's value, or with key NONE a key), added. */
static uint32_t
val_of(struct dur *d, uint32_t key, const char *text)
{
	uint64_t h = hash_str(text, 0xcbf29ce484222325ULL ^ key);
	size_t j, i;
	uint32_t x;

	if (d->tabcap == 0 || d->nval * 2 >= d->tabcap) {
		size_t cap = d->tabcap ? d->tabcap * 2 : 256;

		free(d->tab);
		d->tab = mv_xmalloc(cap * sizeof(*d->tab));
		for (j = 0; j < cap; j++)
			d->tab[j] = NONE;
		d->tabcap = cap;
		for (i = 0; i < d->nval; i++) {
			j = hash_str(d->vtext[i],
			        0xcbf29ce484222325ULL ^ d->val[i].key)
			    & (cap - 1);
			while (d->tab[j] != NONE)
				j = (j + 1) & (cap - 1);
			d->tab[j] = (uint32_t)i;
		}
	}
	for (j = h & (d->tabcap - 1); (x = d->tab[j]) != NONE;
	     j = (j + 1) & (d->tabcap - 1))
		if (d->val[x].key == key && strcmp(d->vtext[x], text) == 0)
			return x;
	if (d->nval == d->capval) {
		d->capval = d->capval ? d->capval * 2 : 256;
		d->val = mv_xrealloc(d->val, d->capval * sizeof(*d->val));
		d->vtext = mv_xrealloc(d->vtext, d->capval * sizeof(*d->vtext));
	}
	memset(&d->val[d->nval], 0, sizeof(d->val[0]));
	d->val[d->nval].key = key;
	d->val[d->nval].ack = NOPOS;
	d->val[d->nval].ackop = d->val[d->nval].infoop = NONE;
	d->vtext[d->nval] = mv_xstrdup(text);
	d->tab[j] = (uint32_t)d->nval;
	return (uint32_t)d->nval++;
}

/* Canonical text of raw JSON (compact; escapes resolved), in d->tmp. */
static const char *
canon(struct dur *d, const struct mv_jv *v)
{
	mv_buf_reset(&d->tmp);
	mv_jv_write(&d->tmp, v);
	return d->tmp.p;
}

static int
is_write(int kind, const char *f)
{
	if (kind == MV_MODEL_SET)
		return strcmp(f, "add") == 0;
	return strcmp(f, "write") == 0 || strcmp(f, "cas") == 0
	    || strcmp(f, "put") == 0;
}

static int
is_read(const char *f)
{
	return strcmp(f, "read") == 0 || strcmp(f, "get") == 0;
}

/* Pairs the ops (the reader checked the order) and numbers the keys. */
static void
pair(struct dur *d)
{
	const struct mv_history *h = d->h;
	size_t i, j;

	d->op = mv_xmalloc((h->n + 1) * sizeof(*d->op));
	d->crash = mv_xmalloc((h->n + 1) * sizeof(*d->crash));
	for (i = 0; i < h->n; i++) {
		const struct mv_event *ev = &h->ev[i];
		struct dop *o;

		if (ev->process < 0) {
			if (mv_durable_crash(ev))
				d->crash[d->ncrash++] = i;
			continue;
		}
		if (ev->type != MV_INVOKE)
			continue;
		o = &d->op[d->nop++];
		o->inv = i;
		o->ret = NOPOS;
		o->status = MV_INFO;
		o->w = is_write(d->kind, ev->f) ? 1 : is_read(ev->f) ? 0 : -1;
		/* Keys share the table, under the key NONE. */
		o->key = val_of(d, NONE, ev->key ? ev->key : "");
		/* Its completion is the next event of the process. */
		for (j = i + 1; j < h->n; j++)
			if (h->ev[j].process == ev->process) {
				o->ret = j;
				o->status = (int)h->ev[j].type;
				break;
			}
	}
}

size_t
mv_durable_next(const size_t *crash, size_t n, size_t a)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (crash[mid] <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
crash_between(const struct dur *d, size_t a, size_t b)
{
	size_t k = mv_durable_next(d->crash, d->ncrash, a);

	return k < d->ncrash && d->crash[k] < b;
}

/* The last crash before position b, or NOPOS. */
static size_t
crash_before(const struct dur *d, size_t b)
{
	size_t k = b ? mv_durable_next(d->crash, d->ncrash, b - 1) : 0;

	return k ? d->crash[k - 1] : NOPOS;
}

static size_t
pos_of(const struct dop *o)
{
	return o->ret != NOPOS ? o->ret : o->inv;
}

/*
 * The value op o writes or read (register: the JSON value; cas: its new
 * value), as an index of d->val; NONE when it says nothing, -1 with e
 * filled when it is malformed.
 */
static int
value_of(struct dur *d, const struct dop *o, uint32_t *v, struct mv_err *e,
    const char *name)
{
	const struct mv_event *inv = &d->h->ev[o->inv];
	const char *raw = o->w ? inv->value
	    : o->ret != NOPOS  ? d->h->ev[o->ret].value
	                       : NULL;
	const struct mv_jv *x;
	struct mv_jv *j;

	*v = NONE;
	if (raw == NULL
	    || (!o->w && d->nil_unknown && strcmp(raw, "null") == 0))
		return 0;
	if ((j = mv_jv_parse(raw, strlen(raw), e)) == NULL)
		return mv_err_set(e, "%s:%zu: %s value is not JSON", name,
		    d->h->ev[o->w ? o->inv : o->ret].line, inv->f);
	x = j;
	if (o->w && strcmp(inv->f, "cas") == 0) {
		if (j->kind != MV_JARR || j->len != 2) {
			mv_jv_free(j);
			return mv_err_set(e,
			    "%s:%zu: cas value is not [from, to]", name,
			    inv->line);
		}
		x = &j->items[1];
	}
	*v = val_of(d, o->key, canon(d, x));
	mv_jv_free(j);
	return 0;
}

/* An acknowledgement: op (write, or read for pseudo) made key's value stay. */
struct ack {
	uint32_t key, op, val;
	size_t pos, inv;
	int pseudo;
};

static int
cmp_ack(const void *pa, const void *pb)
{
	const struct ack *a = pa, *b = pb;

	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* The first index in a[lo..hi), sorted by cmp_ack, not before (key, pos). */
static size_t
lower_bound(const struct ack *a, size_t lo, size_t hi, uint32_t key, size_t pos)
{
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (a[mid].key < key || (a[mid].key == key && a[mid].pos < pos))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The acks of key, sorted by position: a[*lo .. *hi). */
static void
key_range(const struct ack *a, size_t n, uint32_t key, size_t *lo, size_t *hi)
{
	size_t h;

	*lo = lower_bound(a, 0, n, key, 0);
	for (h = *lo; h < n && a[h].key == key; h++)
		;
	*hi = h;
}

static void
finding(struct dur *d, struct mv_hfinding *f, const struct ack *a, uint32_t r,
    const char *what)
{
	f->check = "durability";
	f->anomaly = a->pseudo ? "unstable-info" : "lost-after-crash";
	f->key = d->h->ev[d->op[r].inv].key ? d->h->ev[d->op[r].inv].key : "";
	f->nev = 0;
	f->ev[f->nev++] = pos_of(&d->op[a->op]);
	f->ev[f->nev++] = pos_of(&d->op[r]);
	mv_buf_reset(&f->why);
	mv_hfinding_op(d->h, pos_of(&d->op[r]), &f->why);
	mv_buf_adds(&f->why, " began after a crash that followed ");
	mv_hfinding_op(d->h, pos_of(&d->op[a->op]), &f->why);
	mv_buf_adds(&f->why,
	    a->pseudo ? ", whose outcome was unknown but which a read after "
	                "an earlier recovery showed, "
	              : ", which completed, ");
	mv_buf_adds(&f->why, what);
}

/* Each ok write, and each info write a read after a recovery showed. */
static struct ack *
collect(struct dur *d, size_t *na, struct mv_err *e, const char *name)
{
	struct ack *a = mv_xmalloc((d->nop + 1) * 2 * sizeof(*a));
	size_t i, n = 0;
	uint32_t v;

	for (i = 0; i < d->nop; i++) {
		struct dop *o = &d->op[i];
		struct dval *x;

		if (o->w != 1 || o->status == MV_FAIL)
			continue;
		if (value_of(d, o, &v, e, name) < 0)
			goto bad;
		x = &d->val[v];
		x->nw++;
		if (o->status != MV_OK || x->maxret == NOPOS)
			x->maxret = NOPOS;
		else if (o->ret > x->maxret)
			x->maxret = o->ret;
		if (o->status != MV_OK)
			x->infoop = (uint32_t)i;
		else if (d->kind == MV_MODEL_SET && x->ack != NOPOS)
			continue; /* one ack per element */
		else {
			x->ack = o->ret < x->ack ? o->ret : x->ack;
			a[n].key = o->key;
			a[n].val = v;
			a[n].op = (uint32_t)i;
			a[n].pos = o->ret;
			a[n].inv = o->inv;
			a[n++].pseudo = 0;
		}
	}
	*na = n;
	return a;
bad:
	free(a);
	return NULL;
}

/* Info writes that a read after a crash showed are acknowledged then. */
static void
pseudo_ack(struct dur *d, uint32_t r, uint32_t v, struct ack *a, size_t *n)
{
	struct dval *x = &d->val[v];
	const struct dop *w;

	if (x->infoop == NONE || x->ack != NOPOS
	    || (d->kind != MV_MODEL_SET && x->nw != 1))
		return;
	w = &d->op[x->infoop];
	if (!crash_between(d, w->inv, d->op[r].inv))
		return;
	x->ack = d->op[r].ret;
	a[*n].key = d->op[r].key;
	a[*n].val = v;
	a[*n].op = x->infoop;
	a[*n].pos = d->op[r].ret;
	a[*n].inv = w->inv;
	a[(*n)++].pseudo = 1;
}

/*
 * Register, kv put: after a crash, a read may not return a value whose
 * every writer completed before an acknowledged write began.
 */
static int
reg_reads(struct dur *d, struct ack *a, size_t n, struct mv_hfinding *f,
    struct mv_err *e, const char *name)
{
	size_t i, k, lo, hi, *best = NULL;
	uint32_t v;
	int pass, hit = 0;

	for (pass = 0; pass < 2 && !hit; pass++) {
		for (i = 0; i < d->nop && !hit; i++) {
			const struct dop *r = &d->op[i];
			const struct dval *x;
			size_t c, maxret;

			if (r->w != 0 || r->status != MV_OK)
				continue;
			if (value_of(d, r, &v, e, name) < 0)
				return -1;
			if (v == NONE)
				continue;
			if (pass == 0) {
				pseudo_ack(d, (uint32_t)i, v, a, &n);
				continue;
			}
			x = &d->val[v];
			if ((c = crash_before(d, r->inv)) == NOPOS
			    || (x->nw == 0 && strcmp(d->vtext[v], "null") != 0))
				continue;
			maxret = x->nw == 0 ? 0 : x->maxret;
			key_range(a, n, r->key, &lo, &hi);
			if ((k = lower_bound(a, lo, hi, r->key, c)) == lo
			    || maxret == NOPOS || maxret >= a[best[k - 1]].inv)
				continue;
			finding(d, f, &a[best[k - 1]], (uint32_t)i,
			    "yet it returned ");
			mv_buf_adds(&f->why, d->vtext[v]);
			mv_buf_adds(&f->why,
			    x->nw ? ", written before that write began"
			          : ", the initial value");
			hit = 1;
		}
		if (pass > 0)
			break;
		/* best[k]: the ack of a[lo..k] of k's key that began last. */
		qsort(a, n, sizeof(*a), cmp_ack);
		best = mv_xmalloc((n + 1) * sizeof(*best));
		for (k = 0; k < n; k++)
			best[k] = k > 0 && a[k - 1].key == a[k].key
			        && a[best[k - 1]].inv > a[k].inv
			    ? best[k - 1]
			    : k;
	}
	free(best);
	return hit;
}

/* The elements of set read r, as d->val indexes; -1 when malformed. */
static int
elements(struct dur *d, const struct dop *r, uint32_t **el, size_t *n,
    struct mv_err *e, const char *name)
{
	const char *raw = d->h->ev[r->ret].value;
	struct mv_jv *j;
	size_t i;

	*n = 0;
	if (raw == NULL || strcmp(raw, "null") == 0)
		return raw == NULL || d->nil_unknown ? 1 : 0;
	if ((j = mv_jv_parse(raw, strlen(raw), e)) == NULL
	    || j->kind != MV_JARR) {
		mv_jv_free(j);
		return mv_err_set(e, "%s:%zu: read result is not an array",
		    name, d->h->ev[r->ret].line);
	}
	*el = mv_xrealloc(*el, (j->len + 1) * sizeof(**el));
	for (i = 0; i < j->len; i++)
		(*el)[(*n)++] = val_of(d, r->key, canon(d, &j->items[i]));
	mv_jv_free(j);
	return 0;
}

/* Set: after a crash, a read holds every element acknowledged before. */
static int
set_reads(struct dur *d, struct ack *a, size_t n, struct mv_hfinding *f,
    struct mv_err *e, const char *name)
{
	uint32_t *el = NULL, stamp = 0;
	size_t i, j, m, c, k, lo, hi, req;
	int pass, hit = 0, rc;

	for (pass = 0; pass < 2 && !hit; pass++) {
		if (pass == 1)
			qsort(a, n, sizeof(*a), cmp_ack);
		for (i = 0; i < d->nop && !hit; i++) {
			const struct dop *r = &d->op[i];

			if (r->w != 0 || r->status != MV_OK)
				continue;
			if ((rc = elements(d, r, &el, &m, e, name)) < 0) {
				free(el);
				return -1;
			}
			if (rc > 0)
				continue;
			if (pass == 0) {
				for (j = 0; j < m; j++)
					pseudo_ack(
					    d, (uint32_t)i, el[j], a, &n);
				continue;
			}
			if ((c = crash_before(d, r->inv)) == NOPOS)
				continue;
			key_range(a, n, r->key, &lo, &hi);
			req = lower_bound(a, lo, hi, r->key, c) - lo;
			stamp++;
			for (j = 0, k = 0; j < m; j++) {
				struct dval *x = &d->val[el[j]];

				if (x->stamp != stamp && x->ack < c)
					k++;
				x->stamp = stamp;
			}
			if (k >= req)
				continue;
			for (k = lo; k + 1 < lo + req
			     && d->val[a[k].val].stamp == stamp;
			     k++)
				;
			finding(d, f, &a[k], (uint32_t)i, "yet it lacks ");
			mv_buf_adds(&f->why, d->vtext[a[k].val]);
			hit = 1;
		}
	}
	free(el);
	return hit;
}

int
mv_durable_check(const struct mv_history *h, const char *name, int kind,
    int nil_unknown, struct mv_hfinding *f, struct mv_err *e)
{
	struct dur d;
	struct ack *a;
	size_t i, n;
	int rc = 0;

	if (kind != MV_MODEL_REGISTER && kind != MV_MODEL_CAS_REGISTER
	    && kind != MV_MODEL_KV && kind != MV_MODEL_SET)
		return 0;
	for (i = 0; i < h->n && !mv_durable_crash(&h->ev[i]); i++)
		;
	if (i == h->n)
		return 0;
	memset(&d, 0, sizeof(d));
	d.h = h;
	d.kind = kind;
	d.nil_unknown = nil_unknown;
	mv_buf_init(&d.tmp);
	name = name == NULL || strcmp(name, "-") == 0 ? "<stdin>" : name;
	pair(&d);
	if ((a = collect(&d, &n, e, name)) == NULL)
		rc = -1;
	else if (kind == MV_MODEL_SET)
		rc = set_reads(&d, a, n, f, e, name);
	else
		rc = reg_reads(&d, a, n, f, e, name);
	free(a);
	for (i = 0; i < d.nval; i++)
		free(d.vtext[i]);
	free(d.vtext);
	free(d.val);
	free(d.tab);
	free(d.op);
	free(d.crash);
	mv_buf_release(&d.tmp);
	return rc;
}
