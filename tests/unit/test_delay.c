/*
 * test_delay.c: (as root) delay, jitter, reordering and bandwidth limits
 * on a throw-away cluster of network namespaces: a switch namespace with
 * a bridge and two nodes, all named after our pid and removed at exit
 * whatever happens.  Delays are measured one way, from the send time a
 * datagram carries to its arrival (one process, one monotonic clock).
 */
#define _GNU_SOURCE /* setns */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

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
#include "delay.h"
#include "mv.h"
#include "netfault.h"
#include "tap.h"

/* ---- the cluster (nstopo.h) ---- */

#define N 2
#include "nstopo.h"

/* A UDP socket made inside node i's namespace, bound to its address. */
static int
node_socket(int i)
{
	struct sockaddr_in a;
	int s, sz = 1 << 21;

	s = ns_socket(nsn[i], SOCK_DGRAM | SOCK_NONBLOCK);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(9000);
	inet_pton(AF_INET, addr[i], &a.sin_addr);
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	return s;
}

/* ---- traffic ---- */

static int udp[N];

/* What a pump saw arrive. */
struct seen {
	int got, ooo;          /* datagrams; arrivals after a later one */
	double mean, med, max; /* one-way delay, ms */
	long long bytes;
	int64_t t0, tlast; /* first send, last arrival */
};

/* The first one-way delays of a pump, for the median (ms). */
static double oneway[256];

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Reads every datagram waiting on d into w (each carries seq, send time). */
static void
take(int d, struct seen *w, uint32_t *top)
{
	char b[2048];
	uint32_t seq;
	int64_t ts, now;
	ssize_t n;

	while ((n = recv(udp[d], b, sizeof(b), 0)) >= 12) {
		now = mv_now_ns();
		memcpy(&seq, b, 4);
		memcpy(&ts, b + 4, 8);
		if (seq < *top)
			w->ooo++;
		else
			*top = seq + 1;
		if (w->got < (int)(sizeof(oneway) / sizeof(oneway[0])))
			oneway[w->got] = (double)(now - ts) / 1e6;
		w->got++;
		w->bytes += n;
		w->mean += (double)(now - ts) / 1e6;
		if ((double)(now - ts) / 1e6 > w->max)
			w->max = (double)(now - ts) / 1e6;
		w->tlast = now;
	}
}

/*
 * Sends k datagrams of sz bytes (12 to 2048) from node s to node d, one
 * every gap_us, receiving as they come, then waits for the rest until
 * wait_ms passed without one.
 */
static struct seen
pump(int s, int d, int k, int sz, int gap_us, int wait_ms)
{
	struct sockaddr_in a;
	struct pollfd p = {0, POLLIN, 0};
	struct seen w;
	char b[2048];
	uint32_t seq, top = 0;
	int64_t ts, next;
	int i;

	memset(&w, 0, sizeof(w));
	memset(b, 'x', sizeof(b));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(9000);
	inet_pton(AF_INET, addr[d], &a.sin_addr);
	p.fd = udp[d];
	while (recv(udp[d], b, sizeof(b), 0) > 0)
		;
	w.t0 = next = mv_now_ns();
	for (i = 0; i < k; i++) {
		seq = (uint32_t)i;
		ts = mv_now_ns();
		memcpy(b, &seq, 4);
		memcpy(b + 4, &ts, 8);
		sendto(
		    udp[s], b, (size_t)sz, 0, (struct sockaddr *)&a, sizeof(a));
		next += (int64_t)gap_us * 1000;
		while ((ts = mv_now_ns()) < next) {
			take(d, &w, &top);
			poll(&p, 1, (int)((next - ts) / 1000000));
		}
		if (gap_us > 0 || i % 32 == 31) /* a flood reads in bursts */
			take(d, &w, &top);
	}
	while (w.got < k && poll(&p, 1, wait_ms) > 0)
		take(d, &w, &top);
	if (w.got > 0) {
		int m = w.got < 256 ? w.got : 256;

		w.mean /= w.got;
		qsort(oneway, (size_t)m, sizeof(oneway[0]), cmp_double);
		w.med = oneway[m / 2];
	}
	return w;
}

/* Reads a number field off a report; -1 if absent. */
static double
field(const char *json, const char *name)
{
	char key[64];
	const char *p;

	snprintf(key, sizeof(key), "\"%s\":", name);
	if (json == NULL || (p = strstr(json, key)) == NULL)
		return -1;
	return strtod(p + strlen(key), NULL);
}

/* ---- delay ---- */

