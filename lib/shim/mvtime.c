/*
 * mvtime.c: libmvtime.so, mv's clock-fault shim.  Preloaded into a server
 * (LD_PRELOAD), it answers clock_gettime, gettimeofday, time and
 * timespec_get with the real clock plus the offset in the clock file that
 * $MV_CLOCK_FILE names (struct mv_clock_page of clock.h), which mv-nemesis
 * changes while the server runs.
 *
 * Why not libfaketime: it resolves the real functions with dlsym and
 * allocates while the allocator itself asks for the time, which a server
 * built on jemalloc (Redis) does not survive.  This shim calls no libc
 * function that allocates or locks once the process runs: the real clock
 * comes from the raw system call and the offset from a read-only shared
 * mapping under a sequence lock, so every interposed function is
 * async-signal-safe and safe in any thread at any time.  Until the file
 * exists (and when MV_CLOCK_FILE is unset) the clocks are not skewed.
 *
 * Only the real-time clocks are skewed; the monotonic and boot-time clocks
 * too when MV_CLOCK_MONOTONIC=1.  A statically linked program, or one that
 * reads the clock through the vDSO itself (Go), never calls us.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

#define NS 1000000000LL
#define RETRY_NS (10 * 1000000LL) /* how often to look for a missing file */
#define SEQ_TRIES 1000            /* then a writer died half-way: go on */

static char path[4096]; /* set once, before main, by init */
static int skew_monotonic;
static _Atomic(const struct mv_clock_page *) page;
static _Atomic int64_t next_try; /* real time ns of the next open attempt */

/* Runs before main: getenv is not safe later (setenv may race it). */
__attribute__((constructor)) static void
init(void)
{
	const char *p = getenv(MV_CLOCK_ENV), *m = getenv(MV_CLOCK_MONO_ENV);
	size_t n = p ? strlen(p) : 0, d = 0;

	skew_monotonic = m && strcmp(m, "1") == 0;
	if (n == 0)
		return;
	/* Made absolute now: servers chdir (Redis to its --dir). */
	if (p[0] != '/' && getcwd(path, sizeof(path)) != NULL)
		d = strlen(path) + 1;
	if (d + n >= sizeof(path)) {
		path[0] = '\0';
		return;
	}
	if (d > 0)
		path[d - 1] = '/';
	memcpy(path + d, p, n + 1);
}

/* The real clock id, as the kernel has it. */
static int
real_clock(clockid_t id, struct timespec *ts)
{
	return (int)syscall(SYS_clock_gettime, id, ts);
}

static int
skewed(clockid_t id)
{
	switch (id) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_REALTIME_ALARM:
	case CLOCK_TAI: return 1;
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_BOOTTIME:
	case CLOCK_BOOTTIME_ALARM: return skew_monotonic;
	default: return 0;
	}
}

/*
 * The clock page, mapped on first use; NULL while the file is missing or
 * is not a clock file (looked for again at most every RETRY_NS).  now is
 * the real time, only to pace the attempts.  Only system calls: open,
 * fstat, mmap, close, munmap.
 */
static const struct mv_clock_page *
get_page(int64_t now)
{
	const struct mv_clock_page *p = atomic_load(&page), *want = NULL;
	struct stat st;
	void *m;
	int fd;

	if (p || path[0] == '\0' || now < atomic_load(&next_try))
		return p;
	atomic_store(&next_try, now + RETRY_NS);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	m = MAP_FAILED;
	if (fstat(fd, &st) == 0 && st.st_size >= (off_t)sizeof(*p))
		m = mmap(NULL, sizeof(*p), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return NULL;
	p = m;
	if (memcmp(p->magic, MV_CLOCK_MAGIC, sizeof(MV_CLOCK_MAGIC)) != 0
	    || p->version != MV_CLOCK_VERSION
	    || !atomic_compare_exchange_strong(&page, &want, p)) {
		/* Not ours, or another thread mapped it first. */
		munmap(m, sizeof(*p));
		return want;
	}
	return p;
}

/* The offset in force at real time now (ns), under the sequence lock. */
static int64_t
offset_at(int64_t now)
{
	const struct mv_clock_page *p = get_page(now);
	int64_t off = 0, strobe = 0, period = 0, epoch = 0;
	uint32_t s1, s2;
	int i;

	if (p == NULL)
		return 0;
	for (i = 0; i < SEQ_TRIES; i++) {
		s1 = atomic_load_explicit(&p->seq, memory_order_acquire);
		off = atomic_load_explicit(&p->offset_ns, memory_order_relaxed);
		strobe =
		    atomic_load_explicit(&p->strobe_ns, memory_order_relaxed);
		period =
		    atomic_load_explicit(&p->period_ns, memory_order_relaxed);
		epoch =
		    atomic_load_explicit(&p->epoch_ns, memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&p->seq, memory_order_relaxed);
		if (s1 == s2 && !(s1 & 1))
			break;
	}
	/* The strobe's offset first, then the base, each for a period. */
	if (period > 0 && now >= epoch && ((now - epoch) / period) % 2 == 0)
		return strobe;
	return off;
}

static int64_t
to_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * NS + ts->tv_nsec;
}

/* Adds off to ts, keeping tv_nsec in [0, NS) for times before 1970 too. */
static void
add_ns(struct timespec *ts, int64_t off)
{
	int64_t ns = ts->tv_nsec + off % NS;

	ts->tv_sec += (time_t)(off / NS + ns / NS);
	ns %= NS;
	if (ns < 0) {
		ns += NS;
		ts->tv_sec--;
	}
	ts->tv_nsec = (long)ns;
}

/* The skewed real time, or -1 (errno set) when the kernel refused. */
static int
wall(struct timespec *ts)
{
	if (real_clock(CLOCK_REALTIME, ts) < 0)
		return -1;
	add_ns(ts, offset_at(to_ns(ts)));
	return 0;
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
	struct timespec now;

	if (real_clock(id, ts) < 0)
		return -1;
	if (!skewed(id))
		return 0;
	/* The offset is chosen by real time for every clock. */
	if (id == CLOCK_REALTIME)
		now = *ts;
	else if (real_clock(CLOCK_REALTIME, &now) < 0)
		return 0;
	add_ns(ts, offset_at(to_ns(&now)));
	return 0;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnonnull-compare"
int
gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;

	/* As glibc: the time zone is obsolete and always zero. */
	if (tz)
		memset(tz, 0, sizeof(struct timezone));
	if (tv == NULL)
		return 0;
	if (wall(&ts) < 0)
		return -1;
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = (suseconds_t)(ts.tv_nsec / 1000);
	return 0;
}
#pragma GCC diagnostic pop

time_t
time(time_t *t)
{
	struct timespec ts;

	if (wall(&ts) < 0)
		return (time_t)-1;
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

int
timespec_get(struct timespec *ts, int base)
{
	if (base != TIME_UTC || wall(ts) < 0)
		return 0;
	return base;
}
