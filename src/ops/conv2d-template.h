/* Template of the conv2d operator for one dtype: included by conv2d.c with
 * CONV_T (float/double) and CONV_SFX (f32/f64) defined.
 *
 * out[n, g*cout_g + m, p] = sum_k weight[g*cout_g + m, k] * im2col(x[n, group g])[k, p]
 * is a GEMM per (image, group): M = cout_g rows, K = cin_g*KH*KW, P = OH*OW columns that
 * are already the NCHW output order. Columns are packed from x block by block (KC x NC,
 * never the whole matrix) into NR-wide panels, and every microkernel call produces one
 * MR x NR tile of the output in place. */

#define CONV_PASTE_(a, b, c) a##b##c
#define CONV_PASTE(a, b, c) CONV_PASTE_(a, b, c)
#define CONV_FN(name) CONV_PASTE(fc_, CONV_SFX, name)
#define CONV_EPILOGUE CONV_PASTE(fc_, CONV_SFX, _epilogue)
#define CONV_GEMM_CONFIG CONV_PASTE(fc_, CONV_SFX, _gemm_config)

/* Copies `run` im2col entries of output row oh, columns ow.., for tap (kh, kw) of one input
 * channel plane; taps that fall in the padding read as zero. */
static void CONV_FN(_im2col_run)(const fc_conv2d_shape *s, const CONV_T *plane, size_t kh, size_t kw, size_t oh,
                                 size_t ow, size_t run, CONV_T *dst) {
    const ptrdiff_t ih = (ptrdiff_t)(oh * s->stride_height + kh * s->dilation_height) - (ptrdiff_t)s->pad_top;
    if (ih < 0 || ih >= (ptrdiff_t)s->in_height) {
        memset(dst, 0, run * sizeof(CONV_T));
        return;
    }
    const CONV_T *row = plane + (size_t)ih * s->in_width;
    const ptrdiff_t sw = (ptrdiff_t)s->stride_width, w = (ptrdiff_t)s->in_width;
    const ptrdiff_t iw0 = (ptrdiff_t)(ow * s->stride_width + kw * s->dilation_width) - (ptrdiff_t)s->pad_left;
    /* Entries [first, last) of the run read inside the row. */
    ptrdiff_t first = iw0 >= 0 ? 0 : (-iw0 + sw - 1) / sw;
    ptrdiff_t last = iw0 >= w ? 0 : (w - iw0 + sw - 1) / sw;
    if (last > (ptrdiff_t)run) last = (ptrdiff_t)run;
    if (first > last) first = last;
    memset(dst, 0, (size_t)first * sizeof(CONV_T));
    if (sw == 1) {
        memcpy(dst + first, row + iw0 + first, (size_t)(last - first) * sizeof(CONV_T));
    } else {
        for (ptrdiff_t i = first; i < last; i++) dst[i] = row[iw0 + i * sw];
    }
    memset(dst + last, 0, (run - (size_t)last) * sizeof(CONV_T));
}

/* Packs rows [k0, k0+kc) x columns [p0, p0+nc) of the im2col matrix of one image and group
 * (x points at its first input channel) into panels of nr columns: panel j holds kc rows of
 * nr, columns past nc zero. */
static void CONV_FN(_pack_im2col)(const fc_conv2d_shape *s, const CONV_T *x, size_t k0, size_t kc, size_t p0,
                                  size_t nc, size_t nr, CONV_T *buf) {
    const size_t taps = s->kernel_height * s->kernel_width, plane_size = s->in_height * s->in_width;
    const size_t ow_count = s->out_width;
    for (size_t j0 = 0; j0 < nc; j0 += nr) {
        const size_t cols = nc - j0 < nr ? nc - j0 : nr;
        CONV_T *panel = buf + j0 * kc;
        const size_t oh0 = (p0 + j0) / ow_count, ow0 = (p0 + j0) % ow_count;
        for (size_t k = 0; k < kc; k++) {
            const size_t c = (k0 + k) / taps, tap = (k0 + k) % taps;
            const size_t kh = tap / s->kernel_width, kw = tap % s->kernel_width;
            CONV_T *dst = panel + k * nr;
            size_t done = 0, oh = oh0, ow = ow0;
            while (done < cols) {
                const size_t run = cols - done < ow_count - ow ? cols - done : ow_count - ow;
                CONV_FN(_im2col_run)(s, x + c * plane_size, kh, kw, oh, ow, run, dst + done);
                done += run;
                oh++;
                ow = 0;
            }
            memset(dst + cols, 0, (nr - cols) * sizeof(CONV_T));
        }
    }
}

void CONV_FN(_conv2d_pack_weights)(const fc_conv2d_shape *s, size_t mr, const CONV_T *weight, CONV_T *packed) {
    const size_t cout_g = s->out_channels / s->groups;
    const size_t k_size = s->in_channels / s->groups * s->kernel_height * s->kernel_width;
    const size_t panels = (cout_g + mr - 1) / mr;
    for (size_t g = 0; g < s->groups; g++)
        for (size_t i = 0; i < panels; i++)
            for (size_t k = 0; k < k_size; k++)
                for (size_t r = 0; r < mr; r++) {
                    const size_t m = i * mr + r;
                    *packed++ = m < cout_g ? weight[(g * cout_g + m) * k_size + k] : 0;
                }
}