static char pfx[32], tab[64];
static struct mv_delay_link l12, l21;

static const char *
tname(int k)
{
	snprintf(tab, sizeof(tab), "%s%d", pfx, k);
	return tab;
}

static void
spec_of(struct mv_delay_spec *s, const char *table, unsigned ms, unsigned j,
    unsigned reorder)
{
	memset(s, 0, sizeof(*s));
	s->netns = sw;
	s->table = table;
	s->links = &l12;
	s->nlinks = 1;
	s->delay_ms = ms;
	s->jitter_ms = j;
	s->reorder = reorder;
	s->seed = 42;
}

static void
delay(void)
{
	struct mv_delay_spec s;
	struct mv_delay *d;
	struct mv_buf out = MV_BUF_INIT;
	struct mv_err e;
	struct seen w, back;

	w = pump(0, 1, 20, 64, 5000, 200);
	OK(w.got == 20 && w.med < 5, "before: n1 -> n2 under 5 ms (median)");
	printf("# before: %d arrived, mean %.3f ms, median %.3f ms, max %.3f "
	       "ms\n",
	    w.got, w.mean, w.med, w.max);
	spec_of(&s, tname(1), 100, 10, 0);
	if ((d = mv_delay_start(&s, &e)) == NULL) {
		OK(0, e.msg);
		return;
	}
	w = pump(0, 1, 20, 64, 20000, 500);
	back = pump(1, 0, 20, 64, 2000, 200);
	/* the median, as this (unprivileged, loaded) receiver can wake late
	 * for a few datagrams; the mean only against gross errors */
	OK(w.got == 20 && w.med > 80 && w.med < 120 && w.mean > 80
	        && w.mean < 140,
	    "delay 100 +- 10 ms: n1 -> n2 median within 100 +- 20 ms");
	printf("# delayed: %d arrived, mean %.3f ms, median %.3f ms, max %.3f "
	       "ms\n",
	    w.got, w.mean, w.med, w.max);
	OK(back.got == 20 && back.med < 5, "n2 -> n1 is not delayed");
	OK(mv_delay_stop(d, &out, &e) == 1
	        && strstr(out.p, "\"effective\":true") != NULL
	        && field(out.p, "delayed") == 20 && field(out.p, "mean_ms") > 90
	        && field(out.p, "mean_ms") < 110,
	    "stop reports 20 delayed, mean near 100 ms, effective");
	printf("# %s\n", out.p);
	mv_buf_release(&out);
	w = pump(0, 1, 20, 64, 2000, 200);
	OK(w.got == 20 && w.med < 5, "after stop: back under 5 ms (median)");
	printf("# after: %d arrived, mean %.3f ms, median %.3f ms\n", w.got,
	    w.mean, w.med);
}

static void
reorder(void)
{
	struct mv_delay_spec s;
	struct mv_delay *d;
	struct mv_buf out = MV_BUF_INIT;
	struct mv_err e;
	struct seen w;

	spec_of(&s, tname(2), 50, 5, 30);
	s.dist = MV_DELAY_NORMAL;
	if ((d = mv_delay_start(&s, &e)) == NULL) {
		OK(0, e.msg);
		return;
	}
	w = pump(0, 1, 60, 64, 2000, 300);
	OK(w.got == 60 && w.ooo > 0,
	    "reorder 30%: datagrams arrive out of "
	    "order, none lost");
	printf("# reorder: %d arrived, %d out of order\n", w.got, w.ooo);
	OK(mv_delay_stop(d, &out, &e) == 1 && field(out.p, "reordered") > 0
	        && field(out.p, "packets") == 60,
	    "stop reports reordered packets, effective");
	printf("# %s\n", out.p);
	mv_buf_release(&out);

	spec_of(&s, tname(3), 0, 0, 0);
	if ((d = mv_delay_start(&s, &e)) == NULL) {
		OK(0, e.msg);
		return;
	}
	w = pump(0, 1, 60, 64, 200, 300);
	OK(w.got == 60 && w.ooo == 0, "no reorder, no jitter: in order");
	mv_delay_stop(d, NULL, &e);
}

