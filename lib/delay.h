/*
 * delay.h: per-link delay, jitter and reordering through a user-space
 * delayer on NFQUEUE, and bandwidth limits through a tc token bucket, on
 * a namespace cluster (netfault.h: a switch namespace holding a bridge,
 * node namespaces joined to it by veth pairs, "port" = the switch-side
 * veth).  The kernel we run on has no netem, so this does its job.
 *
 * Delay: one nftables table per fault (T) in the switch namespace,
 *   table ip T, chain "delay" on the forward hook, priority -100, one
 *   rule per link: ip saddr SRC ip daddr DST queue num Q bypass.
 * The bridge hands its IPv4 packets to the ip family's forward hook
 * (br_netfilter: net.bridge.bridge-nf-call-iptables=1 in the switch
 * namespace, the default; starting fails when it is 0), after the
 * bridge family's chains, so netfault's cuts still come first.  This
 * kernel has no nftables "queue" expression, so the rule carries the
 * xtables NFQUEUE target (what iptables-nft writes) and is built with
 * netlink messages of our own (libmnl), not libnftables' parser; the
 * table is deleted by name like any other (mv_netfault_table_del).
 * A thread holds each queued packet in a min-heap keyed by its release
 * time and issues the verdict when due, so packets leave out of order
 * when jitter or the reorder share says so.  "bypass": if the delayer is
 * gone (crashed, SIGKILLed), the kernel lets packets through unqueued.
 *
 * Bandwidth: a tbf qdisc, handle 4d56: ("MV"), as the root qdisc of a
 * switch port (the destination's: it shapes everything sent to that
 * node), added and removed in-process through libnl-route-3; undo
 * removes a root qdisc only when it carries that handle.
 *
 * Functions that enter a namespace do so with setns(2) on the calling
 * thread only and always return it to the namespace it was in.
 */
#ifndef MV_DELAY_H
#define MV_DELAY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "mv.h"

/* A delayed link: IPv4 packets from src to dst (dotted addresses). */
struct mv_delay_link {
	const char *src;
	const char *dst;
};

enum mv_delay_dist {
	MV_DELAY_UNIFORM, /* delay + uniform in [-jitter, +jitter] */
	MV_DELAY_NORMAL   /* delay + normal with deviation jitter */
};

/*
 * What to start.  netns: the switch namespace (a name under /run/netns
 * or an absolute path).  table: as in struct mv_nf_spec (1 to 64 bytes of
 * [A-Za-z0-9_-], starting with a letter); starting fails if an ip
 * table of that name exists.  links/nlinks: 1 to 4096 links.  queue: the
 * NFQUEUE number, 1 to 65535, or 0 to take the first free one from 4096
 * up (queues are per namespace; mv_delay_queue tells which).  A packet is
 * held delay_ms plus a draw of the jitter (negative draws are clamped so
 * that no hold is below 0) from an RNG seeded with seed.  reorder
 * (percent, 0..100): that share of packets, drawn at random, is
 * released at once and so overtakes the packets held before it (netem's
 * "reorder").  limit: the most packets held at once (0: 4096; at most
 * 1000000); a packet that finds the heap full is released at once and
 * counted as overflow.  delay_ms and jitter_ms are at most 60000.
 */
struct mv_delay_spec {
	const char *netns;
	const char *table;
	const struct mv_delay_link *links;
	size_t nlinks;
	unsigned queue;
	unsigned delay_ms, jitter_ms;
	enum mv_delay_dist dist;
	unsigned reorder;
	uint64_t seed;
	size_t limit;
};

/* A delay in force: its table, its queue and its thread. */
struct mv_delay;

/*
 * Binds the queue (a netlink socket made inside netns), installs the
 * table (one nftables transaction: whole or not at all) and starts the
 * delayer thread.  Returns the fault, owned by the caller until
 * mv_delay_stop, or NULL with e filled (bad spec, no such namespace, no
 * free queue, the kernel refused the rules); on NULL nothing is left
 * installed.  The spec is copied.  Record (netns, table) in an undo log
 * BEFORE calling this.
 */
struct mv_delay *mv_delay_start(
    const struct mv_delay_spec *s, struct mv_err *e);

