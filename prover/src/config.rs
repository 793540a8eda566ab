//! Limits and settings of the zkVM: the guest memory map, ELF limits and execution limits.
//!
//! Every limit is either a documented constant or a field of [`LoadConfig`] /
//! [`ExecConfig`], validated before use.

/// The first mapped guest address. Addresses below it (the null guard) are unmapped: any
/// access faults, and no ELF segment may be loaded there.
pub const GUEST_MEMORY_START: u32 = 0x0001_0000;

/// Default size of the guest address space in bytes: guest memory is
/// `[GUEST_MEMORY_START, memory_size_bytes)`.
pub const DEFAULT_MEMORY_SIZE_BYTES: u32 = 64 << 20;

/// Smallest accepted `memory_size_bytes`.
pub const MIN_MEMORY_SIZE_BYTES: u32 = 1 << 20;

/// Largest accepted `memory_size_bytes` (the emulator keeps 8 host bytes per guest word, so
/// this bounds host memory per machine to twice this value).
pub const MAX_MEMORY_SIZE_BYTES: u32 = 1 << 30;

/// `memory_size_bytes` must be a multiple of this (one guest page).
pub const MEMORY_PAGE_BYTES: u32 = 4096;

/// Default largest accepted ELF file.
pub const DEFAULT_MAX_ELF_SIZE_BYTES: usize = 16 << 20;

/// Largest accepted `max_elf_size_bytes`.
pub const MAX_ELF_SIZE_BYTES: usize = 256 << 20;

/// Most program headers an ELF file may have.
pub const MAX_PROGRAM_HEADERS: usize = 64;

/// Default cycle limit of one execution.
pub const DEFAULT_MAX_CYCLES: u64 = 1 << 32;

/// Largest accepted `max_cycles`.
pub const MAX_CYCLES_LIMIT: u64 = 1 << 40;

/// Default `segment_cycles_log2`: segments of 2^20 cycles.
pub const DEFAULT_SEGMENT_CYCLES_LOG2: u32 = 20;

/// Smallest accepted `segment_cycles_log2`.
pub const MIN_SEGMENT_CYCLES_LOG2: u32 = 2;

/// Largest accepted `segment_cycles_log2`.
pub const MAX_SEGMENT_CYCLES_LOG2: u32 = 30;

/// Default largest input a guest may be given.
pub const DEFAULT_MAX_INPUT_BYTES: usize = 64 << 20;

/// Default largest total public output a guest may commit.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 64 << 10;

/// Most bytes one `read_input` or `commit` syscall transfers (it returns how many it did).
/// This bounds the memory accesses a single cycle can make.
pub const MAX_SYSCALL_TRANSFER_BYTES: u32 = 4096;

/// An out-of-range setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid zkVM setting `{key}` = {value}: expected {expected}")]
pub struct ConfigError {
    /// The setting's name.
    pub key: &'static str,
    /// The rejected value.
    pub value: u64,
    /// What would have been accepted.
    pub expected: &'static str,
}

/// Settings used when loading an ELF file into a [`Program`](crate::Program).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadConfig {
    /// Largest accepted ELF file, in bytes (at most [`MAX_ELF_SIZE_BYTES`]).
    pub max_elf_size_bytes: usize,
    /// End of the guest address space: memory is `[GUEST_MEMORY_START, memory_size_bytes)`,
    /// the stack pointer starts here. A multiple of [`MEMORY_PAGE_BYTES`] within
    /// [`MIN_MEMORY_SIZE_BYTES`]..=[`MAX_MEMORY_SIZE_BYTES`].
    pub memory_size_bytes: u32,
}

impl Default for LoadConfig {
    fn default() -> Self {
        Self {
            max_elf_size_bytes: DEFAULT_MAX_ELF_SIZE_BYTES,
            memory_size_bytes: DEFAULT_MEMORY_SIZE_BYTES,
        }
    }
}

impl LoadConfig {
    /// Checks every field against its documented range.
    ///
    /// # Errors
    /// The first out-of-range field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_elf_size_bytes == 0 || self.max_elf_size_bytes > MAX_ELF_SIZE_BYTES {
            return Err(ConfigError {
                key: "max_elf_size_bytes",
                value: self.max_elf_size_bytes as u64,
                expected: "1..=268435456 (256 MiB)",
            });
        }
        if !(MIN_MEMORY_SIZE_BYTES..=MAX_MEMORY_SIZE_BYTES).contains(&self.memory_size_bytes)
            || !self.memory_size_bytes.is_multiple_of(MEMORY_PAGE_BYTES)
        {
            return Err(ConfigError {
                key: "memory_size_bytes",
                value: u64::from(self.memory_size_bytes),
                expected: "a multiple of 4096 in 1 MiB..=1 GiB",
            });
        }
        Ok(())
    }
}

