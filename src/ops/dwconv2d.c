#include "ops/dwconv2d.h"

#include <stdlib.h>

#include "dispatch.h"
#include "dwconv/dwconv.h"
#include "threads.h"

/* Tasks per thread to aim for when several threads run: channels (and, for planes too few
 * to go round, row blocks of a plane) are split until there are this many. */
#define DWCONV2D_TASKS_PER_THREAD 4

/* Tasks are (image, channel block, row block) triples, in that order: blocks of
 * channels_per_block output channels and of rows_per_block output rows. One thread runs
 * one task, a whole block of channels in one microkernel call. */
typedef struct {
    size_t channel_blocks, channels_per_block, row_blocks, rows_per_block, tasks;
} dwconv2d_split;

static dwconv2d_split dwconv2d_choose_split(const fc_conv2d_shape *s, int whole_planes, int threads) {
    dwconv2d_split d;
    const size_t planes = s->batch * s->out_channels, wanted = (size_t)threads * DWCONV2D_TASKS_PER_THREAD;
    d.channel_blocks = 1;
    d.row_blocks = 1;
    if (threads > 1) {
        const size_t per_image = (wanted + s->batch - 1) / s->batch;
        d.channel_blocks = per_image < s->out_channels ? per_image : s->out_channels;
        /* Planar and interleaved plans compute whole planes. */
        if (!whole_planes && planes < wanted) d.row_blocks = (wanted + planes - 1) / planes;
    }
    d.channels_per_block = (s->out_channels + d.channel_blocks - 1) / d.channel_blocks;
    d.channel_blocks = (s->out_channels + d.channels_per_block - 1) / d.channels_per_block;
    if (d.row_blocks > s->out_height) d.row_blocks = s->out_height;
    d.rows_per_block = (s->out_height + d.row_blocks - 1) / d.row_blocks;
    d.row_blocks = (s->out_height + d.rows_per_block - 1) / d.rows_per_block;
    d.tasks = s->batch * d.channel_blocks * d.row_blocks;
    return d;
}

#define DWCONV_T float
#define DWCONV_SFX f32
#include "ops/dwconv2d-template.h"

#define DWCONV_T double
#define DWCONV_SFX f64
#include "ops/dwconv2d-template.h"
