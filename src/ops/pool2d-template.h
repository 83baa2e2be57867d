/* Template of the pooling operators for one dtype: included by pool2d.c with POOL_T
 * (float/double) and POOL_SFX (f32/f64) defined.
 *
 * Windowed pools run the separable passes of src/pool/pool.h: the vpass reduces each
 * window's valid input rows into a row buffer whose padding columns hold the reduction's
 * identity, so the hpass needs no border case. Threads split the N x C planes. */

#define POOL_PASTE_(a, b, c) a##b##c
#define POOL_PASTE(a, b, c) POOL_PASTE_(a, b, c)
#define POOL_FN(name) POOL_PASTE(fc_, POOL_SFX, name)
#define POOL_UKERNELS POOL_PASTE(fc_, POOL_SFX, _pool_ukernels)
#define POOL_UKERNELS_FOR POOL_PASTE(fc_, POOL_SFX, _pool_ukernels_for)
#define POOL_MAX_HPASS POOL_PASTE(pool_, POOL_SFX, _max_hpass)
#define POOL_SUM_HPASS POOL_PASTE(pool_, POOL_SFX, _sum_hpass)
#define POOL_SEPARABLE POOL_PASTE(pool_, POOL_SFX, _separable)

typedef FC_POOL_MAX_HPASS(POOL_T, POOL_MAX_HPASS);
typedef FC_POOL_SUM_HPASS(POOL_T, POOL_SUM_HPASS);

static POOL_MAX_HPASS POOL_FN(_pick_max_hpass)(const POOL_UKERNELS *uk, const fc_pool2d_shape *s) {
    if (s->stride_width == 1) return uk->max_hpass_s1;
    if (s->stride_width != 2) return uk->max_hpass;
    if (s->dilation_width == 1 && s->kernel_width == 2) return uk->max_hpass_2s2;
    if (s->dilation_width == 1 && s->kernel_width == 3) return uk->max_hpass_3s2;
    return uk->max_hpass_s2;
}

static POOL_SUM_HPASS POOL_FN(_pick_sum_hpass)(const POOL_UKERNELS *uk, const fc_pool2d_shape *s) {
    if (s->stride_width == 1) return uk->sum_hpass_s1;
    if (s->stride_width == 2) return uk->sum_hpass_s2;
    return uk->sum_hpass;
}

static void POOL_FN(_fill)(POOL_T *p, size_t n, POOL_T value) {
    for (size_t i = 0; i < n; i++) p[i] = value;
}

/* The portable path of return_indices (unpooling is rare at inference): torch's loop, so
 * that ties and NaNs pick the same index as torch. */
static void POOL_FN(_max_pool2d_indices)(const fc_pool2d_shape *s, const POOL_T *x, POOL_T *out,
                                         fc_output_layout layout, int64_t *indices) {
    const size_t planes = s->batch * s->channels, plane_size = s->in_height * s->in_width;
    const size_t out_plane = s->out_height * s->out_width;
#pragma omp parallel for schedule(static) if (pool_run_parallel(planes, plane_size * sizeof(POOL_T)))
    for (size_t p = 0; p < planes; p++) {
        const POOL_T *plane = x + p * plane_size;
        POOL_T *o = out + (ptrdiff_t)(p / s->channels) * layout.batch_stride +
                    (ptrdiff_t)(p % s->channels) * layout.channel_stride;
        int64_t *idx = indices + p * out_plane;
        for (size_t oh = 0; oh < s->out_height; oh++) {
            const ptrdiff_t h0 = (ptrdiff_t)(oh * s->stride_height) - (ptrdiff_t)s->pad_height;
            const pool_taps rows = pool_valid_taps(h0, s->kernel_height, s->dilation_height, s->in_height);
            for (size_t ow = 0; ow < s->out_width; ow++) {
                const ptrdiff_t w0 = (ptrdiff_t)(ow * s->stride_width) - (ptrdiff_t)s->pad_width;
                const pool_taps cols = pool_valid_taps(w0, s->kernel_width, s->dilation_width, s->in_width);
                const ptrdiff_t ih0 = h0 + (ptrdiff_t)(rows.first * s->dilation_height);
                const ptrdiff_t iw0 = w0 + (ptrdiff_t)(cols.first * s->dilation_width);
                POOL_T best = -(POOL_T)__builtin_inf();
                int64_t best_index = (int64_t)(ih0 * (ptrdiff_t)s->in_width + iw0);
                for (size_t r = 0; r < rows.count; r++) {
                    const size_t ih = (size_t)ih0 + r * s->dilation_height;
                    for (size_t c = 0; c < cols.count; c++) {
                        const size_t at = ih * s->in_width + (size_t)iw0 + c * s->dilation_width;
                        const POOL_T v = plane[at];
                        if (v > best || v != v) {
                            best = v;
                            best_index = (int64_t)at;
                        }
                    }
                }
                o[oh * s->out_width + ow] = best;
                idx[oh * s->out_width + ow] = best_index;
            }
        }
    }
}

