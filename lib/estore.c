/*
 * estore.c: event-store invariants of stream histories.
 *
 * Each event id names one event, so the whole history can be checked in
 * one sweep without a search: where each event sits (stream, revision),
 * which append put it there and when that append was acknowledged.  The
 * sweep walks the events in history order, so that "completed before
 * that read began" is a comparison of positions, and keeps per stream the
 * number of batches every read must already show.  A read's events are
 * parsed, checked and forgotten; memory is linear in the appends.
 *
 * Every check records its first violation; the most telling one, in the
 * order of enum kind, becomes the finding.  A duplicated append, for one,
 * also puts events at the wrong revisions, and must be named for what it
 * is rather than for its consequence.
 */
#include <stdlib.h>
#include <string.h>

#include "durable.h"
#include "estore.h"
#include "json.h"
#include "jtok.h"
#include "model.h"

#define NONE UINT32_MAX
#define NOPOS SIZE_MAX
#define UNK INT64_MIN

/* The anomalies, most telling first. */
enum kind {
	K_DUP_EVENT,
	K_DUP_APPEND,
	K_TORN,
	K_PHANTOM,
	K_LOST_CRASH,
	K_UNSTABLE,
	K_RYW,
	K_MISSING, /* stale-read or lost-write, told apart at the end */
	K_LOST_UPDATE,
	K_WRONG_VERSION,
	K_FALSE_CONFLICT,
	K_POSITION,
	K_GAP,
	K_MONOTONIC,
	K_SUB_SKIP,
	K_SUB_DUP,
	K_CKPT,
	K_COUNT
};

static const char *const kname[K_COUNT] = {"duplicate-event",
    "duplicate-append", "torn-batch", "phantom-read", "lost-after-crash",
    "unstable-info", "read-your-writes", "lost-write", "lost-update",
    "wrong-version", "false-conflict", "position-disagreement", "revision-gap",
    "non-monotonic-read", "subscription-skip", "subscription-duplicate",
    "checkpoint-ahead"};

enum { E_APPEND, E_READ, E_SUB, E_DELIVER, E_CKPT };

/* Per event id. */
enum { I_SEEN = 1, I_DURABLE = 2, I_ACTIVE = 4, I_LAST = 8 /* of own */ };

/*
 * An operation.  x: an append's expectation (MV_EXPECT_*), a read's or
 * subscription's from, a delivery's or checkpoint's version.  y: an ok
 * append's version, a failed one's actual version (UNK if not said).
 * req*: what a read must show, counted when it began.
 */
struct eop {
	uint32_t inv, ret; /* ret NONE: none (pair checks they fit) */
	int64_t proc, x, y;
	uint32_t stream, ev, nev;
	uint32_t req, req_crash, req_info, req_own;
	unsigned char f, status;
};

/*
 * Per event id, what the sweep touches for each event read: own, the
 * first append that may have happened with it (bpos its place in that
 * batch, ownstream its stream); ackpos the first ok completion of such an
 * append (NONE if none); ppos the revision where it was first observed
 * (in pstream); rpos where a read first saw it (NONE if none yet).  32
 * bytes, two to a cache line: a read walks its stream's ids, and the
 * fewer lines, the faster.  History positions fit 32 bits (pair checks)
 * and so do revisions (below a stream's nev).
 */
struct idst {
	uint32_t ackpos, ppos, rpos;
	uint32_t own, bpos, ownstream, pstream;
	unsigned char flag;
};

/* What the sweep reads of an id more seldom: the op that first observed
 * it, and how many appends may have happened with it. */
struct idcold {
	uint32_t pop, nown;
};

/*
 * A revision as observed: id + 1 (0 none), the op that first put it
 * there, and where the event's text is in the stream's text.  One array
 * of these rather than three: a read then misses the cache once per
 * stream instead of three times.
 */
struct slot {
	uint32_t id, op, off;
};

/* A stream: its revisions as observed, and counters. */
struct stream {
	const char *name; /* in the history, for messages */
	size_t nameoff;   /* a copy in es.names, near the others */
	struct slot *slot;
	struct mv_buf text; /* slot p's text: text[slot[p].off..] + '\0' */
	size_t cap;
	int64_t max;
	uint32_t req, req_crash, epoch, req_info;
	uint32_t nev; /* events of appends to it that may have happened,
	               * retries included: no revision reaches it */
};

/* A version and the first append that expected it (one_per_expect). */
struct xslot {
	int64_t x;
	uint32_t o;
};

/* A process and the op it has open (NONE if none), while pairing. */
struct popen {
	int64_t proc;
	uint32_t op;
};

/* A (process, stream) pair: reads seen, own appends, subscription. */
struct pst {
	int64_t proc, maxlen, next, hi;
	uint32_t stream, own_req, lastop, subop, lastdel;
};

struct es {
	const struct mv_history *h;
	const char *name;
	unsigned promises;
	int nil_unknown; /* an ok read of null: result unknown */
	struct mv_err *e;
	struct eop *op;
	size_t nop, opmap;
	uint32_t *at; /* h->ev position -> op */
	size_t atmap;
	struct stream *st;
	size_t nst, capst;
	struct slot *slots; /* every stream's slot[] */
	size_t slotsmap;
	size_t *crash, ncrash; /* every crash; ncrashed: so far in the sweep */
	uint32_t ncrashed;
	/* ids */
	uint64_t *tab; /* hash fingerprint << 32 | id; UINT64_MAX empty */
	size_t tabcap, tabmap; /* tabmap, idmap: from mv_bigalloc */
	size_t *toff;
	uint32_t *tlen; /* these three by the ids of parse order */
	size_t toffmap, tlenmap;
	/* From the ids of parse order to the sweep's (renumber), and back. */
	uint32_t *to, *from;
	size_t tomap, frommap;
	uint32_t *seen; /* per id: the serial of the read (or batch) that
	                 * last held it, apart so that reads leave id[] clean */
	size_t seenmap;
	uint32_t *failown; /* per id: the first failed append of it, or
	                    * NONE; NULL while no append has failed */
	size_t failownmap;

	/* The ids the current read holds, while in increasing order, and
	 * whether they are in seen[] yet (see fresh). */
	uint32_t *pass;
	size_t npass, cappass;
	int marked;

	size_t *active; /* where an info batch seen after a crash became
	                 * durable (the next crash), read only under
	                 * I_ACTIVE; NULL until the first */
	struct idst *id;
	struct idcold *cold;
	size_t idmap, coldmap;
	uint32_t nid, capid, serial;
	size_t hint;  /* at least the events appended, from pair() */
	size_t thint; /* at least the bytes of their texts */
	struct mv_buf text, tmp;
	uint32_t *evs;
	size_t nevs, capevs, evsmap;
	/* process -> its open op, while pairing */
	struct popen *open;
	size_t nopen, capopen;
	uint32_t *pending;
	size_t npending, cappending;
	/* (process, stream) map */
	struct pst *ps;
	uint32_t *pstab;
	size_t nps, capps, pstabcap;
	/* stream names */
	struct mv_buf names;
	uint32_t *sttab;
	size_t sttabcap;
	struct mv_jtok jt;
	struct mv_hfinding fk[K_COUNT];
	uint32_t miss_unit; /* the event K_MISSING found missing */
};

void
mv_hfinding_init(struct mv_hfinding *f)
{
	memset(f, 0, sizeof(*f));
	mv_buf_init(&f->why);
}

void
mv_hfinding_release(struct mv_hfinding *f)
{
	mv_buf_release(&f->why);
}

void
mv_hfinding_op(const struct mv_history *h, size_t pos, struct mv_buf *b)
{
	const struct mv_event *ev = &h->ev[pos];

	mv_buf_addf(b, "%s by process %lld (line %zu)", ev->f,
	    (long long)ev->process, ev->line);
}

static int
is_result_f(const char *f)
{
	return strcmp(f, "read") == 0 || strcmp(f, "get") == 0
	    || strcmp(f, "deliver") == 0;
}

void
mv_hfinding_json(
    const struct mv_history *h, const struct mv_hfinding *f, struct mv_buf *b)
{
	size_t i;

	mv_buf_addf(b, ",\"anomaly\":\"%s\",\"key\":", f->anomaly);
	mv_buf_add_jstr(b, f->key ? f->key : "", f->key ? strlen(f->key) : 0);
	mv_buf_adds(b, ",\"ops\":[");
	for (i = 0; i < f->nev; i++) {
		const struct mv_event *ev = &h->ev[f->ev[i]];
		const char *v = ev->value;
		size_t j;

		/* An update is shown by its argument, from its invocation. */
		if (ev->type != MV_INVOKE && !is_result_f(ev->f))
			for (j = f->ev[i]; j-- > 0;)
				if (h->ev[j].process == ev->process
				    && h->ev[j].type == MV_INVOKE) {
					v = h->ev[j].value;
					break;
				}
		mv_buf_addf(b,
		    "%s{\"index\":%lld,\"line\":%zu,\"process\":%lld,"
		    "\"type\":\"%s\",\"f\":",
		    i ? "," : "",
		    (long long)(ev->index >= 0 ? ev->index : (int64_t)f->ev[i]),
		    ev->line, (long long)ev->process, mv_type_name(ev->type));
		mv_buf_add_jstr(b, ev->f, strlen(ev->f));
		if (v)
			mv_buf_addf(b, ",\"value\":%s", v);
		mv_buf_addc(b, '}');
	}
	mv_buf_adds(b, "],\"why\":");
	mv_buf_add_jstr(b, f->why.p ? f->why.p : "", f->why.len);
	mv_buf_addf(b, ",\"check\":\"%s\"", f->check);
}

