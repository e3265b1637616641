/*
 * causal.c: causal consistency of read/write histories with unique written
 * values per key, after Bouajjani, Enea, Guerraoui and Hamza, "On
 * verifying causal consistency" (POPL 2017).  For such "differentiated"
 * histories each model holds exactly when none of a few bad patterns
 * occurs, and each pattern is found in polynomial time.
 *
 * po is each process's order, rf relates a write to the reads of its
 * value (a read of null reads the initial value, from no write), and
 * co = (po U rf)+, the causal order.  All keys are checked together.
 *   cc  (weak causal consistency): no cyclic-co (co has a cycle),
 *       write-co-init-read (a read of the initial value causally after a
 *       write of that key), thin-air-read (a value that no write wrote),
 *       write-co-read (w1 co w2 co r, r reads w1, w2 writes the same key);
 *   ccv (causal convergence): cc, and no cyclic-cf: w1 cf w2 when w1 co r
 *       and r reads w2 (so every replica orders w1 before w2); cf U co
 *       must be acyclic;
 *   cm  (causal memory): cc, and for each process p with last op o, the
 *       relation hb_o (co within the causal past of o, closed under: w1
 *       hb_o r2 with r2 a read of p reading w2 of the same key gives w1
 *       hb_o w2) has no cycle (cyclic-hb) and orders no write of a key
 *       before a read of p that returned its initial value
 *       (write-hb-init-read).  hb_o only grows along p's order, so the
 *       last op of each process decides for all of them.
 *
 * The causal past of an op is closed downwards in each process's order,
 * so it is a vector clock: clk[v][q] is how many of process q's ops are in
 * v's past (v included).  Every relation here contains po, so the same
 * holds for cf U co and for hb_o, and one depth-first pass per relation
 * computes the clocks or finds a cycle.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "model.h"
#include "xcheck.h"

#define NONE UINT32_MAX

struct causal {
	struct mv_xctx *x;
	struct mv_model *km, *vm; /* key and value atoms */
	struct mv_buf tmp;
	char *init;       /* canonical text of the initial value */
	size_t n, np;     /* ops and processes */
	uint32_t *xi;     /* op: its index in x->op */
	uint32_t *proc;   /* op: its process, 0..np-1 */
	uint32_t *pos;    /* op: its place in its process, from 0 */
	uint32_t **chain; /* process: its ops */
	uint32_t *clen;
	uint32_t *keyno;   /* op: its key */
	uint32_t *rf;      /* read: the write it read, NONE for initial */
	unsigned char *wr; /* op: 1 for a write */
	uint32_t *ws;      /* writes sorted by (key, process, pos) */
	size_t nws;
	uint32_t *clk; /* n * np */
	/* extra edges (cf, or hb's write-to-write), as preds by target */
	uint32_t *esrc, *edst, *erd, *xoff, *xsrc; /* erd: the read behind */
	size_t ne, cape;
	unsigned char *color, *mask;
	uint32_t *stk, *sti;
	uint32_t *cyc;
	size_t ncyc;
};

static int
is_f(const char *f, const char *a, const char *b)
{
	return strcmp(f, a) == 0 || strcmp(f, b) == 0;
}

/*
 * The atom of "KEY VALUE" with VALUE canonical, -1 if not JSON; *init
 * says whether VALUE is the initial value (null, or --init's).
 */
static int64_t
value_atom(struct causal *c, uint32_t key, const char *raw, int *init)
{
	struct mv_jv *v;
	struct mv_err e;
	size_t at;

	mv_buf_reset(&c->tmp);
	mv_buf_addf(&c->tmp, "%u ", key);
	at = c->tmp.len;
	if ((v = mv_jv_parse(raw, strlen(raw), &e)) == NULL)
		return -1;
	mv_jv_write(&c->tmp, v);
	mv_jv_free(v);
	*init = strcmp(c->tmp.p + at, c->init) == 0;
	return mv_model_atom(c->vm, c->tmp.p, c->tmp.len);
}

/* The canonical text of the initial value into c->init. */
static int
initial_value(struct causal *c)
{
	const char *s = c->x->o->init ? c->x->o->init : "null";
	struct mv_jv *v;
	struct mv_err e;

	if ((v = mv_jv_parse(s, strlen(s), &e)) == NULL)
		return mv_err_set(c->x->e, "--init: not a JSON value: %s", s);
	mv_buf_reset(&c->tmp);
	mv_jv_write(&c->tmp, v);
	mv_jv_free(v);
	c->init = mv_xstrdup(c->tmp.p);
	return 0;
}

