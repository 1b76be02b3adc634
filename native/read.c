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
#include <stdbool.h>
#include <stdlib.h>
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

VECTOR_CLONES static void widen_bf16_loop(const uint16_t* restrict src, uint32_t* restrict dst, size_t n) {
  for (size_t i = 0; i < n; i++) dst[i] = (uint32_t)src[i] << 16;
}

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
  widen_bf16_loop(src, dst, n);
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
  pthread_t ids[MAX_THREADS];
  int started[MAX_THREADS] = {0};
  for (size_t t = 0; t < n_threads; t++) {
    size_t first = t * per < n ? t * per : n, last = (t + 1) * per < n ? (t + 1) * per : n;
    jobs[t] = (struct read_job){fd, dtype, (off_t)position, first, last, (uint32_t*)dst, 0};
    /* Share 0 runs here; a share whose thread cannot start runs here too. */
    if (t > 0) started[t] = pthread_create(&ids[t], NULL, read_share, &jobs[t]) == 0;
  }
  read_share(&jobs[0]);
  int error = jobs[0].error;
  for (size_t t = 1; t < n_threads; t++) {
    if (started[t]) pthread_join(ids[t], NULL);
    else read_share(&jobs[t]);
    if (error == 0) error = jobs[t].error;
  }
  napi_value result;
  CHECK(napi_create_int32(env, error, &result));
  return result;
}

/*
 * A read on a background thread: tensors read one after another (each on that thread alone, so
 * the caller's thread and the BLAS keep the other cores), while the caller goes on. The caller
 * waits (readFloat32Wait) before it uses or frees any destination.
 */
struct background_read {
  pthread_t thread;
  int started, joined;
  size_t n;
  struct read_job* jobs;
  size_t failed; /* index of the first job that failed, or n */
};

static void* background_reads(void* arg) {
  struct background_read* r = arg;
  r->failed = r->n;
  for (size_t i = 0; i < r->n; i++) {
    read_share(&r->jobs[i]);
    if (r->jobs[i].error != 0) {
      r->failed = i;
      break;
    }
  }
  return NULL;
}

static void background_join(struct background_read* r) {
  if (r->started && !r->joined) pthread_join(r->thread, NULL);
  r->joined = 1;
}

static void background_finalize(napi_env env, void* data, void* hint) {
  (void)env;
  (void)hint;
  struct background_read* r = data;
  background_join(r); /* never free while the thread may still write */
  free(r->jobs);
  free(r);
}

/*
 * readFloat32Start(jobs: [fd, position, dtype, dst: Float32Array][]): start reading each job as
 * readFloat32 does, one after another on a new thread (on this thread, before returning, when
 * none can start). Returns a handle for readFloat32Wait. The descriptors must stay open and the
 * destinations untouched until then.
 */
static napi_value read_float32_start(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1], result;
  uint32_t n;
  bool is_array;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 1 || napi_is_array(env, a[0], &is_array) != napi_ok || !is_array || napi_get_array_length(env, a[0], &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "native read: readFloat32Start(jobs: [fd, position, dtype, dst: Float32Array][])");
    return NULL;
  }
  struct background_read* r = calloc(1, sizeof *r);
  struct read_job* jobs = calloc(n > 0 ? n : 1, sizeof *jobs);
  if (r == NULL || jobs == NULL) {
    free(r);
    free(jobs);
    napi_throw_error(env, NULL, "native read: out of memory");
    return NULL;
  }
  r->jobs = jobs;
  r->n = n;
  for (uint32_t i = 0; i < n; i++) {
    napi_value job, field[4];
    uint32_t len = 0;
    int fd, dtype;
    double position;
    float* dst;
    size_t count;
    int ok = napi_get_element(env, a[0], i, &job) == napi_ok && napi_get_array_length(env, job, &len) == napi_ok && len == 4;
    for (uint32_t k = 0; ok && k < 4; k++) ok = napi_get_element(env, job, k, &field[k]) == napi_ok;
    ok = ok && int_arg(env, field[0], &fd) && dbl_arg(env, field[1], &position) && int_arg(env, field[2], &dtype) &&
         typed(env, field[3], napi_float32_array, (void**)&dst, &count) && fd >= 0 && position >= 0 && position == floor(position) &&
         position <= 9007199254740991.0 && dtype >= 0 && dtype <= 2;
    if (!ok) {
      free(jobs);
      free(r);
      napi_throw_type_error(env, NULL, "native read: readFloat32Start needs jobs [fd >= 0, whole position >= 0, dtype 0 | 1 | 2, dst: Float32Array]");
      return NULL;
    }
    jobs[i] = (struct read_job){fd, dtype, (off_t)position, 0, count, (uint32_t*)dst, 0};
  }
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
#endif
  r->started = pthread_create(&r->thread, NULL, background_reads, r) == 0;
  if (!r->started) background_reads(r);
  if (napi_create_external(env, r, background_finalize, NULL, &result) != napi_ok) {
    background_finalize(env, r, NULL);
    napi_throw_error(env, NULL, "native read: cannot make the handle");
    return NULL;
  }
  return result;
}

/*
 * readFloat32Wait(handle): wait until the reads of readFloat32Start are done; returns
 * [status, job]: status 0 when all were read (job is then the number of jobs), else that of the
 * first that failed (an errno, or -1 when its file ended first) and its index.
 */
static napi_value read_float32_wait(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1], result, status, index;
  struct background_read* r;
  napi_valuetype type;
  CHECK(napi_get_cb_info(env, info, &argc, a, NULL, NULL));
  if (argc != 1 || napi_typeof(env, a[0], &type) != napi_ok || type != napi_external || napi_get_value_external(env, a[0], (void**)&r) != napi_ok) {
    napi_throw_type_error(env, NULL, "native read: readFloat32Wait(handle of readFloat32Start)");
    return NULL;
  }
  background_join(r);
  CHECK(napi_create_int32(env, r->failed < r->n ? r->jobs[r->failed].error : 0, &status));
  CHECK(napi_create_double(env, (double)r->failed, &index));
  CHECK(napi_create_array_with_length(env, 2, &result));
  CHECK(napi_set_element(env, result, 0, status));
  CHECK(napi_set_element(env, result, 1, index));
  return result;
}

int register_read(napi_env env, napi_value exports) {
  static const napi_property_descriptor props[] = {
      CALL("readFloat32", read_float32),
      CALL("readFloat32Start", read_float32_start),
      CALL("readFloat32Wait", read_float32_wait),
  };
  return define_calls(env, exports, props, sizeof(props) / sizeof(props[0]));
}