int
mv_promise_parse(const char *name, unsigned *bits, struct mv_err *e)
{
	if (strcmp(name, "read-your-writes") != 0)
		return mv_err_set(e, "unknown promise: %s", name);
	*bits |= MV_PROMISE_RYW;
	return 0;
}

static unsigned
promises_in(const struct mv_jv *arr)
{
	unsigned bits = 0;
	size_t i;

	if (arr == NULL || arr->kind != MV_JARR)
		return 0;
	for (i = 0; i < arr->len; i++)
		if (arr->items[i].kind == MV_JSTR)
			(void)mv_promise_parse(arr->items[i].s, &bits, NULL);
	return bits;
}

unsigned
mv_promise_meta(const struct mv_history *h)
{
	struct mv_jv *v;
	struct mv_err e;
	unsigned bits;
	size_t i;

	if (h->meta.raw == NULL
	    || (v = mv_jv_parse(h->meta.raw, strlen(h->meta.raw), &e)) == NULL)
		return 0;
	bits = promises_in(mv_jv_get(v, "promises"));
	for (i = 0; v->kind == MV_JOBJ && i < v->len; i++)
		if (v->items[i].kind == MV_JOBJ)
			bits |=
			    promises_in(mv_jv_get(&v->items[i], "promises"));
	mv_jv_free(v);
	return bits;
}

int
mv_estore_only(const char *f)
{
	return strcmp(f, "subscribe") == 0 || strcmp(f, "deliver") == 0
	    || strcmp(f, "checkpoint") == 0;
}

/* FNV-1a, with its high bits folded down: tables index by the low ones. */
static uint64_t
hash_bytes(const char *s, size_t n, uint64_t h)
{
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 32);
}

static const char *
fname(const char *name)
{
	return strcmp(name, "-") == 0 ? "<stdin>" : name;
}

static int
bad(struct es *s, size_t pos, const char *what)
{
	const struct mv_event *ev = &s->h->ev[pos];

	return mv_err_set(
	    s->e, "%s:%zu: %s %s", fname(s->name), ev->line, ev->f, what);
}

/* ---- interning ---------------------------------------------------- */

/*
 * Array p of n elements of size sz (from mv_bigalloc, *map) grown to m,
 * zeroed past n.  Big arrays come from mv_bigalloc: huge pages mean a
 * fault per 2 MB instead of per 4 KB, and faults, not the copying, are
 * what fresh memory costs.
 */
static void *
big_grow(void *p, size_t *map, size_t n, size_t m, size_t sz)
{
	size_t nmap;
	void *q = mv_bigalloc(m * sz, &nmap);

	if (n > 0)
		memcpy(q, p, n * sz);
	if (p != NULL)
		mv_bigfree(p, *map);
	*map = nmap;
	return q;
}

/*
 * Room for more ids: pair() leaves in hint an upper bound of the events
 * appended, so that the first call sizes the arrays once (on a small
 * history, to a few entries: it need not fault in pages it never uses).
 */
static void
grow_ids(struct es *s)
{
	size_t n = s->capid ? (size_t)s->capid * 2 : 16;

	if (n < s->hint + 1 && s->hint < UINT32_MAX / 2)
		n = s->hint + 1;
	s->toff = big_grow(s->toff, &s->toffmap, s->capid, n, sizeof(*s->toff));
	s->tlen = big_grow(s->tlen, &s->tlenmap, s->capid, n, sizeof(*s->tlen));
	s->capid = (uint32_t)n;
}

/* The hash of the text of id k (of parse order). */
static uint64_t
id_hash(const struct es *s, uint32_t k)
{
	return hash_bytes(
	    s->text.p + s->toff[k], s->tlen[k], 0xcbf29ce484222325ULL);
}

/*
 * A table of at least twice the ids to come, the ids so far put in
 * again: their hashes are computed again from their texts, which is
 * cheaper than keeping them, since with hint this happens at most once
 * on a well-formed history.
 */
static void
rehash(struct es *s)
{
	size_t i, j, cap = s->tabcap ? s->tabcap * 2 : 16;
	uint64_t h;

	while (cap < 2 * (s->hint + 1) && cap < ((size_t)1 << 33))
		cap *= 2;

	/* Probed at random: see mv_bigalloc. */
	if (s->tab != NULL)
		mv_bigfree(s->tab, s->tabmap);
	s->tab = mv_bigalloc(cap * sizeof(*s->tab), &s->tabmap);
	memset(s->tab, 0xff, cap * sizeof(*s->tab));
	s->tabcap = cap;
	for (i = 0; i < s->nid; i++) {
		h = id_hash(s, (uint32_t)i);
		for (j = h & (cap - 1); s->tab[j] != UINT64_MAX;
		     j = (j + 1) & (cap - 1))
			;
		s->tab[j] = (h >> 32 << 32) | i;
	}
}

/* The id of the canonical event text p[0..n); NONE if new and !add. */
static uint32_t
intern(struct es *s, const char *p, size_t n, int add)
{
	uint64_t h = hash_bytes(p, n, 0xcbf29ce484222325ULL), x;
	size_t j;
	uint32_t id;

	if (s->tabcap == 0 || (size_t)s->nid * 2 >= s->tabcap)
		rehash(s);
	for (j = h & (s->tabcap - 1); (x = s->tab[j]) != UINT64_MAX;
	     j = (j + 1) & (s->tabcap - 1)) {
		id = (uint32_t)x;
		if (x >> 32 == h >> 32 && s->tlen[id] == n
		    && memcmp(s->text.p + s->toff[id], p, n) == 0)
			return s->to ? s->to[id] : id;
	}
	if (!add)
		return NONE;
	if (s->nid == s->capid)
		grow_ids(s);
	id = s->nid++;
	s->tab[j] = (h >> 32 << 32) | id;
	s->toff[id] = s->text.len;
	s->tlen[id] = (uint32_t)n;
	mv_buf_add(&s->text, p, n);
	return id;
}

/* The id of event token t of raw (canonical: escapes resolved). */
static uint32_t
event_id(struct es *s, const char *raw, const struct mv_tok *t, int add)
{
	size_t start, n = mv_jtok_span(t, &start);

	if (t->type == MV_TOK_STRING
	    && memchr(raw + t->start, '\\', (size_t)(t->end - t->start))) {
		struct mv_buf dec = MV_BUF_INIT;
		size_t len = mv_jtok_str(raw, t, &dec);
		uint32_t id;

		mv_buf_reset(&s->tmp);
		mv_buf_add_jstr(&s->tmp, dec.p, len);
		mv_buf_release(&dec);
		id = intern(s, s->tmp.p, s->tmp.len, add);
		return id;
	}
	return intern(s, raw + start, n, add);
}

/* The id of parse order, which toff and tlen go by. */
static uint32_t
parse_id(const struct es *s, uint32_t id)
{
	return s->from ? s->from[id] : id;
}

/* The text of event id, valid until the next use of s->tmp. */
static const char *
id_text(struct es *s, uint32_t id)
{
	uint32_t k = parse_id(s, id);

	mv_buf_reset(&s->tmp);
	mv_buf_add(&s->tmp, s->text.p + s->toff[k], s->tlen[k]);
	return s->tmp.p;
}

/* ---- small maps ----------------------------------------------------- */

/* A fresh index table of cap slots over entries 0..n, by hash(s, i). */
static uint32_t *
index_new(const struct es *s, size_t cap, size_t n,
    uint64_t (*hash)(const struct es *, size_t))
{
	uint32_t *t = mv_xmalloc(cap * sizeof(*t));
	size_t i, j;

	for (i = 0; i < cap; i++)
		t[i] = NONE;
	for (i = 0; i < n; i++) {
		for (j = hash(s, i) & (cap - 1); t[j] != NONE;
		     j = (j + 1) & (cap - 1))
			;
		t[j] = (uint32_t)i;
	}
	return t;
}

static uint64_t
stream_hash(const struct es *s, size_t i)
{
	const char *k = s->names.p + s->st[i].nameoff;

	return hash_bytes(k, strlen(k), 0xcbf29ce484222325ULL);
}

static uint32_t
stream_of(struct es *s, const char *key)
{
	uint64_t h = hash_bytes(key, strlen(key), 0xcbf29ce484222325ULL);
	size_t j;
	uint32_t x;

	if (s->sttabcap == 0 || s->nst * 2 >= s->sttabcap) {
		s->sttabcap = s->sttabcap ? s->sttabcap * 2 : 32;
		free(s->sttab);
		s->sttab = index_new(s, s->sttabcap, s->nst, stream_hash);
	}
	for (j = h & (s->sttabcap - 1); (x = s->sttab[j]) != NONE;
	     j = (j + 1) & (s->sttabcap - 1))
		if (strcmp(s->names.p + s->st[x].nameoff, key) == 0)
			return x;
	if (s->nst == s->capst) {
		s->capst = s->capst ? s->capst * 2 : 16;
		s->st = mv_xrealloc(s->st, s->capst * sizeof(*s->st));
	}
	memset(&s->st[s->nst], 0, sizeof(s->st[0]));
	s->st[s->nst].name = key;
	s->st[s->nst].nameoff = s->names.len;
	mv_buf_add(&s->names, key, strlen(key) + 1);
	s->st[s->nst].max = -1;
	s->sttab[j] = (uint32_t)s->nst;
	return (uint32_t)s->nst++;
}