/* Which ops take part: ok and info writes, ok reads with a result. */
static int
select_ops(struct causal *c)
{
	struct mv_xctx *x = c->x;
	size_t i;

	c->xi = mv_xmalloc((x->n + 1) * sizeof(*c->xi));
	for (i = 0; i < x->n; i++) {
		const struct mv_xop *o = &x->op[i];
		int rd = is_f(o->f, "read", "get");

		if (!rd && !is_f(o->f, "write", "put"))
			return mv_xbad(x, o->inv,
			    "\"%s\" is not an operation of the causal checks "
			    "(read and write only)",
			    o->f);
		if (o->status == MV_FAIL)
			continue;
		if (rd && (o->status != MV_OK || o->out == NULL))
			continue;
		if (rd && x->o->nil_unknown && strcmp(o->out, "null") == 0)
			continue;
		if (!rd && o->in == NULL)
			return mv_xbad(x, o->inv, "write has no value");
		c->xi[c->n++] = (uint32_t)i;
	}
	return 0;
}

static void
number_procs(struct causal *c)
{
	int64_t *pid = mv_xmalloc((c->n + 1) * sizeof(*pid));
	size_t i, j;

	c->proc = mv_xmalloc((c->n + 1) * sizeof(*c->proc));
	c->pos = mv_xmalloc((c->n + 1) * sizeof(*c->pos));
	for (i = 0; i < c->n; i++) {
		int64_t p = c->x->op[c->xi[i]].process;

		for (j = 0; j < c->np && pid[j] != p; j++)
			;
		if (j == c->np)
			pid[c->np++] = p;
		c->proc[i] = (uint32_t)j;
	}
	c->clen = mv_xcalloc(c->np + 1, sizeof(*c->clen));
	c->chain = mv_xcalloc(c->np + 1, sizeof(*c->chain));
	for (i = 0; i < c->n; i++)
		c->clen[c->proc[i]]++;
	for (j = 0; j < c->np; j++) {
		c->chain[j] = mv_xmalloc((c->clen[j] + 1) * sizeof(uint32_t));
		c->clen[j] = 0;
	}
	for (i = 0; i < c->n; i++) {
		c->pos[i] = c->clen[c->proc[i]];
		c->chain[c->proc[i]][c->clen[c->proc[i]]++] = (uint32_t)i;
	}
	free(pid);
}

static const struct causal *sort_c;

static int
cmp_ws(const void *a, const void *b)
{
	const struct causal *c = sort_c;
	uint32_t u = *(const uint32_t *)a, v = *(const uint32_t *)b;

	if (c->keyno[u] != c->keyno[v])
		return c->keyno[u] < c->keyno[v] ? -1 : 1;
	if (c->proc[u] != c->proc[v])
		return c->proc[u] < c->proc[v] ? -1 : 1;
	return c->pos[u] < c->pos[v] ? -1 : c->pos[u] > c->pos[v];
}

/*
 * Keys, values, and the read-from relation.  Two writes of one value to
 * one key make the history undifferentiated: trouble, not an anomaly.
 * Returns -1 on malformed input; *thin is a thin-air read or NONE.
 */
