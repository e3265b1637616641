/* mv-shrink: cut a failing history down to a few operations that still fail. */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "mv.h"
#include "shrink.h"
#include "xcheck.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: mv-shrink [-v] [-m model] [-c check] "
	    "[--time-limit duration]\n"
	    "                 [--init value] [--nil-unknown] "
	    "[--format edn|json]\n"
	    "                 [-o file] [file]\n");
}

static void
news(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "mv-shrink: %s\n", msg);
}

/* Writes b to the file path; returns an exit status. */
static int
write_file(const char *path, const struct mv_buf *b)
{
	FILE *f = fopen(path, "w");
	int bad;

	if (f == NULL) {
		warn("%s", path);
		return MV_EXIT_TROUBLE;
	}
	bad = fwrite(b->p ? b->p : "", 1, b->len, f) != b->len;
	if (fclose(f) != 0 || bad) {
		warn("%s", path);
		return MV_EXIT_TROUBLE;
	}
	return MV_EXIT_OK;
}

/* Writes the result to out ("-": stdout); returns an exit status. */
static int
emit(const char *out, const struct mv_history *h,
    const struct mv_shrink_result *r)
{
	struct mv_buf b = MV_BUF_INIT;
	struct mv_err e;
	int status = MV_EXIT_OK;

	mv_shrink_write(&b, h, r);
	if (strcmp(out, "-") != 0)
		status = write_file(out, &b);
	else if (fwrite(b.p ? b.p : "", 1, b.len, stdout) != b.len
	    || mv_fshut_stdout(&e) < 0) {
		mv_fshut_stdout(&e);
		warnx("%s", e.msg);
		status = MV_EXIT_TROUBLE;
	}
	mv_buf_release(&b);
	return status;
}

/* --format: MV_RD_EDN or MV_RD_JSON, 0 to recognise the input. */
static unsigned load_flags;

/* Loads, shrinks and writes one history; returns the exit status. */
static int
shrink_file(const char *path, const char *out, const struct mv_shrink_opts *o,
    int verbose)
{
	struct mv_history h;
	struct mv_shrink_result r;
	struct mv_err e;
	int status;

	if (mv_history_load(path, load_flags, &h, &e) < 0) {
		warnx("%s", e.msg);
		return MV_EXIT_TROUBLE;
	}
	if (mv_shrink(&h, path, o, &r, &e) < 0) {
		warnx("%s", e.msg);
		mv_history_release(&h);
		return MV_EXIT_TROUBLE;
	}
	if (r.status == MV_EXIT_OK) {
		warnx("history is valid: nothing to shrink");
		status = MV_EXIT_INVALID;
	} else if (r.status == MV_EXIT_UNKNOWN) {
		warnx("no verdict on the history: nothing to shrink");
		status = MV_EXIT_UNKNOWN;
	} else {
		if (verbose)
			warnx("%s on key %s: %zu ops -> %zu in %zu checks",
			    r.anomaly, r.key, r.ops_before, r.ops_after,
			    r.checks);
		status = emit(out, &h, &r);
	}
	mv_shrink_result_release(&r);
	mv_history_release(&h);
	return status;
}

int
main(int argc, char *argv[])
{
	static const struct option lopts[] = {
	    {"model", required_argument, NULL, 'm'},
	    {"time-limit", required_argument, NULL, 't'},
	    {"check", required_argument, NULL, 'c'},
	    {"init", required_argument, NULL, 'I'},
	    {"nil-unknown", no_argument, NULL, 'n'},
	    {"format", required_argument, NULL, 'F'},
	    {"output", required_argument, NULL, 'o'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	struct mv_shrink_opts o;
	struct mv_err e;
	const char *out = "-";
	int c, verbose = 0;

	memset(&o, 0, sizeof(o));
	while ((c = getopt_long(argc, argv, "c:m:o:v", lopts, NULL)) != -1) {
		switch (c) {
		case 'm': o.check.model = optarg; break;
		case 'c':
			if (!mv_xcheck_known(optarg))
				errx(MV_EXIT_TROUBLE, "unknown check: %s",
				    optarg);
			o.check.check = optarg;
			break;
		case 'I': o.check.init = optarg; break;
		case 'n': o.check.nil_unknown = 1; break;
		case 'F':
			if (mv_format_flags(optarg, &load_flags, &e) < 0)
				errx(MV_EXIT_TROUBLE, "%s", e.msg);
			break;
		case 't':
			if (mv_parse_duration("--time-limit", optarg,
			        &o.check.time_limit_ns, &e)
			    < 0)
				errx(MV_EXIT_TROUBLE, "%s", e.msg);
			break;
		case 'o': out = optarg; break;
		case 'v': verbose = 1; break;
		case 'h': usage(stdout); return MV_EXIT_OK;
		case 'V': puts("mv-shrink mv " MV_VERSION); return MV_EXIT_OK;
		default: usage(stderr); return MV_EXIT_TROUBLE;
		}
	}
	if (argc - optind > 1) {
		usage(stderr);
		return MV_EXIT_TROUBLE;
	}
	if (verbose)
		o.progress = news;
	return shrink_file(
	    optind < argc ? argv[optind] : "-", out, &o, verbose);
}
