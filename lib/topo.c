/*
 * topo.c: a cluster's namespaces, links and processes, and their undo log.
 * Everything made is written to the undo log before it is made, so that
 * mv_cluster_heal_log can remove it after a SIGKILL.  Written, not synced:
 * a killed process's writes are in the page cache for the next reader,
 * and what a crash of the machine would lose with them (namespaces,
 * tables, qdiscs, cgroups, processes) is gone with it; an fsync per
 * line held a fault's start up for over 30 s on a busy disk.  The
 * root namespace is never changed: links and addresses are made through
 * netlink sockets opened inside the cluster's own namespaces.
 */
#define _GNU_SOURCE /* setns, unshare, pipe2 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>

#include "cluster.h"
#include "freezer.h"
#include "rtsock.h"

#define NETNS_DIR "/run/netns"
#define MARKER ".mv-cluster-run" /* in a run directory we made */
#define UNDO_MAGIC "mv-cluster-undo 1"
#define NODE_IF "eth0"
#define KILL_NS (3000 * 1000000LL)

static void
nap_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

int
mv_cluster_log(const char *path, const char *line, struct mv_err *e)
{
	size_t n = strlen(line);
	char buf[1024];
	int fd, ok;

	if (n + 2 > sizeof(buf) || strchr(line, '\n'))
		return mv_err_set(e, "%s: entry too long", path);
	memcpy(buf, line, n);
	buf[n++] = '\n';
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0)
		return mv_err_set(e, "%s: %s", path, strerror(errno));
	ok = write(fd, buf, n) == (ssize_t)n;
	if (!ok)
		mv_err_set(e, "%s: %s", path, strerror(errno));
	close(fd);
	return ok ? 0 : -1;
}

static int logf_(const char *path, struct mv_err *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
logf_(const char *path, struct mv_err *e, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return mv_cluster_log(path, line, e);
}

/*
 * /run/netns as a shared mount point, as ip-netns(8) makes it, so that a
 * namespace mounted there is seen from every mount namespace.
 */
static int
netns_dir(struct mv_err *e)
{
	int fd, rc = 0;

	if (mkdir(NETNS_DIR, 0755) < 0 && errno != EEXIST)
		return mv_err_set(e, "%s: %s", NETNS_DIR, strerror(errno));
	/* Two runs starting together must not stack two bind mounts. */
	if ((fd = open(NETNS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
		flock(fd, LOCK_EX);
	if (mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL) < 0) {
		if (errno != EINVAL
		    || mount(
		           NETNS_DIR, NETNS_DIR, "none", MS_BIND | MS_REC, NULL)
		        < 0
		    || mount("", NETNS_DIR, "none", MS_SHARED | MS_REC, NULL)
		        < 0)
			rc = mv_err_set(
			    e, "%s: mount: %s", NETNS_DIR, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Creates the named namespace: a new one bound onto /run/netns/NAME. */
static int
netns_add(const char *name, struct mv_err *e)
{
	char path[512];
	int fd, back;

	snprintf(path, sizeof(path), "%s/%s", NETNS_DIR, name);
	if ((fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0)) < 0)
		return mv_err_set(e, "%s: %s", path, strerror(errno));
	close(fd);
	if ((back = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC))
	    < 0) {
		unlink(path);
		return mv_err_set(
		    e, "/proc/thread-self/ns/net: %s", strerror(errno));
	}
	if (unshare(CLONE_NEWNET) < 0) {
		mv_err_set(e, "unshare: %s", strerror(errno));
		close(back);
		unlink(path);
		return -1;
	}
	if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL)
	    < 0) {
		mv_err_set(e, "%s: mount: %s", path, strerror(errno));
		mv_netns_leave(back);
		unlink(path);
		return -1;
	}
	mv_netns_leave(back);
	return 0;
}

/* The device and inode of the namespace file; -1 when it is not there. */
static int
ns_id(const char *path, dev_t *dev, ino_t *ino)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	*dev = st.st_dev, *ino = st.st_ino;
	return 0;
}

/*
 * Signals every process whose network namespace is the one at nspath;
 * returns how many there were.
 */
static size_t
ns_signal(dev_t dev, ino_t ino, int sig)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	char path[64];
	size_t n = 0;
	dev_t pd;
	ino_t pi;
	long pid;
	char *end;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		pid = strtol(de->d_name, &end, 10);
		if (*end != '\0' || pid <= 0 || pid == (long)getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
		if (ns_id(path, &pd, &pi) == 0 && pd == dev && pi == ino) {
			kill((pid_t)pid, sig);
			n++;
		}
	}
	closedir(d);
	return n;
}

