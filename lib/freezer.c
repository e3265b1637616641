/*
 * freezer.c: freezing a process tree through its cgroup.  The kernel,
 * not the process state letters, says when a tree is frozen: cgroup v2
 * sets "frozen 1" in cgroup.events once every task stopped, v1 turns
 * freezer.state from FREEZING to FROZEN.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "buf.h" /* mv_xrealloc */
#include "freezer.h"

const char *
mv_freezer_method(enum mv_freezer_kind k)
{
	return k == MV_FREEZER_V2 ? "cgroup-v2"
	    : k == MV_FREEZER_V1  ? "cgroup-v1"
	                          : "sigstop";
}

static void
nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* 1 if the comma-separated list opts holds the word w. */
static int
has_opt(const char *opts, const char *w)
{
	size_t n = strlen(w);
	const char *p;

	for (p = opts; (p = strstr(p, w)) != NULL; p += n)
		if ((p == opts || p[-1] == ',')
		    && (p[n] == ',' || p[n] == '\0'))
			return 1;
	return 0;
}

int
mv_freezer_root(enum mv_freezer_kind k, char *root, size_t n)
{
	char line[4096], dir[4096], type[64], opts[1024];
	FILE *f = fopen("/proc/self/mounts", "re");
	int found = 0;

	if (f == NULL || k == MV_FREEZER_NONE) {
		if (f)
			fclose(f);
		return -1;
	}
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %4095s %63s %1023s", dir, type, opts)
		    != 3)
			continue;
		/* A mount point with an escaped space or tab: not ours. */
		if (strchr(dir, '\\') || !has_opt(opts, "rw"))
			continue;
		if (k == MV_FREEZER_V2 ? strcmp(type, "cgroup2") != 0
		                       : strcmp(type, "cgroup") != 0
		            || !has_opt(opts, "freezer"))
			continue;
		found = access(dir, W_OK) == 0
		    && snprintf(root, n, "%s", dir) < (int)n;
	}
	fclose(f);
	return found ? 0 : -1;
}

/* path/name into buf; 0, or -1 when it does not fit. */
static int
join(char *buf, size_t n, const char *path, const char *name)
{
	return snprintf(buf, n, "%s/%s", path, name) < (int)n ? 0 : -1;
}

/* Magic numbers of the cgroup file systems (linux/magic.h). */
#define CGROUP_MAGIC 0x27e0eb
#define CGROUP2_MAGIC 0x63677270

enum mv_freezer_kind
mv_freezer_kind(const char *path)
{
	struct statfs fs;
	char p[4096];

	/* Only a cgroup file system's directory: never write elsewhere. */
	if (statfs(path, &fs) < 0
	    || (fs.f_type != CGROUP_MAGIC && fs.f_type != CGROUP2_MAGIC))
		return MV_FREEZER_NONE;
	if (join(p, sizeof(p), path, "cgroup.freeze") == 0
	    && access(p, F_OK) == 0)
		return MV_FREEZER_V2;
	if (join(p, sizeof(p), path, "freezer.state") == 0
	    && access(p, F_OK) == 0)
		return MV_FREEZER_V1;
	return MV_FREEZER_NONE;
}