static int
read_from(struct causal *c, uint32_t *thin)
{
	struct mv_xctx *x = c->x;
	uint32_t *owner = NULL;
	size_t cap = 0, i;
	int64_t a;

	*thin = NONE;
	c->keyno = mv_xmalloc((c->n + 1) * sizeof(*c->keyno));
	c->rf = mv_xmalloc((c->n + 1) * sizeof(*c->rf));
	c->wr = mv_xcalloc(c->n + 1, 1);
	c->ws = mv_xmalloc((c->n + 1) * sizeof(*c->ws));
	for (i = 0; i < c->n; i++) {
		const struct mv_xop *o = &x->op[c->xi[i]];

		c->keyno[i] = mv_model_atom(c->km, o->key, strlen(o->key));
		c->wr[i] = is_f(o->f, "write", "put");
		c->rf[i] = NONE;
	}
	for (i = 0; i < c->n; i++) {
		const struct mv_xop *o = &x->op[c->xi[i]];
		const char *val = c->wr[i] ? o->in : o->out;
		int init;

		if ((a = value_atom(c, c->keyno[i], val, &init)) < 0) {
			free(owner);
			return mv_xbad(
			    x, c->wr[i] ? o->inv : o->ret, "value is not JSON");
		}
		if (init && c->wr[i]) {
			free(owner);
			return mv_xbad(x, o->inv,
			    "write of %s, the initial value: the causal "
			    "checks need unique values",
			    c->init);
		}
		if (init)
			continue;
		if ((size_t)a >= cap) {
			size_t old = cap;

			cap = ((size_t)a + 1) * 2;
			owner = mv_xrealloc(owner, cap * sizeof(*owner));
			while (old < cap)
				owner[old++] = NONE;
		}
		if (!c->wr[i])
			c->rf[i] = (uint32_t)a; /* resolved below */
		else if (owner[a] != NONE) {
			size_t l = mv_xline(x, c->xi[owner[a]]);

			free(owner);
			return mv_xbad(x, o->inv,
			    "value %s is written to key \"%s\" again (line "
			    "%zu): the causal checks need unique values",
			    val, o->key, l);
		} else {
			owner[a] = (uint32_t)i;
			c->ws[c->nws++] = (uint32_t)i;
		}
	}
	for (i = 0; i < c->n; i++) {
		if (c->wr[i] || c->rf[i] == NONE)
			continue;
		c->rf[i] = c->rf[i] < cap ? owner[c->rf[i]] : NONE;
		if (c->rf[i] == NONE && *thin == NONE)
			*thin = (uint32_t)i;
	}
	free(owner);
	sort_c = c;
	qsort(c->ws, c->nws, sizeof(*c->ws), cmp_ws);
	return 0;
}

/* Whether v is a read of the initial value. */
static int
init_read(const struct causal *c, uint32_t v)
{
	return !c->wr[v] && c->rf[v] == NONE;
}

