/* One-line error messages of the backends' open functions. */
#include <stdarg.h>
#include <stdio.h>

#include "backend/errmsg.h"

int backend_error(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}