/*
 * Kills everything inside namespace name and deletes it.  Returns 1 if
 * it deleted it, 0 if there was none, -1 with e filled.
 */
static int
netns_del(const char *name, struct mv_err *e)
{
	char path[512];
	dev_t dev;
	ino_t ino;
	int64_t end = mv_now_ns() + KILL_NS;

	if (snprintf(path, sizeof(path), "%s/%s", NETNS_DIR, name)
	    >= (int)sizeof(path))
		return mv_err_set(e, "%s: name too long", name);
	if (ns_id(path, &dev, &ino) == 0) {
		/* A process still inside would keep the namespace alive. */
		while (ns_signal(dev, ino, SIGKILL) > 0 && mv_now_ns() < end)
			nap_ms(10);
		if (ns_signal(dev, ino, 0) > 0)
			return mv_err_set(
			    e, "%s: processes survive SIGKILL", name);
	}
	if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
		return mv_err_set(e, "%s: umount: %s", path, strerror(errno));
	if (unlink(path) < 0) {
		if (errno == ENOENT)
			return 0;
		return mv_err_set(e, "%s: %s", path, strerror(errno));
	}
	return 1;
}

static int
nlerr(struct mv_err *e, const char *ns, const char *what, const char *ifname,
    int rc)
{
	return mv_err_set(
	    e, "%s: %s %s: %s", ns, what, ifname, nl_geterror(rc));
}

/* Sets link ifname up (and its master, when master > 0). */
static int
link_up(struct nl_sock *sk, const char *ns, const char *ifname, int master,
    struct mv_err *e)
{
	struct rtnl_link *old = NULL, *chg;
	int rc;

	if ((rc = rtnl_link_get_kernel(sk, 0, ifname, &old)) < 0)
		return nlerr(e, ns, "find", ifname, rc);
	if (master > 0
	    && (rc = rtnl_link_enslave_ifindex(
	            sk, master, rtnl_link_get_ifindex(old)))
	        < 0) {
		rtnl_link_put(old);
		return nlerr(e, ns, "enslave", ifname, rc);
	}
	chg = rtnl_link_alloc();
	rtnl_link_set_flags(chg, IFF_UP);
	rc = rtnl_link_change(sk, old, chg, 0);
	rtnl_link_put(chg);
	rtnl_link_put(old);
	return rc < 0 ? nlerr(e, ns, "set up", ifname, rc) : 0;
}

static int
ifindex(struct nl_sock *sk, const char *ifname)
{
	struct rtnl_link *l = NULL;
	int i;

	if (rtnl_link_get_kernel(sk, 0, ifname, &l) < 0)
		return -1;
	i = rtnl_link_get_ifindex(l);
	rtnl_link_put(l);
	return i;
}

/* Adds addr/prefix to ifname. */
static int
addr_add(struct nl_sock *sk, const char *ns, const char *ifname,
    const char *addr, int prefix, struct mv_err *e)
{
	struct rtnl_addr *a;
	struct nl_addr *local = NULL;
	char s[64];
	int rc, idx = ifindex(sk, ifname);

	if (idx < 0)
		return mv_err_set(e, "%s: no link %s", ns, ifname);
	snprintf(s, sizeof(s), "%s/%d", addr, prefix);
	if ((rc = nl_addr_parse(s, AF_INET, &local)) < 0)
		return nlerr(e, ns, "address", s, rc);
	a = rtnl_addr_alloc();
	rtnl_addr_set_ifindex(a, idx);
	rtnl_addr_set_local(a, local);
	rc = rtnl_addr_add(sk, a, 0);
	rtnl_addr_put(a);
	nl_addr_put(local);
	return rc < 0 ? nlerr(e, ns, "add address to", ifname, rc) : 0;
}

/*
 * Joins namespace ns to the switch: a veth pair, port on the bridge in
 * the switch namespace, eth0 with addr in ns; lo up in ns.
 */
