/*
 * nemesis.c: process faults.  Every stop is written to the undo log before
 * the signal is sent, so that whatever kills us afterwards, "mv-nemesis
 * heal" can find the process and continue it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "freezer.h"
#include "nemesis.h"

#define SETTLE_NS (500 * 1000000LL)  /* wait for a stop or continue */
#define FREEZE_NS (2000 * 1000000LL) /* wait for the kernel's "frozen" */
#define EXIT_NS (3000 * 1000000LL)   /* wait for a killed process */

struct mv_nemesis {
	const char *cmd, *pidfile, *undo_log;
	const char *node; /* the cluster node the targets are, or NULL */
	pid_t (*start)(void *, struct mv_err *);
	void *start_arg;
	pid_t *paused;
	size_t npaused, cap;
	const char *cgroup; /* the node's freezer cgroup, or NULL */
	char **frozen;      /* cgroups frozen and not yet thawed */
	size_t nfrozen;
	struct mv_buf other; /* the undo log's other lines, e.g. clocks */
};

/* How a pause or resume was done, for its event. */
struct how {
	const char *method, *cgroup;
	const char *why; /* NULL when it took effect */
};

/* 1 if the undo log line s is a pid (ours), stored in *pid. */
static int
pid_line(const char *s, long *pid)
{
	char *end;

	*pid = strtol(s, &end, 10);
	return end != s && *pid > 0 && end[strspn(end, " \t\r\n")] == '\0';
}

static void add_pid(pid_t **v, size_t *n, size_t *cap, pid_t pid);

/* Adds cgroup cg to the frozen set; 1 if it was not there. */
static int
add_frozen(struct mv_nemesis *n, const char *cg)
{
	size_t i;

	for (i = 0; i < n->nfrozen; i++)
		if (strcmp(n->frozen[i], cg) == 0)
			return 0;
	n->frozen = mv_xrealloc(n->frozen, (n->nfrozen + 1) * sizeof(char *));
	n->frozen[n->nfrozen++] = mv_xstrdup(cg);
	return 1;
}

static void
drop_frozen(struct mv_nemesis *n, const char *cg)
{
	size_t i;

	for (i = 0; i < n->nfrozen; i++)
		if (strcmp(n->frozen[i], cg) == 0) {
			free(n->frozen[i]);
			n->frozen[i] = n->frozen[--n->nfrozen];
			return;
		}
}

/* The cgroup path of an undo log line "freeze PATH\n", or NULL. */
static char *
freeze_line(char *s)
{
	if (strncmp(s, "freeze /", 8) != 0)
		return NULL;
	s[strcspn(s, "\r\n")] = '\0';
	return s + 7;
}

struct mv_nemesis *
mv_nemesis_new(const char *cmd, const char *pidfile, const char *undo_log)
{
	struct mv_nemesis *n = mv_xcalloc(1, sizeof(*n));
	FILE *f;
	long pid;
	char *s = NULL, *cg;
	size_t cap = 0;

	n->cmd = cmd, n->pidfile = pidfile, n->undo_log = undo_log;
	/*
	 * Adopt what an earlier run left stopped: it is ours to continue.
	 * Other faults' lines (mv-nemesis clock) are kept as they are.
	 */
	if (undo_log && (f = fopen(undo_log, "r")) != NULL) {
		while (getline(&s, &cap, f) > 0)
			if (pid_line(s, &pid))
				add_pid(&n->paused, &n->npaused, &n->cap,
				    (pid_t)pid);
			else if ((cg = freeze_line(s)) != NULL)
				add_frozen(n, cg);
			else if (s[strspn(s, " \t\r\n")] != '\0')
				mv_buf_adds(&n->other, s);
		free(s);
		fclose(f);
	}
	return n;
}

void
mv_nemesis_free(struct mv_nemesis *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nfrozen; i++)
		free(n->frozen[i]);
	free(n->frozen);
	free(n->paused);
	mv_buf_release(&n->other);
	free(n);
}

void
mv_nemesis_set_node(struct mv_nemesis *n, const char *node,
    pid_t (*start)(void *arg, struct mv_err *e), void *arg)
{
	n->node = node;
	n->start = node ? start : NULL;
	n->start_arg = arg;
}

