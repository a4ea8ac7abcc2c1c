/* tune_progress.c — what a running t6-tune shows: on a terminal one line redrawn in place (bucket, a bar,
 * evaluations done, best time so far and its gain over the defaults, time left); otherwise, for logs and CI,
 * one plain line per evaluation. Time left is the remaining evaluations of the whole run at the average cost
 * of those measured so far (evaluations answered from a resumed log cost nothing and do not count). */
#include "tune.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

static double spent_s;  /* on evaluations that ran */
static int ran;         /* evaluations that ran */
static int run_planned, run_done;

void tune_progress_plan(int total_evaluations, double estimate_s)
{
    run_planned = total_evaluations;
    run_done = 0;
    spent_s = 0.0;
    ran = 0;
    (void)estimate_s;
}

static void format_time(double seconds, char *buf, size_t cap)
{
    if (!isfinite(seconds) || seconds < 0) snprintf(buf, cap, "?");
    else if (seconds < 60) snprintf(buf, cap, "%.0fs", seconds);
    else if (seconds < 3600) snprintf(buf, cap, "%dm%02ds", (int)seconds / 60, (int)seconds % 60);
    else snprintf(buf, cap, "%dh%02dm", (int)seconds / 3600, (int)seconds % 3600 / 60);
}

void tune_format_time(double seconds, char *buf, size_t cap) { format_time(seconds, buf, cap); }

void tune_format_ns(double ns, char *buf, size_t cap)
{
    if (!isfinite(ns) || ns <= 0) snprintf(buf, cap, "-");
    else if (ns < 1e3) snprintf(buf, cap, "%.0f ns", ns);
    else if (ns < 1e6) snprintf(buf, cap, "%.2f us", ns / 1e3);
    else if (ns < 1e9) snprintf(buf, cap, "%.3f ms", ns / 1e6);
    else snprintf(buf, cap, "%.3f s", ns / 1e9);
}

void tune_progress_begin(tune_progress *p, const char *bucket, int planned, double default_ns)
{
    memset(p, 0, sizeof *p);
    p->terminal = isatty(STDERR_FILENO);
    snprintf(p->bucket, sizeof p->bucket, "%s", bucket);
    p->planned = planned;
    p->best_ns = INFINITY;
    p->default_ns = default_ns;
    p->started = tune_now();
    if (!p->terminal) fprintf(stderr, "tuning %s: up to %d evaluations\n", bucket, planned);
}

static void draw(tune_progress *p)
{
    char left[32], best[32], gain[32] = "";
    double per = ran > 0 ? spent_s / ran : NAN;
    format_time(per * (run_planned - run_done), left, sizeof left);
    tune_format_ns(p->best_ns, best, sizeof best);
    if (isfinite(p->best_ns) && p->default_ns > 0 && isfinite(p->default_ns))
        snprintf(gain, sizeof gain, " (x%.2f)", p->default_ns / p->best_ns);
    enum { WIDTH = 20 };
    char bar[WIDTH + 1];
    int filled = p->planned > 0 ? p->done * WIDTH / p->planned : 0;
    for (int i = 0; i < WIDTH; i++) bar[i] = i < filled ? '#' : '.';
    bar[WIDTH] = '\0';
    fprintf(stderr, "\r\033[K%.48s [%s] %d/%d best %s%s, %s left", p->bucket, bar, p->done, p->planned, best, gain,
            left);
    fflush(stderr);
}

void tune_progress_update(tune_progress *p, const char *config_text, const tune_result *result, bool cached,
                          double seconds)
{
    p->done++;
    run_done++;
    if (!cached) {
        spent_s += seconds;
        ran++;
    }
    if (result->status == TUNE_OK && result->median_ns < p->best_ns) p->best_ns = result->median_ns;
    if (p->default_ns <= 0 && result->status == TUNE_OK) p->default_ns = result->median_ns; /* the first is the defaults */
    if (p->terminal) {
        double now = tune_now();
        if (now - p->last_draw > 0.1 || p->done == p->planned) {
            draw(p);
            p->last_draw = now;
        }
        return;
    }
    char time[32];
    tune_format_ns(result->median_ns, time, sizeof time);
    fprintf(stderr, "  %d/%d %-8s %-10s %s%s%s%s\n", p->done, p->planned, tune_status_name(result->status),
            result->status == TUNE_OK ? time : "", config_text, cached ? " (from the log)" : "",
            result->message[0] ? ": " : "", result->message);
}

void tune_progress_end(tune_progress *p)
{
    /* a bucket that stopped early (budget met by a smaller space, time limit) gives its share back */
    run_planned -= p->planned - p->done;
    if (p->terminal) {
        draw(p);
        fputc('\n', stderr);
    }
}
