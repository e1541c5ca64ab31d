/* Fuzz target: virtio-console's transmit and receive paths (and emergency write) over guest memory the input supplies. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "devices/virtio_console.h"
#include "virtio_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct virtio_console con;
static int null_fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Host input for the receive queue: a few bytes from a fixed place in the image. */
	static const uint8_t host_input[] = "host says hi\r\n";

	if (null_fd < 0)
		null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	virtio_console_init(&con, "console-fuzz", null_fd, &fuzz_dma);
	fuzz_virtio_drive(&con.vd, data, size);
	/* Input arrives from another thread, which takes the lock itself; twice, to meet a ring left half used. */
	virtio_console_receive(&con, host_input, sizeof(host_input) - 1);
	virtio_console_receive(&con, data, size < 300 ? size : 300);
	virtio_console_destroy(&con);
	return 0;
}
