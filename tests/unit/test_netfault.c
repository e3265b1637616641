/*
 * test_netfault.c: grudge matrices, and (as root) real partitions, loss
 * and duplication on a throw-away cluster of network namespaces: a switch
 * namespace with a bridge and three nodes, all named after our pid and
 * removed at exit whatever happens.
 */
#define _GNU_SOURCE /* setns */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "mv.h"
#include "netfault.h"
#include "tap.h"

/* ---- grudges ---- */

/* 1 if the diagonal is clear and cut is symmetric (both ways). */
static int
symmetric(const unsigned char *c, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (c[i * n + i])
			return 0;
		for (j = 0; j < n; j++)
			if (c[i * n + j] != c[j * n + i])
				return 0;
	}
	return 1;
}

/*
 * 1 if c cuts exactly side a (mask bit set) from side b both ways,
 * leaving both sides whole, with the nodes in mid (mask) seeing all.
 */
static int
two_sides(const unsigned char *c, size_t n, unsigned a, unsigned mid)
{
	size_t i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++) {
			int ai = (a >> i) & 1, aj = (a >> j) & 1;
			int want = i != j && !((mid >> i) & 1)
			    && !((mid >> j) & 1) && ai != aj;

			if ((c[i * n + j] != 0) != want)
				return 0;
		}
	return 1;
}

/* The side of node 0 read off the matrix: the nodes it is not cut from. */
static unsigned
side_of(const unsigned char *c, size_t n, size_t k)
{
	unsigned m = 0;
	size_t j;

	for (j = 0; j < n; j++)
		if (!c[k * n + j])
			m |= 1u << j;
	return m;
}

static int
popcount(unsigned m)
{
	int k = 0;

	for (; m; m &= m - 1)
		k++;
	return k;
}

