//! The dot products at the heart of every distance (f32, and int8 codes), with AVX-512 or
//! AVX2 where the CPU has them (detected at run time) and a portable loop elsewhere.

#![allow(
    unsafe_code,
    reason = "SIMD intrinsics behind run-time feature checks; see SAFETY notes"
)]

/// `a · b` over the shorter length.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above).
            return unsafe { dot_avx512(a, b) };
        }
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            return unsafe { dot_avx2(a, b) };
        }
    }
    portable(a, b)
}

/// The Euclidean norm.
pub(crate) fn norm(a: &[f32]) -> f32 {
    dot(a, a).sqrt()
}

/// Eight independent accumulators, so the compiler vectorises it with whatever it may use.
fn portable(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 8;
    let mut acc = [0.0f32; LANES];
    let (a_chunks, a_rest) = a.as_chunks::<LANES>();
    let (b_chunks, b_rest) = b.as_chunks::<LANES>();
    for (x, y) in a_chunks.iter().zip(b_chunks) {
        for lane in 0..LANES {
            acc[lane] += x[lane] * y[lane];
        }
    }
    let tail: f32 = a_rest.iter().zip(b_rest).map(|(x, y)| x * y).sum();
    acc.iter().sum::<f32>() + tail
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn dot_avx512(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;

    let n = a.len();
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = [_mm512_setzero_ps(); 4];
    let mut i = 0;
    // SAFETY (all blocks): every load reads 16 floats at `i < n - 15` (or masked to the tail),
    // inside both slices, which have the same length `n`.
    while i + 64 <= n {
        for (j, sum) in acc.iter_mut().enumerate() {
            unsafe {
                let x = _mm512_loadu_ps(pa.add(i + 16 * j));
                let y = _mm512_loadu_ps(pb.add(i + 16 * j));
                *sum = _mm512_fmadd_ps(x, y, *sum);
            }
        }
        i += 64;
    }
    while i < n {
        let left = (n - i).min(16);
        let mask: __mmask16 = ((1u32 << left) - 1) as __mmask16;
        unsafe {
            let x = _mm512_maskz_loadu_ps(mask, pa.add(i));
            let y = _mm512_maskz_loadu_ps(mask, pb.add(i));
            acc[0] = _mm512_fmadd_ps(x, y, acc[0]);
        }
        i += left;
    }
    let sum = _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
    _mm512_reduce_add_ps(sum)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;

    let n = a.len();
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    // SAFETY: every load reads 8 floats at `i + 8j + 8 <= n`, inside both slices of length n.
    while i + 32 <= n {
        for (j, sum) in acc.iter_mut().enumerate() {
            unsafe {
                let x = _mm256_loadu_ps(pa.add(i + 8 * j));
                let y = _mm256_loadu_ps(pb.add(i + 8 * j));
                *sum = _mm256_fmadd_ps(x, y, *sum);
            }
        }
        i += 32;
    }
    let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    let mut lanes = [0f32; 8];
    // SAFETY: `lanes` holds 8 floats.
    unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), sum) };
    lanes.iter().sum::<f32>() + portable(&a[i..], &b[i..])
}

/// `[a·b, a·a, b·b]` of two int8 codes over the shorter length.
pub(crate) fn dot_i8(a: &[i8], b: &[i8]) -> [i32; 3] {
    let len = a.len().min(b.len());
    let (a, b) = (&a[..len], &b[..len]);
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512bw") {
            // SAFETY: the CPU has AVX-512BW (checked just above).
            return unsafe { dot_i8_avx512(a, b) };
        }
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { dot_i8_avx2(a, b) };
        }
    }
    dot_i8_portable(a, b)
}

