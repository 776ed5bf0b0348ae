// Compile what follows for AVX2 + FMA (Haswell, Zen and later). See README.md.
#pragma GCC target("avx2,fma")
