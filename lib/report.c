/*
 * report.c: counts, latencies and faults of a history, for people
 * (Markdown) and for scripts (JSON).  Both formats print the same figures
 * with the same rounding, so a test of one holds for the other.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

enum { C_INVOKE, C_OK, C_FAIL, C_INFO, NCOUNT };

/* Figures for one value of "f". */
struct fstat {
	const char *f; /* borrowed from the history */
	size_t count[NCOUNT];
	int64_t *lat; /* ns of ok operations */
	size_t nlat, caplat;
};

struct stats {
	struct fstat *fs;
	size_t nfs;
	size_t events, ops, oks, keys, faults;
	int64_t first, last; /* times, -1 when none */
};

static struct fstat *
fstat_of(struct stats *st, const char *f)
{
	size_t i;

	if (f == NULL)
		f = "";
	for (i = 0; i < st->nfs; i++)
		if (strcmp(st->fs[i].f, f) == 0)
			return &st->fs[i];
	st->fs = mv_xrealloc(st->fs, (st->nfs + 1) * sizeof(*st->fs));
	memset(&st->fs[st->nfs], 0, sizeof(*st->fs));
	st->fs[st->nfs].f = f;
	return &st->fs[st->nfs++];
}

static void
add_latency(struct fstat *fs, int64_t ns)
{
	if (fs->nlat == fs->caplat) {
		fs->caplat = fs->caplat ? 2 * fs->caplat : 16;
		fs->lat = mv_xrealloc(fs->lat, fs->caplat * sizeof(*fs->lat));
	}
	fs->lat[fs->nlat++] = ns;
}

/* Number of distinct keys of client events. */
static size_t
count_keys(const struct mv_history *h)
{
	const char **k = mv_xcalloc(h->n + 1, sizeof(*k));
	size_t i, j, n = 0;

	for (i = 0; i < h->n; i++) {
		if (h->ev[i].key == NULL || h->ev[i].type != MV_INVOKE)
			continue;
		for (j = 0; j < n && strcmp(k[j], h->ev[i].key) != 0; j++)
			;
		if (j == n)
			k[n++] = h->ev[i].key;
	}
	free(k);
	return n;
}

/* Pairs each completion with the open invocation of its process. */
static void
gather(struct stats *st, const struct mv_history *h)
{
	size_t *open = mv_xcalloc(h->n + 1, sizeof(*open));
	size_t nopen = 0, i, j;

	memset(st, 0, sizeof(*st));
	st->first = st->last = -1;
	for (i = 0; i < h->n; i++) {
		const struct mv_event *ev = &h->ev[i];

		st->events++;
		if (ev->time >= 0) {
			if (st->first < 0 || ev->time < st->first)
				st->first = ev->time;
			if (ev->time > st->last)
				st->last = ev->time;
		}
		if (ev->process == MV_NEMESIS) {
			st->faults++;
			continue;
		}
		if (ev->type > MV_INFO)
			continue;
		fstat_of(st, ev->f)->count[ev->type - MV_INVOKE]++;
		if (ev->type == MV_INVOKE) {
			st->ops++;
			open[nopen++] = i;
			continue;
		}
		for (j = 0; j < nopen && h->ev[open[j]].process != ev->process;
		     j++)
			;
		if (j == nopen)
			continue;
		if (ev->type == MV_OK) {
			st->oks++;
			if (ev->time >= 0 && h->ev[open[j]].time >= 0)
				add_latency(fstat_of(st, ev->f),
				    ev->time - h->ev[open[j]].time);
		}
		open[j] = open[--nopen];
	}
	st->keys = count_keys(h);
	free(open);
}

static void
stats_release(struct stats *st)
{
	size_t i;

	for (i = 0; i < st->nfs; i++)
		free(st->fs[i].lat);
	free(st->fs);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile p of sorted v[0..n), n > 0, in ms. */
static double
pct_ms(const int64_t *v, size_t n, double p)
{
	size_t r = (size_t)ceil(p / 100.0 * (double)n);

	if (r < 1)
		r = 1;
	return (double)v[r - 1] / 1e6;
}

static double
duration_s(const struct stats *st)
{
	return st->first < 0 ? 0 : (double)(st->last - st->first) / 1e9;
}

static double
throughput(const struct stats *st)
{
	double d = duration_s(st);

	return d > 0 ? (double)st->oks / d : 0;
}

static const char *const count_name[NCOUNT] = {"invoke", "ok", "fail", "info"};
static const double pcts[] = {50, 90, 99};

/* Appends s with the characters that would break a table cell escaped. */
static void
md_cell(struct mv_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '|' || *s == '\\' || *s == '`')
			mv_buf_addc(b, '\\');
		mv_buf_addc(b, *s == '\n' ? ' ' : *s);
	}
}