static void
grudges(size_t n)
{
	unsigned char c[64], d[64];
	char name[128];
	struct mv_err e;
	enum mv_grudge_kind k;
	unsigned a, all = (1u << n) - 1;
	size_t i, j, seen;
	int r, differ = 0;
	uint64_t s;

	r = mv_grudge(MV_GRUDGE_HALVES, n, 0, -1, 0, c, &e);
	a = (1u << (n / 2)) - 1;
	snprintf(name, sizeof(name), "n=%zu halves: first n/2 | rest", n);
	OK(r == (int)(2 * (n / 2) * (n - n / 2)) && two_sides(c, n, a, 0),
	    name);
	r = mv_grudge(MV_GRUDGE_HALVES, n, 0, -1, 1, d, &e);
	snprintf(name, sizeof(name), "n=%zu directed halves: one way", n);
	OK(r == (int)((n / 2) * (n - n / 2)) && d[0 * n + n - 1]
	        && !d[(n - 1) * n + 0],
	    name);

	for (s = 1; s <= 20; s++) {
		mv_grudge(MV_GRUDGE_RANDOM_HALVES, n, s, -1, 0, c, &e);
		mv_grudge(MV_GRUDGE_RANDOM_HALVES, n, s, -1, 0, d, &e);
		a = side_of(c, n, 0);
		if (memcmp(c, d, n * n) != 0 || !symmetric(c, n)
		    || !two_sides(c, n, a, 0)
		    || (popcount(a) != (int)(n / 2)
		        && popcount(a) != (int)(n - n / 2)))
			break;
		mv_grudge(MV_GRUDGE_RANDOM_HALVES, n, s + 100, -1, 0, d, &e);
		differ += memcmp(c, d, n * n) != 0;
	}
	snprintf(name, sizeof(name),
	    "n=%zu random-halves: halves, same seed same cut, seeds differ", n);
	OK(s == 21 && differ > 0, name);

	r = mv_grudge(MV_GRUDGE_ISOLATE, n, 0, 1, 0, c, &e);
	snprintf(name, sizeof(name), "n=%zu isolate node 1", n);
	OK(r == (int)(2 * (n - 1)) && two_sides(c, n, 1u << 1, 0), name);
	r = mv_grudge(MV_GRUDGE_ISOLATE, n, 0, 1, 1, c, &e);
	snprintf(name, sizeof(name), "n=%zu directed isolate: node 1 mute", n);
	OK(r == (int)(n - 1) && c[1 * n + 0] && !c[0 * n + 1], name);
	r = mv_grudge(MV_GRUDGE_ISOLATE, n, 7, -1, 0, c, &e);
	a = all & ~side_of(c, n, 0);
	if (popcount(a) != 1)
		a = side_of(c, n, 0);
	snprintf(name, sizeof(name), "n=%zu isolate a seeded node", n);
	OK(r == (int)(2 * (n - 1)) && popcount(a) == 1 && two_sides(c, n, a, 0),
	    name);

	r = mv_grudge(MV_GRUDGE_MAJORITY, n, 3, -1, 0, c, &e);
	a = side_of(c, n, 0);
	if (popcount(a) > (int)n / 2)
		a = all & ~a;
	snprintf(
	    name, sizeof(name), "n=%zu majority-minority: strict majority", n);
	OK(r > 0 && popcount(a) == (int)(n - 1) / 2 && two_sides(c, n, a, 0),
	    name);

	r = mv_grudge(MV_GRUDGE_MAJORITIES_RING, n, 5, -1, 0, c, &e);
	for (seen = 0, j = 0; j < n; j++) {
		unsigned hears = 0;

		for (i = 0; i < n; i++)
			if (!c[i * n + j])
				hears |= 1u << i;
		if (popcount(hears) != (int)(n / 2 + 1) || !((hears >> j) & 1))
			break;
		for (i = 0; i < j; i++) {
			unsigned h2 = 0;
			size_t t;

			for (t = 0; t < n; t++)
				if (!c[t * n + i])
					h2 |= 1u << t;
			if (h2 == hears)
				break;
		}
		seen += i == j;
	}
	snprintf(name, sizeof(name),
	    "n=%zu majorities-ring: each hears a distinct majority", n);
	OK(r > 0 && j == n && seen == n, name);

	r = mv_grudge(MV_GRUDGE_BRIDGE, n, 9, -1, 0, c, &e);
	for (a = 0, i = 0; i < n; i++)
		if (side_of(c, n, i) == all)
			a |= 1u << i;
	snprintf(
	    name, sizeof(name), "n=%zu bridge: one node sees both halves", n);
	OK(r > 0 && popcount(a) == 1 && symmetric(c, n)
	        && two_sides(c, n, side_of(c, n, a == 1 ? 1 : 0) & ~a, a),
	    name);

	for (k = MV_GRUDGE_HALVES; k <= MV_GRUDGE_BRIDGE; k++) {
		enum mv_grudge_kind k2;

		if (mv_grudge_kind_parse(mv_grudge_kind_name(k), &k2, &e) < 0
		    || k2 != k)
			break;
	}
	snprintf(name, sizeof(name), "n=%zu kind names round-trip", n);
	OK(k > MV_GRUDGE_BRIDGE, name);
}

static void
grudge_errors(void)
{
	unsigned char c[16];
	struct mv_err e;
	enum mv_grudge_kind k;

	OK(mv_grudge(MV_GRUDGE_HALVES, 1, 0, -1, 0, c, &e) < 0
	        && strstr(e.msg, "halves needs 2") != NULL,
	    "one node cannot be partitioned");
	OK(mv_grudge(MV_GRUDGE_MAJORITIES_RING, 2, 0, -1, 0, c, &e) < 0,
	    "majorities-ring needs 3 nodes");
	OK(mv_grudge(MV_GRUDGE_ISOLATE, 3, 0, 3, 0, c, &e) < 0
	        && strcmp(e.msg, "no node 3 among 3") == 0,
	    "isolating a node that does not exist fails");
	OK(mv_grudge_kind_parse("thirds", &k, &e) < 0
	        && strcmp(e.msg, "unknown partition kind: thirds") == 0,
	    "unknown kind named");
	OK(mv_grudge_kind_parse("minority", &k, &e) == 0
	        && k == MV_GRUDGE_MAJORITY,
	    "minority is majority-minority");
}

