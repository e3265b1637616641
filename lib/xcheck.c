/*
 * xcheck.c: the frame of the checks other than linearizability: pairs
 * invocations with completions, runs the check that --check names, and
 * turns its finding into the verdict, in the same JSON shape as mv_check's
 * (valid, anomaly, ops, why, stats) plus the check's own counts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xcheck.h"

static const char *const checks[] = {"linearizable", "sequential", "cc",
    "causal", "ccv", "cm", "set", "counter", "bank", "unique-ids", NULL};

int
mv_xcheck_known(const char *name)
{
	size_t i;

	for (i = 0; checks[i]; i++)
		if (strcmp(name, checks[i]) == 0)
			return 1;
	return 0;
}

int
mv_xbad(struct mv_xctx *x, size_t pos, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return mv_err_set(
	    x->e, "%s:%zu: %s", x->name, x->h->ev[pos].line, what);
}

void
mv_xfound(struct mv_xctx *x, const char *anomaly)
{
	x->anomaly = anomaly;
	x->nfop = 0;
	mv_buf_reset(&x->why);
}

void
mv_xaddop(struct mv_xctx *x, size_t i)
{
	if (x->nfop == x->capfop) {
		x->capfop = x->capfop ? x->capfop * 2 : 8;
		x->fop = mv_xrealloc(x->fop, x->capfop * sizeof(*x->fop));
	}
	x->fop[x->nfop++] = i;
}

size_t
mv_xline(const struct mv_xctx *x, size_t i)
{
	const struct mv_xop *o = &x->op[i];

	return x->h->ev[o->ret != MV_XNONE ? o->ret : o->inv].line;
}

void
mv_xdescribe(const struct mv_xctx *x, size_t i, struct mv_buf *b)
{
	mv_buf_addf(b, "%s by process %lld (line %zu)", x->op[i].f,
	    (long long)x->op[i].process, mv_xline(x, i));
}

int
mv_xexpired(struct mv_xctx *x)
{
	if (x->deadline && mv_now_ns() > x->deadline) {
		x->budget = "time";
		return 1;
	}
	return 0;
}

/*
 * Pairs each invocation with the next completion of its process.  The
 * reader already refused completions without an invocation and double
 * invocations, so a process has at most one open op at any point.
 */
static int
pair(struct mv_xctx *x)
{
	const struct mv_history *h = x->h;
	size_t i, j, nopen = 0, *open = mv_xmalloc((h->n + 1) * sizeof(*open));

	x->op = mv_xmalloc((h->n + 1) * sizeof(*x->op));
	for (i = 0; i < h->n; i++) {
		const struct mv_event *ev = &h->ev[i];

		if (ev->process < 0 || ev->type > MV_INFO)
			continue;
		for (j = 0; j < nopen; j++)
			if (x->op[open[j]].process == ev->process)
				break;
		if (ev->type == MV_INVOKE) {
			struct mv_xop *o = &x->op[x->n];

			if (j < nopen)
				break;
			o->inv = i;
			o->ret = MV_XNONE;
			o->status = MV_INFO;
			o->process = ev->process;
			o->f = ev->f;
			o->key = ev->key ? ev->key : "";
			o->in = ev->value;
			o->out = NULL;
			open[nopen++] = x->n++;
			continue;
		}
		if (j == nopen)
			break;
		x->op[open[j]].ret = i;
		x->op[open[j]].status = ev->type;
		x->op[open[j]].out = ev->value;
		open[j] = open[--nopen];
	}
	free(open);
	if (i < h->n)
		return mv_xbad(x, i, "%s",
		    h->ev[i].type == MV_INVOKE
		        ? "invocation by a process with an open invocation"
		        : "completion without an invocation");
	return 0;
}

static void
add_op_json(struct mv_buf *b, const struct mv_xctx *x, size_t i)
{
	const struct mv_xop *o = &x->op[i];
	size_t pos = o->ret != MV_XNONE ? o->ret : o->inv;
	const struct mv_event *ev = &x->h->ev[pos];
	int rd = strcmp(o->f, "read") == 0 || strcmp(o->f, "get") == 0;
	const char *val = o->out && (rd || o->in == NULL) ? o->out : o->in;

	mv_buf_addf(b, "{\"index\":%lld,\"line\":%zu,\"process\":%lld,",
	    (long long)(ev->index >= 0 ? ev->index : (int64_t)pos), ev->line,
	    (long long)o->process);
	mv_buf_addf(b, "\"type\":\"%s\",\"f\":", mv_type_name(ev->type));
	mv_buf_add_jstr(b, o->f, strlen(o->f));
	if (o->key[0]) {
		mv_buf_adds(b, ",\"key\":");
		mv_buf_add_jstr(b, o->key, strlen(o->key));
	}
	if (val)
		mv_buf_addf(b, ",\"value\":%s", val);
	mv_buf_addc(b, '}');
}

