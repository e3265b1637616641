/*
 * netfault.h: network faults on a namespace cluster (one switch namespace
 * holding a bridge, one namespace per node joined to it by a veth pair):
 * grudges (who cannot reach whom), partitions and link loss/duplication as
 * nftables tables in the switch namespace, driven in-process through
 * libnftables, their efficacy counted with libpcap on the switch ports,
 * and their undo.
 *
 * The rules, one table per fault (T), all in the switch namespace:
 *   drop:   table bridge T, chain "cut" on the forward hook, priority -200,
 *           per destination port: oifname "DPORT" ip saddr { SRC, ... }
 *           counter drop  (silent: the sender sees nothing);
 *   loss:   the same with "numgen random mod 100 < P" before "drop";
 *   reject: this kernel has no bridge-family reject, so table netdev T,
 *           per source port a chain on its ingress hook, priority -200:
 *           ip saddr SRC ip daddr { DST, ... } ip protocol tcp counter
 *           reject with tcp reset, then the same for the rest with
 *           "reject with icmp type host-unreachable" (fails fast: connect
 *           gets ECONNREFUSED, the bridge never forwards the packet);
 *   dup:    table netdev T, per source port an ingress chain: ip saddr SRC
 *           ip daddr DST [numgen random mod 100 < P] counter dup to "DPORT".
 * Only IPv4 packets between node addresses are touched; ARP passes.
 *
 * The library never touches the root namespace and never flushes a table
 * it did not create: every fault is one table named by the caller (a
 * unique name such as mv_<runid>_<k>) and undo deletes tables by name.
 * Functions that enter a namespace do so with setns(2) on the calling
 * thread only and always return it to the namespace it was in.
 */
#ifndef MV_NETFAULT_H
#define MV_NETFAULT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "mv.h"

/* Grudge kinds; names as mv_grudge_kind_parse reads them. */
enum mv_grudge_kind {
	MV_GRUDGE_HALVES,          /* "halves": [0,n/2) | [n/2,n), by index */
	MV_GRUDGE_RANDOM_HALVES,   /* "random-halves": seeded shuffle, halves */
	MV_GRUDGE_ISOLATE,         /* "isolate": one node | the rest */
	MV_GRUDGE_MAJORITY,        /* "majority-minority" (or "minority"):
	                            * a seeded strict majority | the rest */
	MV_GRUDGE_MAJORITIES_RING, /* "majorities-ring": Jepsen's */
	MV_GRUDGE_BRIDGE           /* "bridge": two halves and one node that
	                            * sees both */
};

/*
 * Reads a grudge kind name into *k.  Returns 0, or -1 with e filled
 * ("unknown partition kind: NAME").
 */
int mv_grudge_kind_parse(
    const char *s, enum mv_grudge_kind *k, struct mv_err *e);
/* The canonical name of k (a static string). */
const char *mv_grudge_kind_name(enum mv_grudge_kind k);

/*
 * Fills cut[src * n + dst] (n * n bytes, caller-owned) with 1 where
 * packets from node src must not reach node dst, else 0 (never on the
 * diagonal).  Seeded kinds draw from seed only, so the same arguments
 * always give the same matrix.  node picks the isolated node for
 * MV_GRUDGE_ISOLATE (-1: drawn from seed) and is ignored otherwise.
 * Two-sided kinds cut side A (the smaller side; the isolated node) from
 * side B both ways, or, when directed is set, only A -> B (A's packets are
 * lost, B's still arrive).  majorities-ring is directed by construction
 * when the majority is even (each node hears a window of n/2+1 nodes of a
 * seeded ring, no two windows the same) and ignores directed.  Needs
 * n >= 2 (majorities-ring and bridge: n >= 3).  Returns the number of cut
 * links, or -1 with e filled.
 */
int mv_grudge(enum mv_grudge_kind k, size_t n, uint64_t seed, long node,
    int directed, unsigned char *cut, struct mv_err *e);

/*
 * One node as the switch sees it; every string is borrowed and must
 * outlive the call that takes it (mv_netfault_start copies what it keeps).
 * name: what the efficacy report calls the node ("n1");
 * addr: its IPv4 address, dotted ("10.77.0.1");
 * port: the switch-side veth, enslaved to the bridge (at most 15 bytes of
 *       [A-Za-z0-9_.-]).
 */
struct mv_nf_node {
	const char *name;
	const char *addr;
	const char *port;
};

enum mv_nf_kind {
	MV_NF_DROP,   /* partition: silent drop */
	MV_NF_REJECT, /* partition: fail fast (TCP reset, ICMP unreachable) */
	MV_NF_LOSS,   /* drop percent % of the link's packets at random */
	MV_NF_DUP     /* duplicate percent % of the link's packets */
};

