/*
 * test_causal.c: sequential consistency and the three causal models (cc,
 * ccv, cm) of --check on the litmus tests of Bouajjani et al. (POPL 2017)
 * and on one valid and one violating history per bad pattern.
 */
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "tap.h"
#include "xtest.h"

/*
 * Builds a register history from "w x 1, r x 2 | w x 2, r x 1": one
 * process per '|'-separated list, ops taken round-robin from the
 * processes, each completed before the next begins; value 0 is null.
 */
static void
build(struct mv_buf *b, const char *spec)
{
	const char *proc[8], *p = spec;
	size_t np = 0, i;
	int more = 1;

	mv_buf_reset(b);
	proc[np++] = p;
	for (; *p; p++)
		if (*p == '|')
			proc[np++] = p + 1;
	while (more) {
		more = 0;
		for (i = 0; i < np; i++) {
			char f, k[8], v[16];
			int used = 0;

			while (*proc[i] == ' ' || *proc[i] == ',')
				proc[i]++;
			if (*proc[i] == '\0' || *proc[i] == '|')
				continue;
			if (sscanf(
			        proc[i], "%c %7s %15[^,| ]%n", &f, k, v, &used)
			    != 3)
				continue;
			proc[i] += used;
			more = 1;
			if (strcmp(v, "0") == 0)
				strcpy(v, "null");
			mv_buf_addf(b,
			    "{\"type\":\"invoke\",\"process\":%zu,\"f\":\"%s\","
			    "\"key\":\"%s\"",
			    i, f == 'w' ? "write" : "read", k);
			if (f == 'w')
				mv_buf_addf(b, ",\"value\":%s", v);
			mv_buf_addf(b,
			    "}\n{\"type\":\"ok\",\"process\":%zu,\"f\":\"%s\","
			    "\"key\":\"%s\",\"value\":%s}\n",
			    i, f == 'w' ? "write" : "read", k, v);
		}
	}
}

static struct mv_buf hb;

/* The anomaly under check, "" when valid, "?" on trouble or unknown. */
static const char *
verdict(const char *check, const char *text)
{
	static char an[48];
	int st = xrun(check, NULL, text, an, NULL, 0);

	if (st == MV_EXIT_OK)
		return "";
	return st == MV_EXIT_INVALID ? an : "?";
}

/*
 * Checks spec under cc, ccv, cm and sequential against the expected
 * anomalies ("" for valid).  A causal anomaly also disproves sequential
 * consistency, and --check sequential names it.
 */
static void
litmus(const char *name, const char *spec, const char *cc, const char *ccv,
    const char *cm, const char *sc)
{
	const char *want[4] = {cc, ccv, cm, sc};
	const char *chk[4] = {"cc", "ccv", "cm", "sequential"};
	char what[160];
	size_t i;

	build(&hb, spec);
	for (i = 0; i < 4; i++) {
		const char *got = verdict(chk[i], hb.p);

		snprintf(what, sizeof(what), "%s: %s is %s", name, chk[i],
		    want[i][0] ? want[i] : "valid");
		if (!OK(strcmp(got, want[i]) == 0, what))
			printf("# got \"%s\" for %s\n", got, spec);
	}
}