/* Fills v from the outcome in x. */
static void
verdict(struct mv_xctx *x, struct mv_verdict *v)
{
	struct mv_buf *j = &v->json;
	const char *valid = x->anomaly ? "false"
	    : x->budget                ? "\"unknown\""
	                               : "true";
	size_t i;

	v->status = x->anomaly ? MV_EXIT_INVALID
	    : x->budget        ? MV_EXIT_UNKNOWN
	                       : MV_EXIT_OK;
	snprintf(v->model, sizeof(v->model), "%s", x->model ? x->model : "");
	mv_buf_reset(j);
	mv_buf_addf(j, "{\"valid\":%s,\"check\":\"%s\"", valid, x->check);
	if (x->model)
		mv_buf_addf(j, ",\"model\":\"%s\"", x->model);
	if (x->anomaly) {
		snprintf(v->anomaly, sizeof(v->anomaly), "%s", x->anomaly);
		mv_buf_addf(j, ",\"anomaly\":\"%s\",\"ops\":[", x->anomaly);
		v->ops = mv_xmalloc((x->nfop + 1) * sizeof(*v->ops));
		for (i = 0; i < x->nfop; i++) {
			const struct mv_xop *o = &x->op[x->fop[i]];

			v->ops[v->nops++] =
			    o->ret != MV_XNONE ? o->ret : o->inv;
			if (i)
				mv_buf_addc(j, ',');
			add_op_json(j, x, x->fop[i]);
		}
		if (x->nfop > 0 && x->op[x->fop[0]].key[0])
			snprintf(
			    v->key, sizeof(v->key), "%s", x->op[x->fop[0]].key);
		mv_buf_adds(j, "],\"why\":");
		mv_buf_add_jstr(j, x->why.p, x->why.len);
	} else if (x->budget)
		mv_buf_addf(j,
		    ",\"budget\":\"%s\",\"why\":\"%s limit reached\"",
		    x->budget, x->budget);
	mv_buf_add(j, x->extra.p, x->extra.len);
	mv_buf_addf(j, ",\"stats\":{\"ops\":%zu,\"ns\":%lld}}", x->n,
	    (long long)(mv_now_ns() - x->t0));
	mv_buf_reset(&v->human);
	if (x->anomaly)
		mv_buf_addf(&v->human, "invalid: %s (%s): %s", x->anomaly,
		    x->check, x->why.p);
	else if (x->budget)
		mv_buf_addf(&v->human, "unknown: %s limit reached (%s)",
		    x->budget, x->check);
	else
		mv_buf_addf(&v->human, "valid (%s, %zu ops)", x->check, x->n);
}

static int
run(struct mv_xctx *x)
{
	const char *c = x->check;

	if (strcmp(c, "set") == 0)
		return mv_setcheck_set(x);
	if (strcmp(c, "counter") == 0)
		return mv_setcheck_counter(x);
	if (strcmp(c, "bank") == 0)
		return mv_setcheck_bank(x);
	if (strcmp(c, "unique-ids") == 0)
		return mv_setcheck_ids(x);
	if (strcmp(c, "sequential") == 0)
		return mv_seqcon_check(x);
	if (strcmp(c, "cc") == 0 || strcmp(c, "causal") == 0)
		return mv_causal_check(x, "cc");
	if (strcmp(c, "ccv") == 0 || strcmp(c, "cm") == 0)
		return mv_causal_check(x, c);
	return mv_err_set(x->e, "unknown check: %s", c);
}

int
mv_xcheck(const struct mv_history *h, const char *name,
    const struct mv_check_opts *o, struct mv_verdict *v, struct mv_err *e)
{
	struct mv_xctx x;
	int rc;

	memset(&x, 0, sizeof(x));
	x.h = h;
	x.name = name == NULL || strcmp(name, "-") == 0 ? "<stdin>" : name;
	x.o = o;
	x.e = e;
	x.check = strcmp(o->check, "causal") == 0 ? "cc" : o->check;
	x.t0 = mv_now_ns();
	x.deadline = o->time_limit_ns ? x.t0 + o->time_limit_ns : 0;
	mv_buf_init(&x.why);
	mv_buf_init(&x.extra);
	free(v->ops);
	v->ops = NULL;
	v->nops = 0;
	v->anomaly[0] = v->key[0] = v->model[0] = '\0';
	rc = pair(&x);
	if (rc == 0)
		rc = run(&x);
	if (rc == 0)
		verdict(&x, v);
	free(x.op);
	free(x.fop);
	mv_buf_release(&x.why);
	mv_buf_release(&x.extra);
	return rc;
}