/* Index in ws of the first write not before (key, q, p). */
static size_t
ws_lower(const struct causal *c, uint32_t key, uint32_t q, uint32_t p)
{
	size_t lo = 0, hi = c->nws;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		uint32_t w = c->ws[mid];
		int less = c->keyno[w] != key ? c->keyno[w] < key
		    : c->proc[w] != q         ? c->proc[w] < q
		                              : c->pos[w] < p;

		if (less)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The last write of key by process q among q's first lim ops, or NONE. */
static uint32_t
last_write(const struct causal *c, uint32_t key, uint32_t q, uint32_t lim)
{
	size_t j = ws_lower(c, key, q, lim);
	uint32_t w;

	if (j == 0)
		return NONE;
	w = c->ws[j - 1];
	return c->keyno[w] == key && c->proc[w] == q ? w : NONE;
}

/* Adds the edge u -> v to the extra relation, because of read r. */
static void
add_edge(struct causal *c, uint32_t u, uint32_t v, uint32_t r)
{
	if (c->ne == c->cape) {
		c->cape = c->cape ? c->cape * 2 : 64;
		c->esrc = mv_xrealloc(c->esrc, c->cape * sizeof(*c->esrc));
		c->edst = mv_xrealloc(c->edst, c->cape * sizeof(*c->edst));
		c->erd = mv_xrealloc(c->erd, c->cape * sizeof(*c->erd));
	}
	c->esrc[c->ne] = u;
	c->erd[c->ne] = r;
	c->edst[c->ne++] = v;
}

/* Indexes the extra edges as predecessor lists. */
static void
index_edges(struct causal *c)
{
	size_t i;

	free(c->xoff);
	free(c->xsrc);
	c->xoff = mv_xcalloc(c->n + 2, sizeof(*c->xoff));
	c->xsrc = mv_xmalloc((c->ne + 1) * sizeof(*c->xsrc));
	for (i = 0; i < c->ne; i++)
		c->xoff[c->edst[i] + 2]++;
	for (i = 2; i < c->n + 2; i++)
		c->xoff[i] += c->xoff[i - 1];
	for (i = 0; i < c->ne; i++)
		c->xsrc[c->xoff[c->edst[i] + 1]++] = c->esrc[i];
}

/* The k-th predecessor of v (po, rf, then extra edges), NONE to skip. */
static uint32_t
pred(const struct causal *c, uint32_t v, uint32_t k)
{
	if (k == 0)
		return c->pos[v] ? c->chain[c->proc[v]][c->pos[v] - 1] : NONE;
	if (k == 1)
		return c->wr[v] ? NONE : c->rf[v];
	return c->xsrc[c->xoff[v] + k - 2];
}

static uint32_t
npred(const struct causal *c, uint32_t v)
{
	return 2 + (uint32_t)(c->xoff[v + 1] - c->xoff[v]);
}

/*
 * The clocks of every op in mask (all when mask is NULL) under po U rf U
 * the extra edges, by a depth-first walk of predecessors.  Returns 1, or
 * 0 with the cycle found in c->cyc (in the order of its edges).
 */
static int
clocks(struct causal *c)
{
	uint32_t s, v, u, k, *cv;
	size_t sp, q;

	memset(c->color, 0, c->n);
	for (s = 0; s < c->n; s++) {
		if (c->color[s] || (c->mask && !c->mask[s]))
			continue;
		sp = 0;
		c->stk[sp] = s;
		c->sti[sp++] = 0;
		c->color[s] = 1;
		while (sp > 0) {
			v = c->stk[sp - 1];
			k = c->sti[sp - 1]++;
			if (k < npred(c, v)) {
				u = pred(c, v, k);
				if (u == NONE || (c->mask && !c->mask[u])
				    || c->color[u] == 2)
					continue;
				if (c->color[u] == 1) {
					for (c->ncyc = 0; sp > 0; sp--) {
						c->cyc[c->ncyc++] =
						    c->stk[sp - 1];
						if (c->stk[sp - 1] == u)
							break;
					}
					return 0;
				}
				c->color[u] = 1;
				c->stk[sp] = u;
				c->sti[sp++] = 0;
				continue;
			}
			cv = &c->clk[(size_t)v * c->np];
			memset(cv, 0, c->np * sizeof(*cv));
			for (k = 0; k < npred(c, v); k++) {
				const uint32_t *pu;

				u = pred(c, v, k);
				if (u == NONE || (c->mask && !c->mask[u]))
					continue;
				pu = &c->clk[(size_t)u * c->np];
				for (q = 0; q < c->np; q++)
					if (pu[q] > cv[q])
						cv[q] = pu[q];
			}
			cv[c->proc[v]] = c->pos[v] + 1;
			c->color[v] = 2;
			sp--;
		}
	}
	return 1;
}

/* Whether u is in v's past under the clocks last computed (u != v). */
static int
before(const struct causal *c, uint32_t u, uint32_t v)
{
	return u != v && c->clk[(size_t)v * c->np + c->proc[u]] > c->pos[u];
}

/* "read by process 1 (line 7) returned 3" */
static void
say(struct causal *c, uint32_t v)
{
	const struct mv_xop *o = &c->x->op[c->xi[v]];

	mv_xdescribe(c->x, c->xi[v], &c->x->why);
	if (c->wr[v])
		mv_buf_addf(&c->x->why, " of %s", o->in);
	else
		mv_buf_addf(&c->x->why, " returned %s", o->out);
}

/* The read behind the extra edge u -> v, or NONE when there is none. */
static uint32_t
edge_read(const struct causal *c, uint32_t u, uint32_t v)
{
	size_t i;

	for (i = 0; i < c->ne; i++)
		if (c->esrc[i] == u && c->edst[i] == v)
			return c->erd[i];
	return NONE;
}

/* Says what the cycle in c->cyc is, naming the read behind each extra
 * edge; its ops go into the finding. */
static void
describe_cycle(struct causal *c, const char *rel)
{
	struct mv_xctx *x = c->x;
	size_t i;
	uint32_t u, v, r;

	for (i = 0; i < c->ncyc; i++) {
		u = c->cyc[i];
		v = c->cyc[(i + 1) % c->ncyc];
		mv_xaddop(x, c->xi[u]);
		say(c, u);
		mv_buf_adds(&x->why, " -> ");
		if (!c->wr[v] || (r = edge_read(c, u, v)) == NONE)
			continue;
		mv_xaddop(x, c->xi[r]);
		mv_buf_adds(&x->why, "(as ");
		say(c, r);
		mv_buf_adds(&x->why, " after it) ");
	}
	say(c, c->cyc[0]);
	mv_buf_addf(&x->why, " is a cycle of %s", rel);
}

static void
found(struct causal *c, const char *a, uint32_t u, uint32_t v, uint32_t w)
{
	mv_xfound(c->x, a);
	mv_xaddop(c->x, c->xi[u]);
	if (v != NONE)
		mv_xaddop(c->x, c->xi[v]);
	if (w != NONE)
		mv_xaddop(c->x, c->xi[w]);
}

/* A write of r's key in r's past under the clocks last computed: the
 * first write of that key by each process is the one to look at. */
static uint32_t
write_before(const struct causal *c, uint32_t r)
{
	uint32_t q, w;
	size_t j;

	for (q = 0; q < c->np; q++) {
		j = ws_lower(c, c->keyno[r], q, 0);
		if (j == c->nws)
			continue;
		w = c->ws[j];
		if (c->keyno[w] == c->keyno[r] && c->proc[w] == q
		    && before(c, w, r))
			return w;
	}
	return NONE;
}

/* write-co-init-read, then write-co-read, under the clocks of co. */
static int
co_patterns(struct causal *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		uint32_t v = (uint32_t)i, w;

		if (!init_read(c, v) || (w = write_before(c, v)) == NONE)
			continue;
		found(c, "write-co-init-read", w, v, NONE);
		say(c, v);
		mv_buf_adds(&c->x->why, " though it causally follows ");
		say(c, w);
		return 1;
	}
	for (i = 0; i < c->n; i++) {
		uint32_t r = (uint32_t)i, w1 = c->rf[i], q, w2;

		if (c->wr[r] || w1 == NONE)
			continue;
		for (q = 0; q < c->np; q++) {
			w2 = last_write(
			    c, c->keyno[r], q, c->clk[(size_t)r * c->np + q]);
			if (w2 == NONE || w2 == w1 || !before(c, w1, w2))
				continue;
			found(c, "write-co-read", w1, w2, r);
			say(c, r);
			mv_buf_adds(&c->x->why, ", the value of ");
			say(c, w1);
			mv_buf_adds(
			    &c->x->why, ", though it causally follows ");
			say(c, w2);
			mv_buf_adds(
			    &c->x->why, ", which causally follows that");
			return 1;
		}
	}
	return 0;
}

