//! Argon2 (RFC 9106) computed in short steps, with a call between steps, so that a hashing
//! thread can give way to the threads serving requests in the middle of a hash.
//!
//! The `argon2` crate computes a whole hash (~9–17 ms for OWASP's parameters) in one call. On
//! a 2-core machine a thread that never sleeps for that long keeps the kernel from moving
//! waiting request threads onto its CPU, and API latency grows a tail of whole scheduler ticks
//! (Terminus Hub's benchmark measures it). This is the same function, checked against the
//! RFC's test vectors and against the `argon2` crate for every variant, version and several
//! shapes. It is a separate crate so that it is compiled optimised in test builds too.
//!
//! No unsafe code, with one audited exception: the AVX2 build of the inner loop is called
//! only after checking that the CPU has AVX2 (as the `argon2` crate does).
#![deny(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

use blake2::digest::{Digest, Update, VariableOutput};
use blake2::{Blake2b512, Blake2bVar};

/// Argon2's three variants (RFC 9106 §3.1: `y`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    D = 0,
    I = 1,
    Id = 2,
}

/// The two published versions (`v`): 0x10 overwrites blocks on later passes, 0x13 XORs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V10 = 0x10,
    V13 = 0x13,
}

/// Cost parameters: memory in KiB, passes and lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub memory_kib: u32,
    pub passes: u32,
    pub lanes: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error("argon2 parameters out of range")]
    Parameters,
    #[error("argon2 input too long")]
    InputTooLong,
    #[error("argon2 output length out of range")]
    OutputLength,
}

/// Words in a 1 KiB block.
const WORDS: usize = 128;
/// Segments per pass (the synchronisation points).
const SLICES: usize = 4;
/// Addresses produced by one address block.
const ADDRESSES: usize = WORDS;

/// One 1 KiB block of argon2's memory.
#[derive(Clone, Copy)]
#[repr(align(64))]
pub struct Block([u64; WORDS]);

impl Default for Block {
    fn default() -> Self {
        Self([0; WORDS])
    }
}

impl Block {
    fn from_bytes(bytes: &[u8; WORDS * 8]) -> Self {
        let mut block = Self::default();
        for (word, chunk) in block.0.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut le = [0u8; 8];
            le.copy_from_slice(chunk);
            *word = u64::from_le_bytes(le);
        }
        block
    }

    fn to_bytes(self) -> [u8; WORDS * 8] {
        let mut bytes = [0u8; WORDS * 8];
        for (chunk, word) in bytes.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        bytes
    }

    // Always inlined, so that it is compiled for AVX2 inside `fill_segment_avx2` as well.
    #[inline(always)]
    fn xor_with(&mut self, other: &Block) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a ^= b;
        }
    }
}

/// The BlaMka mix: an addition with a 32×32-bit product, which makes the function costly on
/// hardware built for plain additions.
#[inline(always)]
fn blamka(a: u64, b: u64) -> u64 {
    let low = |x: u64| x & 0xFFFF_FFFF;
    a.wrapping_add(b)
        .wrapping_add(low(a).wrapping_mul(low(b)).wrapping_mul(2))
}

