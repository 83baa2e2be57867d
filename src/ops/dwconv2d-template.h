/* Template of the dwconv2d operator for one dtype: included by dwconv2d.c with
 * DWCONV_T (float/double) and DWCONV_SFX (f32/f64) defined. */

#define DWCONV_PASTE_(a, b, c) a##b##c
#define DWCONV_PASTE(a, b, c) DWCONV_PASTE_(a, b, c)
#define DWCONV_FN(name) DWCONV_PASTE(fc_, DWCONV_SFX, name)
#define DWCONV_EPILOGUE DWCONV_PASTE(fc_, DWCONV_SFX, _epilogue)
#define DWCONV_UKERNEL DWCONV_PASTE(fc_, DWCONV_SFX, _dwconv_ukernel)

int DWCONV_FN(_dwconv2d)(const fc_conv2d_shape *s, const DWCONV_T *x, const DWCONV_T *weight, DWCONV_T *out,
                         fc_output_layout layout, const DWCONV_EPILOGUE *ep) {
    fc_dwconv_plan plan;
    plan.shape = *s;
    plan.workspace = fc_dwconv_workspace(s, sizeof(DWCONV_T));
    const DWCONV_UKERNEL ukernel = DWCONV_FN(_dwconv_select)(DWCONV_FN(_dwconv_kernels_for)(fc_active()->isa), s);
    const int threads = fc_max_threads();
    const dwconv2d_split d =
        dwconv2d_choose_split(s, plan.workspace.planar || plan.workspace.interleaved,
                              plan.workspace.interleaved ? FC_DWCONV_LANE_BYTES / sizeof(DWCONV_T) : 1, threads);
    const size_t multiplier = s->out_channels / s->in_channels, taps = s->kernel_height * s->kernel_width;
    const size_t in_plane = s->in_height * s->in_width, out_plane = s->out_height * s->out_width;

    int status = FC_OK;
#pragma omp parallel if (threads > 1 && d.tasks > 1)
    {
        const unsigned fp_state = fc_denormals_flush();
        void *workspace = fc_alloc(plan.workspace.total_bytes);
        if (workspace) {
            fc_dwconv_workspace_init(&plan, workspace);
        } else {
#pragma omp atomic write
            status = FC_ENOMEM;
        }
        /* Static: blocks cost the same, and contiguous chunks keep a thread's row blocks of
         * one plane together. */
#pragma omp for schedule(static)
        for (size_t t = 0; t < d.tasks; t++) {
            if (!workspace) continue;
            const size_t n = t / (d.channel_blocks * d.row_blocks);
            const size_t channel_block = t / d.row_blocks % d.channel_blocks, row_block = t % d.row_blocks;
            const size_t co_begin = dwconv2d_block_begin(&d, s->out_channels, channel_block);
            const size_t co_end = dwconv2d_block_begin(&d, s->out_channels, channel_block + 1);
            const size_t oh_begin = row_block * d.rows_per_block;
            const size_t oh_end = oh_begin + d.rows_per_block < s->out_height ? oh_begin + d.rows_per_block
                                                                                : s->out_height;
            /* One call per run of output channels whose input planes are evenly spaced:
             * the whole block at multiplier 1, else the outputs of one input channel. */
            const size_t run = multiplier == 1 ? co_end - co_begin : multiplier;
            const ptrdiff_t x_channel_stride = multiplier == 1 ? (ptrdiff_t)in_plane : 0;
            for (size_t co = co_begin; co < co_end;) {
                const size_t channels = co_end - co < run - co % run ? co_end - co : run - co % run;
                DWCONV_EPILOGUE channel_ep;
                if (ep) {
                    channel_ep = *ep;
                    channel_ep.bias = ep->bias ? ep->bias + co : NULL;
                    channel_ep.slope = ep->slope ? ep->slope + co : NULL;
                    channel_ep.residual = ep->residual ? ep->residual + (n * s->out_channels + co) * out_plane : NULL;
                    channel_ep.residual_row_stride = (ptrdiff_t)s->out_width;
                }
                ukernel(&plan, channels, oh_begin, oh_end, x + (n * s->in_channels + co / multiplier) * in_plane,
                        x_channel_stride, weight + co * taps,
                        out + (ptrdiff_t)n * layout.batch_stride + (ptrdiff_t)co * layout.channel_stride,
                        layout.channel_stride, ep ? &channel_ep : NULL, workspace);
                co += channels;
            }
        }
        free(workspace);
        fc_denormals_restore(fp_state);
    }
    return status;
}

#undef DWCONV_PASTE_
#undef DWCONV_PASTE
#undef DWCONV_FN
#undef DWCONV_EPILOGUE
#undef DWCONV_UKERNEL
#undef DWCONV_T
#undef DWCONV_SFX