/* Mixed down to the low bits, which index the table. */
static uint64_t
ps_hash(int64_t proc, uint32_t stream)
{
	uint64_t h = ((uint64_t)proc * 0x9e3779b97f4a7c15ULL)
	    ^ ((uint64_t)stream * 0xc2b2ae3d27d4eb4fULL);

	h ^= h >> 32;
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 29);
}

static uint64_t
pst_hash(const struct es *s, size_t i)
{
	return ps_hash(s->ps[i].proc, s->ps[i].stream);
}

/* The state of (proc, stream), created on first use. */
static struct pst *
pst_of(struct es *s, int64_t proc, uint32_t stream)
{
	size_t j;
	uint32_t x;

	if (s->pstabcap == 0 || s->nps * 2 >= s->pstabcap) {
		s->pstabcap = s->pstabcap ? s->pstabcap * 2 : 32;
		free(s->pstab);
		s->pstab = index_new(s, s->pstabcap, s->nps, pst_hash);
	}
	for (j = ps_hash(proc, stream) & (s->pstabcap - 1);
	     (x = s->pstab[j]) != NONE; j = (j + 1) & (s->pstabcap - 1))
		if (s->ps[x].proc == proc && s->ps[x].stream == stream)
			return &s->ps[x];
	if (s->nps == s->capps) {
		s->capps = s->capps ? s->capps * 2 : 16;
		s->ps = mv_xrealloc(s->ps, s->capps * sizeof(*s->ps));
	}
	memset(&s->ps[s->nps], 0, sizeof(s->ps[0]));
	s->ps[s->nps].proc = proc;
	s->ps[s->nps].stream = stream;
	s->ps[s->nps].next = -1;
	s->ps[s->nps].hi = -1;
	s->ps[s->nps].lastop = s->ps[s->nps].subop = NONE;
	s->ps[s->nps].lastdel = NONE;
	s->pstab[j] = (uint32_t)s->nps;
	return &s->ps[s->nps++];
}

/* ---- findings ------------------------------------------------------- */

static size_t
op_pos(const struct es *s, uint32_t o)
{
	return s->op[o].ret != NONE ? s->op[o].ret : s->op[o].inv;
}

/*
 * Opens the finding of kind k with ops a and b (NONE to leave out), or
 * returns NULL when that kind was found already.
 */
static struct mv_buf *
hit(struct es *s, int k, uint32_t a, uint32_t b)
{
	struct mv_hfinding *f = &s->fk[k];

	if (f->anomaly)
		return NULL;
	f->anomaly = kname[k];
	f->check =
	    k == K_LOST_CRASH || k == K_UNSTABLE ? "durability" : "event-store";
	f->nev = 0;
	if (a != NONE) {
		f->ev[f->nev++] = op_pos(s, a);
		f->key = s->st[s->op[a].stream].name;
	}
	if (b != NONE) {
		f->ev[f->nev++] = op_pos(s, b);
		f->key = s->st[s->op[b].stream].name;
	}
	return &f->why;
}

static void
describe(struct es *s, uint32_t o, struct mv_buf *b)
{
	mv_hfinding_op(s->h, op_pos(s, o), b);
}

/* ---- operations ------------------------------------------------------- */

static int
fcode(const char *f)
{
	static const char *const names[] = {
	    "append", "read", "subscribe", "deliver", "checkpoint"};
	int i;

	for (i = 0; i < 5; i++)
		if (strcmp(f, names[i]) == 0)
			return i;
	return -1;
}

/*
 * The slot of process proc in s->open, which is created (op NONE) on
 * first use.  A table of its own rather than pst_of's: it holds a few
 * processes, and stays in the cache while pair() walks the history.
 */
static struct popen *
open_of(struct es *s, int64_t proc)
{
	size_t j, i;
	struct popen *t;

	if (s->nopen * 2 >= s->capopen) {
		size_t cap = s->capopen ? s->capopen * 2 : 16;

		t = mv_xmalloc(cap * sizeof(*t));
		for (j = 0; j < cap; j++) {
			t[j].op = NONE;
			t[j].proc = -1; /* empty: processes are >= 0 here */
		}
		for (i = 0; i < s->capopen; i++) {
			if (s->open[i].proc < 0)
				continue;
			for (j = ps_hash(s->open[i].proc, 0) & (cap - 1);
			     t[j].proc >= 0; j = (j + 1) & (cap - 1))
				;
			t[j] = s->open[i];
		}
		free(s->open);
		s->open = t;
		s->capopen = cap;
	}
	for (j = ps_hash(proc, 0) & (s->capopen - 1);
	     (t = &s->open[j])->proc >= 0; j = (j + 1) & (s->capopen - 1))
		if (t->proc == proc)
			return t;
	s->nopen++;
	t->proc = proc;
	return t;
}

/* Adds to hint and thint what append value v may hold, at most. */
static void
bound_events(struct es *s, const char *v)
{
	const char *c;

	/* An array of n items has n - 1 commas. */
	s->hint++;
	for (c = v; *c != '\0'; c++)
		s->hint += *c == ',';
	s->thint += (size_t)(c - v);
}

/* Pairs invocations with completions (the reader checked the order). */
static int
pair(struct es *s)
{
	const struct mv_history *h = s->h;
	struct popen *p;
	size_t i, nop = 0, ncrash = 0;
	uint32_t o;

	/* Positions and ids are kept in 32 bits, to keep the tables small. */
	if (h->n >= UINT32_MAX - 1)
		return mv_err_set(s->e, "%s: more than %u events",
		    fname(s->name), UINT32_MAX - 2);
	/* Sized exactly: page faults on a big history cost more than this. */
	for (i = 0; i < h->n; i++) {
		nop += h->ev[i].type == MV_INVOKE && h->ev[i].process >= 0;
		ncrash += h->ev[i].process < 0;
	}
	s->op = mv_bigalloc((nop + 1) * sizeof(*s->op), &s->opmap);
	s->at = mv_bigalloc((h->n + 1) * sizeof(*s->at), &s->atmap);
	s->crash = mv_xmalloc((ncrash + 1) * sizeof(*s->crash));
	for (i = 0; i < h->n; i++) {
		const struct mv_event *ev = &h->ev[i];

		s->at[i] = NONE;
		if (ev->process < 0) {
			if (mv_durable_crash(ev))
				s->crash[s->ncrash++] = i;
			continue;
		}
		if (ev->type > MV_INFO)
			continue;
		p = open_of(s, ev->process);
		if (ev->type == MV_INVOKE) {
			struct eop *x = &s->op[s->nop];
			int f = fcode(ev->f);

			if (f < 0)
				return mv_err_set(s->e,
				    "%s:%zu: \"%s\" is not an operation of "
				    "model stream",
				    fname(s->name), ev->line, ev->f);
			/* An upper bound of the events, to size the tables. */
			if (f == E_APPEND && ev->value)
				bound_events(s, ev->value);
			memset(x, 0, sizeof(*x));
			x->inv = (uint32_t)i;
			x->ret = NONE;
			x->proc = ev->process;
			x->f = (unsigned char)f;
			x->status = MV_INFO;
			x->stream = stream_of(s, ev->key ? ev->key : "");
			x->x = x->y = UNK;
			x->ev = x->nev = 0;
			p->op = (uint32_t)s->nop;
			s->at[i] = (uint32_t)s->nop++;
			continue;
		}
		if ((o = p->op) == NONE)
			return mv_err_set(s->e,
			    "%s:%zu: completion without an invocation",
			    fname(s->name), ev->line);
		s->op[o].ret = (uint32_t)i;
		s->op[o].status = (unsigned char)ev->type;
		/* --nil-unknown: null says nothing, as an info read. */
		if (s->nil_unknown && ev->type == MV_OK && s->op[o].f == E_READ
		    && (ev->value == NULL || strcmp(ev->value, "null") == 0))
			s->op[o].status = MV_INFO;
		s->at[i] = o;
		p->op = NONE;
	}
	free(s->open);
	s->open = NULL;
	/* Interned texts and batches: room for all, faulted in as used. */
	s->evs = mv_bigalloc((s->hint + 1) * sizeof(*s->evs), &s->evsmap);
	s->capevs = s->hint + 1;
	mv_buf_grow(&s->text, s->thint);
	return 0;
}

/* The integer member key of object raw (tokens in s->jt), or def. */
static int
member(struct es *s, const char *raw, const char *key, unsigned int *at)
{
	const struct mv_tok *t = s->jt.t;
	unsigned int i = 1, k;

	if (t[0].type != MV_TOK_OBJECT)
		return -1;
	for (k = 0; k < (unsigned int)t[0].size; k++) {
		if (mv_jtok_streq(raw, &t[i], key)) {
			*at = i + 1;
			return 0;
		}
		i = mv_jtok_skip(&s->jt, i + 1);
	}
	return 1;
}