/* How a windowed pool runs the separable passes: its kernels and its divisor. */
typedef struct {
    int is_max;
    FC_POOL_VPASS(POOL_T, vpass);
    POOL_MAX_HPASS max_hpass;
    POOL_SUM_HPASS sum_hpass;
    int count_include_pad;
    int64_t divisor_override;
    pool_span interior; /* output rows whose windows lie wholly inside the input */
} POOL_SEPARABLE;

/* The divisor of the average's output row oh. */
static POOL_T POOL_FN(_row_divisor)(const fc_pool2d_shape *s, const POOL_SEPARABLE *op, size_t oh) {
    if (op->divisor_override) return (POOL_T)op->divisor_override;
    return (POOL_T)pool_divisor_factor(oh, s->stride_height, s->kernel_height, s->pad_height, s->in_height,
                                       op->count_include_pad);
}

/* One (H, W) input plane into one output plane, a block of output rows at a time: the
 * vpass of every row of the block, then their hpass, each over runs of rows that share
 * their valid taps and divisor: the interior rows at once, border rows one by one. `buf` holds
 * block_rows row buffers, `pitch` elements apart, whose padding columns hold the
 * identity. The input may be read up to x_end. */
static void POOL_FN(_separable_plane)(const fc_pool2d_shape *s, const POOL_SEPARABLE *op, const POOL_T *plane,
                                      const POOL_T *x_end, POOL_T *out, POOL_T *buf, size_t pitch,
                                      size_t block_rows, const POOL_T *col_scale, const POOL_T *row_scale) {
    const POOL_T identity = op->is_max ? -(POOL_T)__builtin_inf() : 0;
    const size_t w = s->in_width, out_w = s->out_width, out_h = s->out_height;
    const size_t row_step = s->stride_height * w, tap_stride = s->dilation_height * w;
    const size_t w_rounded = pool_round_up(w, POOL_VPASS_ROUND_BYTES / sizeof(POOL_T));
    /* Columns of the row buffer a rounded-up vpass overwrites that the windows read. */
    const size_t reach = pool_row_reach(s), padded = s->pad_width + w;
    const size_t refill = reach > padded ? (w_rounded - w < reach - padded ? w_rounded - w : reach - padded) : 0;
    for (size_t oh0 = 0; oh0 < out_h; oh0 += block_rows) {
        const size_t rows = out_h - oh0 < block_rows ? out_h - oh0 : block_rows;
        for (size_t r = 0, run; r < rows; r += run) {
            run = pool_run_length(oh0 + r, oh0 + rows, op->interior);
            const ptrdiff_t h0 = (ptrdiff_t)((oh0 + r) * s->stride_height) - (ptrdiff_t)s->pad_height;
            const pool_taps taps = pool_valid_taps(h0, s->kernel_height, s->dilation_height, s->in_height);
            POOL_T *row_interior = buf + r * pitch + s->pad_width;
            if (!taps.count) {
                for (size_t i = 0; i < run; i++) POOL_FN(_fill)(row_interior + i * pitch, w, identity);
                continue;
            }
            const POOL_T *first = plane + (size_t)(h0 + (ptrdiff_t)(taps.first * s->dilation_height)) * w;
            const POOL_T *last = first + (run - 1) * row_step + (taps.count - 1) * tap_stride;
            if ((size_t)(x_end - last) >= w_rounded) {
                op->vpass(run, taps.count, first, row_step, tap_stride, w_rounded, row_interior, pitch);
                if (refill)
                    for (size_t i = 0; i < run; i++) POOL_FN(_fill)(row_interior + i * pitch + w, refill, identity);
            } else {
                op->vpass(run, taps.count, first, row_step, tap_stride, w, row_interior, pitch);
            }
        }
        if (op->is_max) {
            op->max_hpass(rows, out_w, s->kernel_width, s->stride_width, s->dilation_width, buf, pitch,
                          out + oh0 * out_w, (out_h - oh0) * out_w);
            continue;
        }
        for (size_t r = 0, run; r < rows; r += run) {
            run = pool_run_length(oh0 + r, oh0 + rows, op->interior);
            op->sum_hpass(run, out_w, s->kernel_width, s->stride_width, buf + r * pitch, pitch, col_scale,
                          row_scale[oh0 + r], out + (oh0 + r) * out_w, (out_h - oh0 - r) * out_w);
        }
    }
}

