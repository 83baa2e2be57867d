#include "ops/dwconv2d.h"

#include <stdlib.h>

#include "dispatch.h"
#include "dwconv/dwconv.h"
#include "threads.h"

/* Tasks per thread to aim for when several threads run: channels (and, for planes too few
 * to go round, row blocks of a plane) are split until there are this many. */
#define DWCONV2D_TASKS_PER_THREAD 4
/* Multiply-adds a thread is given at least, and a task: waking a second thread costs about
 * 1.7 us here, and each task a microkernel call. */
#define DWCONV2D_MIN_THREAD_MACS (64 * 1024)
#define DWCONV2D_MIN_TASK_MACS (32 * 1024)
/* Threads whose channels alone balance them, this many units each or more (at most one
 * apart), get one task each instead: a task is a microkernel call, whose setup (the
 * streamed method's edges table) is then paid once. At 2 threads, kernel alone: 384@14
 * +15 %, 576@14 +12 % (streamed), the others within 2 %. */
#define DWCONV2D_BALANCED_UNITS 16

/* Tasks are (image, channel block, row block) triples, in that order: channel_blocks
 * blocks of whole units of channel_unit output channels (the last unit may be partial;
 * block sizes differ by at most one unit), and blocks of rows_per_block output rows. A
 * task runs on one thread, a whole block of channels in one microkernel call; `threads`
 * threads share the tasks. */
typedef struct {
    size_t channel_unit, channel_units, channel_blocks, row_blocks, rows_per_block, tasks;
    int threads;
} dwconv2d_split;

/* channel_unit: 1, or for interleaved plans one vector's worth of channels of the widest
 * ISA (FC_DWCONV_LANE_BYTES), so that no block but the last has a partial group. */
static dwconv2d_split dwconv2d_choose_split(const fc_conv2d_shape *s, int whole_planes, size_t channel_unit,
                                            int threads) {
    dwconv2d_split d;
    const size_t planes = s->batch * s->out_channels;
    const size_t macs = planes * s->out_height * s->out_width * s->kernel_height * s->kernel_width;
    /* Threads that each get DWCONV2D_MIN_THREAD_MACS (at least one), tasks that each get
     * DWCONV2D_MIN_TASK_MACS (at least one a thread). */
    const size_t enough = macs / DWCONV2D_MIN_THREAD_MACS;
    if ((size_t)threads > enough) threads = enough > 1 ? (int)enough : 1;
    size_t per_thread = macs / ((size_t)threads * DWCONV2D_MIN_TASK_MACS);
    if (per_thread < 1) per_thread = 1;
    if (per_thread > DWCONV2D_TASKS_PER_THREAD) per_thread = DWCONV2D_TASKS_PER_THREAD;
    d.threads = threads;
    d.channel_unit = channel_unit;
    d.channel_units = (s->out_channels + channel_unit - 1) / channel_unit;
    const int balanced = s->batch * d.channel_units >= (size_t)threads * DWCONV2D_BALANCED_UNITS;
    const size_t wanted = (size_t)threads * (balanced ? 1 : per_thread);
    d.channel_blocks = 1;
    d.row_blocks = 1;
    if (threads > 1) {
        const size_t per_image = (wanted + s->batch - 1) / s->batch;
        d.channel_blocks = per_image < d.channel_units ? per_image : d.channel_units;
        /* Planar and interleaved plans compute whole planes. */
        if (!whole_planes && planes < wanted) d.row_blocks = (wanted + planes - 1) / planes;
    }
    if (d.row_blocks > s->out_height) d.row_blocks = s->out_height;
    d.rows_per_block = (s->out_height + d.row_blocks - 1) / d.row_blocks;
    d.row_blocks = (s->out_height + d.rows_per_block - 1) / d.rows_per_block;
    d.tasks = s->batch * d.channel_blocks * d.row_blocks;
    if (d.tasks < 2) d.threads = 1;
    return d;
}

/* The first output channel of channel block b (b == channel_blocks: the end). */
static size_t dwconv2d_block_begin(const dwconv2d_split *d, size_t out_channels, size_t b) {
    const size_t c = b * d->channel_units / d->channel_blocks * d->channel_unit;
    return c < out_channels ? c : out_channels;
}

#define DWCONV_T float
#define DWCONV_SFX f32
#include "ops/dwconv2d-template.h"

#define DWCONV_T double
#define DWCONV_SFX f64
#include "ops/dwconv2d-template.h"
