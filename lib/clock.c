/*
 * clock.c: the writer side of clock faults: mv's clock file (a page the
 * shim maps read-only), libfaketime's timestamp file, and their undo.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"

#define PAGE 4096 /* the file's size: one page on every Linux we run on */
#define NS 1000000000LL

_Static_assert(sizeof(struct mv_clock_page) == 48, "clock page layout");
_Static_assert(sizeof(struct mv_clock_page) <= PAGE, "clock page size");

/*
 * Makes path a zeroed clock page unless it exists: written aside, then
 * linked into place, so that no reader ever maps a short or unmarked file
 * and two creators cannot both win.  Returns 0, or -1 with e filled.
 */
static int
create_page(const char *path, struct mv_err *e)
{
	struct mv_clock_page pg;
	char tmp[4096], buf[PAGE];
	int fd, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return mv_err_set(e, "%s: name too long", path);
	if ((fd = mkstemp(tmp)) < 0)
		return mv_err_set(e, "%s: %s", tmp, strerror(errno));
	memset(&pg, 0, sizeof(pg));
	memcpy(pg.magic, MV_CLOCK_MAGIC, sizeof(MV_CLOCK_MAGIC));
	pg.version = MV_CLOCK_VERSION;
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &pg, sizeof(pg));
	/* Readable by a server that runs as another user (PostgreSQL). */
	if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)
	    || fchmod(fd, 0644) < 0 || close(fd) < 0)
		rc = mv_err_set(e, "%s: %s", tmp, strerror(errno));
	else if (link(tmp, path) < 0 && errno != EEXIST)
		rc = mv_err_set(e, "%s: %s", path, strerror(errno));
	unlink(tmp);
	return rc;
}

/*
 * Maps the clock page at path shared and writable, locked against other
 * writers; creates it first when create is set.  Returns the descriptor
 * (close it to unlock) with *pg set, 0 when the file does not exist and
 * create is not set, or -1 with e filled.
 */
