/* test_gen.c: workload generation is reproducible and well-shaped. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gen.h"
#include "history.h"
#include "mv.h"
#include "tap.h"

/* The whole workload of o as one string; NULL if o is refused. */
static char *
run(const struct mv_gen_opts *o)
{
	struct mv_err e;
	struct mv_gen *g = mv_gen_new(o, &e);
	struct mv_buf b = MV_BUF_INIT;

	if (g == NULL)
		return NULL;
	mv_gen_meta(g, &b);
	while (mv_gen_next(g, &b))
		;
	mv_gen_free(g);
	return mv_buf_detach(&b, NULL);
}

static size_t
count(const char *s, const char *what)
{
	size_t n = 0;

	while ((s = strstr(s, what)) != NULL) {
		n++;
		s += strlen(what);
	}
	return n;
}

int
main(void)
{
	struct mv_gen_opts o;
	struct mv_err e;
	char *a, *b, *c;
	int w, ok = 1;

	mv_gen_opts_init(&o);
	o.workload = MV_W_STREAM;
	o.keys = 3;
	o.n = 2000;
	a = run(&o);
	b = run(&o);
	o.seed = 2;
	c = run(&o);
	OK(a && b && strcmp(a, b) == 0, "same options, same bytes");
	OK(c && strcmp(a, c) != 0, "another seed, another workload");
	OK(count(a, "\n") == 2001, "meta plus n lines");
	OK(count(a, "\"expect\":\"no-stream\"") >= 1
	        && count(a, "\"expect\":\"last\"") > 100
	        && count(a, "\"expect\":\"any\"") > 50,
	    "stream expectations mixed");
	free(a);
	free(b);
	free(c);

	for (w = 0; w < MV_W_COUNT; w++) {
		mv_gen_opts_init(&o);
		o.workload = w;
		o.keys = 5;
		o.dist = w % MV_DIST_COUNT;
		a = run(&o);
		ok &= a != NULL && count(a, "\n") == 1001
		    && mv_workload_lookup(mv_workload_name(w)) == w;
		free(a);
	}
	OK(ok, "every workload and distribution generates");

	mv_gen_opts_init(&o);
	o.rate = 4;
	o.duration_ns = 1000000000;
	o.n = -1;
	a = run(&o);
	OK(a && count(a, "\"at\":") == 4 && strstr(a, "\"at\":750000000}"),
	    "rate and duration schedule at");
	free(a);
	o.rate = 0;
	OK(mv_gen_new(&o, &e) == NULL
	        && strcmp(e.msg, "--duration needs a --rate") == 0,
	    "duration without rate refused");
	OK(mv_workload_lookup("nope") == -1 && mv_dist_lookup("zipf") == 1,
	    "names");
	return TAP_DONE();
}
