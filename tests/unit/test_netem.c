/*
 * test_netem.c: (as root) the netem probe and the htb + u32 tree of
 * netem.h on a throw-away cluster of network namespaces (nstopo.h).  The
 * tree is tested with pfifo leaves, which every kernel has: the u32
 * filters must send the chosen source's packets, and only those, to its
 * class (tc -s class counts them too); with netem leaves where the probe
 * says the kernel has netem, else the start must fail with the kernel's
 * words and leave nothing.  A rate on one link's class limits that link
 * only.
 */
#define _GNU_SOURCE /* setns */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "delay.h"
#include "mv.h"
#include "netem.h"
#include "netfault.h"
#include "tap.h"

#define N 3
#include "nstopo.h"

static struct mv_nf_node nodes[N];
static int rx = -1; /* node 3's UDP socket, port 9000 */

/* Sends k datagrams from node i to node 3, port 9000. */
static void
send_to3(int i, int k)
{
	struct sockaddr_in a;
	int s = ns_socket(nsn[i], SOCK_DGRAM), j;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(9000);
	inet_pton(AF_INET, addr[2], &a.sin_addr);
	for (j = 0; j < k; j++)
		if (sendto(s, "x", 1, 0, (struct sockaddr *)&a, sizeof(a)) != 1)
			perror("sendto");
	close(s);
}

/* The datagrams node 3 got, waiting up to 1 s for want of them. */
static int
received(int want)
{
	struct pollfd p = {rx, POLLIN, 0};
	char b[16];
	int got = 0;

	while (got < want && poll(&p, 1, 1000) > 0)
		while (recv(rx, b, sizeof(b), MSG_DONTWAIT) > 0)
			got++;
	while (recv(rx, b, sizeof(b), MSG_DONTWAIT) > 0)
		got++;
	return got;
}

/* "Sent B bytes P pkt" of class cls on port p, from tc -s; -1 if none. */
static long
tc_class_pkts(const char *p, const char *cls)
{
	char cmd[256], line[256];
	long bytes, pk = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd),
	    "ip netns exec %s tc -s class show dev %s classid %s", sw, p, cls);
	if ((f = popen(cmd, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " Sent %ld bytes %ld pkt", &bytes, &pk) == 2)
			break;
	pclose(f);
	return pk;
}

/* 1 if port p has a qdisc of ours (4d4e:) left. */
static int
ours_left(const char *p)
{
	return sh("ip netns exec %s tc qdisc show dev %s | grep -q '4d4e:'", sw,
	           p)
	    == 0;
}

static void
checks(void)
{
	unsigned char cut[N * N] = {0};
	struct mv_netem_spec s;
	struct mv_err e;

	memset(&s, 0, sizeof(s));
	s.netns = sw, s.nodes = nodes, s.n = 1, s.cut = cut;
	OK(mv_netem_start(&s, &e) == NULL && strstr(e.msg, "need 2 to 32"),
	    "one node refused");
	s.n = N;
	OK(mv_netem_start(&s, &e) == NULL
	        && strcmp(e.msg, "netem: no link to fault") == 0,
	    "no link refused");
	cut[0 * N + 2] = 1;
	OK(mv_netem_start(&s, &e) == NULL && strstr(e.msg, "nothing to do"),
	    "a netem leaf with nothing to do refused");
	s.reorder = 10, s.loss = 1;
	OK(mv_netem_start(&s, &e) == NULL
	        && strcmp(e.msg, "netem: reorder needs a delay") == 0,
	    "reorder without a delay refused");
	s.reorder = 0, s.loss = 101;
	OK(mv_netem_start(&s, &e) == NULL && strstr(e.msg, "at most 100"),
	    "loss over 100% refused");
	nodes[1].addr = "10.1.2";
	s.loss = 5;
	OK(mv_netem_start(&s, &e) == NULL
	        && strcmp(e.msg,
	               "netem: node 1: bad name, address (IPv4) "
	               "or port")
	            == 0,
	    "a bad address named by node");
	nodes[1].addr = addr[1];
	OK(!ours_left(port[2]), "a refused spec leaves no qdisc");
}

