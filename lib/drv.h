/*
 * drv.h: mv-exec's drivers for real servers (Redis, etcd, PostgreSQL).
 *
 * A driver runs in a child process of mv-exec that speaks the command-SUT
 * protocol of mv-exec(1) on a pipe pair: op lines in, completion lines out.
 * So everything mv-exec does for a command SUT (timeouts turned into info,
 * the history closed on interruption, a dead SUT noticed) holds for the
 * drivers too, and the driver code is plain blocking client code.
 *
 * The serving loop (mv_drv_serve) runs the ops of a driver that has
 * non-blocking ops (struct mv_drv_nb) from one thread and a poll loop;
 * for the others it hands each op to a worker thread that owns one
 * connection.  An op goes to an idle worker; when none is idle (the
 * ops still in flight belong to processes mv-exec already closed with info)
 * a new worker with a new connection is made, as Jepsen gives a crashed
 * process a fresh client.
 */
#ifndef MV_DRV_H
#define MV_DRV_H

#include <stdint.h>

#include "buf.h"
#include "history.h"
#include "json.h"
#include "mv.h"

/* One op, as mv-exec sent it; everything is borrowed for the call. */
struct mv_drv_op {
	int64_t id;
	const char *f;             /* "read", "write", "cas", "append", ... */
	const char *key;           /* NULL when the op has none */
	const struct mv_jv *value; /* NULL when the op has none */
	int workload;              /* enum mv_workload of gen.h */
};

/*
 * What an op came to.  The driver sets type (MV_OK, MV_FAIL or MV_INFO)
 * and appends JSON text to value and error (left empty: no member).  The
 * rule for type: MV_FAIL only when the op certainly did not take effect
 * (refused connection, a definite error from the server, a failed
 * precondition); MV_INFO whenever it may have (timeout, connection lost
 * after the request was sent, an error the server gives for an unknown
 * outcome).  node, when set, names the server that answered (a node name of
 * mv-history(5)) and node_time its wall clock in ns, if known (else 0).
 */
struct mv_drv_res {
	enum mv_type type;
	struct mv_buf value, error;
	char node[64];
	int64_t node_time;
};

/* A driver.  conn is the driver's own per-worker state. */
struct mv_driver {
	const char *scheme; /* as in --sut SCHEME://... */
	/*
	 * Makes a client for target (the --sut text after "SCHEME://") with
	 * per-request timeout_ns (0: none).  Must not block without bound.
	 * Returns NULL with e filled when target is malformed; a server
	 * that cannot be reached is not an error here: report it per op.
	 */
	void *(*open)(const char *target, int64_t timeout_ns, struct mv_err *e);
	void (*close)(void *conn);
	/*
	 * Runs op and fills res.  Returns 0, or -1 when conn is no longer
	 * usable (it is then closed, and reopened for the next op).
	 */
	int (*invoke)(
	    void *conn, const struct mv_drv_op *op, struct mv_drv_res *res);
};

/*
 * Optional for a driver: the same ops without blocking, so that one
 * thread serves every connection from a poll loop (a driver with none
 * gets a thread per connection).  Listed in drv.c's nb_drivers[].  start
 * begins op on conn (op and res stay valid until the op is done); start
 * and step return 0 or -1 as invoke does once the op is done, or 1 while
 * it is pending: then *fd and *events (POLLIN, POLLOUT) say what to wait
 * for before step is called again.  expire is called instead when the
 * op's deadline (timeout_ns, 5 s if 0) passed: it fills res as invoke
 * fills it on a timeout (fail when the op certainly did not take effect,
 * else info), and conn is then closed.
 */
struct mv_drv_nb {
	const struct mv_driver *d;
	int (*start)(void *conn, const struct mv_drv_op *op,
	    struct mv_drv_res *res, int *fd, short *events);
	int (*step)(void *conn, struct mv_drv_res *res, int *fd, short *events);
	void (*expire)(void *conn, struct mv_drv_res *res);
};

/*
 * The driver for sut ("redis://...", "etcd://...", "pg://..."), or NULL
 * when sut names none; *target is set to the text after "://".
 */
const struct mv_driver *mv_drv_find(const char *sut, const char **target);

/*
 * Checks that target is well-formed for d, by opening and closing one
 * client (no server contact).  Returns 0, or -1 with e filled.
 */
int mv_drv_check(
    const struct mv_driver *d, const char *target, struct mv_err *e);

/*
 * The child's main: serves ops read from fd in, writes completions to fd
 * out, until in reaches end of file and every op in flight is answered.
 * When netns is not NULL, first enters the network namespace of that name
 * (/run/netns/NAME).  Returns the exit status for the child.
 */
int mv_drv_serve(const struct mv_driver *d, const char *target,
    int64_t timeout_ns, int workload, const char *netns, int in, int out);

extern const struct mv_driver mv_drv_redis, mv_drv_etcd, mv_drv_pg;
extern const struct mv_drv_nb mv_drv_redis_nb;

#endif