static void
md_counts(struct mv_buf *b, const struct stats *st)
{
	size_t i, k, tot[NCOUNT] = {0};

	mv_buf_adds(b,
	    "## Operations\n\n| f | invoke | ok | fail | info |\n"
	    "|---|---:|---:|---:|---:|\n");
	for (i = 0; i < st->nfs; i++) {
		mv_buf_adds(b, "| ");
		md_cell(b, st->fs[i].f);
		for (k = 0; k < NCOUNT; k++) {
			mv_buf_addf(b, " | %zu", st->fs[i].count[k]);
			tot[k] += st->fs[i].count[k];
		}
		mv_buf_adds(b, " |\n");
	}
	mv_buf_adds(b, "| total");
	for (k = 0; k < NCOUNT; k++)
		mv_buf_addf(b, " | %zu", tot[k]);
	mv_buf_adds(b, " |\n\n");
}

static void
md_latency(struct mv_buf *b, const struct stats *st)
{
	size_t i, k;

	mv_buf_adds(b,
	    "## Latency of ok operations (ms)\n\n"
	    "| f | n | p50 | p90 | p99 | max |\n"
	    "|---|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < st->nfs; i++) {
		const struct fstat *fs = &st->fs[i];

		if (fs->nlat == 0)
			continue;
		mv_buf_adds(b, "| ");
		md_cell(b, fs->f);
		mv_buf_addf(b, " | %zu", fs->nlat);
		for (k = 0; k < 3; k++)
			mv_buf_addf(
			    b, " | %.3f", pct_ms(fs->lat, fs->nlat, pcts[k]));
		mv_buf_addf(b, " | %.3f |\n", pct_ms(fs->lat, fs->nlat, 100));
	}
	mv_buf_adds(b, "\n");
}

static void
md_faults(struct mv_buf *b, const struct mv_history *h, const struct stats *st)
{
	size_t i;

	mv_buf_adds(b, "## Faults\n\n");
	if (st->faults == 0) {
		mv_buf_adds(b, "None.\n\n");
		return;
	}
	mv_buf_adds(b, "| time (s) | f | value |\n|---:|---|---|\n");
	for (i = 0; i < h->n; i++) {
		const struct mv_event *ev = &h->ev[i];

		if (ev->process != MV_NEMESIS)
			continue;
		if (ev->time >= 0)
			mv_buf_addf(b, "| %.3f | ", (double)ev->time / 1e9);
		else
			mv_buf_adds(b, "| - | ");
		md_cell(b, ev->f ? ev->f : "");
		mv_buf_adds(b, " | ");
		md_cell(b, ev->value ? ev->value : "");
		mv_buf_adds(b, " |\n");
	}
	mv_buf_adds(b, "\n");
}

/* A verdict member as text: strings bare, anything else as JSON. */
static void
md_member(struct mv_buf *b, const struct mv_jv *v, const char *k)
{
	const struct mv_jv *m = mv_jv_get(v, k);
	struct mv_buf t = MV_BUF_INIT;

	if (m == NULL)
		return;
	if (m->kind == MV_JSTR)
		mv_buf_add(&t, m->s, m->len);
	else
		mv_jv_write(&t, m);
	mv_buf_addf(b, "- %s: ", k);
	md_cell(b, t.p ? t.p : "");
	mv_buf_addc(b, '\n');
	mv_buf_release(&t);
}

static void
md_verdict(struct mv_buf *b, const struct mv_jv *v)
{
	static const char *const keys[] = {
	    "valid", "model", "anomaly", "key", "why", "budget"};
	size_t i;

	mv_buf_adds(b, "## Verdict\n\n");
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		md_member(b, v, keys[i]);
	mv_buf_adds(b, "\n");
}

static void
report_md(struct mv_buf *b, const struct mv_history *h, const char *name,
    const struct mv_jv *verdict, const struct stats *st)
{
	mv_buf_adds(b, "# mv report: ");
	md_cell(b, name);
	mv_buf_addf(b,
	    "\n\n- events: %zu\n- operations: %zu\n- keys: %zu\n"
	    "- faults: %zu\n- duration: %.3f s\n"
	    "- throughput: %.2f ok ops/s\n\n",
	    st->events, st->ops, st->keys, st->faults, duration_s(st),
	    throughput(st));
	md_counts(b, st);
	md_latency(b, st);
	md_faults(b, h, st);
	if (verdict)
		md_verdict(b, verdict);
}