static int
map_page(
    const char *path, int create, struct mv_clock_page **pg, struct mv_err *e)
{
	struct stat st;
	void *p;
	int fd;

	while ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		if (errno != ENOENT)
			return mv_err_set(e, "%s: %s", path, strerror(errno));
		if (!create)
			return 0;
		if (create_page(path, e) < 0)
			return -1;
		create = 0; /* once: a file removed under us is an error */
	}
	if (flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0) {
		mv_err_set(e, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (st.st_size < (off_t)sizeof(**pg)) {
		close(fd);
		return mv_err_set(e, "%s: not a clock file (too short)", path);
	}
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		mv_err_set(e, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	*pg = p;
	if (memcmp((*pg)->magic, MV_CLOCK_MAGIC, sizeof(MV_CLOCK_MAGIC)) != 0
	    || (*pg)->version != MV_CLOCK_VERSION) {
		munmap(p, PAGE);
		close(fd);
		return mv_err_set(e, "%s: not a clock file", path);
	}
	return fd;
}

/* Releases what map_page returned. */
static void
unmap_page(int fd, struct mv_clock_page *pg)
{
	munmap(pg, PAGE);
	close(fd);
}

int
mv_clock_read(const char *path, struct mv_clock_state *st, struct mv_err *e)
{
	struct mv_clock_page *pg;
	int fd;

	memset(st, 0, sizeof(*st));
	if ((fd = map_page(path, 0, &pg, e)) <= 0)
		return fd;
	/* We hold the writers' lock: no seqlock dance needed. */
	st->offset_ns = atomic_load(&pg->offset_ns);
	st->strobe_ns = atomic_load(&pg->strobe_ns);
	st->period_ns = atomic_load(&pg->period_ns);
	st->epoch_ns = atomic_load(&pg->epoch_ns);
	unmap_page(fd, pg);
	return 0;
}

/* Stores st under the sequence lock the shim's readers retry on. */
static void
store_page(struct mv_clock_page *pg, const struct mv_clock_state *st)
{
	uint32_t s = atomic_load_explicit(&pg->seq, memory_order_relaxed);

	/* Odd already: a writer died half-way; stay odd until we are done. */
	s += (s & 1) ? 2 : 1;
	atomic_store_explicit(&pg->seq, s, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(
	    &pg->offset_ns, st->offset_ns, memory_order_relaxed);
	atomic_store_explicit(
	    &pg->strobe_ns, st->strobe_ns, memory_order_relaxed);
	atomic_store_explicit(
	    &pg->period_ns, st->period_ns, memory_order_relaxed);
	atomic_store_explicit(
	    &pg->epoch_ns, st->epoch_ns, memory_order_relaxed);
	atomic_store_explicit(&pg->seq, s + 1, memory_order_release);
}

/* Writes st to path; creates the file when create is set. */
static int
write_state(const char *path, int create, const struct mv_clock_state *st,
    struct mv_err *e)
{
	struct mv_clock_page *pg;
	int fd;

	if ((fd = map_page(path, create, &pg, e)) <= 0)
		return fd;
	store_page(pg, st);
	unmap_page(fd, pg);
	return 1;
}

int
mv_clock_write(
    const char *path, const struct mv_clock_state *st, struct mv_err *e)
{
	return write_state(path, 1, st, e) < 0 ? -1 : 0;
}

/*
 * Reads "[+-]SECONDS[.FRACTION][m|h|d|y]", libfaketime's relative offset,
 * into *ns.  Returns 0, or -1 when s is not one.
 */
static int
parse_offset(const char *s, int64_t *ns)
{
	static const struct {
		char c;
		int64_t mul;
	} units[] = {{'m', 60}, {'h', 3600}, {'d', 86400}, {'y', 31536000}};
	int64_t sec = 0, frac = 0, scale = NS, mul = 1;
	int neg = *s == '-', digits = 0;
	size_t i;

	if (*s != '+' && *s != '-')
		return -1;
	for (s++; *s >= '0' && *s <= '9' && sec < NS; s++, digits++)
		sec = sec * 10 + (*s - '0');
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, digits++)
			if (scale > 1)
				frac += (*s - '0') * (scale /= 10);
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (*s == units[i].c)
			mul = units[i].mul, s++;
	s += strspn(s, " \t\r\n");
	if (digits == 0 || *s != '\0' || sec >= NS
	    || sec * NS + frac > INT64_MAX / mul)
		return -1;
	/* Whole seconds times the unit, the fraction scaled to match. */
	*ns = (sec * NS + frac) * mul;
	if (neg)
		*ns = -*ns;
	return 0;
}

int
mv_clock_faketime_read(const char *path, int64_t *offset_ns, struct mv_err *e)
{
	char line[128];
	FILE *f;
	int empty;

	*offset_ns = 0;
	if ((f = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		return mv_err_set(e, "%s: %s", path, strerror(errno));
	}
	empty = fgets(line, sizeof(line), f) == NULL;
	fclose(f);
	if (empty || line[strspn(line, " \t\r\n")] == '\0')
		return 0;
	if (parse_offset(line, offset_ns) < 0)
		return mv_err_set(e,
		    "%s:1: not a relative offset such as \"+60\" or \"-1.5\"",
		    path);
	return 0;
}

/*
 * Replaces path with text, through a file aside and rename(2), readable by
 * all (the target may run as another user).  Returns 0, or -1 with e.
 */
static int
replace_file(const char *path, const char *text, size_t len, struct mv_err *e)
{
	char tmp[4096];
	int fd, bad;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp))
		return mv_err_set(e, "%s: name too long", path);
	if ((fd = mkstemp(tmp)) < 0)
		return mv_err_set(e, "%s: %s", tmp, strerror(errno));
	bad = write(fd, text, len) != (ssize_t)len || fchmod(fd, 0644) < 0;
	bad |= close(fd) < 0;
	if (bad || rename(tmp, path) < 0) {
		mv_err_set(e, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
mv_clock_faketime_write(const char *path, int64_t offset_ns, struct mv_err *e)
{
	char text[64];
	uint64_t a = offset_ns < 0 ? -(uint64_t)offset_ns : (uint64_t)offset_ns;
	char sign = offset_ns < 0 ? '-' : '+';
	int n;

	if (a % NS == 0)
		n = snprintf(text, sizeof(text), "%c%llu\n", sign,
		    (unsigned long long)(a / NS));
	else
		n = snprintf(text, sizeof(text), "%c%llu.%09llu\n", sign,
		    (unsigned long long)(a / NS), (unsigned long long)(a % NS));
	return replace_file(path, text, (size_t)n, e);
}

/* 1 if the undo log text holds exactly the line want (with '\n'). */
static int
has_line(const char *text, const char *want)
{
	size_t n = strlen(want);
	const char *p = text;

	for (; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, want, n) == 0)
			return 1;
	return 0;
}

int
mv_clock_undo_add(
    const char *undo_log, const char *kind, const char *path, struct mv_err *e)
{
	struct mv_buf log = MV_BUF_INIT, line = MV_BUF_INIT;
	char chunk[4096];
	size_t n;
	FILE *f;
	int rc = 0;

	if (strchr(path, '\n'))
		return mv_err_set(e, "%s: a newline in the name", path);
	/* Absolute: heal may run in another directory. */
	if (path[0] != '/' && getcwd(chunk, sizeof(chunk)) != NULL)
		mv_buf_addf(&line, "%s %s/%s\n", kind, chunk, path);
	else
		mv_buf_addf(&line, "%s %s\n", kind, path);
	if ((f = fopen(undo_log, "r")) != NULL) {
		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			mv_buf_add(&log, chunk, n);
		fclose(f);
	} else if (errno != ENOENT)
		rc = mv_err_set(e, "%s: %s", undo_log, strerror(errno));
	if (rc == 0 && !has_line(log.p ? log.p : "", line.p)) {
		if (log.len > 0 && log.p[log.len - 1] != '\n')
			mv_buf_addc(&log, '\n');
		mv_buf_add(&log, line.p, line.len);
		rc = replace_file(undo_log, log.p, log.len, e);
	}
	mv_buf_release(&log);
	mv_buf_release(&line);
	return rc;
}

/* Resets the file one undo log line names; 1 if it did, 0 if no entry. */
static int
heal_line(const char *log, size_t lineno, char *s, struct mv_err *e)
{
	static const struct mv_clock_state zero;
	struct mv_err why;
	size_t len = strlen(s);
	int rc = 0;

	if (len > 0 && s[len - 1] == '\n')
		s[len - 1] = '\0';
	if (strncmp(s, "clock ", 6) == 0)
		rc = write_state(s + 6, 0, &zero, &why);
	else if (strncmp(s, "faketime ", 9) == 0
	    && (access(s + 9, F_OK) == 0 || errno != ENOENT)) {
		/* "+0", not removal: libfaketime would fall back to
		 * ~/.faketimerc. */
		rc = mv_clock_faketime_write(s + 9, 0, &why) < 0 ? -1 : 1;
	}
	if (rc < 0)
		return mv_err_set(e, "%s:%zu: %s", log, lineno, why.msg);
	return rc;
}

int
mv_clock_heal_log(const char *undo_log, struct mv_err *e)
{
	struct mv_err first;
	char *s = NULL;
	size_t cap = 0, lineno = 0;
	int n = 0, bad = 0, rc;
	FILE *f;

	if ((f = fopen(undo_log, "r")) == NULL) {
		if (errno == ENOENT)
			return 0;
		return mv_err_set(e, "%s: %s", undo_log, strerror(errno));
	}
	/* Every entry is tried; the first failure is the one reported. */
	while (getline(&s, &cap, f) > 0) {
		lineno++;
		if ((rc = heal_line(undo_log, lineno, s, &first)) < 0) {
			if (!bad++)
				*e = first;
		} else
			n += rc;
	}
	free(s);
	fclose(f);
	return bad ? -1 : n;
}

/* 1 if /proc/PID/maps (of pid name) maps device dev, inode ino. */
static int
maps_file(const char *name, dev_t dev, ino_t ino)
{
	char mpath[300], line[4096];
	unsigned maj, min;
	unsigned long long i;
	FILE *f;
	int hit = 0;

	snprintf(mpath, sizeof(mpath), "/proc/%s/maps", name);
	if ((f = fopen(mpath, "r")) == NULL)
		return 0;
	while (!hit && fgets(line, sizeof(line), f))
		hit =
		    sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &i) == 3
		    && i == (unsigned long long)ino && maj == major(dev)
		    && min == minor(dev);
	fclose(f);
	return hit;
}

int
mv_clock_mappers(const char *path, long *pids, size_t max, struct mv_err *e)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (stat(path, &st) < 0)
		return errno == ENOENT
		    ? 0
		    : mv_err_set(e, "%s: %s", path, strerror(errno));
	if ((d = opendir("/proc")) == NULL)
		return mv_err_set(e, "/proc: %s", strerror(errno));
	while ((de = readdir(d)) != NULL) {
		if (strspn(de->d_name, "0123456789") != strlen(de->d_name)
		    || !maps_file(de->d_name, st.st_dev, st.st_ino))
			continue;
		if ((size_t)n < max)
			pids[n] = strtol(de->d_name, NULL, 10);
		n++;
	}
	closedir(d);
	return n;
}
