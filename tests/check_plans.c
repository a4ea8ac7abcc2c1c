/* check_plans.c — the attention kernels' plans (lib/ops/attention_plan.h) on made-up devices of every kind, no
 * hardware needed: which kernel serves a call (the order of T6_KERNEL_BY_DEVICE, what an explicit KERNEL gets,
 * what a refused probe or build passes to), and how each planner fits its tunables to the device (never above what
 * was asked, always within the device's local memory and group limit); and t6-tune's spaces
 * (tuner/tune/tune_spaces.c), which ask the same plans: they hold only configurations that run as asked, and their
 * defaults are what an untuned call runs. The library runs these plans: the suites that run kernels check what they
 * compute. */
#include "ops/attention_plan.h"
#include "support.h"
#include "tune.h"

#include <stdio.h>
#include <string.h>

/* ---- made-up devices and calls ---- */

static t6_device_info device(const char *vendor, bool gpu, unsigned long long local_bytes, size_t group_limit)
{
    t6_device_info info = T6_DEVICE_INFO_INIT;
    info.is_gpu = gpu;
    info.compute_units = gpu ? 132 : 8;
    info.local_mem_bytes = local_bytes;
    info.max_work_group_size = group_limit;
    info.preferred_work_group_multiple = gpu ? 32 : 1;
    snprintf(info.normalized_vendor, sizeof info.normalized_vendor, "%s", vendor);
    return info;
}

static t6_device_info h200(void) { return device("nvidia", true, 49152, 1024); }
static t6_device_info amd_gpu(void) { return device("amd", true, 65536, 1024); }
static t6_device_info cpu(void) { return device("pocl", false, 4194304, 4096); }

static const int prefill_counts[2] = {9, 7};

/* Decode of `batch` sequences over `length` positions, or prefill of 9 and 7 queries. */
static t6i_attention_shape shape_of(int heads, int head_dim, int rank_q, int rank_k, int rank_v, t6_dtype dtype,
                                    bool prefill, int batch, int length)
{
    return (t6i_attention_shape){.heads = heads, .head_dim = head_dim, .rank_q = rank_q, .rank_k = rank_k,
                                 .rank_v = rank_v, .dtype = dtype, .precision = T6_PRECISION_STRICT,
                                 .prefill = prefill, .batch = prefill ? 2 : batch,
                                 .counts = prefill ? prefill_counts : NULL, .rows = prefill ? 16 : batch,
                                 .max_end = length};
}

static t6i_attention_shape paper(t6_dtype dtype) { return shape_of(32, 64, 16, 1, 1, dtype, false, 1, 65536); }
static t6i_attention_shape medium(t6_dtype dtype) { return shape_of(47, 64, 6, 2, 2, dtype, false, 8, 4096); }

/* The library's defaults (lib/tuning/params_table.h), KERNEL as given. */
static t6i_attention_plan asked(int kernel, bool prefill)
{
    t6i_attention_plan p;
    memset(&p, 0, sizeof p);
    p.kernel = kernel;
    p.fma = (t6i_fma_attention_plan){.kernel = kernel, .wg_size = 256, .tile = prefill ? 16 : 32, .group_heads = 64,
                                     .queries = prefill ? 4 : 1, .tokens = 2, .value_heads = 4, .vector = 8,
                                     .stage_s1 = 1, .groups_per_cu = 2, .min_split = prefill ? 256 : 64};
    p.stages = (t6i_stages_plan){.mma = 1, .wg_size = 256, .tile = 32, .vector = 8, .acc_heads = 0, .registers = 0,
                                 .cu_groups = 2, .min_split = 64};
    p.mma = (t6i_mma_plan){.mma = 1, .stage = 32, .stages = 3, .queries = prefill ? 4 : 1, .groups_per_cu = 2,
                           .min_split = prefill ? 256 : 64, .merge = prefill ? 1 : 2, .fanin = 0};
    return p;
}

