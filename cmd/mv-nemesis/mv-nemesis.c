/*
 * mv-nemesis: inject process and network faults, one at a time or on a
 * seeded schedule; bring a local cluster in namespaces up and down.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "clockfault.h"
#include "clockrun.h"
#include "cluster.h"
#include "clusterctl.h"
#include "freezer.h"
#include "history.h"
#include "json.h"
#include "mv.h"
#include "nemesis.h"
#include "netctl.h"
#include "netfault.h"
#include "partcount.h"

#define MAX_TARGETS 64
#define MAX_FAULTS 8

struct opts {
	const char *mode;
	struct mv_target t[MAX_TARGETS];
	size_t nt;
	const char *cmd, *pidfile, *undo_log;
	const char *faults[MAX_FAULTS];
	size_t nfaults;
	char faults_text[256];
	int periodic;
	uint64_t seed;
	int64_t interval, duration;
	const char *cluster;            /* --cluster STATE */
	const char *nodes[MAX_TARGETS]; /* --node NAME */
	size_t nnodes;
	char pidtext[24];      /* a node's pid as a target */
	int directed, reject;  /* partitions */
	struct netctl_opts no; /* link faults */
	int swarm;
};

static volatile sig_atomic_t got_signal;
static struct mv_nemesis *nem; /* for the exit handler */
static int64_t t0;
static struct mv_cluster *clu;   /* --cluster, loaded */
static struct mv_netfault *netf; /* the partition in force, or NULL */
static unsigned nparts;          /* partitions made, for table names */
/* A one-shot partition, left in force on purpose (volatile: kept in
 * memory for LeakSanitizer to see). */
static struct mv_netfault *volatile kept_netf;

static int64_t since_start(void);
static int stop_fault(const char *f, int64_t t, struct mv_buf *out);

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: mv-nemesis pause|resume|kill|term target ... "
	    "[--undo-log file]\n"
	    "       mv-nemesis restart --cmd command target ...\n"
	    "       mv-nemesis run [-s seed] [--schedule random|periodic] "
	    "[--interval duration]\n"
	    "                  [--duration duration] [--faults list] "
	    "[--cmd command]\n"
	    "                  [--swarm] [--undo-log file] "
	    "[--max-skew [+-]duration]\n"
	    "                  [--max-period duration] target ...\n"
	    "       mv-nemesis heal --undo-log file | --cluster state\n"
	    "       mv-nemesis cluster up [--state file] [--undo-log file] "
	    "[--run-id id] file\n"
	    "       mv-nemesis cluster down state\n"
	    "       mv-nemesis partition kind --cluster state [-s seed] "
	    "[--node name]\n"
	    "                  [--directed] [--reject]\n"
	    "       mv-nemesis delay --cluster state --node name | "
	    "--from name --to name\n"
	    "                  [--delay duration] [--jitter duration] "
	    "[--reorder percent]\n"
	    "                  [--correlation percent] "
	    "[--net-method auto|netem|nfqueue]\n"
	    "       mv-nemesis loss|dup --cluster state --node name | "
	    "--from name --to name\n"
	    "                  [--percent percent] "
	    "[--net-method auto|netem|nfqueue]\n"
	    "       mv-nemesis probe --cluster state\n"
	    "       mv-nemesis bandwidth --cluster state --node name | "
	    "--from name --to name\n"
	    "                  [--rate rate]\n");
	clock_usage(f);
	fprintf(f,
	    "target: --pid pid | --pidfile file | --pgid pgid | "
	    "--cluster state --node name\n");
}

static void
on_signal(int sig)
{
	got_signal = sig;
}

/* Whatever way we leave, nothing we stopped stays stopped. */
static void
heal_at_exit(void)
{
	struct mv_err e;

	if (netf) {
		mv_netfault_stop(netf, NULL, &e);
		netf = NULL;
	}
	netctl_stop(0, NULL, &e);
	if (nem) {
		mv_nemesis_heal(nem, mv_now_ns() - t0, NULL);
		mv_nemesis_free(nem);
		nem = NULL;
	}
	clockrun_exit();      /* after nem's last rewrite of the undo log */
	mv_cluster_free(clu); /* after nem: its events name clu's nodes */
	clu = NULL;
}