/*
 * What to start.  netns is the switch namespace: a name under /run/netns
 * or an absolute path to a namespace file.  table is the fault's nftables
 * table (bridge family for DROP and LOSS, netdev for REJECT and DUP): 1
 * to 64 bytes of [A-Za-z0-9_-], starting with a letter; starting fails if
 * a table of that name and family exists.  cut[src*n+dst] != 0 selects the
 * links (for a partition, from mv_grudge; at least one; the diagonal is
 * ignored).  percent (1..100) is for LOSS and DUP.  capture: 1 to count
 * packets on the ports with libpcap (the efficacy report), 0 not to (the
 * report then says "effective":null,"reason":"not counted").
 */
struct mv_nf_spec {
	const char *netns;
	const char *table;
	const struct mv_nf_node *nodes;
	size_t n;
	const unsigned char *cut;
	enum mv_nf_kind kind;
	unsigned percent;
	int capture;
};

/* A fault in force: its table and its captures. */
struct mv_netfault;

/*
 * Installs the fault (one nftables transaction: the table appears whole
 * or not at all), then opens the captures and starts their thread.
 * Returns the fault, owned by the caller until mv_netfault_stop, or NULL
 * with e filled (bad spec, no such namespace, nftables refused the rules,
 * a capture could not open); on NULL nothing is left installed.  The spec
 * and its strings are copied.  Record the (netns, table) pair in an undo
 * log BEFORE calling this, so a SIGKILL right after still heals.
 */
struct mv_netfault *mv_netfault_start(
    const struct mv_nf_spec *s, struct mv_err *e);

/*
 * f must not be NULL.  Stops counting (draining what the captures hold), then
 * deletes f's table, and frees f (always, whatever the result).  Appends the
 * efficacy report, one JSON object with no newline, to out (may be NULL):
 *   {"kind":"drop","table":T,"links":[{"from":"n1","to":"n2","sent":S,
 *    "crossed":C,"dropped":D},...],"sent":S,"crossed":C,
 *    "effective":true|false|null[,"reason":"..."]}
 * "sent" counts IPv4 packets from the link's source address to its
 * destination address entering the switch on the source's port, "crossed"
 * those leaving on the destination's port (under reject, the resets and
 * ICMP unreachables the rules send back are not crossings).  "dropped" is
 * sent - crossed; DUP links carry "duplicated" (crossed - sent) instead.
 * effective: true when DROP/REJECT let nothing cross, LOSS lost some, DUP
 * duplicated some; false, with a reason, when packets crossed a cut,
 * nothing was lost or duplicated, or the table had vanished before the
 * stop (someone healed it); null, with a reason, when it cannot be told:
 * no packet was sent on the links, the captures missed packets, or
 * capture was 0.  Returns 1 when effective is true, 0 otherwise, -1 when
 * the table could not be deleted (e filled; the report is still appended
 * and the undo log entry must be kept).
 */
int mv_netfault_stop(
    struct mv_netfault *f, struct mv_buf *out, struct mv_err *e);

/*
 * Ends an efficacy report (this one's, delay.h's and netem.h's): appends
 * ,"effective":true|false|null for v > 0, 0, < 0, then ,"reason":R when
 * reason is not empty, then the closing brace.
 */
void mv_nf_report_end(struct mv_buf *out, int v, const char *reason);

/*
 * Counts only: opens the captures of s (s->capture is ignored) and starts
 * counting, installing no rule, for a counter process that outlives the
 * one that installs the rules (a one-shot partition).  mv_netfault_stop
 * on the result leaves the table alone: it only checks that the table is
 * still there (false, "gone", if not) and returns -1 when it cannot list
 * the tables.  Returns NULL with e filled as mv_netfault_start does.
 */
struct mv_netfault *mv_netfault_watch(
    const struct mv_nf_spec *s, struct mv_err *e);

/* The table name of f (owned by f). */
const char *mv_netfault_table(const struct mv_netfault *f);

/*
 * Undo: deletes the tables named table, in any family, of namespace netns
 * (as in struct mv_nf_spec).  Returns how many it deleted (0: already
 * healed), or -1 with e filled (bad name, no such namespace, nftables
 * error).  Safe after a SIGKILL of the process that made them.
 */
int mv_netfault_table_del(
    const char *netns, const char *table, struct mv_err *e);

/*
 * Undo everything: deletes every table, in any family, of namespace netns
 * whose name starts with prefix (e.g. "mv_<runid>_"; at least 3 bytes,
 * same alphabet as table names).  Returns how many it deleted, or -1 with
 * e filled.  Others' tables are never touched.
 */
int mv_netfault_purge(const char *netns, const char *prefix, struct mv_err *e);

#endif