/// Plain widening multiply-adds, for CPUs without AVX2 and for tails.
fn dot_i8_portable(a: &[i8], b: &[i8]) -> [i32; 3] {
    let (mut ab, mut aa, mut bb) = (0i32, 0i32, 0i32);
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (i32::from(*x), i32::from(*y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    [ab, aa, bb]
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512bw")]
unsafe fn dot_i8_avx512(a: &[i8], b: &[i8]) -> [i32; 3] {
    use std::arch::x86_64::*;

    let n = a.len();
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let [mut ab, mut aa, mut bb] = [_mm512_setzero_si512(); 3];
    let mut i = 0;
    // SAFETY: every load reads 32 bytes at `i + 32 <= n`, inside both slices of length n.
    while i + 32 <= n {
        unsafe {
            let x = _mm512_cvtepi8_epi16(_mm256_loadu_si256(pa.add(i).cast()));
            let y = _mm512_cvtepi8_epi16(_mm256_loadu_si256(pb.add(i).cast()));
            ab = _mm512_add_epi32(ab, _mm512_madd_epi16(x, y));
            aa = _mm512_add_epi32(aa, _mm512_madd_epi16(x, x));
            bb = _mm512_add_epi32(bb, _mm512_madd_epi16(y, y));
        }
        i += 32;
    }
    let [tab, taa, tbb] = dot_i8_portable(&a[i..], &b[i..]);
    [
        _mm512_reduce_add_epi32(ab) + tab,
        _mm512_reduce_add_epi32(aa) + taa,
        _mm512_reduce_add_epi32(bb) + tbb,
    ]
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_i8_avx2(a: &[i8], b: &[i8]) -> [i32; 3] {
    use std::arch::x86_64::*;

    let n = a.len();
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let [mut ab, mut aa, mut bb] = [_mm256_setzero_si256(); 3];
    let mut i = 0;
    // SAFETY: every load reads 16 bytes at `i + 16 <= n`, inside both slices of length n.
    while i + 16 <= n {
        unsafe {
            let x = _mm256_cvtepi8_epi16(_mm_loadu_si128(pa.add(i).cast()));
            let y = _mm256_cvtepi8_epi16(_mm_loadu_si128(pb.add(i).cast()));
            ab = _mm256_add_epi32(ab, _mm256_madd_epi16(x, y));
            aa = _mm256_add_epi32(aa, _mm256_madd_epi16(x, x));
            bb = _mm256_add_epi32(bb, _mm256_madd_epi16(y, y));
        }
        i += 16;
    }
    let lanes = |v: __m256i| {
        let mut out = [0i32; 8];
        // SAFETY: `out` holds 8 i32.
        unsafe { _mm256_storeu_si256(out.as_mut_ptr().cast(), v) };
        out.iter().sum::<i32>()
    };
    let [tab, taa, tbb] = dot_i8_portable(&a[i..], &b[i..]);
    [lanes(ab) + tab, lanes(aa) + taa, lanes(bb) + tbb]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_matches_the_plain_sum_at_every_length() {
        for len in 0..140 {
            let a: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos()).collect();
            let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - plain).abs() < 1e-4, "len {len}");
            assert!((portable(&a, &b) - plain).abs() < 1e-4, "len {len}");
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                // SAFETY: checked just above.
                let avx2 = unsafe { dot_avx2(&a, &b) };
                assert!((avx2 - plain).abs() < 1e-4, "len {len}");
            }
        }
    }

    #[test]
    fn int8_paths_match_the_plain_sums_at_every_length() {
        for len in 0..300 {
            let a: Vec<i8> = (0..len).map(|i| ((i * 37) % 255) as u8 as i8).collect();
            let b: Vec<i8> = (0..len).map(|i| ((i * 91 + 5) % 255) as u8 as i8).collect();
            let sum = |x: &[i8], y: &[i8]| -> i32 {
                x.iter()
                    .zip(y)
                    .map(|(p, q)| i32::from(*p) * i32::from(*q))
                    .sum()
            };
            let want = [sum(&a, &b), sum(&a, &a), sum(&b, &b)];
            assert_eq!(dot_i8(&a, &b), want, "len {len}");
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: checked just above.
                assert_eq!(unsafe { dot_i8_avx2(&a, &b) }, want, "len {len}");
            }
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx512bw") {
                // SAFETY: checked just above.
                assert_eq!(unsafe { dot_i8_avx512(&a, &b) }, want, "len {len}");
            }
        }
    }
}