/// GB (RFC 9106 §3.6) on four words of `v`.
#[inline(always)]
fn gb(v: &mut [u64; 16], a: usize, b: usize, c: usize, d: usize) {
    v[a] = blamka(v[a], v[b]);
    v[d] = (v[d] ^ v[a]).rotate_right(32);
    v[c] = blamka(v[c], v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(24);
    v[a] = blamka(v[a], v[b]);
    v[d] = (v[d] ^ v[a]).rotate_right(16);
    v[c] = blamka(v[c], v[d]);
    v[b] = (v[b] ^ v[c]).rotate_right(63);
}

/// The permutation P over sixteen words.
#[inline(always)]
fn permute(v: &mut [u64; 16]) {
    gb(v, 0, 4, 8, 12);
    gb(v, 1, 5, 9, 13);
    gb(v, 2, 6, 10, 14);
    gb(v, 3, 7, 11, 15);
    gb(v, 0, 5, 10, 15);
    gb(v, 1, 6, 11, 12);
    gb(v, 2, 7, 8, 13);
    gb(v, 3, 4, 9, 14);
}

/// The compression function G(x, y) (RFC 9106 §3.5): P over the eight rows, then over the
/// eight columns of 16-byte registers, XORed with x ⊕ y.
#[inline(always)]
fn compress(x: &Block, y: &Block) -> Block {
    let mut r = *x;
    r.xor_with(y);
    let mut q = r;
    for row in 0..8 {
        let mut v = [0u64; 16];
        v.copy_from_slice(&q.0[row * 16..row * 16 + 16]);
        permute(&mut v);
        q.0[row * 16..row * 16 + 16].copy_from_slice(&v);
    }
    for column in 0..8 {
        let mut v = [0u64; 16];
        for register in 0..8 {
            let at = register * 16 + column * 2;
            v[register * 2] = q.0[at];
            v[register * 2 + 1] = q.0[at + 1];
        }
        permute(&mut v);
        for register in 0..8 {
            let at = register * 16 + column * 2;
            q.0[at] = v[register * 2];
            q.0[at + 1] = v[register * 2 + 1];
        }
    }
    q.xor_with(&r);
    q
}

fn le32(n: usize) -> Result<[u8; 4], StepError> {
    u32::try_from(n)
        .map(u32::to_le_bytes)
        .map_err(|_| StepError::InputTooLong)
}

/// The variable-length hash H' (RFC 9106 §3.3) of the concatenated `parts` into `out`.
fn long_hash(parts: &[&[u8]], out: &mut [u8]) -> Result<(), StepError> {
    let length = le32(out.len())?;
    if out.len() <= 64 {
        let mut h = Blake2bVar::new(out.len()).map_err(|_| StepError::OutputLength)?;
        Update::update(&mut h, &length);
        for part in parts {
            Update::update(&mut h, part);
        }
        return h
            .finalize_variable(out)
            .map_err(|_| StepError::OutputLength);
    }
    let mut h = Blake2b512::new();
    Digest::update(&mut h, length);
    for part in parts {
        Digest::update(&mut h, part);
    }
    let mut v = h.finalize();
    // The first 32 bytes of V_1 … V_r, then all of V_{r+1}, a hash of V_r of the length left.
    let mut written = 0;
    loop {
        out[written..written + 32].copy_from_slice(&v[..32]);
        written += 32;
        let rest = out.len() - written;
        if rest <= 64 {
            let mut h = Blake2bVar::new(rest).map_err(|_| StepError::OutputLength)?;
            Update::update(&mut h, &v);
            return h
                .finalize_variable(&mut out[written..])
                .map_err(|_| StepError::OutputLength);
        }
        v = Blake2b512::digest(v);
    }
}

/// The shape of the memory for one set of parameters.
#[derive(Debug, Clone, Copy)]
struct Shape {
    lanes: usize,
    lane_length: usize,
    segment_length: usize,
    passes: usize,
}

impl Shape {
    fn new(cost: Cost) -> Result<Self, StepError> {
        let lanes = cost.lanes as usize;
        if lanes == 0 || lanes > 0xFF_FFFF || cost.passes == 0 {
            return Err(StepError::Parameters);
        }
        // m' = 4p·⌊m / 4p⌋, and at least 8 blocks per lane.
        let memory = cost.memory_kib as usize;
        if memory < 8 * lanes {
            return Err(StepError::Parameters);
        }
        let blocks = memory / (SLICES * lanes) * SLICES * lanes;
        Ok(Self {
            lanes,
            lane_length: blocks / lanes,
            segment_length: blocks / lanes / SLICES,
            passes: cost.passes as usize,
        })
    }

    fn blocks(&self) -> usize {
        self.lanes * self.lane_length
    }
}

/// What a hash needs besides the memory.
pub struct Inputs<'a> {
    pub variant: Variant,
    pub version: Version,
    pub cost: Cost,
    pub password: &'a [u8],
    pub salt: &'a [u8],
    /// The optional key `K` and associated data `X` (empty when unused).
    pub secret: &'a [u8],
    pub associated: &'a [u8],
}