int CONV_FN(_conv2d_packed)(const fc_conv2d_shape *s, const CONV_GEMM_CONFIG *gemm, const CONV_T *packed,
                            const CONV_T *x, CONV_T *out, fc_conv2d_output_layout layout,
                            const CONV_EPILOGUE *ep) {
    const size_t mr = gemm->mr, nr = gemm->nr;
    const size_t groups = s->groups, cin_g = s->in_channels / groups, cout_g = s->out_channels / groups;
    const size_t k_size = cin_g * s->kernel_height * s->kernel_width;
    const size_t pixels = s->out_height * s->out_width, plane_size = s->in_height * s->in_width;
    const conv_blocking b = conv_choose_blocking(s, mr, nr, sizeof(CONV_T), fc_max_threads());
    const size_t panels = (cout_g + mr - 1) / mr;
    const size_t tasks = s->batch * groups * b.pixel_blocks * b.panel_chunks;

    int status = FC_OK;
#pragma omp parallel if (tasks > 1)
    {
        CONV_T *buf = fc_alloc(b.kc * b.nc * sizeof(CONV_T));
        if (!buf) {
#pragma omp atomic write
            status = FC_ENOMEM;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t t = 0; t < tasks; t++) {
            if (!buf) continue;
            const size_t chunk = t % b.panel_chunks, pblock = t / b.panel_chunks % b.pixel_blocks;
            const size_t g = t / b.panel_chunks / b.pixel_blocks % groups;
            const size_t n = t / b.panel_chunks / b.pixel_blocks / groups;
            const size_t p0 = pblock * b.nc, nc = pixels - p0 < b.nc ? pixels - p0 : b.nc;
            const size_t panel_end = (chunk + 1) * b.panels_per_chunk < panels ? (chunk + 1) * b.panels_per_chunk : panels;
            const CONV_T *x_group = x + (n * s->in_channels + g * cin_g) * plane_size;
            for (size_t k0 = 0; k0 < k_size; k0 += b.kc) {
                const size_t kc = k_size - k0 < b.kc ? k_size - k0 : b.kc;
                const int last = k0 + kc == k_size;
                CONV_FN(_pack_im2col)(s, x_group, k0, kc, p0, nc, nr, buf);
                for (size_t i = chunk * b.panels_per_chunk; i < panel_end; i++) {
                    const size_t co = g * cout_g + i * mr, rows = cout_g - i * mr < mr ? cout_g - i * mr : mr;
                    const CONV_T *a = packed + ((g * panels + i) * k_size + k0) * mr;
                    CONV_T *out_rows = out + (ptrdiff_t)n * layout.batch_stride + (ptrdiff_t)co * layout.channel_stride;
                    CONV_EPILOGUE tile_ep;
                    const CONV_EPILOGUE *tile_ep_used = NULL;
                    if (last && ep) {
                        tile_ep = *ep;
                        tile_ep.bias = ep->bias ? ep->bias + co : NULL;
                        tile_ep.slope = ep->slope ? ep->slope + co : NULL;
                        tile_ep.residual_row_stride = (ptrdiff_t)pixels;
                        tile_ep_used = &tile_ep;
                    }
                    const CONV_T *residual_rows =
                        tile_ep_used && ep->residual ? ep->residual + (n * s->out_channels + co) * pixels + p0 : NULL;
                    for (size_t j = 0; j < nc; j += nr) {
                        if (residual_rows) tile_ep.residual = residual_rows + j;
                        gemm->ukernel(rows, nc - j < nr ? nc - j : nr, kc, a, buf + j * kc, nr, out_rows + p0 + j,
                                      (size_t)layout.channel_stride, k0 > 0, tile_ep_used);
                    }
                }
            }
        }
        free(buf);
    }
    return status;
}

int CONV_FN(_conv2d)(const fc_conv2d_shape *s, const CONV_T *x, const CONV_T *weight, CONV_T *out,
                     fc_conv2d_output_layout layout, const CONV_EPILOGUE *ep) {
    const CONV_GEMM_CONFIG *gemm = &fc_active()->CONV_PASTE(, CONV_SFX, _gemm);
    CONV_T *packed = fc_alloc(fc_conv2d_packed_weights_size(s, gemm->mr) * sizeof(CONV_T));
    if (!packed) return FC_ENOMEM;
    CONV_FN(_conv2d_pack_weights)(s, gemm->mr, weight, packed);
    const int status = CONV_FN(_conv2d_packed)(s, gemm, packed, x, out, layout, ep);
    free(packed);
    return status;
}

#undef CONV_PASTE_
#undef CONV_PASTE
#undef CONV_FN
#undef CONV_EPILOGUE
#undef CONV_GEMM_CONFIG
#undef CONV_T
#undef CONV_SFX
