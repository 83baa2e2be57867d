#include "ops/pool2d.h"

#include <stdlib.h>

#include "dispatch.h"
#include "pool/pool.h"
#include "threads.h"

/* Input bytes below which a call runs on the calling thread alone: waking the OpenMP team
 * costs a few microseconds, about what copying this much from L2 does. */
#define POOL_PARALLEL_MIN_BYTES (64 * 1024)

/* Taps start + k * dilation (k < kernel) of a window that fall in [0, size): k in
 * [first, first + count). */
typedef struct {
    size_t first, count;
} pool_taps;

static pool_taps pool_valid_taps(ptrdiff_t start, size_t kernel, size_t dilation, size_t size) {
    pool_taps t = {0, 0};
    if (start >= (ptrdiff_t)size) return t;
    size_t end; /* one past the last tap inside */
    if (dilation == 1) { /* the common case, without the divisions */
        t.first = start >= 0 ? 0 : (size_t)-start;
        end = size - (size_t)start; /* unsigned wrap-around cancels out */
    } else {
        t.first = start >= 0 ? 0 : ((size_t)-start + dilation - 1) / dilation;
        end = (size - 1 - (size_t)start) / dilation + 1;
    }
    if (end > kernel) end = kernel;
    t.count = end > t.first ? end - t.first : 0;
    return t;
}

/* Output rows [begin, end). */
typedef struct {
    size_t begin, end;
} pool_span;

/* The output rows whose windows lie wholly inside the input: they all have every tap, and
 * the same divisor. */
static pool_span pool_interior_rows(const fc_pool2d_shape *s) {
    const size_t extent = (s->kernel_height - 1) * s->dilation_height + 1;
    pool_span span = {(s->pad_height + s->stride_height - 1) / s->stride_height, 0};
    if (s->in_height + s->pad_height >= extent) span.end = (s->in_height + s->pad_height - extent) / s->stride_height + 1;
    if (span.begin > s->out_height) span.begin = s->out_height;
    if (span.end > s->out_height) span.end = s->out_height;
    if (span.end < span.begin) span.end = span.begin;
    return span;
}

/* Rows from oh (before `end`) that one microkernel call can take: the rest of the interior,
 * or a single border row. */
static size_t pool_run_length(size_t oh, size_t end, pool_span interior) {
    if (oh < interior.begin || oh >= interior.end) return 1;
    return (interior.end < end ? interior.end : end) - oh;
}

/* What torch divides a window's sum by, along one axis: the window clipped to the padded
 * input (count_include_pad), or to the input itself. */
static size_t pool_divisor_factor(size_t o, size_t stride, size_t kernel, size_t pad, size_t size,
                                  int count_include_pad) {
    ptrdiff_t start = (ptrdiff_t)(o * stride) - (ptrdiff_t)pad;
    ptrdiff_t end = start + (ptrdiff_t)kernel;
    if (end > (ptrdiff_t)(size + pad)) end = (ptrdiff_t)(size + pad);
    if (count_include_pad) return (size_t)(end - start);
    if (start < 0) start = 0;
    if (end > (ptrdiff_t)size) end = (ptrdiff_t)size;
    return (size_t)(end - start);
}

/* A vpass may run over a row rounded up to a multiple of this many bytes (the widest
 * vector), reading a few elements of the next input row, so that no row ends in a scalar
 * loop; the operator refills the row buffer's right padding afterwards. */
#define POOL_VPASS_ROUND_BYTES 64

static size_t pool_round_up(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

/* Elements of the row buffer that the windows read: left padding, the input row, and
 * whatever the last window reaches beyond it. */
static size_t pool_row_reach(const fc_pool2d_shape *s) {
    const size_t padded = s->pad_width + s->in_width;
    const size_t reach = (s->out_width - 1) * s->stride_width + (s->kernel_width - 1) * s->dilation_width + 1;
    return padded > reach ? padded : reach;
}

/* Elements of one row buffer: what the windows read, what a rounded-up vpass writes, then
 * the hpass's slack, rounded to whole cache lines. */
static size_t pool_row_buffer_length(const fc_pool2d_shape *s, size_t elem_size) {
    const size_t written = s->pad_width + pool_round_up(s->in_width, POOL_VPASS_ROUND_BYTES / elem_size);
    const size_t reach = pool_row_reach(s);
    return pool_round_up((written > reach ? written : reach) + POOL_HPASS_SLACK_BYTES / elem_size, FC_ALIGN / elem_size);
}

/* Output rows whose row buffers a block holds: the vpass of a whole block runs before its
 * hpass, so that the hpass never loads what the vpass stored a few cycles before (a load
 * spanning two recent vector stores cannot be forwarded from them and stalls until they
 * reach the cache). The block stays within POOL_BLOCK_BYTES, a third of a 48 KB L1d. */
#define POOL_BLOCK_BYTES (16 * 1024)

static size_t pool_block_rows(const fc_pool2d_shape *s, size_t row_bytes) {
    size_t rows = POOL_BLOCK_BYTES / row_bytes;
    if (rows < 1) rows = 1;
    return rows < s->out_height ? rows : s->out_height;
}

/* Planes up to this many bytes under a "same" stride-1 window take the flat path
 * (_flat_plane): its vpass result, the size of the plane, stays in L1 next to the input. */
#define POOL_FLAT_MAX_BYTES (16 * 1024)

/* Whether planes of this shape take the flat path: stride 1, no dilation, odd kernels
 * padded by half (the output has the input's size), and a small plane. */
static int pool_flat(const fc_pool2d_shape *s, size_t elem_size) {
    return s->stride_height == 1 && s->stride_width == 1 && s->dilation_height == 1 && s->dilation_width == 1 &&
           s->kernel_height % 2 == 1 && s->kernel_width % 2 == 1 && s->pad_height == s->kernel_height / 2 &&
           s->pad_width == s->kernel_width / 2 && s->in_height * s->in_width * elem_size <= POOL_FLAT_MAX_BYTES;
}

/* Elements of identity before the flat path's vpass result: the left padding of its first
 * row, rounded to a cache line (pool_flat bounds the padding by the plane's size). */
static size_t pool_flat_lead(size_t elem_size) { return POOL_FLAT_MAX_BYTES / elem_size; }

static size_t pool_flat_buffer_length(const fc_pool2d_shape *s, size_t elem_size) {
    return 2 * pool_flat_lead(elem_size) + s->in_height * s->in_width + POOL_HPASS_SLACK_BYTES / elem_size;
}

static int pool_run_parallel(size_t planes, size_t plane_bytes) {
    return planes > 1 && planes * plane_bytes >= POOL_PARALLEL_MIN_BYTES && fc_max_threads() > 1;
}

#define POOL_T float
#define POOL_SFX f32
#include "ops/pool2d-template.h"

#define POOL_T double
#define POOL_SFX f64
#include "ops/pool2d-template.h"
