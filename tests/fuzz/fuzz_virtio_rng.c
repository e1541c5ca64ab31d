/* Fuzz target: virtio-rng's request handling over guest memory the input supplies. */
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio_rng.h"
#include "virtio_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct virtio_rng rng;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	virtio_rng_init(&rng, "rng-fuzz", &fuzz_dma);
	fuzz_virtio_drive(&rng.vd, data, size);
	virtio_rng_destroy(&rng);
	return 0;
}
