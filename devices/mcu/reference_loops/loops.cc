// The int8 reference loops of tensorflow/tflite-micro @713b6ed6 (reference/integer_ops/conv.h,
// depthwise_conv.h, fully_connected.h; runtime_shape.h Offset(); compatibility.h and
// op_macros.h TFLITE_DCHECK), reduced to what the compiler sees, to count the instructions
// each loop executes. See README.md. Requantisation is out of line here (mbqm.cc).
#include <stdint.h>
extern "C" void abort(void) __attribute__((noreturn));
#if defined(NDEBUG)
#define TFLITE_ASSERT_FALSE (static_cast<void>(0))
#else
#define TFLITE_ASSERT_FALSE abort()
#endif
#define TFLITE_DCHECK(condition) (condition) ? (void)0 : TFLITE_ASSERT_FALSE
#define TFLITE_DCHECK_EQ(x, y) ((x) == (y)) ? (void)0 : TFLITE_ASSERT_FALSE
#define TFLITE_DCHECK_GE(x, y) ((x) >= (y)) ? (void)0 : TFLITE_ASSERT_FALSE
#define TFLITE_DCHECK_LT(x, y) ((x) < (y)) ? (void)0 : TFLITE_ASSERT_FALSE
class RuntimeShape {
 public:
  int32_t DimensionsCount() const { return size_; }
  int32_t Dims(int i) const { TFLITE_DCHECK_GE(i, 0); TFLITE_DCHECK_LT(i, size_); return dims_[i]; }
  const int32_t* DimsData() const { return dims_; }
  int32_t size_;
  int32_t dims_[5];
};
inline int Offset(const RuntimeShape& shape, int i0, int i1, int i2, int i3) {
  TFLITE_DCHECK_EQ(shape.DimensionsCount(), 4);
  const int* dims_data = reinterpret_cast<const int*>(shape.DimsData());
  TFLITE_DCHECK((dims_data[0] == 0 && i0 == 0) || (i0 >= 0 && i0 < dims_data[0]));
  TFLITE_DCHECK((dims_data[1] == 0 && i1 == 0) || (i1 >= 0 && i1 < dims_data[1]));
  TFLITE_DCHECK((dims_data[2] == 0 && i2 == 0) || (i2 >= 0 && i2 < dims_data[2]));
  TFLITE_DCHECK((dims_data[3] == 0 && i3 == 0) || (i3 >= 0 && i3 < dims_data[3]));
  return ((i0 * dims_data[1] + i1) * dims_data[2] + i2) * dims_data[3] + i3;
}
struct P { int sw, sh, dw, dh, pw, ph, dm; int32_t in_off, out_off, amin, amax; };
int32_t MBQM(int32_t x, int32_t m, int s);  // requant, kept out of line here
static inline int32_t mx(int32_t a, int32_t b) { return a > b ? a : b; }
static inline int32_t mn(int32_t a, int32_t b) { return a < b ? a : b; }

void ConvPerChannel(const P& params, const int32_t* om, const int32_t* os,
    const RuntimeShape& input_shape, const int8_t* input_data, const RuntimeShape& filter_shape,
    const int8_t* filter_data, const int32_t* bias_data, const RuntimeShape& output_shape,
    int8_t* output_data) {
  const int32_t input_offset = params.in_off;
  const int stride_width = params.sw, stride_height = params.sh;
  const int dilation_width_factor = params.dw, dilation_height_factor = params.dh;
  const int pad_width = params.pw, pad_height = params.ph;
  const int batches = input_shape.Dims(0);
  const int input_depth = input_shape.Dims(3);
  const int output_depth = filter_shape.Dims(0);
  const int input_height = input_shape.Dims(1), input_width = input_shape.Dims(2);
  const int filter_height = filter_shape.Dims(1), filter_width = filter_shape.Dims(2);
  const int filter_input_depth = filter_shape.Dims(3);
  const int groups = input_depth / filter_input_depth;
  const int filters_per_group = output_depth / groups;
  const int output_height = output_shape.Dims(1), output_width = output_shape.Dims(2);
  for (int batch = 0; batch < batches; ++batch) {
    for (int out_y = 0; out_y < output_height; ++out_y) {
      const int in_y_origin = (out_y * stride_height) - pad_height;
      for (int out_x = 0; out_x < output_width; ++out_x) {
        const int in_x_origin = (out_x * stride_width) - pad_width;
        for (int out_channel = 0; out_channel < output_depth; ++out_channel) {
          auto group = out_channel / filters_per_group;
          int32_t acc = 0;
          for (int filter_y = 0; filter_y < filter_height; ++filter_y) {
            const int in_y = in_y_origin + dilation_height_factor * filter_y;
            for (int filter_x = 0; filter_x < filter_width; ++filter_x) {
              const int in_x = in_x_origin + dilation_width_factor * filter_x;
              const bool is_point_inside_image = (in_x >= 0) && (in_x < input_width) && (in_y >= 0) && (in_y < input_height);
              if (!is_point_inside_image) continue;
              for (int in_channel = 0; in_channel < filter_input_depth; ++in_channel) {
                int32_t input_val = input_data[Offset(input_shape, batch, in_y, in_x, in_channel + group * filter_input_depth)];
                int32_t filter_val = filter_data[Offset(filter_shape, out_channel, filter_y, filter_x, in_channel)];
                acc += filter_val * (input_val + input_offset);
              }
            }
          }
          if (bias_data) acc += bias_data[out_channel];
          acc = MBQM(acc, om[out_channel], os[out_channel]);
          acc += params.out_off;
          acc = mx(acc, params.amin); acc = mn(acc, params.amax);
          output_data[Offset(output_shape, batch, out_y, out_x, out_channel)] = static_cast<int8_t>(acc);
        }
      }
    }
  }
}

