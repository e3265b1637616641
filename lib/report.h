/* report.h: a summary of a history and its verdict, in Markdown or JSON. */
#ifndef MV_REPORT_H
#define MV_REPORT_H

#include "buf.h"
#include "history.h"
#include "json.h"
#include "mv.h"

enum mv_report_format { MV_REPORT_MD, MV_REPORT_JSON };

/*
 * Appends to b the report on h (read from name): operations by f and
 * type, latency percentiles of ok operations by f, throughput, fault
 * events, and the verdict when verdict (an mv-check JSON object, borrowed)
 * is not NULL.  Returns 0, or -1 with e filled when the verdict is not an
 * object.
 */
int mv_report(struct mv_buf *b, const struct mv_history *h, const char *name,
    const struct mv_jv *verdict, enum mv_report_format fmt, struct mv_err *e);

#endif