static int
tokens(struct es *s, const char *raw)
{
	struct mv_err e;

	return raw == NULL ? -1 : mv_jtok_parse(&s->jt, raw, strlen(raw), &e);
}

/* An integer member key of the object raw: 0, 1 absent, -1 not one. */
static int
int_member(struct es *s, const char *raw, const char *key, int64_t *out)
{
	unsigned int at;
	int rc;

	if (tokens(s, raw) < 0)
		return -1;
	if ((rc = member(s, raw, key, &at)) != 0)
		return rc;
	return mv_jtok_int(raw, &s->jt.t[at], out) < 0 ? -1 : 0;
}

static int
parse_expect(struct es *s, const char *raw, unsigned int at, int64_t *x)
{
	const struct mv_tok *t = &s->jt.t[at];

	if (mv_jtok_streq(raw, t, "any"))
		*x = MV_EXPECT_ANY;
	else if (mv_jtok_streq(raw, t, "exists"))
		*x = MV_EXPECT_EXISTS;
	else if (mv_jtok_streq(raw, t, "no-stream"))
		*x = MV_EXPECT_NO_STREAM;
	else if (mv_jtok_int(raw, t, x) < 0 || *x < -1)
		return -1;
	return 0;
}

static int
same_batch(const struct es *s, const struct eop *a, const struct eop *b)
{
	return a->stream == b->stream && a->nev == b->nev
	    && memcmp(s->evs + a->ev, s->evs + b->ev, a->nev * 4) == 0;
}

/* An array of n ids, all NONE, from mv_bigalloc (*map for mv_bigfree). */
static uint32_t *
nones(size_t n, size_t *map)
{
	uint32_t *p = mv_bigalloc(n * sizeof(*p), map);

	memset(p, 0xff, n * sizeof(*p));
	return p;
}

/* Records the events of append o (index oi) and who appended each. */
static void
own_events(struct es *s, uint32_t oi)
{
	struct eop *o = &s->op[oi];
	uint32_t j, id;
	struct mv_buf *b;

	s->serial++;
	if (o->status != MV_FAIL)
		s->st[o->stream].nev += o->nev;
	for (j = 0; j < o->nev; j++) {
		id = s->evs[o->ev + j];
		if (o->status == MV_FAIL) {
			if (s->failown == NULL)
				s->failown = nones(s->nid + 1, &s->failownmap);
			if (s->failown[id] == NONE)
				s->failown[id] = oi;
			continue;
		}
		if (s->seen[id] == s->serial
		    && (b = hit(s, K_DUP_EVENT, oi, NONE)) != NULL) {
			describe(s, oi, b);
			mv_buf_addf(b, " holds event %s twice", id_text(s, id));
		}
		s->seen[id] = s->serial;
		if (o->status == MV_OK && s->id[id].ackpos == NONE)
			s->id[id].ackpos = (uint32_t)o->ret;
		if (s->id[id].own == NONE) {
			s->id[id].own = oi;
			s->id[id].ownstream = o->stream;
			if (j + 1 == o->nev)
				s->id[id].flag |= I_LAST;
			s->id[id].bpos = j;
			s->cold[id].nown = 1;
			continue;
		}
		s->cold[id].nown++;
		if (!same_batch(s, &s->op[s->id[id].own], o)
		    && (b = hit(s, K_DUP_EVENT, s->id[id].own, oi)) != NULL) {
			describe(s, s->id[id].own, b);
			mv_buf_adds(b, " and ");
			describe(s, oi, b);
			mv_buf_addf(b,
			    " both append event %s in different batches",
			    id_text(s, id));
		}
	}
}

/* Parses append o: {"events":[...],"expect":E} -> {"version":V}. */
static int
parse_append(struct es *s, uint32_t oi)
{
	struct eop *o = &s->op[oi];
	const char *raw = s->h->ev[o->inv].value;
	unsigned int at, ev, k;
	int64_t v;
	int rc;

	if (tokens(s, raw) < 0 || member(s, raw, "events", &ev) != 0
	    || s->jt.t[ev].type != MV_TOK_ARRAY)
		goto malformed;
	o->x = MV_EXPECT_ANY;
	if (member(s, raw, "expect", &at) == 0
	    && parse_expect(s, raw, at, &o->x) < 0)
		goto malformed;
	o->ev = (uint32_t)s->nevs;
	o->nev = (uint32_t)s->jt.t[ev].size;
	if (s->nevs + o->nev > s->capevs) { /* not with pair's bound */
		s->evs = big_grow(s->evs, &s->evsmap, s->nevs,
		    (s->nevs + o->nev) * 2, sizeof(*s->evs));
		s->capevs = (s->nevs + o->nev) * 2;
	}
	for (k = 0, at = ev + 1; k < o->nev; k++, at = mv_jtok_skip(&s->jt, at))
		s->evs[s->nevs++] = event_id(s, raw, &s->jt.t[at], 1);
	if (o->ret == NONE || (raw = s->h->ev[o->ret].value) == NULL)
		return 0;
	if (o->status == MV_OK) {
		/* Anything but an object says nothing (check.c agrees). */
		if ((rc = int_member(s, raw, "version", &v)) < 0
		    && raw[0] == '{')
			return bad(s, o->ret, "result is not {\"version\":N}");
		o->y = rc == 0 ? v : UNK;
	} else if (o->status == MV_FAIL && s->h->ev[o->ret].error
	    && strcmp(s->h->ev[o->ret].error, "\"wrong-expected-version\"") == 0
	    && int_member(s, raw, "actual", &v) == 0)
		o->y = v;
	return 0;
malformed:
	return bad(s, o->inv, "value is not {\"events\":[...],\"expect\":E}");
}

/* The "from" or "version" argument of read, subscribe and checkpoint. */
static int
parse_arg(struct es *s, uint32_t oi)
{
	struct eop *o = &s->op[oi];
	const char *raw = s->h->ev[o->inv].value;
	const char *key = o->f == E_CKPT ? "version" : "from";
	int64_t v = 0;
	int rc;

	if (o->f == E_DELIVER)
		return 0;
	if (raw == NULL || strcmp(raw, "null") == 0) {
		o->x = o->f == E_CKPT ? UNK : 0;
		return 0;
	}
	if ((rc = int_member(s, raw, key, &v)) < 0 || v < 0)
		return bad(s, o->inv,
		    o->f == E_CKPT ? "value is not {\"version\":N}"
		                   : "value is not {\"from\":N}");
	o->x = rc == 0 ? v : o->f == E_CKPT ? UNK : 0;
	/* A checkpoint the SUT reports in its result wins. */
	if (o->f == E_CKPT && o->status == MV_OK
	    && int_member(s, s->h->ev[o->ret].value, "version", &v) == 0)
		o->x = v;
	return 0;
}

/*
 * Numbers the ids again, stream after stream, in the order of their
 * appends: a read then walks its stream's ids in order, from one cache
 * line to the next, instead of hopping across the events of every stream
 * (which made the sweep slower per event as the history grew).  Done
 * before id[] is made, which is then made once, in that order.  The id
 * table and the texts keep the ids of parse order, which to[] and from[]
 * translate, since moving them would cost a miss per id and per table
 * for what only the rare lookup after parsing needs.
 */
static void
renumber(struct es *s)
{
	uint32_t *at = mv_xcalloc(s->nst + 2, sizeof(*at)), i, j, k;
	size_t n;

	/* to[] first holds each id's stream: that of its first append that
	 * did not fail (own_events' own), NONE if none. */
	s->to = nones(s->nid + 1, &s->tomap);
	for (i = 0; i < s->nop; i++) {
		const struct eop *o = &s->op[i];

		if (o->f != E_APPEND || o->status == MV_FAIL)
			continue;
		for (j = 0; j < o->nev; j++)
			if (s->to[s->evs[o->ev + j]] == NONE)
				s->to[s->evs[o->ev + j]] = o->stream;
	}
	/* Written at random, stream after stream. */
	s->from =
	    mv_bigalloc(((size_t)s->nid + 1) * sizeof(*s->from), &s->frommap);
	/* A counting sort by stream (none last), stable in id order. */
	for (i = 0; i < s->nid; i++) {
		k = s->to[i];
		at[(k == NONE ? s->nst : k) + 1]++;
	}
	for (i = 1; i <= s->nst + 1; i++)
		at[i] += at[i - 1];
	for (i = 0; i < s->nid; i++) {
		k = s->to[i];
		s->to[i] = at[k == NONE ? s->nst : k]++;
		s->from[s->to[i]] = i;
	}
	for (n = 0; n < s->nevs; n++)
		s->evs[n] = s->to[s->evs[n]];
	free(at);
}

/* id[] and seen[], by the ids of the sweep, sized once. */
static void
id_alloc(struct es *s)
{
	uint32_t i;
	struct idst *d;

	/* Read at random by the sweep: mv_bigalloc. */
	s->id = mv_bigalloc(((size_t)s->nid + 1) * sizeof(*s->id), &s->idmap);
	s->cold =
	    mv_bigalloc(((size_t)s->nid + 1) * sizeof(*s->cold), &s->coldmap);
	s->seen =
	    mv_bigalloc(((size_t)s->nid + 1) * sizeof(*s->seen), &s->seenmap);
	for (i = 0; i < s->nid; i++) {
		d = &s->id[i];
		d->own = d->pstream = d->ownstream = NONE;
		d->ackpos = d->ppos = d->rpos = NONE;
		s->cold[i].pop = NONE;
	}
}

