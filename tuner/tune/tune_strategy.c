/* tune_strategy.c — how a space is searched. Every strategy evaluates the starting points first (the built-in
 * defaults, then winners of similar buckets), so a run always knows how much tuning gained, then:
 * - exhaustive: every configuration, in enumeration order;
 * - random: every configuration in a random order (the budget cuts it short);
 * - local (the default): greedy iterated local search. From the best point so far it tries neighbours (one
 *   parameter one value up or down) in random order and moves to the first that is faster by more than the
 *   search's spread (below), trying a move that paid once more before the others; at a local optimum it kicks
 *   the best point (two parameters to random values) and descends again. Few evaluations go to configurations
 *   far from good ones, which is what a small budget needs.
 * The spread is measured as the search goes: the median, over its successful evaluations, of how far off each
 * time may be (the evaluator's uncertainty: a median of n runs is off by about (p90 − p10)/(2√n)). On PoCL it
 * is 1–5%; a descent that moved on a gain of 0.4–1% followed the noise away from the optimum. Exact timings
 * (the synthetic op) have no spread, and the search moves on any gain as it always did.
 * Strategies never evaluate a configuration twice and depend only on the seed and the results, so a resumed
 * run that gets the logged results back retraces the same path. */
#include "tune.h"
#include "runtime/numerics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The configurations a search has evaluated (open addressing over keys + 1, so 0 means empty). */
typedef struct seen_set {
    unsigned long long *slots;
    size_t capacity, count;
} seen_set;

static bool seen_init(seen_set *set, int space_size)
{
    set->capacity = 64;
    while (set->capacity < (size_t)space_size * 2) set->capacity *= 2;
    set->count = 0;
    set->slots = calloc(set->capacity, sizeof *set->slots);
    return set->slots != NULL;
}

static bool seen_has(const seen_set *set, unsigned long long key)
{
    for (size_t i = (key * 0x9E3779B97F4A7C15ull) & (set->capacity - 1);; i = (i + 1) & (set->capacity - 1)) {
        if (set->slots[i] == 0) return false;
        if (set->slots[i] == key + 1) return true;
    }
}

static void seen_add(seen_set *set, unsigned long long key)
{
    size_t i = (key * 0x9E3779B97F4A7C15ull) & (set->capacity - 1);
    while (set->slots[i] != 0 && set->slots[i] != key + 1) i = (i + 1) & (set->capacity - 1);
    if (set->slots[i] == 0) set->count++;
    set->slots[i] = key + 1;
}

typedef struct search {
    const tune_space *space;
    tune_eval_fn eval;
    void *evaluator;
    seen_set seen;
    bool stop;
    tune_config best;
    double best_ns;
    t6i_rng r;
    double *uncertainties; /* of the successful evaluations, in the order they came */
    double *sorted;        /* room to take their median */
    int measured;
} search;

/* Evaluates `config` unless it was already: returns its time (INFINITY if it failed or was evaluated before). */
static double try_config(search *s, const tune_config *config)
{
    unsigned long long key = tune_config_key(s->space, config);
    if (s->stop || seen_has(&s->seen, key) || !tune_space_contains(s->space, config)) return INFINITY;
    seen_add(&s->seen, key);
    double uncertainty = 0.0;
    double ns = s->eval(s->evaluator, config, &uncertainty, &s->stop);
    if (isfinite(ns)) s->uncertainties[s->measured++] = isfinite(uncertainty) && uncertainty > 0.0 ? uncertainty : 0.0;
    if (ns < s->best_ns) {
        s->best_ns = ns;
        s->best = *config;
    }
    return ns;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The search's spread so far (the file's header): 0 before anything ran, and for exact timings. */
static double spread(search *s)
{
    if (s->measured == 0) return 0.0;
    memcpy(s->sorted, s->uncertainties, (size_t)s->measured * sizeof *s->sorted);
    qsort(s->sorted, (size_t)s->measured, sizeof *s->sorted, by_value);
    int half = s->measured / 2;
    return s->measured % 2 ? s->sorted[half] : 0.5 * (s->sorted[half - 1] + s->sorted[half]);
}

/* Whether a time of `ns` is faster than `than` by more than the spread. */
static bool clearly_faster(search *s, double ns, double than) { return ns < than * (1.0 - spread(s)); }

static bool exhausted(const search *s) { return s->stop || s->seen.count >= (size_t)s->space->size; }

static void run_in_order(search *s, const int *order)
{
    for (int i = 0; i < s->space->size && !exhausted(s); i++) {
        tune_config config = tune_config_from_key(s->space, s->space->keys[order ? order[i] : i]);
        try_config(s, &config);
    }
}