/// Computes argon2 of `inputs` into `out` (4 bytes or more), using `memory` as the working
/// area (grown when too small; its old contents do not matter) and calling `pause` after
/// every `step` blocks.
pub fn hash_into(
    inputs: &Inputs<'_>,
    out: &mut [u8],
    memory: &mut Vec<Block>,
    step: usize,
    mut pause: impl FnMut(),
) -> Result<(), StepError> {
    if out.len() < 4 {
        return Err(StepError::OutputLength);
    }
    if inputs.salt.len() < 8 {
        return Err(StepError::Parameters);
    }
    let shape = Shape::new(inputs.cost)?;
    if memory.len() < shape.blocks() {
        memory.resize(shape.blocks(), Block::default());
    }
    let memory = &mut memory[..shape.blocks()];

    // H0 (RFC 9106 §3.2).
    let mut h = Blake2b512::new();
    for word in [
        inputs.cost.lanes,
        u32::try_from(out.len()).map_err(|_| StepError::OutputLength)?,
        inputs.cost.memory_kib,
        inputs.cost.passes,
        inputs.version as u32,
        inputs.variant as u32,
    ] {
        Digest::update(&mut h, word.to_le_bytes());
    }
    Digest::update(&mut h, le32(inputs.password.len())?);
    Digest::update(&mut h, inputs.password);
    Digest::update(&mut h, le32(inputs.salt.len())?);
    Digest::update(&mut h, inputs.salt);
    Digest::update(&mut h, le32(inputs.secret.len())?);
    Digest::update(&mut h, inputs.secret);
    Digest::update(&mut h, le32(inputs.associated.len())?);
    Digest::update(&mut h, inputs.associated);
    let h0 = h.finalize();

    for lane in 0..shape.lanes {
        for first in 0..2usize {
            let mut bytes = [0u8; WORDS * 8];
            long_hash(&[&h0, &le32(first)?, &le32(lane)?], &mut bytes)?;
            memory[lane * shape.lane_length + first] = Block::from_bytes(&bytes);
        }
    }

    let step = step.max(1);
    let mut since_pause = 0;
    for pass in 0..shape.passes {
        for slice in 0..SLICES {
            for lane in 0..shape.lanes {
                since_pause = fill_segment_fast(Segment {
                    inputs,
                    shape,
                    memory,
                    at: Position { pass, slice, lane },
                    step,
                    since_pause,
                    pause: &mut pause,
                });
            }
        }
    }

    let mut last = memory[shape.lane_length - 1];
    for lane in 1..shape.lanes {
        last.xor_with(&memory[lane * shape.lane_length + shape.lane_length - 1]);
    }
    long_hash(&[&last.to_bytes()], out)
}

#[derive(Debug, Clone, Copy)]
struct Position {
    pass: usize,
    slice: usize,
    lane: usize,
}

/// One segment to fill, and the count of blocks towards the next pause.
struct Segment<'a, 'i, P> {
    inputs: &'a Inputs<'i>,
    shape: Shape,
    memory: &'a mut [Block],
    at: Position,
    step: usize,
    since_pause: usize,
    pause: &'a mut P,
}

/// [`fill_segment`] compiled for AVX2 when the CPU has it: the same code, 1.5–2× faster than
/// the baseline x86-64 build on this project's machine.
fn fill_segment_fast<P: FnMut()>(segment: Segment<'_, '_, P>) -> usize {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: `fill_segment_avx2` only needs the CPU to have AVX2, checked just above.
        #[allow(unsafe_code)]
        return unsafe { fill_segment_avx2(segment) };
    }
    fill_segment(segment)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn fill_segment_avx2<P: FnMut()>(segment: Segment<'_, '_, P>) -> usize {
    fill_segment(segment)
}