/*
 * Every stream's revisions, nev of them (no revision reaches it), in one
 * block: one allocation, on huge pages, rather than one grown per stream.
 */
static void
slot_alloc(struct es *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->nst; i++)
		n += s->st[i].nev;
	s->slots = mv_bigalloc((n + 1) * sizeof(*s->slots), &s->slotsmap);
	for (i = 0, n = 0; i < s->nst; i++) {
		s->st[i].slot = s->slots + n;
		s->st[i].cap = s->st[i].nev;
		n += s->st[i].nev;
	}
}

static int
parse_ops(struct es *s)
{
	uint32_t i;

	for (i = 0; i < s->nop; i++) {
		if (s->op[i].f == E_APPEND) {
			if (parse_append(s, i) < 0)
				return -1;
		} else if (parse_arg(s, i) < 0)
			return -1;
	}
	renumber(s);
	id_alloc(s);
	for (i = 0; i < s->nop; i++)
		if (s->op[i].f == E_APPEND)
			own_events(s, i);
	slot_alloc(s);
	return 0;
}

/* ---- positions -------------------------------------------------------- */

/* Event id at revision p of stream st, seen by op o (read: 1). */
static void
observe(struct es *s, uint32_t id, uint32_t st, int64_t p, uint32_t o, int rd)
{
	struct stream *t = &s->st[st];
	struct mv_buf *b;

	/* Bounded so that a hostile revision cannot make us allocate. */
	if (p < 0 || p >= (int64_t)t->nev) {
		if ((b = hit(s, K_GAP, o, NONE)) != NULL) {
			describe(s, o, b);
			mv_buf_addf(b,
			    " puts event %s at revision %lld of %s, but only "
			    "%u "
			    "events were ever appended to it",
			    id_text(s, id), (long long)p, t->name, t->nev);
		}
		return;
	}
	if (p > t->max)
		t->max = p;
	if (rd && s->id[id].rpos == NONE && s->id[id].own != NONE
	    && s->id[id].ownstream == st)
		s->id[id].rpos = (uint32_t)p;
	if (t->slot[p].id == 0) {
		uint32_t k = parse_id(s, id);

		t->slot[p].id = id + 1;
		t->slot[p].op = o;
		/* A copy near its neighbours, for read_ids to compare with. */
		t->slot[p].off = (uint32_t)t->text.len;
		mv_buf_add(&t->text, s->text.p + s->toff[k], s->tlen[k]);
		mv_buf_addc(&t->text, '\0');
	} else if (t->slot[p].id != id + 1
	    && (b = hit(s, K_POSITION, t->slot[p].op, o)) != NULL) {
		describe(s, t->slot[p].op, b);
		mv_buf_addf(b, " puts event %s at revision %lld of %s but ",
		    id_text(s, t->slot[p].id - 1), (long long)p, t->name);
		describe(s, o, b);
		mv_buf_addf(b, " puts %s there", id_text(s, id));
	}
	if (s->id[id].ppos == NONE) {
		s->id[id].pstream = st;
		s->id[id].ppos = (uint32_t)p;
		s->cold[id].pop = o;
		return;
	}
	if (s->id[id].pstream == st && s->id[id].ppos == p)
		return;
	b = hit(s, s->cold[id].nown > 1 ? K_DUP_APPEND : K_POSITION,
	    s->cold[id].pop, o);
	if (b == NULL)
		return;
	describe(s, s->cold[id].pop, b);
	mv_buf_addf(b, " puts event %s at revision %lld of %s but ",
	    id_text(s, id), (long long)s->id[id].ppos,
	    s->st[s->id[id].pstream].name);
	describe(s, o, b);
	mv_buf_addf(
	    b, " puts it at revision %lld of %s", (long long)p, t->name);
	if (s->cold[id].nown > 1)
		mv_buf_adds(b, ": a retry of its append added it again");
}

/* ---- the sweep -------------------------------------------------------- */

/*
 * 1 if a read seeing id at revision p of st would change nothing in
 * observe: it is the event there, first observed there, and its rpos
 * set, or never to be set from st.  Most events read are, every read
 * after the first; the test is what observe would come to, sooner.
 */
static int
settled(const struct es *s, uint32_t id, uint32_t st, int64_t p)
{
	const struct stream *t = &s->st[st];
	const struct idst *d = &s->id[id];

	return p >= 0 && (size_t)p < t->cap && t->slot[p].id == id + 1
	    && d->ppos == p && d->pstream == st
	    && (d->rpos != NONE || d->own == NONE || d->ownstream != st);
}

/* 1 if a crash lies strictly between positions a and b. */
static int
crash_between(const struct es *s, size_t a, size_t b)
{
	size_t k;

	if (s->ncrash == 0)
		return 0;
	k = mv_durable_next(s->crash, s->ncrash, a);

	return k < s->ncrash && s->crash[k] < b;
}

/* The append acknowledged first for unit id (its batch's first event). */
static int
is_unit(const struct es *s, uint32_t id, uint32_t st)
{
	return s->id[id].bpos == 0 && s->id[id].ownstream == st;
}

static void
on_ack(struct es *s, uint32_t oi)
{
	struct eop *o = &s->op[oi];
	struct stream *t = &s->st[o->stream];
	uint32_t j, id;

	if (o->nev == 0)
		return;
	if (o->y != UNK)
		for (j = 0; j < o->nev; j++)
			observe(s, s->evs[o->ev + j], o->stream,
			    o->y - o->nev + 1 + j, oi, 0);
	id = s->evs[o->ev];
	if (!is_unit(s, id, o->stream) || s->id[id].ackpos != o->ret)
		return;
	if (t->epoch != s->ncrashed) {
		t->req_crash = t->req;
		t->epoch = s->ncrashed;
	}
	t->req++;
	if (s->promises & MV_PROMISE_RYW)
		pst_of(s, s->op[s->id[id].own].proc, o->stream)->own_req++;
}

static void
on_read_inv(struct es *s, struct eop *o)
{
	struct stream *t = &s->st[o->stream];

	o->req = t->req;
	o->req_crash = t->epoch != s->ncrashed ? t->req : t->req_crash;
	o->req_info = t->req_info;
	if (s->promises & MV_PROMISE_RYW)
		o->req_own = pst_of(s, o->proc, o->stream)->own_req;
}

/* Every crash activates the info batches seen since the last one. */
static void
on_crash(struct es *s, size_t pos)
{
	size_t i;

	s->ncrashed++;
	for (i = 0; i < s->npending; i++) {
		uint32_t id = s->pending[i];

		if (s->active == NULL)
			s->active = mv_xmalloc(
			    ((size_t)s->nid + 1) * sizeof(*s->active));
		s->id[id].flag |= I_ACTIVE;
		s->active[id] = pos;
		s->st[s->op[s->id[id].own].stream].req_info++;
	}
	s->npending = 0;
}

static void
mark_durable(struct es *s, uint32_t id)
{
	s->id[id].flag |= I_DURABLE;
	if (s->npending == s->cappending) {
		s->cappending = s->cappending ? s->cappending * 2 : 64;
		s->pending = mv_xrealloc(
		    s->pending, s->cappending * sizeof(*s->pending));
	}
	s->pending[s->npending++] = id;
}

/* Torn batch: whole batches in order, but a read from R may begin in one. */
static void
torn(struct es *s, uint32_t ri, const uint32_t *ev, size_t n)
{
	uint32_t cur = NONE, prev = 0, a;
	size_t j;
	struct mv_buf *b;

	for (j = 0; j < n && !s->fk[K_TORN].anomaly; j++) {
		if (ev[j] == NONE || (a = s->id[ev[j]].own) == NONE) {
			cur = NONE;
			continue;
		}
		if (cur != NONE && (a != cur || s->id[ev[j]].bpos != prev + 1))
			break;
		if (cur == NONE && s->id[ev[j]].bpos != 0
		    && !(j == 0 && s->op[ri].x > 0)) {
			cur = a;
			break;
		}
		cur = a;
		prev = s->id[ev[j]].bpos;
		if (s->id[ev[j]].flag & I_LAST)
			cur = NONE;
	}
	if (cur == NONE || (b = hit(s, K_TORN, cur, ri)) == NULL)
		return;
	describe(s, ri, b);
	mv_buf_adds(b, " shows only part of the batch [");
	for (j = 0; j < s->op[cur].nev; j++) {
		uint32_t e = s->evs[s->op[cur].ev + j];

		mv_buf_adds(b, id_text(s, e));
		if (j + 1 < s->op[cur].nev)
			mv_buf_addc(b, ',');
	}
	mv_buf_adds(b, "] of ");
	describe(s, cur, b);
}

/* Puts the ids the current read holds so far in seen[]. */
static void
held(struct es *s)
{
	size_t i;

	if (s->marked)
		return;
	for (i = 0; i < s->npass; i++)
		s->seen[s->pass[i]] = s->serial;
	s->marked = 1;
}