/* Output column ow of a "same" stride-1 window for rows [oh0, oh1), recomputed from the
 * plane's vpass result v (rows W apart) over the `taps` columns from c0, those inside the
 * input; constant `is_max` and `taps` (the common 3-wide window's edges) unroll the loop. */
static inline __attribute__((always_inline)) void POOL_FN(_flat_fix_rows)(
    int is_max, const POOL_T *v, size_t w, size_t ow, size_t c0, size_t taps, size_t oh0, size_t oh1,
    POOL_T col_scale, const POOL_T *row_scale, POOL_T *out) {
    for (size_t oh = oh0; oh < oh1; oh++) {
        const POOL_T *window = v + oh * w + c0;
        POOL_T acc = window[0];
        if (is_max) {
            for (size_t c = 1; c < taps; c++) acc = window[c] > acc || window[c] != window[c] ? window[c] : acc;
        } else {
            for (size_t c = 1; c < taps; c++) acc += window[c];
            acc *= col_scale * row_scale[oh];
        }
        out[oh * w + ow] = acc;
    }
}

/* The outputs near the left and right edges, which the flat hpass of _flat_plane gets
 * wrong (its windows wrap into the neighbouring rows). */
static void POOL_FN(_flat_fix_column)(const fc_pool2d_shape *s, const POOL_SEPARABLE *op, const POOL_T *v,
                                      size_t ow, size_t oh0, size_t oh1, const POOL_T *col_scale,
                                      const POOL_T *row_scale, POOL_T *out) {
    const size_t w = s->in_width, reach = s->pad_width;
    const size_t c0 = ow > reach ? ow - reach : 0, c1 = ow + reach + 1 < w ? ow + reach + 1 : w;
    const POOL_T scale = op->is_max ? 1 : col_scale[ow];
#define POOL_FIX_ROWS(is_max, taps) POOL_FN(_flat_fix_rows)(is_max, v, w, ow, c0, taps, oh0, oh1, scale, row_scale, out)
    if (op->is_max) {
        if (c1 - c0 == 2) POOL_FIX_ROWS(1, 2);
        else POOL_FIX_ROWS(1, c1 - c0);
    } else {
        if (c1 - c0 == 2) POOL_FIX_ROWS(0, 2);
        else if (c1 - c0 == 3) POOL_FIX_ROWS(0, 3);
        else POOL_FIX_ROWS(0, c1 - c0);
    }
#undef POOL_FIX_ROWS
}

/* A small plane under a "same" stride-1 window (odd kernel, padding half of it, so the
 * output is the input's size): both passes run over the plane as one long row, without
 * per-row calls. The vpass result v takes the plane's layout in buf (identity before and
 * after); the hpass over all of it then only errs where a window would wrap into the
 * next row, within `pad_width` of the left and right edges, and, for an average without
 * count_include_pad, in the border rows, whose divisors differ: those are recomputed. */
