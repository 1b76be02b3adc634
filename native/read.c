/*
 * Reading a checkpoint tensor from its file into float32 memory on several threads: each thread
 * reads its share of the stored values in small pieces into a buffer of its own (which stays in
 * cache) and widens BF16 / F16 from there into the destination; F32 is read straight into it.
 *
 * Why: streaming reads every block of a model from its safetensors on every pass, and one thread
 * reading into the destination then widening it in place went over the destination twice while
 * the BLAS's other threads waited (TinyLlama: about 0.55 s of a 5 s extraction; 0.36-0.47 s on
 * two threads). Widening is exact either way, so the values are those of lib/io/f16.ts's decoders.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include "addon.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#pragma GCC optimize("O3")

/* Stored values a thread reads at a time: 128 KiB of BF16 / F16, so the piece stays in L2. */
#define PIECE 65536

enum stored_dtype { STORED_F32 = 0, STORED_BF16 = 1, STORED_F16 = 2 };

#if defined(__x86_64__) && defined(__GNUC__)
/*
 * The AVX-512 route with streaming stores: the widened weights are not read again before the
 * products stream them from memory (a block is far larger than the cache), so writing them past
 * the cache saves reading each destination line first (a third of the memory traffic).
 */
__attribute__((target("avx512f"))) static void widen_bf16_stream(const uint16_t* src, uint32_t* dst, size_t n) {
  size_t i = 0;
  for (; i < n && ((uintptr_t)(dst + i) & 63) != 0; i++) dst[i] = (uint32_t)src[i] << 16;
  for (; i + 16 <= n; i += 16) {
    __m512i wide = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)(src + i)));
    _mm512_stream_si512((void*)(dst + i), _mm512_slli_epi32(wide, 16));
  }
  for (; i < n; i++) dst[i] = (uint32_t)src[i] << 16;
  _mm_sfence();
}
#endif

static void widen_bf16_piece(const uint16_t* src, uint32_t* dst, size_t n) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (__builtin_cpu_supports("avx512f")) {
    widen_bf16_stream(src, dst, n);
    return;
  }
#endif
  widen_bf16_bits(src, dst, n);
}

/*
 * The float32 bits of float16 bits h, exactly (lib/io/f16.ts decodeF16): subnormals scaled by
 * 2^-24 (exact: at most 10 significant bits), Inf and NaN keep their payload.
 */
static inline uint32_t f32_of_f16(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp == 0x1f) return sign | 0x7f800000u | (mant << 13);
  if (exp != 0) return sign | ((exp + 112) << 23) | (mant << 13);
  float sub = (float)mant * 5.9604644775390625e-8f; /* 2^-24 */
  uint32_t bits;
  memcpy(&bits, &sub, 4);
  return sign | bits;
}

VECTOR_CLONES static void widen_f16_piece(const uint16_t* restrict src, uint32_t* restrict dst, size_t n) {
  for (size_t i = 0; i < n; i++) dst[i] = f32_of_f16(src[i]);
}

/* pread until `bytes` are in or the file ends: 0, an errno, or -1 when the file ended first. */
static int read_fully(int fd, void* into, size_t bytes, off_t at) {
  char* p = into;
  while (bytes > 0) {
    ssize_t n = pread(fd, p, bytes, at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return -1;
    p += n;
    at += n;
    bytes -= (size_t)n;
  }
  return 0;
}

/* One thread's share: stored values [first, last) of the tensor at `position`. */
struct read_job {
  int fd;
  int dtype;
  off_t position;
  size_t first, last;
  uint32_t* dst;
  int error;
};

static void* read_share(void* arg) {
  struct read_job* j = arg;
  if (j->dtype == STORED_F32) {
    j->error = read_fully(j->fd, j->dst + j->first, 4 * (j->last - j->first), j->position + 4 * (off_t)j->first);
    return NULL;
  }
  uint16_t piece[PIECE];
  for (size_t i = j->first; i < j->last && j->error == 0; i += PIECE) {
    size_t n = j->last - i < PIECE ? j->last - i : PIECE;
    j->error = read_fully(j->fd, piece, 2 * n, j->position + 2 * (off_t)i);
    if (j->error != 0) break;
    if (j->dtype == STORED_BF16) widen_bf16_piece(piece, j->dst + i, n);
    else widen_f16_piece(piece, j->dst + i, n);
  }
  return NULL;
}

/*
 * readFloat32(fd, position, dtype, dst, threads): the dst.length values stored at byte `position`
 * of file `fd` as dtype (0 F32, 1 BF16, 2 F16), as float32 into dst, shared among `threads`
 * threads (at most 16). Returns 0, an errno, or -1 when the file ends before the last value.
 */
static napi_value read_float32(napi_env env, napi_callback_info info) {
  size_t argc = 5, n;
  napi_value a[5];
  int fd, dtype, threads;
  double position;
  float* dst;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 5 || !int_arg(env, a[0], &fd) || !dbl_arg(env, a[1], &position) || !int_arg(env, a[2], &dtype) ||
      !typed(env, a[3], napi_float32_array, (void**)&dst, &n) || !int_arg(env, a[4], &threads)) {
    napi_throw_type_error(env, NULL, "native read: readFloat32(fd: number, position: number, dtype: 0 | 1 | 2, dst: Float32Array, threads: number)");
    return NULL;
  }
  if (fd < 0 || !(position >= 0) || position != floor(position) || position > 9007199254740991.0 || dtype < 0 || dtype > 2 || threads <= 0) {
    napi_throw_range_error(env, NULL, "native read: readFloat32 needs fd >= 0, a whole position >= 0, dtype 0, 1 or 2 and threads >= 1");
    return NULL;
  }
  enum { MAX_THREADS = 16 };
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init(); /* for widen_bf16_piece's choice */
#endif
  size_t n_threads = (size_t)(threads < MAX_THREADS ? threads : MAX_THREADS);
  /* Shares of whole pieces, so no two threads write one cache line. */
  size_t pieces = (n + PIECE - 1) / PIECE;
  if (n_threads > pieces) n_threads = pieces > 0 ? pieces : 1;
  size_t per = (pieces + n_threads - 1) / n_threads * PIECE;
  struct read_job jobs[MAX_THREADS];
  for (size_t t = 0; t < n_threads; t++) {
    size_t first = t * per < n ? t * per : n, last = (t + 1) * per < n ? (t + 1) * per : n;
    jobs[t] = (struct read_job){fd, dtype, (off_t)position, first, last, (uint32_t*)dst, 0};
  }
  run_shares(read_share, jobs, sizeof jobs[0], n_threads);
  int error = 0;
  for (size_t t = 0; t < n_threads && error == 0; t++) error = jobs[t].error;
  napi_value result;
  CHECK(napi_create_int32(env, error, &result));
  return result;
}

int register_read(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = {CALL("readFloat32", read_float32)};
  return define_calls(env, exports, props, sizeof(props) / sizeof(props[0]));
}
