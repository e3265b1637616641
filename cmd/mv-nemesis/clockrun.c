/*
 * clockrun.c: clock faults in run schedules.  The nodes of a cluster with
 * a clock method (mv-cluster(5) "clock": mv's shim clock file or a
 * libfaketime timestamp file) are the candidates; a fault moves the clocks
 * of a seeded subset of them by seeded amounts and says, per node, whether
 * a process of the node will see it; its undo is a reset.  Every file is
 * in the undo log before the first fault, so nothing is left skewed.
 */
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "clockrun.h"

#define MAX_PIDS 16
#define SETTLE_MS 200 /* for a shim to map a file it had not yet */
#define MS 1000000LL

/* A node whose clock a fault may move. */
struct cnode {
	struct mv_cnode *nd; /* borrowed from the cluster */
	int method;          /* MV_CCLOCK_SHIM or MV_CCLOCK_FAKETIME */
	char *path;          /* absolute */
	int hit;             /* a target of the fault in force */
	struct mv_clock_state was, st;
};

static struct cnode cn[MV_CLUSTER_MAX_NODES];
static size_t ncn, nshim;
static const char *active; /* "skew", "jump", "strobe", or NULL */
static char *log_path;     /* the undo log our lines are in, or NULL */
static int64_t max_skew = 10000 * MS, max_period = 200 * MS;
static int skew_sign; /* 1, -1, or 0: either way */

int
clockrun_fault(const char *f)
{
	return strcmp(f, "clock") == 0 || strcmp(f, "clock-skew") == 0
	    || strcmp(f, "clock-jump") == 0 || strcmp(f, "clock-strobe") == 0;
}

/*
 * --max-skew [+-]DURATION, 1 ms to 8784 h (a leap year): a sign keeps
 * offsets on that side; --max-period DURATION, 1 ms to 60 s.
 */
void
clockrun_option(const char *opt, const char *s)
{
	int skew = strcmp(opt, "--max-skew") == 0;
	int sign = skew && *s == '+' ? 1 : skew && *s == '-' ? -1 : 0;
	int64_t ns, hi = skew ? 8784LL * 3600000 * MS : 60000 * MS;
	struct mv_err e;

	/* A digit first: strtod would also take "nan" and "inf". */
	if (s[sign != 0] < '0' || s[sign != 0] > '9'
	    || mv_parse_duration(opt, s + (sign != 0), &ns, &e) < 0 || ns < MS
	    || ns > hi)
		errx(MV_EXIT_TROUBLE, "invalid value for %s: '%s' (1ms to %s)",
		    opt, s, skew ? "8784h" : "60s");
	if (skew)
		max_skew = ns, skew_sign = sign;
	else
		max_period = ns;
}

/* The name a clock fault's kind goes by in events: "jump" for clock-jump. */
static const char *
kind_of(const char *f)
{
	return strcmp(f, "clock-skew") == 0  ? "skew"
	    : strcmp(f, "clock-jump") == 0   ? "jump"
	    : strcmp(f, "clock-strobe") == 0 ? "strobe"
	                                     : NULL;
}

int
clockrun_setup(struct mv_cluster *c, const char *const *nodes, size_t nnodes,
    const char *const *faults, size_t nfaults, struct mv_err *e)
{
	struct mv_buf p = MV_BUF_INIT;
	struct mv_cnode *nd;
	size_t i, j, n = nnodes ? nnodes : c->n;
	int m;

	for (i = 0; i < n; i++) {
		nd = nnodes ? mv_cluster_node(c, nodes[i]) : &c->nodes[i];
		for (j = 0; j < ncn && cn[j].nd != nd; j++)
			;
		if (j < ncn) /* --node twice: a jump must not add up */
			continue;
		mv_buf_reset(&p);
		if ((m = mv_cluster_clock(c, nd, &p, e)) < 0) {
			mv_buf_release(&p);
			return -1;
		}
		if (m == MV_CCLOCK_NONE || ncn == MV_CLUSTER_MAX_NODES)
			continue;
		cn[ncn].nd = nd, cn[ncn].method = m;
		cn[ncn++].path = mv_xstrdup(p.p);
		nshim += m == MV_CCLOCK_SHIM;
	}
	mv_buf_release(&p);
	for (i = 0; i < nfaults; i++) {
		if (!clockrun_fault(faults[i]))
			continue;
		if (ncn == 0)
			return mv_err_set(e,
			    "%s: %s: no node%s has a clock method "
			    "(mv-cluster(5) \"clock\")",
			    faults[i], c->path, nnodes ? " of --node" : "");
		if (strcmp(faults[i], "clock-strobe") == 0 && nshim == 0)
			return mv_err_set(e,
			    "%s: %s: no node has a shim clock file "
			    "(libfaketime cannot strobe)",
			    faults[i], c->path);
	}
	return 0;
}