/// Fills one segment (RFC 9106 §3.4); returns the blocks computed since the last pause.
#[inline(always)]
fn fill_segment<P: FnMut()>(segment: Segment<'_, '_, P>) -> usize {
    let Segment {
        inputs,
        shape,
        memory,
        at,
        step,
        mut since_pause,
        pause,
    } = segment;
    let Position { pass, slice, lane } = at;
    let independent = inputs.variant == Variant::I
        || (inputs.variant == Variant::Id && pass == 0 && slice < SLICES / 2);
    let zero = Block::default();
    let mut input = Block::default();
    let mut addresses = Block::default();
    if independent {
        input.0[..6].copy_from_slice(&[
            pass as u64,
            lane as u64,
            slice as u64,
            shape.blocks() as u64,
            shape.passes as u64,
            inputs.variant as u64,
        ]);
    }
    let next_addresses = |input: &mut Block, addresses: &mut Block| {
        input.0[6] += 1;
        *addresses = compress(&zero, &compress(&zero, input));
    };

    // The first two blocks of each lane come from H0.
    let start = if pass == 0 && slice == 0 { 2 } else { 0 };
    if independent && start != 0 {
        next_addresses(&mut input, &mut addresses);
    }
    let lane_start = lane * shape.lane_length;
    for index in start..shape.segment_length {
        let column = slice * shape.segment_length + index;
        let current = lane_start + column;
        let previous = if column == 0 {
            lane_start + shape.lane_length - 1
        } else {
            current - 1
        };
        let pseudo_random = if independent {
            if index % ADDRESSES == 0 {
                next_addresses(&mut input, &mut addresses);
            }
            addresses.0[index % ADDRESSES]
        } else {
            memory[previous].0[0]
        };
        let reference = reference_index(shape, at, index, pseudo_random);
        let fresh = compress(&memory[previous], &memory[reference]);
        if pass > 0 && inputs.version == Version::V13 {
            memory[current].xor_with(&fresh);
        } else {
            memory[current] = fresh;
        }
        since_pause += 1;
        if since_pause >= step {
            pause();
            since_pause = 0;
        }
    }
    since_pause
}