/* ---- the cluster ---- */

#define N 3
#include "nstopo.h"

static char nname[N][16];

static int
setup(void)
{
	int i;

	for (i = 0; i < N; i++)
		snprintf(nname[i], sizeof(nname[i]), "n%d", i + 1);
	return nstopo_setup("mvnf", 213);
}

static int udp[N];

static struct sockaddr_in
sin_of(int i, int p)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)p);
	inet_pton(AF_INET, addr[i], &a.sin_addr);
	return a;
}

/* One UDP socket per node, bound to its address, port 9000. */
static int
udp_open(void)
{
	struct sockaddr_in a;
	int i;

	for (i = 0; i < N; i++) {
		udp[i] = ns_socket(nsn[i], SOCK_DGRAM);
		a = sin_of(i, 9000);
		if (bind(udp[i], (struct sockaddr *)&a, sizeof(a)) < 0)
			return -1;
		fcntl(udp[i], F_SETFL, O_NONBLOCK);
	}
	return 0;
}

/*
 * Sends k datagrams from node s to node d, and counts what d receives
 * within wait_ms of the last one, or until want arrived (0: wait).
 */
static int
udp_want(int s, int d, int k, int want, int wait_ms)
{
	struct sockaddr_in a = sin_of(d, 9000);
	struct pollfd p = {udp[d], POLLIN, 0};
	char b[64];
	int i, got = 0;

	while (recv(udp[d], b, sizeof(b), 0) > 0)
		;
	for (i = 0; i < k; i++)
		sendto(udp[s], "ping", 4, 0, (struct sockaddr *)&a, sizeof(a));
	while ((want == 0 || got < want) && poll(&p, 1, wait_ms) > 0)
		while (recv(udp[d], b, sizeof(b), 0) > 0)
			got++;
	return got;
}

/* As udp_want, waiting for all k only when they may arrive. */
static int
udp_reach(int s, int d, int k, int wait_ms)
{
	return udp_want(s, d, k, k, wait_ms);
}

/* Reads the totals "sent" and "crossed" off a report. */
static int
totals(const char *json, unsigned long long *sent, unsigned long long *cr)
{
	const char *p = strstr(json, "],\"sent\":");

	return p != NULL
	    && sscanf(p, "],\"sent\":%llu,\"crossed\":%llu", sent, cr) == 2;
}

static struct mv_nf_node nodes[N];

static void
spec_of(struct mv_nf_spec *s, const char *table, const unsigned char *cut,
    enum mv_nf_kind k, unsigned pct)
{
	memset(s, 0, sizeof(*s));
	s->netns = sw;
	s->table = table;
	s->nodes = nodes;
	s->n = N;
	s->cut = cut;
	s->kind = k;
	s->percent = pct;
	s->capture = 1;
}

/* Time of an operation in ms, for the report. */
static double
ms_since(int64_t t0)
{
	return (double)(mv_now_ns() - t0) / 1e6;
}

static char pfx[32], tab[64];

static const char *
tname(int k)
{
	snprintf(tab, sizeof(tab), "%s%d", pfx, k);
	return tab;
}