/*
 * Stops d and frees it (always, whatever the result): first every held
 * packet is released and new ones pass at once, then the table is
 * deleted (not the other way round: deleting a hook makes the kernel drop
 * the packets still queued from it), then what is still on its way is
 * let through (a packet caught between the kernel's queue and our
 * verdict at the very moment of the deletion can still be lost), and the
 * thread is joined.  Appends the report, one JSON object with no
 * newline, to out (may be NULL):
 *   {"kind":"delay","table":T,"queue":Q,"delay_ms":D,"jitter_ms":J,
 *    "dist":"uniform"|"normal","reorder":R,"packets":N,"delayed":N,
 *    "reordered":N,"overflow":N,"flushed":N,"mean_ms":M,"target_ms":M,
 *    "late_ms":M,"max_ms":M,"effective":true|false|null[,"reason":"..."]}
 * packets: all packets the delayer saw; delayed: those held and released
 * on schedule; mean_ms and max_ms: the hold those really got, measured
 * from receipt to verdict (target_ms: the mean of their drawn holds;
 * late_ms: mean_ms - target_ms, how late a loaded machine woke us);
 * reordered: packets released after a packet that arrived later;
 * overflow: released at once as the heap was full; flushed: released
 * early by the stop.  effective: true when the measured mean is at least
 * the drawn one less max(2 ms, 10%) and, if reorder > 0, some packet was
 * reordered; false, with a reason, when it is not, when no packet got
 * its delay (all overflowed or were flushed), when the table had
 * vanished before the stop, or when the delayer failed; null, with a
 * reason, when no packet went through.  Returns 1 when effective is true,
 * 0 otherwise, -1 when the table could not be deleted (e filled; the
 * report is still appended, keep the undo log entry).
 */
int mv_delay_stop(struct mv_delay *d, struct mv_buf *out, struct mv_err *e);

/* The queue number d listens on. */
unsigned mv_delay_queue(const struct mv_delay *d);

/*
 * Undo: deletes table (any family) in netns, as mv_netfault_table_del
 * does.  Returns how many tables it deleted (0: already healed), or -1
 * with e filled.  Safe after a SIGKILL of the process that made it: the
 * queue is bypassed as soon as its listener is gone.
 */
int mv_delay_table_del(const char *netns, const char *table, struct mv_err *e);

/*
 * A bandwidth limit on a switch port: netns as above, port the
 * switch-side veth (1 to 15 bytes of [A-Za-z0-9_.-]), rate in bits per
 * second (8000 to 10^10), burst in bytes (0: rate/250, at least 3000),
 * latency_ms the longest a packet waits in the bucket before it is
 * dropped (0: 100).
 */
struct mv_bw_spec {
	const char *netns;
	const char *port;
	uint64_t rate_bps;
	uint32_t burst;
	unsigned latency_ms;
};

struct mv_bw;

/*
 * Adds the tbf qdisc as port's root qdisc.  Fails, with e filled and
 * nothing changed, when the port has a root qdisc other than the
 * default one (someone else's, or another limit of ours).  Returns the
 * fault, the caller's until mv_bw_stop.  Record (netns, port) in an undo
 * log BEFORE calling this.
 */
struct mv_bw *mv_bw_start(const struct mv_bw_spec *s, struct mv_err *e);

/*
 * Reads the qdisc's counters, deletes it and frees b (always).  Appends
 * the report to out (may be NULL):
 *   {"kind":"bandwidth","port":P,"rate_bps":R,"burst":B,"bytes":N,
 *    "packets":N,"drops":N,"overlimits":N,"seconds":S,"measured_bps":R,
 *    "effective":true|false|null[,"reason":"..."]}
 * bytes, packets, drops, overlimits: the qdisc's own statistics (tc -s);
 * measured_bps: bytes * 8 / seconds over the fault's life.  effective:
 * true when the bucket held packets back (overlimits > 0), null when no
 * packet or only less than the rate went through, false when the qdisc
 * had vanished before the stop.  Returns 1 when effective is true, 0
 * otherwise, -1 when the qdisc could not be deleted (e filled).
 */
int mv_bw_stop(struct mv_bw *b, struct mv_buf *out, struct mv_err *e);

/*
 * Undo: deletes port's root qdisc in netns if it is ours (handle
 * 4d56:).  Returns 1 when it deleted one, 0 when there was none of ours
 * (already healed, or no such port), -1 with e filled.
 */
int mv_bw_del(const char *netns, const char *port, struct mv_err *e);

#endif