/* The kernel that serves, with the status and the reason checked. */
static int chosen(const t6_device_info *info, const t6i_attention_shape *shape, t6i_attention_plan *plan,
                  unsigned refused)
{
    char why[256] = "";
    const t6_status status = t6i_attention_plan_make(info, shape, refused, plan, why, sizeof why);
    ck_assert_msg(status == T6_SUCCESS, "status %d: %s", status, why);
    return plan->kernel;
}

/* ---- the choice ---- */

START_TEST(by_device)
{
    const t6_device_info nvidia = h200(), amd = amd_gpu(), host = cpu();
    const t6i_attention_shape paper16 = paper(T6_F16), paper32 = paper(T6_F32);
    t6i_attention_plan p = asked(T6_KERNEL_BY_DEVICE, false);
    /* NVIDIA, fp16 cache: tensor cores; fp32: kernel 3 (no tensor cores for fp32 caches), and why not kernel 4. */
    ck_assert_int_eq(chosen(&nvidia, &paper16, &p, 0), T6_KERNEL_TENSOR_CORES);
    ck_assert_str_eq(p.passed_over, "");
    p = asked(T6_KERNEL_BY_DEVICE, false);
    ck_assert_int_eq(chosen(&nvidia, &paper32, &p, 0), T6_KERNEL_STAGES);
    ck_assert_msg(strstr(p.passed_over, "kernel 4: tensor cores take fp16 and bf16") != NULL, "%s", p.passed_over);
    ck_assert_int_eq(p.stages.mma, 0);
    /* A probe or a build refused: the next kernel of the order. */
    p = asked(T6_KERNEL_BY_DEVICE, false);
    ck_assert_int_eq(chosen(&nvidia, &paper16, &p, T6I_REFUSED_TENSOR_CORES), T6_KERNEL_STAGES);
    ck_assert_int_eq(p.stages.mma, 1);
    p = asked(T6_KERNEL_BY_DEVICE, false);
    ck_assert_int_eq(chosen(&nvidia, &paper16, &p, T6I_REFUSED_TENSOR_CORES | T6I_REFUSED_STAGES), T6_KERNEL_TILES);
    ck_assert_msg(strstr(p.passed_over, "kernel 4: refused") && strstr(p.passed_over, "kernel 3: refused"), "%s",
                  p.passed_over);
    /* Another GPU: kernel 3 on FMAs (tensor cores are NVIDIA's mma.sync), unless their emulation is asked for. */
    p = asked(T6_KERNEL_BY_DEVICE, false);
    ck_assert_int_eq(chosen(&amd, &paper16, &p, 0), T6_KERNEL_STAGES);
    ck_assert_int_eq(p.stages.mma, 0);
    p = asked(T6_KERNEL_BY_DEVICE, false);
    p.stages.mma = 2;
    ck_assert_int_eq(chosen(&amd, &paper16, &p, 0), T6_KERNEL_STAGES);
    ck_assert_int_eq(p.stages.mma, 2);
    /* A CPU: the vectors. */
    p = asked(T6_KERNEL_BY_DEVICE, false);
    ck_assert_int_eq(chosen(&host, &paper16, &p, 0), T6_KERNEL_VECTORS);
    /* Prefill has no kernel 3: tensor cores on NVIDIA, the tiles on other GPUs, the vectors on CPUs. */
    const t6i_attention_shape prefill = shape_of(17, 80, 3, 2, 3, T6_BF16, true, 2, 70);
    p = asked(T6_KERNEL_BY_DEVICE, true);
    ck_assert_int_eq(chosen(&nvidia, &prefill, &p, 0), T6_KERNEL_TENSOR_CORES);
    p = asked(T6_KERNEL_BY_DEVICE, true);
    ck_assert_int_eq(chosen(&amd, &prefill, &p, 0), T6_KERNEL_TILES);
    p = asked(T6_KERNEL_BY_DEVICE, true);
    ck_assert_int_eq(chosen(&host, &prefill, &p, 0), T6_KERNEL_VECTORS);
}
END_TEST