static void
partition(void)
{
	unsigned char cut[N * N];
	struct mv_nf_spec s;
	struct mv_netfault *f;
	struct mv_buf out = MV_BUF_INIT;
	struct mv_err e;
	unsigned long long sent = 0, cr = 1;
	int64_t t0;
	double up, heal;
	int r;

	mv_grudge(MV_GRUDGE_ISOLATE, N, 0, 0, 0, cut, &e);
	spec_of(&s, tname(1), cut, MV_NF_DROP, 0);
	t0 = mv_now_ns();
	f = mv_netfault_start(&s, &e);
	up = ms_since(t0);
	if (!OK(f != NULL, "isolate n1: rules installed"))
		printf("# %s\n", e.msg);
	if (f == NULL)
		return;
	OK(udp_want(0, 1, 5, 0, 200) == 0 && udp_want(1, 0, 5, 0, 100) == 0
	        && udp_want(2, 0, 5, 0, 100) == 0,
	    "n1 cut both ways");
	OK(udp_reach(1, 2, 5, 300) == 5, "n2 and n3 still talk");
	t0 = mv_now_ns();
	r = mv_netfault_stop(f, &out, &e);
	heal = ms_since(t0);
	printf("# %s\n", out.p);
	OK(r == 1 && strstr(out.p, "\"effective\":true") != NULL
	        && totals(out.p, &sent, &cr) && sent >= 15 && cr == 0,
	    "stop reports sent > 0, crossed 0, effective");
	OK(strstr(out.p,
	       "{\"from\":\"n1\",\"to\":\"n2\",\"sent\":5,"
	       "\"crossed\":0,\"dropped\":5}")
	        != NULL,
	    "per-link counts");
	OK(udp_reach(0, 1, 5, 300) == 5 && udp_reach(1, 0, 5, 300) == 5,
	    "healed: n1 talks again");
	printf("# partition set-up %.2f ms, heal %.2f ms (3 nodes, with "
	       "captures)\n",
	    up, heal);
	mv_buf_release(&out);
	s.capture = 0;
	up = heal = 0;
	for (r = 0; r < 5; r++) {
		t0 = mv_now_ns();
		if ((f = mv_netfault_start(&s, &e)) == NULL)
			break;
		up += ms_since(t0);
		t0 = mv_now_ns();
		mv_netfault_stop(f, NULL, &e);
		heal += ms_since(t0);
	}
	OK(r == 5, "start and stop without captures");
	printf("# partition set-up %.2f ms, heal %.2f ms (no captures, mean "
	       "of 5)\n",
	    up / 5, heal / 5);
}

static void
directed_and_idle(void)
{
	unsigned char cut[N * N];
	struct mv_nf_spec s;
	struct mv_netfault *f;
	struct mv_buf out = MV_BUF_INIT;
	struct mv_err e;

	mv_grudge(MV_GRUDGE_ISOLATE, N, 0, 0, 1, cut, &e);
	spec_of(&s, tname(2), cut, MV_NF_DROP, 0);
	if ((f = mv_netfault_start(&s, &e)) == NULL) {
		OK(0, e.msg);
		return;
	}
	OK(udp_want(0, 1, 3, 0, 200) == 0 && udp_reach(1, 0, 3, 300) == 3,
	    "directed: n1 mute, still hears n2");
	mv_netfault_stop(f, NULL, &e);

	mv_grudge(MV_GRUDGE_ISOLATE, N, 0, 2, 0, cut, &e);
	spec_of(&s, tname(3), cut, MV_NF_DROP, 0);
	if ((f = mv_netfault_start(&s, &e)) == NULL) {
		OK(0, e.msg);
		return;
	}
	OK(mv_netfault_stop(f, &out, &e) == 0
	        && strstr(out.p,
	               "\"effective\":null,\"reason\":\"no packet "
	               "was sent on the faulty links\"")
	            != NULL,
	    "no traffic: efficacy unknown, not assumed");
	mv_buf_release(&out);
}