/* A heap of 5: the rest of a burst passes at once and is counted. */
static void
overflow(void)
{
	struct mv_delay_spec s;
	struct mv_delay *d;
	struct mv_buf out = MV_BUF_INIT;
	struct mv_err e;
	struct seen w;

	spec_of(&s, tname(4), 300, 0, 0);
	s.limit = 5;
	if ((d = mv_delay_start(&s, &e)) == NULL) {
		OK(0, e.msg);
		return;
	}
	w = pump(0, 1, 20, 64, 100, 500);
	OK(w.got == 20 && w.max > 250, "limit 5: every datagram arrives");
	OK(mv_delay_stop(d, &out, &e) == 1 && field(out.p, "overflow") == 15
	        && field(out.p, "delayed") == 5,
	    "limit 5: 5 held, 15 passed at once as overflow");
	printf("# %s\n", out.p);
	mv_buf_release(&out);
}

/* Stopping lets held packets go at once; no traffic is not success. */
static void
flush_idle(void)
{
	struct mv_delay_spec s;
	struct mv_delay *d;
	struct mv_buf out = MV_BUF_INIT;
	struct mv_err e;
	struct seen w;
	struct pollfd p = {udp[1], POLLIN, 0};
	char b[2048];
	int64_t t0;
	int got;

	spec_of(&s, tname(10), 5000, 0, 0);
	if ((d = mv_delay_start(&s, &e)) == NULL) {
		OK(0, e.msg);
		return;
	}
	w = pump(0, 1, 5, 64, 1000, 100);
	OK(w.got == 0, "delay 5 s: nothing arrives at first");
	t0 = mv_now_ns();
	OK(mv_delay_stop(d, &out, &e) == 0 && field(out.p, "flushed") == 5
	        && field(out.p, "delayed") == 0
	        && strstr(out.p, "\"reason\":\"no packet was delayed\"")
	            != NULL,
	    "stop releases the 5 held packets as flushed");
	printf("# %s\n", out.p);
	mv_buf_release(&out);
	for (got = 0; got < 5 && poll(&p, 1, 300) > 0;)
		while (recv(udp[1], b, sizeof(b), 0) > 0)
			got++;
	OK((double)(mv_now_ns() - t0) / 1e6 < 1000 && got == 5,
	    "the held packets arrive at once after the stop");

	spec_of(&s, tname(11), 100, 0, 0);
	if ((d = mv_delay_start(&s, &e)) == NULL) {
		OK(0, e.msg);
		return;
	}
	OK(mv_delay_stop(d, &out, &e) == 0
	        && strstr(out.p,
	               "\"effective\":null,\"reason\":\"no packet was sent")
	            != NULL,
	    "no traffic: efficacy unknown, not assumed");
	mv_buf_release(&out);
}

/* The delayer's speed with no hold: a short flood, counted by it. */
static void
throughput(void)
{
	struct mv_delay_spec s;
	struct mv_delay *d;
	struct mv_buf out = MV_BUF_INIT;
	struct mv_err e;
	struct seen w;
	double sec, base;

	/* the same flood with no delayer: what this loop alone can do */
	w = pump(0, 1, 20000, 64, 0, 200);
	base = w.got / ((double)(w.tlast - w.t0) / 1e9);
	spec_of(&s, tname(5), 0, 0, 0);
	if ((d = mv_delay_start(&s, &e)) == NULL) {
		OK(0, e.msg);
		return;
	}
	w = pump(0, 1, 20000, 64, 0, 200);
	sec = (double)(w.tlast - w.t0) / 1e9;
	mv_delay_stop(d, &out, &e);
	OK(field(out.p, "packets") > 1000 && w.got > 1000,
	    "a flood passes the delayer");
	printf("# delayer throughput: %.0f packets/s (%.0f of 20000 through "
	       "it, %d arrived, in %.3f s; the same flood without it: %.0f "
	       "packets/s)\n",
	    sec > 0 ? field(out.p, "packets") / sec : 0,
	    field(out.p, "packets"), w.got, sec, base);
	mv_buf_release(&out);
}