/// The block the new block at `index` of the segment at `at` mixes in (RFC 9106 §3.4.1.2).
#[inline(always)]
fn reference_index(shape: Shape, at: Position, index: usize, pseudo_random: u64) -> usize {
    let Position { pass, slice, lane } = at;
    let j1 = pseudo_random & 0xFFFF_FFFF;
    let ref_lane = if pass == 0 && slice == 0 {
        lane
    } else {
        (pseudo_random >> 32) as usize % shape.lanes
    };
    let finished_segments = if pass == 0 { slice } else { SLICES - 1 };
    // Blocks that may be referenced: finished segments, plus this segment's blocks so far in
    // the same lane; never the block just before the new one.
    let area = if ref_lane == lane {
        finished_segments * shape.segment_length + index - 1
    } else {
        finished_segments * shape.segment_length - usize::from(index == 0)
    };
    let x = (j1 * j1) >> 32;
    let y = (area as u64 * x) >> 32;
    let relative = area - 1 - y as usize;
    let start = if pass == 0 || slice == SLICES - 1 {
        0
    } else {
        (slice + 1) * shape.segment_length
    };
    ref_lane * shape.lane_length + (start + relative) % shape.lane_length
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Random bytes of a given length from a small deterministic generator.
    fn bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    fn stock(inputs: &Inputs<'_>, len: usize) -> Vec<u8> {
        let algorithm = match inputs.variant {
            Variant::D => argon2::Algorithm::Argon2d,
            Variant::I => argon2::Algorithm::Argon2i,
            Variant::Id => argon2::Algorithm::Argon2id,
        };
        let version = match inputs.version {
            Version::V10 => argon2::Version::V0x10,
            Version::V13 => argon2::Version::V0x13,
        };
        let c = inputs.cost;
        let params = argon2::Params::new(c.memory_kib, c.passes, c.lanes, Some(len)).unwrap();
        let mut out = vec![0u8; len];
        argon2::Argon2::new(algorithm, version, params)
            .hash_password_into(inputs.password, inputs.salt, &mut out)
            .unwrap();
        out
    }

    fn ours(inputs: &Inputs<'_>, len: usize, step: usize) -> (Vec<u8>, usize) {
        let mut out = vec![0u8; len];
        let mut pauses = 0;
        hash_into(inputs, &mut out, &mut Vec::new(), step, || pauses += 1).unwrap();
        (out, pauses)
    }

    #[test]
    fn matches_the_stock_crate_for_every_variant_version_and_shape() {
        let mut case = 0u64;
        for variant in [Variant::D, Variant::I, Variant::Id] {
            for version in [Version::V10, Version::V13] {
                for (memory_kib, passes, lanes) in [(8, 1, 1), (64, 3, 1), (96, 2, 3), (300, 1, 4)]
                {
                    for len in [4, 32, 64, 65, 100] {
                        case += 1;
                        let password = bytes(case, (case % 40) as usize);
                        let salt = bytes(case + 1000, 8 + (case % 24) as usize);
                        let inputs = Inputs {
                            variant,
                            version,
                            cost: Cost {
                                memory_kib,
                                passes,
                                lanes,
                            },
                            password: &password,
                            salt: &salt,
                            secret: &[],
                            associated: &[],
                        };
                        let (out, _) = ours(&inputs, len, 7);
                        assert_eq!(
                            hex(&out),
                            hex(&stock(&inputs, len)),
                            "{variant:?} {version:?} m={memory_kib} t={passes} p={lanes} len={len}"
                        );
                    }
                }
            }
        }
    }

    /// RFC 9106 §5: the three test vectors (with a secret and associated data).
    #[test]
    fn matches_the_rfc_test_vectors() {
        for (variant, tag) in [
            (
                Variant::D,
                "512b391b6f1162975371d30919734294f868e3be3984f3c1a13a4db9fabe4acb",
            ),
            (
                Variant::I,
                "c814d9d1dc7f37aa13f0d77f2494bda1c8de6b016dd388d29952a4c4672b6ce8",
            ),
            (
                Variant::Id,
                "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659",
            ),
        ] {
            let inputs = Inputs {
                variant,
                version: Version::V13,
                cost: Cost {
                    memory_kib: 32,
                    passes: 3,
                    lanes: 4,
                },
                password: &[1; 32],
                salt: &[2; 16],
                secret: &[3; 8],
                associated: &[4; 12],
            };
            assert_eq!(hex(&ours(&inputs, 32, 5).0), tag, "{variant:?}");
        }
    }

    #[test]
    fn pauses_once_per_step_and_the_hash_does_not_depend_on_them() {
        let inputs = Inputs {
            variant: Variant::Id,
            version: Version::V13,
            cost: Cost {
                memory_kib: 64,
                passes: 2,
                lanes: 1,
            },
            password: b"plumtreeviolinsunset",
            salt: b"saltsaltsalt",
            secret: &[],
            associated: &[],
        };
        // 64 blocks per pass, two of them set from H0: 126 computed blocks.
        let (every_block, pauses) = ours(&inputs, 32, 1);
        assert_eq!(pauses, 126);
        let (every_ten, pauses) = ours(&inputs, 32, 10);
        assert_eq!(pauses, 12);
        let (never, pauses) = ours(&inputs, 32, usize::MAX);
        assert_eq!(pauses, 0);
        assert_eq!(every_block, never);
        assert_eq!(every_ten, never);
    }

    #[test]
    fn bad_parameters_are_errors_not_panics() {
        let mut out = [0u8; 32];
        let mut memory = Vec::new();
        let cost = |memory_kib, passes, lanes| Cost {
            memory_kib,
            passes,
            lanes,
        };
        for (c, salt, len) in [
            (cost(7, 1, 1), &b"saltsalt"[..], 32),
            (cost(64, 0, 1), b"saltsalt", 32),
            (cost(64, 1, 0), b"saltsalt", 32),
            (cost(64, 1, 1), b"short", 32),
            (cost(64, 1, 1), b"saltsalt", 3),
        ] {
            let inputs = Inputs {
                variant: Variant::Id,
                version: Version::V13,
                cost: c,
                password: b"pw",
                salt,
                secret: &[],
                associated: &[],
            };
            assert!(hash_into(&inputs, &mut out[..len], &mut memory, 1, || {}).is_err());
        }
    }
}