static int
join(struct mv_cluster *c, struct nl_sock *sw, int br, const char *ns,
    const char *port, const char *addr, struct mv_err *e)
{
	struct rtnl_link *v, *peer;
	struct nl_sock *sk;
	char path[512];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", NETNS_DIR, ns);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return mv_err_set(e, "%s: %s", path, strerror(errno));
	v = rtnl_link_veth_alloc();
	rtnl_link_set_name(v, port);
	peer = rtnl_link_veth_get_peer(v);
	rtnl_link_set_name(peer, NODE_IF);
	rtnl_link_set_ns_fd(peer, fd);
	rc = rtnl_link_add(sw, v, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(peer);
	rtnl_link_veth_release(v);
	close(fd);
	if (rc < 0)
		return nlerr(e, c->switch_ns, "add veth", port, rc);
	if (link_up(sw, c->switch_ns, port, br, e) < 0)
		return -1;
	if ((sk = mv_rtsock_open(ns, e)) == NULL)
		return -1;
	rc = link_up(sk, ns, "lo", 0, e) < 0
	    || link_up(sk, ns, NODE_IF, 0, e) < 0
	    || addr_add(sk, ns, NODE_IF, addr, c->prefix, e) < 0;
	nl_socket_free(sk);
	return rc ? -1 : 0;
}

/* The switch: a bridge in its namespace, every node and the client on it. */
static int
wire(struct mv_cluster *c, struct mv_err *e)
{
	struct nl_sock *sw;
	int br, rc = -1;
	size_t i;

	if ((sw = mv_rtsock_open(c->switch_ns, e)) == NULL)
		return -1;
	if ((br = rtnl_link_bridge_add(sw, c->bridge)) < 0) {
		nlerr(e, c->switch_ns, "add bridge", c->bridge, br);
		goto out;
	}
	if (link_up(sw, c->switch_ns, "lo", 0, e) < 0
	    || link_up(sw, c->switch_ns, c->bridge, 0, e) < 0
	    || (br = ifindex(sw, c->bridge)) < 0)
		goto out;
	for (i = 0; i < c->n; i++)
		if (join(c, sw, br, c->nodes[i].netns, c->nodes[i].port,
		        c->nodes[i].addr, e)
		    < 0)
			goto out;
	rc =
	    join(c, sw, br, c->client.netns, c->client.port, c->client.addr, e);
out:
	nl_socket_free(sw);
	return rc;
}

unsigned long long
mv_proc_start_time(long pid)
{
	char line[1024];
	const char *p = mv_proc_stat(pid, line, sizeof(line));
	unsigned long long t = 0;
	int i;

	if (p == NULL || *p == 'Z' || *p == 'X')
		return 0;
	/* Field 3 is the state; skip 19 fields to reach field 22. */
	for (i = 0; i < 19 && p; i++)
		if ((p = strchr(p, ' ')) != NULL)
			p++;
	if (p)
		t = strtoull(p, NULL, 10);
	return t;
}

int
mv_proc_hold(long pid, unsigned long long st, int *fd)
{
	*fd = -1;
#ifdef SYS_pidfd_open
	/* Held open, the descriptor names this very process, reused pid or
	 * not: check its start time after opening. */
	*fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
#endif
	if (mv_proc_start_time(pid) == st)
		return 1;
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
	return 0;
}

/*
 * In the new process: its own session, the node's namespace and data
 * directory, output to DIR/log; waits for the parent's go (EOF: the
 * parent died before logging us, so we must not run) and execs.
 */
static void
child(const char *netns, const char *dir, char **argv, int go)
{
	char path[4096], b;
	int fd, back;
	sigset_t none;
	struct mv_err e;

	setsid();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL), signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL), signal(SIGHUP, SIG_DFL);
	if (mv_netns_enter(netns, &back, &e) < 0)
		_exit(126);
	if (back >= 0)
		close(back);
	snprintf(path, sizeof(path), "%s/log", dir);
	if (chdir(dir) < 0
	    || (fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644)) < 0)
		_exit(126);
	dup2(fd, 1), dup2(fd, 2);
	close(fd);
	if ((fd = open("/dev/null", O_RDONLY)) >= 0) {
		dup2(fd, 0);
		if (fd > 0)
			close(fd);
	}
	if (read(go, &b, 1) != 1)
		_exit(125);
	/* Hold no descriptor of whoever started us (bats waits on fd 3). */
	for (fd = 3; fd < 1024; fd++)
		close(fd);
	execvp(argv[0], argv);
	fprintf(stderr, "mv-cluster: %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

pid_t
mv_fork_gated(int *go, int *rep, struct mv_err *e)
{
	int g[2], r[2];
	pid_t pid;

	if (pipe2(g, O_CLOEXEC) < 0)
		return mv_err_set(e, "pipe: %s", strerror(errno));
	if (pipe2(r, O_CLOEXEC) < 0) {
		close(g[0]), close(g[1]);
		return mv_err_set(e, "pipe: %s", strerror(errno));
	}
	if ((pid = fork()) == 0) {
		close(g[1]), close(r[0]);
		*go = g[0], *rep = r[1];
		return 0;
	}
	close(g[0]), close(r[1]);
	if (pid < 0) {
		close(g[1]), close(r[0]);
		return mv_err_set(e, "fork: %s", strerror(errno));
	}
	*go = g[1], *rep = r[0];
	return pid;
}

/*
 * Starts argv in namespace netns, detached (a grandchild, so nobody has
 * to reap it), logging "proc NETNS PID START" before letting it run.
 * With cg (not NULL) it is put into that cgroup before it execs, so that
 * all it forks is there too; *in_cg says whether that worked.
 */
static pid_t
spawn(const char *undo, const char *netns, const char *dir, char **argv,
    const char *cg, int *in_cg, unsigned long long *st, struct mv_err *e)
{
	struct mv_err why;

	int go, rep, status;
	pid_t mid, pid = -1;
	ssize_t n;

	if ((mid = mv_fork_gated(&go, &rep, e)) < 0)
		return -1;
	if (mid == 0) {
		if ((pid = fork()) == 0) {
			close(rep);
			child(netns, dir, argv, go);
		}
		n = write(rep, &pid, sizeof(pid));
		_exit(n == (ssize_t)sizeof(pid) ? 0 : 1);
	}
	while (waitpid(mid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	n = read(rep, &pid, sizeof(pid));
	close(rep);
	if (n != (ssize_t)sizeof(pid) || pid <= 0) {
		close(go);
		return mv_err_set(
		    e, "fork: %s", strerror(errno ? errno : EAGAIN));
	}
	*st = mv_proc_start_time(pid);
	if (logf_(undo, e, "proc %s %ld %llu", netns, (long)pid, *st) < 0) {
		close(go); /* it exits on EOF */
		return -1;
	}
	/* It waits for the go before it execs: nothing forked yet. */
	*in_cg = cg && mv_freezer_enter(cg, pid, &why) == 0;
	n = write(go, "g", 1);
	close(go);
	return pid;
}

pid_t
mv_cluster_start_node(
    struct mv_cluster *c, struct mv_cnode *nd, int restart, struct mv_err *e)
{
	const struct mv_jv *cmd = nd->start ? nd->start : c->start;
	char **argv;
	pid_t pid;
	int in_cg = 0;

	if (restart && (nd->restart || c->restart))
		cmd = nd->restart ? nd->restart : c->restart;
	if (c->undo_log == NULL || nd->netns == NULL)
		return mv_err_set(e, "%s: the cluster is not up", nd->name);
	if (mv_cluster_argv(c, nd, cmd, &argv, e) < 0)
		return -1;
	pid = spawn(c->undo_log, nd->netns, nd->dir, argv, nd->cgroup, &in_cg,
	    &nd->pid_start, e);
	mv_cluster_argv_free(argv);
	if (pid > 0)
		nd->pid = (long)pid;
	if (pid > 0 && !in_cg && nd->cgroup) {
		/* Not in its cgroup: a pause falls back to SIGSTOP. */
		free(nd->cgroup);
		nd->cgroup = NULL;
	}
	return pid;
}

/* Runs argv in namespace netns, output discarded; its exit status or -1. */
static int
run_in(const char *netns, char **argv, int64_t timeout_ns)
{
	int64_t end = mv_now_ns() + timeout_ns;
	int status, fd;
	pid_t pid, w;
	struct mv_err e;

	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		int back;

		setpgid(0, 0);
		if (mv_netns_enter(netns, &back, &e) < 0)
			_exit(126);
		if ((fd = open("/dev/null", O_RDWR)) >= 0)
			dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
		for (fd = 3; fd < 1024; fd++)
			close(fd);
		execvp(argv[0], argv);
		_exit(127);
	}
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 && mv_now_ns() < end)
		nap_ms(5);
	if (w == 0) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return -1;
	}
	if (w < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Waits until every node's ready command succeeds from the client. */
static int
wait_ready(struct mv_cluster *c, volatile sig_atomic_t *stop, struct mv_err *e)
{
	int64_t end = mv_now_ns() + c->ready_timeout, left;
	char **argv;
	size_t i;
	int rc;

	for (i = 0; i < c->n; i++) {
		struct mv_cnode *nd = &c->nodes[i];
		const struct mv_jv *r = nd->ready ? nd->ready : c->ready;

		if (r == NULL)
			continue;
		if (mv_cluster_argv(c, nd, r, &argv, e) < 0)
			return -1;
		for (;;) {
			if (stop && *stop) {
				mv_cluster_argv_free(argv);
				return mv_err_set(e, "interrupted");
			}
			left = end - mv_now_ns();
			rc = run_in(c->client.netns, argv,
			    left < 2000000000LL ? left : 2000000000LL);
			if (rc == 0)
				break;
			if (mv_now_ns() >= end
			    || mv_proc_start_time(nd->pid) == 0) {
				mv_cluster_argv_free(argv);
				return mv_err_set(e,
				    "%s: not ready after %lld ms%s (see "
				    "%s/log)",
				    nd->name,
				    (long long)(c->ready_timeout / 1000000),
				    mv_proc_start_time(nd->pid) ? ""
				                                : ": it exited",
				    nd->dir);
			}
			nap_ms(50);
		}
		mv_cluster_argv_free(argv);
	}
	return 0;
}

/* A fresh run id: 6 hex digits. */
static void
new_run_id(char *id, size_t n, unsigned attempt)
{
	struct mv_rng r;

	mv_rng_seed(
	    &r, (uint64_t)mv_wall_ns() ^ ((uint64_t)getpid() << 32) ^ attempt);
	snprintf(
	    id, n, "%06llx", (unsigned long long)(mv_rng_next(&r) & 0xffffff));
}

/* Creates the undo log, choosing the run id when none is given. */
static int
open_log(struct mv_cluster *c, const char *run_id, const char *undo,
    struct mv_err *e)
{
	char id[MV_CLUSTER_RUNID_MAX + 1], path[4096], probe[512];
	unsigned attempt;
	struct stat st;
	int fd = -1;

	for (attempt = 0; attempt < 16 && fd < 0; attempt++) {
		if (run_id)
			snprintf(id, sizeof(id), "%s", run_id);
		else
			new_run_id(id, sizeof(id), attempt);
		snprintf(probe, sizeof(probe), "%s/mv%s-sw", NETNS_DIR, id);
		if (undo)
			snprintf(path, sizeof(path), "%s", undo);
		else
			snprintf(
			    path, sizeof(path), "%s/mv%s.undo", c->base, id);
		if (stat(probe, &st) == 0) {
			if (run_id)
				return mv_err_set(
				    e, "run id %s: in use (%s)", id, probe);
			continue;
		}
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		/* Only a fresh id may try again, and only past an EEXIST. */
		if (fd < 0 && (run_id || undo || errno != EEXIST))
			return mv_err_set(e, "%s: %s", path, strerror(errno));
	}
	if (fd < 0)
		return mv_err_set(e, "no free run id");
	c->run_id = mv_xstrdup(id);
	c->undo_log = mv_xstrdup(path);
	dprintf(fd, "%s %s\n", UNDO_MAGIC, id);
	if (close(fd) < 0)
		return mv_err_set(e, "%s: %s", path, strerror(errno));
	return 0;
}

/* Fills in the runtime names: namespaces, ports, directories. */
static void
name_things(struct mv_cluster *c, const char *state)
{
	char s[4096];
	size_t i;

	snprintf(s, sizeof(s), "mv%s-sw", c->run_id);
	c->switch_ns = mv_xstrdup(s);
	c->bridge = mv_xstrdup("br0");
	snprintf(s, sizeof(s), "%s/mv%s", c->base, c->run_id);
	c->run_dir = mv_xstrdup(s);
	snprintf(s, sizeof(s), "%s/cluster.json", c->run_dir);
	c->state = mv_xstrdup(state ? state : s);
	snprintf(s, sizeof(s), "mv%s-client", c->run_id);
	c->client.netns = mv_xstrdup(s);
	c->client.port = mv_xstrdup("client");
	c->client.dir = mv_xstrdup(c->run_dir);
	for (i = 0; i < c->n; i++) {
		struct mv_cnode *nd = &c->nodes[i];

		snprintf(s, sizeof(s), "mv%s-%s", c->run_id, nd->name);
		nd->netns = mv_xstrdup(s);
		snprintf(s, sizeof(s), "p-%s", nd->name);
		nd->port = mv_xstrdup(s);
		snprintf(s, sizeof(s), "%s/%s", c->run_dir, nd->name);
		nd->dir = mv_xstrdup(s);
	}
}

static int
make_dirs(struct mv_cluster *c, struct mv_err *e)
{
	char s[4096];
	int fd;
	size_t i;

	if (logf_(c->undo_log, e, "dir %s", c->run_dir) < 0)
		return -1;
	if (mkdir(c->run_dir, 0755) < 0)
		return mv_err_set(e, "%s: %s", c->run_dir, strerror(errno));
	snprintf(s, sizeof(s), "%s/%s", c->run_dir, MARKER);
	if ((fd = open(s, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
		return mv_err_set(e, "%s: %s", s, strerror(errno));
	close(fd);
	for (i = 0; i < c->n; i++)
		if (mkdir(c->nodes[i].dir, 0755) < 0)
			return mv_err_set(
			    e, "%s: %s", c->nodes[i].dir, strerror(errno));
	return 0;
}

static int
make_netns(const struct mv_cluster *c, const char *name, struct mv_err *e)
{
	if (logf_(c->undo_log, e, "netns %s", name) < 0)
		return -1;
	return netns_add(name, e);
}

/*
 * The nodes' freezer cgroups ROOT/mvRUN/NODE, on the first hierarchy
 * that takes them (cgroup v2, else v1's freezer; MV_CLUSTER_FREEZER=v2,
 * v1 or none narrows the choice), each logged before it is made.  None
 * is no error: a pause then stops the processes with SIGSTOP.
 */
static int
make_cgroups(struct mv_cluster *c, struct mv_err *e)
{
	static const enum mv_freezer_kind kinds[] = {
	    MV_FREEZER_V2, MV_FREEZER_V1};
	static const char *const names[] = {"v2", "v1"};
	const char *only = getenv("MV_CLUSTER_FREEZER");
	char root[2048], s[4096];
	size_t i, k;

	for (k = 0; k < 2 && c->cgroup == NULL; k++) {
		if ((only && *only && strcmp(only, names[k]) != 0)
		    || mv_freezer_root(kinds[k], root, sizeof(root)) < 0)
			continue;
		snprintf(s, sizeof(s), "%s/mv%s", root, c->run_id);
		if (logf_(c->undo_log, e, "cgroup %s", s) < 0)
			return -1;
		if (mkdir(s, 0755) == 0)
			c->cgroup = mv_xstrdup(s);
	}
	for (i = 0; i < c->n; i++) {
		struct mv_cnode *nd = &c->nodes[i];

		free(nd->cgroup);
		nd->cgroup = NULL;
		if (c->cgroup == NULL)
			continue;
		snprintf(s, sizeof(s), "%s/%s", c->cgroup, nd->name);
		if (logf_(c->undo_log, e, "cgroup %s", s) < 0)
			return -1;
		if (mkdir(s, 0755) == 0
		    && mv_freezer_kind(s) != MV_FREEZER_NONE)
			nd->cgroup = mv_xstrdup(s);
	}
	return 0;
}

static int
build(struct mv_cluster *c, volatile sig_atomic_t *stop, struct mv_err *e)
{
	size_t i;

	if (make_dirs(c, e) < 0 || netns_dir(e) < 0
	    || make_netns(c, c->switch_ns, e) < 0
	    || make_netns(c, c->client.netns, e) < 0)
		return -1;
	for (i = 0; i < c->n; i++)
		if (make_netns(c, c->nodes[i].netns, e) < 0)
			return -1;
	if (wire(c, e) < 0 || make_cgroups(c, e) < 0)
		return -1;
	for (i = 0; i < c->n; i++) {
		if (stop && *stop)
			return mv_err_set(e, "interrupted");
		if (mv_cluster_start_node(c, &c->nodes[i], 0, e) < 0)
			return -1;
	}
	if (wait_ready(c, stop, e) < 0)
		return -1;
	return mv_cluster_save(c, e);
}

int
mv_cluster_up(struct mv_cluster *c, const char *run_id, const char *undo_log,
    const char *state, volatile sig_atomic_t *stop, struct mv_err *e)
{
	struct mv_err e2;

	if (c->run_id)
		return mv_err_set(e, "%s: already up (a state file, run %s)",
		    c->path, c->run_id);
	if (run_id
	    && !((run_id[0] >= 'a' && run_id[0] <= 'z')
	        || (run_id[0] >= '0' && run_id[0] <= '9'))) {
		return mv_err_set(
		    e, "invalid value for --run-id: '%s'", run_id);
	}
	if (run_id
	    && (strlen(run_id) > MV_CLUSTER_RUNID_MAX
	        || strspn(run_id, "abcdefghijklmnopqrstuvwxyz0123456789")
	            != strlen(run_id)))
		return mv_err_set(
		    e, "invalid value for --run-id: '%s'", run_id);
	if (open_log(c, run_id, undo_log, e) < 0)
		return -1;
	name_things(c, state);
	if (build(c, stop, e) == 0)
		return 0;
	if (mv_cluster_heal_log(c->undo_log, NULL, &e2) < 0) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", e->msg);
		mv_err_set(e, "%s (and undoing it: %s)", msg, e2.msg);
	}
	return -1;
}

int
mv_cluster_is_undo_log(const char *path)
{
	char line[64];
	FILE *f = fopen(path, "re");
	int ok;

	if (f == NULL)
		return 0;
	ok = fgets(line, sizeof(line), f) != NULL
	    && strncmp(line, UNDO_MAGIC " ", strlen(UNDO_MAGIC) + 1) == 0;
	fclose(f);
	return ok;
}

static int
rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)ftw;
	if (flag == FTW_DP)
		return rmdir(p) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(p) < 0 && errno != ENOENT ? -1 : 0;
}

/* Removes a run directory we made (it holds the marker): 1, 0 or -1. */
static int
rm_run_dir(const char *dir, struct mv_err *e)
{
	char marker[4096];
	struct stat st;

	if (lstat(dir, &st) < 0)
		return 0;
	if (snprintf(marker, sizeof(marker), "%s/%s", dir, MARKER)
	    >= (int)sizeof(marker))
		return mv_err_set(e, "%s: name too long", dir);
	if (access(marker, F_OK) < 0) {
		/* Killed between mkdir and the marker: only an empty one. */
		if (rmdir(dir) < 0)
			return mv_err_set(
			    e, "%s: not ours (no %s), kept", dir, MARKER);
		return 1;
	}
	if (nftw(dir, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
		return mv_err_set(e, "%s: %s", dir, strerror(errno));
	return 1;
}

/* Kills the process group of a logged process, if it is still that one. */
static int
kill_logged(long pid, unsigned long long st)
{
	int fd;

	/* Signalled through fd where there is one: never a pid's next owner. */
	if (pid <= 1 || st == 0 || !mv_proc_hold(pid, st, &fd))
		return 0;
	/* The pid is ours (same start time): its group too, made by setsid. */
	kill((pid_t)-pid, SIGKILL);
#ifdef SYS_pidfd_send_signal
	if (fd >= 0
	    && syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0) == 0)
		pid = 0;
#endif
	if (pid > 0)
		kill((pid_t)pid, SIGKILL);
	if (fd >= 0)
		close(fd);
	return 1;
}

/* The entries of an undo log. */
struct undo {
	char **line;
	size_t n, cap;
};

static int
read_undo(const char *path, struct undo *u, struct mv_err *e)
{
	char buf[1024];
	FILE *f = fopen(path, "re");
	size_t len;

	if (f == NULL)
		return mv_err_set(e, "%s: %s", path, strerror(errno));
	while (fgets(buf, sizeof(buf), f)) {
		len = strlen(buf);
		if (len && buf[len - 1] == '\n')
			buf[--len] = '\0';
		if (u->n == u->cap) {
			u->cap = u->cap ? 2 * u->cap : 16;
			u->line =
			    mv_xrealloc(u->line, u->cap * sizeof(*u->line));
		}
		u->line[u->n++] = mv_xstrdup(buf);
	}
	fclose(f);
	if (u->n == 0
	    || strncmp(u->line[0], UNDO_MAGIC " ", strlen(UNDO_MAGIC) + 1) != 0)
		return mv_err_set(e, "%s: not a cluster undo log", path);
	return 0;
}

/*
 * 1 if cg is the cgroup of run id or of one of its nodes (.../mvID or
 * .../mvID/NODE): a log names no other cgroup whose processes we kill.
 */
static int
cg_ours(const char *cg, const char *id)
{
	char want[64];
	const char *p;

	snprintf(want, sizeof(want), "/mv%s", id);
	if (*id == '\0' || strstr(cg, "/..") || (p = strstr(cg, want)) == NULL)
		return 0;
	p += strlen(want);
	return *p == '\0' || (*p == '/' && p[1] && !strchr(p + 1, '/'));
}

/*
 * The cgroup cg of run id: pass 0 kills (and thaws) what is in it, pass
 * 1 removes it (the nodes' before their parent: the log is read back).
 */
static int
undo_cgroup(const char *path, size_t lineno, const char *cg, const char *id,
    int pass, struct mv_err *e)
{
	if (!cg_ours(cg, id))
		return mv_err_set(
		    e, "%s:%zu: not a cgroup of run %s", path, lineno, id);
	if (pass == 0)
		return mv_freezer_kill(cg, KILL_NS, e) < 0 ? -1 : 0;
	return mv_freezer_remove(cg, KILL_NS, e) < 0 ? -1 : 0;
}

/* Undoes one entry; kind is 0 for processes, 1 for the rest. */
static int
undo_one(const char *path, size_t lineno, const char *line, const char *id,
    int pass, struct mv_heal_counts *n, struct mv_err *e)
{
	char a[512], b[4096];
	long pid;
	unsigned long long st;
	int rc;

	if (sscanf(line, "proc %511s %ld %llu", a, &pid, &st) == 3) {
		if (pass == 0)
			n->procs += (size_t)kill_logged(pid, st);
		return 0;
	}
	/* A one-shot partition's packet counter (mv-nemesis partcount.c),
	 * its own session: "cap PID START KIND TABLE FILE". */
	if (sscanf(line, "cap %ld %llu", &pid, &st) == 2) {
		if (pass == 0)
			n->procs += (size_t)kill_logged(pid, st);
		return 0;
	}
	if (strncmp(line, "cgroup /", 8) == 0)
		return undo_cgroup(path, lineno, line + 7, id, pass, e);
	if (pass == 0)
		return 0;
	if (sscanf(line, "netns %511s", a) == 1) {
		if ((rc = netns_del(a, e)) < 0)
			return -1;
		n->netns += (size_t)rc;
		return 0;
	}
	if (strncmp(line, "dir /", 5) == 0) {
		snprintf(b, sizeof(b), "%s", line + 4);
		if ((rc = rm_run_dir(b, e)) < 0)
			return -1;
		n->dirs += (size_t)rc;
		return 0;
	}
	/* Tables go with the switch namespace they are in. */
	if (sscanf(line, "nft %511s %511s", a, b) == 2) {
		n->tables++;
		return 0;
	}
	/* So do bandwidth limits and netem trees (qdiscs on its ports). */
	if (sscanf(line, "tbf %511s %511s", a, b) == 2
	    || sscanf(line, "netem %511s %511s", a, b) == 2)
		return 0;
	return mv_err_set(e, "%s:%zu: unknown entry", path, lineno);
}

int
mv_cluster_heal_log(
    const char *path, struct mv_heal_counts *counts, struct mv_err *e)
{
	struct mv_heal_counts dummy;
	struct undo u = {NULL, 0, 0};
	struct mv_err e1;
	size_t i;
	int pass, failed = 0;

	if (counts == NULL)
		counts = &dummy;
	memset(counts, 0, sizeof(*counts));
	if (read_undo(path, &u, e) < 0)
		failed = 1;
	/* Processes first, then the rest in the reverse of making. */
	for (pass = 0; pass < 2 && !failed; pass++)
		for (i = u.n; i-- > 1;)
			if (undo_one(path, i + 1, u.line[i],
			        u.line[0] + strlen(UNDO_MAGIC) + 1, pass,
			        counts, &e1)
			        < 0
			    && !failed++)
				*e = e1;
	for (i = 0; i < u.n; i++)
		free(u.line[i]);
	free(u.line);
	if (failed)
		return -1;
	if (unlink(path) < 0 && errno != ENOENT)
		return mv_err_set(e, "%s: %s", path, strerror(errno));
	return 0;
}

int
mv_cluster_node_alive(const struct mv_cnode *nd)
{
	return nd->pid > 1 && nd->pid_start != 0
	    && mv_proc_start_time(nd->pid) == nd->pid_start;
}

size_t
mv_cluster_signal_all(const struct mv_cluster *c, int sig)
{
	char path[512];
	dev_t dev;
	ino_t ino;
	size_t i, n = 0;

	for (i = 0; i < c->n; i++) {
		if (c->nodes[i].netns == NULL
		    || snprintf(path, sizeof(path), "%s/%s", NETNS_DIR,
		           c->nodes[i].netns)
		        >= (int)sizeof(path)
		    || ns_id(path, &dev, &ino) < 0)
			continue;
		n += ns_signal(dev, ino, sig);
	}
	return n;
}