/* Undo by name, a SIGKILLed delayer, refusals. */
static void
undo(void)
{
	struct mv_delay_spec s;
	struct mv_delay *d, *d2;
	struct mv_buf out = MV_BUF_INIT;
	struct mv_err e;
	struct seen w;
	struct pollfd p = {-1, POLLIN, 0};
	pid_t pid;
	int st, fds[2];
	char c;

	spec_of(&s, tname(6), 100, 0, 0);
	d = mv_delay_start(&s, &e);
	OK(d != NULL && mv_delay_start(&s, &e) == NULL
	        && strstr(e.msg, "exists") != NULL,
	    "a table name in use is refused");
	if (d == NULL)
		return;
	spec_of(&s, tname(7), 100, 0, 0);
	s.queue = mv_delay_queue(d);
	d2 = mv_delay_start(&s, &e);
	OK(d2 == NULL && strstr(e.msg, "nfqueue") != NULL
	        && mv_netfault_purge(sw, tname(7), &e) == 0,
	    "a queue in use is refused, leaving no table");
	spec_of(&s, tname(12), 100, 0, 0);
	s.links = &l21;
	d2 = mv_delay_start(&s, &e);
	OK(d2 != NULL && mv_delay_queue(d2) != mv_delay_queue(d),
	    "a second fault in the namespace takes the next free queue");
	if (d2 != NULL)
		mv_delay_stop(d2, NULL, &e);
	OK(mv_delay_table_del(sw, tname(6), &e) == 1
	        && mv_delay_table_del(sw, tname(6), &e) == 0,
	    "undo by name; again is a no-op");
	w = pump(0, 1, 5, 64, 1000, 200);
	OK(w.got == 5 && w.med < 5, "undone: no delay");
	OK(mv_delay_stop(d, &out, &e) == 0
	        && strstr(out.p, "the table was gone") != NULL,
	    "a fault healed behind our back is not reported effective");
	mv_buf_release(&out);

	/* SIGKILL: the table stays, its queue has no listener: bypassed */
	spec_of(&s, tname(8), 100, 0, 0);
	if (pipe(fds) < 0)
		return;
	if ((pid = fork()) == 0) {
		if (mv_delay_start(&s, &e) == NULL)
			_exit(1);
		if (write(fds[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	p.fd = fds[0];
	OK(pid > 0 && poll(&p, 1, 5000) == 1 && read(fds[0], &c, 1) == 1,
	    "a child starts a delay");
	close(fds[0]);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	w = pump(0, 1, 5, 64, 1000, 200);
	OK(w.got == 5 && w.med < 5,
	    "delayer SIGKILLed: traffic bypasses the queue");
	OK(mv_delay_table_del(sw, tname(8), &e) == 1,
	    "its table is undone by name");

	sh("ip netns exec %s sysctl -qw net.bridge.bridge-nf-call-iptables=0",
	    sw);
	spec_of(&s, tname(13), 100, 0, 0);
	OK(mv_delay_start(&s, &e) == NULL
	        && strstr(e.msg, "bridge-nf-call-iptables") != NULL
	        && mv_netfault_purge(sw, tname(13), &e) == 0,
	    "a switch that keeps IPv4 from the ip hooks is refused");
	sh("ip netns exec %s sysctl -qw net.bridge.bridge-nf-call-iptables=1",
	    sw);
	spec_of(&s, "1bad", 100, 0, 0);
	OK(mv_delay_start(&s, &e) == NULL
	        && strcmp(e.msg, "bad nftables table name: 1bad") == 0,
	    "bad table name refused");
	spec_of(&s, tname(9), 100, 0, 0);
	s.netns = "mvdl-no-such-ns";
	OK(mv_delay_start(&s, &e) == NULL
	        && strstr(e.msg, "/run/netns/mvdl-no-such-ns") != NULL,
	    "missing namespace named");
	spec_of(&s, tname(9), 100, 0, 0);
	l21.src = "10.214.0.300";
	s.links = &l21;
	OK(mv_delay_start(&s, &e) == NULL && strstr(e.msg, "link 0") != NULL,
	    "bad address refused");
	l21.src = addr[1];
	spec_of(&s, tname(9), 70000, 0, 0);
	OK(mv_delay_start(&s, &e) == NULL, "a delay over 60 s refused");
}

/* ---- bandwidth ---- */

static void
bandwidth(void)
{
	struct mv_bw_spec s;
	struct mv_bw *b, *b2;
	struct mv_buf out = MV_BUF_INIT;
	struct mv_err e;
	struct seen w;
	double bps;

	/* 3 Mbit/s offered: 1000-byte datagrams every 2.667 ms for 1 s */
	w = pump(0, 1, 375, 1000, 2667, 300);
	bps = (double)w.bytes * 8 / ((double)(w.tlast - w.t0) / 1e9);
	OK(w.got == 375 && bps > 1.5e6, "unlimited: over 1.5 Mbit/s pass");
	printf("# unlimited: %d of 375 datagrams, %.0f bit/s\n", w.got, bps);
	memset(&s, 0, sizeof(s));
	s.netns = sw;
	s.port = port[1];
	s.rate_bps = 1000000;
	if ((b = mv_bw_start(&s, &e)) == NULL) {
		OK(0, e.msg);
		return;
	}
	OK((b2 = mv_bw_start(&s, &e)) == NULL
	        && strstr(e.msg, "root qdisc already") != NULL,
	    "a second limit on the port is refused");
	w = pump(0, 1, 375, 1000, 2667, 300);
	bps = (double)w.bytes * 8 / ((double)(w.tlast - w.t0) / 1e9);
	OK(bps > 0.75e6 && bps < 1.2e6,
	    "1 Mbit/s limit: received 0.75 to 1.2 Mbit/s");
	printf("# limited: %d of 375 datagrams, %.0f bit/s\n", w.got, bps);
	OK(mv_bw_stop(b, &out, &e) == 1 && field(out.p, "bytes") > 100000
	        && field(out.p, "overlimits") > 0,
	    "stop reports bytes and overlimits, effective");
	printf("# %s\n", out.p);
	mv_buf_release(&out);
	w = pump(0, 1, 50, 1000, 1000, 300);
	OK(w.got == 50, "after stop: no limit");
	OK(mv_bw_del(sw, port[1], &e) == 0, "no qdisc of ours remains");

	if ((b = mv_bw_start(&s, &e)) == NULL) {
		OK(0, e.msg);
		return;
	}
	OK(mv_bw_del(sw, port[1], &e) == 1 && mv_bw_del(sw, port[1], &e) == 0,
	    "qdisc undone by name; again is a no-op");
	OK(mv_bw_stop(b, &out, &e) == 0
	        && strstr(out.p, "\"effective\":false") != NULL,
	    "a limit removed behind our back is not reported effective");
	mv_buf_release(&out);
	sh("ip netns exec %s tc qdisc add dev %s root handle 7: tbf rate "
	   "1mbit burst 4k latency 50ms",
	    sw, port[0]);
	s.port = port[0];
	OK(mv_bw_start(&s, &e) == NULL && mv_bw_del(sw, port[0], &e) == 0
	        && sh("ip netns exec %s tc qdisc show dev %s | grep -q 'tbf "
	              "7:'",
	               sw, port[0])
	            == 0,
	    "someone else's qdisc is neither replaced nor undone");
	sh("ip netns exec %s tc qdisc del dev %s root", sw, port[0]);
	s.port = "no-such-port";
	OK(mv_bw_start(&s, &e) == NULL && strstr(e.msg, "no-such-port") != NULL
	        && mv_bw_del(sw, "no-such-port", &e) == 0,
	    "missing port named; its undo is a no-op");
	s.port = port[1];
	s.rate_bps = 100;
	OK(mv_bw_start(&s, &e) == NULL, "a rate under 8000 bit/s refused");
}

/* bench: only the throughput figure (make bench) */
static void
network(int bench)
{
	struct mv_err e;
	int i;

	if (geteuid() != 0) {
		printf(
		    "ok %d - delay and bandwidth # skip not root\n", ++tap_n);
		return;
	}
	if (nstopo_setup("mvdl", 214) < 0 || (udp[0] = node_socket(0)) < 0
	    || (udp[1] = node_socket(1)) < 0) {
		printf("ok %d - delay and bandwidth # skip cannot build "
		       "namespaces (needs iproute2 and CAP_SYS_ADMIN)\n",
		    ++tap_n);
		return;
	}
	l12.src = addr[0];
	l12.dst = addr[1];
	l21.src = addr[1];
	l21.dst = addr[0];
	snprintf(pfx, sizeof(pfx), "mv_t%d-d_", (int)getpid());
	OK(pump(0, 1, 3, 64, 1000, 1000).got == 3
	        && pump(1, 0, 3, 64, 1000, 1000).got == 3,
	    "the cluster talks");
	/* the delayer sees bridged packets through br_netfilter only */
	if (sh("ip netns exec %s test -e "
	       "/proc/sys/net/bridge/bridge-nf-call-iptables",
	        sw)
	    != 0)
		printf("ok %d - delay # skip the kernel has no br_netfilter\n",
		    ++tap_n);
	else if (bench)
		throughput();
	else {
		delay();
		reorder();
		overflow();
		flush_idle();
		throughput();
		undo();
	}
	if (!bench)
		bandwidth();
	OK(mv_netfault_purge(sw, pfx, &e) == 0, "no table of ours remains");
	for (i = 0; i < N; i++)
		close(udp[i]);
	teardown();
	OK(sh("ip netns list | grep -q mvdl%d", (int)(getpid() % 1000000)) != 0,
	    "no namespace of ours remains");
}

/* usage: test_delay [bench] */
int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	network(argc > 1 && strcmp(argv[1], "bench") == 0);
	return TAP_DONE();
}