static void
catch_signals(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll must return */
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/*
 * A write to stdout failed: a closed pipe ends us as SIGPIPE would have
 * (after healing), anything else is trouble (exit heals).
 */
static void
write_failed(void)
{
	struct mv_err e;

	if (errno == EPIPE) {
		heal_at_exit();
		signal(SIGPIPE, SIG_DFL);
		raise(SIGPIPE);
	}
	mv_fshut_stdout(&e);
	errx(MV_EXIT_TROUBLE, "%s", e.msg);
}

/* Writes b to stdout and flushes it. */
static void
put(struct mv_buf *b)
{
	if (b->len > 0 && fwrite(b->p, 1, b->len, stdout) != b->len)
		write_failed();
	mv_buf_reset(b);
	if (fflush(stdout) != 0)
		write_failed();
}

/* 1 if fault names a partition ("partition-KIND"). */
static int
partition_fault(const char *f)
{
	const char *dash = strchr(f, '-');
	enum mv_grudge_kind k;
	struct mv_err e;

	return dash && strncmp(f, "partition-", 10) == 0
	    && mv_grudge_kind_parse(dash + 1, &k, &e) == 0;
}

static void
split_faults(struct opts *o, const char *list)
{
	char *p, *save = NULL;

	snprintf(o->faults_text, sizeof(o->faults_text), "%s", list);
	o->nfaults = 0;
	for (p = strtok_r(o->faults_text, ",", &save); p;
	     p = strtok_r(NULL, ",", &save)) {
		if (strcmp(p, "pause") && strcmp(p, "kill") && strcmp(p, "term")
		    && strcmp(p, "restart") && !partition_fault(p)
		    && !netctl_fault(p) && !clockrun_fault(p))
			errx(MV_EXIT_TROUBLE,
			    "invalid value for --faults: '%s'", p);
		if (o->nfaults == MAX_FAULTS)
			errx(MV_EXIT_TROUBLE, "too many faults in --faults");
		o->faults[o->nfaults++] = p;
	}
	if (o->nfaults == 0)
		errx(MV_EXIT_TROUBLE, "invalid value for --faults: '%s'", list);
}

static void
add_target(struct opts *o, enum mv_target_kind k, const char *arg)
{
	if (o->nt == MAX_TARGETS)
		errx(MV_EXIT_TROUBLE, "too many targets");
	o->t[o->nt].kind = k;
	o->t[o->nt++].arg = arg;
	if (k == MV_TGT_PIDFILE)
		o->pidfile = arg;
}

static void
parse(int argc, char *argv[], struct opts *o)
{
	static const struct option lopts[] = {
	    {"pid", required_argument, NULL, 'p'},
	    {"pidfile", required_argument, NULL, 'P'},
	    {"pgid", required_argument, NULL, 'g'},
	    {"cmd", required_argument, NULL, 'c'},
	    {"undo-log", required_argument, NULL, 'u'},
	    {"seed", required_argument, NULL, 's'},
	    {"schedule", required_argument, NULL, 'S'},
	    {"interval", required_argument, NULL, 'i'},
	    {"duration", required_argument, NULL, 'd'},
	    {"faults", required_argument, NULL, 'f'},
	    {"cluster", required_argument, NULL, 'C'},
	    {"node", required_argument, NULL, 'n'},
	    {"directed", no_argument, NULL, 'D'},
	    {"reject", no_argument, NULL, 'R'},
	    {"from", required_argument, NULL, 1000},
	    {"to", required_argument, NULL, 1001},
	    {"delay", required_argument, NULL, 1002},
	    {"jitter", required_argument, NULL, 1003},
	    {"reorder", required_argument, NULL, 1004},
	    {"percent", required_argument, NULL, 1005},
	    {"rate", required_argument, NULL, 1006},
	    {"swarm", no_argument, NULL, 1007},
	    {"correlation", required_argument, NULL, 1200},
	    {"net-method", required_argument, NULL, 1201},
	    {"max-skew", required_argument, NULL, 1100},
	    {"max-period", required_argument, NULL, 1101},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	struct mv_err e;
	long long x;
	int c;

	while ((c = getopt_long(argc, argv, "s:", lopts, NULL)) != -1) {
		switch (c) {
		case 'p': add_target(o, MV_TGT_PID, optarg); break;
		case 'P': add_target(o, MV_TGT_PIDFILE, optarg); break;
		case 'g': add_target(o, MV_TGT_PGID, optarg); break;
		case 'c': o->cmd = optarg; break;
		case 'u': o->undo_log = optarg; break;
		case 's':
			if (mv_parse_int("--seed", optarg, 0, INT64_MAX, &x, &e)
			    < 0)
				errx(MV_EXIT_TROUBLE, "%s", e.msg);
			o->seed = (uint64_t)x;
			break;
		case 'S':
			if (strcmp(optarg, "random") != 0
			    && strcmp(optarg, "periodic") != 0)
				errx(MV_EXIT_TROUBLE,
				    "invalid value for --schedule: '%s'",
				    optarg);
			o->periodic = strcmp(optarg, "periodic") == 0;
			break;
		case 'i':
		case 'd':
			if (mv_parse_duration(
			        c == 'i' ? "--interval" : "--duration", optarg,
			        c == 'i' ? &o->interval : &o->duration, &e)
			    < 0)
				errx(MV_EXIT_TROUBLE, "%s", e.msg);
			break;
		case 'f': split_faults(o, optarg); break;
		case 'C': o->cluster = optarg; break;
		case 'n':
			if (o->nnodes == MAX_TARGETS)
				errx(MV_EXIT_TROUBLE, "too many nodes");
			o->nodes[o->nnodes++] = optarg;
			break;
		case 'D': o->directed = 1; break;
		case 'R': o->reject = 1; break;
		case 1000: o->no.from = optarg; break;
		case 1001: o->no.to = optarg; break;
		case 1002: netctl_option(&o->no, "--delay", optarg); break;
		case 1003: netctl_option(&o->no, "--jitter", optarg); break;
		case 1004: netctl_option(&o->no, "--reorder", optarg); break;
		case 1005: netctl_option(&o->no, "--percent", optarg); break;
		case 1006: netctl_option(&o->no, "--rate", optarg); break;
		case 1007: o->swarm = 1; break;
		case 1200:
			netctl_option(&o->no, "--correlation", optarg);
			break;
		case 1201: netctl_option(&o->no, "--net-method", optarg); break;
		case 1100: clockrun_option("--max-skew", optarg); break;
		case 1101: clockrun_option("--max-period", optarg); break;
		case 'h': usage(stdout); exit(MV_EXIT_OK);
		case 'V': puts("mv-nemesis mv " MV_VERSION); exit(MV_EXIT_OK);
		default: usage(stderr); exit(MV_EXIT_TROUBLE);
		}
	}
	if (optind < argc) {
		warnx("unexpected argument: %s", argv[optind]);
		usage(stderr);
		exit(MV_EXIT_TROUBLE);
	}
}

/* Loads --cluster, the state of a running cluster, into clu. */
static void
load_cluster(struct opts *o)
{
	struct mv_err e;
	size_t i;

	if (o->cluster == NULL) {
		if (o->nnodes > 0)
			errx(MV_EXIT_TROUBLE, "--node needs --cluster");
		return;
	}
	if (o->nt > 0)
		errx(MV_EXIT_TROUBLE,
		    "--cluster and --pid, --pidfile, --pgid do not mix");
	if ((clu = mv_cluster_load(o->cluster, &e)) == NULL)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	if (clu->run_id == NULL)
		errx(MV_EXIT_TROUBLE,
		    "%s: a description, not the state of a running cluster",
		    o->cluster);
	for (i = 0; i < o->nnodes; i++)
		if (mv_cluster_node(clu, o->nodes[i]) == NULL)
			errx(MV_EXIT_TROUBLE, "%s: no node named '%s'",
			    o->cluster, o->nodes[i]);
}

/* Restarts a node with its own command; the state file follows. */
static pid_t
start_node(void *arg, struct mv_err *e)
{
	struct mv_cnode *nd = arg;
	pid_t pid = mv_cluster_start_node(clu, nd, 1, e);

	if (pid > 0 && mv_cluster_save(clu, e) < 0)
		return -1;
	return pid;
}

/* Makes o's one target node nd's process group (none when it is dead). */
static void
aim_node(struct opts *o, struct mv_cnode *nd)
{
	o->nt = 0;
	if (mv_cluster_node_alive(nd)) {
		snprintf(o->pidtext, sizeof(o->pidtext), "%ld", nd->pid);
		o->t[0].kind = MV_TGT_PGID;
		o->t[0].arg = o->pidtext;
		o->nt = 1;
	}
	mv_nemesis_set_node(nem, nd->name, start_node, nd);
	mv_nemesis_set_cgroup(nem, nd->cgroup);
}

/* A process fault on each --node in turn; 2 when none was alive. */
static int
one_shot_nodes(struct opts *o)
{
	struct mv_buf b = MV_BUF_INIT;
	struct mv_err e;
	size_t i;
	int n, hit = 0;

	if (o->nnodes == 0)
		errx(MV_EXIT_TROUBLE, "%s: no --node", o->mode);
	nem = mv_nemesis_new(NULL, NULL, o->undo_log);
	for (i = 0; i < o->nnodes; i++) {
		aim_node(o, mv_cluster_node(clu, o->nodes[i]));
		n = mv_nemesis_fault(nem, o->mode, o->t, o->nt, 0, &b, &e);
		put(&b);
		if (n < 0)
			errx(MV_EXIT_TROUBLE, "%s", e.msg);
		hit += n > 0;
	}
	mv_buf_release(&b);
	mv_nemesis_free(nem); /* a one-shot pause is meant to last */
	nem = NULL;
	if (mv_fshut_stdout(&e) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	if (hit == 0)
		errx(MV_EXIT_TROUBLE, "%s: no such process", o->mode);
	return MV_EXIT_OK;
}

/*
 * Starts partition kind on clu (recorded in its undo log first) and
 * appends its start event: the kind and the cut links by node name.
 * capture: 1 counts in this process, 2 in a detached counter
 * (partcount.h) that outlives it, 0 not at all.
 */
static int
start_partition(struct opts *o, const char *kind, uint64_t seed, int capture,
    int64_t t, struct mv_buf *out, struct mv_err *e)
{
	static unsigned char cut[MV_CLUSTER_MAX_NODES * MV_CLUSTER_MAX_NODES];
	struct mv_nf_node nodes[MV_CLUSTER_MAX_NODES];
	struct mv_nf_spec sp;
	enum mv_grudge_kind k;
	char table[80], line[512];
	long node = -1;
	size_t i, j;
	int comma = 0;

	if (mv_grudge_kind_parse(kind, &k, e) < 0)
		return -1;
	for (i = 0; i < clu->n; i++) {
		if (o->nnodes > 0
		    && strcmp(clu->nodes[i].name, o->nodes[0]) == 0)
			node = (long)i;
		nodes[i].name = clu->nodes[i].name;
		nodes[i].addr = clu->nodes[i].addr;
		nodes[i].port = clu->nodes[i].port;
	}
	if (mv_grudge(k, clu->n, seed, node, o->directed, cut, e) < 0)
		return -1;
	snprintf(table, sizeof(table), "mv_%s_%ld_%u", clu->run_id,
	    (long)getpid(), nparts++);
	snprintf(line, sizeof(line), "nft %s %s", clu->switch_ns, table);
	if (mv_cluster_log(clu->undo_log, line, e) < 0)
		return -1;
	memset(&sp, 0, sizeof(sp));
	sp.netns = clu->switch_ns, sp.table = table, sp.nodes = nodes;
	sp.n = clu->n, sp.cut = cut;
	sp.kind = o->reject ? MV_NF_REJECT : MV_NF_DROP;
	if (capture == 2
	    && partcount_start(clu, &sp, o->reject ? "reject" : "drop", e) < 0)
		return -1;
	sp.capture = capture == 1;
	if ((netf = mv_netfault_start(&sp, e)) == NULL) {
		partcount_abort();
		return -1;
	}
	mv_buf_addf(out,
	    "{\"type\":\"info\",\"process\":\"nemesis\",\"f\":"
	    "\"start-partition\",\"value\":{\"kind\":\"%s\",\"table\":\"%s\","
	    "\"directed\":%s,\"reject\":%s,\"cut\":[",
	    mv_grudge_kind_name(k), table, o->directed ? "true" : "false",
	    o->reject ? "true" : "false");
	for (i = 0; i < clu->n; i++)
		for (j = 0; j < clu->n; j++)
			if (cut[i * clu->n + j])
				mv_buf_addf(out, "%s[\"%s\",\"%s\"]",
				    comma++ ? "," : "", nodes[i].name,
				    nodes[j].name);
	mv_buf_addf(out, "]},\"time\":%lld}\n", (long long)t);
	return 0;
}

/* Stops the partition in force; appends its stop event with efficacy. */
static void
stop_partition(int64_t t, struct mv_buf *out)
{
	struct mv_err e;
	int rc;

	mv_buf_adds(out,
	    "{\"type\":\"info\",\"process\":\"nemesis\",\"f\":"
	    "\"stop-partition\",\"value\":");
	rc = mv_netfault_stop(netf, out, &e);
	netf = NULL;
	mv_buf_addf(out, ",\"time\":%lld}\n", (long long)t);
	if (rc < 0) {
		put(out);
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	}
}

/* mv-nemesis partition KIND: the partition stays until heal. */
static int
partition(struct opts *o, const char *kind)
{
	struct mv_buf b = MV_BUF_INIT;
	struct mv_err e;

	if (clu == NULL)
		errx(MV_EXIT_TROUBLE, "partition needs --cluster");
	if (start_partition(o, kind, o->seed, 2, 0, &b, &e) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	kept_netf = netf;
	netf = NULL;
	put(&b);
	mv_buf_release(&b);
	if (mv_fshut_stdout(&e) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	return MV_EXIT_OK;
}

/*
 * mv-nemesis delay|loss|dup|bandwidth: loss, dup and bandwidth stay until
 * heal; a delay needs this process to hold its queue, so it stays in the
 * foreground until SIGINT, SIGTERM or SIGHUP and then stops, printing
 * its stop event.
 */
static int
link_fault(struct opts *o)
{
	struct netctl_opts no = o->no;
	struct mv_buf b = MV_BUF_INIT;
	struct mv_err e;
	int delay = strcmp(o->mode, "delay") == 0;

	if (clu == NULL)
		errx(MV_EXIT_TROUBLE, "%s needs --cluster", o->mode);
	if (o->nnodes > 1 || (o->nnodes == 1 && (no.from || no.to))
	    || (!no.from != !no.to))
		errx(MV_EXIT_TROUBLE, "%s: give one --node, or --from and --to",
		    o->mode);
	if (o->nnodes == 0 && no.from == NULL)
		errx(MV_EXIT_TROUBLE, "%s: no --node (or --from and --to)",
		    o->mode);
	no.node = o->nnodes ? o->nodes[0] : NULL;
	if (delay)
		catch_signals();
	if (netctl_start(clu, o->mode, &no, o->seed, delay, 0, &b, &e) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	put(&b);
	if (delay) {
		while (!got_signal)
			poll(NULL, 0, 100);
		if (netctl_stop(since_start(), &b, &e) < 0) {
			put(&b);
			errx(MV_EXIT_TROUBLE, "%s", e.msg);
		}
		put(&b);
	} else
		netctl_keep();
	mv_buf_release(&b);
	if (mv_fshut_stdout(&e) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	return MV_EXIT_OK;
}

/*
 * Stops the packet counters of one-shot partitions that the undo log at
 * path lists and prints their stop events (before their tables go).
 */
static void
heal_counters(const char *path)
{
	struct mv_buf b = MV_BUF_INIT;
	struct mv_err e;

	if (partcount_heal(path, &b, &e) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	put(&b);
	mv_buf_release(&b);
}

/* Thaws every node cgroup of clu that is frozen; how many it thawed. */
static size_t
thaw_nodes(void)
{
	struct mv_err e;
	size_t i, n = 0;

	for (i = 0; i < clu->n; i++)
		if (clu->nodes[i].cgroup
		    && mv_freezer_frozen(clu->nodes[i].cgroup) == 1
		    && mv_freezer_set(clu->nodes[i].cgroup, 0, 2000000000LL, &e)
		        == 1)
			n++;
	return n;
}

/*
 * heal --cluster: stops the one-shot partitions' counters, deletes every
 * partition table of the run and continues every process of the node
 * namespaces.
 */
static int
heal_cluster(void)
{
	char prefix[64];
	struct mv_err e;
	size_t cont, thawed = thaw_nodes();
	int n, q, clocks;

	heal_counters(clu->undo_log);
	snprintf(prefix, sizeof(prefix), "mv_%s_", clu->run_id);
	n = mv_netfault_purge(clu->switch_ns, prefix, &e);
	cont = mv_cluster_signal_all(clu, SIGCONT);
	if (n < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	if ((q = netctl_heal(clu, &e)) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	if ((clocks = clockrun_heal_cluster(clu, &e)) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	printf("{\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"heal\","
	       "\"value\":{\"run\":\"%s\",\"tables\":%d,\"qdiscs\":%d,"
	       "\"continued\":%zu",
	    clu->run_id, n, q, cont);
	if (clocks > 0)
		printf(",\"clocks\":%d", clocks);
	if (thawed > 0)
		printf(",\"thawed\":%zu", thawed);
	printf("},\"time\":0}\n");
	if (mv_fshut_stdout(&e) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	return MV_EXIT_OK;
}

/* heal --undo-log of a cluster: tears the whole cluster down. */
static int
heal_cluster_log(const char *path)
{
	struct mv_heal_counts n;
	struct mv_err e;

	heal_counters(path);
	if (mv_cluster_heal_log(path, &n, &e) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	printf("{\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"heal\","
	       "\"value\":{\"processes\":%zu,\"namespaces\":%zu,\"dirs\":%zu,"
	       "\"tables\":%zu},\"time\":0}\n",
	    n.procs, n.netns, n.dirs, n.tables);
	if (mv_fshut_stdout(&e) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	return MV_EXIT_OK;
}

/* One fault now; prints its event.  2 when no target was alive. */
static int
one_shot(struct opts *o)
{
	struct mv_buf b = MV_BUF_INIT;
	struct mv_err e;
	int n;

	if (clu)
		return one_shot_nodes(o);
	if (o->nt == 0)
		errx(MV_EXIT_TROUBLE,
		    "%s: no target (--pid, --pidfile, --pgid)", o->mode);
	if (strcmp(o->mode, "restart") == 0 && o->cmd == NULL)
		errx(MV_EXIT_TROUBLE, "restart needs --cmd");
	nem = mv_nemesis_new(o->cmd, o->pidfile, o->undo_log);
	n = mv_nemesis_fault(nem, o->mode, o->t, o->nt, 0, &b, &e);
	put(&b);
	mv_buf_release(&b);
	if (n < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	/* A one-shot pause is meant to last: forget it before exit heals. */
	mv_nemesis_free(nem);
	nem = NULL;
	if (mv_fshut_stdout(&e) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	if (n == 0)
		errx(MV_EXIT_TROUBLE, "%s: no such process", o->mode);
	return MV_EXIT_OK;
}

/* The filter's state between two turns of its loop. */
struct run {
	struct opts *o;
	struct mv_rng rng;
	struct mv_buf in, out, line;
	int eof, held; /* held: line waits for its "at" */
	int64_t due;   /* of the held line, ns since start */
	size_t lineno;
	struct mv_reader *rd; /* checks each line as mv-exec would */
	struct mv_event ev;
	const char *active;    /* the fault in force, or NULL */
	struct mv_cnode *node; /* with --cluster: the node it is on */
	int64_t undo_at, next_at;
};

static int64_t
since_start(void)
{
	return mv_now_ns() - t0;
}

static void
schedule_next(struct run *r, int64_t now)
{
	double gap = (double)r->o->interval;

	if (!r->o->periodic)
		gap = -gap * log(1.0 - mv_rng_double(&r->rng));
	r->next_at = now + (int64_t)gap;
}

static void
fault(struct run *r, const char *f)
{
	struct mv_err e;
	struct netctl_opts no;

	if (netctl_fault(f)) {
		no = r->o->no;
		no.node = r->node->name;
		no.from = no.to = NULL;
		if (netctl_start(clu, f, &no, mv_rng_next(&r->rng), 1,
		        since_start(), &r->out, &e)
		    < 0)
			errx(MV_EXIT_TROUBLE, "%s", e.msg);
		put(&r->out);
		return;
	}
	if (clockrun_fault(f)) {
		if (clockrun_start(
		        f, mv_rng_next(&r->rng), since_start(), &r->out, &e)
		    < 0)
			errx(MV_EXIT_TROUBLE, "%s", e.msg);
		put(&r->out);
		return;
	}
	if (partition_fault(f)) {
		if (start_partition(r->o, strchr(f, '-') + 1,
		        mv_rng_next(&r->rng), 1, since_start(), &r->out, &e)
		    < 0)
			errx(MV_EXIT_TROUBLE, "%s", e.msg);
		put(&r->out);
		return;
	}
	if (clu)
		aim_node(r->o, r->node);
	if (mv_nemesis_fault(
	        nem, f, r->o->t, r->o->nt, since_start(), &r->out, &e)
	    < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	put(&r->out);
}

/* The node of the next process fault: one of --node, or of all. */
static struct mv_cnode *
pick_node(struct run *r)
{
	const struct opts *o = r->o;

	if (o->nnodes > 0)
		return mv_cluster_node(
		    clu, o->nodes[mv_rng_below(&r->rng, o->nnodes)]);
	return &clu->nodes[mv_rng_below(&r->rng, clu->n)];
}

/* Starts a fault when one is due, and undoes it when its time is up. */
static void
tick(struct run *r, int64_t now)
{
	const char *f;

	if (r->active && now >= r->undo_at) {
		if (stop_fault(r->active, now, &r->out))
			; /* ended, its stop event written */
		else if (strcmp(r->active, "pause") == 0) {
			mv_nemesis_heal(nem, now, &r->out);
			put(&r->out);
		} else
			fault(r, "restart");
		r->active = NULL;
		schedule_next(r, now);
	} else if (!r->active && now >= r->next_at) {
		f = r->o->faults[mv_rng_below(&r->rng, r->o->nfaults)];
		if (clu)
			r->node = pick_node(r);
		fault(r, f);
		if (strcmp(f, "pause") == 0 || partition_fault(f)
		    || netctl_fault(f) || clockrun_fault(f)
		    || (strcmp(f, "restart") != 0 && (r->o->cmd || clu))) {
			r->active = f;
			r->undo_at = now + r->o->duration;
		} else
			schedule_next(r, now);
	}
}

/*
 * Ends fault f when it is a partition, a link fault or a clock fault, and
 * writes its stop event; returns 0, doing nothing, for any other fault
 * (pause and kill end by heal and restart).
 */
static int
stop_fault(const char *f, int64_t t, struct mv_buf *out)
{
	struct mv_err e;
	int rc;

	if (partition_fault(f)) {
		stop_partition(t, out);
		put(out);
		return 1;
	}
	if (netctl_fault(f))
		rc = netctl_stop(t, out, &e);
	else if (clockrun_fault(f))
		rc = clockrun_stop(t, out, &e);
	else
		return 0;
	put(out);
	if (rc < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	return 1;
}

/* The meta line with our member added before its closing brace. */
static void
meta_line(struct run *r, const char *raw, size_t len)
{
	const struct opts *o = r->o;
	size_t i;

	while (len > 0 && raw[len - 1] != '}')
		len--;
	mv_buf_add(&r->out, raw, len - 1);
	if (raw[len - 2] != '{')
		mv_buf_addc(&r->out, ',');
	mv_buf_addf(&r->out,
	    "\"nemesis\":{\"mv\":\"%s\",\"seed\":%llu,\"schedule\":\"%s\","
	    "\"interval\":%lld,\"duration\":%lld,%s",
	    MV_VERSION, (unsigned long long)o->seed,
	    o->periodic ? "periodic" : "random", (long long)o->interval,
	    (long long)o->duration, o->swarm ? "\"swarm\":true," : "");
	for (i = 0; i < o->nfaults && !clockrun_fault(o->faults[i]); i++)
		;
	if (i < o->nfaults)
		clockrun_meta(&r->out);
	mv_buf_adds(&r->out, "\"faults\":[");
	for (i = 0; i < o->nfaults; i++)
		mv_buf_addf(&r->out, "%s\"%s\"", i ? "," : "", o->faults[i]);
	mv_buf_adds(&r->out, "]}}\n");
	put(&r->out);
}

/* Takes one input line: passes it on now, or holds it until its "at". */
static void
take_line(struct run *r, const char *s, size_t len)
{
	struct mv_err e;
	struct mv_jv *v;
	const struct mv_jv *type, *at;

	r->lineno++;
	/* The strict reader's checks (types, UTF-8, duplicate members). */
	mv_buf_reset(&r->line);
	mv_buf_add(&r->line, s, len);
	mv_buf_addc(&r->line, '\n');
	mv_reader_unread(r->rd, r->line.p, r->line.len);
	if (mv_reader_next(r->rd, &r->ev, &e) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	if ((v = mv_jv_parse(s, len, &e)) == NULL || v->kind != MV_JOBJ)
		errx(MV_EXIT_TROUBLE, "<stdin>:%zu: %s", r->lineno,
		    v ? "not a JSON object" : e.msg);
	type = mv_jv_get(v, "type");
	at = mv_jv_get(v, "at");
	if (type && type->kind == MV_JSTR && strcmp(type->s, "meta") == 0)
		meta_line(r, s, len);
	else {
		mv_buf_reset(&r->line);
		mv_buf_add(&r->line, s, len);
		mv_buf_addc(&r->line, '\n');
		r->held = 1;
		r->due = at && at->kind == MV_JINT ? at->i : 0;
	}
	mv_jv_free(v);
}

/* Moves the next whole line of r->in (if any) into play; 1 if it did. */
static int
next_line(struct run *r)
{
	char *nl = memchr(r->in.p ? r->in.p : "", '\n', r->in.len);
	size_t len;

	/* As every reader: a line may not pass 64 MiB (mv-history(5)). */
	if (nl == NULL && r->in.len > ((size_t)64 << 20))
		errx(MV_EXIT_TROUBLE, "<stdin>:%zu: line longer than %zu bytes",
		    r->lineno + 1, (size_t)64 << 20);
	if (nl == NULL && !(r->eof && r->in.len > 0))
		return 0;
	len = nl ? (size_t)(nl - r->in.p) : r->in.len;
	if (len > 0 && strspn(r->in.p, " \t\r") < len)
		take_line(r, r->in.p, len);
	len += nl != NULL;
	memmove(r->in.p, r->in.p + len, r->in.len - len);
	r->in.len -= len;
	r->in.p[r->in.len] = '\0';
	return 1;
}

/* Waits for input or the next timed thing, whichever comes first. */
static void
wait_input(struct run *r, int64_t now)
{
	struct pollfd p = {0, POLLIN, 0};
	int64_t wake = r->active ? r->undo_at : r->next_at;
	char chunk[65536];
	ssize_t n;
	int ms;

	if (r->held && r->due < wake)
		wake = r->due;
	/* Capped so that a signal racing with poll is seen soon. */
	ms = wake - now > 100000000 ? 100 : (int)((wake - now) / 1000000);
	if (poll(&p, r->held || r->eof ? 0 : 1, ms < 0 ? 0 : ms) <= 0)
		return;
	if ((n = read(0, chunk, sizeof(chunk))) < 0) {
		if (errno != EINTR && errno != EAGAIN)
			err(MV_EXIT_TROUBLE, "<stdin>");
		return;
	}
	if (n == 0)
		r->eof = 1;
	mv_buf_add(&r->in, chunk, (size_t)n);
}

/*
 * --swarm: keeps a seeded random subset of --faults, each with odds of
 * one half (one drawn if none was), so that seeds explore combinations.
 */
static void
swarm(struct run *r)
{
	struct opts *o = r->o;
	size_t i, k = 0;

	for (i = 0; i < o->nfaults; i++)
		if (mv_rng_below(&r->rng, 2))
			o->faults[k++] = o->faults[i];
	if (k == 0)
		o->faults[k++] = o->faults[mv_rng_below(&r->rng, o->nfaults)];
	o->nfaults = k;
}

/* The filter: passes records through, faults interleaved in real time. */
static int
run(struct opts *o)
{
	struct run r;
	struct mv_err e;
	char path[4096];
	int64_t now;

	if (o->nt == 0 && clu == NULL)
		errx(MV_EXIT_TROUBLE,
		    "run: no target (--pid, --pidfile, --pgid, --cluster)");
	for (size_t i = 0; i < o->nfaults; i++) {
		if (strcmp(o->faults[i], "restart") == 0 && o->cmd == NULL
		    && clu == NULL)
			errx(MV_EXIT_TROUBLE, "restart needs --cmd");
		if ((partition_fault(o->faults[i]) || netctl_fault(o->faults[i])
		        || clockrun_fault(o->faults[i]))
		    && clu == NULL)
			errx(MV_EXIT_TROUBLE, "%s needs --cluster",
			    o->faults[i]);
	}
	if (o->undo_log == NULL) {
		snprintf(path, sizeof(path), "%s/mv-nemesis.%ld.undo",
		    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		    (long)getpid());
		o->undo_log = path;
	}
	memset(&r, 0, sizeof(r));
	r.o = o;
	r.rd = mv_reader_new(NULL, "-", MV_RD_OPS);
	mv_event_init(&r.ev);
	mv_rng_seed(&r.rng, o->seed);
	/* Before the swarm: a clock fault no node can take is bad usage. */
	if (clu
	    && clockrun_setup(
	           clu, o->nodes, o->nnodes, o->faults, o->nfaults, &e)
	        < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	if (o->swarm)
		swarm(&r);
	/* Before nem reads the undo log: it keeps the clock lines. */
	if (clockrun_prepare(o->faults, o->nfaults, o->undo_log, &e) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	nem = mv_nemesis_new(o->cmd, o->pidfile, o->undo_log);
	catch_signals();
	schedule_next(&r, 0);
	while (!got_signal) {
		now = since_start();
		tick(&r, now);
		if (r.held && now >= r.due) {
			put(&r.line);
			r.held = 0;
		}
		if (!r.held && next_line(&r))
			continue;
		if (r.eof && !r.held)
			break;
		wait_input(&r, now);
	}
	/* Undo what is in force: a pause ends, a kill is restarted. */
	if (!got_signal && r.active
	    && !stop_fault(r.active, since_start(), &r.out)
	    && strcmp(r.active, "pause") != 0)
		fault(&r, "restart");
	mv_nemesis_heal(nem, since_start(), got_signal ? NULL : &r.out);
	if (!got_signal)
		put(&r.out);
	mv_nemesis_free(nem);
	nem = NULL;
	mv_buf_release(&r.in);
	mv_buf_release(&r.out);
	mv_buf_release(&r.line);
	mv_event_release(&r.ev);
	mv_reader_free(r.rd);
	if (got_signal) {
		/* Die of the signal, as a filter should: atexit does
		 * not run, so the fault in force is undone here. */
		heal_at_exit();
		signal(got_signal, SIG_DFL);
		raise(got_signal);
	}
	return MV_EXIT_OK;
}

static int
heal(struct opts *o)
{
	struct mv_err e, ce, fe;
	int n, clocks, thawed;

	if (clu)
		return heal_cluster();
	if (o->undo_log == NULL)
		errx(MV_EXIT_TROUBLE, "heal needs --undo-log or --cluster");
	if (mv_cluster_is_undo_log(o->undo_log))
		return heal_cluster_log(o->undo_log);
	/* Clocks and cgroups first: the process heal removes the log. */
	clocks = mv_clock_heal_log(o->undo_log, &ce);
	thawed = mv_nemesis_thaw_log(o->undo_log, &fe);
	if ((n = mv_nemesis_heal_log(o->undo_log, &e)) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	if (clocks < 0)
		errx(MV_EXIT_TROUBLE, "%s", ce.msg);
	if (thawed < 0)
		errx(MV_EXIT_TROUBLE, "%s", fe.msg);
	printf("{\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"heal\","
	       "\"value\":{\"continued\":%d",
	    n);
	if (clocks > 0)
		printf(",\"clocks\":%d", clocks);
	if (thawed > 0)
		printf(",\"thawed\":%d", thawed);
	printf("},\"time\":0}\n");
	if (mv_fshut_stdout(&e) < 0)
		errx(MV_EXIT_TROUBLE, "%s", e.msg);
	return MV_EXIT_OK;
}

int
main(int argc, char *argv[])
{
	static const char *const one[] = {
	    "pause", "resume", "kill", "term", "restart"};
	struct opts o;
	const char *kind = NULL;
	size_t i;

	t0 = mv_now_ns();
	memset(&o, 0, sizeof(o));
	o.interval = 10 * 1000000000LL;
	o.duration = 1000000000LL;
	split_faults(&o, "pause");
	if (argc < 2 || argv[1][0] == '-') {
		/* Only --help and --version come without a mode. */
		o.mode = "";
		parse(argc, argv, &o);
		usage(stderr);
		return MV_EXIT_TROUBLE;
	}
	if (strcmp(argv[1], "clock") == 0)
		return clock_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "cluster") == 0)
		return cluster_main(argc - 1, argv + 1);
	o.mode = argv[1];
	if (strcmp(o.mode, "partition") == 0 && argc > 2 && argv[2][0] != '-') {
		/* The kind comes first: getopt sees the rest. */
		kind = argv[2];
		argv[2] = argv[1];
		argc--, argv++;
	}
	parse(argc - 1, argv + 1, &o);
	atexit(heal_at_exit);
	load_cluster(&o);
	if (strcmp(o.mode, "partition") == 0) {
		if (kind == NULL)
			errx(MV_EXIT_TROUBLE, "partition: no kind");
		return partition(&o, kind);
	}
	if (strcmp(o.mode, "run") == 0)
		return run(&o);
	if (netctl_fault(o.mode))
		return link_fault(&o);
	if (strcmp(o.mode, "probe") == 0)
		return netctl_probe_main(clu);
	if (strcmp(o.mode, "heal") == 0)
		return heal(&o);
	for (i = 0; i < sizeof(one) / sizeof(one[0]); i++)
		if (strcmp(o.mode, one[i]) == 0)
			return one_shot(&o);
	warnx("unknown mode: %s", o.mode);
	usage(stderr);
	return MV_EXIT_TROUBLE;
}