static void
patterns(void)
{
	litmus("cyclic-co", "r x 1, w y 1 | r y 1, w x 1", "cyclic-co",
	    "cyclic-co", "cyclic-co", "cyclic-co");
	litmus("no cyclic-co", "r x 0, w y 1 | r y 1, w x 1", "", "", "", "");
	litmus("write-co-init-read", "w x 1 | r x 1, r x 0",
	    "write-co-init-read", "write-co-init-read", "write-co-init-read",
	    "write-co-init-read");
	litmus("own write, then initial", "w x 1, r x 0", "write-co-init-read",
	    "write-co-init-read", "write-co-init-read", "write-co-init-read");
	litmus("no write-co-init-read", "w x 1 | r x 0, r x 1", "", "", "", "");
	litmus("thin-air-read", "w x 1 | r x 5", "thin-air-read",
	    "thin-air-read", "thin-air-read", "thin-air-read");
	litmus("no thin-air-read", "w x 5 | r x 5", "", "", "", "");
	litmus("write-co-read", "w x 1, w x 2 | r x 2, r x 1", "write-co-read",
	    "write-co-read", "write-co-read", "write-co-read");
	litmus(
	    "no write-co-read", "w x 1, w x 2 | r x 1, r x 2", "", "", "", "");
	litmus("no cyclic-cf", "w x 1, r x 1, r x 2 | w x 2, r x 2", "", "", "",
	    "");
	litmus("no cyclic-hb", "w x 1, r x 2 | w x 2", "", "", "", "");
	litmus("no write-hb-init-read",
	    "w z 1, w x 1, w y 1 | w x 2, r z 0, r y 0, r x 2", "", "", "", "");
}

/* The litmus tests of the paper's figure 2, and sequential ones. */
static void
separations(void)
{
	litmus("CC, not CCv, not CM", "w x 1, r x 2, r x 1 | w x 2", "",
	    "cyclic-cf", "cyclic-hb", "cyclic-cf");
	litmus("CM, not CCv", "w x 1, r x 1, r x 2 | w x 2, r x 2, r x 1", "",
	    "cyclic-cf", "", "cyclic-cf");
	litmus("CM, not CCv (short)", "w x 1, r x 2 | w x 2, r x 1", "",
	    "cyclic-cf", "", "cyclic-cf");
	litmus("CCv, not CM",
	    "w z 1, w x 1, w y 1 | w x 2, r z 0, r y 1, r x 2", "", "",
	    "write-hb-init-read", "write-hb-init-read");
	litmus("causal, not sequential (store buffering)",
	    "w x 1, r y 0 | w y 1, r x 0", "", "", "", "nonsequential");
	litmus("sequential",
	    "w x 1, w y 1 | r y 1, r x 1, w x 2 | r x 2, r y 1", "", "", "",
	    "");
}