START_TEST(explicit_kernels)
{
    const t6_device_info nvidia = h200(), amd = amd_gpu();
    const t6i_attention_shape paper16 = paper(T6_F16);
    t6i_attention_plan p = asked(T6_KERNEL_TILES, false);
    ck_assert_int_eq(chosen(&nvidia, &paper16, &p, 0), T6_KERNEL_TILES);
    p = asked(T6_KERNEL_VECTORS, false);
    ck_assert_int_eq(chosen(&nvidia, &paper16, &p, 0), T6_KERNEL_VECTORS);
    /* Kernel 4 asked off NVIDIA: decode falls to kernel 3 and says why. */
    p = asked(T6_KERNEL_TENSOR_CORES, false);
    ck_assert_int_eq(chosen(&amd, &paper16, &p, 0), T6_KERNEL_STAGES);
    ck_assert_msg(strstr(p.passed_over, "kernel 4: no tensor cores") != NULL, "%s", p.passed_over);
    /* Kernel 3 asked where it cannot fit is an error, not another kernel. */
    const t6_device_info tiny = device("amd", true, 2048, 1024);
    p = asked(T6_KERNEL_STAGES, false);
    char why[256] = "";
    ck_assert_int_eq(t6i_attention_plan_make(&tiny, &paper16, 0, &p, why, sizeof why), T6_ERROR_UNSUPPORTED);
    ck_assert_msg(strstr(why, "do not fit") != NULL, "%s", why);
    /* A STAGE kernel 4 does not take. */
    p = asked(T6_KERNEL_TENSOR_CORES, false);
    p.mma.stage = 24;
    why[0] = '\0';
    ck_assert_int_eq(t6i_attention_plan_make(&nvidia, &paper16, 0, &p, why, sizeof why), T6_ERROR_INVALID_PARAMS);
    ck_assert_msg(strstr(why, "STAGE=24") != NULL, "%s", why);
}
END_TEST

/* ---- the fitting ---- */

START_TEST(stages_fitting)
{
    /* A group of 64 at ranks 3/2/3 and 17 heads, with local memory to spare (PoCL's 1 MiB): a score unit of 2
     * positions × 9 heads × 6 registers is over 48, so the tile comes down to 16, where 8 units take 3 heads each. */
    const t6_device_info roomy = device("amd", true, 1 << 20, 1024);
    const t6i_attention_shape odd = shape_of(17, 80, 3, 2, 3, T6_F16, false, 2, 70);
    t6i_stages_plan p = asked(T6_KERNEL_STAGES, false).stages;
    p.wg_size = 64;
    p.tile = 64;
    char why[256] = "";
    ck_assert_int_eq(t6i_stages_plan_make(&roomy, &odd, 0, &p, why, sizeof why), T6_SUCCESS);
    ck_assert_int_eq(p.tile, 16);
    ck_assert_int_le(p.score_t * p.score_h * (1 + odd.rank_k + odd.rank_v), 48);
    /* In an AMD GPU's 64 KiB the local memory decides: a tile of 32 at 256 work-items needs 66 KiB. */
    const t6_device_info amd = amd_gpu();
    t6i_stages_plan lm = asked(T6_KERNEL_STAGES, false).stages;
    ck_assert_int_eq(t6i_stages_plan_make(&amd, &odd, 0, &lm, why, sizeof why), T6_SUCCESS);
    ck_assert_int_eq(lm.tile, 16);
    lm = asked(T6_KERNEL_STAGES, false).stages;
    ck_assert_int_eq(t6i_stages_plan_make(&roomy, &odd, 0, &lm, why, sizeof why), T6_SUCCESS);
    ck_assert_int_eq(lm.tile, 32);
    /* At most max_tile (what the library asks after a build took more local memory than planned). */
    t6i_stages_plan q = asked(T6_KERNEL_STAGES, false).stages;
    q.tile = 64;
    ck_assert_int_eq(t6i_stages_plan_make(&amd, &odd, 16, &q, why, sizeof why), T6_SUCCESS);
    ck_assert_int_eq(q.tile, 16);
    /* Tensor cores stage multiples of 16 positions; NVIDIA's registers follow CU_GROUPS groups per unit. */
    const t6_device_info nvidia = h200();
    const t6i_attention_shape paper16 = paper(T6_F16);
    t6i_stages_plan r = asked(T6_KERNEL_STAGES, false).stages;
    r.tile = 40;
    ck_assert_int_eq(t6i_stages_plan_make(&nvidia, &paper16, 0, &r, why, sizeof why), T6_SUCCESS);
    ck_assert_int_eq(r.mma, 1);
    ck_assert_int_eq(r.tile % 16, 0);
    ck_assert_int_le(r.tile, 48);
    ck_assert_int_eq(r.registers, 65536 / (256 * 2) / 8 * 8);
    /* The splits cover the positions in whole tiles, about CU_GROUPS groups per compute unit. */
    ck_assert_int_eq(r.split_length % r.tile, 0);
    ck_assert_int_ge(r.splits * r.split_length, paper16.max_end);
    ck_assert_int_lt((r.splits - 1) * r.split_length, paper16.max_end);
    ck_assert_int_ge(r.splits, 132 * 2 / 2);
}
END_TEST