static void run_random(search *s)
{
    int *order = malloc((size_t)s->space->size * sizeof *order);
    if (!order) return;
    for (int i = 0; i < s->space->size; i++) order[i] = i;
    for (int i = s->space->size - 1; i > 0; i--) {
        int j = t6i_below(&s->r, i + 1), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    run_in_order(s, order);
    free(order);
}

/* The valid neighbours of `from` not yet evaluated, in random order. */
static int neighbours(search *s, const tune_config *from, tune_config *out)
{
    int n = 0;
    for (int p = 0; p < s->space->param_count; p++)
        for (int d = -1; d <= 1; d += 2) {
            int index = (int)from->index[p] + d;
            if (index < 0 || index >= s->space->params[p].count) continue;
            tune_config c = *from;
            c.index[p] = (unsigned char)index;
            if (tune_space_contains(s->space, &c) && !seen_has(&s->seen, tune_config_key(s->space, &c))) out[n++] = c;
        }
    for (int i = n - 1; i > 0; i--) {
        int j = t6i_below(&s->r, i + 1);
        tune_config t = out[i];
        out[i] = out[j];
        out[j] = t;
    }
    return n;
}

/* One parameter one candidate up (+1) or down (-1) from `from`, if that is a valid configuration not yet
 * evaluated. */
static bool step(search *s, const tune_config *from, int param, int direction, tune_config *out)
{
    int index = (int)from->index[param] + direction;
    if (index < 0 || index >= s->space->params[param].count) return false;
    *out = *from;
    out->index[param] = (unsigned char)index;
    return tune_space_contains(s->space, out) && !seen_has(&s->seen, tune_config_key(s->space, out));
}

/* First-improvement descent from `current`; returns the local optimum reached. A move that paid is tried again
 * first (parameters are mostly sizes on a log scale, whose optimum often lies several candidates away in the
 * same direction), then the other neighbours in random order. Only gains beyond the spread count as moves. */
static tune_config descend(search *s, tune_config current, double current_ns)
{
    tune_config list[2 * TUNE_MAX_PARAMS];
    int last_param = -1, last_direction = 0;
    bool moved = true;
    while (moved && !exhausted(s)) {
        moved = false;
        tune_config next_config;
        if (last_param >= 0 && step(s, &current, last_param, last_direction, &next_config)) {
            double ns = try_config(s, &next_config);
            if (clearly_faster(s, ns, current_ns)) {
                current = next_config;
                current_ns = ns;
                moved = true;
                continue;
            }
        }
        int n = neighbours(s, &current, list);
        for (int i = 0; i < n && !moved && !exhausted(s); i++) {
            double ns = try_config(s, &list[i]);
            if (clearly_faster(s, ns, current_ns)) {
                for (int p = 0; p < s->space->param_count; p++)
                    if (list[i].index[p] != current.index[p]) {
                        last_param = p;
                        last_direction = (int)list[i].index[p] - (int)current.index[p];
                    }
                current = list[i];
                current_ns = ns;
                moved = true;
            }
        }
    }
    return current;
}

/* A kick from the best point: two parameters to random values, until an unevaluated valid configuration turns
 * up; failing that (the neighbourhood is used up), any unevaluated configuration. */
static bool kick(search *s, tune_config *out)
{
    for (int attempt = 0; attempt < 200; attempt++) {
        tune_config c = s->best;
        for (int k = 0; k < 2; k++) {
            int p = t6i_below(&s->r, s->space->param_count);
            c.index[p] = (unsigned char)t6i_below(&s->r, s->space->params[p].count);
        }
        if (tune_space_contains(s->space, &c) && !seen_has(&s->seen, tune_config_key(s->space, &c))) {
            *out = c;
            return true;
        }
    }
    int offset = t6i_below(&s->r, s->space->size);
    for (int i = 0; i < s->space->size; i++) {
        unsigned long long key = s->space->keys[(i + offset) % s->space->size];
        if (!seen_has(&s->seen, key)) {
            *out = tune_config_from_key(s->space, key);
            return true;
        }
    }
    return false;
}

static void run_local(search *s)
{
    if (!isfinite(s->best_ns)) {
        /* Every start failed: look for any configuration that runs before descending. */
        tune_config c;
        while (!isfinite(s->best_ns) && kick(s, &c) && !exhausted(s)) try_config(s, &c);
    }
    tune_config current = s->best;
    while (!exhausted(s)) {
        descend(s, current, s->best_ns);
        tune_config next_start;
        if (!kick(s, &next_start)) break;
        double ns = try_config(s, &next_start);
        current = next_start;
        /* descend from the kicked point with its own time, so it can climb back to a new basin */
        if (!exhausted(s)) descend(s, current, ns);
        current = s->best;
    }
}

void tune_search(tune_strategy strategy, const tune_space *space, const tune_config *starts, int start_count,
                 unsigned long long seed, tune_eval_fn eval, void *evaluator)
{
    search s;
    memset(&s, 0, sizeof s);
    s.space = space;
    s.eval = eval;
    s.evaluator = evaluator;
    s.best_ns = INFINITY;
    s.best = space->defaults;
    s.r = t6i_rng_make(seed, 0x7436);
    const size_t most = (size_t)space->size + (size_t)start_count; /* each configuration runs at most once */
    s.uncertainties = malloc(most * sizeof *s.uncertainties);
    s.sorted = malloc(most * sizeof *s.sorted);
    if (!s.uncertainties || !s.sorted || !seen_init(&s.seen, space->size)) {
        free(s.uncertainties);
        free(s.sorted);
        return;
    }
    for (int i = 0; i < start_count && !exhausted(&s); i++) try_config(&s, &starts[i]);
    switch (strategy) {
    case TUNE_EXHAUSTIVE: run_in_order(&s, NULL); break;
    case TUNE_RANDOM: run_random(&s); break;
    case TUNE_LOCAL: run_local(&s); break;
    }
    free(s.seen.slots);
    free(s.uncertainties);
    free(s.sorted);
}

const char *tune_strategy_name(tune_strategy strategy)
{
    static const char *const names[] = {"local", "random", "exhaustive"};
    return strategy <= TUNE_EXHAUSTIVE ? names[strategy] : "unknown";
}

bool tune_strategy_from_name(const char *name, tune_strategy *strategy)
{
    for (int i = 0; i <= TUNE_EXHAUSTIVE; i++)
        if (strcmp(name, tune_strategy_name((tune_strategy)i)) == 0) {
            *strategy = (tune_strategy)i;
            return true;
        }
    return false;
}
