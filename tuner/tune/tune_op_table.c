/* tune_op_table.c — the ops t6-tune knows (name, library op, the shape features its buckets are matched on) and
 * bucket keys. Apart from the rest of the op code (tune_ops.c: problems on a device, timing) so that the spaces
 * (tune_spaces.c) link without it: tests/check_space_sweep.c enumerates the same spaces. */
#include "tune.h"

#include <stdio.h>
#include <string.h>

static const tune_op_desc ops[TUNE_OP_COUNT] = {
    [TUNE_PROJECTION] = {"projection", T6_OP_PROJECTION,
                         TUNE_F_MODEL_DIM | TUNE_F_HEADS | TUNE_F_HEAD_DIM | TUNE_F_RANKS | TUNE_F_DTYPE |
                             TUNE_F_WEIGHT_DTYPE | TUNE_F_ROWS},
    [TUNE_DECODE] = {"decode", T6_OP_DECODE,
                     TUNE_F_HEADS | TUNE_F_HEAD_DIM | TUNE_F_RANKS | TUNE_F_DTYPE | TUNE_F_BATCH | TUNE_F_LENGTH},
    [TUNE_PREFILL] = {"prefill", T6_OP_PREFILL,
                      TUNE_F_HEADS | TUNE_F_HEAD_DIM | TUNE_F_RANKS | TUNE_F_DTYPE | TUNE_F_ROWS | TUNE_F_BATCH |
                          TUNE_F_LENGTH},
    [TUNE_SYNTHETIC] = {"synthetic", T6_OP_COUNT, TUNE_F_ROWS},
};

const tune_op_desc *tune_op(tune_op_id id) { return id < TUNE_OP_COUNT ? &ops[id] : NULL; }

bool tune_op_by_name(const char *name, tune_op_id *id)
{
    for (int i = 0; i < TUNE_OP_COUNT; i++)
        if (strcmp(ops[i].name, name) == 0) {
            *id = (tune_op_id)i;
            return true;
        }
    return false;
}

void tune_shape_key(tune_op_id id, const tune_shape *s, char *buf, size_t cap)
{
    unsigned f = ops[id].features;
    size_t used = (size_t)snprintf(buf, cap, "%s:", ops[id].name);
#define KEY(flag, fmt, ...)                                                                                      \
    if ((f & (flag)) && used < cap) used += (size_t)snprintf(buf + used, cap - used, fmt ",", __VA_ARGS__)
    KEY(TUNE_F_MODEL_DIM, "model_dim=%d", s->model_dim);
    KEY(TUNE_F_HEADS, "heads=%d", s->heads);
    KEY(TUNE_F_HEAD_DIM, "head_dim=%d", s->head_dim);
    KEY(TUNE_F_RANKS, "rank_q=%d,rank_k=%d,rank_v=%d", s->rank_q, s->rank_k, s->rank_v);
    KEY(TUNE_F_DTYPE, "dtype=%s", t6_dtype_name(s->dtype));
    KEY(TUNE_F_WEIGHT_DTYPE, "weight_dtype=%s", t6_dtype_name(s->weight_dtype));
    KEY(TUNE_F_ROWS, "rows=%d", s->rows);
    KEY(TUNE_F_BATCH, "batch=%d", s->batch);
    KEY(TUNE_F_LENGTH, "length=%d", s->length);
#undef KEY
    if (used > 0 && used <= cap && buf[used - 1] == ',') buf[used - 1] = '\0';
}
