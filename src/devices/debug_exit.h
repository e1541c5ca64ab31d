/* Test-support ports: isa-debug-exit at 0xF4 (ends the VM) and the POST code port 0x80. */
#ifndef RV_DEVICES_DEBUG_EXIT_H
#define RV_DEVICES_DEBUG_EXIT_H

#include <stdbool.h>
#include <stdint.h>

#define DEBUG_EXIT_PORT   0xf4
#define DEBUG_EXIT_NR_PORTS 4		/* QEMU's iosize=4 */
#define POST_CODE_PORT    0x80

struct debug_exit {
	/* Called with the written value; the VMM ends with status (value << 1) | 1. */
	void (*on_exit)(void *opaque, uint32_t value);
	void *opaque;
};

void debug_exit_access(void *opaque, uint64_t offset, unsigned size,
		       bool is_write, uint64_t *data);

/* Port 0x80: firmware writes progress codes there; keep the last one for diagnostics. */
struct post_code {
	uint8_t last;
	bool seen;
};

void post_code_access(void *opaque, uint64_t offset, unsigned size,
		      bool is_write, uint64_t *data);

#endif