static void POOL_FN(_flat_plane)(const fc_pool2d_shape *s, const POOL_SEPARABLE *op, const POOL_T *plane,
                                 POOL_T *out, POOL_T *buf, const POOL_T *col_scale, const POOL_T *row_scale) {
    const size_t w = s->in_width, h = s->in_height, lead = pool_flat_lead(sizeof(POOL_T));
    POOL_T *v = buf + lead;
    for (size_t oh = 0, run; oh < h; oh += run) {
        run = pool_run_length(oh, h, op->interior);
        const ptrdiff_t h0 = (ptrdiff_t)oh - (ptrdiff_t)s->pad_height;
        const pool_taps taps = pool_valid_taps(h0, s->kernel_height, 1, h);
        /* The run's rows are consecutive in both plane and v: one row of run * w. */
        op->vpass(1, taps.count, plane + (size_t)(h0 + (ptrdiff_t)taps.first) * w, 0, w, run * w, v + oh * w, 0);
    }
    /* Rows whose divisor differs from the interior's (an average without count_include_pad)
     * are recomputed whole. */
    const int uniform_rows = op->is_max || op->count_include_pad || op->divisor_override;
    if (op->is_max) {
        op->max_hpass(1, h * w, s->kernel_width, 1, 1, v - s->pad_width, 0, out, h * w);
    } else {
        const POOL_T divisor = op->divisor_override ? (POOL_T)op->divisor_override
                                                    : (POOL_T)(s->kernel_height * s->kernel_width);
        op->sum_hpass(1, h * w, s->kernel_width, 1, v - s->pad_width, 0, NULL, 1 / divisor, out, h * w);
    }
    /* Columns [left_end, right_begin) are right, except in the rows of a different divisor. */
    const size_t left_end = s->pad_width < w ? s->pad_width : w;
    const size_t right_begin = w > s->pad_width && w - s->pad_width > left_end ? w - s->pad_width : left_end;
    for (size_t ow = 0; ow < w; ow++) {
        if (ow == left_end) ow = right_begin;
        if (ow == w) break;
        POOL_FN(_flat_fix_column)(s, op, v, ow, 0, h, col_scale, row_scale, out);
    }
    if (!uniform_rows)
        for (size_t ow = left_end; ow < right_begin; ow++) {
            POOL_FN(_flat_fix_column)(s, op, v, ow, 0, op->interior.begin, col_scale, row_scale, out);
            POOL_FN(_flat_fix_column)(s, op, v, ow, op->interior.end, h, col_scale, row_scale, out);
        }
}

/* Every plane, threads splitting them; each thread owns its row buffers (and, for the
 * average, the column factors of the divisor). */
static int POOL_FN(_separable_pool)(const fc_pool2d_shape *s, const POOL_SEPARABLE *op, const POOL_T *x,
                                    POOL_T *out, fc_output_layout layout) {
    const size_t planes = s->batch * s->channels, plane_size = s->in_height * s->in_width;
    const int flat = pool_flat(s, sizeof(POOL_T));
    const size_t pitch = pool_row_buffer_length(s, sizeof(POOL_T));
    const size_t block_rows = pool_block_rows(s, pitch * sizeof(POOL_T));
    const size_t flat_length = flat ? pool_flat_buffer_length(s, sizeof(POOL_T)) : 0;
    const size_t buf_length = block_rows * pitch > flat_length ? block_rows * pitch : flat_length;
    /* The average's reciprocal divisors per output column (with the hpass's slack), then per row. */
    const size_t col_scale_length = op->is_max ? 0 : s->out_width + POOL_HPASS_SLACK_BYTES / sizeof(POOL_T);
    const size_t scale_length = op->is_max ? 0 : col_scale_length + s->out_height;
    const POOL_T identity = op->is_max ? -(POOL_T)__builtin_inf() : 0;
    int status = FC_OK;
#pragma omp parallel if (pool_run_parallel(planes, plane_size * sizeof(POOL_T)))
    {
        POOL_T *buf = fc_alloc((buf_length + scale_length) * sizeof(POOL_T));
        POOL_T *col_scale = NULL, *row_scale = NULL;
        if (buf) {
            POOL_FN(_fill)(buf, buf_length, identity);
            col_scale = buf + buf_length;
            row_scale = col_scale + col_scale_length;
            for (size_t ow = 0; ow < col_scale_length; ow++)
                col_scale[ow] = op->divisor_override || ow >= s->out_width
                                    ? 1
                                    : 1 / (POOL_T)pool_divisor_factor(ow, s->stride_width, s->kernel_width,
                                                                      s->pad_width, s->in_width, op->count_include_pad);
            for (size_t oh = 0; oh < scale_length - col_scale_length; oh++)
                row_scale[oh] = 1 / POOL_FN(_row_divisor)(s, op, oh);
        } else {
#pragma omp atomic write
            status = FC_ENOMEM;
        }
#pragma omp for schedule(static)
        for (size_t p = 0; p < planes; p++) {
            if (!buf) continue;
            POOL_T *o = out + (ptrdiff_t)(p / s->channels) * layout.batch_stride +
                        (ptrdiff_t)(p % s->channels) * layout.channel_stride;
            if (flat)
                POOL_FN(_flat_plane)(s, op, x + p * plane_size, o, buf, col_scale, row_scale);
            else
                POOL_FN(_separable_plane)(s, op, x + p * plane_size, x + planes * plane_size, o, buf, pitch,
                                          block_rows, col_scale, row_scale);
        }
        free(buf);
    }
    return status;
}