static void
reject(void)
{
	unsigned char cut[N * N];
	struct mv_nf_spec s;
	struct mv_netfault *f;
	struct mv_buf out = MV_BUF_INIT;
	struct mv_err e;
	struct sockaddr_in a = sin_of(1, 9001);
	int l, c, rc, one = 1;
	int64_t t0;

	l = ns_socket(nsn[1], SOCK_STREAM);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 8) < 0) {
		OK(0, "listen in n2");
		close(l);
		return;
	}
	mv_grudge(MV_GRUDGE_ISOLATE, N, 0, 0, 0, cut, &e);
	spec_of(&s, tname(4), cut, MV_NF_REJECT, 0);
	if ((f = mv_netfault_start(&s, &e)) == NULL) {
		OK(0, e.msg);
		close(l);
		return;
	}
	c = ns_socket(nsn[0], SOCK_STREAM);
	t0 = mv_now_ns();
	rc = connect(c, (struct sockaddr *)&a, sizeof(a));
	OK(rc < 0 && errno == ECONNREFUSED && ms_since(t0) < 500,
	    "reject: connect from n1 refused at once");
	close(c);
	OK(udp_want(0, 1, 3, 0, 200) == 0, "reject: n1's datagrams lost");
	OK(mv_netfault_stop(f, &out, &e) == 1
	        && strstr(out.p, "\"kind\":\"reject\"") != NULL
	        && strstr(out.p, "\"effective\":true") != NULL,
	    "reject: effective");
	printf("# %s\n", out.p);
	c = ns_socket(nsn[0], SOCK_STREAM);
	OK(connect(c, (struct sockaddr *)&a, sizeof(a)) == 0,
	    "reject healed: connect works");
	close(c);
	close(l);
	mv_buf_release(&out);
}

static void
loss_dup(void)
{
	unsigned char cut[N * N] = {0};
	struct mv_nf_spec s;
	struct mv_netfault *f;
	struct mv_buf out = MV_BUF_INIT;
	struct mv_err e;
	int got;

	cut[1 * N + 2] = 1;
	spec_of(&s, tname(5), cut, MV_NF_LOSS, 50);
	if ((f = mv_netfault_start(&s, &e)) == NULL) {
		OK(0, e.msg);
		return;
	}
	got = udp_want(1, 2, 200, 0, 200);
	OK(got > 40 && got < 160 && udp_reach(2, 1, 20, 300) == 20,
	    "loss 50% on n2 -> n3 only");
	OK(mv_netfault_stop(f, &out, &e) == 1
	        && strstr(out.p, "\"effective\":true") != NULL,
	    "loss: effective");
	printf("# loss: %d of 200 arrived; %s\n", got, out.p);
	mv_buf_reset(&out);
	spec_of(&s, tname(6), cut, MV_NF_DUP, 100);
	if ((f = mv_netfault_start(&s, &e)) == NULL) {
		OK(0, e.msg);
		return;
	}
	OK(udp_want(1, 2, 10, 0, 200) == 20, "dup 100%: each datagram twice");
	OK(mv_netfault_stop(f, &out, &e) == 1
	        && strstr(out.p, "\"duplicated\":10") != NULL,
	    "dup: effective, 10 duplicated");
	printf("# %s\n", out.p);
	mv_buf_release(&out);
}

