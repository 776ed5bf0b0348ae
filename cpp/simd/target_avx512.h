// Compile what follows for AVX-512 F/VL/BW/DQ (Skylake-SP, Ice Lake, Sapphire Rapids, Zen 4),
// preferring 512-bit vectors where gcc vectorises loops itself. See README.md.
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma,prefer-vector-width=512")
