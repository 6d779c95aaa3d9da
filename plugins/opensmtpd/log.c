/*
 * log.c: one line per event on stderr, which smtpd sends to its log.
 */
#include <stdarg.h>
#include <stdio.h>

#include "filter.h"

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", FILTER_NAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

void
log_session(const struct session *s, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: session %016llx: ", FILTER_NAME,
	    (unsigned long long)s->id);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}
