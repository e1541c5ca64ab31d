/* One-line error messages of the backends' open functions. */
#ifndef RV_BACKEND_ERRMSG_H
#define RV_BACKEND_ERRMSG_H

#include <stddef.h>

/* Format the message into err (when given) and return ret (a -errno), so a failure path is one statement. */
int backend_error(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