void DepthwiseConvPerChannel(const P& params, const int32_t* om, const int32_t* os,
    const RuntimeShape& input_shape, const int8_t* input_data, const RuntimeShape& filter_shape,
    const int8_t* filter_data, const int32_t* bias_data, const RuntimeShape& output_shape,
    int8_t* output_data) {
  const int stride_width = params.sw, stride_height = params.sh;
  const int dilation_width_factor = params.dw, dilation_height_factor = params.dh;
  const int pad_width = params.pw, pad_height = params.ph;
  const int depth_multiplier = params.dm;
  const int32_t input_offset = params.in_off;
  const int batches = input_shape.Dims(0);
  const int input_height = input_shape.Dims(1), input_width = input_shape.Dims(2);
  const int input_depth = input_shape.Dims(3);
  const int filter_height = filter_shape.Dims(1), filter_width = filter_shape.Dims(2);
  const int output_height = output_shape.Dims(1), output_width = output_shape.Dims(2);
  for (int batch = 0; batch < batches; ++batch) {
    for (int out_y = 0; out_y < output_height; ++out_y) {
      for (int out_x = 0; out_x < output_width; ++out_x) {
        for (int in_channel = 0; in_channel < input_depth; ++in_channel) {
          for (int m = 0; m < depth_multiplier; ++m) {
            const int output_channel = m + in_channel * depth_multiplier;
            const int in_x_origin = (out_x * stride_width) - pad_width;
            const int in_y_origin = (out_y * stride_height) - pad_height;
            int32_t acc = 0;
            for (int filter_y = 0; filter_y < filter_height; ++filter_y) {
              for (int filter_x = 0; filter_x < filter_width; ++filter_x) {
                const int in_x = in_x_origin + dilation_width_factor * filter_x;
                const int in_y = in_y_origin + dilation_height_factor * filter_y;
                const bool is_point_inside_image = (in_x >= 0) && (in_x < input_width) && (in_y >= 0) && (in_y < input_height);
                if (is_point_inside_image) {
                  int32_t input_val = input_data[Offset(input_shape, batch, in_y, in_x, in_channel)];
                  int32_t filter_val = filter_data[Offset(filter_shape, 0, filter_y, filter_x, output_channel)];
                  acc += filter_val * (input_val + input_offset);
                }
              }
            }
            if (bias_data) acc += bias_data[output_channel];
            acc = MBQM(acc, om[output_channel], os[output_channel]);
            acc += params.out_off;
            acc = mx(acc, params.amin); acc = mn(acc, params.amax);
            output_data[Offset(output_shape, batch, out_y, out_x, output_channel)] = static_cast<int8_t>(acc);
          }
        }
      }
    }
  }
}

void FullyConnected(const P& params, const int32_t* om, const int* os, const RuntimeShape& filter_shape,
    const int8_t* input_data, const int8_t* filter_data, const int32_t* bias_data,
    const RuntimeShape& output_shape, int8_t* output_data) {
  const int32_t input_offset = params.in_off;
  const int filter_dim_count = filter_shape.DimensionsCount();
  const int batches = output_shape.Dims(0);
  const int output_depth = output_shape.Dims(1);
  const int accum_depth = filter_shape.Dims(filter_dim_count - 1);
  for (int b = 0; b < batches; ++b) {
    for (int out_c = 0; out_c < output_depth; ++out_c) {
      int32_t acc = 0;
      for (int d = 0; d < accum_depth; ++d) {
        int32_t input_val = input_data[b * accum_depth + d];
        int32_t filter_val = filter_data[out_c * accum_depth + d];
        acc += filter_val * (input_val + input_offset);
      }
      if (bias_data) acc += bias_data[out_c];
      acc = MBQM(acc, om[0], os[0]);
      acc += params.out_off;
      acc = mx(acc, params.amin); acc = mn(acc, params.amax);
      output_data[out_c + output_depth * b] = static_cast<int8_t>(acc);
    }
  }
}
