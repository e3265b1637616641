/* edn.h: Jepsen EDN histories (history.edn) as mv-history(5) records. */
#ifndef MV_EDN_H
#define MV_EDN_H

#include <stddef.h>
#include <stdio.h>

#include "buf.h"
#include "mv.h"

/*
 * What the input starting with p[0..n) is: 1 EDN, 0 JSON lines, -1 not
 * known yet (only blanks and comments so far: read more, or pass eof = 1
 * for the final answer).  EDN is a first character, after blanks and ';'
 * comments, of '[' or '(', or '{' followed by a keyword ':'.
 */
int mv_edn_sniff(const char *p, size_t n, int eof);

/*
 * Converts the EDN history p[0..n) into mv-history(5) records, one JSON
 * object and a newline per op map, appended to out.  (*lines)[i] is the
 * EDN line on which op i begins (malloc'd, the caller frees it; *nlines
 * ops).  When no op has :index, each gets its position as "index".
 * Returns 0, or -1 with e = "NAME:LINE: what".
 */
int mv_edn_convert(const char *p, size_t n, const char *name,
    struct mv_buf *out, size_t **lines, size_t *nlines, struct mv_err *e);

/*
 * Reads the start of f with read(2) into b until its format is known
 * (want: -1 to find out, 0 JSON lines, 1 EDN).  Returns 1 for EDN, with
 * the whole input in b; 0 for JSON lines, with b holding the bytes read
 * so far, which the reader must see first; -1 on a read error.
 */
int mv_edn_detect(
    FILE *f, const char *name, int want, struct mv_buf *b, struct mv_err *e);

#endif
