/*
 * Memory calls of the addon that involve no BLAS: widening bfloat16 weights as they are read, and
 * the transparent-huge-page advice for the wasm heap. Compiled at -O3 with one clone per vector
 * width (AVX-512, AVX2, baseline), chosen at load time from the CPU (GCC target_clones).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include "addon.h"

#pragma GCC optimize("O3")
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VECTOR_CLONES
#endif

VECTOR_CLONES static void widen_chunk(const uint16_t* restrict src, uint32_t* restrict dst, size_t n) {
  for (size_t i = 0; i < n; i++) dst[i] = (uint32_t)src[i] << 16;
}

/*
 * dst[i] = src[i] << 16, front to back in chunks copied aside first, so the loop vectorizes and
 * src may lie in dst's upper half (lib/models/common/stored-tensor.ts widens in place that way:
 * a chunk's stores end at or before the next chunk's stored bits begin).
 */
static void widen(const uint16_t* src, uint32_t* dst, size_t n) {
  uint16_t chunk[4096];
  for (size_t i = 0; i < n; i += 4096) {
    size_t m = n - i < 4096 ? n - i : 4096;
    memcpy(chunk, src + i, 2 * m);
    widen_chunk(chunk, dst + i, m);
  }
}

/* widenBf16(src: Uint16Array, dst: Float32Array): dst[i] = the float32 whose upper 16 bits are src[i] (exact). */
static napi_value widen_bf16(napi_env env, napi_callback_info info) {
  size_t argc = 2, ls, ld;
  napi_value a[2];
  uint16_t* src;
  uint32_t* dst;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 2 || !typed(env, a[0], napi_uint16_array, (void**)&src, &ls) || !typed(env, a[1], napi_float32_array, (void**)&dst, &ld)) {
    napi_throw_type_error(env, NULL, "native blas: widenBf16(src: Uint16Array, dst: Float32Array)");
    return NULL;
  }
  if (ld < ls) {
    napi_throw_range_error(env, NULL, "native blas: widenBf16 needs dst at least as long as src");
    return NULL;
  }
  widen(src, dst, ls);
  return NULL;
}


/*
 * adviseHugePages(buffer: ArrayBuffer, bytes): ask the kernel for transparent huge pages over
 * [start of buffer, + bytes) (madvise MADV_HUGEPAGE), for the wasm heap's whole reservation. Why:
 * on the virtual machines this project runs on, a first touch of a 4 KiB page cost 11 us (2.9 s per
 * GiB); the heap is touched page by page as it grows, so the first forward pass of a run spent more
 * time in page faults than in its products. Returns true when the advice was taken (the range may
 * end in unmapped reservation, which madvise reports as ENOMEM after advising the mapped part).
 */
static napi_value advise_huge_pages(napi_env env, napi_callback_info info) {
  size_t argc = 2, len;
  napi_value a[2], r;
  void* data;
  double bytes;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 2 || napi_get_arraybuffer_info(env, a[0], &data, &len) != napi_ok || !dbl_arg(env, a[1], &bytes) || !(bytes >= 0)) {
    napi_throw_type_error(env, NULL, "native blas: adviseHugePages(buffer: ArrayBuffer, bytes: number)");
    return NULL;
  }
  int ok = 0;
#ifdef MADV_HUGEPAGE
  const uintptr_t huge = 2u << 20;
  uintptr_t start = ((uintptr_t)data + huge - 1) & ~(huge - 1);
  uintptr_t end = ((uintptr_t)data + (uintptr_t)bytes) & ~(huge - 1);
  if (end > start) {
    int rc = madvise((void*)start, end - start, MADV_HUGEPAGE);
    ok = rc == 0 || errno == ENOMEM;
  }
#endif
  CHECK(napi_get_boolean(env, ok, &r));
  return r;
}


#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

struct populate_job {
  uintptr_t start, end;
};

/* Fault in [start, end) writable, 2 MiB at a time, without touching the contents. */
static void* populate_thread(void* arg) {
  struct populate_job job = *(struct populate_job*)arg;
  free(arg);
  const uintptr_t step = 2u << 20;
  for (uintptr_t p = job.start; p < job.end; p += step) {
    uintptr_t n = job.end - p < step ? job.end - p : step;
    if (madvise((void*)p, n, MADV_POPULATE_WRITE) != 0 && errno != EAGAIN) break; /* EINVAL: kernel < 5.14 */
  }
  return NULL;
}

/*
 * populateInBackground(buffer: ArrayBuffer, offset, bytes): fault in the pages of buffer[offset,
 * offset + bytes) writable on a background thread (madvise MADV_POPULATE_WRITE, Linux 5.14+),
 * leaving their contents as they are, so memory the wasm heap is about to use costs its page
 * faults off the main thread. Safe while the main thread uses the same memory: populating never
 * writes. Returns true when the thread started.
 */
static napi_value populate_in_background(napi_env env, napi_callback_info info) {
  size_t argc = 3, len;
  napi_value a[3], r;
  void* data;
  double offset, bytes;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 3 || napi_get_arraybuffer_info(env, a[0], &data, &len) != napi_ok || !dbl_arg(env, a[1], &offset) || !dbl_arg(env, a[2], &bytes) ||
      !(offset >= 0) || !(bytes >= 0) || offset + bytes > (double)len) {
    napi_throw_range_error(env, NULL, "native blas: populateInBackground(buffer: ArrayBuffer, offset, bytes) within the buffer");
    return NULL;
  }
  int ok = 0;
  struct populate_job* job = malloc(sizeof *job);
  if (job != NULL) {
    const uintptr_t page = 4096;
    job->start = ((uintptr_t)data + (uintptr_t)offset) & ~(page - 1);
    job->end = (uintptr_t)data + (uintptr_t)(offset + bytes);
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    ok = pthread_create(&t, &attr, populate_thread, job) == 0;
    pthread_attr_destroy(&attr);
    if (!ok) free(job);
  }
  CHECK(napi_get_boolean(env, ok, &r));
  return r;
}

int register_convert(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = {
      {"widenBf16", NULL, widen_bf16, NULL, NULL, NULL, napi_default, NULL},
      {"adviseHugePages", NULL, advise_huge_pages, NULL, NULL, NULL, napi_default, NULL},
      {"populateInBackground", NULL, populate_in_background, NULL, NULL, NULL, napi_default, NULL},
  };
  return define_calls(env, exports, props, sizeof(props) / sizeof(props[0]));
}
