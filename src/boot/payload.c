/* A bzImage's compressed payload: format detection by magic, decompression by the format's own library, output bounded. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "boot/payload.h"
#include "common/le.h"

/*
 * liblzma's memory limit: the dictionary a stream asks for. The kernel's
 * xz payload uses 32 MiB (scripts/xz_wrap.sh), `lzma -9` 64 MiB; a header
 * asking for more is refused instead of allocated.
 */
#define XZ_MEMLIMIT        (256ull << 20)
/* lz4 legacy frames: blocks of at most 8 MiB of output (lz4's LEGACY_BLOCKSIZE). */
#define LZ4_LEGACY_MAGIC   0x184c2102u
#define LZ4_LEGACY_BLOCK   (8u << 20)
/* zlib counts in uInt: feed it at most this much at a time. */
#define ZLIB_CHUNK         (1u << 30)

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

enum payload_format payload_detect(const uint8_t *d, size_t n)
{
	if (n >= 2 && d[0] == 0x1f && (d[1] == 0x8b || d[1] == 0x9e))
		return PAYLOAD_GZIP;
	if (n >= 3 && !memcmp(d, "BZh", 3))
		return PAYLOAD_BZIP2;
	if (n >= 3 && d[0] == 0x5d && d[1] == 0 && d[2] == 0)
		return PAYLOAD_LZMA;
	if (n >= 6 && !memcmp(d, "\xfd" "7zXZ\0", 6))
		return PAYLOAD_XZ;
	if (n >= 4 && !memcmp(d, "\x89" "LZO", 4))
		return PAYLOAD_LZO;
	if (n >= 4 && get32(d) == LZ4_LEGACY_MAGIC)
		return PAYLOAD_LZ4;
	if (n >= 4 && !memcmp(d, "\x28\xb5\x2f\xfd", 4))
		return PAYLOAD_ZSTD;
	return PAYLOAD_UNKNOWN;
}

const char *payload_format_name(enum payload_format fmt)
{
	switch (fmt) {
	case PAYLOAD_GZIP: return "gzip";
	case PAYLOAD_BZIP2: return "bzip2";
	case PAYLOAD_LZMA: return "lzma";
	case PAYLOAD_XZ: return "xz";
	case PAYLOAD_LZO: return "lzo";
	case PAYLOAD_LZ4: return "lz4";
	case PAYLOAD_ZSTD: return "zstd";
	case PAYLOAD_UNKNOWN:
	default: return "unknown";
	}
}

static int too_big(char *err, size_t errlen, const char *name, size_t limit)
{
	return fail(err, errlen, -EFBIG, "%s payload decompresses to more than %zu bytes", name, limit);
}

/* xz and lzma: one stream; liblzma stops at its end (no LZMA_CONCATENATED), so trailing bytes are left alone. */
static int payload_lzma(bool xz, const uint8_t *in, size_t n, uint8_t *out, size_t limit,
			size_t *out_size, char *err, size_t errlen)
{
	lzma_stream s = LZMA_STREAM_INIT;
	const char *name = xz ? "xz" : "lzma";
	lzma_ret r;

	r = xz ? lzma_stream_decoder(&s, XZ_MEMLIMIT, 0) : lzma_alone_decoder(&s, XZ_MEMLIMIT);
	if (r != LZMA_OK)
		return fail(err, errlen, r == LZMA_MEM_ERROR ? -ENOMEM : -EINVAL,
			    "liblzma cannot start a %s decoder (error %d)", name, (int)r);
	s.next_in = in;
	s.avail_in = n;
	s.next_out = out;
	s.avail_out = limit;
	do
		r = lzma_code(&s, LZMA_FINISH);
	while (r == LZMA_OK && s.avail_out && s.avail_in);
	*out_size = s.total_out;
	lzma_end(&s);
	if (r == LZMA_STREAM_END)
		return 0;
	if ((r == LZMA_OK || r == LZMA_BUF_ERROR) && !s.avail_out)
		return too_big(err, errlen, name, limit);
	if (r == LZMA_OK || r == LZMA_BUF_ERROR)
		return fail(err, errlen, -EBADMSG, "%s payload is truncated", name);
	if (r == LZMA_MEMLIMIT_ERROR)
		return fail(err, errlen, -EBADMSG, "%s payload asks for more than %llu MiB of dictionary",
			    name, XZ_MEMLIMIT >> 20);
	if (r == LZMA_MEM_ERROR)
		return fail(err, errlen, -ENOMEM, "liblzma: out of memory");
	return fail(err, errlen, -EBADMSG, "%s payload is corrupt (liblzma error %d)", name, (int)r);
}