/* The u32 filter sends n1's packets, and only those, to its class. */
static void
classify(void)
{
	unsigned char cut[N * N] = {0};
	struct mv_buf b = MV_BUF_INIT;
	struct mv_netem_spec s;
	struct mv_netem *m;
	struct mv_err e;
	int rc;

	cut[0 * N + 2] = 1; /* n1 -> n3 */
	memset(&s, 0, sizeof(s));
	s.netns = sw, s.nodes = nodes, s.n = N, s.cut = cut;
	s.leaf = MV_NETEM_LEAF_PFIFO;
	if (!OK((m = mv_netem_start(&s, &e)) != NULL, "pfifo tree built")) {
		printf("# %s\n", e.msg);
		return;
	}
	OK(ours_left(port[2]) && !ours_left(port[0]) && !ours_left(port[1]),
	    "the tree is on the destination's port only");
	send_to3(0, 20);
	send_to3(1, 30);
	OK(received(50) == 50, "both sources' packets arrive");
	OK(mv_netem_packets(m, 0, 2) == 20, "n1's 20 packets went to its leaf");
	OK(mv_netem_packets(m, 1, 2) == -1, "n2's link has no leaf");
	OK(tc_class_pkts(port[2], "4d4e:1") == 20,
	    "tc -s class: 20 packets in n1's class");
	OK(tc_class_pkts(port[2], "4d4e:2") == -1, "tc: no class for n2");
	rc = mv_netem_stop(m, &b, &e);
	mv_buf_addc(&b, '\0');
	OK(rc == 1
	        && strstr(b.p,
	            "\"links\":[{\"from\":\"n1\",\"to\":\"n3\","
	            "\"packets\":20,\"drops\":0}]")
	        && strstr(b.p, "\"leaf\":\"pfifo\",\"ports\":[\"")
	        && strstr(b.p, "\"effective\":true"),
	    "the stop report counts the link's packets");
	if (rc != 1)
		printf("# %s\n", b.p);
	mv_buf_release(&b);
	OK(!ours_left(port[2]), "stop removed the tree");
	send_to3(1, 5);
	OK(received(5) == 5, "traffic flows after the stop");
}

/* Undo by port, a port with a root qdisc already, a missing port. */
static void
undo(void)
{
	unsigned char cut[N * N] = {0};
	struct mv_buf b = MV_BUF_INIT;
	struct mv_netem_spec s;
	struct mv_bw_spec bs;
	struct mv_netem *m;
	struct mv_bw *bw;
	struct mv_err e;

	cut[1 * N + 2] = cut[0 * N + 1] = 1;
	memset(&s, 0, sizeof(s));
	s.netns = sw, s.nodes = nodes, s.n = N, s.cut = cut;
	s.leaf = MV_NETEM_LEAF_PFIFO;
	m = mv_netem_start(&s, &e);
	OK(m != NULL && ours_left(port[1]) && ours_left(port[2]),
	    "two destinations, two trees");
	OK(mv_netem_del(sw, port[2], &e) == 1 && !ours_left(port[2])
	        && mv_netem_del(sw, port[2], &e) == 0,
	    "undo deletes one port's tree, then finds none");
	if (m != NULL) {
		int rc = mv_netem_stop(m, &b, &e);

		mv_buf_addc(&b, '\0');
		OK(rc == 0
		        && strstr(b.p,
		            "\"effective\":false,\"reason\":\"the "
		            "qdiscs were gone"),
		    "a tree gone before the stop: not effective");
		if (rc != 0)
			printf("# %d %s %s\n", rc, b.p, e.msg);
		mv_buf_release(&b);
	}
	OK(!ours_left(port[1]), "the other tree was removed by the stop");
	OK(mv_netem_del(sw, "nope0", &e) == 0, "undo of a missing port");
	memset(&bs, 0, sizeof(bs));
	bs.netns = sw, bs.port = port[2], bs.rate_bps = 1000000;
	bw = mv_bw_start(&bs, &e);
	cut[0 * N + 1] = 0;
	OK(bw != NULL && mv_netem_start(&s, &e) == NULL
	        && strstr(e.msg, "the port has a root qdisc already"),
	    "a port with a root qdisc is refused");
	if (bw)
		mv_bw_stop(bw, NULL, &e);
	OK(!ours_left(port[1]) && !ours_left(port[2]), "nothing left");
}