static void
json_counts(struct mv_buf *b, const struct stats *st)
{
	size_t i, k;

	mv_buf_adds(b, ",\"counts\":{");
	for (i = 0; i < st->nfs; i++) {
		mv_buf_adds(b, i ? "," : "");
		mv_buf_add_jstr(b, st->fs[i].f, strlen(st->fs[i].f));
		for (k = 0; k < NCOUNT; k++)
			mv_buf_addf(b, "%s\"%s\":%zu", k ? "," : ":{",
			    count_name[k], st->fs[i].count[k]);
		mv_buf_addc(b, '}');
	}
	mv_buf_addc(b, '}');
}

static void
json_latency(struct mv_buf *b, const struct stats *st)
{
	size_t i, k, n = 0;

	mv_buf_adds(b, ",\"latency_ms\":{");
	for (i = 0; i < st->nfs; i++) {
		const struct fstat *fs = &st->fs[i];

		if (fs->nlat == 0)
			continue;
		mv_buf_adds(b, n++ ? "," : "");
		mv_buf_add_jstr(b, fs->f, strlen(fs->f));
		mv_buf_addf(b, ":{\"n\":%zu", fs->nlat);
		for (k = 0; k < 3; k++)
			mv_buf_addf(b, ",\"p%.0f\":%.3f", pcts[k],
			    pct_ms(fs->lat, fs->nlat, pcts[k]));
		mv_buf_addf(
		    b, ",\"max\":%.3f}", pct_ms(fs->lat, fs->nlat, 100));
	}
	mv_buf_addc(b, '}');
}

static void
json_faults(struct mv_buf *b, const struct mv_history *h)
{
	size_t i, n = 0;

	mv_buf_adds(b, ",\"faults\":[");
	for (i = 0; i < h->n; i++) {
		const struct mv_event *ev = &h->ev[i];

		if (ev->process != MV_NEMESIS)
			continue;
		mv_buf_addf(b, "%s{\"time\":", n++ ? "," : "");
		if (ev->time >= 0)
			mv_buf_addi(b, ev->time);
		else
			mv_buf_adds(b, "null");
		mv_buf_adds(b, ",\"f\":");
		mv_buf_add_jstr(
		    b, ev->f ? ev->f : "", ev->f ? strlen(ev->f) : 0);
		if (ev->value) {
			mv_buf_adds(b, ",\"value\":");
			mv_buf_adds(b, ev->value);
		}
		mv_buf_addc(b, '}');
	}
	mv_buf_addc(b, ']');
}

static void
report_json(struct mv_buf *b, const struct mv_history *h, const char *name,
    const struct mv_jv *verdict, const struct stats *st)
{
	mv_buf_adds(b, "{\"file\":");
	mv_buf_add_jstr(b, name, strlen(name));
	mv_buf_addf(b,
	    ",\"events\":%zu,\"ops\":%zu,\"keys\":%zu,"
	    "\"nfaults\":%zu,\"duration_s\":%.3f,"
	    "\"throughput\":%.2f",
	    st->events, st->ops, st->keys, st->faults, duration_s(st),
	    throughput(st));
	json_counts(b, st);
	json_latency(b, st);
	json_faults(b, h);
	if (verdict) {
		mv_buf_adds(b, ",\"verdict\":");
		mv_jv_write(b, verdict);
	}
	mv_buf_adds(b, "}\n");
}

int
mv_report(struct mv_buf *b, const struct mv_history *h, const char *name,
    const struct mv_jv *verdict, enum mv_report_format fmt, struct mv_err *e)
{
	struct stats st;
	size_t i;

	if (verdict && verdict->kind != MV_JOBJ)
		return mv_err_set(e, "the verdict is not a JSON object");
	gather(&st, h);
	/* An op without times has no latencies: qsort(NULL) is undefined. */
	for (i = 0; i < st.nfs; i++)
		if (st.fs[i].nlat > 1)
			qsort(st.fs[i].lat, st.fs[i].nlat, sizeof(int64_t),
			    cmp_i64);
	if (fmt == MV_REPORT_JSON)
		report_json(b, h, name, verdict, &st);
	else
		report_md(b, h, name, verdict, &st);
	stats_release(&st);
	return 0;
}