/* ccv: w1 cf w2 for the last write w1 of each process in a read's past. */
static int
cyclic_cf(struct causal *c)
{
	size_t i;
	uint32_t q, w1;

	c->ne = 0;
	for (i = 0; i < c->n; i++) {
		uint32_t r = (uint32_t)i, w2 = c->rf[i];

		if (c->wr[r] || w2 == NONE)
			continue;
		for (q = 0; q < c->np; q++) {
			w1 = last_write(
			    c, c->keyno[r], q, c->clk[(size_t)r * c->np + q]);
			if (w1 != NONE && w1 != w2 && !before(c, w1, w2))
				add_edge(c, w1, w2, r);
		}
	}
	index_edges(c);
	if (clocks(c))
		return 0;
	mv_xfound(c->x, "cyclic-cf");
	describe_cycle(c,
	    "causal order and conflict (w1 -> w2 when a read "
	    "of w2 causally follows w1)");
	return 1;
}

/* cm, for process p: hb of p's last op; 1 with a finding if it fails. */
static int
cm_process(struct causal *c, uint32_t p)
{
	uint32_t o = c->chain[p][c->clen[p] - 1], q, w1;
	size_t i, added;
	const uint32_t *po = c->chain[p];

	/* the causal past of o, under the clocks of co (in c->clk) */
	for (i = 0; i < c->n; i++)
		c->mask[i] = i == o || before(c, (uint32_t)i, o);
	c->ne = 0;
	do {
		index_edges(c);
		if (!clocks(c)) {
			mv_xfound(c->x, "cyclic-hb");
			describe_cycle(c, "happens-before");
			mv_buf_addf(&c->x->why, " in the view of process %lld",
			    (long long)c->x->op[c->xi[o]].process);
			return 1;
		}
		if (mv_xexpired(c->x))
			return -1;
		added = 0;
		for (i = 0; i < c->clen[p]; i++) {
			uint32_t r = po[i], w2 = c->rf[r];

			if (c->wr[r] || w2 == NONE)
				continue;
			for (q = 0; q < c->np; q++) {
				w1 = last_write(c, c->keyno[r], q,
				    c->clk[(size_t)r * c->np + q]);
				if (w1 != NONE && w1 != w2
				    && !before(c, w1, w2)) {
					add_edge(c, w1, w2, r);
					added++;
				}
			}
		}
	} while (added > 0);
	for (i = 0; i < c->clen[p]; i++) {
		uint32_t r = po[i], w;

		if (!init_read(c, r) || (w = write_before(c, r)) == NONE)
			continue;
		found(c, "write-hb-init-read", w, r, NONE);
		say(c, r);
		mv_buf_adds(&c->x->why,
		    " though in its process's view it happens after ");
		say(c, w);
		return 1;
	}
	return 0;
}

