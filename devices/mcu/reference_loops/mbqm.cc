// MultiplyByQuantizedMultiplier of tflite-micro @713b6ed6 (common.h, TFLITE_SINGLE_ROUNDING unset:
// gemmlowp SaturatingRoundingDoublingHighMul + RoundingDivideByPOT), to count its instructions.
#include <stdint.h>
extern "C" void abort(void) __attribute__((noreturn));
#define assert(c) ((c) ? (void)0 : abort())
static inline int32_t SRDHM(int32_t a, int32_t b) {
  bool overflow = a == b && a == INT32_MIN;
  int64_t ab_64 = (int64_t)a * (int64_t)b;
  int32_t nudge = ab_64 >= 0 ? (1 << 30) : (1 - (1 << 30));
  int32_t ab_x2_high32 = static_cast<int32_t>((ab_64 + nudge) / (1ll << 31));
  return overflow ? INT32_MAX : ab_x2_high32;
}
static inline int32_t RDBPOT(int32_t x, int exponent) {
  assert(exponent >= 0); assert(exponent <= 31);
  const int32_t mask = (int32_t)((1ll << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + ((x < 0 ? ~0 : 0) & 1);
  return (x >> exponent) + (((remainder > threshold) ? ~0 : 0) & 1);
}
int32_t MBQM(int32_t x, int32_t quantized_multiplier, int shift) {
  int left_shift = shift > 0 ? shift : 0;
  int right_shift = shift > 0 ? 0 : -shift;
  return RDBPOT(SRDHM(x * (1 << left_shift), quantized_multiplier), right_shift);
}
