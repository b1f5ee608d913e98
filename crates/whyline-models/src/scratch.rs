//! Per-class or per-group sums on the stack, so that a decision of a forest or a booster
//! with up to [`ON_STACK`] classes or groups allocates nothing (a model in a game's frame
//! loop or a drone's control loop decides without touching the allocator); more fall back
//! to one vector.

/// Classes or groups summed on the stack.
pub(crate) const ON_STACK: usize = 16;

/// Runs `f` over `len` values that all start at `fill`: on the stack up to [`ON_STACK`],
/// in a vector beyond.
pub(crate) fn with_sums<R>(len: usize, fill: f64, f: impl FnOnce(&mut [f64]) -> R) -> R {
    let mut small = [fill; ON_STACK];
    match small.get_mut(..len) {
        Some(sums) => f(sums),
        None => f(&mut vec![fill; len]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_have_the_asked_length_and_start_value_on_both_sides_of_the_stack() {
        for len in [0, 1, ON_STACK, ON_STACK + 1, 40] {
            let (n, all_fill) = with_sums(len, 2.5, |s| (s.len(), s.iter().all(|&v| v == 2.5)));
            assert_eq!((n, all_fill), (len, true));
        }
    }
}
