/*
 * ns.c: entering and leaving network namespaces, and name checks (ns.h).
 */
#define _GNU_SOURCE /* setns(2) */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netfault.h"
#include "ns.h"

int
mv_netns_enter(const char *name, int *back, struct mv_err *e)
{
	char path[4096];
	int fd;

	*back = -1;
	if (name == NULL || name[0] == '\0' || strlen(name) > 4000)
		return mv_err_set(e, "bad namespace name");
	if (name[0] == '/')
		snprintf(path, sizeof(path), "%s", name);
	else if (strchr(name, '/') != NULL || strcmp(name, "..") == 0
	    || strcmp(name, ".") == 0)
		return mv_err_set(e, "bad namespace name: %s", name);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return mv_err_set(e, "%s: %s", path, strerror(errno));
	if ((*back = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC))
	    < 0) {
		close(fd);
		return mv_err_set(
		    e, "/proc/thread-self/ns/net: %s", strerror(errno));
	}
	if (setns(fd, CLONE_NEWNET) < 0) {
		mv_err_set(e, "%s: setns: %s", path, strerror(errno));
		close(fd);
		close(*back);
		*back = -1;
		return -1;
	}
	close(fd);
	return 0;
}

void
mv_netns_leave(int back)
{
	if (back < 0)
		return;
	if (setns(back, CLONE_NEWNET) < 0) {
		perror("mv: setns back to the original namespace");
		abort();
	}
	close(back);
}

/* Whether c is in [A-Za-z0-9_-] or is one of the bytes in more. */
static int
name_byte(unsigned char c, const char *more)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	    || (c >= '0' && c <= '9') || c == '_' || c == '-'
	    || (c != '\0' && strchr(more, c) != NULL);
}

int
mv_table_name_ok(const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n == 0 || n > 64
	    || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (i = 0; i < n; i++)
		if (!name_byte((unsigned char)s[i], ""))
			return 0;
	return 1;
}

int
mv_ifname_ok(const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n == 0 || n > 15)
		return 0;
	for (i = 0; i < n; i++)
		if (!name_byte((unsigned char)s[i], "."))
			return 0;
	return 1;
}

int
mv_nf_table_check(const char *table, struct mv_err *e)
{
	if (table == NULL || !mv_table_name_ok(table))
		return mv_err_set(
		    e, "bad nftables table name: %s", table ? table : "(null)");
	return 0;
}

int
mv_ipv4_parse(const char *s, uint32_t *ip)
{
	struct in_addr a;

	if (s == NULL || inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*ip = a.s_addr;
	return 0;
}

int
mv_nf_nodes_check(const char *table, const struct mv_nf_node *nodes, size_t n,
    uint32_t *ip, struct mv_err *e)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		const struct mv_nf_node *d = &nodes[i];

		if (d->name == NULL
		    || !mv_node_name_ok(d->name, strlen(d->name))
		    || d->port == NULL || !mv_ifname_ok(d->port)
		    || mv_ipv4_parse(d->addr, &ip[i]) < 0)
			return mv_err_set(e,
			    "%s: node %zu: bad name, address (IPv4) or port",
			    table, i);
		for (j = 0; j < i; j++)
			if (ip[j] == ip[i]
			    || strcmp(nodes[j].port, d->port) == 0)
				return mv_err_set(e,
				    "%s: nodes %zu and %zu share an address "
				    "or a port",
				    table, j, i);
	}
	return 0;
}