/// Settings of one execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecConfig {
    /// The guest faults when it would execute more than this many instructions
    /// (1..=[`MAX_CYCLES_LIMIT`]).
    pub max_cycles: u64,
    /// Segments are `2^segment_cycles_log2` cycles long
    /// ([`MIN_SEGMENT_CYCLES_LOG2`]..=[`MAX_SEGMENT_CYCLES_LOG2`]); `max_cycles` may span at
    /// most `u32::MAX - 1` segments.
    pub segment_cycles_log2: u32,
    /// Largest input accepted, in bytes.
    pub max_input_bytes: usize,
    /// Largest total public output, in bytes; committing more is a guest fault.
    pub max_output_bytes: usize,
}

impl Default for ExecConfig {
    fn default() -> Self {
        Self {
            max_cycles: DEFAULT_MAX_CYCLES,
            segment_cycles_log2: DEFAULT_SEGMENT_CYCLES_LOG2,
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
        }
    }
}

impl ExecConfig {
    /// Checks every field against its documented range.
    ///
    /// # Errors
    /// The first out-of-range field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_cycles == 0 || self.max_cycles > MAX_CYCLES_LIMIT {
            return Err(ConfigError {
                key: "max_cycles",
                value: self.max_cycles,
                expected: "1..=2^40",
            });
        }
        if !(MIN_SEGMENT_CYCLES_LOG2..=MAX_SEGMENT_CYCLES_LOG2).contains(&self.segment_cycles_log2)
        {
            return Err(ConfigError {
                key: "segment_cycles_log2",
                value: u64::from(self.segment_cycles_log2),
                expected: "2..=30",
            });
        }
        if (self.max_cycles >> self.segment_cycles_log2) >= u64::from(u32::MAX - 1) {
            return Err(ConfigError {
                key: "max_cycles",
                value: self.max_cycles,
                expected: "fewer than 2^32 - 2 segments of 2^segment_cycles_log2 cycles",
            });
        }
        if self.max_output_bytes > u32::MAX as usize {
            return Err(ConfigError {
                key: "max_output_bytes",
                value: self.max_output_bytes as u64,
                expected: "at most 2^32 - 1",
            });
        }
        Ok(())
    }

    /// Cycles per segment: `2^segment_cycles_log2`.
    #[must_use]
    pub fn segment_cycles(&self) -> u64 {
        1u64 << self.segment_cycles_log2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_settings_are_valid() {
        assert_eq!(LoadConfig::default().validate(), Ok(()));
        assert_eq!(ExecConfig::default().validate(), Ok(()));
    }

    #[test]
    fn out_of_range_execution_settings_name_their_key() {
        let base = ExecConfig::default();
        let cases = [
            (
                ExecConfig {
                    max_cycles: 0,
                    ..base
                },
                "max_cycles",
            ),
            (
                ExecConfig {
                    max_cycles: MAX_CYCLES_LIMIT + 1,
                    ..base
                },
                "max_cycles",
            ),
            (
                ExecConfig {
                    segment_cycles_log2: 1,
                    ..base
                },
                "segment_cycles_log2",
            ),
            (
                ExecConfig {
                    segment_cycles_log2: 31,
                    ..base
                },
                "segment_cycles_log2",
            ),
            (
                ExecConfig {
                    max_cycles: MAX_CYCLES_LIMIT,
                    segment_cycles_log2: 2,
                    ..base
                },
                "max_cycles",
            ),
        ];
        for (config, key) in cases {
            assert_eq!(
                config.validate().map_err(|error| error.key),
                Err(key),
                "{config:?}"
            );
        }
    }

    #[test]
    fn config_errors_say_what_was_expected() {
        let error = LoadConfig {
            memory_size_bytes: 5,
            ..LoadConfig::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid zkVM setting `memory_size_bytes` = 5: expected a multiple of 4096 in \
             1 MiB..=1 GiB"
        );
    }
}