/* The first ok batch read ri lacks among those its counts required. */
static uint32_t
missing(struct es *s, uint32_t ri, int which)
{
	const struct eop *r = &s->op[ri];
	uint32_t i, id;

	for (i = 0; i < s->nop; i++) {
		const struct eop *a = &s->op[i];

		if (a->f != E_APPEND || a->stream != r->stream || a->nev == 0)
			continue;
		id = s->evs[a->ev];
		if (s->seen[id] == s->serial || !is_unit(s, id, r->stream))
			continue;
		if (which == K_UNSTABLE) {
			if ((s->id[id].flag & I_ACTIVE)
			    && s->active[id] < r->inv && s->id[id].own == i)
				return i;
			continue;
		}
		if (a->status != MV_OK || s->id[id].ackpos != a->ret
		    || a->ret >= r->inv)
			continue;
		if (which == K_LOST_CRASH && !crash_between(s, a->ret, r->inv))
			continue;
		if (which == K_RYW && s->op[s->id[id].own].proc != r->proc)
			continue;
		return i;
	}
	return NONE;
}

/*
 * 1 the first time the current read holds id, 0 when it holds it again.
 * A read mostly returns ids in increasing order (they are numbered stream
 * by stream, in the order of their appends): seen[] is then left alone,
 * until an id comes out of order.
 */
static int
fresh(struct es *s, uint32_t id)
{
	if (!s->marked) {
		if (s->npass == 0 || id > s->pass[s->npass - 1]) {
			s->pass[s->npass++] = id;
			return 1;
		}
		held(s);
	}
	if (s->seen[id] == s->serial)
		return 0;
	s->seen[id] = s->serial;
	return 1;
}

static void
report_missing(struct es *s, uint32_t ri, int k)
{
	uint32_t a;
	struct mv_buf *b;

	/* The scan is over every op: only for a kind not found yet. */
	if (s->fk[k].anomaly)
		return;
	held(s);
	a = missing(s, ri, k);
	if (a == NONE || (b = hit(s, k, a, ri)) == NULL)
		return;
	if (k == K_MISSING)
		s->miss_unit = s->evs[s->op[a].ev];
	describe(s, ri, b);
	if (k == K_UNSTABLE) {
		mv_buf_addf(b, " began after a crash but lacks event %s of ",
		    id_text(s, s->evs[s->op[a].ev]));
		describe(s, a, b);
		mv_buf_adds(b,
		    ", whose outcome was unknown but which a read "
		    "after an earlier recovery showed");
		return;
	}
	mv_buf_adds(b, " began after ");
	describe(s, a, b);
	mv_buf_adds(b,
	    k == K_LOST_CRASH
	        ? " completed and the system crashed, but lacks its event "
	        : " completed but lacks its event ");
	mv_buf_adds(b, id_text(s, s->evs[s->op[a].ev]));
}

/* Per process: the stream a process has seen never shrinks. */
static void
monotonic(struct es *s, uint32_t ri, int64_t len)
{
	struct eop *r = &s->op[ri];
	struct pst *p = pst_of(s, r->proc, r->stream);
	int64_t end = r->x + len;
	struct mv_buf *b;

	if (p->lastop != NONE && (len > 0 ? end : r->x) < p->maxlen
	    && (b = hit(s, K_MONOTONIC, p->lastop, ri)) != NULL) {
		describe(s, ri, b);
		mv_buf_addf(b,
		    " saw %s end at revision %lld, but the same process had "
		    "seen it reach %lld in ",
		    s->st[r->stream].name, (long long)end - 1,
		    (long long)p->maxlen - 1);
		describe(s, p->lastop, b);
	}
	/* An empty read from R > 0 says only that the stream is no longer. */
	if ((len > 0 || r->x == 0) && (end > p->maxlen || p->lastop == NONE)) {
		p->maxlen = end > p->maxlen ? end : p->maxlen;
		p->lastop = ri;
	}
}

/*
 * The id of the event whose text c[0..len) was seen at revision p of st,
 * or NONE: mostly a read returns what was seen there before, and its
 * text is at hand, so that the id table can be left alone.
 */
static uint32_t
at_slot(const struct stream *st, size_t p, const char *c, size_t len)
{
	uint32_t id;

	const char *x;
	size_t i;

	if (p >= st->cap || (id = st->slot[p].id) == 0)
		return NONE;
	/* A loop, not memcmp: the texts are short, and calls add up. */
	x = st->text.p + st->slot[p].off;
	for (i = 0; i < len; i++)
		if (x[i] != c[i])
			return NONE;
	return x[len] == '\0' ? id - 1 : NONE;
}

/*
 * read_ids for the usual result, a compact array of plain strings of
 * printable ASCII: the same ids without a token array.  0 when raw is
 * anything else (escapes, other values, spaces): read_ids then tokenises
 * it, and decides what it is.
 */
static int
read_plain(struct es *s, uint32_t ri, const char *raw, uint32_t **ids,
    size_t *n, size_t *cap)
{
	const struct stream *st = &s->st[s->op[ri].stream];
	size_t p = (size_t)s->op[ri].x;
	const char *c = raw + 1, *q;
	size_t len;
	uint32_t id;

	if (raw[0] != '[' || (c[0] == ']' && c[1] == '\0'))
		return raw[0] == '[';
	for (;; c = q + 2) {
		if (*c != '"')
			return 0;
		for (q = c + 1; *q != '"'; q++)
			if (*q == '\\' || *q < 0x20 || *q > 0x7e)
				return 0;
		if (*n == *cap) {
			*cap = *cap * 2 + 16;
			*ids = mv_xrealloc(*ids, *cap * sizeof(**ids));
		}
		len = (size_t)(q - c + 1);
		if ((id = at_slot(st, p + *n, c, len)) == NONE)
			id = intern(s, c, len, 0);
		(*ids)[(*n)++] = id;
		if (q[1] == ']')
			return q[2] == '\0';
		if (q[1] != ',')
			return 0;
	}
}

/* Reads ri's result into ids; -1 when it is not an array. */
static int
read_ids(struct es *s, uint32_t ri, uint32_t **ids, size_t *n, size_t *cap)
{
	const char *raw = s->h->ev[s->op[ri].ret].value;
	const struct stream *st = &s->st[s->op[ri].stream];
	unsigned int at, k;

	*n = 0;
	if (strcmp(raw, "null") == 0)
		return 0;
	if (read_plain(s, ri, raw, ids, n, cap))
		return 0;
	*n = 0;
	if (tokens(s, raw) < 0 || s->jt.t[0].type != MV_TOK_ARRAY)
		return -1;
	if ((size_t)s->jt.t[0].size + 1 > *cap) {
		*cap = (size_t)s->jt.t[0].size * 2 + 1;
		*ids = mv_xrealloc(*ids, *cap * sizeof(**ids));
	}
	for (k = 0, at = 1; k < (unsigned int)s->jt.t[0].size;
	     k++, at = mv_jtok_skip(&s->jt, at)) {
		const struct mv_tok *t = &s->jt.t[at];
		size_t p = (size_t)s->op[ri].x + k, start, len;

		uint32_t id;

		len = mv_jtok_span(t, &start);
		if ((id = at_slot(st, p, raw + start, len)) == NONE)
			id = event_id(s, raw, t, 0);
		(*ids)[(*n)++] = id;
	}
	return 0;
}

/* An event read or delivered that no append that may have happened made. */
static int
phantom(struct es *s, uint32_t ri, uint32_t id, size_t j)
{
	struct mv_buf *b;

	/* Reads come in completion order: one that passed passes again. */
	if (id != NONE
	    && ((s->id[id].flag & I_SEEN)
	        || (s->id[id].own != NONE
	            && s->op[s->id[id].own].inv < s->op[ri].ret)))
		return 0;
	b = hit(s, K_PHANTOM, ri,
	    id != NONE && s->id[id].own != NONE ? s->id[id].own
	        : id != NONE && s->failown      ? s->failown[id]
	                                        : NONE);
	if (b == NULL)
		return 1;
	describe(s, ri, b);
	if (id == NONE) {
		mv_buf_addf(
		    b, " returned an event no append wrote (item %zu)", j);
		return 1;
	}
	mv_buf_addf(b, " returned event %s, ", id_text(s, id));
	if (s->id[id].own == NONE)
		mv_buf_adds(b, "which only a failed append wrote");
	else
		mv_buf_adds(b, "before the append that wrote it began");
	return 1;
}

