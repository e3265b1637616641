/*
 * clockfault.c: "mv-nemesis clock": one clock fault now, written to the
 * clock file of mv's shim or to a libfaketime timestamp file, with its
 * event on standard output and its file in the undo log.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "clockfault.h"
#include "mv.h"

#define MAX_MAPPERS 64
#define SETTLE_MS 200 /* for the target to map a file just made */

struct clock_opts {
	const char *fault; /* "skew", "jump", "strobe", "reset" */
	const char *file, *faketime, *undo_log;
	int64_t offset, period;
	int has_offset;
	int created; /* the clock file did not exist before this fault */
};

void
clock_usage(FILE *f)
{
	fprintf(f,
	    "       mv-nemesis clock skew|jump --offset [+-]duration "
	    "clock-file [--undo-log file]\n"
	    "       mv-nemesis clock strobe --offset [+-]duration "
	    "--period duration --file file\n"
	    "                  [--undo-log file]\n"
	    "       mv-nemesis clock reset clock-file\n"
	    "clock-file: --file file | --faketime file\n");
}

static void
bad_usage(void)
{
	fprintf(stderr, "usage: mv-nemesis clock skew|jump|strobe|reset ...\n");
	clock_usage(stderr);
	exit(MV_EXIT_TROUBLE);
}

/* A duration with an optional sign: "+60s", "-250ms", "5s". */
static int64_t
signed_duration(const char *opt, const char *s)
{
	struct mv_err e;
	int64_t ns;
	int neg = *s == '-';

	if (mv_parse_duration(opt, s + (*s == '-' || *s == '+'), &ns, &e) < 0)
		errx(MV_EXIT_TROUBLE, "invalid value for %s: '%s'", opt, s);
	return neg ? -ns : ns;
}

static void
clock_parse(int argc, char *argv[], struct clock_opts *o)
{
	static const struct option lopts[] = {
	    {"file", required_argument, NULL, 'F'},
	    {"faketime", required_argument, NULL, 'T'},
	    {"offset", required_argument, NULL, 'o'},
	    {"period", required_argument, NULL, 'p'},
	    {"undo-log", required_argument, NULL, 'u'}, {NULL, 0, NULL, 0}};
	struct mv_err e;
	int c;

	while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (c) {
		case 'F': o->file = optarg; break;
		case 'T': o->faketime = optarg; break;
		case 'u': o->undo_log = optarg; break;
		case 'o':
			o->offset = signed_duration("--offset", optarg);
			o->has_offset = 1;
			break;
		case 'p':
			if (mv_parse_duration(
			        "--period", optarg, &o->period, &e)
			    < 0)
				errx(MV_EXIT_TROUBLE, "%s", e.msg);
			if (o->period <= 0)
				errx(MV_EXIT_TROUBLE,
				    "invalid value for --period: '%s'", optarg);
			break;
		default: bad_usage();
		}
	}
	if (optind < argc)
		errx(MV_EXIT_TROUBLE, "unexpected argument: %s", argv[optind]);
}

/* Checks that the options fit the fault; exits when they do not. */
static void
clock_check(const struct clock_opts *o)
{
	int reset = strcmp(o->fault, "reset") == 0;
	int strobe = strcmp(o->fault, "strobe") == 0;

	if (!reset && !strobe && strcmp(o->fault, "skew") != 0
	    && strcmp(o->fault, "jump") != 0)
		errx(MV_EXIT_TROUBLE, "unknown clock fault: %s", o->fault);
	if ((o->file == NULL) == (o->faketime == NULL))
		errx(MV_EXIT_TROUBLE,
		    "clock %s needs one of --file and --faketime", o->fault);
	if (!reset && !o->has_offset)
		errx(MV_EXIT_TROUBLE, "clock %s needs --offset", o->fault);
	if (reset && (o->has_offset || o->period))
		errx(MV_EXIT_TROUBLE,
		    "clock reset takes no --offset or --period");
	if (strobe && (o->faketime || o->period == 0))
		errx(MV_EXIT_TROUBLE,
		    "clock strobe needs --period and --file (libfaketime "
		    "cannot strobe)");
	if (!strobe && o->period)
		errx(MV_EXIT_TROUBLE, "--period is for clock strobe only");
}

