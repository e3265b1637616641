/*
 * partcount.c: the packet counter of a one-shot partition (partcount.h).
 * A one-shot exits as soon as its rules are in, so nothing of it is left
 * to count; the counter is a child of its own session, in the switch
 * namespace, holding mv_netfault_watch's captures until SIGTERM.  Then it
 * writes the efficacy report to its file (through a rename, so a reader
 * sees all or nothing) and exits.  The file exists, empty, from before
 * the counter is in the undo log: present and empty after the counter is
 * gone means it died without counting; absent means a heal has already
 * reported it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
#include "partcount.h"

#define STOP_MS 5000

static pid_t cpid = -1; /* the counter this process started */
static char cfile[4096];

/* Tells the parent why the counter could not start, and ends it. */
static void
counter_fail(int rep, const char *msg)
{
	ssize_t n = write(rep, msg, strlen(msg));

	_exit(n < 0 ? 2 : 1);
}

/* Writes the report b to file through file.tmp; 0 or -1. */
static int
write_report(const char *file, const struct mv_buf *b)
{
	char tmp[4200];
	int fd, ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644))
	    < 0)
		return -1;
	ok = write(fd, b->p, b->len) == (ssize_t)b->len;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, file) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/*
 * The counter (never returns): its own session, the switch namespace,
 * stdio on /dev/null and no other descriptor of its parent's (a bats run
 * waits for fd 3 to close).  Reports ready on rep, then counts once "g"
 * arrives on go; EOF there means the parent died before logging it.
 */
static void
counter(const struct mv_nf_spec *sp, const char *file, int rep, int go)
{
	struct mv_netfault *f;
	struct mv_buf b = MV_BUF_INIT;
	struct mv_err e;
	sigset_t set;
	int fd, sig, back = -1;
	char c;

	setsid();
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before the capture thread starts, so it inherits it. */
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	for (fd = 3; fd < 1024; fd++)
		if (fd != rep && fd != go)
			close(fd);
	/* The whole process joins the switch namespace: tearing that down
	 * kills it too. */
	if (mv_netns_enter(sp->netns, &back, &e) < 0)
		counter_fail(rep, e.msg);
	close(back);
	if ((f = mv_netfault_watch(sp, &e)) == NULL)
		counter_fail(rep, e.msg);
	if ((fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644))
	    < 0)
		counter_fail(rep, "cannot create its count file");
	close(fd);
	if (write(rep, "r", 1) != 1 || read(go, &c, 1) != 1) {
		unlink(file);
		_exit(1);
	}
	close(rep);
	close(go);
	while (sigwait(&set, &sig) != 0)
		;
	mv_netfault_stop(f, &b, &e); /* the report is there even on -1 */
	_exit(write_report(file, &b) < 0 ? 1 : 0);
}

int
partcount_start(const struct mv_cluster *c, const struct mv_nf_spec *sp,
    const char *kind, struct mv_err *e)
{
	char msg[sizeof(e->msg)], line[4400];
	int go, rep;
	ssize_t n;
	pid_t pid;

	if (c->run_dir == NULL || c->undo_log == NULL)
		return mv_err_set(e, "%s: the cluster is not up", c->path);
	if (snprintf(
	        cfile, sizeof(cfile), "%s/count-%s.json", c->run_dir, sp->table)
	    >= (int)sizeof(cfile))
		return mv_err_set(e, "%s: name too long", c->run_dir);
	if ((pid = mv_fork_gated(&go, &rep, e)) < 0)
		return -1;
	if (pid == 0)
		counter(sp, cfile, rep, go);
	while ((n = read(rep, msg, sizeof(msg) - 1)) < 0 && errno == EINTR)
		;
	close(rep);
	msg[n > 0 ? n : 0] = '\0';
	if (n != 1 || msg[0] != 'r')
		mv_err_set(e, "packet counter: %s",
		    n > 0 ? msg : "died before it was ready");
	else {
		snprintf(line, sizeof(line), "cap %ld %llu %s %s %s", (long)pid,
		    mv_proc_start_time(pid), kind, sp->table, cfile);
		if (mv_cluster_log(c->undo_log, line, e) == 0
		    && write(go, "g", 1) == 1) {
			close(go);
			cpid = pid;
			return 0;
		}
	}
	close(go); /* it exits on EOF, removing its file */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return -1;
}

