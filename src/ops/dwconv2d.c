#include "ops/dwconv2d.h"

#include <stdlib.h>

#include "dispatch.h"
#include "dwconv/dwconv.h"
#include "threads.h"

/* Tasks per thread to aim for when planes are few: row blocks of a plane are split off
 * until there are this many, so that both threads get work on e.g. a 1-image, 8-channel call. */
#define DWCONV2D_TASKS_PER_THREAD 4

/* Tasks are (plane, row block) pairs, plane-major: row_blocks blocks of rows_per_block rows. */
typedef struct {
    size_t row_blocks, rows_per_block, tasks;
} dwconv2d_split;

static dwconv2d_split dwconv2d_choose_split(const fc_conv2d_shape *s, int threads) {
    dwconv2d_split d;
    const size_t planes = s->batch * s->out_channels, wanted = (size_t)threads * DWCONV2D_TASKS_PER_THREAD;
    d.row_blocks = 1;
    if (threads > 1 && planes < wanted) d.row_blocks = (wanted + planes - 1) / planes;
    if (d.row_blocks > s->out_height) d.row_blocks = s->out_height;
    d.rows_per_block = (s->out_height + d.row_blocks - 1) / d.row_blocks;
    d.row_blocks = (s->out_height + d.rows_per_block - 1) / d.rows_per_block;
    d.tasks = planes * d.row_blocks;
    return d;
}

#define DWCONV_T float
#define DWCONV_SFX f32
#include "ops/dwconv2d-template.h"

#define DWCONV_T double
#define DWCONV_SFX f64
#include "ops/dwconv2d-template.h"
