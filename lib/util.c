/* util.c: errors, number and duration parsing, clocks, PRNG, stdout check. */
#include <sys/mman.h>

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "mv.h"

int
mv_err_set(struct mv_err *e, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int
mv_parse_int(const char *opt, const char *s, long long min, long long max,
    long long *out, struct mv_err *e)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno == ERANGE)
		return mv_err_set(e, "invalid value for %s: '%s'", opt, s);
	if (v < min || v > max)
		return mv_err_set(
		    e, "%s must be in [%lld, %lld]: '%s'", opt, min, max, s);
	*out = v;
	return 0;
}

int
mv_parse_ratio(const char *opt, const char *s, double *out, struct mv_err *e)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end != '\0' || !(v >= 0 && v <= 1))
		return mv_err_set(e, "invalid value for %s: '%s'", opt, s);
	*out = v;
	return 0;
}

/* Multiplier of a duration suffix, or 0 if the suffix is not one of ours. */
static int64_t
dur_unit(const char *u)
{
	static const struct {
		const char *name;
		int64_t ns;
	} units[] = {{"", 1000000000LL}, {"s", 1000000000LL}, {"ms", 1000000LL},
	    {"us", 1000LL}, {"ns", 1LL}, {"m", 60000000000LL},
	    {"h", 3600000000000LL}};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(u, units[i].name) == 0)
			return units[i].ns;
	return 0;
}

int
mv_parse_duration(const char *opt, const char *s, int64_t *ns, struct mv_err *e)
{
	char *end;
	double v;
	int64_t unit;

	errno = 0;
	v = strtod(s, &end);
	/* !(v >= 0) also refuses nan, whose cast below would be undefined. */
	if (end == s || errno == ERANGE || !(v >= 0)
	    || (unit = dur_unit(end)) == 0)
		return mv_err_set(e, "invalid duration for %s: '%s'", opt, s);
	if (v * (double)unit > (double)INT64_MAX / 2)
		return mv_err_set(e, "duration too long for %s: '%s'", opt, s);
	*ns = (int64_t)(v * (double)unit);
	return 0;
}

static int64_t
clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t
mv_now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int64_t
mv_wall_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

const char *
mv_proc_stat(long pid, char *buf, size_t size)
{
	char path[64], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	if ((f = fopen(path, "re")) == NULL)
		return NULL;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ' || p[2] == '\0')
		return NULL;
	return p + 2;
}

int
mv_fshut_stdout(struct mv_err *e)
{
	int bad = ferror(stdout);

	if (fflush(stdout) != 0 || bad)
		return mv_err_set(e, "write error on stdout: %s",
		    strerror(errno ? errno : EIO));
	return 0;
}

static uint64_t
splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void
mv_rng_seed(struct mv_rng *r, uint64_t seed)
{
	int i;

	for (i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t
mv_rng_next(struct mv_rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

/* Lemire's nearly-divisionless bounded draw, with rejection: unbiased. */
uint64_t
mv_rng_below(struct mv_rng *r, uint64_t n)
{
	uint64_t x, lim;

	if (n <= 1)
		return 0;
	lim = -n % n;
	do
		x = mv_rng_next(r);
	while (x < lim);
	return x % n;
}

double
mv_rng_double(struct mv_rng *r)
{
	return (double)(mv_rng_next(r) >> 11) * 0x1.0p-53;
}

int
mv_raw_int(const char *raw, int64_t *out)
{
	char *end;
	long long v;

	if (raw == NULL || !(raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9')))
		return -1;
	errno = 0;
	v = strtoll(raw, &end, 10);
	if (errno || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int
mv_node_name_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || n > MV_NODE_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		        || (c >= '0' && c <= '9') || c == '.' || c == '_'
		        || c == ':' || c == '-'))
			return 0;
	}
	return 1;
}

#define BIG_PAGE ((size_t)2 << 20)

/*
 * Big tables come from mmap, whose pages are zero already (calloc would
 * write them), aligned to 2 MB and marked for huge pages where the system
 * has them: probes land at random over megabytes, and with 4 KB pages
 * nearly every one would miss the TLB as well as the cache.
 */
void *
mv_bigalloc(size_t n, size_t *mapped)
{
	char *p = MAP_FAILED, *a;
	size_t over;

	*mapped = 0;
	if (n >= BIG_PAGE)
		p = mmap(NULL, n + BIG_PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return mv_xcalloc(n ? n : 1, 1);
	a = (char *)(((uintptr_t)p + BIG_PAGE - 1)
	    & ~(uintptr_t)(BIG_PAGE - 1));
	over = (size_t)(a - p);
	if (over > 0)
		munmap(p, over);
	munmap(a + n, BIG_PAGE - over);
#ifdef MADV_HUGEPAGE
	madvise(a, n, MADV_HUGEPAGE);
#endif
	*mapped = n;
	return a;
}

void
mv_bigfree(void *p, size_t mapped)
{
	if (mapped)
		munmap(p, mapped);
	else
		free(p);
}
