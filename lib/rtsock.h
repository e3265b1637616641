/*
 * rtsock.h: a netlink route socket opened inside a network namespace, the
 * one way topo, netem and delay reach a cluster's links and qdiscs
 * without touching the namespace the caller is in.
 */
#ifndef MV_RTSOCK_H
#define MV_RTSOCK_H

#include "mv.h"

struct nl_sock;

/*
 * A route socket connected inside namespace netns (a name under
 * /run/netns or an absolute path, as mv_netns_enter takes), so that every
 * request on it acts there; the calling thread is back in its own
 * namespace on return.  The caller frees it with nl_socket_free.  NULL
 * with e filled ("NETNS: netlink: why") on failure.
 */
struct nl_sock *mv_rtsock_open(const char *netns, struct mv_err *e);

#endif