static int
on_read(struct es *s, uint32_t ri, uint32_t **ids, size_t *cap)
{
	struct eop *r = &s->op[ri];
	size_t n, j;
	uint32_t c = 0, cc = 0, ci = 0, co = 0, id;
	struct mv_buf *b;

	if (read_ids(s, ri, ids, &n, cap) < 0)
		return bad(s, r->ret, "result is not an array");
	s->serial++;
	s->npass = 0;
	s->marked = 0;
	if (n > s->cappass) {
		s->cappass = n * 2;
		s->pass = mv_xrealloc(s->pass, s->cappass * sizeof(*s->pass));
	}
	for (j = 0; j < n; j++) {
		id = (*ids)[j];
		if ((id == NONE || !(s->id[id].flag & I_SEEN))
		    && phantom(s, ri, id, j))
			continue;
		if (!fresh(s, id)) {
			if ((b = hit(s, K_DUP_APPEND, s->id[id].own, ri))
			    != NULL) {
				describe(s, ri, b);
				mv_buf_addf(b, " returned event %s twice",
				    id_text(s, id));
			}
			continue;
		}
		if (!(s->id[id].flag & I_SEEN))
			s->id[id].flag |= I_SEEN;
		if (!settled(s, id, r->stream, r->x + (int64_t)j))
			observe(s, id, r->stream, r->x + (int64_t)j, ri, 1);
		if (!is_unit(s, id, r->stream))
			continue;
		if (s->id[id].ackpos < r->inv) {
			c++;
			cc += crash_between(s, s->id[id].ackpos, r->inv);
			if (s->promises & MV_PROMISE_RYW)
				co += s->op[s->id[id].own].proc == r->proc;
		} else if (s->id[id].ackpos == NONE
		    && !(s->id[id].flag & I_DURABLE)
		    && crash_between(s, s->op[s->id[id].own].inv, r->inv))
			mark_durable(s, id);
		if ((s->id[id].flag & I_ACTIVE) && s->active[id] < r->inv)
			ci++;
	}
	torn(s, ri, *ids, n);
	monotonic(s, ri, (int64_t)n);
	if (r->x != 0)
		return 0;
	if (cc < r->req_crash)
		report_missing(s, ri, K_LOST_CRASH);
	if (ci < r->req_info)
		report_missing(s, ri, K_UNSTABLE);
	if ((s->promises & MV_PROMISE_RYW) && co < r->req_own)
		report_missing(s, ri, K_RYW);
	if (c < r->req)
		report_missing(s, ri, K_MISSING);
	return 0;
}

/* A delivery {"version":V,"event":E} to a subscriber. */
static int
on_deliver(struct es *s, uint32_t di)
{
	struct eop *d = &s->op[di];
	const char *raw = s->h->ev[d->ret].value;
	unsigned int at;
	int64_t v;
	uint32_t id;
	struct pst *p;
	struct mv_buf *b;

	if (raw == NULL)
		return 0;
	if (int_member(s, raw, "version", &v) != 0 || v < 0
	    || member(s, raw, "event", &at) != 0)
		return bad(
		    s, d->ret, "result is not {\"version\":N,\"event\":E}");
	id = event_id(s, raw, &s->jt.t[at], 0);
	d->x = v;
	if (!phantom(s, di, id, 0)) {
		s->id[id].flag |= I_SEEN;
		observe(s, id, d->stream, v, di, 1);
	}
	p = pst_of(s, d->proc, d->stream);
	if (p->next >= 0 && v != p->next) {
		b = hit(s, v > p->next ? K_SUB_SKIP : K_SUB_DUP,
		    p->lastdel != NONE ? p->lastdel : p->subop, di);
		if (b != NULL) {
			describe(s, di, b);
			mv_buf_addf(b, " delivered revision %lld of %s ",
			    (long long)v, s->st[d->stream].name);
			if (v > p->next)
				mv_buf_addf(b, "but revision %lld came next",
				    (long long)p->next);
			else
				mv_buf_addf(b,
				    "again without a reconnect (%lld came "
				    "next)",
				    (long long)p->next);
		}
	}
	if (v + 1 > p->next)
		p->next = v + 1;
	if (v > p->hi)
		p->hi = v;
	p->lastdel = di;
	return 0;
}

/* A (re)subscription from R: deliveries start again at R. */
static void
on_subscribe(struct es *s, uint32_t oi)
{
	struct pst *p = pst_of(s, s->op[oi].proc, s->op[oi].stream);

	p->next = s->op[oi].x;
	p->subop = oi;
}

/* A checkpoint never names a revision the subscriber was not given. */
static void
on_checkpoint(struct es *s, uint32_t oi)
{
	struct eop *o = &s->op[oi];
	struct pst *p = pst_of(s, o->proc, o->stream);
	struct mv_buf *b;

	if (o->x == UNK || o->x <= p->hi)
		return;
	if ((b = hit(s, K_CKPT, p->lastdel, oi)) == NULL)
		return;
	describe(s, oi, b);
	mv_buf_addf(b, " stored checkpoint %lld of %s, ahead of ",
	    (long long)o->x, s->st[o->stream].name);
	if (p->hi < 0)
		mv_buf_adds(b, "any delivery");
	else
		mv_buf_addf(
		    b, "the last revision delivered, %lld", (long long)p->hi);
}

#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

enum { WARM_LINES = 32 };

/* Prefetches p[0..n), at most WARM_LINES cache lines of it: past that
 * the hardware's prefetcher has caught on. */
static void
warm_span(const void *p, size_t n)
{
	const char *c = p;
	size_t k;

	if (n > WARM_LINES * 64)
		n = WARM_LINES * 64;
	for (k = 0; k < n; k += 64)
		PREFETCH(c + k);
}

/*
 * Warms the cache for the event at history position i, which the sweep
 * reaches WARM events later (stage 1), WARM / 2 later (stage 2) or WARM / 4
 * later (stage 3): each stage reads what the one before brought in.  Every
 * read and append starts at a place of its own in memory, its stream's,
 * and the sweep would otherwise wait for each of these in turn; the
 * larger the history, the longer the wait, as fewer of them stay cached.
 */
static void
warm(struct es *s, size_t i, int stage)
{
	const struct eop *x;
	const struct stream *t;
	int64_t p;
	size_t n, off;
	uint32_t o, id;

	if (i >= s->h->n || (o = s->at[i]) == NONE)
		return;
	x = &s->op[o];
	if (stage == 1) {
		PREFETCH(&s->st[x->stream]);
		PREFETCH(s->h->ev[i].value);
		return;
	}
	if (x->ret != i || x->status != MV_OK
	    || (x->f != E_READ && x->f != E_APPEND))
		return;
	t = &s->st[x->stream];
	p = x->f == E_READ ? x->x : x->y < 0 ? -1 : x->y - x->nev + 1;
	if (p < 0 || (size_t)p >= t->cap)
		return;
	/* The revisions it will likely touch: what was observed from p on
	 * (a read from p returns them all), at most WARM_LINES lines. */
	n = x->f == E_APPEND ? x->nev
	    : t->max >= p    ? (size_t)(t->max - p) + 1
	                     : 1;
	if (p + n > t->cap)
		n = t->cap - (size_t)p;
	if (stage == 2) {
		warm_span(&t->slot[p], n * sizeof(*t->slot));
		/* No pst yet before the first read or append ends. */
		if (x->f == E_READ && s->pstabcap > 0)
			PREFETCH(&s->pstab[ps_hash(x->proc, x->stream)
			    & (s->pstabcap - 1)]);
		return;
	}
	if (t->slot[p].id != 0 && t->slot[p].off < t->text.len) {
		off = t->slot[p].off;
		warm_span(t->text.p + off,
		    t->text.len - off < n * 16 ? t->text.len - off : n * 16);
	}
	/* A stream's ids are numbered in order: those of p on follow id. */
	if ((id = t->slot[p].id) != 0)
		warm_span(&s->id[id - 1],
		    (n < s->nid - (id - 1) ? n : s->nid - (id - 1))
		        * sizeof(*s->id));
	if (x->f == E_READ && s->pstabcap > 0
	    && (o = s->pstab[ps_hash(x->proc, x->stream) & (s->pstabcap - 1)])
	        != NONE)
		PREFETCH(&s->ps[o]);
}

enum { WARM = 16 };

static int
sweep(struct es *s)
{
	uint32_t *ids = NULL, o;
	size_t cap = 0, i, ci = 0;
	int rc = 0;

	for (i = 0; i < s->h->n && rc == 0; i++) {
		struct eop *x;

		warm(s, i + WARM, 1);
		warm(s, i + WARM / 2, 2);
		warm(s, i + WARM / 4, 3);
		if (ci < s->ncrash && s->crash[ci] == i) {
			on_crash(s, i);
			ci++;
			continue;
		}
		if ((o = s->at[i]) == NONE)
			continue;
		x = &s->op[o];
		if (i == x->inv) {
			if (x->f == E_READ)
				on_read_inv(s, x);
			continue;
		}
		if (x->status != MV_OK)
			continue;
		switch (x->f) {
		case E_APPEND: on_ack(s, o); break;
		case E_READ:
			if (s->h->ev[i].value)
				rc = on_read(s, o, &ids, &cap);
			break;
		case E_DELIVER: rc = on_deliver(s, o); break;
		case E_SUB: on_subscribe(s, o); break;
		default: on_checkpoint(s, o); break;
		}
	}
	free(ids);
	return rc;
}

/* ---- after the sweep -------------------------------------------------- */

/* An ok append expecting an exact version, for one_per_expect. */
static int
exact(const struct eop *o)
{
	return o->f == E_APPEND && o->status == MV_OK && o->nev > 0
	    && o->x >= -1;
}

/*
 * The first ops (in history order) of stream st's smallest expected
 * version that two of its appends ok[0..n) expected, in *a and *b; 0 if
 * none did.  tab (cap slots, empty) maps a version to its first append,
 * and is left empty.
 */
static int
twice_expected(const struct es *s, const uint32_t *ok, size_t n,
    struct xslot *tab, size_t cap, uint32_t *a, uint32_t *b)
{
	size_t i, j;
	int64_t x;
	int found = 0;

