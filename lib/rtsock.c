/* rtsock.c: a netlink route socket inside a namespace (rtsock.h). */
#include <netlink/netlink.h>

#include "ns.h"
#include "rtsock.h"

struct nl_sock *
mv_rtsock_open(const char *netns, struct mv_err *e)
{
	struct nl_sock *sk;
	int back, rc;

	if (mv_netns_enter(netns, &back, e) < 0)
		return NULL;
	if ((sk = nl_socket_alloc()) == NULL) {
		mv_netns_leave(back);
		mv_err_set(e, "%s: netlink: out of memory", netns);
		return NULL;
	}
	/* Bound while inside: the socket's requests act there for good. */
	rc = nl_connect(sk, NETLINK_ROUTE);
	mv_netns_leave(back);
	if (rc < 0) {
		nl_socket_free(sk);
		mv_err_set(e, "%s: netlink: %s", netns, nl_geterror(rc));
		return NULL;
	}
	return sk;
}
