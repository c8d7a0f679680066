//! The capacity Go gives a slice that `append` grew, for the Sprig functions that build their
//! result that way (`compact`, `uniq`, `keys`, `regexFindAll`, `fromJson`, ...): Go's `slice`
//! may reach past such a list's length into its spare capacity, which holds zero values
//! (`slice (compact (list 1 2 3)) 0 4` is `[1 2 3 <nil>]`). The figures are Go 1.23's runtime
//! (`growslice` in `runtime/slice.go`, the size classes of `runtime/sizeclasses.go`), for amd64.

use std::rc::Rc;

use super::value::{ElemType, Value};

/// Go 1.23's malloc size classes in bytes (`class_to_size`, class 0 left out).
const SIZE_CLASSES: [usize; 67] = [
    8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352,
    384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792, 2048,
    2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728,
    10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672,
    32768,
];

const MAX_SMALL_SIZE: usize = 32768;
const PAGE_SIZE: usize = 8192;
/// Objects holding pointers and larger than this carry an 8-byte malloc header.
const MALLOC_HEADER_AFTER: usize = 512;
const MALLOC_HEADER: usize = 8;

/// Go's `roundupsize`: the bytes malloc really gives for a request of `size`.
fn round_up_size(size: usize, holds_pointers: bool) -> usize {
    if size > MAX_SMALL_SIZE - MALLOC_HEADER {
        return size.checked_next_multiple_of(PAGE_SIZE).unwrap_or(size);
    }
    let header = if holds_pointers && size > MALLOC_HEADER_AFTER {
        MALLOC_HEADER
    } else {
        0
    };
    let class = SIZE_CLASSES
        .iter()
        .find(|&&c| c >= size + header)
        .copied()
        .unwrap_or(MAX_SMALL_SIZE);
    class - header
}

/// Go's `growslice` for an append that needs `new_len` items of a slice whose capacity is
/// `old_cap`: `nextslicecap`, then rounded up to what malloc gives.
fn grow(new_len: usize, old_cap: usize, elem_size: usize, holds_pointers: bool) -> usize {
    const THRESHOLD: usize = 256;
    let double = old_cap.saturating_mul(2);
    let cap = if new_len > double {
        new_len
    } else if old_cap < THRESHOLD {
        double
    } else {
        let mut cap = old_cap;
        while cap < new_len {
            cap = cap.saturating_add((cap + 3 * THRESHOLD) >> 2);
        }
        cap
    };
    round_up_size(cap.saturating_mul(elem_size), holds_pointers) / elem_size
}

/// The capacity of a slice that started with capacity `start` and had `len` items appended one
/// at a time (`start` at or above `len` is never grown).
pub fn after_appends(elem: ElemType, start: usize, len: usize) -> usize {
    // interface{} and string are two words; int one; a slice three. All but int hold pointers.
    let (size, pointers) = match elem {
        ElemType::Int => (8, false),
        ElemType::List => (24, true),
        ElemType::Any | ElemType::Str | ElemType::Secret => (16, true),
    };
    let mut cap = start;
    while cap < len {
        cap = grow(cap + 1, cap, size, pointers);
    }
    cap
}

/// The capacity Go gives the list a Sprig function `name` returned, when `append` built it and
/// it can be longer than its items: `None` for every other function (their lists are made to
/// measure). `extra` is what only the function knew: for `regexSplit`, how many matches it cut at.
pub fn of_sprig_result(name: &str, result: &Value, extra: Option<usize>) -> Option<usize> {
    let Value::List(items, elem) = result else {
        return None;
    };
    if result.is_nil_list() {
        return None;
    }
    let len = items.len();
    let cap = match name {
        // `x := []T{}` (or `var x []T`), then `x = append(x, item)` for each item.
        "compact" | "mustCompact" | "uniq" | "mustUniq" | "without" | "mustWithout" | "concat"
        | "keys" | "values" | "pluck" | "until" | "untilStep" => after_appends(*elem, 0, len),
        // regexp's FindAllString starts at 10 once there is a match.
        "regexFindAll" | "mustRegexFindAll" if len > 0 => after_appends(*elem, 10, len),
        // regexp's Split starts at the number of matches and appends the pieces.
        "regexSplit" | "mustRegexSplit" => after_appends(*elem, extra?, len),
        _ => return None,
    };
    (cap > len).then_some(cap)
}

/// Every list in a value `fromJson` decoded, with the capacity Go's `encoding/json` gave it
/// (it appends each item of an array to `make([]interface{}, 0)`), for the lists that have spare.
pub fn each_decoded_list(v: &Value, found: &mut impl FnMut(&Rc<Vec<Value>>, usize)) {
    match v {
        Value::List(items, elem) => {
            let cap = after_appends(*elem, 0, items.len());
            if cap > items.len() {
                found(items, cap);
            }
            items.iter().for_each(|item| each_decoded_list(item, found));
        }
        Value::Map(m) => m
            .borrow()
            .values()
            .for_each(|item| each_decoded_list(item, found)),
        _ => {}
    }
}

/// What a Go slice of `elem` holds past its length: the zero value of its element type.
pub fn zero_item(elem: ElemType) -> Value {
    match elem {
        ElemType::Str => Value::str(""),
        ElemType::Int => Value::Int(0),
        ElemType::List => Value::nil_list(ElemType::Any),
        // No function gives a list of secrets spare capacity.
        ElemType::Any | ElemType::Secret => Value::Nil,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go 1.23's `cap` after appending n items one by one to an empty `[]interface{}`, `[]int`
    /// and `[]string` (printed by a Go program on amd64).
    #[test]
    fn appends_grow_as_go_1_23_grows_them() {
        let go: [(usize, usize, usize); 15] = [
            (0, 0, 0),
            (1, 1, 1),
            (2, 2, 2),
            (3, 4, 4),
            (5, 8, 8),
            (9, 16, 16),
            (17, 32, 32),
            (33, 71, 64),
            (64, 71, 64),
            (65, 71, 128),
            (100, 143, 128),
            (257, 303, 512),
            (300, 303, 512),
            (1000, 1023, 1280),
            (5000, 5120, 5120),
        ];
        for (n, any, int) in go {
            assert_eq!(
                after_appends(ElemType::Any, 0, n),
                any,
                "[]interface{{}} of {n}"
            );
            assert_eq!(after_appends(ElemType::Str, 0, n), any, "[]string of {n}");
            assert_eq!(after_appends(ElemType::Int, 0, n), int, "[]int of {n}");
        }
        // FindAllString's slice starts at 10: 11 matches make 20, 21 make 43, 50 make 87.
        for (n, cap) in [(1, 10), (10, 10), (11, 20), (21, 43), (50, 87)] {
            assert_eq!(after_appends(ElemType::Str, 10, n), cap, "{n} matches");
        }
    }
}