int
clockrun_prepare(const char *const *faults, size_t nfaults,
    const char *undo_log, struct mv_err *e)
{
	static const struct mv_clock_state zero;
	size_t i, any = 0;

	for (i = 0; i < nfaults; i++)
		any += clockrun_fault(faults[i]);
	if (any == 0 || ncn == 0)
		return 0;
	/* Its heal tears the cluster down and knows no clock lines. */
	if (mv_cluster_is_undo_log(undo_log))
		return mv_err_set(e,
		    "%s: a cluster's undo log: give the run its own --undo-log",
		    undo_log);
	log_path = mv_xstrdup(undo_log);
	for (i = 0; i < ncn; i++) {
		if (mv_clock_undo_add(undo_log,
		        cn[i].method == MV_CCLOCK_SHIM ? "clock" : "faketime",
		        cn[i].path, e)
		    < 0)
			return -1;
		/* No offset yet: only so that the shim maps it early. */
		if (cn[i].method == MV_CCLOCK_SHIM
		    && access(cn[i].path, F_OK) < 0
		    && mv_clock_write(cn[i].path, &zero, e) < 0)
			return -1;
	}
	return 0;
}

/* 1 if process pid (a /proc name) is in the network namespace ns. */
static int
in_netns(const char *pid, const struct stat *ns)
{
	char p[300];
	struct stat st;

	snprintf(p, sizeof(p), "/proc/%s/ns/net", pid);
	return stat(p, &st) == 0 && st.st_ino == ns->st_ino
	    && st.st_dev == ns->st_dev;
}

/* Stats the node's network namespace; 0, or -1 when it is gone. */
static int
node_netns(const struct mv_cnode *nd, struct stat *ns)
{
	char p[300];

	snprintf(p, sizeof(p), "/run/netns/%s", nd->netns ? nd->netns : "");
	return stat(p, ns);
}

