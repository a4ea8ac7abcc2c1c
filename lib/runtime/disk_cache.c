/* disk_cache.c — compiled program binaries on disk, so a process does not pay the driver's compiler again.
 *
 * One file per build identity in the context's cache folder (t6_context_options.cache_dir, else T6_CACHE_DIR,
 * else $XDG_CACHE_HOME/t6, else ~/.cache/t6; "" turns the cache off). The name is a 128-bit hash of the
 * identity (device, driver, t6 version, source, options); the file repeats the full identity and a checksum of
 * the binary, so a collision, a truncated or corrupt file, or a file from another build is detected and means
 * a rebuild, never a failure. Files are written to a temporary name and renamed, so readers never see half a file. */
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char magic[8] = {'T', '6', 'P', 'R', 'O', 'G', '0', '1'};

typedef struct file_header {
    char magic[8];
    uint64_t key_length;
    uint64_t binary_size;
    uint64_t binary_checksum;
} file_header;

uint64_t t6i_hash64(const void *data, size_t length, uint64_t seed)
{
    const unsigned char *bytes = data;
    uint64_t hash = 0xcbf29ce484222325ull ^ seed;
    for (size_t i = 0; i < length; i++) {
        hash ^= bytes[i];
        hash *= 0x100000001b3ull;
    }
    return hash;
}

t6_status t6i_disk_cache_default_dir(bool environment, char **dir)
{
    *dir = NULL;
    const char *xdg = environment ? getenv("XDG_CACHE_HOME") : NULL;
    const char *home = environment ? getenv("HOME") : NULL;
    const char *base = xdg && *xdg ? xdg : home && *home ? home : NULL;
    if (!base) return T6_SUCCESS;
    const char *under = base == xdg ? "t6" : ".cache/t6";
    size_t length = strlen(base) + 1 + strlen(under) + 1;
    *dir = malloc(length);
    if (!*dir) return t6i_fail(NULL, T6_ERROR_OUT_OF_HOST_MEMORY, "out of host memory (cache folder)");
    snprintf(*dir, length, "%s/%s", base, under);
    return T6_SUCCESS;
}

/* The context's cache folder into `dir`; false when the disk cache is off or the name does not fit. */
static bool cache_dir(const t6_context *ctx, char *dir, size_t cap)
{
    if (!ctx->cache_dir) return false;
    return (size_t)snprintf(dir, cap, "%s", ctx->cache_dir) < cap;
}

static bool cache_path(const t6_context *ctx, const char *key, size_t key_length, char *path, size_t cap)
{
    char dir[3072];
    if (!cache_dir(ctx, dir, sizeof dir)) return false;
    uint64_t a = t6i_hash64(key, key_length, 0), b = t6i_hash64(key, key_length, 0x9e3779b97f4a7c15ull);
    snprintf(path, cap, "%s/%016llx%016llx.bin", dir, (unsigned long long)a, (unsigned long long)b);
    return true;
}

/* mkdir -p for the cache folder. */
static bool make_dirs(const char *path)
{
    char partial[3072];
    size_t n = strlen(path);
    if (n >= sizeof partial) return false;
    for (size_t i = 1; i <= n; i++) {
        if (path[i] == '/' || path[i] == '\0') {
            memcpy(partial, path, i);
            partial[i] = '\0';
            if (mkdir(partial, 0755) != 0 && errno != EEXIST) return false;
        }
    }
    return true;
}

bool t6i_disk_cache_load(const t6_context *ctx, const char *key, size_t key_length, unsigned char **binary,
                         size_t *binary_size)
{
    char path[4096];
    if (!cache_path(ctx, key, key_length, path, sizeof path)) return false;
    int fd = -1;
    size_t size = 0;
    if (t6i_open_regular(NULL, path, "disk cache: file", &fd, &size) != T6_SUCCESS) {
        /* Missing is the common case; anything else under the name (a FIFO, a folder) is worth a word. */
        if (access(path, F_OK) == 0) t6i_log(T6_LOG_WARN, "%s; not used", t6_context_last_error(NULL));
        return false;
    }
    FILE *file = fdopen(fd, "rb");
    if (!file) {
        close(fd);
        return false;
    }
    bool ok = false;
    char *stored_key = NULL;
    unsigned char *data = NULL;
    file_header header;
    if (fread(&header, sizeof header, 1, file) != 1 || memcmp(header.magic, magic, sizeof magic) != 0 ||
        header.key_length != key_length || header.binary_size == 0 || header.binary_size > (1ull << 31))
        goto done;
    stored_key = malloc(key_length ? key_length : 1);
    data = malloc(header.binary_size);
    if (!stored_key || !data) goto done;
    if (fread(stored_key, 1, key_length, file) != key_length || memcmp(stored_key, key, key_length) != 0) goto done;
    if (fread(data, 1, header.binary_size, file) != header.binary_size) goto done;
    if (fgetc(file) != EOF) goto done; /* trailing bytes: not a file we wrote */
    if (t6i_hash64(data, header.binary_size, 0) != header.binary_checksum) goto done;
    *binary = data;
    *binary_size = header.binary_size;
    data = NULL;
    ok = true;
done:
    if (!ok) t6i_log(T6_LOG_DEBUG, "disk cache: %s is missing, stale or damaged; rebuilding", path);
    fclose(file);
    free(stored_key);
    free(data);
    return ok;
}

void t6i_disk_cache_save(const t6_context *ctx, const char *key, size_t key_length, const unsigned char *binary,
                         size_t binary_size)
{
    char path[4096], dir[3072], temporary[4200];
    if (!cache_path(ctx, key, key_length, path, sizeof path) || !cache_dir(ctx, dir, sizeof dir)) return;
    if (!make_dirs(dir)) {
        t6i_log(T6_LOG_WARN, "disk cache: cannot create %s (%s); binaries are not cached", dir, strerror(errno));
        return;
    }
    snprintf(temporary, sizeof temporary, "%s.%ld.tmp", path, (long)getpid());
    /* Not blocking either: opening a FIFO someone left under the temporary name fails instead of waiting. */
    int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC, 0644);
    struct stat st;
    FILE *file = NULL;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) file = fdopen(fd, "wb");
    if (!file) {
        t6i_log(T6_LOG_WARN, "disk cache: cannot write %s (%s)", temporary,
                fd >= 0 ? "not a regular file" : strerror(errno));
        if (fd >= 0) close(fd);
        return;
    }
    file_header header;
    memcpy(header.magic, magic, sizeof magic);
    header.key_length = key_length;
    header.binary_size = binary_size;
    header.binary_checksum = t6i_hash64(binary, binary_size, 0);
    bool ok = fwrite(&header, sizeof header, 1, file) == 1 && fwrite(key, 1, key_length, file) == key_length &&
              fwrite(binary, 1, binary_size, file) == binary_size;
    ok = (fclose(file) == 0) && ok;
    if (!ok || rename(temporary, path) != 0) {
        t6i_log(T6_LOG_WARN, "disk cache: writing %s failed", path);
        remove(temporary);
    }
}