static void
sequential(void)
{
	static const char *const snl =
	    "{\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\"key\":\"x\","
	    "\"value\":1}\n"
	    "{\"type\":\"ok\",\"process\":0,\"f\":\"write\",\"key\":\"x\","
	    "\"value\":1}\n"
	    "{\"type\":\"invoke\",\"process\":1,\"f\":\"read\",\"key\":\"x\"}\n"
	    "{\"type\":\"ok\",\"process\":1,\"f\":\"read\",\"key\":\"x\","
	    "\"value\":null}\n";
	static const char *const kv =
	    "{\"type\":\"invoke\",\"process\":0,\"f\":\"put\",\"key\":\"x\","
	    "\"value\":\"a\"}\n"
	    "{\"type\":\"invoke\",\"process\":1,\"f\":\"put\",\"key\":\"y\","
	    "\"value\":\"b\"}\n"
	    "{\"type\":\"ok\",\"process\":0,\"f\":\"put\",\"key\":\"x\"}\n"
	    "{\"type\":\"ok\",\"process\":1,\"f\":\"put\",\"key\":\"y\"}\n"
	    "{\"type\":\"invoke\",\"process\":0,\"f\":\"get\",\"key\":\"y\"}\n"
	    "{\"type\":\"invoke\",\"process\":1,\"f\":\"get\",\"key\":\"x\"}\n"
	    "{\"type\":\"ok\",\"process\":0,\"f\":\"get\",\"key\":\"y\","
	    "\"value\":null}\n"
	    "{\"type\":\"ok\",\"process\":1,\"f\":\"get\",\"key\":\"x\","
	    "\"value\":null}\n";
	static const char *const info =
	    "{\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\"key\":\"x\","
	    "\"value\":1}\n"
	    "{\"type\":\"info\",\"process\":0,\"f\":\"write\",\"key\":\"x\"}\n"
	    "{\"type\":\"invoke\",\"process\":1,\"f\":\"read\",\"key\":\"x\"}\n"
	    "{\"type\":\"ok\",\"process\":1,\"f\":\"read\",\"key\":\"x\","
	    "\"value\":1}\n"
	    "{\"type\":\"invoke\",\"process\":2,\"f\":\"read\",\"key\":\"x\"}\n"
	    "{\"type\":\"ok\",\"process\":2,\"f\":\"read\",\"key\":\"x\","
	    "\"value\":null}\n";
	static const char *const cas =
	    "{\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\"key\":\"x\","
	    "\"value\":1}\n"
	    "{\"type\":\"ok\",\"process\":0,\"f\":\"write\",\"key\":\"x\"}\n"
	    "{\"type\":\"invoke\",\"process\":1,\"f\":\"cas\",\"key\":\"x\","
	    "\"value\":[1,2]}\n"
	    "{\"type\":\"ok\",\"process\":1,\"f\":\"cas\",\"key\":\"x\"}\n"
	    "{\"type\":\"invoke\",\"process\":2,\"f\":\"cas\",\"key\":\"x\","
	    "\"value\":[1,3]}\n"
	    "{\"type\":\"ok\",\"process\":2,\"f\":\"cas\",\"key\":\"x\"}\n";

	OK(strcmp(verdict(NULL, snl), "nonlinearizable") == 0
	        && strcmp(verdict("sequential", snl), "") == 0,
	    "sequential, not linearizable: a read behind in real time");
	OK(strcmp(verdict("sequential", kv), "nonsequential") == 0,
	    "kv store buffering is not sequential");
	OK(strcmp(verdict("sequential", info), "") == 0,
	    "an info write may take effect, for one process, before another "
	    "reads the initial value");
	OK(strcmp(verdict("sequential", cas), "nonsequential") == 0,
	    "two cas from one value are not sequential");
	OK(strcmp(verdict("cc", cas), "?") == 0,
	    "the causal checks refuse cas");
}

/*
 * A brute-force oracle on random histories of at most NOP ops: the
 * definitions themselves, by enumeration.  Sequential: some order of all
 * ops keeping each process's order (info writes placed or not) is legal.
 * For the causal models, with co = (po U rf)+ (enough for differentiated
 * histories, by the paper's lemma): cc, each read is legal in some
 * linear extension of co over its causal past; cm, each op's causal past
 * has a linear extension in which every op of its process up to it is
 * legal; ccv, one linear extension of co over all ops (arbitration) gives
 * each read the last write of its key in its causal past.
 */
enum { NOP = 7 };

struct rop {
	int proc, w, key, val, info; /* val 0: null (the initial value) */
};

struct rh {
	struct rop op[NOP];
	int n, np, co[NOP][NOP], cyclic, thin;
	int pos[NOP][NOP], plen[NOP]; /* per process: its ops */
};

static struct mv_rng rng;

static int
rnd(int n)
{
	return (int)mv_rng_below(&rng, (uint64_t)n);
}