/* Undo by name and by prefix, as after a SIGKILL; others' tables stay. */
static void
undo(void)
{
	unsigned char cut[N * N];
	struct mv_nf_spec s;
	struct mv_netfault *f, *g;
	struct mv_buf out = MV_BUF_INIT;
	struct mv_err e;

	mv_grudge(MV_GRUDGE_HALVES, N, 0, -1, 0, cut, &e);
	spec_of(&s, tname(7), cut, MV_NF_DROP, 0);
	f = mv_netfault_start(&s, &e);
	OK(f != NULL && mv_netfault_start(&s, &e) == NULL
	        && strstr(e.msg, "nftables") != NULL,
	    "a table name in use is refused");
	if (f == NULL)
		return;
	OK(mv_netfault_table_del(sw, tname(7), &e) == 1
	        && mv_netfault_table_del(sw, tname(7), &e) == 0,
	    "undo by name; again is a no-op");
	OK(mv_netfault_stop(f, &out, &e) == 0
	        && strstr(out.p,
	               "\"effective\":false,\"reason\":\"the table "
	               "was gone")
	            != NULL,
	    "a fault healed behind our back is not reported effective");
	mv_buf_release(&out);

	/* rules emptied behind our back: traffic crosses, and stop says so */
	spec_of(&s, tname(12), cut, MV_NF_DROP, 0);
	if ((f = mv_netfault_start(&s, &e)) != NULL) {
		sh("ip netns exec %s nft flush chain bridge %s cut", sw,
		    tname(12));
		udp_reach(0, 2, 3, 300);
		OK(mv_netfault_stop(f, &out, &e) == 0
		        && strstr(out.p,
		               "\"crossed\":3,\"effective\":false,"
		               "\"reason\":\"3 packets crossed")
		            != NULL,
		    "a cut that lets packets cross is reported not effective");
		printf("# %s\n", out.p);
		mv_buf_release(&out);
	} else
		OK(0, e.msg);

	sh("ip netns exec %s nft add table bridge keep_%s", sw, pfx);
	spec_of(&s, tname(8), cut, MV_NF_DROP, 0);
	f = mv_netfault_start(&s, &e);
	spec_of(&s, tname(9), cut, MV_NF_REJECT, 0);
	g = mv_netfault_start(&s, &e);
	OK(f != NULL && g != NULL && mv_netfault_purge(sw, pfx, &e) == 2
	        && mv_netfault_purge(sw, pfx, &e) == 0,
	    "purge removes both families' tables of the run");
	OK(sh("ip netns exec %s nft list table bridge keep_%s >/dev/null", sw,
	       pfx)
	        == 0,
	    "purge leaves others' tables alone");
	if (f)
		mv_netfault_stop(f, NULL, &e);
	if (g)
		mv_netfault_stop(g, NULL, &e);

	spec_of(&s, tname(10), cut, MV_NF_DROP, 0);
	nodes[2].port = "nosuchport";
	f = mv_netfault_start(&s, &e);
	nodes[2].port = port[2];
	OK(f == NULL && strstr(e.msg, "nosuchport") != NULL
	        && mv_netfault_purge(sw, pfx, &e) == 0,
	    "a capture that cannot open fails the start, leaving no table");
	s.table = "1bad-name";
	OK(mv_netfault_start(&s, &e) == NULL
	        && strcmp(e.msg, "bad nftables table name: 1bad-name") == 0,
	    "bad table name refused");
	spec_of(&s, tname(11), cut, MV_NF_DROP, 0);
	s.netns = "mvnf-no-such-ns";
	OK(mv_netfault_start(&s, &e) == NULL
	        && strstr(e.msg, "/run/netns/mvnf-no-such-ns") != NULL,
	    "missing namespace named");
	OK(mv_netfault_purge(sw, "mv", &e) < 0, "a too short prefix refused");
}

static void
network(void)
{
	struct mv_err e;
	int i;

	if (geteuid() != 0) {
		printf("ok %d - network faults # skip not root\n", ++tap_n);
		return;
	}
	if (setup() < 0 || udp_open() < 0) {
		printf("ok %d - network faults # skip cannot build namespaces "
		       "(needs iproute2 and CAP_SYS_ADMIN)\n",
		    ++tap_n);
		return;
	}
	for (i = 0; i < N; i++) {
		nodes[i].name = nname[i];
		nodes[i].addr = addr[i];
		nodes[i].port = port[i];
	}
	snprintf(pfx, sizeof(pfx), "mv_t%d-u_", (int)getpid());
	OK(udp_reach(0, 1, 3, 1000) == 3 && udp_reach(2, 0, 3, 1000) == 3,
	    "the cluster talks");
	partition();
	directed_and_idle();
	reject();
	loss_dup();
	undo();
	OK(mv_netfault_purge(sw, pfx, &e) == 0, "no table of ours remains");
	sh("ip netns exec %s nft delete table bridge keep_%s", sw, pfx);
	for (i = 0; i < N; i++)
		close(udp[i]);
	teardown();
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	grudges(3);
	grudges(5);
	grudges(4);
	grudge_errors();
	network();
	return TAP_DONE();
}