/* gzip: one member; zlib stops at its trailer. */
static int payload_gzip(const uint8_t *in, size_t n, uint8_t *out, size_t limit,
			size_t *out_size, char *err, size_t errlen)
{
	z_stream z;
	size_t in_left = n, out_left = limit;
	int r;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)	/* 16: gzip framing only */
		return fail(err, errlen, -ENOMEM, "zlib cannot start a gzip decoder");
	z.next_in = (Bytef *)in;	/* zlib's API is not const, but it only reads */
	z.next_out = out;
	do {
		uInt ai, ao;

		if (!z.avail_in) {
			ai = in_left > ZLIB_CHUNK ? ZLIB_CHUNK : (uInt)in_left;
			z.avail_in = ai;
			in_left -= ai;
		}
		if (!z.avail_out) {
			ao = out_left > ZLIB_CHUNK ? ZLIB_CHUNK : (uInt)out_left;
			z.avail_out = ao;
			out_left -= ao;
		}
		r = inflate(&z, Z_NO_FLUSH);
	} while (r == Z_OK && (z.avail_in || in_left) && (z.avail_out || out_left));
	*out_size = limit - out_left - z.avail_out;
	inflateEnd(&z);
	if (r == Z_STREAM_END)
		return 0;
	if ((r == Z_OK || r == Z_BUF_ERROR) && !z.avail_out && !out_left)
		return too_big(err, errlen, "gzip", limit);
	if (r == Z_OK || r == Z_BUF_ERROR)
		return fail(err, errlen, -EBADMSG, "gzip payload is truncated");
	if (r == Z_MEM_ERROR)
		return fail(err, errlen, -ENOMEM, "zlib: out of memory");
	return fail(err, errlen, -EBADMSG, "gzip payload is corrupt (zlib: %s)",
		    z.msg ? z.msg : "error");
}

/* zstd: one frame, decoded in one pass into the bounded buffer (which then is the window). */
static int payload_zstd(const uint8_t *in, size_t n, uint8_t *out, size_t limit,
			size_t *out_size, char *err, size_t errlen)
{
	size_t frame = ZSTD_findFrameCompressedSize(in, n), r;
	unsigned long long content;
	ZSTD_DCtx *dctx;

	if (ZSTD_isError(frame))
		return fail(err, errlen, -EBADMSG, "zstd payload is %s (%s)",
			    ZSTD_getErrorCode(frame) == ZSTD_error_srcSize_wrong ? "truncated" : "corrupt",
			    ZSTD_getErrorName(frame));
	content = ZSTD_getFrameContentSize(in, frame);
	if (content != ZSTD_CONTENTSIZE_UNKNOWN && content != ZSTD_CONTENTSIZE_ERROR && content > limit)
		return too_big(err, errlen, "zstd", limit);
	dctx = ZSTD_createDCtx();
	if (!dctx)
		return fail(err, errlen, -ENOMEM, "libzstd: out of memory");
	r = ZSTD_decompressDCtx(dctx, out, limit, in, frame);
	ZSTD_freeDCtx(dctx);
	if (!ZSTD_isError(r)) {
		*out_size = r;
		return 0;
	}
	*out_size = 0;
	if (ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall)
		return too_big(err, errlen, "zstd", limit);
	if (ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation)
		return fail(err, errlen, -ENOMEM, "libzstd: out of memory");
	return fail(err, errlen, -EBADMSG, "zstd payload is corrupt (%s)", ZSTD_getErrorName(r));
}