static void
gen_rh(struct rh *h, int info)
{
	int nw[2] = {0, 0}, i, j, k;

	int keys = 1 + rnd(2);

	memset(h, 0, sizeof(*h));
	h->np = 2 + rnd(2);
	h->n = 3 + rnd(NOP - 2);
	for (i = 0; i < h->n; i++) {
		struct rop *o = &h->op[i];

		o->proc = rnd(h->np);
		o->key = rnd(keys);
		o->w = rnd(2);
		if (o->w)
			o->val = ++nw[o->key];
	}
	for (i = 0; i < h->n; i++) {
		struct rop *o = &h->op[i];

		if (!o->w)
			o->val = rnd(10) == 0 ? 9 : rnd(nw[o->key] + 1);
		h->pos[o->proc][h->plen[o->proc]++] = i;
	}
	/* an info write may end a process */
	for (k = 0; info && k < h->np; k++)
		if (h->plen[k] && h->op[h->pos[k][h->plen[k] - 1]].w
		    && rnd(3) == 0)
			h->op[h->pos[k][h->plen[k] - 1]].info = 1;
	for (i = 0; i < h->n; i++)
		for (j = 0; j < h->n; j++) {
			const struct rop *a = &h->op[i], *b = &h->op[j];

			h->co[i][j] = (a->proc == b->proc && i < j)
			    || (a->w && !b->w && a->key == b->key
			        && a->val == b->val);
		}
	for (k = 0; k < h->n; k++)
		for (i = 0; i < h->n; i++)
			for (j = 0; j < h->n; j++)
				h->co[i][j] |= h->co[i][k] && h->co[k][j];
	for (i = 0; i < h->n; i++) {
		h->cyclic |= h->co[i][i];
		if (!h->op[i].w && h->op[i].val == 9)
			h->thin = 1;
	}
}

/* The history as JSON lines, ops one after another in index order. */
static void
rh_text(const struct rh *h, struct mv_buf *b)
{
	int i;

	mv_buf_reset(b);
	for (i = 0; i < h->n; i++) {
		const struct rop *o = &h->op[i];
		char v[8];

		snprintf(v, sizeof(v), "%d", o->val);
		mv_buf_addf(b,
		    "{\"type\":\"invoke\",\"process\":%d,\"f\":\"%s\","
		    "\"key\":\"%c\"%s%s}\n",
		    o->proc, o->w ? "write" : "read", 'x' + o->key,
		    o->w ? ",\"value\":" : "", o->w ? v : "");
		mv_buf_addf(b,
		    "{\"type\":\"%s\",\"process\":%d,\"f\":\"%s\","
		    "\"key\":\"%c\",\"value\":%s}\n",
		    o->info ? "info" : "ok", o->proc, o->w ? "write" : "read",
		    'x' + o->key, o->val ? v : "null");
	}
}

/* Sequential: depth first over the processes' cursors. */
static int
sc_dfs(const struct rh *h, int *cur, int *st)
{
	int p, done = 1;

	for (p = 0; p < h->np; p++) {
		const struct rop *o;
		int old;

		if (cur[p] == h->plen[p])
			continue;
		done = 0;
		o = &h->op[h->pos[p][cur[p]]];
		cur[p]++;
		if (o->info && sc_dfs(h, cur, st)) {
			cur[p]--;
			return 1;
		}
		old = st[o->key];
		if (o->w || st[o->key] == o->val) {
			st[o->key] = o->w ? o->val : old;
			if (sc_dfs(h, cur, st)) {
				st[o->key] = old;
				cur[p]--;
				return 1;
			}
			st[o->key] = old;
		}
		cur[p]--;
	}
	return done;
}

/*
 * Linear extensions of co over the set in[]: calls ok(seq, len, arg) on
 * each complete one; returns 1 as soon as it does.
 */
static int
extend(const struct rh *h, const int *in, int *seq, int len, int want,
    int (*ok)(const struct rh *, const int *, int, int), int arg)
{
	int i, j, placed[NOP] = {0};

	if (len == want)
		return ok(h, seq, len, arg);
	for (i = 0; i < len; i++)
		placed[seq[i]] = 1;
	for (i = 0; i < h->n; i++) {
		int ready = in[i] && !placed[i];

		for (j = 0; ready && j < h->n; j++)
			if (in[j] && !placed[j] && h->co[j][i])
				ready = 0;
		if (!ready)
			continue;
		seq[len] = i;
		if (extend(h, in, seq, len + 1, want, ok, arg))
			return 1;
	}
	return 0;
}

