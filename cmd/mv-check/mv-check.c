/* mv-check: is a history linearizable?  One JSON verdict per file. */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "estore.h"
#include "history.h"
#include "model.h"
#include "mv.h"
#include "xcheck.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: mv-check [-q] [-m model] [-c check] "
	    "[--time-limit duration] [--memory-limit size]\n"
	    "                [--bank-total n] [--nil-unknown] [--explain] "
	    "[--init value]\n"
	    "                [--format edn|json] [--promise name] "
	    "[file ...]\n");
}

/* --format: MV_RD_EDN or MV_RD_JSON, 0 to recognise the input. */
static unsigned load_flags;

/* Whether a progress line is on the terminal, to be erased. */
static int progress_shown;

/* One updating line on a terminal: keys, steps, memo entries. */
static void
progress(const struct mv_check_progress *p, void *arg)
{
	(void)arg;
	fprintf(stderr,
	    "\rmv-check: keys %zu/%zu, %llu steps, memo %zu entries\033[K",
	    p->keys_done, p->keys, (unsigned long long)p->steps, p->memo);
	fflush(stderr);
	progress_shown = 1;
}

/* Parses 64M, 1G, 512K, 4096 into bytes. */
static int
parse_size(const char *s, size_t *out, struct mv_err *e)
{
	char *end;
	double v = strtod(s, &end);
	double mul = 1;

	if (end == s || v < 0)
		return mv_err_set(
		    e, "invalid value for --memory-limit: '%s'", s);
	if (*end == 'K' || *end == 'k')
		mul = 1024.0, end++;
	else if (*end == 'M' || *end == 'm')
		mul = 1024.0 * 1024, end++;
	else if (*end == 'G' || *end == 'g')
		mul = 1024.0 * 1024 * 1024, end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || v * mul < 1 || v * mul > 1e18)
		return mv_err_set(
		    e, "invalid value for --memory-limit: '%s'", s);
	*out = (size_t)(v * mul);
	return 0;
}

/* Checks one file; returns its exit status. */
static int
check_file(const char *path, const struct mv_check_opts *o, int quiet, int many)
{
	struct mv_history h;
	struct mv_verdict v;
	struct mv_err e;
	const char *shown = strcmp(path, "-") == 0 ? "<stdin>" : path;
	int status;

	if (mv_history_load(path, load_flags, &h, &e) < 0) {
		warnx("%s", e.msg);
		return MV_EXIT_TROUBLE;
	}
	mv_verdict_init(&v);
	status = mv_check(&h, path, o, &v, &e);
	if (progress_shown) {
		fputs("\r\033[K", stderr);
		progress_shown = 0;
	}
	if (status < 0) {
		warnx("%s", e.msg);
		status = MV_EXIT_TROUBLE;
	} else {
		if (many) {
			/* Name the file inside the verdict object. */
			fputs("{\"file\":", stdout);
			fputs("\"", stdout);
			fputs(shown, stdout);
			fputs("\",", stdout);
			fputs(v.json.p + 1, stdout);
		} else
			fputs(v.json.p, stdout);
		putchar('\n');
		fflush(stdout);
		if (!quiet)
			fprintf(stderr, "mv-check: %s%s%s\n", many ? shown : "",
			    many ? ": " : "", v.human.p);
		status = v.status;
	}
	mv_verdict_release(&v);
	mv_history_release(&h);
	return status;
}

/* Trouble outranks invalid, which outranks unknown, which outranks ok. */
static int
worse(int a, int b)
{
	static const int rank[] = {0, 2, 3, 1};

	return rank[b] > rank[a] ? b : a;
}

int
main(int argc, char *argv[])
{
	static const struct option lopts[] = {
	    {"model", required_argument, NULL, 'm'},
	    {"check", required_argument, NULL, 'c'},
	    {"bank-total", required_argument, NULL, 'B'},
	    {"time-limit", required_argument, NULL, 't'},
	    {"memory-limit", required_argument, NULL, 'M'},
	    {"nil-unknown", no_argument, NULL, 'n'},
	    {"init", required_argument, NULL, 'I'},
	    {"format", required_argument, NULL, 'F'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"explain", no_argument, NULL, 'x'},
	    {"promise", required_argument, NULL, 'P'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	struct mv_check_opts o;
	struct mv_err e;
	int c, quiet = 0, status = MV_EXIT_OK, i;
	long long total;

	memset(&o, 0, sizeof(o));
	while ((c = getopt_long(argc, argv, "c:m:q", lopts, NULL)) != -1) {
		switch (c) {
		case 'm': o.model = optarg; break;
		case 'c':
			if (!mv_xcheck_known(optarg))
				errx(MV_EXIT_TROUBLE, "unknown check: %s",
				    optarg);
			o.check = optarg;
			break;
		case 'B':
			if (mv_parse_int("--bank-total", optarg, INT64_MIN,
			        INT64_MAX, &total, &e)
			    < 0)
				errx(MV_EXIT_TROUBLE, "%s", e.msg);
			o.bank_total = total;
			o.has_bank_total = 1;
			break;
		case 't':
			if (mv_parse_duration(
			        "--time-limit", optarg, &o.time_limit_ns, &e)
			    < 0)
				errx(MV_EXIT_TROUBLE, "%s", e.msg);
			break;
		case 'M':
			if (parse_size(optarg, &o.memory_limit, &e) < 0)
				errx(MV_EXIT_TROUBLE, "%s", e.msg);
			break;
		case 'n': o.nil_unknown = 1; break;
		case 'I': o.init = optarg; break;
		case 'F':
			if (mv_format_flags(optarg, &load_flags, &e) < 0)
				errx(MV_EXIT_TROUBLE, "%s", e.msg);
			break;
		case 'q': quiet = 1; break;
		case 'x': o.explain = 1; break;
		case 'P':
			if (mv_promise_parse(optarg, &o.promises, &e) < 0)
				errx(MV_EXIT_TROUBLE, "%s", e.msg);
			break;
		case 'h': usage(stdout); return MV_EXIT_OK;
		case 'V': puts("mv-check mv " MV_VERSION); return MV_EXIT_OK;
		default: usage(stderr); return MV_EXIT_TROUBLE;
		}
	}
	if (o.model && mv_model_lookup(o.model) < 0)
		errx(MV_EXIT_TROUBLE, "unknown model: %s", o.model);
	/* Progress only for a person watching: never into a file or pipe. */
	if (!quiet && isatty(STDERR_FILENO))
		o.progress = progress;
	if (optind == argc)
		status = check_file("-", &o, quiet, 0);
	for (i = optind; i < argc; i++)
		status = worse(
		    status, check_file(argv[i], &o, quiet, argc - optind > 1));
	if (mv_fshut_stdout(&e) < 0) {
		warnx("%s", e.msg);
		return MV_EXIT_TROUBLE;
	}
	return status;
}