/* With netem leaves: works where the probe says yes, else refused. */
static void
netem_leaf(int have, const char *why)
{
	unsigned char cut[N * N] = {0};
	struct mv_netem_spec s;
	struct mv_netem *m;
	struct mv_err e;

	cut[0 * N + 2] = 1;
	memset(&s, 0, sizeof(s));
	s.netns = sw, s.nodes = nodes, s.n = N, s.cut = cut;
	s.delay_ms = 20, s.jitter_ms = 5, s.correlation = 10, s.reorder = 5;
	m = mv_netem_start(&s, &e);
	if (have) {
		OK(m != NULL, "netem tree built");
		send_to3(0, 10);
		OK(received(10) == 10, "delayed packets arrive");
		OK(m != NULL && mv_netem_stop(m, NULL, &e) == 1,
		    "netem leaf saw the packets");
	} else
		OK(m == NULL && strstr(e.msg, ": netem: ")
		        && strstr(e.msg, why) != NULL,
		    "no netem: the start fails with the kernel's words");
	OK(!ours_left(port[2]), "nothing left after netem");
}

/* ---- a bandwidth limit on one link ---- */

/* What two flows into node 3 got: bytes and last arrival per source. */
struct flows {
	long long bytes[2];
	int64_t t0, tlast[2];
};

/* Reads what waits on rx, by source (node 1 or 2) into w. */
static void
drain(struct flows *w)
{
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	char b[2048], src[32];
	ssize_t n;
	int i;

	while ((n = recvfrom(rx, b, sizeof(b), MSG_DONTWAIT,
	            (struct sockaddr *)&from, &fl))
	    > 0) {
		inet_ntop(AF_INET, &from.sin_addr, src, sizeof(src));
		for (i = 0; i < 2; i++)
			if (strcmp(src, addr[i]) == 0) {
				w->bytes[i] += n;
				w->tlast[i] = mv_now_ns();
			}
		fl = sizeof(from);
	}
}

/*
 * Sends k datagrams of 1000 bytes from node 1 (and, with both, from node
 * 2 too) to node 3, one each every 2667 us (3 Mbit/s a flow), receiving
 * as they come, then until 300 ms pass without one.  bps[i]: what node 3
 * got from node i+1, bit/s from the first send to its last arrival.
 */
static void
flow(int k, int both, double bps[2])
{
	struct sockaddr_in a;
	struct pollfd p = {0, POLLIN, 0};
	struct flows w;
	char b[1000];
	int s[2], i, j;
	int64_t next, now;

	memset(&w, 0, sizeof(w));
	memset(b, 'x', sizeof(b));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(9000);
	inet_pton(AF_INET, addr[2], &a.sin_addr);
	p.fd = rx;
	for (j = 0; j < 2; j++)
		s[j] = ns_socket(nsn[j], SOCK_DGRAM);
	while (recv(rx, b, sizeof(b), MSG_DONTWAIT) > 0)
		;
	w.t0 = next = mv_now_ns();
	for (i = 0; i < k; i++) {
		for (j = 0; j < 1 + both; j++)
			sendto(s[j], b, sizeof(b), 0, (struct sockaddr *)&a,
			    sizeof(a));
		next += 2667000;
		while ((now = mv_now_ns()) < next) {
			drain(&w);
			poll(&p, 1, (int)((next - now) / 1000000));
		}
	}
	while (poll(&p, 1, 300) > 0)
		drain(&w);
	for (j = 0; j < 2; j++) {
		close(s[j]);
		bps[j] = w.tlast[j] > w.t0 ? (double)w.bytes[j] * 8
		        / ((double)(w.tlast[j] - w.t0) / 1e9)
		                           : 0;
	}
}

/*
 * A 1 Mbit/s limit on n1 -> n3 only: of 3 Mbit/s offered, n3 gets about
 * 1 Mbit/s from n1 while n2's flow, at the same time, passes whole; the
 * stop reports the class's bytes and overlimits; then no limit is left.
 */
