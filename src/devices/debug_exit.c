/* isa-debug-exit (as QEMU's, iosize 4) and the port-0x80 POST code sink. */
#include "devices/debug_exit.h"

void debug_exit_access(void *opaque, uint64_t offset, unsigned size,
		       bool is_write, uint64_t *data)
{
	struct debug_exit *dev = opaque;

	if (!is_write) {
		*data = size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
		return;
	}
	if (dev->on_exit)
		dev->on_exit(dev->opaque, (uint32_t)*data);
}

void post_code_access(void *opaque, uint64_t offset, unsigned size,
		      bool is_write, uint64_t *data)
{
	struct post_code *post = opaque;

	if (is_write) {
		post->last = (uint8_t)*data;
		post->seen = true;
	} else {
		/* Nothing drives the bus on a read of this port. */
		*data = size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	}
}
