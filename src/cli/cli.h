/* The ringvm command's pieces, shared between main.c and run.c. */
#ifndef RV_CLI_CLI_H
#define RV_CLI_CLI_H

#include <stdio.h>

#define RINGVM_VERSION "0.1.0"

/* `ringvm run ...`: returns the process exit status (see status.h). */
int cli_run(int argc, char **argv);

void cli_usage(FILE *out);

/* "ringvm: <message>\n" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
