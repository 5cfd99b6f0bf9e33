/* SPDX-License-Identifier: GPL-2.0 */
#pragma once

#define FUNC_INLINE static inline __attribute__((always_inline))
#define FUNC_NOINLINE static __attribute__((noinline))
#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif
