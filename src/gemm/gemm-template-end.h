/* Shared closing of the GEMM templates: the instantiating file sets every parameter afresh
 * for the next kernel. */
#undef GEMM_VL
#undef GEMM_NV
#undef GEMM_VEC
#undef GEMM_IVEC
#undef GEMM_INT
#undef GEMM_PASTE
#undef GEMM_PASTE_
#undef GEMM_T
#undef GEMM_MR
#undef GEMM_NR
#undef GEMM_NAME
#undef GEMM_EPILOGUE
#undef GEMM_VMAX
#undef GEMM_VMIN