/* The new state from the old one, for fault o->fault. */
static void
next_state(const struct clock_opts *o, const struct mv_clock_state *was,
    struct mv_clock_state *st)
{
	memset(st, 0, sizeof(*st));
	if (strcmp(o->fault, "skew") == 0)
		st->offset_ns = o->offset;
	else if (strcmp(o->fault, "jump") == 0)
		st->offset_ns = was->offset_ns + o->offset;
	else if (strcmp(o->fault, "strobe") == 0) {
		st->offset_ns = was->offset_ns;
		st->strobe_ns = was->offset_ns + o->offset;
		st->period_ns = o->period;
		st->epoch_ns = mv_wall_ns();
	}
}

/*
 * Appends "targets" (the processes that map the clock file) and "effect"
 * to ev.  A file just made may not be mapped yet (the shim looks for it
 * every 10 ms, at a clock call): then up to SETTLE_MS are allowed.
 */
static void
add_effect(const struct clock_opts *o, struct mv_buf *ev)
{
	long pids[MAX_MAPPERS];
	struct mv_err e;
	int n = 0, i, tries;

	if (o->faketime) {
		/* libfaketime rereads the file: no process to name. */
		mv_buf_adds(ev, ",\"targets\":null,\"effect\":\"written\"");
		return;
	}
	for (tries = 0;; tries++) {
		if ((n = mv_clock_mappers(o->file, pids, MAX_MAPPERS, &e)) < 0)
			errx(MV_EXIT_TROUBLE, "%s", e.msg);
		if (n > 0 || !o->created || tries == SETTLE_MS / 10)
			break;
		nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
	}
	mv_buf_adds(ev, ",\"targets\":[");
	for (i = 0; i < n && i < MAX_MAPPERS; i++)
		mv_buf_addf(ev, "%s%ld", i ? "," : "", pids[i]);
	/* Written but seen by no process: say so, it is not skewing anyone. */
	mv_buf_addf(ev, "],\"effect\":\"%s\"", n > 0 ? "set" : "unmapped");
}

/* The fault's event line, in the shape of the process faults'. */
static void
clock_event(const struct clock_opts *o, const struct mv_clock_state *was,
    const struct mv_clock_state *st, struct mv_buf *ev)
{
	const char *f = o->file ? o->file : o->faketime;

	mv_buf_addf(ev,
	    "{\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"clock-%s\","
	    "\"value\":{\"%s\":",
	    o->fault, o->file ? "file" : "faketime");
	mv_buf_add_jstr(ev, f, strlen(f));
	mv_buf_addf(ev, ",\"offset\":%lld,\"was\":%lld",
	    (long long)st->offset_ns, (long long)was->offset_ns);
	if (st->period_ns)
		mv_buf_addf(ev, ",\"strobe\":%lld,\"period\":%lld",
		    (long long)st->strobe_ns, (long long)st->period_ns);
	add_effect(o, ev);
	mv_buf_addf(ev, ",\"undo\":%s},\"time\":0}\n",
	    strcmp(o->fault, "reset") ? "\"clock-reset\"" : "null");
}

/* Reads the old state, records the undo entry, writes the new state. */
static void
apply(
    struct clock_opts *o, struct mv_clock_state *was, struct mv_clock_state *st)
{
	struct mv_err e;
	int rc;

	memset(was, 0, sizeof(*was));
	o->created = o->file && access(o->file, F_OK) < 0;
	if (o->file)
		rc = mv_clock_read(o->file, was, &e);
	else
		rc = mv_clock_faketime_read(o->faketime, &was->offset_ns, &e);
	if (rc < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	next_state(o, was, st);
	/* Log ahead, as for a pause: the fault must never be unrecorded. */
	if (o->undo_log && strcmp(o->fault, "reset") != 0
	    && mv_clock_undo_add(o->undo_log, o->file ? "clock" : "faketime",
	           o->file ? o->file : o->faketime, &e)
	        < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	if (o->file)
		rc = mv_clock_write(o->file, st, &e);
	else
		rc = mv_clock_faketime_write(o->faketime, st->offset_ns, &e);
	if (rc < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
}

int
clock_main(int argc, char *argv[])
{
	struct clock_opts o;
	struct mv_clock_state was, st;
	struct mv_buf ev = MV_BUF_INIT;
	struct mv_err e;

	memset(&o, 0, sizeof(o));
	if (argc < 2 || argv[1][0] == '-')
		bad_usage();
	o.fault = argv[1];
	clock_parse(argc - 1, argv + 1, &o);
	clock_check(&o);
	apply(&o, &was, &st);
	clock_event(&o, &was, &st, &ev);
	/* A short write shows in ferror, which mv_fshut_stdout checks. */
	fwrite(ev.p, 1, ev.len, stdout);
	mv_buf_release(&ev);
	if (mv_fshut_stdout(&e) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	return MV_EXIT_OK;
}
