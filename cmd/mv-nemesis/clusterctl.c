/* clusterctl.c: "mv-nemesis cluster up FILE" and "cluster down STATE". */
#include <err.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "clusterctl.h"
#include "mv.h"

static volatile sig_atomic_t stop;

static void
on_stop(int sig)
{
	stop = sig;
}

static void
cluster_usage(FILE *f)
{
	fprintf(f,
	    "usage: mv-nemesis cluster up [--state file] "
	    "[--undo-log file] [--run-id id] file\n"
	    "       mv-nemesis cluster down state\n");
}

/* Brings the described cluster up; prints its state file's path. */
static int
up(const char *file, const char *state, const char *undo, const char *id)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa;
	struct mv_cluster *c;
	struct mv_err e;
	size_t i;

	if ((c = mv_cluster_load(file, &e)) == NULL)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	if (mv_cluster_up(c, id, undo, state, &stop, &e) < 0) {
		mv_cluster_free(c);
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	}
	printf("%s\n", c->state);
	mv_cluster_free(c);
	if (mv_fshut_stdout(&e) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	return MV_EXIT_OK;
}

/* Kills, deletes and removes everything the cluster's undo log lists. */
static int
down(const char *file)
{
	struct mv_heal_counts n;
	struct mv_cluster *c;
	struct mv_err e;
	int rc;

	if ((c = mv_cluster_load(file, &e)) == NULL)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	if (c->run_id == NULL) {
		mv_cluster_free(c);
		errx(MV_EXIT_TROUBLE,
		    "%s: a description, not the state of a running cluster",
		    file);
	}
	rc = mv_cluster_heal_log(c->undo_log, &n, &e);
	if (rc == 0)
		printf("{\"type\":\"info\",\"process\":\"nemesis\","
		       "\"f\":\"cluster-down\",\"value\":{\"run\":\"%s\","
		       "\"processes\":%zu,\"namespaces\":%zu,\"dirs\":%zu},"
		       "\"time\":0}\n",
		    c->run_id, n.procs, n.netns, n.dirs);
	mv_cluster_free(c);
	if (rc < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	if (mv_fshut_stdout(&e) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	return MV_EXIT_OK;
}

int
cluster_main(int argc, char *argv[])
{
	static const struct option lopts[] = {
	    {"state", required_argument, NULL, 's'},
	    {"undo-log", required_argument, NULL, 'u'},
	    {"run-id", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const char *state = NULL, *undo = NULL, *id = NULL, *verb;
	int c;

	if (argc < 2 || (strcmp(argv[1], "up") && strcmp(argv[1], "down"))) {
		if (argc >= 2)
			warnx("unknown cluster command: %s", argv[1]);
		cluster_usage(stderr);
		return MV_EXIT_TROUBLE;
	}
	verb = argv[1];
	/* getopt takes "up" or "down" for the program name. */
	while ((c = getopt_long(argc - 1, argv + 1, "", lopts, NULL)) != -1) {
		switch (c) {
		case 's': state = optarg; break;
		case 'u': undo = optarg; break;
		case 'r': id = optarg; break;
		case 'h': cluster_usage(stdout); return MV_EXIT_OK;
		default: cluster_usage(stderr); return MV_EXIT_TROUBLE;
		}
	}
	if (optind + 1 != argc - 1) {
		warnx("cluster %s: needs exactly one file", verb);
		cluster_usage(stderr);
		return MV_EXIT_TROUBLE;
	}
	if (strcmp(verb, "down") == 0) {
		if (state || undo || id)
			errx(MV_EXIT_TROUBLE,
			    "cluster down: takes no option but the state");
		return down(argv[optind + 1]);
	}
	return up(argv[optind + 1], state, undo, id);
}
