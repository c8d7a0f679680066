//! A response body as the chunks it arrived in, decoded without first joining them: a 64 MiB
//! answer would otherwise sit in memory whole while its decoded form is built beside it. The
//! reader frees each chunk once the decoder is past it, so the body shrinks as the answer grows.

use std::collections::VecDeque;
use std::io::Read;

use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::error::{decode_body, decode_error, ApiError, RequestContext};

/// A body over this many bytes is decoded on the blocking pool: decoding a large answer takes
/// long enough (about a second for 64 MiB) to stall the async workers that serve `/healthz`,
/// auth and the other templates.
pub const DECODE_ON_WORKER_MAX: usize = 1024 * 1024;

/// The chunks of one response body, in order.
#[derive(Debug, Default)]
pub struct Body {
    chunks: VecDeque<Bytes>,
    len: usize,
}

impl Body {
    pub fn push(&mut self, chunk: Bytes) {
        self.len += chunk.len();
        if !chunk.is_empty() {
            self.chunks.push_back(chunk);
        }
    }

    /// Bytes so far.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The body in one piece (error answers, which are small).
    pub fn into_vec(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len);
        for chunk in self.chunks {
            out.extend_from_slice(&chunk);
        }
        out
    }

    /// Decodes a 2xx body into `T`. A failure reports the JSON position and the kind of problem,
    /// never a piece of the body (which may hold secret values).
    pub fn decode<T: DeserializeOwned>(
        mut self,
        ctx: RequestContext,
        status: u16,
    ) -> Result<T, ApiError> {
        if self.chunks.len() > 1 {
            return serde_json::from_reader(ChunkReader {
                chunks: self.chunks,
                at: 0,
            })
            .map_err(|e| decode_error(ctx, status, &e));
        }
        // One chunk (most answers) or none: the faster decoder over a slice.
        let chunk = self.chunks.pop_front().unwrap_or_default();
        decode_body(ctx, status, &chunk)
    }
}

/// Reads the chunks front to back, dropping each one read to its end. The decoder reads a byte
/// at a time: the position in the front chunk is an index, not a re-sliced chunk (which would
/// cost two atomic operations per byte).
struct ChunkReader {
    chunks: VecDeque<Bytes>,
    at: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let Some(front) = self.chunks.front() else {
            return Ok(0);
        };
        let rest = front.get(self.at..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..n), rest.get(..n)) {
            to.copy_from_slice(from);
        }
        self.at += n;
        if self.at >= front.len() {
            self.chunks.pop_front();
            self.at = 0;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(parts: &[&str]) -> Body {
        let mut b = Body::default();
        for p in parts {
            b.push(Bytes::copy_from_slice(p.as_bytes()));
        }
        b
    }

    fn ctx() -> RequestContext {
        RequestContext::new("GET", "/api/v3/secrets/raw")
    }

    #[test]
    fn a_body_split_anywhere_decodes_as_in_one_piece() {
        let whole = r#"{"a":[1,2,3],"b":"x\u00e9y","c":{"d":null}}"#;
        let expected: serde_json::Value = serde_json::from_str(whole).unwrap();
        for cut in 0..=whole.len() {
            for cut2 in cut..=whole.len() {
                let b = body(&[&whole[..cut], &whole[cut..cut2], &whole[cut2..]]);
                assert_eq!(b.len(), whole.len());
                let got: serde_json::Value = b.decode(ctx(), 200).unwrap();
                assert_eq!(got, expected, "cut at {cut} and {cut2}");
            }
        }
    }

    #[test]
    fn a_bad_body_is_a_decode_error_quoting_nothing_of_it() {
        let b = body(&[r#"{"secret":"hunter2"#, r#"-value""#]);
        let e = b.decode::<serde_json::Value>(ctx(), 200).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("truncated JSON"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        let e = Body::default()
            .decode::<serde_json::Value>(ctx(), 200)
            .unwrap_err();
        assert!(matches!(e, ApiError::Decode { .. }), "{e:?}");
    }

    #[test]
    fn into_vec_joins_the_chunks() {
        assert_eq!(body(&["ab", "", "c"]).into_vec(), b"abc");
    }
}
