/* A bzImage's compressed payload: its format by magic, and host decompression with a bounded output. */
#ifndef RV_BOOT_PAYLOAD_H
#define RV_BOOT_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

/* The kernel's compressed formats (lib/decompress.c, compressed_formats[]). */
enum payload_format {
	PAYLOAD_UNKNOWN,
	PAYLOAD_GZIP,
	PAYLOAD_BZIP2,
	PAYLOAD_LZMA,		/* .lzma ("LZMA alone") */
	PAYLOAD_XZ,
	PAYLOAD_LZO,
	PAYLOAD_LZ4,		/* lz4 legacy frames, as `lz4 -l` writes */
	PAYLOAD_ZSTD,
};

/* The format its first bytes announce; PAYLOAD_UNKNOWN when none matches. */
enum payload_format payload_detect(const uint8_t *data, size_t size);

/* "gzip", "xz", ...; "unknown" for PAYLOAD_UNKNOWN. */
const char *payload_format_name(enum payload_format fmt);

/*
 * Decompress the stream at data (trailing bytes after it, such as the
 * 4-byte size the kernel's build appends, are ignored) into a new buffer
 * of at most limit bytes, which the caller frees. Returns 0; -ENOTSUP for
 * a format ringvm has no library for (bzip2, lzo, unknown); -EFBIG when
 * the output would exceed limit; -EBADMSG for corrupt or truncated data;
 * -ENOMEM. Every error comes with a one-line reason in err.
 */
int payload_decompress(enum payload_format fmt, const uint8_t *data, size_t size,
		       size_t limit, uint8_t **out, size_t *out_size,
		       char *err, size_t errlen);

#endif