START_TEST(mma_fitting)
{
    /* The paper's shape keeps three stages of 32 positions in the H200's 48 KiB; T6-medium's (47 heads, ranks 2)
     * take 28 KiB a stage of 32: fewer positions per stage first, then (32 KiB) fewer stages. */
    const t6_device_info nvidia = h200(), small = device("nvidia", true, 32768, 1024);
    const t6i_attention_shape m = medium(T6_F16), paper16 = paper(T6_F16);
    char why[256] = "";
    t6i_mma_plan p = asked(T6_KERNEL_TENSOR_CORES, false).mma;
    ck_assert_int_eq(t6i_mma_plan_make(&nvidia, &paper16, &p, why, sizeof why), T6_SUCCESS);
    ck_assert_int_eq(p.stage, 32);
    ck_assert_int_eq(p.stages, 3);
    ck_assert_uint_le(p.local_bytes, nvidia.local_mem_bytes);
    t6i_mma_plan q = asked(T6_KERNEL_TENSOR_CORES, false).mma;
    ck_assert_int_eq(t6i_mma_plan_make(&nvidia, &m, &q, why, sizeof why), T6_SUCCESS);
    ck_assert_int_eq(q.stage, 16);
    ck_assert_int_eq(q.stages, 3);
    ck_assert_uint_le(q.local_bytes, nvidia.local_mem_bytes);
    q = asked(T6_KERNEL_TENSOR_CORES, false).mma;
    ck_assert_int_eq(t6i_mma_plan_make(&small, &m, &q, why, sizeof why), T6_SUCCESS);
    ck_assert_int_eq(q.stage, 16);
    ck_assert_int_eq(q.stages, 2);
    ck_assert_uint_le(q.local_bytes, small.local_mem_bytes);
    /* Too little for two stages of 16: kernel 4 does not serve, and says why. */
    const t6_device_info tiny = device("nvidia", true, 2048, 1024);
    t6i_mma_plan r = asked(T6_KERNEL_TENSOR_CORES, false).mma;
    ck_assert_int_eq(t6i_mma_plan_make(&tiny, &m, &r, why, sizeof why), T6_ERROR_UNSUPPORTED);
    ck_assert_msg(strstr(why, "two stages of 16 positions") != NULL, "%s", why);
    /* Prefill: a warp per 16 heads and query (47 heads: 96 work-items a query), within the group limit and the
     * longest sequence (9 queries). */
    const t6_device_info narrow = device("nvidia", true, 49152, 256);
    const t6i_attention_shape pre = shape_of(47, 64, 6, 2, 2, T6_F16, true, 2, 70);
    t6i_mma_plan s = asked(T6_KERNEL_TENSOR_CORES, true).mma;
    ck_assert_int_eq(t6i_mma_plan_make(&narrow, &pre, &s, why, sizeof why), T6_SUCCESS);
    ck_assert_int_eq(s.queries, 2);
    ck_assert_int_eq(s.wg_size, 192);
    ck_assert_int_eq(s.query_tiles, 5 + 4);
    s = asked(T6_KERNEL_TENSOR_CORES, true).mma;
    s.queries = 64;
    ck_assert_int_eq(t6i_mma_plan_make(&nvidia, &pre, &s, why, sizeof why), T6_SUCCESS);
    ck_assert_int_eq(s.queries, 9);
    /* Fast mode takes one part of the softmax weights; strict bf16 three of q̃. */
    t6i_attention_shape fast = m, bf16 = m;
    fast.precision = T6_PRECISION_FAST;
    bf16.dtype = T6_BF16;
    t6i_mma_plan f = asked(T6_KERNEL_TENSOR_CORES, false).mma, b = f;
    ck_assert_int_eq(t6i_mma_plan_make(&nvidia, &fast, &f, why, sizeof why), T6_SUCCESS);
    ck_assert_int_eq(t6i_mma_plan_make(&nvidia, &bf16, &b, why, sizeof why), T6_SUCCESS);
    ck_assert_int_eq(f.pterms, 1);
    ck_assert_int_eq(b.qterms, 3);
}
END_TEST

