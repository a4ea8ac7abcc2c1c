/*
 * profile_internal.h — what profile.c (search, selection, lookup) and profile_parse.c (one file from JSON)
 * share, and what tests and the profile fuzzer look at. Never installed.
 */
#ifndef T6_PROFILE_INTERNAL_H
#define T6_PROFILE_INTERNAL_H

#include "tuning/tuning.h"

/* Bounds on untrusted files: far above what t6-tune writes (a few hundred KiB, tens of buckets). */
#define T6I_PROFILE_MAX_BYTES (16u << 20)
#define T6I_PROFILE_MAX_BUCKETS 1024
#define T6I_PROFILE_MAX_FILES_PER_FOLDER 512

/** One bucket: the shape it was tuned for (only the features it names) and the parameter values. */
struct t6i_profile_bucket {
    long long feature[T6I_F_COUNT];
    bool has[T6I_F_COUNT];
    int count;
    int index[T6I_MAX_PARAMS]; /* into the op's parameter table */
    int value[T6I_MAX_PARAMS];
    int position;              /* in the file's "buckets" array, for messages */
    char name[48];             /* its "name", possibly cut short; "" when it has none */
    bool failed;               /* its values failed at run time where the level below worked: skipped since */
};

/** Records of configurations that t6-tune found computing wrong results, per op part: at most this many. */
#define T6I_PROFILE_MAX_WRONG 64

/** A configuration t6-tune found computing wrong results on the device and driver a profile was tuned on (an
 *  entry of a bucket's "results" with "status": "wrong"): the tunables its "config" names and their values. */
typedef struct t6i_known_wrong {
    int count;
    int index[T6I_MAX_PARAMS]; /* into the op's parameter table */
    int value[T6I_MAX_PARAMS];
    char note[256];            /* where it is recorded and what t6-tune saw, for the refusal's message */
} t6i_known_wrong;

/** A file's part for one op. */
typedef struct t6i_profile_op {
    bool present;
    bool stale;         /* tuned against other kernel sources (kernel_hash differs) */
    char stale_hash[32];
    int bucket_count;   /* usable buckets (malformed-value buckets are dropped with a warning) */
    t6i_profile_bucket *buckets;
    int wrong_count;    /* records of wrong results in its buckets' "results" */
    t6i_known_wrong *wrong;
} t6i_profile_op;

struct t6i_profile_file {
    char *origin;                  /* the path it came from, for messages and t6_context_profile */
    bool tuned;
    bool vendor_default;           /* matches by vendor only */
    int is_gpu;                    /* 1, 0, or -1 when the file does not say */
    char identity[2 * T6_INFO_TEXT];
    char driver[T6_INFO_TEXT];
    char vendor[64];
    char family[64];
    t6i_profile_op ops[T6_OP_COUNT];
};

/** The level at which `file` describes the device `info` (T6_PROFILE_BUILTIN: it does not). */
t6_profile_level t6i_profile_match(const t6i_profile_file *file, const t6_device_info *info);

/** Reads and parses the file at `path` (size-limited). T6_ERROR_IO or T6_ERROR_FORMAT with the reason in
 *  the thread's last error. */
t6_status t6i_profile_read(const char *path, t6i_profile_file **out);

/**
 * Chooses, for each op, the best-matching fresh profile for `info` among the files and folders of
 * `search_path` (colon-separated; folders contribute their *.json files in name order). Logs skipped files as
 * warnings. Returns NULL when nothing matched (or on allocation failure: built-in defaults either way).
 */
t6i_profile *t6i_profile_select(const t6_device_info *info, const char *search_path);

/** Which level and file serve `op` (path NULL at T6_PROFILE_BUILTIN). `profile` may be NULL. */
t6_profile_level t6i_profile_level(const t6i_profile *profile, t6_op op, const char **path);

/** The bucket of `part` nearest `shape` (see profile.c for the distance), or NULL when it has none. */
const t6i_profile_bucket *t6i_profile_nearest(const t6i_profile_op *part, const t6i_shape *shape);

/** Whether `params` (resolved for a call) match a configuration that t6-tune recorded as computing wrong
 *  results on this device and driver, in a profile of it (exact level) that the search found or that was loaded
 *  explicitly: every tunable the record names has the recorded value. The record, in words, goes to `why`. */
bool t6i_profile_known_wrong(const t6i_profile *profile, const t6i_params *params, char *why, size_t cap);

/** Drops the buckets of `file` whose values t6i_params_check refuses on the device `info`, with a warning
 *  each (what the search and t6_context_load_profile do to every file they keep). */
void t6i_profile_drop_refused(t6i_profile_file *file, const t6_device_info *info);

#endif /* T6_PROFILE_INTERNAL_H */