int POOL_FN(_max_pool2d)(const fc_pool2d_shape *s, const POOL_T *x, POOL_T *out, fc_output_layout layout,
                         int64_t *indices) {
    if (indices) {
        POOL_FN(_max_pool2d_indices)(s, x, out, layout, indices);
        return FC_OK;
    }
    const POOL_UKERNELS *uk = POOL_UKERNELS_FOR(fc_active()->isa);
    const POOL_SEPARABLE op = {.is_max = 1,
                               .vpass = uk->max_vpass,
                               .max_hpass = POOL_FN(_pick_max_hpass)(uk, s),
                               .interior = pool_interior_rows(s)};
    return POOL_FN(_separable_pool)(s, &op, x, out, layout);
}

int POOL_FN(_avg_pool2d)(const fc_pool2d_shape *s, const POOL_T *x, POOL_T *out, fc_output_layout layout,
                         int count_include_pad, int64_t divisor_override) {
    const POOL_UKERNELS *uk = POOL_UKERNELS_FOR(fc_active()->isa);
    const POOL_SEPARABLE op = {.is_max = 0,
                               .vpass = uk->sum_vpass,
                               .sum_hpass = POOL_FN(_pick_sum_hpass)(uk, s),
                               .count_include_pad = count_include_pad,
                               .divisor_override = divisor_override,
                               .interior = pool_interior_rows(s)};
    return POOL_FN(_separable_pool)(s, &op, x, out, layout);
}

int POOL_FN(_adaptive_avg_pool2d)(const fc_pool2d_shape *s, const POOL_T *x, POOL_T *out,
                                  fc_output_layout layout) {
    const POOL_UKERNELS *uk = POOL_UKERNELS_FOR(fc_active()->isa);
    const size_t planes = s->batch * s->channels, plane_size = s->in_height * s->in_width;
    const size_t h = s->in_height, w = s->in_width, oh_count = s->out_height, ow_count = s->out_width;
    int status = FC_OK;
#pragma omp parallel if (pool_run_parallel(planes, plane_size * sizeof(POOL_T)))
    {
        POOL_T *row = fc_alloc(w * sizeof(POOL_T));
        if (!row) {
#pragma omp atomic write
            status = FC_ENOMEM;
        }
#pragma omp for schedule(static)
        for (size_t p = 0; p < planes; p++) {
            if (!row) continue;
            const POOL_T *plane = x + p * plane_size;
            POOL_T *o = out + (ptrdiff_t)(p / s->channels) * layout.batch_stride +
                        (ptrdiff_t)(p % s->channels) * layout.channel_stride;
            for (size_t oh = 0; oh < oh_count; oh++) {
                const size_t h0 = oh * h / oh_count, h1 = ((oh + 1) * h + oh_count - 1) / oh_count;
                uk->sum_vpass(1, h1 - h0, plane + h0 * w, 0, w, w, row, 0);
                for (size_t ow = 0; ow < ow_count; ow++) {
                    const size_t w0 = ow * w / ow_count, w1 = ((ow + 1) * w + ow_count - 1) / ow_count;
                    POOL_T sum = 0;
                    for (size_t iw = w0; iw < w1; iw++) sum += row[iw];
                    o[oh * ow_count + ow] = sum / (POOL_T)((h1 - h0) * (w1 - w0));
                }
            }
        }
        free(row);
    }
    return status;
}

void POOL_FN(_global_pool2d)(int average, size_t batch, size_t channels, size_t plane_size, const POOL_T *x,
                             POOL_T *out, fc_output_layout layout) {
    const POOL_UKERNELS *uk = POOL_UKERNELS_FOR(fc_active()->isa);
    const size_t planes = batch * channels;
#pragma omp parallel for schedule(static) if (pool_run_parallel(planes, plane_size * sizeof(POOL_T)))
    for (size_t p = 0; p < planes; p++)
        out[(ptrdiff_t)(p / channels) * layout.batch_stride + (ptrdiff_t)(p % channels) * layout.channel_stride] =
            average ? uk->sum_reduce(plane_size, x + p * plane_size) / (POOL_T)plane_size
                    : uk->max_reduce(plane_size, x + p * plane_size);
}

#undef POOL_PASTE_
#undef POOL_PASTE
#undef POOL_FN
#undef POOL_UKERNELS
#undef POOL_UKERNELS_FOR
#undef POOL_MAX_HPASS
#undef POOL_SUM_HPASS
#undef POOL_SEPARABLE
#undef POOL_T
#undef POOL_SFX