static void
ratelimit(void)
{
	unsigned char cut[N * N] = {0};
	struct mv_buf b = MV_BUF_INIT;
	struct mv_netem_spec s;
	struct mv_netem *m;
	struct mv_err e;
	const char *p;
	double bps[2];
	int rc;

	cut[0 * N + 2] = 1; /* n1 -> n3 */
	memset(&s, 0, sizeof(s));
	s.netns = sw, s.nodes = nodes, s.n = N, s.cut = cut;
	s.rate_bps = 7999;
	OK(mv_netem_start(&s, &e) == NULL
	        && strcmp(
	               e.msg, "netem: rate must be 8000 to 10000000000 bit/s")
	            == 0,
	    "a rate under 8000 bit/s refused");
	s.rate_bps = 1000000, s.leaf = MV_NETEM_LEAF_PFIFO;
	s.limit = 20; /* the excess is dropped, not queued for seconds */
	if (!OK((m = mv_netem_start(&s, &e)) != NULL, "rate tree built")) {
		printf("# %s\n", e.msg);
		return;
	}
	flow(375, 1, bps);
	printf("# limited: n1 %.0f bit/s, n2 %.0f bit/s\n", bps[0], bps[1]);
	OK(bps[0] > 0.75e6 && bps[0] < 1.2e6,
	    "1 Mbit/s on n1 -> n3: received 0.75 to 1.2 Mbit/s of 3");
	OK(bps[1] > 1.5e6, "n2 -> n3 at the same time: over 1.5 Mbit/s");
	rc = mv_netem_stop(m, &b, &e);
	mv_buf_addc(&b, '\0');
	printf("# %s\n", b.p);
	p = strstr(b.p, "\"bytes\":");
	OK(rc == 1 && strstr(b.p, "{\"method\":\"htb\",\"leaf\":\"pfifo\",")
	        && strstr(b.p, "\"rate_bps\":1000000,")
	        && strstr(b.p, "\"links\":[{\"from\":\"n1\",\"to\":\"n3\",")
	        && p != NULL && strtoll(p + 8, NULL, 10) > 100000
	        && (p = strstr(b.p, "\"overlimits\":")) != NULL
	        && strtoll(p + 13, NULL, 10) > 0
	        && strstr(b.p, "\"effective\":true"),
	    "stop reports the class's bytes and overlimits, effective");
	mv_buf_release(&b);
	OK(!ours_left(port[2]), "stop removed the tree");
	flow(188, 0, bps);
	printf("# after stop: n1 %.0f bit/s\n", bps[0]);
	OK(bps[0] > 1.5e6, "after stop: n1 -> n3 has no limit");
	OK(!ours_left(port[0]) && !ours_left(port[1]) && !ours_left(port[2]),
	    "nothing of ours left");
}

/* The probe agrees with tc on a veth pair of our own in the switch. */
static int
probe(char *why, size_t wsz)
{
	struct mv_err e;
	int p, tc;

	p = mv_netem_probe(sw, why, wsz, &e);
	tc = sh("ip -n %s link add mvt0 type veth peer name mvt1 && "
	        "ip netns exec %s tc qdisc add dev mvt0 root netem delay 10ms "
	        "2>/dev/null",
	    sw, sw);
	sh("ip -n %s link del mvt0 2>/dev/null", sw);
	OK(p == (tc == 0), "the probe agrees with tc");
	printf("# netem: %s%s\n", p > 0 ? "yes" : "no: ", why);
	OK(p == 1 || (p == 0 && why[0] != '\0'), "a no says why");
	OK(sh("ip -n %s link | grep -q 'mv[pq]%ld'", sw,
	       (long)getpid() % 100000000)
	        != 0,
	    "the probe's veth pair is gone");
	OK(mv_netem_probe("mv-no-such-ns", why, wsz, &e) == -1
	        && strstr(e.msg, "mv-no-such-ns"),
	    "a missing namespace is an error");
	return p;
}

int
main(void)
{
	struct sockaddr_in a;
	char why[256];
	int i, p;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		printf("ok %d - netem # skip not root\n", ++tap_n);
		return TAP_DONE();
	}
	if (nstopo_setup("mvne", 215) < 0) {
		printf("ok %d - netem # skip cannot build namespaces (needs "
		       "iproute2 and CAP_SYS_ADMIN)\n",
		    ++tap_n);
		return TAP_DONE();
	}
	for (i = 0; i < N; i++) {
		static const char *const names[N] = {"n1", "n2", "n3"};

		nodes[i].name = names[i];
		nodes[i].addr = addr[i];
		nodes[i].port = port[i];
	}
	rx = ns_socket(nsn[2], SOCK_DGRAM);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(9000);
	inet_pton(AF_INET, addr[2], &a.sin_addr);
	if (bind(rx, (struct sockaddr *)&a, sizeof(a)) < 0)
		perror("bind");
	/* Neighbours resolved before any count is taken. */
	send_to3(0, 1);
	send_to3(1, 1);
	OK(received(2) == 2, "the cluster talks");
	p = probe(why, sizeof(why));
	checks();
	classify();
	undo();
	netem_leaf(p == 1, why);
	ratelimit();
	close(rx);
	teardown();
	OK(sh("ip netns list | grep -q mvne%d", (int)(getpid() % 1000000)) != 0,
	    "no namespace of ours remains");
	return TAP_DONE();
}
