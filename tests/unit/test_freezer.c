/*
 * test_freezer.c: freezer.h refusing what is not a cgroup (any user), and,
 * as root on each writable freezer hierarchy found, a child put into a
 * fresh cgroup, frozen, thawed, killed and the cgroup removed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "freezer.h"
#include "mv.h"
#include "tap.h"

#define SEC 1000000000LL

static void
refusals(void)
{
	struct mv_err e;
	pid_t *v = NULL;
	size_t n = 0, cap = 0;

	OK(strcmp(mv_freezer_method(MV_FREEZER_V2), "cgroup-v2") == 0
	        && strcmp(mv_freezer_method(MV_FREEZER_V1), "cgroup-v1") == 0
	        && strcmp(mv_freezer_method(MV_FREEZER_NONE), "sigstop") == 0,
	    "method names");
	OK(mv_freezer_kind("/tmp") == MV_FREEZER_NONE
	        && mv_freezer_kind("/nonexistent/x") == MV_FREEZER_NONE,
	    "kind: a plain or missing directory is no cgroup");
	OK(mv_freezer_set("/tmp", 1, SEC, &e) == -1
	        && strstr(e.msg, "not a freezer cgroup") != NULL,
	    "set: refused outside a cgroup, said so");
	OK(mv_freezer_frozen("/tmp") == -1, "frozen: -1 outside a cgroup");
	OK(mv_freezer_pids("/nonexistent/x", &v, &n, &cap) == -1 && n == 0,
	    "pids: -1 for a missing cgroup");
	OK(mv_freezer_kill("/nonexistent/x", SEC, &e) == 0,
	    "kill: a missing cgroup is empty");
	OK(mv_freezer_remove("/nonexistent/x", SEC, &e) == 0,
	    "remove: a missing cgroup is not there");
	free(v);
}

/* A child that waits for a byte on fd, then sleeps until killed. */
static pid_t
sleeper(int *go)
{
	int p[2];
	pid_t pid;
	char b;

	if (pipe(p) < 0)
		return -1;
	if ((pid = fork()) == 0) {
		close(p[1]);
		if (read(p[0], &b, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[0]);
	*go = p[1];
	return pid;
}

/* One round on the hierarchy of kind k mounted at root. */
static void
round_on(enum mv_freezer_kind k, const char *root)
{
	char cg[4200], name[64];
	struct mv_err e;
	pid_t *v = NULL, pid;
	size_t n = 0, cap = 0;
	int go = -1, status;

	snprintf(name, sizeof(name), "%s", mv_freezer_method(k));
	snprintf(cg, sizeof(cg), "%s/mvut%ld", root, (long)getpid());
	if (mkdir(cg, 0755) < 0) {
		printf("# %s: %s: %s: skipped\n", name, cg, strerror(errno));
		return;
	}
	OK(mv_freezer_kind(cg) == k, "kind of a fresh cgroup");
	if ((pid = sleeper(&go)) < 0) {
		OK(0, "fork");
		rmdir(cg);
		return;
	}
	OK(mv_freezer_enter(cg, pid, &e) == 0, "enter");
	if (write(go, "g", 1) != 1)
		OK(0, "child started");
	close(go);
	OK(mv_freezer_pids(cg, &v, &n, &cap) == 1 && n == 1 && v[0] == pid,
	    "pids: the child");
	OK(mv_freezer_set(cg, 1, 2 * SEC, &e) == 1
	        && mv_freezer_frozen(cg) == 1,
	    "freeze: the kernel says frozen");
	OK(mv_freezer_set(cg, 0, 2 * SEC, &e) == 1
	        && mv_freezer_frozen(cg) == 0,
	    "thaw: the kernel says thawed");
	/* Frozen again: the kill must thaw for the signal to act (v1). */
	mv_freezer_set(cg, 1, 2 * SEC, &e);
	OK(mv_freezer_kill(cg, 3 * SEC, &e) == 1, "kill: one process");
	OK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status)
	        && WTERMSIG(status) == SIGKILL,
	    "the frozen child died of SIGKILL");
	OK(mv_freezer_remove(cg, 3 * SEC, &e) == 1 && access(cg, F_OK) < 0,
	    "remove: the directory is gone");
	if (access(cg, F_OK) == 0)
		rmdir(cg);
	free(v);
}

int
main(void)
{
	static const enum mv_freezer_kind kinds[] = {
	    MV_FREEZER_V2, MV_FREEZER_V1};
	char root[2048];
	size_t i;

	refusals();
	if (geteuid() != 0) {
		printf("# not root: no cgroup made\n");
		return TAP_DONE();
	}
	for (i = 0; i < 2; i++)
		if (mv_freezer_root(kinds[i], root, sizeof(root)) == 0)
			round_on(kinds[i], root);
		else
			printf("# no writable %s hierarchy\n",
			    mv_freezer_method(kinds[i]));
	return TAP_DONE();
}
