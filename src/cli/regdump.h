/* A one-screen dump of a vCPU's registers for crash reports. */
#ifndef RV_CLI_REGDUMP_H
#define RV_CLI_REGDUMP_H

#include <stdio.h>

#include "ringvm/regs.h"

void regdump_print(FILE *out, unsigned vcpu, const struct rv_regs *regs,
		   const struct rv_sregs *sregs);

#endif
