/*
 * nstopo.h: the throw-away cluster of the namespace unit tests (as
 * root): a switch namespace holding a bridge, and N nodes, each a
 * namespace whose eth0 is a veth to a port on that bridge, all named
 * after a tag and our pid and removed at exit whatever happens.
 *
 * Included by one test file each (so static); the includer defines
 * _GNU_SOURCE (setns) and N before including it.
 */
#ifndef NSTOPO_H
#define NSTOPO_H

#include <sys/socket.h>

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char sw[32], nsn[N][32], port[N][32], addr[N][32];
static int made;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* Removes the whole topology; deleting a namespace deletes its veths. */
static void
teardown(void)
{
	int i;

	if (!made)
		return;
	made = 0;
	for (i = 0; i < N; i++)
		sh("ip netns del %s 2>/dev/null", nsn[i]);
	sh("ip netns del %s 2>/dev/null", sw);
}

static void
on_signal(int sig)
{
	(void)sig;
	exit(1); /* runs teardown */
}

/*
 * Builds the topology: namespaces and ports named TAG<pid>s, TAG<pid>nI,
 * TAG<pid>pI, node I at 10.NET.0.I/24.  A test's own tag and net keep two
 * tests running at once apart.  0, or -1 (teardown still runs at exit).
 */
static int
nstopo_setup(const char *tag, int net)
{
	int i, pid = (int)(getpid() % 1000000); /* ports: 15 bytes at most */

	snprintf(sw, sizeof(sw), "%s%ds", tag, pid);
	for (i = 0; i < N; i++) {
		snprintf(nsn[i], sizeof(nsn[i]), "%s%dn%d", tag, pid, i + 1);
		snprintf(port[i], sizeof(port[i]), "%s%dp%d", tag, pid, i + 1);
		snprintf(addr[i], sizeof(addr[i]), "10.%d.0.%d", net, i + 1);
	}
	made = 1;
	atexit(teardown);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (sh("ip netns add %s && ip -n %s link add br0 type bridge && "
	       "ip -n %s link set br0 up",
	        sw, sw, sw)
	    != 0)
		return -1;
	for (i = 0; i < N; i++)
		if (sh("ip netns add %s && ip link add %s netns %s type veth "
		       "peer name eth0 netns %s && ip -n %s link set %s master "
		       "br0 up && ip -n %s addr add %s/24 dev eth0 && "
		       "ip -n %s link set eth0 up && ip -n %s link set lo up",
		        nsn[i], port[i], sw, nsn[i], sw, port[i], nsn[i],
		        addr[i], nsn[i], nsn[i])
		    != 0)
			return -1;
	return 0;
}

/* A socket of type t made inside namespace ns (it stays there). */
static int
ns_socket(const char *ns, int t)
{
	char path[64];
	int back, fd, s;

	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	back = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (back < 0 || fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
		perror(path);
		exit(2);
	}
	s = socket(AF_INET, t | SOCK_CLOEXEC, 0);
	if (setns(back, CLONE_NEWNET) < 0)
		abort();
	close(fd);
	close(back);
	return s;
}

#endif