static void
causal_release(struct causal *c)
{
	size_t j;

	for (j = 0; c->chain && j < c->np; j++)
		free(c->chain[j]);
	free(c->chain);
	free(c->clen);
	free(c->xi);
	free(c->proc);
	free(c->pos);
	free(c->keyno);
	free(c->rf);
	free(c->wr);
	free(c->ws);
	free(c->clk);
	free(c->esrc);
	free(c->erd);
	free(c->edst);
	free(c->xoff);
	free(c->xsrc);
	free(c->color);
	free(c->mask);
	free(c->stk);
	free(c->sti);
	free(c->cyc);
	mv_model_free(c->km);
	mv_model_free(c->vm);
	free(c->init);
	mv_buf_release(&c->tmp);
}

/* The checks proper, once the relations are built. */
static int
patterns(struct causal *c, const char *which, uint32_t thin)
{
	unsigned char *view;
	uint32_t p;
	int r;

	if (thin != NONE) {
		found(c, "thin-air-read", thin, NONE, NONE);
		say(c, thin);
		mv_buf_adds(&c->x->why, ", which no write wrote");
		return 0;
	}
	index_edges(c);
	if (!clocks(c)) {
		mv_xfound(c->x, "cyclic-co");
		describe_cycle(c, "causal order (program order and read-from)");
		return 0;
	}
	if (co_patterns(c) || strcmp(which, "cc") == 0)
		return 0;
	if (strcmp(which, "ccv") == 0) {
		cyclic_cf(c);
		return 0;
	}
	view = mv_xmalloc(c->n + 1);
	for (p = 0; p < c->np; p++) {
		/* each view starts again from the clocks of co */
		c->mask = NULL;
		c->ne = 0;
		index_edges(c);
		clocks(c);
		c->mask = view;
		if ((r = cm_process(c, p)) != 0)
			break;
	}
	c->mask = NULL;
	free(view);
	return 0;
}

int
mv_causal_check(struct mv_xctx *x, const char *which)
{
	struct causal c;
	uint32_t thin = NONE;
	size_t lim = x->o->memory_limit;
	int rc;

	memset(&c, 0, sizeof(c));
	c.x = x;
	c.km = mv_model_new(MV_MODEL_SET);
	c.vm = mv_model_new(MV_MODEL_SET);
	mv_buf_init(&c.tmp);
	x->model = "register";
	rc = initial_value(&c);
	if (rc == 0)
		rc = select_ops(&c);
	if (rc == 0) {
		number_procs(&c);
		rc = read_from(&c, &thin);
	}
	if (rc == 0 && lim && (double)c.n * (double)c.np * 4 > (double)lim)
		x->budget = "memory";
	else if (rc == 0) {
		c.clk = mv_xmalloc(((size_t)c.n * c.np + 1) * sizeof(*c.clk));
		c.color = mv_xmalloc(c.n + 1);
		c.stk = mv_xmalloc((c.n + 1) * sizeof(*c.stk));
		c.sti = mv_xmalloc((c.n + 1) * sizeof(*c.sti));
		c.cyc = mv_xmalloc((c.n + 1) * sizeof(*c.cyc));
		rc = patterns(&c, which, thin);
	}
	if (rc == 0)
		mv_buf_addf(&x->extra,
		    ",\"counts\":{\"ops\":%zu,\"writes\":%zu,"
		    "\"processes\":%zu}",
		    c.n, c.nws, c.np);
	causal_release(&c);
	return rc;
}