void
mv_nemesis_set_cgroup(struct mv_nemesis *n, const char *cgroup)
{
	n->cgroup = cgroup;
}

size_t
mv_nemesis_npaused(const struct mv_nemesis *n)
{
	return n->npaused + n->nfrozen;
}

static void
nap(long ns)
{
	struct timespec ts = {0, ns};

	nanosleep(&ts, NULL);
}

/*
 * The state letter of pid from /proc/PID/stat ('R', 'S', 'T', 'Z', ...),
 * or 0 when the process is gone.
 */
static char
proc_state(pid_t pid, long *pgrp)
{
	char line[512];
	const char *p = mv_proc_stat((long)pid, line, sizeof(line));

	if (p == NULL)
		return 0;
	if (pgrp && sscanf(p + 1, "%*d %ld", pgrp) != 1)
		*pgrp = -1;
	return *p;
}

static int
alive(pid_t pid)
{
	char s = proc_state(pid, NULL);

	if (s == 0)
		return kill(pid, 0) == 0 || errno == EPERM;
	return s != 'Z' && s != 'X';
}

static int
stopped(pid_t pid)
{
	char s = proc_state(pid, NULL);

	return s == 'T' || s == 't';
}

/* A target that exited before its stop runs no more either. */
static int
stopped_or_gone(pid_t pid)
{
	return stopped(pid) || !alive(pid);
}

/* Waits until pid is gone or timeout_ns passed; returns 1 if gone. */
static int
wait_gone(pid_t pid, int64_t timeout_ns)
{
	int64_t end = mv_now_ns() + timeout_ns;
#ifdef SYS_pidfd_open
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	if (fd >= 0) {
		struct pollfd p = {fd, POLLIN, 0};
		int64_t left;

		while ((left = end - mv_now_ns()) > 0 && alive(pid)) {
			/* Readable once the process has exited. */
			if (poll(&p, 1, (int)(left / 1000000) + 1) > 0)
				break;
		}
		close(fd);
	}
#endif
	while (alive(pid) && mv_now_ns() < end)
		nap(5 * 1000000L);
	return !alive(pid);
}

static int
read_pidfile(const char *path, pid_t *pid, struct mv_err *e)
{
	FILE *f = fopen(path, "r");
	long v;
	int ok;

	if (f == NULL)
		return mv_err_set(e, "%s: %s", path, strerror(errno));
	ok = fscanf(f, "%ld", &v) == 1 && v > 0 && v <= (long)0x7fffffff;
	fclose(f);
	if (!ok)
		return mv_err_set(e, "%s: no process id in the file", path);
	*pid = (pid_t)v;
	return 0;
}

static void
add_pid(pid_t **v, size_t *n, size_t *cap, pid_t pid)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if ((*v)[i] == pid)
			return;
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 8;
		*v = mv_xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = pid;
}

/* Adds the live members of process group pgid to v. */
static void
group_members(long pgid, pid_t **v, size_t *n, size_t *cap)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	long pid, g;
	char *end;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || pid <= 0 || pid == (long)getpid())
			continue;
		g = -1;
		if (proc_state((pid_t)pid, &g) && g == pgid
		    && alive((pid_t)pid))
			add_pid(v, n, cap, (pid_t)pid);
	}
	closedir(d);
}

/* The live processes the targets name now, deduplicated. */
static int
resolve(const struct mv_target *t, size_t nt, pid_t **v, size_t *n,
    struct mv_err *e)
{
	size_t i, cap = 0;
	long long x;
	pid_t pid = 0;

	*v = NULL, *n = 0;
	for (i = 0; i < nt; i++) {
		if (t[i].kind == MV_TGT_PIDFILE) {
			if (read_pidfile(t[i].arg, &pid, e) < 0)
				return -1;
		} else {
			if (mv_parse_int(
			        t[i].kind == MV_TGT_PID ? "--pid" : "--pgid",
			        t[i].arg, 1, 0x7fffffff, &x, e)
			    < 0)
				return -1;
			pid = (pid_t)x;
		}
		if (t[i].kind == MV_TGT_PGID)
			group_members((long)pid, v, n, &cap);
		else if (alive(pid))
			add_pid(v, n, &cap, pid);
	}
	return 0;
}