	for (i = 0; i < n; i++) {
		x = s->op[ok[i]].x;
		for (j = ps_hash(x, 0) & (cap - 1); tab[j].o != NONE;
		     j = (j + 1) & (cap - 1))
			if (tab[j].x == x)
				break;
		if (tab[j].o == NONE) {
			tab[j].x = x;
			tab[j].o = ok[i];
		} else if (!found || x < s->op[*a].x) {
			found = 1;
			*a = tab[j].o;
			*b = ok[i];
		}
	}
	for (i = 0; i < n; i++) {
		x = s->op[ok[i]].x;
		for (j = ps_hash(x, 0) & (cap - 1); tab[j].o != NONE;
		     j = (j + 1) & (cap - 1))
			tab[j].o = NONE;
	}
	return found;
}

/*
 * At most one ok append per (stream, exact expected version).  The
 * appends are bucketed by stream, in history order, and each stream's
 * looked up in a small table: the first stream, the smallest version and
 * the first two appends that expected it, as a sort would find them, in
 * time linear in the appends.
 */
static void
one_per_expect(struct es *s)
{
	uint32_t *at = mv_xcalloc(s->nst + 2, sizeof(*at)), *ok, a = 0, b = 0;
	size_t i, n = 0, cap = 16, map, most = 0, st;
	struct xslot *tab;
	struct mv_buf *m;

	for (i = 0; i < s->nop; i++)
		if (exact(&s->op[i])) {
			at[s->op[i].stream + 1]++;
			n++;
		}
	for (st = 0; st < s->nst; st++)
		if (at[st + 1] > most)
			most = at[st + 1];
	for (st = 1; st <= s->nst + 1; st++)
		at[st] += at[st - 1];
	ok = mv_bigalloc((n + 1) * sizeof(*ok), &map);
	for (i = 0; i < s->nop; i++)
		if (exact(&s->op[i]))
			ok[at[s->op[i].stream]++] = (uint32_t)i;
	while (cap < 2 * most)
		cap *= 2;
	tab = mv_xmalloc(cap * sizeof(*tab));
	for (i = 0; i < cap; i++)
		tab[i].o = NONE;
	/* at[st] is now where stream st + 1 begins. */
	for (st = 0; st < s->nst; st++) {
		size_t lo = st ? at[st - 1] : 0;

		if (!twice_expected(s, ok + lo, at[st] - lo, tab, cap, &a, &b))
			continue;
		if ((m = hit(s, K_LOST_UPDATE, a, b)) == NULL)
			break;
		describe(s, a, m);
		mv_buf_adds(m, " and ");
		describe(s, b, m);
		mv_buf_addf(m, " both succeeded expecting version %lld",
		    (long long)s->op[a].x);
		break;
	}
	free(tab);
	mv_bigfree(ok, map);
	free(at);
}

/* Where an ok append landed and what it said; what a conflict said. */
static void
versions(struct es *s)
{
	uint32_t i;
	struct mv_buf *b;

	for (i = 0; i < s->nop; i++) {
		const struct eop *o = &s->op[i];
		int64_t at = UNK, n = o->nev;

		if (o->f != E_APPEND || o->ret == NONE)
			continue;
		if (o->status == MV_FAIL && o->y != UNK
		    && (o->x == MV_EXPECT_ANY || o->x == o->y
		        || (o->x == MV_EXPECT_EXISTS && o->y >= 0))
		    && (b = hit(s, K_FALSE_CONFLICT, i, NONE)) != NULL) {
			describe(s, i, b);
			mv_buf_addf(b,
			    " failed with wrong-expected-version, yet the "
			    "actual version %lld it reported meets its "
			    "expectation",
			    (long long)o->y);
		}
		if (o->status != MV_OK || n == 0)
			continue;
		if (s->id[s->evs[o->ev]].rpos != NONE)
			at = s->id[s->evs[o->ev]].rpos;
		else if (o->y != UNK)
			at = o->y - n + 1;
		if (at != UNK
		    && ((o->x >= -1 && at != o->x + 1)
		        || (o->x == MV_EXPECT_EXISTS && at == 0))
		    && (b = hit(s, K_LOST_UPDATE, i, NONE)) != NULL) {
			describe(s, i, b);
			mv_buf_addf(b, " expected version %lld",
			    (long long)(o->x == MV_EXPECT_EXISTS ? 0 : o->x));
			mv_buf_addf(b,
			    "%s but its events landed from revision %lld",
			    o->x == MV_EXPECT_EXISTS ? " or later" : "",
			    (long long)at);
		}
		if (o->y != UNK
		    && (o->y < n - 1
		        || (s->id[s->evs[o->ev]].rpos != NONE
		            && o->y != at + n - 1))
		    && (b = hit(s, K_WRONG_VERSION, i, NONE)) != NULL) {
			describe(s, i, b);
			mv_buf_addf(b,
			    " reported version %lld for %lld events that "
			    "landed from revision %lld",
			    (long long)o->y, (long long)n, (long long)at);
		}
	}
}

/* Every revision up to the last observed holds some event. */
static void
gaps(struct es *s)
{
	uint32_t *unk = mv_xcalloc(s->nst + 1, sizeof(*unk)), i;
	size_t st, p, filled, first;
	struct mv_buf *b;

	for (i = 0; i < s->nid; i++)
		if (s->id[i].own != NONE && s->id[i].ppos == NONE)
			unk[s->op[s->id[i].own].stream]++;
	for (st = 0; st < s->nst && !s->fk[K_GAP].anomaly; st++) {
		const struct stream *t = &s->st[st];

		filled = 0;
		first = NOPOS;
		for (p = 0; (int64_t)p <= t->max; p++) {
			if (t->slot[p].id)
				filled++;
			else if (first == NOPOS)
				first = p;
		}
		if (first == NOPOS || (size_t)t->max + 1 - filled <= unk[st])
			continue;
		b = hit(s, K_GAP, t->slot[t->max].op, NONE);
		describe(s, t->slot[t->max].op, b);
		mv_buf_addf(b,
		    " puts an event at revision %lld of %s, but revision "
		    "%zu holds none: %zu revisions are empty and only %u "
		    "events of unknown revision could fill them",
		    (long long)t->max, t->name, first,
		    (size_t)t->max + 1 - filled, unk[st]);
	}
	free(unk);
}

static int
choose(struct es *s, struct mv_hfinding *f)
{
	int k;

	for (k = 0; k < K_COUNT; k++) {
		struct mv_hfinding *x = &s->fk[k];

		if (x->anomaly == NULL)
			continue;
		f->check = x->check;
		f->anomaly = x->anomaly;
		f->key = x->key;
		memcpy(f->ev, x->ev, sizeof(f->ev));
		f->nev = x->nev;
		mv_buf_reset(&f->why);
		mv_buf_add(&f->why, x->why.p, x->why.len);
		if (k == K_MISSING && (s->id[s->miss_unit].flag & I_SEEN))
			f->anomaly = "stale-read";
		else if (k == K_MISSING)
			mv_buf_adds(&f->why, ", and no read ever returned it");
		return 1;
	}
	return 0;
}

static void
es_free(struct es *s)
{
	size_t i;

	for (i = 0; i < s->nst; i++)
		mv_buf_release(&s->st[i].text);
	mv_bigfree(s->slots, s->slotsmap);
	for (i = 0; i < K_COUNT; i++)
		mv_hfinding_release(&s->fk[i]);
	free(s->st);
	free(s->crash);
	/* From mv_bigalloc (map 0, or NULL, is a free). */
	mv_bigfree(s->op, s->opmap);
	mv_bigfree(s->at, s->atmap);
	mv_bigfree(s->tab, s->tabmap);
	mv_bigfree(s->toff, s->toffmap);
	mv_bigfree(s->tlen, s->tlenmap);
	mv_bigfree(s->failown, s->failownmap);
	mv_bigfree(s->to, s->tomap);
	mv_bigfree(s->from, s->frommap);
	mv_bigfree(s->seen, s->seenmap);
	mv_bigfree(s->id, s->idmap);
	mv_bigfree(s->cold, s->coldmap);
	mv_bigfree(s->evs, s->evsmap);
	free(s->open);
	free(s->pass);
	free(s->active);
	free(s->pending);
	free(s->ps);
	free(s->pstab);
	free(s->sttab);
	mv_buf_release(&s->text);
	mv_buf_release(&s->names);
	mv_buf_release(&s->tmp);
	mv_jtok_release(&s->jt);
}

int
mv_estore_check(const struct mv_history *h, const char *name, unsigned promises,
    int nil_unknown, struct mv_hfinding *f, struct mv_err *e)
{
	struct es s;
	int rc, k;

	memset(&s, 0, sizeof(s));
	s.h = h;
	s.name = name ? name : "-";
	s.promises = promises;
	s.nil_unknown = nil_unknown;
	s.e = e;
	mv_buf_init(&s.text);
	mv_buf_init(&s.names);
	mv_buf_init(&s.tmp);
	mv_jtok_init(&s.jt);
	for (k = 0; k < K_COUNT; k++)
		mv_hfinding_init(&s.fk[k]);
	rc = pair(&s);
	if (rc == 0)
		rc = parse_ops(&s);
	if (rc == 0)
		rc = sweep(&s);
	if (rc == 0) {
		one_per_expect(&s);
		versions(&s);
		gaps(&s);
		rc = choose(&s, f);
	}
	es_free(&s);
	return rc;
}
