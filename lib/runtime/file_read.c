/* file_read.c — opening the files t6 reads from outside (checkpoints, profiles, cached program binaries, kernel
 * sources under T6_KERNEL_DIR) without trusting what they are. A FIFO, a device or a folder may sit under any
 * of their names, and open() of a FIFO waits for a writer that may never come: the open is non-blocking, the
 * type is checked on the descriptor it gave (no window between a stat and the open), and anything but a
 * regular file is refused. */
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *kind_of(mode_t mode)
{
    if (S_ISDIR(mode)) return "a folder";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    return "not a regular file";
}

t6_status t6i_open_regular(const t6_context *ctx, const char *path, const char *what, int *fd, size_t *size)
{
    *fd = -1;
    *size = 0;
    int opened = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (opened < 0) return t6i_fail(ctx, T6_ERROR_IO, "%s %s cannot be opened: %s", what, path, strerror(errno));
    struct stat st;
    if (fstat(opened, &st) != 0) {
        const int error = errno;
        close(opened);
        return t6i_fail(ctx, T6_ERROR_IO, "%s %s cannot be examined: %s", what, path, strerror(error));
    }
    if (!S_ISREG(st.st_mode)) {
        close(opened);
        return t6i_fail(ctx, T6_ERROR_IO, "%s %s is not a regular file (%s)", what, path, kind_of(st.st_mode));
    }
    /* Reads of a regular file do not block anyway; the flag is cleared so the descriptor is an ordinary one. */
    const int flags = fcntl(opened, F_GETFL);
    if (flags < 0 || fcntl(opened, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        const int error = errno;
        close(opened);
        return t6i_fail(ctx, T6_ERROR_IO, "%s %s: fcntl failed: %s", what, path, strerror(error));
    }
    *fd = opened;
    *size = (size_t)st.st_size;
    return T6_SUCCESS;
}

t6_status t6i_read_regular(const t6_context *ctx, const char *path, const char *what, size_t max_bytes, char **text,
                           size_t *length)
{
    *text = NULL;
    *length = 0;
    int fd = -1;
    size_t size = 0;
    t6_status status = t6i_open_regular(ctx, path, what, &fd, &size);
    if (status != T6_SUCCESS) return status;
    char *buffer = NULL;
    if (size > max_bytes) {
        status = t6i_fail(ctx, T6_ERROR_FORMAT, "%s %s: %zu bytes is over the size limit of %zu", what, path, size,
                          max_bytes);
    } else if (!(buffer = malloc(size + 1))) {
        status = t6i_fail(ctx, T6_ERROR_OUT_OF_HOST_MEMORY, "out of host memory (%s %s)", what, path);
    } else {
        size_t done = 0;
        while (done < size) {
            ssize_t got = read(fd, buffer + done, size - done);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) break;
            done += (size_t)got;
        }
        if (done != size) status = t6i_fail(ctx, T6_ERROR_IO, "%s %s could not be read", what, path);
    }
    close(fd);
    if (status != T6_SUCCESS) {
        free(buffer);
        return status;
    }
    buffer[size] = '\0';
    *text = buffer;
    *length = size;
    return T6_SUCCESS;
}

t6_status t6_read_file(const char *path, const char *what, size_t max_bytes, char **text, size_t *length)
{
    if (text) *text = NULL;
    if (length) *length = 0;
    if (!path || !text || !length)
        return t6i_fail(NULL, T6_ERROR_INVALID_ARGUMENT, "t6_read_file: %s is NULL",
                        !path ? "path" : !text ? "text" : "length");
    return t6i_read_regular(NULL, path, what ? what : "file", max_bytes, text, length);
}

void t6_free(void *memory) { free(memory); }
