/* mv-exec: runs op records against a system under test into a history. */
#include <err.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.h"
#include "gen.h"
#include "cluster.h"
#include "drv.h"
#include "memsut.h"
#include "ns.h"
#include "mv.h"

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	stop = sig;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: mv-exec [-c concurrency] [-w workload]\n"
	    "               [--sut mem|cmd:program|redis://...|etcd://...|"
	    "pg://...] [--netns name] [--cluster state]\n"
	    "               [--bug name[,name]] [--bug-rate p] [--info-rate p] "
	    "[-s seed]\n"
	    "               [--timeout duration] [-n limit] [--pace] "
	    "[--line-buffered] [file]\n");
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

static double
parse_ratio(const char *opt, const char *s)
{
	struct mv_err e;
	double v;

	if (mv_parse_ratio(opt, s, &v, &e) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	return v;
}

/* Signals stop the run through a flag; the history is closed after. */
static void
catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void
parse_sut(struct mv_exec_opts *o, const char *s)
{
	if (strcmp(s, "mem") == 0)
		o->sut_cmd = NULL;
	else if (strncmp(s, "cmd:", 4) == 0 && s[4] != '\0')
		o->sut_cmd = s + 4;
	else if ((o->drv = mv_drv_find(s, &o->drv_target)) != NULL) {
		struct mv_err e;

		if (mv_drv_check(o->drv, o->drv_target, &e) < 0)
			errx(MV_EXIT_TROUBLE, "--sut %s: %s", s, e.msg);
		o->sut_cmd = s;
	} else
		errx(MV_EXIT_TROUBLE, "invalid value for --sut: '%s'", s);
}

/* Runs the history and turns how it ended into the exit status. */
static int
run(const struct mv_exec_opts *o, const char *path)
{
	struct mv_exec_result res;
	struct mv_err e;
	FILE *in = stdin;
	int rc;

	if (strcmp(path, "-") != 0 && (in = fopen(path, "r")) == NULL)
		err(MV_EXIT_TROUBLE, "%s", path);
	rc = mv_exec_run(o, in, path, STDOUT_FILENO, &res, &e);
	if (in != stdin)
		fclose(in);
	if (rc < 0) {
		warnx("%s", e.msg);
		return MV_EXIT_TROUBLE;
	}
	if (res.sut_died) {
		warnx("the SUT exited before the run was over (status %d)",
		    WIFEXITED(res.sut_status) ? WEXITSTATUS(res.sut_status)
		                              : 128 + WTERMSIG(res.sut_status));
		return MV_EXIT_TROUBLE;
	}
	if (res.interrupted)
		return 128 + res.interrupted;
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
	    {"concurrency", required_argument, NULL, 'c'},
	    {"sut", required_argument, NULL, 'S'},
	    {"workload", required_argument, NULL, 'w'},
	    {"bug", required_argument, NULL, 'B'},
	    {"bug-rate", required_argument, NULL, 'R'},
	    {"info-rate", required_argument, NULL, 'I'},
	    {"seed", required_argument, NULL, 's'},
	    {"timeout", required_argument, NULL, 't'},
	    {"limit", required_argument, NULL, 'n'},
	    {"pace", no_argument, NULL, 'p'},
	    {"line-buffered", no_argument, NULL, 'l'},
	    {"netns", required_argument, NULL, 'N'},
	    {"cluster", required_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	struct mv_exec_opts o;
	struct mv_err e;
	struct mv_cluster *clu = NULL;
	struct mv_buf sutx = MV_BUF_INIT;
	const char *sut = NULL, *cluster = NULL;
	int c, rc;

	mv_exec_opts_init(&o);
	o.stop = &stop;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:w:s:n:", lopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o.concurrency = (int)int_opt("-c", optarg, 1, 100000);
			break;
		case 'S': sut = optarg; break;
		case 'w':
			if ((o.workload = mv_workload_lookup(optarg)) < 0)
				errx(MV_EXIT_TROUBLE, "unknown workload: %s",
				    optarg);
			break;
		case 'B':
			if (mv_bug_parse(optarg, &o.bugs, &e) < 0)
				errx(MV_EXIT_TROUBLE, "%s", e.msg);
			break;
		case 'R': o.bug_rate = parse_ratio("--bug-rate", optarg); break;
		case 'I':
			o.info_rate = parse_ratio("--info-rate", optarg);
			break;
		case 's':
			o.seed =
			    (uint64_t)int_opt("--seed", optarg, 0, INT64_MAX);
			break;
		case 't':
			if (mv_parse_duration(
			        "--timeout", optarg, &o.timeout_ns, &e)
			    < 0)
				errx(MV_EXIT_TROUBLE, "%s", e.msg);
			break;
		case 'n':
			o.limit = int_opt("--limit", optarg, 0, INT64_MAX);
			break;
		case 'p': o.pace = 1; break;
		case 'l': o.line_buffered = 1; break;
		case 'N': o.netns = optarg; break;
		case 'C': cluster = optarg; break;
		case 'h': usage(stdout); return MV_EXIT_OK;
		case 'V': puts("mv-exec mv " MV_VERSION); return MV_EXIT_OK;
		case ':':
			errx(MV_EXIT_TROUBLE, "option needs a value: %s",
			    argv[optind - 1]);
		default:
			errx(MV_EXIT_TROUBLE, "unknown option: %s (see --help)",
			    argv[optind - 1]);
		}
	}
	if (argc - optind > 1)
		errx(MV_EXIT_TROUBLE, "too many arguments: %s",
		    argv[optind + 1]);
	/*
	 * A cluster's client namespace is where the drivers connect from, and
	 * its placeholders ({addr:n1}) may name the servers in --sut.
	 */
	if (cluster) {
		if ((clu = mv_cluster_load(cluster, &e)) == NULL)
			errx(MV_EXIT_TROUBLE, "%s", e.msg);
		if (clu->client.netns == NULL)
			errx(MV_EXIT_TROUBLE,
			    "%s: not a running cluster's state", cluster);
		if (o.netns == NULL)
			o.netns = clu->client.netns;
		if (sut && mv_cluster_expand(clu, sut, &sutx, &e) < 0)
			errx(MV_EXIT_TROUBLE, "--sut %s: %s", sut, e.msg);
		if (sut)
			sut = sutx.p;
	}
	if (sut)
		parse_sut(&o, sut);
	/* Said here, once, rather than by a driver child nobody waits for. */
	if (o.netns) {
		int back;

		if (o.drv == NULL)
			errx(MV_EXIT_TROUBLE,
			    "--netns needs a driver --sut (redis://, etcd://, "
			    "pg://)");
		if (mv_netns_enter(o.netns, &back, &e) < 0)
			errx(MV_EXIT_TROUBLE, "--netns %s: %s", o.netns, e.msg);
		mv_netns_leave(back);
	}
	if (isatty(STDOUT_FILENO))
		o.line_buffered = 1;
	catch_signals();
	rc = run(&o, optind < argc ? argv[optind] : "-");
	mv_buf_release(&sutx);
	mv_cluster_free(clu);
	return rc;
}