START_TEST(fma_fitting)
{
    /* Kernel 1 lowers TILE, then QUERIES, then HEADS until its local memory fits; never above what was asked. */
    const t6_device_info small = device("amd", true, 16384, 1024);
    const t6i_attention_shape pre = shape_of(47, 64, 6, 2, 2, T6_F32, true, 2, 70);
    t6i_attention_plan p = asked(T6_KERNEL_TILES, true);
    p.fma.tile = 64;
    p.fma.queries = 16;
    ck_assert_int_eq(chosen(&small, &pre, &p, 0), T6_KERNEL_TILES);
    ck_assert_uint_le(t6i_fma_attention_local_bytes(&p.fma, &pre), small.local_mem_bytes);
    ck_assert_int_le(p.fma.tile, 64);
    ck_assert_int_le(p.fma.queries, 9);
    ck_assert_int_le(p.fma.group_heads, 47);
    ck_assert_int_lt(p.fma.tile * p.fma.queries * p.fma.group_heads, 64 * 9 * 47);
}
END_TEST

/* ---- t6-tune's spaces ---- */

static int space_value(const tune_space *space, const tune_config *config, const char *name)
{
    for (int i = 0; i < space->param_count; i++)
        if (strcmp(space->params[i].name, name) == 0) return tune_config_value(space, config, i);
    ck_abort_msg("the space has no %s", name);
    return 0;
}

/* Configurations of `space` with NAME=value for both pairs. */
static int count_with(const tune_space *space, const char *name1, int value1, const char *name2, int value2)
{
    int count = 0;
    for (int k = 0; k < space->size; k++) {
        const tune_config c = tune_config_from_key(space, space->keys[k]);
        count += space_value(space, &c, name1) == value1 && space_value(space, &c, name2) == value2;
    }
    return count;
}

static tune_space space_for(tune_op_id op, const t6_device_info *info, tune_shape shape)
{
    tune_device device;
    memset(&device, 0, sizeof device);
    device.info = *info;
    tune_space space;
    char error[512] = "";
    ck_assert_msg(tune_space_build(op, &shape, &device, &space, error, sizeof error), "%s", error);
    return space;
}

