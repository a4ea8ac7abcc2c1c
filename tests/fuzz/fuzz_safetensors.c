/* fuzz_safetensors.c — libFuzzer harness of the checkpoint reader: any bytes as a safetensors file, then, for a
 * file that parses, every readable tensor converted to floats and the model's shape resolution run over it
 * (as TPA and as MHA). A crash, an overread (ASan) or a leak is a bug; T6_ERROR_FORMAT is the expected answer
 * to garbage. Built with -DT6_FUZZ=ON and clang; run: fuzz_safetensors NEW_CORPUS tests/fuzz/corpus_safetensors */
#include "model/model.h"
#include "model/safetensors.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    t6i_safetensors *st = NULL;
    if (t6i_safetensors_parse(NULL, data, size, "fuzz", &st) != T6_SUCCESS) return 0;
    for (int i = 0; i < st->count; i++) {
        const t6i_st_tensor *tensor = &st->tensors[i];
        /* The parser has bounded elements by the input's size, so this allocation is at most size floats. */
        float *values = malloc((size_t)(tensor->elements ? tensor->elements : 1) * sizeof *values);
        if (values) (void)t6i_safetensors_read(NULL, st, tensor, values);
        free(values);
    }
    t6_model_config config, resolved;
    t6_model_config_init(&config);
    (void)t6i_model_config_from_checkpoint(NULL, st, &config, &resolved);
    config.attention = T6_MODEL_MHA;
    config.head_dim = 32;
    (void)t6i_model_config_from_checkpoint(NULL, st, &config, &resolved);
    t6i_safetensors_close(st);
    return 0;
}
