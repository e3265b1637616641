/* mv-gen: a seeded, reproducible workload of op records on stdout. */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gen.h"
#include "mv.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: mv-gen [-w workload] [-n ops] [-d duration] [-r rate] "
	    "[-k keys]\n"
	    "              [--dist uniform|zipf|hotspot] [--read-ratio p] "
	    "[--batch b]\n"
	    "              [-s seed]\n");
}

static long long
int_opt(const char *opt, const char *s, long long min, long long max)
{
	struct mv_err e;
	long long v;

	if (mv_parse_int(opt, s, min, max, &v, &e) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	return v;
}

/* Writes the whole workload; buffered, since nobody waits on a line. */
static int
generate(struct mv_gen *g)
{
	struct mv_buf b = MV_BUF_INIT;
	struct mv_err e;
	int more = 1;

	mv_gen_meta(g, &b);
	while (more) {
		while (b.len < (1 << 16) && (more = mv_gen_next(g, &b)))
			;
		if (fwrite(b.p, 1, b.len, stdout) != b.len)
			break;
		mv_buf_reset(&b);
	}
	mv_buf_release(&b);
	if (mv_fshut_stdout(&e) < 0) {
		warnx("%s", e.msg);
		return MV_EXIT_TROUBLE;
	}
	return MV_EXIT_OK;
}

int
main(int argc, char *argv[])
{
	static const struct option lopts[] = {
	    {"workload", required_argument, NULL, 'w'},
	    {"ops", required_argument, NULL, 'n'},
	    {"duration", required_argument, NULL, 'd'},
	    {"rate", required_argument, NULL, 'r'},
	    {"keys", required_argument, NULL, 'k'},
	    {"dist", required_argument, NULL, 'D'},
	    {"read-ratio", required_argument, NULL, 'R'},
	    {"batch", required_argument, NULL, 'b'},
	    {"seed", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	struct mv_gen_opts o;
	struct mv_gen *g;
	struct mv_err e;
	int c, nset = 0, status;

	mv_gen_opts_init(&o);
	opterr = 0;
	while (
	    (c = getopt_long(argc, argv, ":w:n:d:r:k:s:", lopts, NULL)) != -1) {
		switch (c) {
		case 'w':
			if ((o.workload = mv_workload_lookup(optarg)) < 0)
				errx(MV_EXIT_TROUBLE, "unknown workload: %s",
				    optarg);
			break;
		case 'n':
			o.n = int_opt("--ops", optarg, 0, INT64_MAX / 2);
			nset = 1;
			break;
		case 'd':
			if (mv_parse_duration(
			        "--duration", optarg, &o.duration_ns, &e)
			    < 0)
				errx(MV_EXIT_TROUBLE, "%s", e.msg);
			break;
		case 'r':
			o.rate = int_opt("--rate", optarg, 0, 1000000000);
			break;
		case 'k':
			o.keys = int_opt("--keys", optarg, 1, 10000000);
			break;
		case 'D':
			if ((o.dist = mv_dist_lookup(optarg)) < 0)
				errx(MV_EXIT_TROUBLE,
				    "unknown distribution: %s", optarg);
			break;
		case 'R':
			if (mv_parse_ratio(
			        "--read-ratio", optarg, &o.read_ratio, &e)
			    < 0)
				errx(MV_EXIT_TROUBLE, "%s", e.msg);
			break;
		case 'b': o.batch = int_opt("--batch", optarg, 1, 1000); break;
		case 's':
			o.seed =
			    (uint64_t)int_opt("--seed", optarg, 0, INT64_MAX);
			break;
		case 'h': usage(stdout); return MV_EXIT_OK;
		case 'V': puts("mv-gen mv " MV_VERSION); return MV_EXIT_OK;
		case ':':
			errx(MV_EXIT_TROUBLE, "option needs a value: %s",
			    argv[optind - 1]);
		default:
			errx(MV_EXIT_TROUBLE, "unknown option: %s (see --help)",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		errx(MV_EXIT_TROUBLE, "unexpected argument: %s", argv[optind]);
	/* A duration alone sets the length; -n then only caps it. */
	if (o.duration_ns > 0 && !nset)
		o.n = -1;
	if ((g = mv_gen_new(&o, &e)) == NULL)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	status = generate(g);
	mv_gen_free(g);
	return status;
}