/*
 * lz4 legacy frames (lib/decompress_unlz4.c): the magic, then blocks, each
 * a 4-byte compressed size and the data, each decoding to at most 8 MiB.
 * They end at the end of the input, at a size of 0, or at the 4-byte
 * length the kernel's build appends (too few bytes behind it to be a
 * block); the magic again starts another frame.
 */
static int payload_lz4(const uint8_t *in, size_t n, uint8_t *out, size_t limit,
		       size_t *out_size, char *err, size_t errlen)
{
	size_t pos = 4, done = 0;
	uint8_t *block = malloc(LZ4_LEGACY_BLOCK);
	int ret = 0;

	if (!block)
		return fail(err, errlen, -ENOMEM, "out of memory for an lz4 block");
	while (n - pos >= 4) {
		uint32_t csize = get32(in + pos);
		int got;

		if (csize == LZ4_LEGACY_MAGIC) {
			pos += 4;
			continue;
		}
		if (csize == 0)
			break;
		if (csize > n - pos - 4) {
			if (n - pos == 4)	/* the appended length, not a block */
				break;
			ret = fail(err, errlen, -EBADMSG, "lz4 payload is truncated");
			break;
		}
		if (csize > (uint32_t)LZ4_compressBound(LZ4_LEGACY_BLOCK)) {
			ret = fail(err, errlen, -EBADMSG, "lz4 payload is corrupt (a block of %u bytes)", csize);
			break;
		}
		got = LZ4_decompress_safe((const char *)in + pos + 4, (char *)block, (int)csize,
					  LZ4_LEGACY_BLOCK);
		if (got < 0) {
			ret = fail(err, errlen, -EBADMSG, "lz4 payload is corrupt (block at offset %zu)", pos);
			break;
		}
		if ((size_t)got > limit - done) {
			ret = too_big(err, errlen, "lz4", limit);
			break;
		}
		memcpy(out + done, block, (size_t)got);
		done += (size_t)got;
		pos += 4 + csize;
	}
	free(block);
	*out_size = done;
	return ret;
}

int payload_decompress(enum payload_format fmt, const uint8_t *data, size_t size,
		       size_t limit, uint8_t **out, size_t *out_size,
		       char *err, size_t errlen)
{
	uint8_t *buf;
	size_t got = 0;
	int ret;

	*out = NULL;
	*out_size = 0;
	switch (fmt) {
	case PAYLOAD_GZIP: case PAYLOAD_LZMA: case PAYLOAD_XZ: case PAYLOAD_LZ4: case PAYLOAD_ZSTD:
		break;
	default:
		return fail(err, errlen, -ENOTSUP, "%s payload: ringvm has no decompressor for it",
			    payload_format_name(fmt));
	}
	if (payload_detect(data, size) != fmt)
		return fail(err, errlen, -EBADMSG, "payload does not start with the %s magic",
			    payload_format_name(fmt));
	if (!limit)
		return too_big(err, errlen, payload_format_name(fmt), limit);
	/* Pages are only touched as the output grows: a large limit costs address space only. */
	buf = malloc(limit);
	if (!buf)
		return fail(err, errlen, -ENOMEM, "out of memory for %zu bytes of decompressed kernel", limit);
	switch (fmt) {
	case PAYLOAD_GZIP:
		ret = payload_gzip(data, size, buf, limit, &got, err, errlen);
		break;
	case PAYLOAD_LZMA: case PAYLOAD_XZ:
		ret = payload_lzma(fmt == PAYLOAD_XZ, data, size, buf, limit, &got, err, errlen);
		break;
	case PAYLOAD_LZ4:
		ret = payload_lz4(data, size, buf, limit, &got, err, errlen);
		break;
	case PAYLOAD_ZSTD:
	default:
		ret = payload_zstd(data, size, buf, limit, &got, err, errlen);
		break;
	}
	if (ret) {
		free(buf);
		return ret;
	}
	*out = buf;
	*out_size = got;
	return 0;
}