void
partcount_abort(void)
{
	if (cpid <= 0)
		return;
	kill(cpid, SIGKILL);
	while (waitpid(cpid, NULL, 0) < 0 && errno == EINTR)
		;
	unlink(cfile);
	cpid = -1;
}

/*
 * Stops the counter pid (start time st) if it is still that process;
 * returns NULL when it exited, or why it has no report.
 */
static const char *
stop(long pid, unsigned long long st)
{
	int fd, ms;

	if (!mv_proc_hold(pid, st, &fd))
		return NULL;
	/* Signalled and waited for through fd where there is one. */
	if (fd >= 0) {
		struct pollfd p = {fd, POLLIN, 0};
		int rc = -1;

#ifdef SYS_pidfd_send_signal
		rc = (int)syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0);
#endif
		if (rc < 0)
			kill((pid_t)pid, SIGTERM);
		rc = poll(&p, 1, STOP_MS);
#ifdef SYS_pidfd_send_signal
		if (rc <= 0)
			syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
#endif
		close(fd);
		return rc > 0 ? NULL : "did not stop within 5s";
	}
	kill((pid_t)pid, SIGTERM);
	for (ms = 0; ms < STOP_MS && mv_proc_start_time(pid) == st; ms += 10)
		poll(NULL, 0, 10);
	if (mv_proc_start_time(pid) != st)
		return NULL;
	kill((pid_t)pid, SIGKILL);
	return "did not stop within 5s";
}

/*
 * Appends the stop event of one logged counter to out; 1 if it did,
 * 0 if a heal had already reported it.
 */
static int
heal_one(long pid, unsigned long long st, const char *kind, const char *table,
    const char *file, struct mv_buf *out)
{
	struct mv_buf b = MV_BUF_INIT, why = MV_BUF_INIT;
	const char *trouble = stop(pid, st);
	struct mv_jv *v = NULL;
	struct mv_err e;
	FILE *f;
	char chunk[4096];
	size_t n;

	if ((f = fopen(file, "re")) == NULL)
		return 0;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		mv_buf_add(&b, chunk, n);
	fclose(f);
	mv_buf_adds(out,
	    "{\"type\":\"info\",\"process\":\"nemesis\",\"f\":"
	    "\"stop-partition\",\"value\":");
	if (trouble == NULL && b.len > 0
	    && (v = mv_jv_parse(b.p, b.len, &e)) != NULL && v->kind == MV_JOBJ)
		mv_buf_add(out, b.p, b.len);
	else {
		mv_buf_addf(&why, "the packet counter (pid %ld) %s: no counts",
		    pid, trouble ? trouble : "died before it was stopped");
		mv_buf_adds(out, "{\"kind\":");
		mv_buf_add_jstr(out, kind, strlen(kind));
		mv_buf_adds(out, ",\"table\":");
		mv_buf_add_jstr(out, table, strlen(table));
		mv_buf_adds(out, ",\"effective\":null,\"reason\":");
		mv_buf_add_jstr(out, why.p, why.len);
		mv_buf_adds(out, "}");
	}
	mv_buf_adds(out, ",\"time\":0}\n");
	mv_jv_free(v);
	mv_buf_release(&b);
	mv_buf_release(&why);
	unlink(file);
	return 1;
}

int
partcount_heal(const char *path, struct mv_buf *out, struct mv_err *e)
{
	char line[8192], kind[32], table[128];
	unsigned long long st;
	long pid;
	size_t len;
	FILE *f;
	int at, k = 0;

	if ((f = fopen(path, "re")) == NULL)
		return errno == ENOENT
		    ? 0
		    : mv_err_set(e, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		len = strlen(line);
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		at = 0;
		if (sscanf(line, "cap %ld %llu %31s %127s %n", &pid, &st, kind,
		        table, &at)
		        < 4
		    || at == 0 || line[at] != '/')
			continue;
		k += heal_one(pid, st, kind, table, line + at, out);
	}
	fclose(f);
	return k;
}
