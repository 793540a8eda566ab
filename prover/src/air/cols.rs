//! Column layouts: consecutive named indices into a trace row.

/// Declares `pub(crate) const NAME: usize` for each listed column, in order, and `WIDTH`, the
/// number of columns. `NAME: n` declares an array of `n` columns `NAME..NAME + n`.
macro_rules! columns {
    ($($name:ident $(: $len:literal)?),* $(,)?) => {
        $crate::air::cols::columns!(@acc 0usize; $($name $(: $len)?,)*);
    };
    (@acc $offset:expr;) => {
        /// Number of columns.
        pub const WIDTH: usize = $offset;
    };
    (@acc $offset:expr; $name:ident : $len:literal, $($rest:tt)*) => {
        #[doc = concat!("First of the ", stringify!($len), " columns `", stringify!($name), "`.")]
        pub const $name: usize = $offset;
        $crate::air::cols::columns!(@acc $offset + $len; $($rest)*);
    };
    (@acc $offset:expr; $name:ident, $($rest:tt)*) => {
        #[doc = concat!("Column `", stringify!($name), "`.")]
        pub const $name: usize = $offset;
        $crate::air::cols::columns!(@acc $offset + 1; $($rest)*);
    };
}

pub(crate) use columns;
