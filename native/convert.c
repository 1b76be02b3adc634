/*
 * Memory calls of the addon that involve no BLAS: widening bfloat16 weights as they are read,
 * narrowing hidden states to float16 as they are written (with the scan for values float16
 * cannot hold), and the transparent-huge-page advice for the wasm heap. Compiled at -O3 with one clone per vector
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
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#pragma GCC optimize("O3")

VECTOR_CLONES void widen_bf16_bits(const uint16_t* restrict src, uint32_t* restrict dst, size_t n) {
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
    widen_bf16_bits(chunk, dst + i, m);
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
 * The float16 bits of the float32 with bits x, rounded to nearest even: lib/io/f16.ts's
 * f32BitsToF16Bits line for line (NaN stays a quiet NaN with its top payload bits, overflow
 * gives Inf, tiny values become subnormals or zero), so both routes write the same bytes.
 */
static inline uint16_t f16_bits(uint32_t x) {
  uint32_t sign = (x >> 16) & 0x8000, exp = (x >> 23) & 0xff, mant = x & 0x7fffff;
  if (exp == 0xff) return (uint16_t)(mant == 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >> 13));
  int e = (int)exp - 127 + 15;
  if (e >= 0x1f) return (uint16_t)(sign | 0x7c00);
  if (e <= 0) {
    if (e < -10) return (uint16_t)sign;
    uint32_t full = mant | 0x800000, shift = (uint32_t)(14 - e), half = 1u << (shift - 1);
    uint32_t rest = full & ((1u << shift) - 1), out = full >> shift;
    if (rest > half || (rest == half && (out & 1))) out += 1;
    return (uint16_t)(sign | out);
  }
  uint32_t out = ((uint32_t)e << 10) | (mant >> 13), rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (out & 1))) out += 1;
  return (uint16_t)(sign | out);
}

/* Float16's finite range ends at 65520 (65504 plus half its last step): from there it rounds to Inf. */
#define F16_LIMIT 65520.0f

/* The scalar route, also each vector route's tail: returns the first index past `first` checks. */
static size_t encode_f16_scalar(const float* src, uint16_t* dst, size_t from, size_t n, size_t first) {
  for (size_t i = from; i < n; i++) {
    uint32_t x;
    memcpy(&x, src + i, 4);
    dst[i] = f16_bits(x);
    if (first == SIZE_MAX && !(fabsf(src[i]) < F16_LIMIT)) first = i;
  }
  return first;
}

#if defined(__x86_64__) && defined(__GNUC__)
/*
 * F16C's conversion rounds to nearest even with the same results as f16_bits (NaN quieted with
 * its top payload bits kept; checked against lib/io/f16.ts in test/native/f16.test.ts). Eight
 * values a step; the first index whose |v| is not below 65520 (NaN included) is looked for until
 * found.
 */
__attribute__((target("avx2,f16c"))) static size_t encode_f16_f16c(const float* src, uint16_t* dst, size_t n) {
  const __m256 limit = _mm256_set1_ps(F16_LIMIT);
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  size_t first = SIZE_MAX, i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(src + i);
    _mm_storeu_si128((__m128i*)(dst + i), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
    if (first == SIZE_MAX) {
      int bad = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(v, abs_mask), limit, _CMP_NLT_UQ));
      if (bad != 0) first = i + (size_t)__builtin_ctz((unsigned)bad);
    }
  }
  return encode_f16_scalar(src, dst, i, n, first);
}

/* The same sixteen values a step (AVX-512F holds the 512-bit conversion). */
__attribute__((target("avx512f"))) static size_t encode_f16_avx512(const float* src, uint16_t* dst, size_t n) {
  const __m512 limit = _mm512_set1_ps(F16_LIMIT);
  size_t first = SIZE_MAX, i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 v = _mm512_loadu_ps(src + i);
    _mm256_storeu_si256((__m256i*)(dst + i), _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
    if (first == SIZE_MAX) {
      __mmask16 bad = _mm512_cmp_ps_mask(_mm512_abs_ps(v), limit, _CMP_NLT_UQ);
      if (bad != 0) first = i + (size_t)__builtin_ctz((unsigned)bad);
    }
  }
  return encode_f16_scalar(src, dst, i, n, first);
}
#endif

/*
 * dst[i] = the float16 bits of src[i] for every i; returns the first index float16 holds no
 * finite value for, or SIZE_MAX. `route`: 0 the fastest the CPU has, else 1 scalar, 2 F16C, 3
 * AVX-512 (for the tests, so every route is checked on one machine); -1 when the CPU lacks it.
 */
