/* Template of the dwconv2d operator for one dtype: included by dwconv2d.c with
 * DWCONV_T (float/double) and DWCONV_SFX (f32/f64) defined. */

#define DWCONV_PASTE_(a, b, c) a##b##c
#define DWCONV_PASTE(a, b, c) DWCONV_PASTE_(a, b, c)
#define DWCONV_FN(name) DWCONV_PASTE(fc_, DWCONV_SFX, name)
#define DWCONV_EPILOGUE DWCONV_PASTE(fc_, DWCONV_SFX, _epilogue)
#define DWCONV_UKERNEL DWCONV_PASTE(fc_, DWCONV_SFX, _dwconv_ukernel)

int DWCONV_FN(_dwconv2d)(const fc_conv2d_shape *s, const DWCONV_T *x, const DWCONV_T *weight, DWCONV_T *out,
                         fc_conv2d_output_layout layout, const DWCONV_EPILOGUE *ep) {
    fc_dwconv_plan plan;
    plan.shape = *s;
    plan.workspace = fc_dwconv_workspace(s, sizeof(DWCONV_T));
    const DWCONV_UKERNEL ukernel = DWCONV_FN(_dwconv_select)(DWCONV_FN(_dwconv_kernels_for)(fc_active()->isa), s);
    const int threads = fc_max_threads();
    const dwconv2d_split d = dwconv2d_choose_split(s, threads);
    const size_t multiplier = s->out_channels / s->in_channels, taps = s->kernel_height * s->kernel_width;
    const size_t in_plane = s->in_height * s->in_width, out_plane = s->out_height * s->out_width;

    int status = FC_OK;
#pragma omp parallel if (threads > 1 && d.tasks > 1)
    {
        void *workspace = fc_alloc(plan.workspace.total_bytes);
        if (workspace) {
            fc_dwconv_workspace_init(&plan, workspace);
        } else {
#pragma omp atomic write
            status = FC_ENOMEM;
        }
        /* Static: planes cost the same, and contiguous chunks keep a thread's row blocks of
         * one plane together. */
#pragma omp for schedule(static)
        for (size_t t = 0; t < d.tasks; t++) {
            if (!workspace) continue;
            const size_t plane = t / d.row_blocks, block = t % d.row_blocks;
            const size_t n = plane / s->out_channels, co = plane % s->out_channels, ci = co / multiplier;
            const size_t oh_begin = block * d.rows_per_block;
            const size_t oh_end = oh_begin + d.rows_per_block < s->out_height ? oh_begin + d.rows_per_block
                                                                                : s->out_height;
            DWCONV_EPILOGUE plane_ep;
            if (ep) {
                plane_ep = *ep;
                plane_ep.bias = ep->bias ? ep->bias + co : NULL;
                plane_ep.slope = ep->slope ? ep->slope + co : NULL;
                plane_ep.residual = ep->residual ? ep->residual + (n * s->out_channels + co) * out_plane : NULL;
                plane_ep.residual_row_stride = (ptrdiff_t)s->out_width;
            }
            ukernel(&plan, oh_begin, oh_end, x + (n * s->in_channels + ci) * in_plane, weight + co * taps,
                    out + (ptrdiff_t)n * layout.batch_stride + (ptrdiff_t)co * layout.channel_stride,
                    ep ? &plane_ep : NULL, workspace);
        }
        free(workspace);
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