/* Writes s to the control file path/name: 0, or -1 with errno set. */
static int
put(const char *path, const char *name, const char *s)
{
	char p[4096];
	size_t n = strlen(s);
	int fd, ok, saved;

	if (join(p, sizeof(p), path, name) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open(p, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	ok = write(fd, s, n) == (ssize_t)n;
	saved = errno;
	close(fd);
	errno = saved;
	return ok ? 0 : -1;
}

/* Reads the control file path/name into buf (NUL-terminated). */
static int
get(const char *path, const char *name, char *buf, size_t n)
{
	char p[4096];
	ssize_t len;
	int fd;

	if (join(p, sizeof(p), path, name) < 0
	    || (fd = open(p, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	len = read(fd, buf, n - 1);
	close(fd);
	if (len < 0)
		return -1;
	buf[len] = '\0';
	return 0;
}

int
mv_freezer_enter(const char *path, pid_t pid, struct mv_err *e)
{
	char s[32];

	snprintf(s, sizeof(s), "%ld\n", (long)pid);
	if (put(path, "cgroup.procs", s) < 0)
		return mv_err_set(
		    e, "%s/cgroup.procs: %s", path, strerror(errno));
	return 0;
}

int
mv_freezer_frozen(const char *path)
{
	char buf[512];
	const char *p;

	switch (mv_freezer_kind(path)) {
	case MV_FREEZER_V2:
		if (get(path, "cgroup.events", buf, sizeof(buf)) < 0
		    || (p = strstr(buf, "frozen ")) == NULL)
			return -1;
		return p[7] == '1';
	case MV_FREEZER_V1:
		if (get(path, "freezer.state", buf, sizeof(buf)) < 0)
			return -1;
		return strncmp(buf, "FROZEN", 6) == 0;
	default: return -1;
	}
}

/* Asks the kernel to freeze or thaw path; 0, or -1 with errno set. */
static int
ask(const char *path, enum mv_freezer_kind k, int freeze)
{
	if (k == MV_FREEZER_V2)
		return put(path, "cgroup.freeze", freeze ? "1" : "0");
	if (k == MV_FREEZER_V1)
		return put(path, "freezer.state", freeze ? "FROZEN" : "THAWED");
	errno = ENOENT;
	return -1;
}

int
mv_freezer_set(
    const char *path, int freeze, int64_t timeout_ns, struct mv_err *e)
{
	enum mv_freezer_kind k = mv_freezer_kind(path);
	int64_t end = mv_now_ns() + timeout_ns;
	long ms = 1;
	int now;

	if (k == MV_FREEZER_NONE)
		return mv_err_set(e, "%s: not a freezer cgroup", path);
	if (ask(path, k, freeze) < 0)
		return mv_err_set(e, "%s/%s: %s", path,
		    k == MV_FREEZER_V2 ? "cgroup.freeze" : "freezer.state",
		    strerror(errno));
	/* v1 passes through FREEZING; v2 sets "frozen 1" when all stopped. */
	while ((now = mv_freezer_frozen(path)) != freeze) {
		if (now < 0)
			return mv_err_set(e, "%s: gone", path);
		if (mv_now_ns() >= end)
			return mv_err_set(e,
			           "%s/%s did not say %s within %lld ms", path,
			           k == MV_FREEZER_V2 ? "cgroup.events"
			                              : "freezer.state",
			           freeze ? "frozen" : "thawed",
			           (long long)(timeout_ns / 1000000)),
			       0;
		nap_ms(ms);
		ms = ms < 16 ? 2 * ms : ms;
		/*
		 * v1 stays FREEZING when a task could not be frozen at the
		 * time (busy in the kernel) until FROZEN is written again.
		 */
		if (k == MV_FREEZER_V1 && freeze && ms == 16)
			ask(path, k, 1);
	}
	return 1;
}

/* 1 if pid is a process that has not exited (a zombie has). */
static int
live(long pid)
{
	char line[512];
	const char *s = mv_proc_stat(pid, line, sizeof(line));

	return s != NULL && *s != 'Z' && *s != 'X';
}

int
mv_freezer_pids(const char *path, pid_t **v, size_t *n, size_t *cap)
{
	char p[4096], line[64], *end;
	FILE *f;
	long pid;
	size_t i;
	int found = 0;

	if (join(p, sizeof(p), path, "cgroup.procs") < 0
	    || (f = fopen(p, "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		pid = strtol(line, &end, 10);
		if (end == line || pid <= 0 || pid == (long)getpid()
		    || !live(pid))
			continue;
		found++;
		for (i = 0; i < *n && (*v)[i] != (pid_t)pid; i++)
			;
		if (i < *n)
			continue;
		if (*n == *cap) {
			*cap = *cap ? 2 * *cap : 8;
			*v = mv_xrealloc(*v, *cap * sizeof(**v));
		}
		(*v)[(*n)++] = (pid_t)pid;
	}
	fclose(f);
	return found;
}

size_t
mv_freezer_signal(const char *path, int sig)
{
	enum mv_freezer_kind k = mv_freezer_kind(path);
	pid_t *v = NULL;
	size_t i, n = 0, cap = 0;

	if (mv_freezer_pids(path, &v, &n, &cap) > 0)
		for (i = 0; i < n; i++)
			kill(v[i], sig);
	free(v);
	/* Signal first, thaw after: the tree runs no more of its code. */
	if (k != MV_FREEZER_NONE)
		ask(path, k, 0);
	return n;
}

int
mv_freezer_kill(const char *path, int64_t timeout_ns, struct mv_err *e)
{
	int64_t end = mv_now_ns() + timeout_ns;
	pid_t *v = NULL;
	size_t n, cap = 0;
	int first = -1, got;

	for (;;) {
		n = 0;
		got = mv_freezer_pids(path, &v, &n, &cap);
		if (got <= 0)
			break;
		if (first < 0)
			first = got;
		/* v2's cgroup.kill also takes what forks meanwhile. */
		if (mv_freezer_kind(path) == MV_FREEZER_V2)
			put(path, "cgroup.kill", "1");
		mv_freezer_signal(path, SIGKILL);
		if (mv_now_ns() >= end) {
			free(v);
			return mv_err_set(
			    e, "%s: %d processes survive SIGKILL", path, got);
		}
		nap_ms(5);
	}
	free(v);
	return first < 0 ? 0 : first;
}

int
mv_freezer_remove(const char *path, int64_t timeout_ns, struct mv_err *e)
{
	int64_t end = mv_now_ns() + timeout_ns;
	struct stat st;

	if (lstat(path, &st) < 0)
		return 0;
	if (mv_freezer_kill(path, timeout_ns, e) < 0)
		return -1;
	/* A process on its way out may still hold the cgroup a moment. */
	while (rmdir(path) < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno != EBUSY || mv_now_ns() >= end)
			return mv_err_set(e, "%s: %s", path, strerror(errno));
		nap_ms(5);
	}
	return 1;
}