static size_t encode_f16(const float* src, uint16_t* dst, size_t n, int route, int* ok) {
  *ok = 1;
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  int avx512 = __builtin_cpu_supports("avx512f"), f16c = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
  if ((route == 0 && avx512) || (route == 3 && avx512)) return encode_f16_avx512(src, dst, n);
  if ((route == 0 && f16c) || (route == 2 && f16c)) return encode_f16_f16c(src, dst, n);
#endif
  if (route >= 2) {
    *ok = 0;
    return SIZE_MAX;
  }
  return encode_f16_scalar(src, dst, 0, n, SIZE_MAX);
}

/*
 * encodeF16(src: Float32Array, dst: Uint16Array, route = 0): number. Writes the float16 bits of
 * every value (round to nearest even, as lib/io/f16.ts encodeF16) and returns the first index
 * whose value float16 cannot hold finitely (NaN, ±Inf, |v| >= 65520), or -1: the writer's checks
 * ride on the one read of the states. route: see encode_f16; -2 when the CPU lacks the route.
 */
static napi_value encode_f16_call(napi_env env, napi_callback_info info) {
  size_t argc = 3, ls, ld;
  napi_value a[3], r;
  float* src;
  uint16_t* dst;
  int route = 0, ok;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc < 2 || !typed(env, a[0], napi_float32_array, (void**)&src, &ls) || !typed(env, a[1], napi_uint16_array, (void**)&dst, &ld) ||
      (argc > 2 && (!int_arg(env, a[2], &route) || route < 0 || route > 3))) {
    napi_throw_type_error(env, NULL, "native blas: encodeF16(src: Float32Array, dst: Uint16Array, route?: 0..3)");
    return NULL;
  }
  if (ld < ls) {
    napi_throw_range_error(env, NULL, "native blas: encodeF16 needs dst at least as long as src");
    return NULL;
  }
  if (overlaps(src, 4 * ls, dst, 2 * ls)) {
    napi_throw_range_error(env, NULL, "native blas: encodeF16 needs src and dst that do not overlap");
    return NULL;
  }
  size_t first = encode_f16(src, dst, ls, route, &ok);
  CHECK(napi_create_double(env, !ok ? -2.0 : first == SIZE_MAX ? -1.0 : (double)first, &r));
  return r;
}

VECTOR_CLONES static size_t first_non_finite(const float* restrict src, size_t n) {
  /* Blocks of 64 without an early exit vectorize; the block with a hit is searched again. */
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    int bad = 0;
    for (size_t k = 0; k < 64; k++) bad |= !(fabsf(src[i + k]) <= 3.40282347e38f);
    if (bad) break;
  }
  for (; i < n; i++)
    if (!(fabsf(src[i]) <= 3.40282347e38f)) return i;
  return SIZE_MAX;
}

/* findNonFinite(src: Float32Array): number. The first index holding NaN or ±Inf, or -1. */
static napi_value find_non_finite(napi_env env, napi_callback_info info) {
  size_t argc = 1, ls;
  napi_value a[1], r;
  float* src;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 1 || !typed(env, a[0], napi_float32_array, (void**)&src, &ls)) {
    napi_throw_type_error(env, NULL, "native blas: findNonFinite(src: Float32Array)");
    return NULL;
  }
  size_t first = first_non_finite(src, ls);
  CHECK(napi_create_double(env, first == SIZE_MAX ? -1.0 : (double)first, &r));
  return r;
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

/*
 * Fault in [start, end) writable, 256 KiB at a time, without touching the contents. Small steps
 * because each madvise holds the process's memory-map lock for reading while it faults: a
 * malloc or mmap on the main thread waits for the step in progress (2 MiB steps, 512 faults of
 * 11 us where no huge page was granted, made 64 small allocations take 0.4 s).
 */
static void* populate_thread(void* arg) {
  struct populate_job job = *(struct populate_job*)arg;
  free(arg);
  const uintptr_t step = 256u << 10;
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
      CALL("widenBf16", widen_bf16),
      CALL("adviseHugePages", advise_huge_pages),
      CALL("populateInBackground", populate_in_background),
      CALL("encodeF16", encode_f16_call),
      CALL("findNonFinite", find_non_finite),
  };
  return define_calls(env, exports, props, sizeof(props) / sizeof(props[0]));
}
