/* mv-report: summarise a history (and its verdict) in Markdown or JSON. */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "json.h"
#include "mv.h"
#include "report.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: mv-report [--format md|json] [--verdict file] "
	    "[file]\n");
}

/* Reads and parses the verdict file; exits 2 on trouble. */
static struct mv_jv *
load_verdict(const char *path)
{
	struct mv_buf b = MV_BUF_INIT;
	struct mv_jv *v;
	struct mv_err e;
	char chunk[8192];
	size_t n;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		err(MV_EXIT_TROUBLE, "%s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		mv_buf_add(&b, chunk, n);
	if (ferror(f))
		err(MV_EXIT_TROUBLE, "%s", path);
	fclose(f);
	v = mv_jv_parse(b.p ? b.p : "", b.len, &e);
	mv_buf_release(&b);
	if (v == NULL)
		errx(MV_EXIT_TROUBLE, "%s: %s", path, e.msg);
	if (v->kind != MV_JOBJ)
		errx(MV_EXIT_TROUBLE, "%s: the verdict is not a JSON object",
		    path);
	return v;
}

int
main(int argc, char *argv[])
{
	static const struct option lopts[] = {
	    {"format", required_argument, NULL, 'f'},
	    {"verdict", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	enum mv_report_format fmt = MV_REPORT_MD;
	struct mv_jv *verdict = NULL;
	struct mv_history h;
	struct mv_buf b = MV_BUF_INIT;
	struct mv_err e;
	const char *path = "-", *vpath = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "f:", lopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "md") == 0)
				fmt = MV_REPORT_MD;
			else if (strcmp(optarg, "json") == 0)
				fmt = MV_REPORT_JSON;
			else
				errx(MV_EXIT_TROUBLE,
				    "invalid value for --format: '%s'", optarg);
			break;
		case 'c': vpath = optarg; break;
		case 'h': usage(stdout); return MV_EXIT_OK;
		case 'V': puts("mv-report mv " MV_VERSION); return MV_EXIT_OK;
		default: usage(stderr); return MV_EXIT_TROUBLE;
		}
	}
	if (argc - optind > 1) {
		usage(stderr);
		return MV_EXIT_TROUBLE;
	}
	if (optind < argc)
		path = argv[optind];
	if (vpath)
		verdict = load_verdict(vpath);
	if (mv_history_load(path, 0, &h, &e) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	if (mv_report(
	        &b, &h, strcmp(path, "-") ? path : "<stdin>", verdict, fmt, &e)
	    < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	fwrite(b.p, 1, b.len, stdout);
	mv_buf_release(&b);
	mv_history_release(&h);
	mv_jv_free(verdict);
	if (mv_fshut_stdout(&e) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	return MV_EXIT_OK;
}
