/*
 * safetensors.h — reading safetensors checkpoints (internal; never installed).
 *
 * The format (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of JSON mapping each
 * tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (plus an optional "__metadata__" object),
 * then the data section, which the offsets index in bytes. Every length, offset, shape and dtype is checked
 * against the file's size when the file is opened, before any tensor byte is read: a file that lies about
 * itself is T6_ERROR_FORMAT with a message naming the tensor and the lie, never a read out of bounds.
 */
#ifndef T6_SAFETENSORS_H
#define T6_SAFETENSORS_H

#include "runtime/runtime.h"

/* The spec caps the header at 100 MB; a longer one is an attack or garbage, not a checkpoint. */
#define T6I_ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)
#define T6I_ST_MAX_RANK 8

typedef struct t6i_st_tensor {
    const char *name;          /* owned by the t6i_safetensors */
    char dtype_name[8];        /* as the header spells it: "F32", "I64", … */
    bool readable;             /* F32, F16 or BF16: what t6i_safetensors_read converts */
    t6_dtype dtype;            /* valid when readable */
    size_t element_size;
    int rank;
    uint64_t shape[T6I_ST_MAX_RANK];
    uint64_t elements;
    uint64_t begin, end;       /* byte offsets into the data section, checked: begin ≤ end ≤ data_size */
} t6i_st_tensor;

typedef struct t6i_safetensors {
    const unsigned char *data; /* the data section */
    uint64_t data_size;
    t6i_st_tensor *tensors;    /* sorted by name */
    int count;
    char *names;               /* storage of the tensors' names */
    char *label;               /* the path (or "memory"), for messages */
    void *map;                 /* the mapping when opened from a file */
    size_t map_size;
} t6i_safetensors;

/** Parses a whole safetensors file held in memory (`size` bytes at `bytes`, which must outlive the result).
 *  `label` names it in messages. T6_ERROR_FORMAT for anything malformed. */
t6_status t6i_safetensors_parse(const t6_context *ctx, const void *bytes, size_t size, const char *label,
                                t6i_safetensors **out);

/** Maps the file at `path` read-only and parses it. T6_ERROR_IO when it cannot be opened or mapped. */
t6_status t6i_safetensors_open(const t6_context *ctx, const char *path, t6i_safetensors **out);

/** Unmaps and frees. NULL is fine. */
void t6i_safetensors_close(t6i_safetensors *st);

/** The tensor called `name`, or NULL. */
const t6i_st_tensor *t6i_safetensors_find(const t6i_safetensors *st, const char *name);

/** Converts every element of `tensor` (F32, F16 or BF16) to floats in `out` (tensor->elements of them).
 *  Another dtype is T6_ERROR_FORMAT naming it. */
t6_status t6i_safetensors_read(const t6_context *ctx, const t6i_safetensors *st, const t6i_st_tensor *tensor,
                               float *out);

#endif /* T6_SAFETENSORS_H */
