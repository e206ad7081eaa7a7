/*
 * errbuf.c
 *	  Kernel: a reason formatted into the caller's buffer (errbuf.h).
 */
#include "util/errbuf.h"

#include <stdarg.h>
#include <stdio.h>

void
errbuf_printf(char *buf, size_t buflen, const char *fmt,...)
{
	va_list		ap;

	if (buf == NULL || buflen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, buflen, fmt, ap);
	va_end(ap);
}