START_TEST(spaces_hold_what_runs)
{
    /* An H100's 48 KiB: T6-medium's stages of 32 positions do not fit three deep, the paper's do. t6-tune's
     * buckets: prefill of 512 rows from empty, decode of one sequence at 32768. */
    t6_device_info h100 = h200();
    const tune_shape medium_prefill = {1024, 47, 64, 6, 2, 2, T6_F16, T6_F16, 512, 1, 512};
    const tune_shape medium_decode = {1024, 47, 64, 6, 2, 2, T6_F16, T6_F16, 1, 1, 32768};
    const tune_shape paper_prefill = {2048, 32, 64, 16, 1, 1, T6_F16, T6_F16, 512, 1, 512};
    tune_space pre = space_for(TUNE_PREFILL, &h100, medium_prefill);
    /* Kernel 4 only at the stages it runs; its defaults are the library's after the planner (it lowers STAGE). */
    ck_assert_int_gt(count_with(&pre, "T6_PRE_KERNEL", 4, "T6_PRE_STAGE", 16), 0);
    ck_assert_int_eq(count_with(&pre, "T6_PRE_KERNEL", 4, "T6_PRE_STAGE", 32), 0);
    ck_assert(tune_space_contains(&pre, &pre.defaults));
    ck_assert_int_eq(space_value(&pre, &pre.defaults, "T6_PRE_KERNEL"), 4);
    ck_assert_int_eq(space_value(&pre, &pre.defaults, "T6_PRE_STAGE"), 16);
    ck_assert_int_eq(space_value(&pre, &pre.defaults, "T6_PRE_STAGES"), 3);
    tune_space_free(&pre);
    tune_space paper_pre = space_for(TUNE_PREFILL, &h100, paper_prefill);
    ck_assert_int_gt(count_with(&paper_pre, "T6_PRE_KERNEL", 4, "T6_PRE_STAGE", 32), 0);
    ck_assert_int_eq(space_value(&paper_pre, &paper_pre.defaults, "T6_PRE_STAGE"), 32);
    tune_space_free(&paper_pre);
    tune_space dec = space_for(TUNE_DECODE, &h100, medium_decode);
    ck_assert(tune_space_contains(&dec, &dec.defaults));
    ck_assert_int_eq(space_value(&dec, &dec.defaults, "T6_DEC_KERNEL"), 0);
    ck_assert_int_eq(space_value(&dec, &dec.defaults, "T6_DEC_STAGE"), 16);
    ck_assert_int_eq(count_with(&dec, "T6_DEC_KERNEL", 0, "T6_DEC_STAGE", 32), 0);
    tune_space_free(&dec);
    /* Another GPU: "by device" is kernel 3, whose tile the planner lowers where a group of 64 cannot hold the
     * score registers (17 heads, ranks 3/2/3, with local memory to spare). */
    const t6_device_info roomy = device("amd", true, 1 << 20, 1024);
    const tune_shape odd = {100, 17, 80, 3, 2, 3, T6_F16, T6_F16, 1, 2, 70};
    tune_space k3 = space_for(TUNE_DECODE, &roomy, odd);
    int kernel3_wg64 = 0;
    for (int k = 0; k < k3.size; k++) {
        const tune_config c = tune_config_from_key(&k3, k3.keys[k]);
        if (space_value(&k3, &c, "T6_DEC_KERNEL") == 0 && space_value(&k3, &c, "T6_DEC_WG_SIZE") == 64) {
            kernel3_wg64++;
            ck_assert_int_eq(space_value(&k3, &c, "T6_DEC_TILE"), 16);
        }
    }
    ck_assert_int_gt(kernel3_wg64, 0);
    tune_space_free(&k3);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("plans");
    TCase *choice = tcase_create("choice");
    tcase_add_test(choice, by_device);
    tcase_add_test(choice, explicit_kernels);
    suite_add_tcase(suite, choice);
    TCase *fitting = tcase_create("fitting");
    tcase_add_test(fitting, stages_fitting);
    tcase_add_test(fitting, mma_fitting);
    tcase_add_test(fitting, fma_fitting);
    suite_add_tcase(suite, fitting);
    TCase *spaces = tcase_create("spaces");
    tcase_add_test(spaces, spaces_hold_what_runs);
    suite_add_tcase(suite, spaces);
    return t6t_run(suite);
}