/* Whether read r is legal at its place in seq. */
static int
legal_at(const struct rh *h, const int *seq, int len, int r)
{
	int i, last = 0;

	for (i = 0; i < len && seq[i] != r; i++)
		if (h->op[seq[i]].w && h->op[seq[i]].key == h->op[r].key)
			last = h->op[seq[i]].val;
	return h->op[r].w || last == h->op[r].val;
}

static int
ok_one(const struct rh *h, const int *seq, int len, int r)
{
	return legal_at(h, seq, len, r);
}

/* cm: every op of o's process up to o is legal. */
static int
ok_view(const struct rh *h, const int *seq, int len, int o)
{
	int i;

	for (i = 0; i < len; i++)
		if (h->op[seq[i]].proc == h->op[o].proc && seq[i] <= o
		    && !legal_at(h, seq, len, seq[i]))
			return 0;
	return 1;
}

/* ccv: each read gets the last write, in seq, of its causal past. */
static int
ok_arb(const struct rh *h, const int *seq, int len, int unused)
{
	int i, r, last;

	(void)unused;
	for (r = 0; r < h->n; r++) {
		if (h->op[r].w)
			continue;
		for (i = 0, last = 0; i < len; i++)
			if (h->op[seq[i]].w && h->op[seq[i]].key == h->op[r].key
			    && h->co[seq[i]][r])
				last = h->op[seq[i]].val;
		if (last != h->op[r].val)
			return 0;
	}
	return 1;
}

/* The oracle's verdict for model m (0 cc, 1 ccv, 2 cm): 1 valid. */
static int
causal_oracle(const struct rh *h, int m)
{
	int in[NOP], seq[NOP], o, i, want;

	if (h->cyclic || h->thin)
		return 0;
	if (m == 1) {
		for (i = 0; i < h->n; i++)
			in[i] = 1;
		return extend(h, in, seq, 0, h->n, ok_arb, 0);
	}
	for (o = 0; o < h->n; o++) {
		if (m == 0 && h->op[o].w)
			continue;
		for (i = 0, want = 0; i < h->n; i++)
			want += in[i] = i == o || h->co[i][o];
		if (!extend(h, in, seq, 0, want, m == 0 ? ok_one : ok_view, o))
			return 0;
	}
	return 1;
}

static void
cross_check(void)
{
	static const char *const chk[] = {"cc", "ccv", "cm"};
	struct rh h;
	int t, m, bad[4] = {0}, runs = 3000, valid[4] = {0};
	char what[96];

	mv_rng_seed(&rng, 42);
	for (t = 0; t < runs; t++) {
		int cur[NOP] = {0}, st[2] = {0, 0}, want, got;

		gen_rh(&h, t % 2);
		rh_text(&h, &hb);
		want = sc_dfs(&h, cur, st);
		got = strcmp(verdict("sequential", hb.p), "") == 0;
		valid[3] += want;
		if (want != got && bad[3]++ == 0)
			printf("# sequential: oracle %d, check %d:\n%s", want,
			    got, hb.p);
		if (t % 2)
			continue; /* info ops only for sequential */
		for (m = 0; m < 3; m++) {
			want = causal_oracle(&h, m);
			got = strcmp(verdict(chk[m], hb.p), "") == 0;
			valid[m] += want;
			if (want != got && bad[m]++ == 0)
				printf("# %s: oracle %d, check %d:\n%s", chk[m],
				    want, got, hb.p);
		}
	}
	for (m = 0; m < 4; m++) {
		snprintf(what, sizeof(what),
		    "oracle: %s agrees on %d random histories (%d valid)",
		    m < 3 ? chk[m] : "sequential", m < 3 ? runs / 2 : runs,
		    valid[m]);
		OK(bad[m] == 0, what);
	}
}

int
main(void)
{
	mv_buf_init(&hb);
	patterns();
	separations();
	sequential();
	cross_check();
	mv_buf_release(&hb);
	return TAP_DONE();
}