/* Rewrites the undo log from the paused set; removes it when empty. */
static int
write_log(struct mv_nemesis *n, struct mv_err *e)
{
	char tmp[4096];
	FILE *f;
	size_t i;
	int bad;

	if (n->undo_log == NULL)
		return 0;
	if (n->npaused == 0 && n->nfrozen == 0 && n->other.len == 0) {
		if (unlink(n->undo_log) < 0 && errno != ENOENT)
			return mv_err_set(
			    e, "%s: %s", n->undo_log, strerror(errno));
		return 0;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", n->undo_log);
	if ((f = fopen(tmp, "w")) == NULL)
		return mv_err_set(e, "%s: %s", tmp, strerror(errno));
	for (i = 0; i < n->npaused; i++)
		fprintf(f, "%ld\n", (long)n->paused[i]);
	for (i = 0; i < n->nfrozen; i++)
		fprintf(f, "freeze %s\n", n->frozen[i]);
	if (n->other.len > 0)
		fprintf(f, "%s%s", n->other.p,
		    n->other.p[n->other.len - 1] == '\n' ? "" : "\n");
	bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
	bad |= fclose(f) != 0;
	if (bad || rename(tmp, n->undo_log) < 0) {
		mv_err_set(e, "%s: %s", n->undo_log, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static void
drop_paused(struct mv_nemesis *n, pid_t pid)
{
	size_t i;

	for (i = 0; i < n->npaused; i++)
		if (n->paused[i] == pid) {
			n->paused[i] = n->paused[--n->npaused];
			return;
		}
}

/* Appends the fault event line; h (may be NULL) says how it was done. */
static void
event(const struct mv_nemesis *n, struct mv_buf *b, const char *f,
    const pid_t *pids, size_t np, const char *undo, const char *effect,
    pid_t newpid, int64_t time_ns, const struct how *h)
{
	size_t i;

	mv_buf_adds(b, "{\"type\":\"info\",\"process\":\"nemesis\",\"f\":");
	mv_buf_add_jstr(b, f, strlen(f));
	mv_buf_adds(b, ",\"value\":{");
	if (n->node)
		mv_buf_addf(b, "\"node\":\"%s\",", n->node);
	mv_buf_adds(b, "\"targets\":[");
	for (i = 0; i < np; i++)
		mv_buf_addf(b, "%s%ld", i ? "," : "", (long)pids[i]);
	mv_buf_adds(b, "],\"undo\":");
	if (undo)
		mv_buf_addf(b, "\"%s\"", undo);
	else
		mv_buf_adds(b, "null");
	mv_buf_addf(b, ",\"effect\":\"%s\"", effect);
	if (h) {
		mv_buf_addf(b, ",\"method\":\"%s\"", h->method);
		if (h->cgroup) {
			mv_buf_adds(b, ",\"cgroup\":");
			mv_buf_add_jstr(b, h->cgroup, strlen(h->cgroup));
		}
		mv_buf_addf(b, ",\"effective\":%s", h->why ? "false" : "true");
		if (h->why) {
			mv_buf_adds(b, ",\"reason\":");
			mv_buf_add_jstr(b, h->why, strlen(h->why));
		}
	}
	if (newpid > 0)
		mv_buf_addf(b, ",\"pid\":%ld", (long)newpid);
	mv_buf_addf(b, "},\"time\":%lld}\n", (long long)time_ns);
}

/* "all" when every one of n passed, "none" when none did, else "some". */
static const char *
tally(
    size_t good, size_t n, const char *all, const char *some, const char *none)
{
	return good == n ? all : good == 0 ? none : some;
}

/* Counts the pids for which test() holds, waiting up to SETTLE_NS. */
static size_t
settle(const pid_t *v, size_t n, int (*test)(pid_t), int want)
{
	int64_t end = mv_now_ns() + SETTLE_NS;
	size_t i, good;

	for (;;) {
		for (good = 0, i = 0; i < n; i++)
			good += (test(v[i]) != 0) == want;
		if (good == n || mv_now_ns() >= end)
			return good;
		nap(2 * 1000000L);
	}
}

/* The sigstop method's reason when not all of np did, in buf. */
static const char *
shortfall(char *buf, size_t len, size_t good, size_t np, const char *what)
{
	if (good == np)
		return NULL;
	snprintf(buf, len, "%zu of %zu processes %s after %lld ms", np - good,
	    np, what, (long long)(SETTLE_NS / 1000000));
	return buf;
}

/*
 * Freezes cgroup cg, logged ahead, and waits until the kernel says it
 * is frozen; the event says whether it did.
 */
static int
freeze(struct mv_nemesis *n, const char *cg, const pid_t *v, size_t np,
    int64_t t, struct mv_buf *ev, struct mv_err *e)
{
	struct how h = {mv_freezer_method(mv_freezer_kind(cg)), cg, NULL};
	struct mv_err why;
	int rc;

	/* Log ahead: the freeze must never be unrecorded. */
	if (add_frozen(n, cg) && write_log(n, e) < 0) {
		drop_frozen(n, cg);
		return -1;
	}
	if ((rc = mv_freezer_set(cg, 1, FREEZE_NS, &why)) != 1)
		h.why = why.msg;
	if (rc < 0) {
		/* Not even asked: nothing to thaw later. */
		drop_frozen(n, cg);
		if (write_log(n, e) < 0)
			return -1;
	}
	event(n, ev, "pause", v, np, "resume",
	    rc == 1 ? "stopped" : "not-stopped", 0, t, &h);
	return (int)np;
}

/* Thaws cgroup cg and waits until the kernel says it is thawed. */
static int
thaw(struct mv_nemesis *n, const char *cg, const pid_t *v, size_t np, int64_t t,
    struct mv_buf *ev, struct mv_err *e)
{
	struct how h = {mv_freezer_method(mv_freezer_kind(cg)), cg, NULL};
	struct mv_err why;
	int rc;

	if ((rc = mv_freezer_set(cg, 0, FREEZE_NS, &why)) != 1)
		h.why = why.msg;
	/* Thawed, or gone with its processes: it is off our hands. */
	if (rc == 1 || mv_freezer_kind(cg) == MV_FREEZER_NONE)
		drop_frozen(n, cg);
	event(n, ev, "resume", v, np, NULL,
	    rc == 1 ? "running" : "still-stopped", 0, t, &h);
	return write_log(n, e) < 0 ? -1 : (int)np;
}

static int
do_pause(struct mv_nemesis *n, const pid_t *v, size_t np, int64_t t,
    struct mv_buf *ev, struct mv_err *e)
{
	struct how h = {"sigstop", NULL, NULL};
	size_t i, was = n->npaused, good;
	char why[128];

	if (n->cgroup && mv_freezer_kind(n->cgroup) != MV_FREEZER_NONE)
		return freeze(n, n->cgroup, v, np, t, ev, e);
	for (i = 0; i < np; i++)
		add_pid(&n->paused, &n->npaused, &n->cap, v[i]);
	/* Log ahead: the stop must never be unrecorded. */
	if (n->npaused != was && write_log(n, e) < 0) {
		n->npaused = was;
		return -1;
	}
	for (i = 0; i < np; i++)
		kill(v[i], SIGSTOP);
	good = settle(v, np, stopped_or_gone, 1);
	h.why = shortfall(why, sizeof(why), good, np, "not stopped");
	event(n, ev, "pause", v, np, "resume",
	    tally(good, np, "stopped", "partly-stopped", "not-stopped"), 0, t,
	    &h);
	return (int)np;
}

/* Continues the processes v[0..np) with SIGCONT. */
static int
cont(struct mv_nemesis *n, const pid_t *v, size_t np, int64_t t,
    struct mv_buf *ev, struct mv_err *e)
{
	struct how h = {"sigstop", NULL, NULL};
	size_t i, good;
	char why[128];

	for (i = 0; i < np; i++) {
		kill(v[i], SIGCONT);
		drop_paused(n, v[i]);
	}
	good = settle(v, np, stopped, 0);
	h.why = shortfall(why, sizeof(why), good, np, "still stopped");
	event(n, ev, "resume", v, np, NULL,
	    tally(good, np, "running", "partly-running", "still-stopped"), 0, t,
	    &h);
	return write_log(n, e) < 0 ? -1 : (int)np;
}

static int
do_resume(struct mv_nemesis *n, const pid_t *v, size_t np, int64_t t,
    struct mv_buf *ev, struct mv_err *e)
{
	if (n->cgroup && mv_freezer_kind(n->cgroup) != MV_FREEZER_NONE)
		return thaw(n, n->cgroup, v, np, t, ev, e);
	return cont(n, v, np, t, ev, e);
}

/*
 * Sends sig to each and waits for them to go; returns how many went.
 * A stopped or frozen process would hold the signal: it is continued
 * (thawed) after the signal, so that it runs none of its own code first.
 */
static size_t
end_all(struct mv_nemesis *n, const pid_t *v, size_t np, int sig)
{
	size_t i, gone = 0;

	for (i = 0; i < np; i++)
		kill(v[i], sig);
	if (n->cgroup && mv_freezer_kind(n->cgroup) != MV_FREEZER_NONE) {
		mv_freezer_signal(n->cgroup, sig);
		drop_frozen(n, n->cgroup);
	}
	for (i = 0; i < np; i++)
		if (stopped(v[i]))
			kill(v[i], SIGCONT);
	for (i = 0; i < np; i++) {
		if (wait_gone(v[i], EXIT_NS)) {
			gone++;
			drop_paused(n, v[i]);
		}
	}
	return gone;
}

/*
 * Starts the restart command detached (own session, standard streams on
 * /dev/null so that it holds no pipe of ours open); records its pid.
 */
static pid_t
start_cmd(struct mv_nemesis *n, struct mv_err *e)
{
	pid_t pid;
	int fd;
	FILE *f;
	char tmp[4096];

	if ((pid = fork()) < 0)
		return mv_err_set(e, "fork: %s", strerror(errno));
	if (pid == 0) {
		setsid();
		if ((fd = open("/dev/null", O_RDWR)) >= 0) {
			dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		execl("/bin/sh", "sh", "-c", n->cmd, (char *)NULL);
		_exit(127);
	}
	if (n->pidfile == NULL)
		return pid;
	snprintf(tmp, sizeof(tmp), "%s.tmp", n->pidfile);
	if ((f = fopen(tmp, "w")) == NULL
	    || (fprintf(f, "%ld\n", (long)pid), fclose(f)) != 0
	    || rename(tmp, n->pidfile) < 0)
		return mv_err_set(e, "%s: %s", n->pidfile, strerror(errno));
	return pid;
}

static int
do_end(struct mv_nemesis *n, const char *f, const pid_t *v, size_t np,
    int64_t t, struct mv_buf *ev, struct mv_err *e)
{
	int term = strcmp(f, "term") == 0, restart = strcmp(f, "restart") == 0;
	size_t gone;
	pid_t pid = 0;
	const char *effect;

	if (restart && n->cmd == NULL && n->start == NULL)
		return mv_err_set(e, "restart needs a command (--cmd)");
	gone = end_all(n, v, np, term ? SIGTERM : SIGKILL);
	if (term)
		effect = tally(gone, np, "terminated", "partly-terminated",
		    "still-running");
	else
		effect =
		    tally(gone, np, "killed", "partly-killed", "not-killed");
	if (restart && gone == np) {
		pid = n->start ? n->start(n->start_arg, e) : start_cmd(n, e);
		/* The start frees the node's cgroup name if it could not
		 * enter it: forget ours, the next aim sets it again. */
		n->cgroup = NULL;
		if (pid < 0)
			return -1;
		effect = "restarted";
	}
	event(n, ev, f, v, np,
	    restart || (n->cmd == NULL && n->start == NULL) ? NULL : "restart",
	    effect, pid, t, NULL);
	if (write_log(n, e) < 0)
		return -1;
	/* A restart with nothing to kill still starts: that is its undo. */
	return restart ? 1 : (int)np;
}

int
mv_nemesis_fault(struct mv_nemesis *n, const char *f, const struct mv_target *t,
    size_t nt, int64_t time_ns, struct mv_buf *ev, struct mv_err *e)
{
	pid_t *v;
	size_t np, cap;
	int rc, thaw_empty;

	if (strcmp(f, "pause") && strcmp(f, "resume") && strcmp(f, "kill")
	    && strcmp(f, "term") && strcmp(f, "restart"))
		return mv_err_set(e, "unknown fault: %s", f);
	if (resolve(t, nt, &v, &np, e) < 0) {
		free(v);
		return -1;
	}
	/* The node's whole tree: what its leader forked and left too. */
	if (n->cgroup) {
		cap = np;
		mv_freezer_pids(n->cgroup, &v, &np, &cap);
	}
	/* A frozen cgroup whose processes all went is thawed all the same. */
	thaw_empty = strcmp(f, "resume") == 0 && n->cgroup
	    && mv_freezer_frozen(n->cgroup) == 1;
	if (np == 0 && strcmp(f, "restart") != 0 && !thaw_empty) {
		event(n, ev, f, v, np, NULL, "no-target", 0, time_ns, NULL);
		rc = 0;
	} else if (strcmp(f, "pause") == 0)
		rc = do_pause(n, v, np, time_ns, ev, e);
	else if (strcmp(f, "resume") == 0)
		rc = do_resume(n, v, np, time_ns, ev, e);
	else
		rc = do_end(n, f, v, np, time_ns, ev, e);
	free(v);
	return rc;
}

size_t
mv_nemesis_heal(struct mv_nemesis *n, int64_t time_ns, struct mv_buf *ev)
{
	struct mv_buf scratch = MV_BUF_INIT;
	struct mv_err e;
	pid_t *v = NULL;
	size_t i, np, cap = 0, nf = n->nfrozen;
	char **cg = mv_xcalloc(nf + 1, sizeof(*cg));

	if (ev == NULL)
		ev = &scratch;
	/* A copy: each thaw takes its cgroup out of the set. */
	for (i = 0; i < nf; i++)
		cg[i] = mv_xstrdup(n->frozen[i]);
	for (i = 0; i < nf; i++) {
		np = 0;
		mv_freezer_pids(cg[i], &v, &np, &cap);
		thaw(n, cg[i], v, np, time_ns, ev, &e);
		free(cg[i]);
	}
	free(cg);
	if ((np = n->npaused) > 0) {
		v = mv_xrealloc(v, np * sizeof(*v));
		memcpy(v, n->paused, np * sizeof(*v));
		cont(n, v, np, time_ns, ev, &e);
	}
	mv_buf_release(&scratch);
	free(v);
	return np + nf;
}

int
mv_nemesis_heal_log(const char *path, struct mv_err *e)
{
	FILE *f = fopen(path, "r");
	long pid;
	int n = 0, bad = 0;
	char *s = NULL;
	size_t cap = 0, lineno = 0, w;

	if (f == NULL)
		return mv_err_set(e, "%s: %s", path, strerror(errno));
	/*
	 * A pid a line, or another fault's entry "KIND ARG" (a lowercase
	 * word, a space: "clock FILE") that its owner heals.
	 */
	while (!bad && getline(&s, &cap, f) > 0) {
		lineno++;
		w = strspn(s, "abcdefghijklmnopqrstuvwxyz");
		if (pid_line(s, &pid)) {
			if (kill((pid_t)pid, SIGCONT) == 0)
				n++;
		} else if (w == 0 || s[w] != ' ')
			bad = s[strspn(s, " \t\r\n")] != '\0';
	}
	free(s);
	fclose(f);
	if (bad)
		return mv_err_set(
		    e, "%s:%zu: not an undo log line", path, lineno);
	if (unlink(path) < 0)
		return mv_err_set(e, "%s: %s", path, strerror(errno));
	return n;
}

int
mv_nemesis_thaw_log(const char *path, struct mv_err *e)
{
	FILE *f = fopen(path, "r");
	struct mv_err why;
	char *s = NULL, *cg;
	size_t cap = 0;
	int n = 0, bad = 0;

	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		return mv_err_set(e, "%s: %s", path, strerror(errno));
	}
	/* Every one is tried; the first failure is the one reported. */
	while (getline(&s, &cap, f) > 0) {
		if ((cg = freeze_line(s)) == NULL
		    || mv_freezer_kind(cg) == MV_FREEZER_NONE)
			continue;
		if (mv_freezer_set(cg, 0, FREEZE_NS, &why) == 1)
			n++;
		else if (!bad++)
			*e = why;
	}
	free(s);
	fclose(f);
	return bad ? -1 : n;
}
