/* Reading a whole input file (kernel, initrd, firmware) with clear errors. */
#ifndef RV_CLI_FILE_H
#define RV_CLI_FILE_H

#include <stddef.h>
#include <stdint.h>

/* Returns 0 with a malloc'ed buffer, or -errno with a one-line reason naming `what` and the path. */
int file_read(const char *what, const char *path, uint8_t **data, size_t *size,
	      char *err, size_t errlen);

#endif
