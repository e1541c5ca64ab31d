/* Whole-file reads of guest images: regular files only, bounded size, every error named. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/file.h"

#define FILE_MAX_SIZE (4ull << 30)	/* larger than any guest image we load */

int file_read(const char *what, const char *path, uint8_t **data, size_t *size,
	      char *err, size_t errlen)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t len, done = 0;
	int fd, ret;

	*data = NULL;
	*size = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot open %s '%s': %s", what, path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot stat %s '%s': %s", what, path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		snprintf(err, errlen, "%s '%s' is not a regular file", what, path);
		goto out;
	}
	if ((uint64_t)st.st_size > FILE_MAX_SIZE) {
		ret = -EFBIG;
		snprintf(err, errlen, "%s '%s' is too large (%lld bytes)", what, path,
			 (long long)st.st_size);
		goto out;
	}
	len = (size_t)st.st_size;
	buf = malloc(len ? len : 1);
	if (!buf) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory reading %s '%s'", what, path);
		goto out;
	}
	while (done < len) {
		ssize_t n = read(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			snprintf(err, errlen, "cannot read %s '%s': %s", what, path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;	/* the file shrank while we read it */
		done += (size_t)n;
	}
	*data = buf;
	*size = done;
	buf = NULL;
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}