/* 1 if the environment of process pid names file as its timestamp file. */
static int
env_names(const char *pid, const struct cnode *c)
{
	static const char key[] = "FAKETIME_TIMESTAMP_FILE=";
	char p[300], buf[16384];
	size_t n, i, d = strlen(c->nd->dir ? c->nd->dir : "");
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%s/environ", pid);
	if ((f = fopen(p, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (i = 0; i < n; i += strlen(buf + i) + 1) {
		const char *v = buf + i + sizeof(key) - 1;

		if (strncmp(buf + i, key, sizeof(key) - 1) != 0)
			continue;
		if (*v == '/')
			return strcmp(v, c->path) == 0;
		/* Relative: libfaketime opens it in the node's directory. */
		return d > 0 && strncmp(c->path, c->nd->dir, d) == 0
		    && c->path[d] == '/' && strcmp(c->path + d + 1, v) == 0;
	}
	return 0;
}

/*
 * 1 if process pid maps the file f (when f is not NULL), or a library
 * whose path holds name.
 */
static int
maps_has(const char *pid, const struct stat *f, const char *name)
{
	char p[300], line[4096];
	unsigned maj, min;
	unsigned long long ino;
	FILE *m;
	int hit = 0, n;

	snprintf(p, sizeof(p), "/proc/%s/maps", pid);
	if ((m = fopen(p, "r")) == NULL)
		return 0;
	while (!hit && fgets(line, sizeof(line), m)) {
		if (f == NULL) {
			hit = strstr(line, name) != NULL;
			continue;
		}
		n = sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &ino);
		hit = n == 3 && ino == (unsigned long long)f->st_ino
		    && maj == major(f->st_dev) && min == minor(f->st_dev);
	}
	fclose(m);
	return hit;
}

/*
 * The processes of the node's network namespace that will read its clock
 * file, at most MAX_PIDS into pids: for the shim those that have the file
 * mapped, for libfaketime those that have it loaded and name the file in
 * their environment.  Looks only at the node's processes: this runs
 * between the change and its event, and should be short.
 */
static size_t
node_pids(const struct cnode *c, long *pids)
{
	struct stat ns, f;
	struct dirent *de;
	DIR *d;
	size_t k = 0;
	int shim = c->method == MV_CCLOCK_SHIM;

	if (node_netns(c->nd, &ns) < 0 || (shim && stat(c->path, &f) < 0)
	    || (d = opendir("/proc")) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL && k < MAX_PIDS)
		if (strspn(de->d_name, "0123456789") == strlen(de->d_name)
		    && in_netns(de->d_name, &ns)
		    && (shim ? maps_has(de->d_name, &f, NULL)
		             : env_names(de->d_name, c)
		                && maps_has(de->d_name, NULL, "/libfaketime")))
			pids[k++] = strtol(de->d_name, NULL, 10);
	closedir(d);
	return k;
}

/* Uniform from half of max (at least 1 ms) to max, to the millisecond. */
static int64_t
half_to_all(struct mv_rng *rng, int64_t max)
{
	int64_t hi = max / MS, lo = (hi + 1) / 2;

	return (lo + (int64_t)mv_rng_below(rng, (uint64_t)(hi - lo + 1))) * MS;
}

/* An offset: a magnitude up to --max-skew, signed as asked or drawn. */
static int64_t
draw(struct mv_rng *rng)
{
	int sign = skew_sign ? skew_sign : mv_rng_below(rng, 2) ? 1 : -1;

	return sign * half_to_all(rng, max_skew);
}

/* Reads the node's clock state from its file. */
static int
read_state(const struct cnode *c, struct mv_clock_state *st, struct mv_err *e)
{
	memset(st, 0, sizeof(*st));
	if (c->method == MV_CCLOCK_SHIM)
		return mv_clock_read(c->path, st, e);
	return mv_clock_faketime_read(c->path, &st->offset_ns, e);
}

static int
write_state(
    const struct cnode *c, const struct mv_clock_state *st, struct mv_err *e)
{
	if (c->method == MV_CCLOCK_SHIM)
		return mv_clock_write(c->path, st, e);
	return mv_clock_faketime_write(c->path, st->offset_ns, e);
}

/*
 * Appends the efficacy of target c: the state read back from its file
 * must be the one written, and some process of the node must read that
 * file (node_pids).  Returns 1 if effective.
 */
static int
add_effect(
    const struct cnode *c, const struct mv_clock_state *want, struct mv_buf *ev)
{
	struct mv_clock_state got;
	struct mv_err e;
	long pids[MAX_PIDS];
	size_t n = 0, i;
	int tries;

	if (read_state(c, &got, &e) < 0) {
		mv_buf_adds(ev, ",\"effective\":false,\"reason\":");
		mv_buf_add_jstr(ev, e.msg, strlen(e.msg));
		return 0;
	}
	if (memcmp(&got, want, sizeof(got)) != 0) {
		mv_buf_addf(ev,
		    ",\"effective\":false,\"reason\":\"read back offset "
		    "%lld\"",
		    (long long)got.offset_ns);
		return 0;
	}
	for (tries = 0; tries <= SETTLE_MS / 10; tries++) {
		n = node_pids(c, pids);
		if (n > 0 || c->method != MV_CCLOCK_SHIM)
			break;
		nanosleep(&(struct timespec){0, 10 * MS}, NULL);
	}
	mv_buf_adds(ev, ",\"pids\":[");
	for (i = 0; i < n; i++)
		mv_buf_addf(ev, "%s%ld", i ? "," : "", pids[i]);
	mv_buf_addf(ev, "],\"effective\":%s", n > 0 ? "true" : "false");
	if (n == 0 && c->method == MV_CCLOCK_SHIM)
		mv_buf_adds(ev,
		    ",\"reason\":\"no process of the node maps "
		    "the clock file (not started with the shim "
		    "and MV_CLOCK_FILE, or never reads the clock "
		    "through the C library, as Go)\"");
	else if (n == 0)
		mv_buf_adds(ev,
		    ",\"reason\":\"no process of the node has libfaketime "
		    "loaded with FAKETIME_TIMESTAMP_FILE naming the file\"");
	return n > 0;
}

/* Appends the node, method and file of target c to ev. */
static void
add_target(const struct cnode *c, struct mv_buf *ev)
{
	mv_buf_addf(ev,
	    "{\"node\":\"%s\",\"method\":\"%s\",\"file\":", c->nd->name,
	    c->method == MV_CCLOCK_SHIM ? "shim" : "faketime");
	mv_buf_add_jstr(ev, c->path, strlen(c->path));
}

/* Marks a seeded non-empty subset of the candidates (shim only: strobe). */
static void
pick_targets(struct mv_rng *rng, int shim_only)
{
	size_t i, k = 0, pool[MV_CLUSTER_MAX_NODES], np = 0;

	for (i = 0; i < ncn; i++) {
		cn[i].hit = 0;
		if (!shim_only || cn[i].method == MV_CCLOCK_SHIM)
			pool[np++] = i;
	}
	for (i = 0; i < np; i++)
		if (mv_rng_below(rng, 2))
			cn[pool[i]].hit = 1, k++;
	if (k == 0)
		cn[pool[mv_rng_below(rng, np)]].hit = 1;
}

/* The new state of target c for the fault in force. */
static void
next_state(struct cnode *c, struct mv_rng *rng, int64_t jump, int64_t period)
{
	memset(&c->st, 0, sizeof(c->st));
	if (strcmp(active, "skew") == 0)
		c->st.offset_ns = draw(rng);
	else if (strcmp(active, "jump") == 0)
		c->st.offset_ns = c->was.offset_ns + jump;
	else {
		c->st.offset_ns = c->was.offset_ns;
		c->st.strobe_ns = c->was.offset_ns + draw(rng);
		c->st.period_ns = period;
		c->st.epoch_ns = mv_wall_ns();
	}
}

int
clockrun_start(const char *f, uint64_t seed, int64_t t, struct mv_buf *out,
    struct mv_err *e)
{
	static const char *const kinds[] = {"skew", "jump", "strobe"};
	struct mv_buf ev = MV_BUF_INIT;
	struct mv_rng rng;
	int64_t jump, period;
	size_t i;
	int all = 1, comma = 0;

	if (active)
		return mv_err_set(e, "%s: a clock fault is in force", f);
	mv_rng_seed(&rng, seed);
	active = kind_of(f);
	if (active == NULL) /* the family: strobe needs a shim */
		active = kinds[mv_rng_below(&rng, nshim > 0 ? 3 : 2)];
	pick_targets(&rng, strcmp(active, "strobe") == 0);
	jump = draw(&rng);
	period = half_to_all(&rng, max_period);
	mv_buf_addf(&ev,
	    "{\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"start-clock\","
	    "\"value\":{\"kind\":\"%s\",\"targets\":[",
	    active);
	for (i = 0; i < ncn; i++) {
		if (!cn[i].hit)
			continue;
		/* The undo log has the file since the run began. */
		if (read_state(&cn[i], &cn[i].was, e) < 0)
			goto fail;
		next_state(&cn[i], &rng, jump, period);
		if (write_state(&cn[i], &cn[i].st, e) < 0)
			goto fail;
		mv_buf_adds(&ev, comma++ ? "," : "");
		add_target(&cn[i], &ev);
		mv_buf_addf(&ev, ",\"offset\":%lld,\"was\":%lld",
		    (long long)cn[i].st.offset_ns,
		    (long long)cn[i].was.offset_ns);
		if (cn[i].st.period_ns)
			mv_buf_addf(&ev, ",\"strobe\":%lld,\"period\":%lld",
			    (long long)cn[i].st.strobe_ns,
			    (long long)cn[i].st.period_ns);
		all &= add_effect(&cn[i], &cn[i].st, &ev);
		mv_buf_addc(&ev, '}');
	}
	mv_buf_addf(&ev,
	    "],\"undo\":\"clock-reset\",\"effective\":%s},"
	    "\"time\":%lld}\n",
	    all ? "true" : "false", (long long)t);
	mv_buf_add(out, ev.p, ev.len);
	mv_buf_release(&ev);
	return 0;
fail:
	mv_buf_release(&ev);
	return -1; /* what was written is reset by the stop at exit */
}

int
clockrun_stop(int64_t t, struct mv_buf *out, struct mv_err *e)
{
	static const struct mv_clock_state zero;
	struct mv_buf ev = MV_BUF_INIT;
	struct mv_clock_state was;
	struct mv_err why;
	size_t i;
	int all = 1, bad = 0, comma = 0;

	if (active == NULL)
		return 0;
	mv_buf_addf(&ev,
	    "{\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"stop-clock\","
	    "\"value\":{\"kind\":\"%s\",\"targets\":[",
	    active);
	for (i = 0; i < ncn; i++) {
		if (!cn[i].hit)
			continue;
		cn[i].hit = 0;
		if (read_state(&cn[i], &was, &why) < 0
		    || write_state(&cn[i], &zero, &why) < 0) {
			if (!bad++)
				*e = why;
			continue;
		}
		mv_buf_adds(&ev, comma++ ? "," : "");
		add_target(&cn[i], &ev);
		mv_buf_addf(&ev, ",\"offset\":0,\"was\":%lld",
		    (long long)was.offset_ns);
		if (out) /* else we are on our way out: no one will read it */
			all &= add_effect(&cn[i], &zero, &ev);
		mv_buf_addc(&ev, '}');
	}
	mv_buf_addf(&ev, "],\"effective\":%s},\"time\":%lld}\n",
	    all && !bad ? "true" : "false", (long long)t);
	if (out)
		mv_buf_add(out, ev.p, ev.len);
	mv_buf_release(&ev);
	active = NULL;
	return bad ? -1 : 0;
}

/* 1 if line (with '\n') is one of ours in the undo log. */
static int
our_line(const char *line)
{
	size_t i, n;
	const char *p;

	for (i = 0; i < ncn; i++) {
		p = cn[i].method == MV_CCLOCK_SHIM ? "clock " : "faketime ";
		n = strlen(p);
		if (strncmp(line, p, n) == 0
		    && strncmp(line + n, cn[i].path, strlen(cn[i].path)) == 0
		    && strcmp(line + n + strlen(cn[i].path), "\n") == 0)
			return 1;
	}
	return 0;
}

/* Rewrites the undo log without our lines; removes it when empty. */
static void
drop_lines(void)
{
	struct mv_buf keep = MV_BUF_INIT;
	char tmp[4096], *s = NULL;
	size_t cap = 0;
	FILE *f;
	int bad;

	if ((f = fopen(log_path, "r")) == NULL)
		return;
	while (getline(&s, &cap, f) > 0)
		if (!our_line(s))
			mv_buf_adds(&keep, s);
	free(s);
	fclose(f);
	snprintf(tmp, sizeof(tmp), "%s.tmp", log_path);
	if (keep.len == 0)
		unlink(log_path);
	else if ((f = fopen(tmp, "w")) != NULL) {
		bad = fwrite(keep.p, 1, keep.len, f) != keep.len;
		bad |= fclose(f) != 0;
		if (bad || rename(tmp, log_path) < 0)
			unlink(tmp);
	}
	mv_buf_release(&keep);
}

void
clockrun_exit(void)
{
	struct mv_err e;
	size_t i;

	/* Our lines leave the log only once every clock is reset. */
	if (clockrun_stop(0, NULL, &e) == 0 && log_path)
		drop_lines();
	for (i = 0; i < ncn; i++)
		free(cn[i].path);
	ncn = nshim = 0;
	free(log_path);
	log_path = NULL;
}

int
clockrun_heal_cluster(const struct mv_cluster *c, struct mv_err *e)
{
	static const struct mv_clock_state zero;
	struct mv_buf p = MV_BUF_INIT;
	size_t i;
	int m, n = 0, rc = 0;

	for (i = 0; i < c->n && rc == 0; i++) {
		mv_buf_reset(&p);
		if ((m = mv_cluster_clock(c, &c->nodes[i], &p, e)) < 0)
			rc = -1;
		else if (m == MV_CCLOCK_NONE || access(p.p, F_OK) < 0)
			continue;
		else if (m == MV_CCLOCK_SHIM)
			rc = mv_clock_write(p.p, &zero, e);
		else
			rc = mv_clock_faketime_write(p.p, 0, e);
		n += rc == 0;
	}
	mv_buf_release(&p);
	return rc < 0 ? -1 : n;
}

void
clockrun_meta(struct mv_buf *b)
{
	const char *sign = skew_sign > 0 ? "+" : skew_sign < 0 ? "-" : "";

	mv_buf_addf(b, "\"max_skew\":\"%s%lldms\",\"max_period\":\"%lldms\",",
	    sign, (long long)(max_skew / MS), (long long)(max_period / MS));
}
